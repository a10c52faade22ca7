//! Step 6 of a run: execute scenarios. Steps in order, templates resolved, expectations checked
//! strictly, the plugin's `check` called where asked; scenarios as a dependency graph, up to
//! `jobs` at once, a failure skipping its dependents with the reason; results in plan order.

pub mod burst;
mod context;
pub mod expect;
pub mod request;
pub mod results;
mod step;
pub mod template;
mod tool;

pub use context::Context;
pub use step::{Label, run_step, send_failure_kind};

use crate::plan::model::Plan;
use results::{Failure, FailureKind, Outcome, ScenarioResult};
use std::sync::Arc;
use std::time::Instant;
use template::Vars;
use tokio::task::JoinSet;

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

    // Scenarios the plugin planned as skipped (`skip:REASON`) are reported so, never run; so is
    // what depends on them, which cannot run either (their reasons are not failures). All the
    // tagged ones first, so that the order of the plan does not change how one is reported.
    let planned: Vec<usize> = (0..n).filter(|&i| planned_skip(&plan.scenarios[i]).is_some()).collect();
    for &i in &planned {
        let reason = planned_skip(&plan.scenarios[i]).unwrap_or_default();
        ready.remove(&i);
        done[i] = true;
        let why = Failure::new(FailureKind::PlannedSkip, format!("skipped: {reason}"));
        on_done(i, ScenarioResult::not_run(&plan.scenarios[i], Outcome::Skipped, why));
    }
    for &i in &planned {
        let id = plan.scenarios[i].id.clone();
        let mut stack: Vec<usize> = graph.dependents(i).to_vec();
        while let Some(d) = stack.pop() {
            if done[d] {
                continue;
            }
            done[d] = true;
            ready.remove(&d);
            let why = Failure::new(
                FailureKind::PlannedSkip,
                format!("skipped: it depends on {id}, which was planned as skipped"),
            );
            on_done(d, ScenarioResult::not_run(&plan.scenarios[d], Outcome::Skipped, why));
            stack.extend(graph.dependents(d).iter().copied());
        }
    }

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
                let message = failed_task(e);
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
            skip_dependents(&plan, &graph, i, &mut done, &mut ready, &mut on_done);
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

/// The reason of a scenario planned as skipped: its tag `skip:REASON` (host feature `tag.skip`).
/// A tag `skip:` without a reason is no planned skip: the scenario runs.
pub fn planned_skip(scenario: &crate::plan::model::Scenario) -> Option<&str> {
    scenario.tags.iter().find_map(|t| t.strip_prefix("skip:")).map(str::trim).filter(|r| !r.is_empty())
}

/// Skip everything downstream of scenario `i`, which did not pass, naming it as the cause.
fn skip_dependents(
    plan: &Plan,
    graph: &crate::plan::graph::Graph,
    i: usize,
    done: &mut [bool],
    ready: &mut std::collections::BTreeSet<usize>,
    on_done: &mut impl FnMut(usize, ScenarioResult),
) {
    let id = plan.scenarios[i].id.clone();
    let mut stack: Vec<(usize, String)> = graph.dependents(i).iter().map(|&d| (d, id.clone())).collect();
    while let Some((d, cause)) = stack.pop() {
        if done[d] {
            continue;
        }
        done[d] = true;
        ready.remove(&d);
        let skipped_id = plan.scenarios[d].id.clone();
        on_done(d, ScenarioResult::skipped(&plan.scenarios[d], &cause));
        stack.extend(graph.dependents(d).iter().map(|&e| (e, skipped_id.clone())));
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
