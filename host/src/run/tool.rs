//! Tool-call steps: arguments from their template, checked against the server's tool list
//! before anything is sent, one `tools/call` (or a poll of them), the answer judged strictly
//! (the outcome, the tool's own `outputSchema`, assertions, the step's schema, latency),
//! captures from the result's JSON, and the plugin's `check` where the step asks for it.

use super::Label;
use super::judge::judge_by_plugin;
use super::poll::{Polling, Tried, poll, poll_deadline, within};
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

/// Run a tool-call or MCP-request step into `result`, stage by stage: a session ready to call
/// ([`ready`]), the arguments built ([`arguments`]), the call checked against the server's tool
/// list ([`unfit`]), the call made and judged, once or polled ([`Attempt`]), and what it came to
/// recorded ([`settle`]). Captures land in `vars` only when it passes.
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
    let prepared =
        ready(ctx, call).and_then(|session| Ok((session, arguments(ctx, scenario_id, call, vars)?)));
    let (session, arguments) = match prepared {
        Ok(ready) => ready,
        Err(failure) => return result.fail(failure),
    };
    let request = call.jsonrpc(&arguments);
    let request_text = ctx.redactor.body(request.to_string().as_bytes()).unwrap_or_default();
    if let Some(failures) = unfit(session, call, &arguments) {
        result.tool_call = Some(ToolCallRecord {
            tool: call.name().to_string(),
            request: request_text,
            result: None,
            error: None,
            latency_ms: 0,
        });
        for f in failures {
            result.fail(Failure::new(f.kind, ctx.redactor.text(&f.message)));
        }
        return;
    }
    let attempt = Attempt {
        ctx,
        plugin,
        scenario_id,
        index,
        step,
        call,
        session,
        arguments: &arguments,
        request_text: &request_text,
        before: vars,
        label: Label { scenario: scenario_id.to_string(), step: index + 1, step_name: step.display_name() },
        timeout: step
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .unwrap_or(ctx.request_timeout),
        deadline: poll_deadline(&step.mode, started),
    };
    let judged = match &step.mode {
        StepMode::Poll { interval_ms, timeout_ms } => {
            let gone = || ctx.mcp_exited().is_some();
            let timing = Polling { interval_ms: *interval_ms, timeout_ms: *timeout_ms, started };
            poll(timing, &mut result.attempts, gone, |n| attempt.once(n)).await
        }
        // Validation refuses bursts of tool calls.
        StepMode::Once | StepMode::Burst { .. } => {
            result.attempts = 1;
            attempt.once(1).await
        }
    };
    settle(ctx, step, judged, vars, result);
}

/// The session to call, or why nothing can be sent: no MCP target, a session closed by the
/// server's own stdout, a server gone.
fn ready<'a>(ctx: &'a Context, call: McpCall<'_>) -> Result<&'a crate::mcp::Session, Failure> {
    let Some(session) = ctx.mcp.as_deref() else {
        return Err(Failure::new(
            FailureKind::McpProtocol,
            format!(
                "the step calls {}, but the run has no MCP target: set [target.mcp] in smoke.toml, or pass \
                 --mcp-url or --mcp-command",
                call.shown()
            ),
        ));
    };
    if let Some(problem) = session.stdout_problem() {
        return Err(Failure::new(FailureKind::McpProtocol, format!("nothing was sent: {problem}")));
    }
    if let Some(status) = ctx.mcp_exited() {
        return Err(Failure::new(
            FailureKind::ServiceExited,
            format!("the MCP server exited ({status}); nothing was sent"),
        ));
    }
    Ok(session)
}

/// The arguments (or params) from their template.
fn arguments(ctx: &Context, scenario_id: &str, call: McpCall<'_>, vars: &Vars) -> Result<Value, Failure> {
    template::render_json(call.template(), vars).map_err(|e| {
        let hint = match &e {
            template::TemplateError::Undefined { name } => {
                format!(": {}", ctx.explain_undefined(name, scenario_id))
            }
            _ => String::new(),
        };
        Failure::new(
            FailureKind::Template,
            ctx.redactor.text(&format!("cannot build the arguments of {}: {e}{hint}", call.shown())),
        )
    })
}

/// Why a tool call cannot be sent as it is, checked against the server's tool list: `None` for a
/// call that fits, or an MCP request. A call meant to be wrong is sent as it is, unless the server
/// lists the tool wrongly.
fn unfit(session: &crate::mcp::Session, call: McpCall<'_>, arguments: &Value) -> Option<Vec<Failure>> {
    let McpCall::Tool(tool) = call else { return None };
    let unfit = match tool.expect.outcome {
        ToolOutcome::Refused => Unfit::Listing(session.listing_problem(&tool.tool)?),
        _ => session.unfit(&tool.tool, arguments)?,
    };
    Some(match unfit {
        Unfit::UnknownTool(p) => {
            vec![Failure::new(FailureKind::UnknownTool, format!("{p} (nothing was sent)"))]
        }
        Unfit::Listing(p) => vec![Failure::new(FailureKind::Schema, format!("{p}: the server's bug"))],
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
    })
}

