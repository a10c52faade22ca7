//! Step 6 of a run: execute scenarios. Steps in order, templates resolved, expectations checked
//! strictly, the plugin's `check` called where asked; scenarios as a dependency graph, up to
//! `jobs` at once, a failure skipping its dependents with the reason; results in plan order.

pub mod burst;
mod context;
pub mod expect;
pub mod request;
pub mod results;
pub mod spool;
mod step;
pub mod template;
mod tool;

pub use context::Context;
pub use step::{Label, run_step, send_failure_kind};

use crate::plan::model::{Plan, Scenario};
use results::{Failure, FailureKind, Outcome, ScenarioResult};
use spool::Encoded;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use template::Vars;
use tokio::task::JoinSet;

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

/// Execute the plan's scenarios as a dependency graph. `globals` holds the seed captures;
/// `on_done` receives each result, redacted and encoded, with its plan index as it finishes
/// (completion order), skipped ones included, exactly once per scenario.
pub async fn execute(
    ctx: Arc<Context>,
    plan: Arc<Plan>,
    globals: Vars,
    jobs: usize,
    mut on_done: impl FnMut(usize, ScenarioResult, Encoded),
) {
    let n = plan.scenarios.len();
    let graph = crate::plan::scenario_graph(&plan);
    let mut waiting: Vec<u32> = (0..n).map(|i| graph.dependencies(i).len() as u32).collect();
    let mut done: Vec<bool> = vec![false; n];
    // What each finished scenario captured, kept only for those with dependents to hand it to.
    let mut exported: HashMap<usize, Vars> = HashMap::new();
    let mut ready = Ready {
        initial: (0..n).filter(|&i| waiting[i] == 0).collect(),
        next: 0,
        later: Default::default(),
        since: HashMap::new(),
        removed: vec![false; n],
    };
    type Finished = (usize, ScenarioResult, Encoded, Vars);
    let mut running: JoinSet<Finished> = JoinSet::new();
    // Which scenario each task runs, so a task that panics is still reported as its scenario.
    let mut task_of: HashMap<tokio::task::Id, usize> = Default::default();
    let jobs = jobs.max(1);
    let report =
        |i: usize, mut r: ScenarioResult, on_done: &mut dyn FnMut(usize, ScenarioResult, Encoded)| {
            let encoded = Encoded::new(&mut r, &ctx.redactor);
            on_done(i, r, encoded);
        };

    // Scenarios the plugin planned as skipped (`skip:REASON`) are reported so, never run; so is
    // what depends on them, which cannot run either (their reasons are not failures). All the
    // tagged ones first, so that the order of the plan does not change how one is reported.
    let planned: Vec<usize> = (0..n).filter(|&i| plan.scenarios.planned_skip(i).is_some()).collect();
    for &i in &planned {
        let reason = plan.scenarios.planned_skip(i).unwrap_or_default();
        ready.remove(i);
        done[i] = true;
        let why = Failure::new(FailureKind::PlannedSkip, format!("skipped: {reason}"));
        report(i, not_run(&plan, i, Outcome::Skipped, why), &mut on_done);
    }
    for &i in &planned {
        let id = plan.scenarios.id(i);
        let mut stack: Vec<usize> = graph.dependents(i).to_vec();
        while let Some(d) = stack.pop() {
            if done[d] {
                continue;
            }
            done[d] = true;
            ready.remove(d);
            let why = Failure::new(
                FailureKind::PlannedSkip,
                format!("skipped: it depends on {id}, which was planned as skipped"),
            );
            report(d, not_run(&plan, d, Outcome::Skipped, why), &mut on_done);
            stack.extend(graph.dependents(d).iter().copied());
        }
    }

    loop {
        while running.len() < jobs
            && let Some((i, ready_ms)) = ready.pop()
        {
            let scenario = match plan.scenarios.get(i) {
                Ok(s) => s,
                Err(e) => {
                    let why = Failure::new(
                        FailureKind::Internal,
                        format!("smoke cannot read this scenario back: {e}"),
                    );
                    report(i, not_run(&plan, i, Outcome::Failed, why), &mut on_done);
                    done[i] = true;
                    skip_dependents(&plan, &graph, i, &mut done, &mut ready, &mut |d, r| {
                        report(d, r, &mut on_done)
                    });
                    continue;
                }
            };
            let mut vars = globals.clone();
            vars.extend(ctx.config_vars(&scenario.plugin));
            for &j in graph.dependencies(i) {
                if let Some(v) = exported.get(&j) {
                    vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            let ctx = ctx.clone();
            let task = running.spawn(async move {
                let (mut result, out) = run_scenario(&ctx, &scenario, ready_ms, vars).await;
                let encoded = Encoded::new(&mut result, &ctx.redactor);
                (i, result, encoded, out)
            });
            task_of.insert(task.id(), i);
        }
        let Some(joined) = running.join_next_with_id().await else {
            break;
        };
        let (i, result, encoded, out) = match joined {
            Ok((id, finished)) => {
                task_of.remove(&id);
                finished
            }
            Err(e) => {
                // A panic in our own code: the scenario fails with the panic's message (and its
                // dependents are skipped) rather than hang or hide it.
                let Some(i) = task_of.remove(&e.id()) else { continue };
                let message = failed_task(e);
                tracing::error!("scenario {}: smoke failed running it: {message}", plan.scenarios.id(i));
                let why = Failure::new(
                    FailureKind::Internal,
                    format!(
                        "smoke failed while running this scenario (a bug in smoke; please report it): {message}"
                    ),
                );
                let mut r = not_run(&plan, i, Outcome::Failed, why);
                let encoded = Encoded::new(&mut r, &ctx.redactor);
                (i, r, encoded, Vars::new())
            }
        };
        let passed = result.outcome == Outcome::Passed;
        on_done(i, result, encoded);
        done[i] = true;
        if passed {
            if !out.is_empty() && !graph.dependents(i).is_empty() {
                exported.insert(i, out);
            }
            let now = ctx.epoch.elapsed().as_millis() as u64;
            for &d in graph.dependents(i) {
                waiting[d] -= 1;
                if waiting[d] == 0 && !done[d] {
                    ready.insert(d, now);
                }
            }
        } else {
            skip_dependents(&plan, &graph, i, &mut done, &mut ready, &mut |d, r| report(d, r, &mut on_done));
        }
    }
    // Anything never reached (a cycle, which validation refuses, or a task that panicked).
    for (i, finished) in done.into_iter().enumerate() {
        if !finished {
            let why = Failure::new(FailureKind::Internal, "skipped: never became ready to run");
            report(i, not_run(&plan, i, Outcome::Skipped, why), &mut on_done);
        }
    }
}

/// Skip everything downstream of scenario `i`, which did not pass, naming it as the cause.
fn skip_dependents(
    plan: &Plan,
    graph: &crate::plan::graph::Graph,
    i: usize,
    done: &mut [bool],
    ready: &mut Ready,
    on_done: &mut dyn FnMut(usize, ScenarioResult),
) {
    let mut stack: Vec<(usize, usize)> = graph.dependents(i).iter().map(|&d| (d, i)).collect();
    while let Some((d, cause)) = stack.pop() {
        if done[d] {
            continue;
        }
        done[d] = true;
        ready.remove(d);
        let why = Failure::new(
            FailureKind::Dependency,
            format!("skipped: dependency {} did not pass", plan.scenarios.id(cause)),
        );
        on_done(d, not_run(plan, d, Outcome::Skipped, why));
        stack.extend(graph.dependents(d).iter().map(|&e| (e, d)));
    }
}

/// Why a scenario's task ended without a result: the panic's message, or the cancellation.
fn failed_task(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => panic_text(payload.as_ref()),
        Err(e) => e.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_that_panics_is_told_by_its_id_with_its_message() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let mut set: JoinSet<()> = JoinSet::new();
            let id = set.spawn(async { panic!("boom at step 2") }).id();
            let Some(Err(e)) = set.join_next_with_id().await else { panic!("the task must fail") };
            assert_eq!(e.id(), id);
            assert_eq!(failed_task(e), "boom at step 2");
            let formatted = set.spawn(async { panic!("{} failed", "x") }).id();
            let Some(Err(e)) = set.join_next_with_id().await else { panic!("the task must fail") };
            assert_eq!((e.id(), failed_task(e)), (formatted, "x failed".to_string()));
        });
    }
}
