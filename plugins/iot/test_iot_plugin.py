"""The iot plugin's own tests, run natively: `python -m unittest` in plugins/iot."""

import unittest

from smoke_plugin.testing import assert_deterministic_plan, empty_input

from iot_plugin import RANGES, Iot, judge_summary


class PlanTest(unittest.TestCase):
    def test_the_plan_is_deterministic_and_covers_every_fault(self):
        plan = assert_deterministic_plan(Iot(), empty_input())
        tags = {t for s in plan.scenarios for t in s.tags}
        self.assertEqual(len(tags), 7, tags)
        ranges = [s for s in plan.scenarios if s.id.startswith("iot.readings.range.")]
        self.assertEqual(len(ranges), 3)


class SummaryTest(unittest.TestCase):
    def body(self, values, **summary):
        real = {"count": len(values), "min": min(values), "max": max(values), "mean": sum(values) / len(values)}
        real.update(summary)
        return {"items": [{"value": v} for v in values], "summary": real}

    def test_a_summary_that_agrees_passes(self):
        self.assertTrue(judge_summary(self.body([400, 1000, 2300]), RANGES["co2"]).passed)

    def test_a_wrong_mean_fails_naming_it(self):
        verdict = judge_summary(self.body([400, 1000, 2300], mean=925), RANGES["co2"])
        self.assertFalse(verdict.passed)
        self.assertIn("mean is 925", verdict.reason)

    def test_a_stored_value_out_of_range_fails(self):
        verdict = judge_summary(self.body([399, 1000]), RANGES["co2"])
        self.assertFalse(verdict.passed)
        self.assertIn("outside", verdict.reason)

    def test_no_readings_is_not_a_pass(self):
        self.assertFalse(judge_summary({"items": [], "summary": {"count": 0}}, RANGES["co2"]).passed)


if __name__ == "__main__":
    unittest.main()