/// One call of a step, with everything it needs: made, recorded, judged, and handed to the
/// plugin's `check` when the step asks and the rest passed.
struct Attempt<'a> {
    ctx: &'a Context,
    plugin: &'a str,
    scenario_id: &'a str,
    index: usize,
    step: &'a Step,
    call: McpCall<'a>,
    session: &'a crate::mcp::Session,
    arguments: &'a Value,
    request_text: &'a str,
    /// The variables before this step.
    before: &'a Vars,
    label: Label,
    timeout: Duration,
    /// A poll's end: no try runs past it.
    deadline: Option<Instant>,
}

impl Attempt<'_> {
    async fn once(&self, n: u32) -> Judged {
        let (ctx, call) = (self.ctx, self.call);
        let timeout = within(self.timeout, self.deadline);
        let seq = ctx.transcript.as_ref().map(|t| t.ticket());
        let sent = Instant::now();
        let answer = match call {
            McpCall::Tool(c) => self.session.call(&c.tool, self.arguments.clone(), timeout).await,
            McpCall::Request(r) => self.session.request(&r.method, self.arguments.clone(), timeout).await,
        };
        let latency = sent.elapsed();
        let record = record(ctx, call, self.request_text.to_string(), &answer, latency);
        if let Some(seq) = seq {
            let error = answer.as_ref().err().map(ToString::to_string);
            self.label.record_tool_call(ctx, seq, n, sent, record.clone(), error);
        }
        let mut judged = judge(ctx, call, &self.step.captures, &answer, latency, self.before).await;
        judged.record = Some(record);
        if judged.failures.is_empty()
            && let Some(argument) = &call.expect().check
        {
            let exchange = exchange(call, self.arguments, &answer, latency);
            let exchange = match call {
                McpCall::Tool(_) => contract::Exchange::ToolCall(exchange),
                McpCall::Request(_) => contract::Exchange::McpRequest(exchange),
            };
            let (ctx, step) = (self.ctx, self.step);
            let (f, v) = judge_by_plugin(
                ctx,
                self.plugin,
                self.scenario_id,
                self.index,
                step,
                argument,
                exchange,
                &judged.vars,
            )
            .await;
            judged.failures.extend(f);
            judged.verdict = v;
        }
        judged
    }
}

