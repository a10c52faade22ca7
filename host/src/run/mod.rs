//! Step 6 of a run: execute scenarios. Steps in order, templates resolved, expectations checked
//! strictly, the plugin's `check` called where asked; scenarios as a dependency graph, up to
//! `jobs` at once, a failure skipping its dependents with the reason; results in plan order.

pub mod expect;
pub mod results;
pub mod template;

use crate::http::{Client, Redactor};
use crate::plan::model::{Plan, Scenario, Step, StepMode};
use crate::plugin::Plugin;
use crate::plugin::bindings::{method_to_wit, wit};
use results::{Outcome, ScenarioResult, StepResult, VerdictRecord};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
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
}

impl Context {
    /// `Some(status)` if the service under test has exited.
    pub fn service_exited(&self) -> Option<String> {
        self.service_exit.as_ref().and_then(|w| w.borrow().clone())
    }

    /// A plugin's config as `config.KEY` variables, visible to that plugin's steps only, so a
    /// plan can say `Bearer {{config.token}}` and never carry the secret itself.
    pub fn config_vars(&self, plugin: &str) -> impl Iterator<Item = (String, serde_json::Value)> + '_ {
        self.plugin_config
            .get(plugin)
            .into_iter()
            .flatten()
            .map(|p| (format!("config.{}", p.name), serde_json::Value::String(p.value.clone())))
    }
}

