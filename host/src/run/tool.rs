//! Tool-call steps: arguments from their template, checked against the server's tool list
//! before anything is sent, one `tools/call` (or a poll of them), the answer judged strictly
//! (the outcome, the tool's own `outputSchema`, assertions, the step's schema, latency),
//! captures from the result's JSON, and the plugin's `check` where the step asks for it.

use super::Label;
use super::judge::judge_by_plugin;
use super::poll::{Polling, Tried, poll};
use super::results::{Failure, FailureKind, Outcome, StepResult, ToolCallRecord};
use super::template::{self, Vars};
use super::{Context, expect};
use crate::mcp::{Answer, CallError, Unfit};
use crate::plan::model::{McpRequest, Step, StepMode, ToolCall, ToolExpectation, ToolOutcome};
use crate::plugin::contract;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A step's MCP action: a tool call, or another request.
#[derive(Clone, Copy)]
pub(super) enum McpCall<'a> {
    Tool(&'a ToolCall),
    Request(&'a McpRequest),
}

impl McpCall<'_> {
    /// The tool's name, or the request's method.
    fn name(&self) -> &str {
        match self {
            McpCall::Tool(c) => &c.tool,
            McpCall::Request(r) => &r.method,
        }
    }

    /// `tool "NAME"` or the method, for messages.
    fn shown(&self) -> String {
        match self {
            McpCall::Tool(c) => format!("tool {:?}", c.tool),
            McpCall::Request(r) => r.method.clone(),
        }
    }

    /// The arguments' or params' template.
    fn template(&self) -> &Value {
        match self {
            McpCall::Tool(c) => &c.arguments,
            McpCall::Request(r) => &r.params,
        }
    }

    fn expect(&self) -> &ToolExpectation {
        match self {
            McpCall::Tool(c) => &c.expect,
            McpCall::Request(r) => &r.expect,
        }
    }

    /// The JSON-RPC request, as recorded (its id is the SDK's).
    fn jsonrpc(&self, filled: &Value) -> Value {
        match self {
            McpCall::Tool(c) => json!({
                "jsonrpc": "2.0",
                "method": "tools/call",
                "params": { "name": c.tool, "arguments": filled },
            }),
            McpCall::Request(r) => json!({ "jsonrpc": "2.0", "method": r.method, "params": filled }),
        }
    }
}

