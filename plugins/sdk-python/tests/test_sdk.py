"""The Python SDK's own tests, natively: `python -m unittest discover -s tests` in plugins/sdk-python."""

import unittest
from dataclasses import dataclass

from smoke_plugin import CheckArgumentError, CheckInput, Response, SentRequest, Status, Step, ids, literal


def check_input(argument: str) -> CheckInput:
    return CheckInput(config={}, scenario_id="s", step_name="n", step_index=0, argument_text=argument,
                      request=SentRequest("GET", "http://h/x", [], b""),
                      response=Response(200, [], b"{}", 1), variables={})


@dataclass
class Rule:
    rule: str
    limit: int


class StepTest(unittest.TestCase):
    def test_builders_return_new_steps_so_a_base_step_collects_nothing(self):
        base = Step.get("/x")
        ok, missing = base.expect_status(200), base.expect_status(404)
        self.assertEqual(ok.status, [Status.code(200)])
        self.assertEqual(missing.status, [Status.code(404)])
        self.assertEqual(base.status, [])
        burst = Step.get("/y").burst(3, 1)
        burst.mix(Status.class_(5), None, 0)
        self.assertEqual(burst.mode, ("burst", 3, 1, []))

    def test_check_arguments_are_json_from_data_or_dataclasses(self):
        self.assertEqual(Step.get("/x").check({"a": [1, 2]}).check_argument, '{"a":[1,2]}')
        self.assertEqual(Step.get("/x").check(Rule("r", 3)).check_argument, '{"rule":"r","limit":3}')
        with self.assertRaises(ValueError):
            Step.get("/x").check(float("nan"))

    def test_bytes_bodies_take_bytes_numbers_or_text_as_utf8(self):
        self.assertEqual(Step.put("/b").bytes("x/y", b"\x00\xff").body, ("bytes", ("x/y", b"\x00\xff")))
        self.assertEqual(Step.put("/b").bytes("x/y", [0, 255]).body[1][1], b"\x00\xff")
        self.assertEqual(Step.put("/b").bytes("x/y", "h\u00e9").body[1][1], b"h\xc3\xa9")
        with self.assertRaises(ValueError):
            Step.put("/b").bytes("x/y", [256])

    def test_ids_and_literals(self):
        self.assertEqual(ids.seed(7), "00000000-0000-4000-8000-000000000007")
        self.assertEqual(ids.missing(12), "99999999-9999-4000-8000-000000000012")
        self.assertEqual(literal("{{a}}"), "\\{{a}}")


class CheckInputTest(unittest.TestCase):
    def test_a_typed_argument_ignores_unknown_keys_as_serde_does(self):
        rule = check_input('{"rule": "r", "limit": 3, "extra": true}').argument_as(Rule)
        self.assertEqual(rule, Rule("r", 3))

    def test_an_argument_that_does_not_fit_is_a_check_argument_error(self):
        with self.assertRaises(CheckArgumentError):
            check_input('{"rule": "r"}').argument_as(Rule)
        with self.assertRaises(CheckArgumentError):
            check_input('[1]').argument_as(Rule)


if __name__ == "__main__":
    unittest.main()