/// Run one step: build, send, judge, capture, and ask the plugin where the step says so.
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
    if !matches!(step.mode, StepMode::Once) {
        // Plan validation refuses these; this guard keeps a hand-built plan honest too.
        result.fail("poll and burst steps are not supported by this smoke version".into());
        return result;
    }
    if let Some(status) = ctx.service_exited() {
        result.fail(format!("the service under test exited ({status}); nothing was sent"));
        return result;
    }
    let outgoing = match ctx.client.build(&step.request, vars) {
        Ok(mut o) => {
            o.timeout = step.timeout_ms.map(|ms| std::time::Duration::from_millis(u64::from(ms)));
            o
        }
        Err(e) => {
            result.fail(format!("cannot build the request: {e}"));
            return result;
        }
    };
    result.request = Some(ctx.redactor.request(&outgoing));
    let incoming = match ctx.client.send(&outgoing).await {
        Ok(r) => r,
        Err(e) => {
            // A connection failure is explained by a dead service, if it died.
            let exited = match ctx.service_exit.clone() {
                Some(mut w) => {
                    tokio::time::timeout(std::time::Duration::from_millis(200), w.wait_for(Option::is_some))
                        .await
                        .ok()
                        .and_then(|r| r.ok().and_then(|s| s.clone()))
                }
                None => None,
            };
            match exited {
                Some(status) => {
                    result.fail(format!("the service under test exited ({status}) during this step: {e}"))
                }
                None => result.fail(e.to_string()),
            }
            result.duration_ms = started.elapsed().as_millis() as u64;
            return result;
        }
    };
    result.response = Some(ctx.redactor.response(&incoming));
    let mut failures = expect::judge(&step.expect, vars, &incoming);
    let mut step_vars = vars.clone();
    if failures.is_empty() {
        failures = expect::capture(&step.captures, &incoming, &mut step_vars);
    }
    if failures.is_empty()
        && let Some(argument) = &step.expect.check
    {
        let verdict =
            check(ctx, plugin, scenario_id, index, step, argument, &outgoing, &incoming, &step_vars).await;
        match verdict {
            Ok(v) => {
                if !v.pass {
                    failures.push(format!(
                        "plugin {plugin} judged it a failure: {}",
                        ctx.redactor.text(&v.reason)
                    ));
                }
                result.verdict = Some(VerdictRecord { pass: v.pass, reason: ctx.redactor.text(&v.reason) });
            }
            Err(e) => failures.push(e),
        }
    }
    for f in failures {
        result.fail(ctx.redactor.text(&f));
    }
    if result.outcome == Outcome::Passed {
        for c in &step.captures {
            if let Some(v) = step_vars.get(&c.name) {
                result.captured.insert(c.name.clone(), ctx.redactor.text(&template::value_text(v)));
            }
        }
        *vars = step_vars;
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
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
) -> Result<wit::Verdict, String> {
    let Some(plugin) = ctx.plugins.get(plugin_name).cloned() else {
        return Err(format!("the step asks plugin {plugin_name:?} to judge, but no such plugin is loaded"));
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
        .map_err(|e| format!("plugin {plugin_name}: check did not complete: {e}"))?
        .map_err(|e| e.to_string())
}

/// Run one scenario's steps in order, stopping at the first failing step.
async fn run_scenario(ctx: Arc<Context>, scenario: Arc<Scenario>, mut vars: Vars) -> (ScenarioResult, Vars) {
    let started = Instant::now();
    let mut result = ScenarioResult::new(&scenario);
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
    (result, exported)
}

/// Execute the plan's scenarios as a dependency graph. `globals` holds the seed captures;
/// `on_done` sees each result as it finishes (live console output); the returned results are in
/// plan order.
pub async fn execute(
    ctx: Arc<Context>,
    plan: &Plan,
    globals: Vars,
    jobs: usize,
    mut on_done: impl FnMut(&ScenarioResult),
) -> Vec<ScenarioResult> {
    let n = plan.scenarios.len();
    let index: BTreeMap<&str, usize> =
        plan.scenarios.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = vec![0; n];
    for (i, s) in plan.scenarios.iter().enumerate() {
        for d in &s.depends_on {
            if let Some(&j) = index.get(d.as_str()) {
                dependents[j].push(i);
                waiting[i] += 1;
            }
        }
    }
    let mut results: Vec<Option<ScenarioResult>> = (0..n).map(|_| None).collect();
    let mut exported: Vec<Option<Vars>> = vec![None; n];
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut running: JoinSet<(usize, ScenarioResult, Vars)> = JoinSet::new();
    let jobs = jobs.max(1);

    loop {
        while running.len() < jobs
            && let Some(i) = ready.pop_first()
        {
            let scenario = Arc::new(plan.scenarios[i].clone());
            let mut vars = globals.clone();
            vars.extend(ctx.config_vars(&scenario.plugin));
            for d in &scenario.depends_on {
                if let Some(Some(v)) = index.get(d.as_str()).map(|&j| &exported[j]) {
                    vars.extend(v.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            let ctx = ctx.clone();
            running.spawn(async move {
                let (result, out) = run_scenario(ctx, scenario, vars).await;
                (i, result, out)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (i, result, out) = match joined {
            Ok(done) => done,
            Err(e) => {
                // A panic in our own code: surface it rather than hang or hide it.
                tracing::error!("a scenario task failed: {e}");
                continue;
            }
        };
        on_done(&result);
        let passed = result.outcome == Outcome::Passed;
        let id = result.id.clone();
        results[i] = Some(result);
        exported[i] = Some(out);
        if passed {
            for &d in &dependents[i] {
                waiting[d] -= 1;
                if waiting[d] == 0 && results[d].is_none() {
                    ready.insert(d);
                }
            }
        } else {
            // Skip everything downstream, naming the root cause.
            let mut stack: Vec<(usize, String)> = dependents[i].iter().map(|&d| (d, id.clone())).collect();
            while let Some((d, cause)) = stack.pop() {
                if results[d].is_some() {
                    continue;
                }
                let skipped = ScenarioResult::skipped(&plan.scenarios[d], &cause);
                on_done(&skipped);
                let skipped_id = skipped.id.clone();
                results[d] = Some(skipped);
                stack.extend(dependents[d].iter().map(|&e| (e, skipped_id.clone())));
            }
        }
    }
    // Anything never reached (only possible with a cycle, which validation refuses) is skipped.
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                ScenarioResult::skipped(&plan.scenarios[i], "(unreachable: dependency cycle)")
            })
        })
        .collect()
}
