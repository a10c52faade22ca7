"""The Python SDK's own tests, natively: `python -m unittest discover -s tests` in plugins/sdk-python."""

import unittest
from dataclasses import dataclass

from smoke_plugin import (CheckArgumentError, CheckInput, Info, Plan, Response, Scenario, Seed, SentRequest, Status,
                          Step, ids, literal, testing)


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


class VocabularyTest(unittest.TestCase):
    """The names plugins/vocabulary.txt gave Python do what the names they replace do."""

    def test_query_is_query_param_and_leaves_the_base_step_as_it_was(self):
        base = Step.get("/x")
        self.assertEqual(base.query("a", "b"), Step.get("/x").query_param("a", "b"))
        self.assertEqual(base.query("a", "b").query("c", "{{d}}").query, [("a", "b"), ("c", "{{d}}")])
        self.assertEqual(base.query, [])

    def test_tool_call_is_call_tool_and_its_field_still_reads_as_data(self):
        step = Step.tool_call("get_account", {"id": "{{a}}"})
        self.assertEqual(step, Step.call_tool("get_account", {"id": "{{a}}"}))
        self.assertEqual(step.tool_call, ("get_account", '{"id":"{{a}}"}', "success"))
        self.assertIsNone(Step.get("/x").tool_call)

    def test_depends_on_is_depends_for_scenarios_and_seeds(self):
        self.assertEqual(Scenario.workflow("b", "GET /b").depends_on("a"), Scenario.workflow("b", "GET /b").depends("a"))
        self.assertEqual(Scenario.workflow("b", "GET /b").depends_on("a").depends_on, ["a"])
        seed = Seed("s2", Step.post("/s")).depends_on("s1")
        self.assertEqual(seed, Seed("s2", Step.post("/s")).depends("s1"))
        self.assertEqual(seed.depends_on, ["s1"])

    def test_scenarios_adds_each_as_scenario_does(self):
        a, b = Scenario.happy_path("a", "GET /a"), Scenario.not_found("b", "GET /b")
        self.assertEqual(Plan().scenarios([a, b]), Plan().scenario(a).scenario(b))
        self.assertEqual([s.id for s in Plan().scenarios(iter([a, b])).scenarios], ["a", "b"])

    def test_needs_memory_mib_and_needs_call_timeout_ms_are_needs(self):
        self.assertEqual(Info("p", "1", "d").needs_memory_mib(256).needs_call_timeout_ms(10_000),
                         Info("p", "1", "d").needs(memory_mib=256, call_timeout_ms=10_000))
        self.assertEqual(Info("p", "1", "d").needs_memory_mib(256).call_timeout_ms, None)

    def test_header_and_response_json_read_the_response_as_its_own_methods_do(self):
        response = Response(200, [("Location", "/things/42")], b'{"a": 1}', 1)
        input = testing.check_input(1)
        input.response = response
        self.assertEqual(input.header("location"), response.header("location"))
        self.assertEqual(input.header("location"), "/things/42")
        self.assertEqual(input.response_json(), response.json())
        input.response = None
        self.assertEqual((input.header("location"), input.response_json()), (None, None))

    def test_variable_reads_variables(self):
        input = testing.check_input(1, variables={"id": 7, "config.token": "t"})
        self.assertEqual((input.variable("id"), input.variable("config.token")), (7, "t"))
        self.assertIsNone(input.variable("missing"))

    def test_rule_is_the_argument_s_rule_or_a_check_argument_error(self):
        self.assertEqual(testing.check_input({"rule": "r", "limit": 3}).rule(), ("r", {"rule": "r", "limit": 3}))
        with self.assertRaisesRegex(CheckArgumentError, "names no rule"):
            testing.check_input({"limit": 3}).rule()
        with self.assertRaises(CheckArgumentError):
            testing.check_input([1]).rule()

    def test_testing_check_input_is_the_input_a_host_gives_for_an_http_exchange(self):
        made = testing.check_input(Rule("r", 3), status=201, body={"total": 7}, variables={"a": "A"})
        self.assertEqual(made, CheckInput(config={}, scenario_id="test", step_name="test", step_index=0,
                                          argument_text='{"rule":"r","limit":3}',
                                          request=SentRequest("GET", "http://127.0.0.1/test", [], b""),
                                          response=Response(201, [], b'{"total": 7}', 1), variables={"a": "A"}))
        self.assertEqual(testing.check_input(1, body="not json").response.body, b"not json")


class CheckInputTest(unittest.TestCase):
    def test_a_typed_argument_ignores_unknown_keys_as_serde_does(self):
        rule = check_input('{"rule": "r", "limit": 3, "extra": true}').argument_as(Rule)
        self.assertEqual(rule, Rule("r", 3))

    def test_an_argument_that_does_not_fit_is_a_check_argument_error(self):
        with self.assertRaises(CheckArgumentError):
            check_input('{"rule": "r"}').argument_as(Rule)
        with self.assertRaises(CheckArgumentError):
            check_input('[1]').argument_as(Rule)


class RecordedTest(unittest.TestCase):
    def test_a_recorded_check_reads_back_as_the_host_handed_it(self):
        import json
        import os
        import tempfile
        fixture = {
            "format": "smoke-check/1", "plugin": "p", "scenario_id": "s", "step_name": "POST /o", "step_index": 0,
            "config": {"token": "[REDACTED]"}, "argument": {"rule": "total", "limit": 3},
            "variables": {"order_id": 7},
            "exchange": {"kind": "http",
                         "request": {"method": "POST", "url": "http://h/o", "headers": [["content-type", "x/y"]],
                                     "body": {"text": "{}"}},
                         "response": {"status": 201, "headers": [], "body": {"base64": "eyJ0b3RhbCI6IDd9"},
                                      "latency_ms": 4}},
            "verdict": {"pass": False, "reason": "total 7 over 3"},
        }
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "s.step1.json")
            with open(path, "w") as f:
                json.dump(fixture, f)
            input, then = testing.recorded(path)
            with open(path, "w") as f:
                json.dump(dict(fixture, format="other/9"), f)
            with self.assertRaises(ValueError):
                testing.recorded(path)
        self.assertEqual(input.argument, {"rule": "total", "limit": 3})
        self.assertEqual(input.response.status, 201)
        self.assertEqual(input.response_json(), {"total": 7})
        self.assertEqual(input.variable("order_id"), 7)
        self.assertEqual(input.request.headers, [("content-type", "x/y")])
        self.assertEqual((then.passed, then.reason), (False, "total 7 over 3"))


if __name__ == "__main__":
    unittest.main()