/// Record what the step came to in `result`, redacted; its captures, when it passed, in `vars`.
fn settle(ctx: &Context, step: &Step, judged: Judged, vars: &mut Vars, result: &mut StepResult) {
    result.tool_call = judged.record;
    result.verdict = judged.verdict;
    for f in judged.failures {
        let message = crate::mcp::lint::redact_secrets(&f.message).into_owned();
        result.fail(Failure::new(f.kind, ctx.redactor.text(&message)));
    }
    if result.outcome == Outcome::Passed {
        for c in &step.captures {
            if let Some(v) = judged.vars.get(&c.name) {
                let text = template::value_text(v);
                let text = crate::mcp::lint::redact_secrets(&text);
                result.captured.insert(c.name.clone(), ctx.redactor.text(&text));
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

/// Judge one answer, stage by stage: a call with no answer ([`no_answer`]), a JSON-RPC error
/// ([`rpc_error`]), a result's outcome and `outputSchema` ([`outcome`]), then what the step asks
/// of the result's JSON ([`content`]).
async fn judge(
    ctx: &Context,
    call: McpCall<'_>,
    captures: &[crate::plan::model::Capture],
    answer: &Result<Answer, CallError>,
    latency: Duration,
    vars: &Vars,
) -> Judged {
    let mut step_vars = vars.clone();
    let (result, failures) = match answer {
        Err(e) => (None, vec![no_answer(ctx, call, e).await]),
        Ok(Answer::Error { code, message, .. }) => (None, rpc_error(call, *code, message)),
        Ok(Answer::Result(result)) => (Some(result), outcome(ctx, call, result)),
    };
    let mut failures = match (answer, failures.is_empty()) {
        (Ok(_), true) => content(ctx, call, captures, result, latency, vars, &mut step_vars),
        _ => failures,
    };
    if ctx.lint_secrets
        && let Some(result) = result
    {
        for found in crate::mcp::lint::secrets(result) {
            failures.push(Failure::new(
                FailureKind::Lint,
                format!(
                    "{}: the result holds {} at {}: an agent would be handed a credential (docs/mcp.md, Lint)",
                    call.shown(),
                    found.what,
                    found.at
                ),
            ));
        }
    }
    Judged { failures, vars: step_vars, record: None, verdict: None }
}

/// Why a call got no answer, by kind: a timeout, a server that exited, an HTTP answer that is not
/// MCP, a broken session.
async fn no_answer(ctx: &Context, call: McpCall<'_>, e: &CallError) -> Failure {
    let shown = call.shown();
    match e {
        CallError::Timeout(_) => Failure::new(FailureKind::Timeout, format!("{shown}: {e}")),
        // An HTTP answer that is not MCP (a redirect, a sign-in page): a transport failure.
        CallError::NotMcp(_) => Failure::new(FailureKind::Http, format!("{shown}: {e}")),
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
    }
}

/// A JSON-RPC error: a failure unless the call was meant to be refused and the error is a
/// refusal, not the server failing.
fn rpc_error(call: McpCall<'_>, code: i64, message: &str) -> Vec<Failure> {
    let (shown, expected) = (call.shown(), call.expect().outcome);
    let message = clip(message, 500);
    if expected == ToolOutcome::Refused && NOT_A_REFUSAL.contains(&code) {
        return vec![Failure::new(
            FailureKind::ToolError,
            format!(
                "{shown}: the server failed with JSON-RPC error {code} ({}): {message}; a refusal of bad input is \
                 -32602 (invalid params), a result with isError, or an error of the server's own range",
                rpc_error_name(code)
            ),
        )];
    }
    if expected == ToolOutcome::Refused {
        return Vec::new();
    }
    let expected = match call {
        McpCall::Tool(_) => expected.as_str(),
        McpCall::Request(_) => "a result",
    };
    vec![Failure::new(
        FailureKind::ToolError,
        format!(
            "{shown}: the server refused the call with JSON-RPC error {code}: {message} (expected {expected})"
        ),
    )]
}

/// A result: the outcome expected (a request's result is its JSON, only a refusal was not
/// wanted), and a tool's successful result held to its `outputSchema`.
fn outcome(ctx: &Context, call: McpCall<'_>, result: &Value) -> Vec<Failure> {
    let (tool, shown, expected) = (call.name(), call.shown(), call.expect().outcome);
    let mut failures = Vec::new();
    if let McpCall::Request(_) = call {
        if expected == ToolOutcome::Refused {
            failures.push(Failure::new(
                FailureKind::ToolAccepted,
                format!("{shown} succeeded, expected a JSON-RPC error: {}", excerpt(result)),
            ));
        }
        return failures;
    }
    let is_error = result.get("isError").and_then(Value::as_bool).unwrap_or(false);
    match (expected, is_error) {
        (ToolOutcome::Success, true) => failures.push(Failure::new(
            FailureKind::ToolError,
            format!("tool {tool:?} reported an error (isError): {}", content_text(result)),
        )),
        // The plan could not know the business outcome: an error answer is no pass, and no
        // failure either. What the call would test was not tested.
        (ToolOutcome::Answered, true) => failures.push(Failure::new(
            FailureKind::NotTested,
            format!(
                "not tested: tool {tool:?} answered an error (isError) to arguments made from its inputSchema: {}",
                content_text(result)
            ),
        )),
        (ToolOutcome::ToolError | ToolOutcome::Refused, false) => failures.push(Failure::new(
            FailureKind::ToolAccepted,
            format!("tool {tool:?} succeeded, expected {}: {}", expected.as_str(), content_text(result)),
        )),
        _ => {}
    }
    let Some(session) = ctx.mcp.as_deref().filter(|s| !is_error && s.declares_output(tool)) else {
        return failures;
    };
    match result.get("structuredContent") {
        None => failures.push(Failure::new(
            FailureKind::Schema,
            format!("tool {tool:?} declares an outputSchema, but its result has no structuredContent"),
        )),
        Some(structured) => failures.extend(
            session
                .output_problems(tool, structured)
                .into_iter()
                .map(|p| Failure::new(FailureKind::Schema, p)),
        ),
    }
    failures
}

/// What the step asks of the result's JSON (`structuredContent`, or the JSON of its one text
/// content; a request's whole result): assertions, schema, latency, then captures into `step_vars`.
fn content(
    ctx: &Context,
    call: McpCall<'_>,
    captures: &[crate::plan::model::Capture],
    result: Option<&Value>,
    latency: Duration,
    vars: &Vars,
    step_vars: &mut Vars,
) -> Vec<Failure> {
    let mut failures = Vec::new();
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
                    "tool {:?}: the {} holds no JSON (no structuredContent, no text content that is JSON), so its \
                     assertions cannot hold",
                    call.name(),
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
        failures = expect::capture_result(captures, json.as_ref(), step_vars);
        // A call whose outcome the plan could not know (one taking an id for the next call):
        // nothing to take (an empty list) is not the server's fault, and tests nothing.
        if e.outcome == ToolOutcome::Answered {
            for f in &mut failures {
                if f.kind == FailureKind::Capture {
                    *f = Failure::new(
                        FailureKind::NotTested,
                        format!("not tested: tool {:?} gave nothing to go on: {}", call.name(), f.message),
                    );
                }
            }
        }
    }
    failures
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
    // What looks like a credential is not kept: a leak found is not leaked again.
    let unleaked = crate::mcp::lint::redact_value;
    let (result, error) = match answer {
        Ok(Answer::Result(v)) => {
            (ctx.redactor.body(unleaked(v).to_string().as_bytes()).map(clip_record), None)
        }
        Ok(Answer::Error { code, message, data }) => {
            let e = unleaked(&json!({ "code": code, "message": message, "data": data }));
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