/// Run a tool-call or MCP-request step into `result`. Captures land in `vars` only when it
/// passes.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    ctx: &Context,
    plugin: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    call: McpCall<'_>,
    vars: &mut Vars,
    result: &mut StepResult,
) {
    let started = Instant::now();
    let Some(session) = ctx.mcp.as_deref() else {
        result.fail(Failure::new(
            FailureKind::McpProtocol,
            format!(
                "the step calls {}, but the run has no MCP target: set [target.mcp] in smoke.toml, or pass \
                 --mcp-url or --mcp-command",
                call.shown()
            ),
        ));
        return;
    };
    // A session closed by the server's own stdout, or a server gone: nothing can be sent.
    if let Some(problem) = session.stdout_problem() {
        result.fail(Failure::new(FailureKind::McpProtocol, format!("nothing was sent: {problem}")));
        return;
    }
    if let Some(status) = ctx.mcp_exited() {
        result.fail(Failure::new(
            FailureKind::ServiceExited,
            format!("the MCP server exited ({status}); nothing was sent"),
        ));
        return;
    }
    let arguments = match template::render_json(call.template(), vars) {
        Ok(a) => a,
        Err(e) => {
            let hint = match &e {
                template::TemplateError::Undefined { name } => {
                    format!(": {}", ctx.explain_undefined(name, scenario_id))
                }
                _ => String::new(),
            };
            result.fail(Failure::new(
                FailureKind::Template,
                ctx.redactor.text(&format!("cannot build the arguments of {}: {e}{hint}", call.shown())),
            ));
            return;
        }
    };
    let request = call.jsonrpc(&arguments);
    let request_text = ctx.redactor.body(request.to_string().as_bytes()).unwrap_or_default();
    // A call meant to be wrong is sent as it is; any other is checked against the tool list first.
    if let McpCall::Tool(tool) = call
        && tool.expect.outcome != ToolOutcome::Refused
        && let Some(unfit) = session.unfit(&tool.tool, &arguments)
    {
        result.tool_call = Some(ToolCallRecord {
            tool: tool.tool.clone(),
            request: request_text,
            result: None,
            error: None,
            latency_ms: 0,
        });
        let failures = match unfit {
            Unfit::UnknownTool(p) => {
                vec![Failure::new(FailureKind::UnknownTool, format!("{p} (nothing was sent)"))]
            }
            Unfit::BadInputSchema(p) => {
                vec![Failure::new(FailureKind::Schema, format!("{p}: the server's bug; nothing was sent"))]
            }
            Unfit::Arguments(problems) => problems
                .into_iter()
                .map(|p| {
                    Failure::new(
                        FailureKind::InvalidArguments,
                        format!("{p} (a bug in the plan, not in the server; nothing was sent)"),
                    )
                })
                .collect(),
        };
        for f in failures {
            result.fail(Failure::new(f.kind, ctx.redactor.text(&f.message)));
        }
        return;
    }
    let timeout =
        step.timeout_ms.map(|ms| Duration::from_millis(u64::from(ms))).unwrap_or(ctx.request_timeout);
    let label = Label { scenario: scenario_id.to_string(), step: index + 1, step_name: step.display_name() };
    let before: &Vars = vars;
    let attempt = |n: u32| {
        let (arguments, request_text, label) = (arguments.clone(), request_text.clone(), &label);
        async move {
            let seq = ctx.transcript.as_ref().map(|t| t.ticket());
            let sent = Instant::now();
            let answer = match call {
                McpCall::Tool(c) => session.call(&c.tool, arguments.clone(), timeout).await,
                McpCall::Request(r) => session.request(&r.method, arguments.clone(), timeout).await,
            };
            let latency = sent.elapsed();
            let record = record(ctx, call, request_text, &answer, latency);
            if let Some(seq) = seq {
                let error = answer.as_ref().err().map(ToString::to_string);
                label.record_tool_call(ctx, seq, n, sent, record.clone(), error);
            }
            let mut judged = judge(ctx, call, &step.captures, &answer, latency, before).await;
            judged.record = Some(record);
            if judged.failures.is_empty()
                && let Some(argument) = &call.expect().check
            {
                let exchange = match call {
                    McpCall::Tool(_) => {
                        contract::Exchange::ToolCall(exchange(call, &arguments, &answer, latency))
                    }
                    McpCall::Request(_) => {
                        contract::Exchange::McpRequest(exchange(call, &arguments, &answer, latency))
                    }
                };
                let (f, v) =
                    judge_by_plugin(ctx, plugin, scenario_id, index, step, argument, exchange, &judged.vars)
                        .await;
                judged.failures.extend(f);
                judged.verdict = v;
            }
            judged
        }
    };
    let judged = match &step.mode {
        StepMode::Poll { interval_ms, timeout_ms } => {
            let gone = || ctx.mcp_exited().is_some();
            let timing = Polling { interval_ms: *interval_ms, timeout_ms: *timeout_ms, started };
            poll(timing, &mut result.attempts, gone, attempt).await
        }
        // Validation refuses bursts of tool calls.
        StepMode::Once | StepMode::Burst { .. } => {
            result.attempts = 1;
            attempt(1).await
        }
    };
    result.tool_call = judged.record;
    result.verdict = judged.verdict;
    for f in judged.failures {
        result.fail(Failure::new(f.kind, ctx.redactor.text(&f.message)));
    }
    if result.outcome == Outcome::Passed {
        for c in &step.captures {
            if let Some(v) = judged.vars.get(&c.name) {
                result.captured.insert(c.name.clone(), ctx.redactor.text(&template::value_text(v)));
            }
        }
        *vars = judged.vars;
    }
}

impl Tried for Judged {
    fn failures(&mut self) -> &mut Vec<Failure> {
        &mut self.failures
    }
}

/// What one call came to.
struct Judged {
    failures: Vec<Failure>,
    /// The variables with this call's captures.
    vars: Vars,
    record: Option<ToolCallRecord>,
    verdict: Option<super::results::VerdictRecord>,
}

