"""Helpers for a plugin's own tests, run natively (``python -m unittest``)."""

from __future__ import annotations

import json
from typing import Any, Optional

import smoke_plugin as sdk

FEATURES = ["method.other", "body.form", "body.multipart", "body.bytes", "status.class", "mode.poll",
            "mode.burst", "needs"]


def host() -> sdk.HostInfo:
    """The host as a test sees it: this SDK's contract and every optional feature of it."""
    return sdk.HostInfo(version="test", contract=sdk.WIT_VERSION, features=list(FEATURES))


def empty_input(config: Optional[dict[str, str]] = None) -> sdk.PlanInput:
    return sdk.PlanInput(host=host(), config=dict(config or {}), documents=[])


def assert_deterministic_plan(plugin: sdk.Plugin, input: sdk.PlanInput) -> sdk.Plan:
    """Plan twice and assert what the host requires: the same plan both times, no id used twice,
    every step accepting some status."""
    a = plugin.plan(input)
    b = plugin.plan(input)
    assert a == b, "two plans from the same input differ"
    seen = set()
    for s in a.scenarios:
        assert s.id not in seen, f"scenario id {s.id!r} is used twice"
        seen.add(s.id)
        for step in s.steps:
            assert step.status, f"scenario {s.id!r}: a step accepts no status"
    return a


def check_input(argument: Any, status: int = 200, body: Any = "", request_body: str = "",
                variables: Optional[dict[str, Any]] = None, config: Optional[dict[str, str]] = None) -> sdk.CheckInput:
    """A check input for an HTTP exchange, to test `check` natively: the step's argument (JSON data
    or a dataclass, as `Step.check` takes it), and a GET answered with ``status`` and ``body`` (text
    as it is, anything else as its JSON)."""
    text = body if isinstance(body, str) else json.dumps(body)
    return sdk.CheckInput(
        config=dict(config or {}), scenario_id="test", step_name="test", step_index=0,
        argument_text=sdk._json_text(argument),
        request=sdk.SentRequest("GET", "http://127.0.0.1/test", [], request_body.encode()),
        response=sdk.Response(status, [], text.encode(), 1), variables=dict(variables or {}),
    )


FIXTURE_FORMAT = "smoke-check/1"


def _body(recorded: dict) -> bytes:
    if "base64" in recorded:
        import base64
        return base64.b64decode(recorded["base64"])
    return recorded.get("text", "").encode()


def recorded(path: str) -> tuple[sdk.CheckInput, sdk.Verdict]:
    """A check input smoke recorded (``smoke dev --record DIR``, ``smoke run --record-checks
    DIR``), and the verdict the plugin gave it then: test ``check`` on a real exchange without the
    service, e.g. ``input, then = recorded("fixtures/orders.create.step2.json")`` and
    ``assert plugin.check(input) == then``."""
    with open(path, encoding="utf-8") as f:
        fixture = json.load(f)
    if fixture.get("format") != FIXTURE_FORMAT:
        raise ValueError(f"{path}: not a recorded check ({FIXTURE_FORMAT}); it says {fixture.get('format')!r}")
    exchange = fixture["exchange"]
    common = dict(
        config=dict(fixture["config"]), scenario_id=fixture["scenario_id"], step_name=fixture["step_name"],
        step_index=fixture["step_index"], argument_text=sdk._json_text(fixture["argument"]),
        variables=dict(fixture["variables"]),
    )
    if exchange["kind"] == "http":
        r, s = exchange["request"], exchange["response"]
        input = sdk.CheckInput(
            request=sdk.SentRequest(r["method"], r["url"], [tuple(h) for h in r["headers"]], _body(r["body"])),
            response=sdk.Response(s["status"], [tuple(h) for h in s["headers"]], _body(s["body"]), s["latency_ms"]),
            **common)
    else:
        call = sdk.ToolExchange(tool=exchange["tool"], arguments=exchange["arguments"], result=exchange["result"],
                                error=exchange["error"], latency_ms=exchange["latency_ms"])
        which = "tool_call" if exchange["kind"] == "tool-call" else "mcp_request"
        input = sdk.CheckInput(request=None, response=None, **{which: call}, **common)
    verdict = fixture["verdict"]
    return input, sdk.Verdict(bool(verdict["pass"]), str(verdict["reason"]))
