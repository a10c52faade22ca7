//! Step 6 of a run: execute scenarios. Steps in order, templates resolved, expectations checked
//! strictly, the plugin's `check` called where asked; scenarios as a dependency graph, up to
//! `jobs` at once, a failure skipping its dependents with the reason; results in plan order.

mod body;
pub mod burst;
mod context;
pub mod expect;
pub mod fixture;
mod json;
mod judge;
mod poll;
mod protocol;
pub mod request;
pub mod results;
pub mod scrub;
pub mod spool;
mod step;
pub mod template;
mod tool;
pub mod transcript;

pub use context::Context;
pub use step::{run_step, send_failure_kind};
pub use transcript::Label;

use crate::plan::model as plan_model;
use crate::plan::{Plan, model::Scenario};
use results::{Failure, FailureKind, Outcome, ScenarioResult};
use spool::Encoded;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use template::Vars;

/// Run one scenario's steps in order, stopping at the first failing step.
async fn run_scenario(
    ctx: &Context,
    scenario: &Scenario,
    ready_ms: u64,
    mut vars: Vars,
) -> (ScenarioResult, Vars) {
    let started = Instant::now();
    let mut result = ScenarioResult::new(scenario);
    result.ready_ms = ready_ms;
    result.started_ms = ctx.epoch.elapsed().as_millis() as u64;
    let mut exported = Vars::new();
    for (index, step) in scenario.steps.iter().enumerate() {
        let step_result = run_step(ctx, &scenario.plugin, &scenario.id, index, step, &mut vars).await;
        let failed = step_result.outcome == Outcome::Failed;
        // Every failure "not tested" (or a check that does not apply after all): the scenario is
        // skipped, not failed.
        let untested = failed
            && step_result
                .failures
                .iter()
                .all(|f| matches!(f.kind, FailureKind::NotTested | FailureKind::PlannedSkip));
        if !failed {
            for c in &step.captures {
                if let Some(v) = vars.get(&c.name) {
                    exported.insert(c.name.clone(), v.clone());
                }
            }
        }
        result.steps.push(step_result);
        if untested {
            result.untested_at(index);
            break;
        }
        if failed {
            result.fail_at(index);
            break;
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result.finished_ms = ctx.epoch.elapsed().as_millis() as u64;
    (result, exported)
}

/// The result of scenario `i` of the plan that did not run, for `why`. Its description comes
/// from the scenario itself; should that not read back, from what the plan holds in memory.
pub fn not_run(plan: &Plan, i: usize, outcome: Outcome, why: Failure) -> ScenarioResult {
    match plan.scenarios.get(i) {
        Ok(s) => ScenarioResult::not_run(&s, outcome, why),
        Err(_) => {
            let s = &plan.scenarios;
            let mut head = Scenario::bare(s.id(i), s.plugin(i), s.endpoint(i), s.kind(i));
            head.tags = s.tags(i).to_vec();
            head.dependency_only = s.dependency_only(i);
            ScenarioResult::not_run(&head, outcome, why)
        }
    }
}

/// The scenarios ready to start, lowest plan index first: those ready from the start (a cursor
/// over a sorted list) and those made ready by their dependencies (a set), with when they became
/// ready.
struct Ready {
    initial: Vec<usize>,
    next: usize,
    later: std::collections::BTreeSet<usize>,
    since: HashMap<usize, u64>,
    /// Scenarios taken out (done before their turn: skipped).
    removed: Vec<bool>,
}

impl Ready {
    fn pop(&mut self) -> Option<(usize, u64)> {
        loop {
            while self.next < self.initial.len() && self.removed[self.initial[self.next]] {
                self.next += 1;
            }
            let first = self.initial.get(self.next).copied();
            let later = self.later.first().copied();
            let i = match (first, later) {
                (Some(a), Some(b)) if b < a => self.later.pop_first()?,
                (Some(a), _) => {
                    self.next += 1;
                    a
                }
                (None, Some(_)) => self.later.pop_first()?,
                (None, None) => return None,
            };
            if self.removed[i] {
                continue;
            }
            return Some((i, self.since.remove(&i).unwrap_or(0)));
        }
    }

    fn insert(&mut self, i: usize, at_ms: u64) {
        self.later.insert(i);
        self.since.insert(i, at_ms);
    }

    fn remove(&mut self, i: usize) {
        self.removed[i] = true;
        self.later.remove(&i);
        self.since.remove(&i);
    }
}

/// What to do next, as the schedule sees it.
enum Next {
    /// Run scenario `i` (its plan index), with these variables, ready since `ready_ms`.
    Run(usize, Arc<Scenario>, Vars, u64),
    /// Nothing is ready, but scenarios in flight may make some ready.
    Wait,
    /// Nothing is ready, and nothing in flight: the run is over.
    Over,
}

/// The state of a run's schedule: what is ready, waiting, done; what finished scenarios
/// captured for their dependents. Every slot reads and updates it between scenarios.
struct Schedule<'a, F> {
    ctx: &'a Context,
    plan: &'a Plan,
    graph: crate::plan::graph::Graph,
    globals: Vars,
    waiting: Vec<u32>,
    done: Vec<bool>,
    /// What each finished scenario captured, kept only for those with dependents to hand it to.
    exported: HashMap<usize, Vars>,
    ready: Ready,
    running: usize,
    on_done: F,
}

impl<F: FnMut(usize, ScenarioResult, Encoded)> Schedule<'_, F> {
    /// Report a result made here (of a scenario that did not run).
    fn report(&mut self, i: usize, mut r: ScenarioResult) {
        self.done[i] = true;
        self.ready.remove(i);
        let encoded = Encoded::new(&mut r, &self.ctx.redactor);
        (self.on_done)(i, r, encoded);
    }

    fn next(&mut self) -> Next {
        while let Some((i, ready_ms)) = self.ready.pop() {
            let scenario = match self.plan.scenarios.get(i) {
                Ok(s) => s,
                Err(e) => {
                    let why = Failure::new(
                        FailureKind::Internal,
                        format!("smoke cannot read this scenario back: {e}"),
                    );
                    self.report(i, not_run(self.plan, i, Outcome::Failed, why));
                    self.skip_dependents(i);
                    continue;
                }
            };
            let mut vars = self.globals.clone();
            vars.extend(self.ctx.config_vars(&scenario.plugin));
            for &j in self.graph.dependencies(i) {
                if let Some(v) = self.exported.get(&j) {
                    vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            self.running += 1;
            return Next::Run(i, scenario, vars, ready_ms);
        }
        if self.running == 0 { Next::Over } else { Next::Wait }
    }

    /// Scenario `i` finished: report it, and make ready what waited on it (or skip that).
    fn finish(&mut self, i: usize, result: ScenarioResult, encoded: Encoded, out: Vars) {
        self.running -= 1;
        let passed = result.outcome == Outcome::Passed;
        (self.on_done)(i, result, encoded);
        self.done[i] = true;
        if !passed {
            self.skip_dependents(i);
            return;
        }
        if !out.is_empty() && !self.graph.dependents(i).is_empty() {
            self.exported.insert(i, out);
        }
        let now = self.ctx.epoch.elapsed().as_millis() as u64;
        for k in 0..self.graph.dependents(i).len() {
            let d = self.graph.dependents(i)[k];
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 && !self.done[d] {
                self.ready.insert(d, now);
            }
        }
    }

    /// Report the scenarios not to be sent as skipped, never run: those the plugin planned as
    /// skipped (`skip:REASON`) and, with --read-only, those with a step that may write; and what
    /// depends on them, which cannot run either (their reasons are not failures). All of them
    /// first, so that the order of the plan does not change how one is reported.
    fn skip_planned(&mut self, ctx: &Context) {
        let (plan, n) = (self.plan, self.plan.scenarios.len());
        let read_only = ReadOnly::of(ctx, plan);
        let reasons: Vec<Option<String>> = (0..n)
            .map(|i| {
                plan.scenarios.planned_skip(i).map(String::from).or_else(|| read_only.reason(ctx, plan, i))
            })
            .collect();
        let planned: Vec<usize> = (0..n).filter(|&i| reasons[i].is_some()).collect();
        for &i in &planned {
            let reason = reasons[i].as_deref().unwrap_or_default();
            let why = Failure::new(FailureKind::PlannedSkip, format!("skipped: {reason}"));
            self.report(i, not_run(plan, i, Outcome::Skipped, why));
        }
        for &i in &planned {
            let id = plan.scenarios.id(i);
            let mut stack: Vec<usize> = self.graph.dependents(i).to_vec();
            while let Some(d) = stack.pop() {
                if self.done[d] {
                    continue;
                }
                let why = Failure::new(
                    FailureKind::PlannedSkip,
                    format!("skipped: it depends on {id}, which was planned as skipped"),
                );
                self.report(d, not_run(plan, d, Outcome::Skipped, why));
                stack.extend(self.graph.dependents(d).iter().copied());
            }
        }
    }

    /// Skip everything downstream of scenario `i`, which did not pass, naming it as the cause.
    fn skip_dependents(&mut self, i: usize) {
        let mut stack: Vec<(usize, usize)> = self.graph.dependents(i).iter().map(|&d| (d, i)).collect();
        while let Some((d, cause)) = stack.pop() {
            if self.done[d] {
                continue;
            }
            let why = Failure::new(
                FailureKind::Dependency,
                format!("skipped: dependency {} did not pass", self.plan.scenarios.id(cause)),
            );
            self.report(d, not_run(self.plan, d, Outcome::Skipped, why));
            stack.extend(self.graph.dependents(d).iter().map(|&e| (e, d)));
        }
    }
}

/// Execute the plan's scenarios as a dependency graph. `globals` holds the seed captures;
/// `on_done` receives each result, redacted and encoded, with its plan index as it finishes
/// (completion order), skipped ones included, exactly once per scenario.
///
/// `jobs` slots run scenarios, each taking the next ready one as it finishes the last: all in
/// this one task, which a response wakes directly (no task per scenario to spawn, join and
/// wake the scheduler with).
pub async fn execute(
    ctx: Arc<Context>,
    plan: Arc<Plan>,
    globals: Vars,
    jobs: usize,
    on_done: impl FnMut(usize, ScenarioResult, Encoded),
) -> Vec<usize> {
    let n = plan.scenarios.len();
    let graph = crate::plan::scenario_graph(&plan);
    let waiting: Vec<u32> = (0..n).map(|i| graph.dependencies(i).len() as u32).collect();
    let ready = Ready {
        initial: (0..n).filter(|&i| waiting[i] == 0).collect(),
        next: 0,
        later: Default::default(),
        since: HashMap::new(),
        removed: vec![false; n],
    };
    let mut schedule = Schedule {
        ctx: &ctx,
        plan: &plan,
        graph,
        globals,
        waiting,
        done: vec![false; n],
        exported: HashMap::new(),
        ready,
        running: 0,
        on_done,
    };

    schedule.skip_planned(&ctx);

    // Only this task's slots take it, in turn (never across an await): it is never contended,
    // but it keeps the run's future `Send`.
    let schedule = std::sync::Mutex::new(schedule);
    let lock = || schedule.lock().unwrap_or_else(|e| e.into_inner());
    let changed = tokio::sync::Notify::new();
    let slot = || async {
        loop {
            // The borrow ends before anything is awaited: slots take turns within this task.
            let next = lock().next();
            match next {
                Next::Run(i, scenario, vars, ready_ms) => {
                    use futures_util::FutureExt;
                    // Boxed once: wrapped and awaited, a future this big (kilobytes) would be
                    // copied whole at each step.
                    let scenario_run = Box::pin(run_scenario(&ctx, &scenario, ready_ms, vars));
                    let ran = std::panic::AssertUnwindSafe(scenario_run).catch_unwind().await;
                    let (mut result, out) = match ran {
                        Ok(finished) => finished,
                        Err(payload) => {
                            // A panic in our own code: the scenario fails with the panic's message
                            // (and its dependents are skipped) rather than hang or hide it.
                            let message = panic_text(payload.as_ref());
                            tracing::error!("scenario {}: smoke failed running it: {message}", scenario.id);
                            let why = Failure::new(
                                FailureKind::Internal,
                                format!(
                                    "smoke failed while running this scenario (a bug in smoke; please report \
                                     it): {message}"
                                ),
                            );
                            (not_run(&plan, i, Outcome::Failed, why), Vars::new())
                        }
                    };
                    ctx.note_connections(i, &result);
                    let encoded = Encoded::new(&mut result, &ctx.redactor);
                    lock().finish(i, result, encoded, out);
                    changed.notify_waiters();
                }
                Next::Wait => changed.notified().await,
                Next::Over => {
                    changed.notify_waiters();
                    return;
                }
            }
        }
    };
    futures_util::future::join_all((0..jobs.clamp(1, n.max(1))).map(|_| slot())).await;
    let mut schedule = schedule.into_inner().unwrap_or_else(|e| e.into_inner());
    // Anything never reached (a cycle, which validation refuses).
    for i in 0..n {
        if !schedule.done[i] {
            let why = Failure::new(FailureKind::Internal, "skipped: never became ready to run");
            schedule.report(i, not_run(&plan, i, Outcome::Skipped, why));
        }
    }
    // A moment for an answer nobody asked for to show on an idle connection: a service one
    // answer ahead shows it once no request is left.
    if let Some(client) = &ctx.client {
        let grace = client.grace();
        tracing::debug!("run: {} ms for answers nobody asked for to show", grace.as_secs_f64() * 1000.0);
        tokio::time::sleep(grace).await;
    }
    ctx.out_of_step_verdicts()
}

/// The tag of a scenario that reads what the plan's seeds make without naming a variable they
/// capture (a list holding the seeded records): with `--read-only`, which creates no seed, it is
/// skipped.
pub const SEEDED: &str = "seeded";

/// `--read-only`: what may not be sent, and why.
struct ReadOnly {
    on: bool,
    /// The variables seeds capture: with --read-only no seed is created (they write), so a
    /// scenario that needs one cannot run.
    seeded: Vec<String>,
}

impl ReadOnly {
    fn of(ctx: &Context, plan: &Plan) -> ReadOnly {
        let seeded = match ctx.read_only {
            true => plan.seeds.iter().flat_map(|s| s.step.captures.iter().map(|c| c.name.clone())).collect(),
            false => Vec::new(),
        };
        ReadOnly { on: ctx.read_only, seeded }
    }

    /// Why scenario `i` is not sent under --read-only: a step that may write (a method other
    /// than GET, HEAD and OPTIONS; a tool the server does not mark read-only), or a variable
    /// only a seed gives.
    fn reason(&self, ctx: &Context, plan: &Plan, i: usize) -> Option<String> {
        if !self.on {
            return None;
        }
        let s = plan.scenarios.get(i).ok()?;
        for (n, step) in s.steps.iter().enumerate() {
            let writes = match &step.action {
                plan_model::Action::Http(call) => {
                    let m = &call.request.method;
                    (!matches!(
                        m,
                        plan_model::Method::Get | plan_model::Method::Head | plan_model::Method::Options
                    ))
                    .then(|| format!("send {} {}", m.as_str(), call.request.path))
                }
                plan_model::Action::ToolCall(call) => {
                    (!ctx.mcp.as_ref().is_some_and(|m| m.read_only(&call.tool)))
                        .then(|| format!("call tool {}, which the server does not mark read-only", call.tool))
                }
                plan_model::Action::McpRequest(_) | plan_model::Action::McpCheck(_) => None,
            };
            if let Some(what) = writes {
                return Some(format!(
                    "--read-only: step {} would {what}, which may write; only GET, HEAD, OPTIONS and read-only \
                     tools are sent",
                    n + 1
                ));
            }
        }
        if !plan.seeds.is_empty() && s.tags.iter().any(|t| t == SEEDED) {
            return Some(
                "--read-only: it reads what the seeds make (tag `seeded`), and no seed is created".into(),
            );
        }
        if !self.seeded.is_empty() {
            let text = serde_json::to_string(&s.steps).unwrap_or_default();
            if let Some(var) = self.seeded.iter().find(|v| text.contains(&format!("{{{{{v}"))) {
                return Some(format!(
                    "--read-only: it needs {{{{{var}}}}}, which a seed captures, and no seed is created"
                ));
            }
        }
        None
    }
}

/// The failure of a verdict whose answer came over a connection the service was out of step on.
pub fn out_of_step(mut result: ScenarioResult) -> ScenarioResult {
    let why = Failure::new(
        FailureKind::Http,
        "its answer came over a kept-alive connection on which the service also sent bytes nobody asked \
         for (a response too many, or one past its framing): the service was out of step with the requests \
         there, so the answer may be another request's; smoke dropped the connection",
    );
    result.outcome = Outcome::Failed;
    result.reason = Some(why.message.clone());
    result.failure = Some(why);
    result
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_that_panics_is_caught_with_its_message() {
        use futures_util::FutureExt;
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let caught =
                std::panic::AssertUnwindSafe(async { panic!("boom at step 2") }).catch_unwind().await;
            assert_eq!(panic_text(caught.unwrap_err().as_ref()), "boom at step 2");
            let caught =
                std::panic::AssertUnwindSafe(async { panic!("{} failed", "x") }).catch_unwind().await;
            assert_eq!(panic_text(caught.unwrap_err().as_ref()), "x failed");
        });
    }
}