/// The JSON a result's assertions and captures read: `structuredContent`, or else the JSON held
/// by its one text content.
pub fn result_json(result: &Value) -> Option<Value> {
    if let Some(structured) = result.get("structuredContent") {
        return Some(structured.clone());
    }
    let texts: Vec<&str> = result
        .get("content")?
        .as_array()?
        .iter()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("text"))
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    match texts.as_slice() {
        [one] => serde_json::from_str(one).ok(),
        _ => None,
    }
}

/// JSON-RPC errors that say the server failed, not that it refused the input: parse error,
/// invalid request, method not found, internal error.
const NOT_A_REFUSAL: &[i64] = &[-32700, -32600, -32601, -32603];

fn rpc_error_name(code: i64) -> &'static str {
    match code {
        -32700 => "parse error",
        -32600 => "invalid request",
        -32601 => "method not found",
        -32603 => "internal error",
        _ => "an error",
    }
}

/// A recorded result or error, redacted whole and then cut to what a report keeps.
fn clip_record(text: String) -> String {
    let max = crate::http::RECORDED_BODY_BYTES;
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… (cut)", &text[..end])
}

/// Text cut to at most `max` characters for a message.
fn clip(text: &str, max: usize) -> String {
    let mut shown: String = text.chars().take(max).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// A JSON value cut for a message.
fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    let mut shown: String = text.chars().take(300).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// The text of a result's content, for messages.
fn content_text(result: &Value) -> String {
    let texts: Vec<&str> = result
        .get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("text").and_then(Value::as_str))
        .collect();
    let text = texts.join(" ");
    let mut shown: String = text.chars().take(300).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

async fn judge(
    ctx: &Context,
    call: McpCall<'_>,
    captures: &[crate::plan::model::Capture],
    answer: &Result<Answer, CallError>,
    latency: Duration,
    vars: &Vars,
) -> Judged {
    let mut step_vars = vars.clone();
    let mut failures = Vec::new();
    let tool = call.name();
    let shown = call.shown();
    let expected = call.expect().outcome;
    let result = match answer {
        Err(e) => {
            let failure = match e {
                CallError::Timeout(_) => Failure::new(FailureKind::Timeout, format!("{shown}: {e}")),
                // The server's stdout broke the session (it may exit once its stdin closes).
                CallError::Protocol(_) if ctx.mcp.as_deref().and_then(|m| m.stdout_problem()).is_some() => {
                    Failure::new(FailureKind::McpProtocol, format!("{shown}: {e}"))
                }
                CallError::Closed | CallError::Protocol(_) => match exit_status(ctx).await {
                    Some(status) => Failure::new(
                        FailureKind::ServiceExited,
                        format!("the MCP server exited ({status}) during this call of {shown}: {e}"),
                    ),
                    None => Failure::new(FailureKind::McpProtocol, format!("{shown}: {e}")),
                },
            };
            return Judged { failures: vec![failure], vars: step_vars, record: None, verdict: None };
        }
        Ok(Answer::Error { code, message, .. }) => {
            let message = clip(message, 500);
            if expected == ToolOutcome::Refused && NOT_A_REFUSAL.contains(code) {
                failures.push(Failure::new(
                    FailureKind::ToolError,
                    format!(
                        "{shown}: the server failed with JSON-RPC error {code} ({}): {message}; a refusal of \
                         bad input is -32602 (invalid params), a result with isError, or an error of the server's \
                         own range",
                        rpc_error_name(*code)
                    ),
                ));
            } else if expected != ToolOutcome::Refused {
                let expected = match call {
                    McpCall::Tool(_) => expected.as_str(),
                    McpCall::Request(_) => "a result",
                };
                failures.push(Failure::new(
                    FailureKind::ToolError,
                    format!("{shown}: the server refused the call with JSON-RPC error {code}: {message} (expected {expected})"),
                ));
            }
            None
        }
        // Any other request's result is its JSON; only a refusal was not wanted.
        Ok(Answer::Result(result)) if matches!(call, McpCall::Request(_)) => {
            if expected == ToolOutcome::Refused {
                failures.push(Failure::new(
                    FailureKind::ToolAccepted,
                    format!("{shown} succeeded, expected a JSON-RPC error: {}", excerpt(result)),
                ));
            }
            Some(result)
        }
        Ok(Answer::Result(result)) => {
            let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
            match (expected, is_error) {
                (ToolOutcome::Success, true) => failures.push(Failure::new(
                    FailureKind::ToolError,
                    format!("tool {tool:?} reported an error (isError): {}", content_text(result)),
                )),
                (ToolOutcome::ToolError | ToolOutcome::Refused, false) => failures.push(Failure::new(
                    FailureKind::ToolAccepted,
                    format!(
                        "tool {tool:?} succeeded, expected {}: {}",
                        expected.as_str(),
                        content_text(result)
                    ),
                )),
                _ => {}
            }
            if !is_error
                && let Some(session) = ctx.mcp.as_deref()
                && session.declares_output(tool)
            {
                match result.get("structuredContent") {
                    None => failures.push(Failure::new(
                        FailureKind::Schema,
                        format!(
                            "tool {tool:?} declares an outputSchema, but its result has no structuredContent"
                        ),
                    )),
                    Some(structured) => failures.extend(
                        session
                            .output_problems(tool, structured)
                            .into_iter()
                            .map(|p| Failure::new(FailureKind::Schema, p)),
                    ),
                }
            }
            Some(result)
        }
    };
    if !failures.is_empty() {
        return Judged { failures, vars: step_vars, record: None, verdict: None };
    }
    let json = match call {
        McpCall::Tool(_) => result.and_then(result_json),
        McpCall::Request(_) => result.cloned(),
    };
    let e = call.expect();
    if !e.result.is_empty() || e.schema.is_some() {
        match &json {
            Some(j) => failures.extend(expect::judge_result(&e.result, e.schema.as_ref(), j, vars, &ctx.schemas)),
            None => failures.push(Failure::new(
                FailureKind::Assertion,
                format!(
                    "tool {tool:?}: the {} holds no JSON (no structuredContent, no text content that is JSON), so \
                     its assertions cannot hold",
                    if result.is_some() { "result" } else { "answer (a JSON-RPC error)" }
                ),
            )),
        }
    }
    if let Some(limit) = e.max_latency_ms
        && latency.as_millis() > u128::from(limit)
    {
        failures.push(Failure::new(
            FailureKind::Latency,
            format!("took {} ms, over the limit of {limit} ms", latency.as_millis()),
        ));
    }
    if failures.is_empty() {
        failures = expect::capture_result(captures, json.as_ref(), &mut step_vars);
    }
    Judged { failures, vars: step_vars, record: None, verdict: None }
}

/// The exit status of the server, if it exited (given a moment to be noticed).
async fn exit_status(ctx: &Context) -> Option<String> {
    let mut w = ctx.mcp_exit.clone()?;
    tokio::time::timeout(Duration::from_millis(200), w.wait_for(Option::is_some))
        .await
        .ok()
        .and_then(|r| r.ok().and_then(|s| s.clone()))
}

fn record(
    ctx: &Context,
    call: McpCall<'_>,
    request: String,
    answer: &Result<Answer, CallError>,
    latency: Duration,
) -> ToolCallRecord {
    let (result, error) = match answer {
        Ok(Answer::Result(v)) => (ctx.redactor.body(v.to_string().as_bytes()).map(clip_record), None),
        Ok(Answer::Error { code, message, data }) => {
            let e = json!({ "code": code, "message": message, "data": data });
            (None, ctx.redactor.body(e.to_string().as_bytes()).map(clip_record))
        }
        Err(e) => (None, Some(ctx.redactor.text(&e.to_string()))),
    };
    ToolCallRecord {
        tool: call.name().to_string(),
        request,
        result,
        error,
        latency_ms: latency.as_millis() as u64,
    }
}

fn exchange(
    call: McpCall<'_>,
    arguments: &Value,
    answer: &Result<Answer, CallError>,
    latency: Duration,
) -> contract::ToolExchange {
    let (result, error) = match answer {
        Ok(Answer::Result(v)) => (Some(v.to_string()), None),
        Ok(Answer::Error { code, message, data }) => (
            None,
            Some(contract::RpcError {
                code: *code,
                message: message.clone(),
                data: data.as_ref().map(Value::to_string),
            }),
        ),
        Err(_) => (None, None),
    };
    contract::ToolExchange {
        tool: call.name().to_string(),
        arguments: arguments.to_string(),
        result,
        error,
        latency_ms: latency.as_millis().min(u32::MAX as u128) as u32,
    }
}
