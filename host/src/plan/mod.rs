//! Step 3 of a run: the plan. Merge what each plugin planned, validate it, print it.
//!
//! The printed plan is a pure function of the plugins and their inputs: no time, no paths.

pub mod coverage;
pub mod exact;
pub mod graph;
pub mod model;
pub mod validate;

use graph::Graph;
use model::{Part, Plan, PluginRef};

/// Merge plugins' plans in the order the plugins were given.
pub fn merge(parts: Vec<(PluginRef, Part)>) -> Plan {
    let mut plan = Plan::default();
    for (plugin, part) in parts {
        plan.plugins.push(plugin);
        plan.seeds.extend(part.seeds);
        plan.scenarios.extend(part.scenarios);
        plan.surface.extend(part.surface);
    }
    plan
}

/// The plan as pretty JSON with a trailing newline; byte-identical for the same plan.
pub fn to_json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("the plan model always serializes");
    text.push('\n');
    text
}

/// Whether a scenario matches a `--filter` pattern: `tag:NAME`, `kind:KIND` (e.g.
/// `kind:happy-path`), or a glob (`*`, `?`) on the id.
fn matches(s: &model::Scenario, pattern: &str) -> bool {
    if let Some(tag) = pattern.strip_prefix("tag:") {
        let glob = wildmatch::WildMatch::new(tag);
        s.tags.iter().any(|t| glob.matches(t))
    } else if let Some(kind) = pattern.strip_prefix("kind:") {
        s.kind.as_str() == kind
    } else {
        wildmatch::WildMatch::new(pattern).matches(&s.id)
    }
}

/// Keep the scenarios matching any of `patterns` and, transitively, the scenarios they depend
/// on (marked `dependency_only`), in plan order.
pub fn select(plan: Plan, patterns: &[String]) -> Plan {
    select_by(plan, |s| patterns.iter().any(|p| matches(s, p)))
}

/// The dependency graph of a plan's scenarios.
pub fn scenario_graph(plan: &Plan) -> Graph {
    Graph::new(plan.scenarios.iter().map(|s| (s.id.as_str(), s.depends_on.iter())))
}

/// Keep the scenarios `chosen` picks and, transitively, what they depend on (marked
/// `dependency_only`), in plan order. Linear in the plan's size.
pub fn select_by(mut plan: Plan, chosen: impl Fn(&model::Scenario) -> bool) -> Plan {
    let picked: Vec<bool> = plan.scenarios.iter().map(&chosen).collect();
    let keep = scenario_graph(&plan).with_dependencies((0..picked.len()).filter(|&i| picked[i]));
    let mut i = 0;
    plan.scenarios.retain_mut(|s| {
        let kept = keep[i];
        s.dependency_only = !picked[i];
        i += 1;
        kept
    });
    plan
}

/// Part `index` (1-based) of `count`: scenarios connected by dependencies stay together, groups
/// go to the currently smallest shard, largest group first. Deterministic, so `count` CI jobs
/// with `--shard 1/N` .. `N/N` run each scenario exactly once.
pub fn shard(mut plan: Plan, index: usize, count: usize) -> Plan {
    use std::cmp::Reverse;
    let mut groups = scenario_graph(&plan).groups();
    groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a[0].cmp(&b[0])));
    // Shards by (load, number), smallest first; only shards that receive a group are touched.
    let mut loads: std::collections::BinaryHeap<Reverse<(usize, usize)>> =
        (0..count.min(groups.len().max(1))).map(|k| Reverse((0, k))).collect();
    let mut owner = vec![0usize; plan.scenarios.len()];
    for group in groups {
        let Some(Reverse((load, k))) = loads.pop() else { break };
        for &i in &group {
            owner[i] = k;
        }
        loads.push(Reverse((load + group.len(), k)));
    }
    let mut i = 0;
    plan.scenarios.retain(|_| {
        let keep = owner[i] + 1 == index;
        i += 1;
        keep
    });
    plan
}

/// The most shards `--shard` accepts: far more CI jobs than anyone runs.
pub const MAX_SHARDS: usize = 10_000;

/// A `--shard` that is not `I/N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("--shard {0:?}: at most {MAX_SHARDS} shards; use as many as there are CI jobs")]
    TooMany(String),
    #[error("--shard {0:?}: expected I/N with 1 <= I <= N, e.g. 2/3")]
    Malformed(String),
}

/// Parse `I/N` for `--shard`.
pub fn parse_shard(text: &str) -> Result<(usize, usize), ShardError> {
    let parsed =
        text.split_once('/').and_then(|(i, n)| Some((i.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((_, n)) if n > MAX_SHARDS => Err(ShardError::TooMany(text.to_string())),
        Some((i, n)) if n >= 1 && (1..=n).contains(&i) => Ok((i, n)),
        _ => Err(ShardError::Malformed(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Scenario, ScenarioKind};

    fn scenario(id: &str, deps: &[&str], tags: &[&str], kind: ScenarioKind) -> Scenario {
        Scenario {
            id: id.into(),
            plugin: "p".into(),
            endpoint: "GET /".into(),
            kind,
            description: String::new(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            steps: vec![],
            dependency_only: false,
        }
    }

    fn plan(scenarios: Vec<Scenario>) -> Plan {
        Plan { scenarios, ..Plan::default() }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.scenarios.iter().map(|s| s.id.as_str()).collect()
    }

    fn sample() -> Plan {
        use ScenarioKind::*;
        plan(vec![
            scenario("a", &[], &[], HappyPath),
            scenario("b", &["a"], &["slow"], Workflow),
            scenario("c", &["a"], &[], NotFound),
            scenario("d", &["b", "c"], &[], Workflow),
            scenario("e", &[], &["slow"], HappyPath),
            scenario("f", &[], &[], NotFound),
            scenario("g", &["f"], &[], HappyPath),
        ])
    }

    #[test]
    fn selection_by_glob_tag_and_kind_pulls_in_dependencies_marked_as_such() {
        let p = select(sample(), &["d".into()]);
        assert_eq!(ids(&p), ["a", "b", "c", "d"]);
        assert!(p.scenarios[0].dependency_only && !p.scenarios[3].dependency_only);
        assert_eq!(ids(&select(sample(), &["tag:slow".into()])), ["a", "b", "e"]);
        assert_eq!(ids(&select(sample(), &["kind:not-found".into()])), ["a", "c", "f"]);
    }

    #[test]
    fn shards_partition_the_plan_and_keep_dependency_chains_whole() {
        let mut seen = Vec::new();
        for i in 1..=3 {
            let part = shard(sample(), i, 3);
            for s in &part.scenarios {
                for d in &s.depends_on {
                    assert!(
                        part.scenarios.iter().any(|x| &x.id == d),
                        "shard {i} lacks {d}, a dependency of {}",
                        s.id
                    );
                }
            }
            seen.extend(part.scenarios.into_iter().map(|s| s.id));
        }
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(ids(&shard(sample(), 1, 3)), ["a", "b", "c", "d"]);
    }

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!(parse_shard("2/3"), Ok((2, 3)));
        assert!(parse_shard("0/3").is_err());
        assert!(parse_shard("4/3").is_err());
        assert!(parse_shard("x").is_err());
        assert!(parse_shard("1/99999999999999").unwrap_err().to_string().contains("at most"));
        assert!(parse_shard("1/99999999999999999999999").is_err());
    }
}
