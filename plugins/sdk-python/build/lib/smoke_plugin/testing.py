"""Helpers for a plugin's own tests, run natively (``python -m unittest``)."""

from __future__ import annotations

from typing import Optional

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
