//! Step 5 of a run: create the plugins' seed records through the API, in dependency order,
//! capturing server-assigned values as variables for every scenario.

use crate::plan::model::Seed;
use crate::run::results::{Outcome, SeedResult};
use crate::run::template::Vars;
use crate::run::{Context, run_step};

/// A seed that could not be created: the run cannot mean anything without it.
#[derive(Debug)]
pub struct SeedFailure {
    pub results: Vec<SeedResult>,
}

impl SeedFailure {
    /// The failed seed (always the last result).
    pub fn failed(&self) -> &SeedResult {
        self.results.last().expect("a seed failure holds the failed seed")
    }
}

/// Seeds in an order where every seed comes after its dependencies; ties keep plan order.
/// Validation has already refused cycles and unknown ids (a cycle would leave them out here).
pub fn order(seeds: &[Seed]) -> Vec<&Seed> {
    let graph = crate::plan::graph::Graph::new(seeds.iter().map(|s| (s.id.as_str(), s.depends_on.iter())));
    graph.order().unwrap_or_default().into_iter().map(|i| &seeds[i]).collect()
}

/// Create every seed; returns the variables they captured.
pub async fn apply(ctx: &Context, seeds: &[Seed]) -> Result<(Vars, Vec<SeedResult>), SeedFailure> {
    // `smoke.run` first: seeds and scenarios see it.
    let mut vars = crate::run::template::run_vars();
    let mut results = Vec::with_capacity(seeds.len());
    for seed in order(seeds) {
        let mut local = vars.clone();
        local.extend(ctx.config_vars(&seed.plugin));
        let step = run_step(ctx, &seed.plugin, &format!("seed {}", seed.id), 0, &seed.step, &mut local).await;
        let failed = step.outcome == Outcome::Failed;
        for c in &seed.step.captures {
            if let Some(v) = local.remove(&c.name) {
                vars.insert(c.name.clone(), v);
            }
        }
        results.push(SeedResult { id: seed.id.clone(), plugin: seed.plugin.clone(), step });
        if failed {
            return Err(SeedFailure { results });
        }
    }
    Ok((vars, results))
}
