//! Step 6 of a run: execute scenarios. Steps in order, templates resolved, expectations checked
//! strictly, the plugin's `check` called where asked; scenarios as a dependency graph, up to
//! `jobs` at once, a failure skipping its dependents with the reason; results in plan order.

pub mod burst;
pub mod expect;
pub mod request;
pub mod results;
pub mod template;

use crate::http::{Client, Redactor};
use crate::plan::model::{Plan, Step, StepMode};
use crate::plugin::Plugin;
use crate::plugin::bindings::{method_to_wit, wit};
use results::{Failure, FailureKind, Outcome, ScenarioResult, StepResult, VerdictRecord};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use template::Vars;
use tokio::task::JoinSet;

/// Everything a step needs besides its own data. Shared by all scenarios of a run.
pub struct Context {
    pub client: Client,
    /// Loaded plugins by name, for `check`.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    /// Each plugin's resolved config, handed to `check`.
    pub plugin_config: BTreeMap<String, Vec<wit::Pair>>,
    pub redactor: Redactor,
    /// Holds `Some(exit status)` once a service smoke started has exited.
    pub service_exit: Option<tokio::sync::watch::Receiver<Option<String>>>,
    /// When the run started: scenario times are offsets from it.
    pub epoch: Instant,
    /// Which seeds and steps capture each variable, to explain an undefined one.
    pub captured_by: BTreeMap<String, Vec<String>>,
    /// Every exchange, when `--transcript` asks for it.
    pub transcript: Option<Arc<crate::http::transcript::Transcript>>,
    /// Response schemas, compiled once.
    pub schemas: expect::Schemas,
}

impl Context {
    /// Index the plan's captures: variable name to the seeds and steps that capture it.
    pub fn index_captures(plan: &Plan) -> BTreeMap<String, Vec<String>> {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &plan.seeds {
            for c in &s.step.captures {
                by.entry(c.name.clone()).or_default().push(format!("seed {}", s.id));
            }
        }
        for s in &plan.scenarios {
            for (i, step) in s.steps.iter().enumerate() {
                for c in &step.captures {
                    by.entry(c.name.clone()).or_default().push(format!("scenario {}, step {}", s.id, i + 1));
                }
            }
        }
        by
    }

    /// Where an undefined variable was expected to come from, and what to do.
    fn explain_undefined(&self, name: &str, scenario_id: &str) -> String {
        match self.captured_by.get(name) {
            None if name.starts_with("config.") => {
                format!("the plugin has no config key {:?}", name.trim_start_matches("config."))
            }
            None => "nothing in the plan captures it".to_string(),
            Some(sources) => format!(
                "it is captured by {}; {scenario_id} sees only seeds, its own earlier steps and the \
                 scenarios it depends on (add one to depends_on), and only once they passed",
                sources.join(", ")
            ),
        }
    }

    /// `Some(status)` if the service under test has exited.
    pub fn service_exited(&self) -> Option<String> {
        self.service_exit.as_ref().and_then(|w| w.borrow().clone())
    }

