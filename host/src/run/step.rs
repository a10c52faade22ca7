//! One step: build the request from its template, send it, judge the response, capture, ask
//! the plugin where the step says so; a poll step repeats until it holds, a burst step sends
//! many copies and judges the mix.

use super::results::{Failure, FailureKind, Outcome, StepResult, VerdictRecord};
use super::template::{self, Vars};
use super::{Context, burst, expect, request};
use crate::plan::model::{Action, HttpCall, Pair, Step, StepMode};
use crate::plugin::contract;
use std::time::{Duration, Instant};

/// Run one step: build, send, judge, capture, and ask the plugin where the step says so; a poll
/// step repeats that until it holds, a burst step sends many copies and judges the mix.
/// Captures land in `vars` only when the step passes.
pub async fn run_step(
    ctx: &Context,
    plugin: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    vars: &mut Vars,
) -> StepResult {
    let started = Instant::now();
    let mut result = StepResult::new(index, step);
    let mcp = match &step.action {
        Action::Http(_) => None,
        Action::ToolCall(call) => Some(super::tool::McpCall::Tool(call)),
        Action::McpRequest(request) => Some(super::tool::McpCall::Request(request)),
    };
    if let Some(call) = mcp {
        // Boxed, as the rarer kinds of step below: a step's future is as big as its biggest
        // branch, and is moved whole each time one starts.
        Box::pin(super::tool::run(ctx, plugin, scenario_id, index, step, call, vars, &mut result)).await;
        result.duration_ms = started.elapsed().as_millis() as u64;
        return result;
    }
    if let Some(status) = ctx.service_exited() {
        result.fail(Failure::new(
            FailureKind::ServiceExited,
            format!("the service under test exited ({status}); nothing was sent"),
        ));
        return result;
    }
    let Action::Http(http) = &step.action else { unreachable!("MCP calls are run above") };
    let outgoing = match request::build(&ctx.client, &http.request, vars) {
        Ok(mut o) => {
            o.timeout = step.timeout_ms.map(|ms| Duration::from_millis(u64::from(ms)));
            o
        }
        Err(e) => {
            let (kind, hint) = match &e {
                request::BuildError::Template(template::TemplateError::Undefined { name }) => {
                    (FailureKind::Template, format!(": {}", ctx.explain_undefined(name, scenario_id)))
                }
                request::BuildError::Template(_) => (FailureKind::Template, String::new()),
                request::BuildError::OffTarget(_) => (FailureKind::OffTarget, String::new()),
            };
            result
                .fail(Failure::new(kind, ctx.redactor.text(&format!("cannot build the request: {e}{hint}"))));
            return result;
        }
    };
    let call = Call { ctx, plugin, scenario_id, index, step, http };
    let outcome = match &step.mode {
        StepMode::Once => {
            result.attempts = 1;
            call.attempt(&outgoing, vars, 1).await
        }
        StepMode::Poll { interval_ms, timeout_ms } => {
            let gone = || ctx.service_exited().is_some();
            let timing = Polling { interval_ms: *interval_ms, timeout_ms: *timeout_ms, started };
            Box::pin(poll(timing, &mut result.attempts, gone, |n| call.attempt(&outgoing, vars, n))).await
        }
        StepMode::Burst { count, concurrency, mix } => {
            let label =
                Label { scenario: scenario_id.to_string(), step: index + 1, step_name: step.display_name() };
            let (failures, record) =
                Box::pin(burst::run(ctx, http, &outgoing, *count, *concurrency, mix, label)).await;
            result.attempts = *count;
            result.burst = Some(record);
            Attempt { failures, vars: vars.clone(), response: None, verdict: None }
        }
    };
    result.response = outcome.response;
    result.verdict = outcome.verdict;
    for f in outcome.failures {
        result.fail(Failure::new(f.kind, ctx.redactor.text(&f.message)));
    }
    // A passing step's record keeps its method and URL, status and latency, unless the reports
    // want the headers and bodies too (the response was recorded to match, in `attempt`).
    result.trimmed = result.outcome == Outcome::Passed && !ctx.keep_passing_exchanges;
    result.request = Some(match result.trimmed {
        true => ctx.redactor.request_brief(&outgoing),
        false => ctx.redactor.request(&outgoing),
    });
    if result.outcome == Outcome::Passed {
        for c in &step.captures {
            if let Some(v) = outcome.vars.get(&c.name) {
                result.captured.insert(c.name.clone(), ctx.redactor.text(&template::value_text(v)));
            }
        }
        *vars = outcome.vars;
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

/// The failure kind of a send that got no usable response.
pub fn send_failure_kind(e: &crate::http::SendError) -> FailureKind {
    use crate::http::SendError;
    match e {
        SendError::Timeout(_) => FailureKind::Timeout,
        SendError::Connect { .. } => FailureKind::Connect,
        SendError::Reset { .. } => FailureKind::Reset,
        SendError::Other { .. } => FailureKind::Http,
    }
}

/// One try of a step, as polling sees it: whatever failed.
pub(super) trait Tried {
    fn failures(&mut self) -> &mut Vec<Failure>;
}

impl Tried for Attempt {
    fn failures(&mut self) -> &mut Vec<Failure> {
        &mut self.failures
    }
}

/// A poll's timing: every `interval_ms`, for at most `timeout_ms` since the step `started`.
pub(super) struct Polling {
    pub(super) interval_ms: u32,
    pub(super) timeout_ms: u32,
    pub(super) started: Instant,
}

/// Try until a try holds, the time is up or `gone()` says the server has gone (counting tries
/// in `attempts`); the last try's failures then become one, saying how long it was tried.
pub(super) async fn poll<T: Tried, F: std::future::Future<Output = T>>(
    timing: Polling,
    attempts: &mut u32,
    gone: impl Fn() -> bool,
    mut attempt: impl FnMut(u32) -> F,
) -> T {
    let interval = Duration::from_millis(u64::from(timing.interval_ms));
    let deadline = timing.started + Duration::from_millis(u64::from(timing.timeout_ms));
    loop {
        *attempts += 1;
        let mut a = attempt(*attempts).await;
        let out_of_time = Instant::now() + interval >= deadline;
        if a.failures().is_empty() || out_of_time || gone() {
            let failures = a.failures();
            if let Some(first) = failures.first() {
                let kind = first.kind;
                let last: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
                let summary = format!(
                    "did not hold within {} ms ({} attempt(s)); the last attempt: {}",
                    timing.timeout_ms,
                    attempts,
                    last.join("; ")
                );
                *failures = vec![Failure::new(kind, summary)];
            }
            return a;
        }
        tokio::time::sleep(interval).await;
    }
}

/// What one send of a step came to.
struct Attempt {
    failures: Vec<Failure>,
    /// The variables with this attempt's captures.
    vars: Vars,
    response: Option<crate::http::ResponseRecord>,
    verdict: Option<VerdictRecord>,
}

/// Which step an exchange belongs to, for the transcript.
#[derive(Debug, Clone)]
pub struct Label {
    pub scenario: String,
    pub step: usize,
    pub step_name: String,
}

impl Label {
    /// Record one exchange in the transcript, if there is one: the response or why there was
    /// none, redacted, and whether the request had to be sent twice.
    pub fn record(
        &self,
        ctx: &Context,
        seq: u64,
        attempt: u32,
        sent: Instant,
        request: crate::http::RequestRecord,
        result: &Result<crate::http::Incoming, crate::http::SendError>,
    ) {
        let Some(t) = &ctx.transcript else { return };
        let (response, error, retried) = match result {
            Ok(r) => (Some(ctx.redactor.response(r)), None, r.retried.clone()),
            Err(e) => (None, Some(ctx.redactor.text(&e.to_string())), None),
        };
        t.record(crate::http::transcript::Entry {
            request: Some(request),
            response,
            error,
            retried,
            ..self.entry(ctx, seq, attempt, sent)
        });
    }

    /// A transcript entry for this step's exchange sent at `sent`, with nothing recorded yet.
    fn entry(&self, ctx: &Context, seq: u64, attempt: u32, sent: Instant) -> crate::http::transcript::Entry {
        crate::http::transcript::Entry {
            seq,
            scenario: self.scenario.clone(),
            step: self.step,
            step_name: self.step_name.clone(),
            attempt,
            sent_ms: sent.duration_since(ctx.epoch).as_secs_f64() * 1000.0,
            duration_ms: sent.elapsed().as_secs_f64() * 1000.0,
            request: None,
            response: None,
            tool_call: None,
            error: None,
            retried: None,
        }
    }

    /// Record one tool call in the transcript, if there is one.
    pub fn record_tool_call(
        &self,
        ctx: &Context,
        seq: u64,
        attempt: u32,
        sent: Instant,
        record: super::results::ToolCallRecord,
        error: Option<String>,
    ) {
        let Some(t) = &ctx.transcript else { return };
        t.record(crate::http::transcript::Entry {
            tool_call: Some(record),
            error: error.map(|e| ctx.redactor.text(&e)),
            ..self.entry(ctx, seq, attempt, sent)
        });
    }
}

/// One step of one scenario, for the pieces of `run_step`.
struct Call<'a> {
    ctx: &'a Context,
    plugin: &'a str,
    scenario_id: &'a str,
    index: usize,
    step: &'a Step,
    http: &'a HttpCall,
}

impl Call<'_> {
    /// Send once; judge, capture, and ask the plugin where the step says so.
    async fn attempt(&self, outgoing: &crate::http::Outgoing, vars: &Vars, attempt: u32) -> Attempt {
        let ctx = self.ctx;
        let mut step_vars = vars.clone();
        let seq = ctx.transcript.as_ref().map(|t| t.ticket());
        let sent = Instant::now();
        let sent_result = ctx.client.send(outgoing).await;
        if let Some(seq) = seq {
            let label = Label {
                scenario: self.scenario_id.to_string(),
                step: self.index + 1,
                step_name: self.step.display_name(),
            };
            label.record(ctx, seq, attempt, sent, ctx.redactor.request(outgoing), &sent_result);
        }
        let incoming = match sent_result {
            Ok(r) => r,
            Err(e) => {
                // A connection failure is explained by a dead service, if it died.
                let exited = match ctx.service_exit.clone() {
                    Some(mut w) => {
                        tokio::time::timeout(Duration::from_millis(200), w.wait_for(Option::is_some))
                            .await
                            .ok()
                            .and_then(|r| r.ok().and_then(|s| s.clone()))
                    }
                    None => None,
                };
                let failure = match exited {
                    Some(status) => Failure::new(
                        FailureKind::ServiceExited,
                        format!("the service under test exited ({status}) during this step: {e}"),
                    ),
                    None => Failure::new(send_failure_kind(&e), e.to_string()),
                };
                return Attempt { failures: vec![failure], vars: step_vars, response: None, verdict: None };
            }
        };
        let mut failures = expect::judge(&self.http.expect, vars, &incoming, &ctx.schemas);
        if failures.is_empty() {
            failures = expect::capture(&self.step.captures, &incoming, &mut step_vars);
        }
        let mut verdict = None;
        if failures.is_empty()
            && let Some(argument) = &self.http.expect.check
        {
            let pair = |name: &str, value: &str| Pair { name: name.to_string(), value: value.to_string() };
            let exchange = contract::Exchange::Http {
                request: contract::SentRequest {
                    method: outgoing.method.clone(),
                    url: outgoing.url.to_string(),
                    headers: outgoing.headers.iter().map(|h| pair(&h.name, &h.value)).collect(),
                    body: outgoing.body.clone(),
                },
                response: contract::Response {
                    status: incoming.status,
                    headers: incoming.headers.iter().map(|h| pair(&h.name, &h.value)).collect(),
                    body: incoming.body.clone(),
                    latency_ms: incoming.latency.as_millis().min(u32::MAX as u128) as u32,
                },
            };
            let (f, v) = judge_by_plugin(
                ctx,
                self.plugin,
                self.scenario_id,
                self.index,
                self.step,
                argument,
                exchange,
                &step_vars,
            )
            .await;
            failures.extend(f);
            verdict = v;
        }
        // Recorded last: the record takes the response's body and headers, needed no more. A
        // passing one is recorded in brief unless the reports want it whole.
        let response = Some(match failures.is_empty() && !ctx.keep_passing_exchanges {
            true => ctx.redactor.response_brief(&incoming),
            false => ctx.redactor.response_owned(incoming),
        });
        Attempt { failures, vars: step_vars, response, verdict }
    }
}

