"""The SDK's objects to and from the WIT types componentize-py generates (``wit_world``), which
exist only while a component is built; natively (in a plugin's own tests) nothing here runs."""

from __future__ import annotations

import json
import sys
import traceback

import smoke_plugin as sdk
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types as t

_METHODS = {
    "GET": t.Method_Get, "HEAD": t.Method_Head, "POST": t.Method_Post, "PUT": t.Method_Put,
    "PATCH": t.Method_Patch, "DELETE": t.Method_Delete, "OPTIONS": t.Method_Options,
}
_KINDS = {
    "happy-path": t.ScenarioKind.HAPPY_PATH, "not-found": t.ScenarioKind.NOT_FOUND,
    "validation-error": t.ScenarioKind.VALIDATION_ERROR, "business-rule": t.ScenarioKind.BUSINESS_RULE,
    "auth": t.ScenarioKind.AUTH, "workflow": t.ScenarioKind.WORKFLOW, "load": t.ScenarioKind.LOAD,
}
_CONFIG_KINDS = {"text": t.ConfigKind.TEXT, "document": t.ConfigKind.DOCUMENT, "secret": t.ConfigKind.SECRET}
_OUTCOMES = {"success": t.ToolOutcome.SUCCESS, "tool-error": t.ToolOutcome.TOOL_ERROR, "refused": t.ToolOutcome.REFUSED,
             "answered": t.ToolOutcome.ANSWERED}


def _pairs(items) -> list:
    return [t.Pair(name=str(n), value=str(v)) for n, v in items]


def _method(token: str):
    known = _METHODS.get(token)
    return known() if known else t.Method_Other(token)


def _method_name(m) -> str:
    if isinstance(m, t.Method_Other):
        return m.value
    return next(name for name, cls in _METHODS.items() if isinstance(m, cls))


def _status(s: sdk.Status):
    return t.Status_Code(s.value) if s.kind == "code" else t.Status_Class(s.value)


def _body(body):
    if body is None:
        return None
    kind, value = body
    if kind == "json":
        return t.Body_Json(value)
    if kind == "text":
        return t.Body_Text(value)
    if kind == "form":
        return t.Body_Form(_pairs(value))
    if kind == "multipart":
        parts = []
        for p in value:
            content = t.PartContent_Bytes(p.content) if isinstance(p.content, bytes) else t.PartContent_Text(p.content)
            parts.append(t.MultipartPart(name=p.name, filename=p.filename, content_type=p.content_type, content=content))
        return t.Body_Multipart(parts)
    content_type, data = value
    return t.Body_Bytes(t.RawBody(content_type=content_type, content=data))


def _test(test: str, value):
    if test == "equals":
        return t.JsonTest_Equals(value)
    if test == "length":
        return t.JsonTest_Length(value)
    return t.JsonTest_Exists() if test == "exists" else t.JsonTest_Absent()


def _mode(mode):
    if mode[0] == "poll":
        return t.StepMode_Poll(t.Poll(interval_ms=mode[1], timeout_ms=mode[2]))
    if mode[0] == "burst":
        mix = [t.StatusCount(status=_status(s), at_least=lo, at_most=hi) for s, lo, hi in mode[3]]
        return t.StepMode_Burst(t.Burst(count=mode[1], concurrency=mode[2], mix=mix))
    return t.StepMode_Once()


def _step(s: sdk.Step):
    captures = [
        t.Capture(name=n, source=t.CaptureSource_Body(w) if src == "body" else t.CaptureSource_Header(w))
        for n, src, w in s.captures
    ]
    call = s.tool_call or s.request_call
    if call is not None:
        if s.query or s.headers or s.body is not None or s.status or s.expect_headers:
            raise ValueError(f"step {s.name or call[0]}: calls {call[0]} over MCP; headers, query, "
                             "bodies and statuses are for HTTP steps")
        tool, arguments, outcome = call
        expect = t.ToolExpectation(
            outcome=_OUTCOMES[outcome],
            result=[t.JsonAssertion(pointer=p, test=_test(test, v)) for p, test, v in s.assertions],
            schema=s.schema, max_latency_ms=s.max_latency)
        if s.request_call is not None:
            action = t.Action_McpRequest(t.McpRequest(method=tool, params=arguments, expect=expect))
        else:
            action = t.Action_ToolCall(t.ToolCall(tool=tool, arguments=arguments, expect=expect))
        return t.Step(name=s.name, action=action,
                      check=s.check_argument, captures=captures, mode=_mode(s.mode), timeout_ms=s.timeout)
    request = t.HttpRequest(method=_method(s.method), path=s.path, query=_pairs(s.query),
                            headers=_pairs(s.headers), body=_body(s.body))
    expect = t.HttpExpectation(
        status=[_status(x) for x in s.status],
        body=[t.JsonAssertion(pointer=p, test=_test(test, v)) for p, test, v in s.assertions],
        headers=_pairs(s.expect_headers), schema=s.schema, max_latency_ms=s.max_latency)
    return t.Step(name=s.name, action=t.Action_Http(t.HttpCall(request=request, expect=expect)),
                  check=s.check_argument, captures=captures, mode=_mode(s.mode), timeout_ms=s.timeout)


def plan_to_wit(plan: sdk.Plan):
    return t.Plan(
        seeds=[t.Seed(id=s.id, description=s.description, depends_on=list(s.depends_on), step=_step(s.step))
               for s in plan.seeds],
        scenarios=[
            t.Scenario(id=s.id, endpoint=s.endpoint, kind=_KINDS[s.kind], description=s.description,
                       depends_on=list(s.depends_on), tags=list(s.tags), steps=[_step(x) for x in s.steps])
            for s in plan.scenarios
        ],
        surface=[t.Endpoint(id=i, has_path_params=p, has_constrained_body=b) for i, p, b in plan.surface],
    )