    /// A plugin's config as `config.KEY` variables, visible to that plugin's steps only, so a
    /// plan can say `Bearer {{config.token}}` and never carry the secret itself.
    pub fn config_vars(&self, plugin: &str) -> impl Iterator<Item = (String, serde_json::Value)> + '_ {
        let pairs =
            self.plugin_config.get(plugin).into_iter().flatten().map(|p| (p.name.as_str(), p.value.as_str()));
        crate::plan::model::config_variables(pairs)
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
    }
}

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
    if let Some(status) = ctx.service_exited() {
        result.fail(Failure::new(
            FailureKind::ServiceExited,
            format!("the service under test exited ({status}); nothing was sent"),
        ));
        return result;
    }
    let outgoing = match request::build(&ctx.client, &step.request, vars) {
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
    result.request = Some(ctx.redactor.request(&outgoing));
    let call = Call { ctx, plugin, scenario_id, index, step };
    let outcome = match &step.mode {
        StepMode::Once => {
            result.attempts = 1;
            call.attempt(&outgoing, vars, 1).await
        }
        StepMode::Poll { interval_ms, timeout_ms } => {
            let interval = Duration::from_millis(u64::from(*interval_ms));
            let deadline = started + Duration::from_millis(u64::from(*timeout_ms));
            loop {
                result.attempts += 1;
                let mut a = call.attempt(&outgoing, vars, result.attempts).await;
                let out_of_time = Instant::now() + interval >= deadline;
                if a.failures.is_empty() || out_of_time || ctx.service_exited().is_some() {
                    if let Some(first) = a.failures.first() {
                        let kind = first.kind;
                        let last: Vec<&str> = a.failures.iter().map(|f| f.message.as_str()).collect();
                        a.failures = vec![Failure::new(
                            kind,
                            format!(
                                "did not hold within {} ms ({} attempt(s)); the last attempt: {}",
                                timeout_ms,
                                result.attempts,
                                last.join("; ")
                            ),
                        )];
                    }
                    break a;
                }
                tokio::time::sleep(interval).await;
            }
        }
        StepMode::Burst { count, concurrency, mix } => {
            let label =
                Label { scenario: scenario_id.to_string(), step: index + 1, step_name: step.display_name() };
            let (failures, record) = burst::run(ctx, step, &outgoing, *count, *concurrency, mix, label).await;
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
    /// Record one exchange in the transcript, if there is one.
    pub fn record(
        &self,
        ctx: &Context,
        seq: u64,
        attempt: u32,
        sent: Instant,
        request: crate::http::RequestRecord,
        outcome: Result<crate::http::ResponseRecord, String>,
        retried: Option<String>,
    ) {
        let Some(t) = &ctx.transcript else { return };
        let (response, error) = match outcome {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        t.record(crate::http::transcript::Entry {
            seq,
            scenario: self.scenario.clone(),
            step: self.step,
            step_name: self.step_name.clone(),
            attempt,
            sent_ms: sent.duration_since(ctx.epoch).as_secs_f64() * 1000.0,
            duration_ms: sent.elapsed().as_secs_f64() * 1000.0,
            request,
            response,
            error,
            retried,
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
            let outcome = match &sent_result {
                Ok(r) => Ok(ctx.redactor.response(r)),
                Err(e) => Err(ctx.redactor.text(&e.to_string())),
            };
            let retried = sent_result.as_ref().ok().and_then(|r| r.retried.clone());
            label.record(ctx, seq, attempt, sent, ctx.redactor.request(outgoing), outcome, retried);
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
        let response = Some(ctx.redactor.response(&incoming));
        let mut failures = expect::judge(&self.step.expect, vars, &incoming, &ctx.schemas);
        if failures.is_empty() {
            failures = expect::capture(&self.step.captures, &incoming, &mut step_vars);
        }
        let mut verdict = None;
        if failures.is_empty()
            && let Some(argument) = &self.step.expect.check
        {
            let plugin = self.plugin;
            match check(
                ctx,
                plugin,
                self.scenario_id,
                self.index,
                self.step,
                argument,
                outgoing,
                &incoming,
                &step_vars,
            )
            .await
            {
                Ok(v) => {
                    if !v.pass {
                        failures.push(Failure::new(
                            FailureKind::PluginVerdict,
                            format!("plugin {plugin} judged it a failure: {}", ctx.redactor.text(&v.reason)),
                        ));
                    }
                    verdict = Some(VerdictRecord { pass: v.pass, reason: ctx.redactor.text(&v.reason) });
                }
                Err(e) => failures.push(e),
            }
        }
        Attempt { failures, vars: step_vars, response, verdict }
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
    outgoing: &crate::http::Outgoing,
    incoming: &crate::http::Incoming,
    vars: &Vars,
) -> Result<wit::Verdict, Failure> {
    let Some(plugin) = ctx.plugins.get(plugin_name).cloned() else {
        return Err(Failure::new(
            FailureKind::PluginError,
            format!("the step asks plugin {plugin_name:?} to judge, but no such plugin is loaded"),
        ));
    };
    let pair = |name: &str, value: &str| wit::Pair { name: name.to_string(), value: value.to_string() };
    let input = wit::CheckInput {
        config: ctx.plugin_config.get(plugin_name).cloned().unwrap_or_default(),
        scenario_id: scenario_id.to_string(),
        step_name: step.display_name(),
        step_index: index as u32,
        argument: argument.to_string(),
        request: wit::SentRequest {
            method: method_to_wit(outgoing.method),
            url: outgoing.url.to_string(),
            headers: outgoing.headers.iter().map(|h| pair(&h.name, &h.value)).collect(),
            body: outgoing.body.clone(),
        },
        response: wit::Response {
            status: incoming.status,
            headers: incoming.headers.iter().map(|h| pair(&h.name, &h.value)).collect(),
            body: incoming.body.clone(),
            latency_ms: incoming.latency.as_millis().min(u32::MAX as u128) as u32,
        },
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

/// Run one scenario's steps in order, stopping at the first failing step.
async fn run_scenario(
    ctx: Arc<Context>,
    plan: Arc<Plan>,
    index: usize,
    mut vars: Vars,
) -> (ScenarioResult, Vars) {
    let scenario = &plan.scenarios[index];
    let started = Instant::now();
    let mut result = ScenarioResult::new(scenario);
    result.started_ms = ctx.epoch.elapsed().as_millis() as u64;
    let mut exported = Vars::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let step_result = run_step(&ctx, &scenario.plugin, &scenario.id, index, step, &mut vars).await;
        let failed = step_result.outcome == Outcome::Failed;
        if !failed {
            for c in &step.captures {
                if let Some(v) = vars.get(&c.name) {
                    exported.insert(c.name.clone(), v.clone());
                }
            }
        }
        result.steps.push(step_result);
        if failed {
            result.fail_at(index);
            break;
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result.finished_ms = ctx.epoch.elapsed().as_millis() as u64;
    (result, exported)
}

/// Execute the plan's scenarios as a dependency graph. `globals` holds the seed captures;
/// `on_done` receives each result with its plan index as it finishes (completion order),
/// skipped ones included, exactly once per scenario.
pub async fn execute(
    ctx: Arc<Context>,
    plan: Arc<Plan>,
    globals: Vars,
    jobs: usize,
    mut on_done: impl FnMut(usize, ScenarioResult),
) {
    let n = plan.scenarios.len();
    let graph = crate::plan::scenario_graph(&plan);
    let mut waiting: Vec<usize> = (0..n).map(|i| graph.dependencies(i).len()).collect();
    let mut done: Vec<bool> = vec![false; n];
    let mut exported: Vec<Option<Vars>> = vec![None; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running: JoinSet<(usize, ScenarioResult, Vars)> = JoinSet::new();
    // Which scenario each task runs, so a task that panics is still reported as its scenario.
    let mut task_of: std::collections::HashMap<tokio::task::Id, usize> = Default::default();
    let jobs = jobs.max(1);

    loop {
        while running.len() < jobs
            && let Some(i) = ready.pop_first()
        {
            let scenario = &plan.scenarios[i];
            let mut vars = globals.clone();
            vars.extend(ctx.config_vars(&scenario.plugin));
            for &j in graph.dependencies(i) {
                if let Some(v) = &exported[j] {
                    vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            let (ctx, shared) = (ctx.clone(), plan.clone());
            let task = running.spawn(async move {
                let (result, out) = run_scenario(ctx, shared, i, vars).await;
                (i, result, out)
            });
            task_of.insert(task.id(), i);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (i, result, out) = match joined {
            Ok((id, done)) => {
                task_of.remove(&id);
                done
            }
            Err(e) => {
                // A panic in our own code: the scenario fails with the panic's message (and its
                // dependents are skipped) rather than hang or hide it.
                let Some(i) = task_of.remove(&e.id()) else { continue };
                let message = match e.try_into_panic() {
                    Ok(payload) => panic_text(payload.as_ref()),
                    Err(e) => e.to_string(),
                };
                tracing::error!("scenario {}: smoke failed running it: {message}", plan.scenarios[i].id);
                let why = Failure::new(
                    FailureKind::Internal,
                    format!(
                        "smoke failed while running this scenario (a bug in smoke; please report it): {message}"
                    ),
                );
                (i, ScenarioResult::not_run(&plan.scenarios[i], Outcome::Failed, why), Vars::new())
            }
        };
        let passed = result.outcome == Outcome::Passed;
        let id = result.id.clone();
        on_done(i, result);
        done[i] = true;
        exported[i] = Some(out);
        if passed {
            for &d in graph.dependents(i) {
                waiting[d] -= 1;
                if waiting[d] == 0 && !done[d] {
                    ready.insert(d);
                }
            }
        } else {
            // Skip everything downstream, naming the root cause.
            let mut stack: Vec<(usize, String)> =
                graph.dependents(i).iter().map(|&d| (d, id.clone())).collect();
            while let Some((d, cause)) = stack.pop() {
                if done[d] {
                    continue;
                }
                done[d] = true;
                let skipped_id = plan.scenarios[d].id.clone();
                on_done(d, ScenarioResult::skipped(&plan.scenarios[d], &cause));
                stack.extend(graph.dependents(d).iter().map(|&e| (e, skipped_id.clone())));
            }
        }
    }
    // Anything never reached (a cycle, which validation refuses, or a task that panicked).
    for (i, finished) in done.into_iter().enumerate() {
        if !finished {
            let s = &plan.scenarios[i];
            let why = Failure::new(FailureKind::Internal, "skipped: never became ready to run");
            on_done(i, ScenarioResult::not_run(s, Outcome::Skipped, why));
        }
    }
}

/// The text of a panic's payload.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}
