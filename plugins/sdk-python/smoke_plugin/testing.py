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