def info_to_wit(info: sdk.Info):
    return t.Info(
        name=info.name, version=info.version, domain=info.domain, description=info.description,
        config=[t.ConfigKey(name=k.name, description=k.description, kind=_CONFIG_KINDS[k.kind],
                            required=k.required, default=k.default) for k in info.config],
        sensitive_fields=list(info.sensitive_fields), sensitive_headers=list(info.sensitive_headers),
        needs=t.Needs(memory_mib=info.memory_mib, call_timeout_ms=info.call_timeout_ms),
    )


def plan_input_from_wit(i) -> sdk.PlanInput:
    return sdk.PlanInput(
        host=sdk.HostInfo(version=i.host.version, contract=i.host.contract, features=list(i.host.features)),
        config={p.name: p.value for p in i.config},
        documents=[sdk.Document(key=d.key, source=d.source, content=bytes(d.content)) for d in i.documents],
    )


def check_input_from_wit(i) -> sdk.CheckInput:
    common = dict(
        config={p.name: p.value for p in i.config}, scenario_id=i.scenario_id, step_name=i.step_name,
        step_index=i.step_index, argument_text=i.argument,
        variables={p.name: json.loads(p.value) for p in i.variables},
    )
    if isinstance(i.exchange, (t.Exchange_ToolCall, t.Exchange_McpRequest)):
        x = i.exchange.value
        error = None
        if x.error is not None:
            error = {"code": x.error.code, "message": x.error.message,
                     "data": None if x.error.data is None else json.loads(x.error.data)}
        tool_call = sdk.ToolExchange(tool=x.tool, arguments=json.loads(x.arguments),
                                     result=None if x.result is None else json.loads(x.result),
                                     error=error, latency_ms=x.latency_ms)
        if isinstance(i.exchange, t.Exchange_McpRequest):
            return sdk.CheckInput(request=None, response=None, mcp_request=tool_call, **common)
        return sdk.CheckInput(request=None, response=None, tool_call=tool_call, **common)
    exchange = i.exchange.value
    r, s = exchange.request, exchange.response
    return sdk.CheckInput(
        request=sdk.SentRequest(method=_method_name(r.method), url=r.url,
                                headers=[(h.name, h.value) for h in r.headers], body=bytes(r.body)),
        response=sdk.Response(status=s.status, headers=[(h.name, h.value) for h in s.headers],
                              body=bytes(s.body), latency_ms=s.latency_ms),
        **common,
    )


def _theirs(filename: str) -> bool:
    """Whether a frame's file is the plugin's own: not the interpreter's, the standard library's
    (componentize-py puts it under /python), an installed package's or this SDK's."""
    return not (filename.startswith(("<", "/python/")) or "/smoke_plugin/" in filename
                or "/lib/python3" in filename or "site-packages" in filename)


def _where(error: BaseException) -> str:
    """`KeyError: 'x' (at app.py:12)`: an exception as one line, where the plugin's own code raised
    it (the innermost frame of the plugin's files; for a syntax error, the place it names)."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{type(error).__name__}: {error.msg} (at {error.filename.rsplit('/', 1)[-1]}:{error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if _theirs(f.filename)] or frames
    at = f" (at {own[-1].filename.rsplit('/', 1)[-1]}:{own[-1].lineno})" if own else ""
    return f"{type(error).__name__}: {error}{at}"


def _fault(error: BaseException) -> None:
    """An exception in the plugin's own code is a bug in the plugin, never a verdict on the
    service: one line the host reads (``smoke-plugin fault: ...``) goes to stderr, and the caller
    re-raises, which traps the call (componentize-py prints the traceback, kept in the log)."""
    line = f"raised {_where(error)}".replace("\n", " ")
    print(f"smoke-plugin fault: {line}", file=sys.stderr, flush=True)


def guest_class(plugin_cls):
    """The `Guest` class componentize-py exports, delegating to the plugin."""

    class Guest(exports.Guest):
        def info(self):
            try:
                return info_to_wit(plugin_cls().info())
            except MemoryError:
                raise
            except Exception as e:  # a bug in the plugin: a fault, saying where
                _fault(e)
                raise

        def plan(self, input):
            try:
                plan = plugin_cls().plan(plan_input_from_wit(input))
                if not isinstance(plan, sdk.Plan):
                    raise TypeError(f"plan returned {plan!r}, not a Plan")
                return plan_to_wit(plan)
            except sdk.PlanError as e:
                raise Err(t.PlanError(message=e.message, location=e.location))
            except MemoryError:
                raise  # past the sandbox's memory limit: the host reports the limit
            except Exception as e:  # a bug in the plugin: a plan error that says where
                raise Err(t.PlanError(message=f"plan raised {_where(e)}", location=None))

        def check(self, input):
            try:
                verdict = plugin_cls().check(check_input_from_wit(input))
                if not isinstance(verdict, sdk.Verdict) or not isinstance(verdict.passed, bool):
                    raise TypeError(f"check returned {verdict!r}, not a Verdict")
                return t.Verdict(pass_=verdict.passed, reason=str(verdict.reason))
            except MemoryError:
                raise  # past the sandbox's memory limit: the host reports the limit
            except Exception as e:  # a bug in the plugin (its argument type included): a fault
                _fault(e)
                raise

    Guest.__name__ = Guest.__qualname__ = "Guest"
    return Guest
