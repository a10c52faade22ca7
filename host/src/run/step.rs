//! One step: build the request from its template, send it, judge the response, capture, ask
//! the plugin where the step says so; a poll step repeats until it holds, a burst step sends
//! many copies and judges the mix.

use super::judge::judge_by_plugin;
use super::poll::{Polling, poll};
use super::results::{Failure, FailureKind, Outcome, StepResult, VerdictRecord};
use super::template::{self, Vars};
use super::{Context, Label, burst, expect, request};
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
        Action::McpCheck(check) => {
            Box::pin(super::protocol::run(ctx, step, check, &mut result)).await;
            result.duration_ms = started.elapsed().as_millis() as u64;
            return result;
        }
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
    let Some(client) = &ctx.client else {
        result.fail(Failure::new(
            FailureKind::Internal,
            "the step sends HTTP, but the run has no HTTP service (a plan like this is refused before the run)",
        ));
        return result;
    };
    let outgoing = match request::build(client, &http.request, vars) {
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
    let deadline = super::poll::poll_deadline(&step.mode, started);
    let call = Call { ctx, client, plugin, scenario_id, index, step, http, deadline };
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
                Box::pin(burst::run(ctx, client, http, &outgoing, (*count, *concurrency), mix, label)).await;
            result.attempts = *count;
            result.burst = Some(record);
            Attempt { failures, vars: vars.clone(), response: None, verdict: None, connection: None }
        }
    };
    result.response = outcome.response;
    result.verdict = outcome.verdict;
    result.connection = outcome.connection;
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
        SendError::Timeout(_) | SendError::BodyTimeout { .. } => FailureKind::Timeout,
        SendError::Connect { .. } => FailureKind::Connect,
        SendError::Reset { .. } => FailureKind::Reset,
        SendError::Tls { .. } => FailureKind::Connect,
        SendError::Other { .. } => FailureKind::Http,
    }
}

impl super::poll::Tried for Attempt {
    fn failures(&mut self) -> &mut Vec<Failure> {
        &mut self.failures
    }
}

/// What one send of a step came to.
struct Attempt {
    failures: Vec<Failure>,
    /// The variables with this attempt's captures.
    vars: Vars,
    response: Option<crate::http::ResponseRecord>,
    verdict: Option<VerdictRecord>,
    /// The connection the response came over, and its place there.
    connection: Option<(u64, u32)>,
}

/// Bodies judged on the runtime's own thread; a bigger one is judged on a blocking thread, within
/// the step's time: a schema pattern slow on a big body (`a[ab]{999}[^ab]` on 4 MiB runs for
/// tens of seconds) must stall neither the other scenarios nor a signal, and fails its step.
const JUDGED_INLINE: usize = 64 << 10;

/// Judge `incoming` against `expect` (see [`expect::judge`]), within `limit` for a big body.
async fn judge(
    ctx: &Context,
    expect: &crate::plan::model::Expectation,
    vars: &Vars,
    incoming: crate::http::Incoming,
    limit: Duration,
) -> (Vec<Failure>, crate::http::Incoming) {
    if incoming.body.len() <= JUDGED_INLINE {
        return (expect::judge(expect, vars, &incoming, &ctx.schemas), incoming);
    }
    // What the record keeps of it, should the judging not come back in time.
    let size = incoming.body.len();
    let kept = crate::http::Incoming {
        body: incoming.body[..crate::http::RECORDED_BODY_BYTES.min(incoming.body.len())].to_vec(),
        ..incoming.without_body()
    };
    let (shared, vars, schemas) = (expect.clone(), vars.clone(), ctx.schemas.clone());
    let judging = tokio::task::spawn_blocking(move || {
        let failures = expect::judge(&shared, &vars, &incoming, &schemas);
        (failures, incoming)
    });
    match tokio::time::timeout(limit, judging).await {
        Ok(Ok(judged)) => judged,
        Ok(Err(e)) => {
            (vec![Failure::new(FailureKind::Internal, format!("judging the response failed: {e}"))], kept)
        }
        Err(_) => {
            if let Some(schema) = &expect.schema {
                ctx.schemas.overran(schema);
            }
            let limit = humantime::format_duration(limit);
            let why = format!(
                "judging the response ({size} bytes) took longer than the step's {limit}: a schema pattern \
                 slow on such a body?"
            );
            (vec![Failure::new(FailureKind::Timeout, why)], kept)
        }
    }
}

/// One step of one scenario, for the pieces of `run_step`.
struct Call<'a> {
    ctx: &'a Context,
    client: &'a crate::http::Client,
    /// A poll's end: no try runs past it.
    deadline: Option<Instant>,
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
        let sent_result = match self.deadline {
            // A try of a poll: within what is left of the poll.
            Some(_) => {
                let limit =
                    super::poll::within(outgoing.timeout.unwrap_or(ctx.request_timeout), self.deadline);
                match tokio::time::timeout(limit, self.client.send(outgoing)).await {
                    Ok(sent) => sent,
                    Err(_) => Err(crate::http::SendError::Timeout(limit)),
                }
            }
            None => self.client.send(outgoing).await,
        };
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
                return Attempt {
                    failures: vec![failure],
                    vars: step_vars,
                    response: None,
                    verdict: None,
                    connection: None,
                };
            }
        };
        let connection = incoming.connection;
        let limit = outgoing.timeout.unwrap_or(ctx.request_timeout);
        let (mut failures, incoming) = judge(ctx, &self.http.expect, vars, incoming, limit).await;
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
        Attempt { failures, vars: step_vars, response, verdict, connection }
    }
}