/// Ask the plugin's `check` for a verdict on an exchange: the failures it means, and the verdict
/// to record.
#[allow(clippy::too_many_arguments)]
pub(super) async fn judge_by_plugin(
    ctx: &Context,
    plugin: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    argument: &str,
    exchange: contract::Exchange,
    vars: &Vars,
) -> (Vec<Failure>, Option<VerdictRecord>) {
    match check(ctx, plugin, scenario_id, index, step, argument, exchange, vars).await {
        Ok(v) => {
            let mut failures = Vec::new();
            if !v.pass {
                failures.push(Failure::new(
                    FailureKind::PluginVerdict,
                    format!("plugin {plugin} judged it a failure: {}", ctx.redactor.text(&v.reason)),
                ));
            }
            (failures, Some(VerdictRecord { pass: v.pass, reason: ctx.redactor.text(&v.reason) }))
        }
        Err(e) => (vec![e], None),
    }
}

#[allow(clippy::too_many_arguments)]
async fn check(
    ctx: &Context,
    plugin_name: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    argument: &str,
    exchange: contract::Exchange,
    vars: &Vars,
) -> Result<contract::Verdict, Failure> {
    let Some(plugin) = ctx.plugins.get(plugin_name).cloned() else {
        return Err(Failure::new(
            FailureKind::PluginError,
            format!("the step asks plugin {plugin_name:?} to judge, but no such plugin is loaded"),
        ));
    };
    let pair = |name: &str, value: &str| Pair { name: name.to_string(), value: value.to_string() };
    let input = contract::CheckInput {
        config: ctx.plugin_config.get(plugin_name).cloned().unwrap_or_default(),
        scenario_id: scenario_id.to_string(),
        step_name: step.display_name(),
        step_index: index as u32,
        argument: argument.to_string(),
        exchange,
        variables: vars.iter().map(|(k, v)| pair(k, &v.to_string())).collect(),
    };
    tokio::task::spawn_blocking(move || plugin.check(&input))
        .await
        .map_err(|e| {
            Failure::new(FailureKind::Internal, format!("plugin {plugin_name}: check did not complete: {e}"))
        })?
        .map_err(|e| {
            let kind = match &e {
                crate::plugin::PluginError::Call {
                    failure:
                        crate::plugin::CallFailure::Timeout(_) | crate::plugin::CallFailure::Memory { .. },
                    ..
                } => FailureKind::PluginLimit,
                _ => FailureKind::PluginError,
            };
            Failure::new(kind, e.to_string())
        })
}
