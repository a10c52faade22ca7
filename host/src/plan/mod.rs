//! Step 3 of a run: the plan. Merge what each plugin planned, validate it, print it.
//!
//! The printed plan is a pure function of the plugins and their inputs: no time, no paths.

pub mod coverage;
pub mod exact;
pub mod graph;
pub mod model;
pub mod protocol;
pub mod spill;
pub mod store;
pub mod validate;

use graph::Graph;
use model::{Endpoint, Part, PluginRef, Seed};
use std::collections::BTreeMap;
use store::Scenarios;

/// The merged plan of every plugin in a run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(default)]
    pub plugins: Vec<PluginRef>,
    #[serde(default)]
    pub seeds: Vec<Seed>,
    /// In plan order; of any number (see [`store`]).
    pub scenarios: store::Scenarios,
    #[serde(default)]
    pub surface: Vec<Endpoint>,
    /// The sha256 of the plan as selected (`--filter`, `--rerun-failed`) before `--shard` took
    /// its part: equal in every shard of one plan, so `smoke report merge` can tell shards of
    /// different plans apart. Not part of the printed plan.
    #[serde(skip)]
    pub digest: String,
    /// Set on a shard's plan: how the whole was split. Not part of the printed plan.
    #[serde(skip)]
    pub split: Option<Split>,
    /// Set on a shard's plan: the sha256 of its scenarios' ids, in order
    /// ([`ids_digest`]). Not part of the printed plan.
    #[serde(skip)]
    pub shard_ids: Option<String>,
}

/// Merge plugins' plans in the order the plugins were given.
pub fn merge(parts: Vec<(PluginRef, Part)>) -> Plan {
    let mut plan = Plan::default();
    for (plugin, part) in parts {
        plan.plugins.push(plugin);
        plan.seeds.extend(part.seeds);
        for s in part.scenarios {
            plan.scenarios.push(s);
        }
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

/// [`to_json`], streamed into `out`.
pub fn write_json(plan: &Plan, out: &mut impl std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, plan)?;
    out.write_all(b"\n")
}

/// Whether scenario `i` matches a `--filter` pattern: `tag:NAME`, `kind:KIND` (e.g.
/// `kind:happy-path`), or a glob (`*`, `?`) on the id.
fn matches(scenarios: &Scenarios, i: usize, pattern: &str) -> bool {
    if let Some(tag) = pattern.strip_prefix("tag:") {
        let glob = wildmatch::WildMatch::new(tag);
        scenarios.tags(i).iter().any(|t| glob.matches(t))
    } else if let Some(kind) = pattern.strip_prefix("kind:") {
        scenarios.kind(i).as_str() == kind
    } else {
        wildmatch::WildMatch::new(pattern).matches(scenarios.id(i))
    }
}

/// Keep the scenarios matching any of `patterns` and, transitively, the scenarios they depend
/// on (marked `dependency_only`), in plan order.
pub fn select(plan: Plan, patterns: &[String]) -> Plan {
    select_by(plan, |scenarios, i| patterns.iter().any(|p| matches(scenarios, i, p)))
}

/// The dependency graph of a plan's scenarios.
pub fn scenario_graph(plan: &Plan) -> Graph {
    let s = &plan.scenarios;
    Graph::new((0..s.len()).map(|i| (s.id(i), s.depends_on(i).iter())))
}

/// Keep the scenarios `chosen` picks (by position) and, transitively, what they depend on
/// (marked `dependency_only`), in plan order. Linear in the plan's size.
pub fn select_by(mut plan: Plan, chosen: impl Fn(&Scenarios, usize) -> bool) -> Plan {
    let picked: Vec<bool> = (0..plan.scenarios.len()).map(|i| chosen(&plan.scenarios, i)).collect();
    let keep = scenario_graph(&plan).with_dependencies((0..picked.len()).filter(|&i| picked[i]));
    for (i, &picked) in picked.iter().enumerate() {
        plan.scenarios.set_dependency_only(i, !picked);
    }
    plan.scenarios.retain(&keep);
    plan
}

/// Part `index` (1-based) of `count`: scenarios connected by dependencies stay together, groups
/// go to the currently smallest shard, largest group first. Deterministic, so `count` CI jobs
/// with `--shard 1/N` .. `N/N` run each scenario exactly once.
///
/// A group's size is its number of scenarios, or, given `durations` (scenario id to ms, from an
/// earlier report), the sum of its scenarios' durations, so that the parts take about the same
/// time; a scenario the report does not have counts as the median of those it has.
pub fn shard(mut plan: Plan, index: usize, count: usize, durations: Option<&BTreeMap<String, u64>>) -> Plan {
    use std::cmp::Reverse;
    let median = durations.map_or(1, |d| {
        let s = &plan.scenarios;
        let mut known: Vec<u64> = (0..s.len()).filter_map(|i| d.get(s.id(i)).copied()).collect();
        known.sort_unstable();
        known.get(known.len() / 2).copied().unwrap_or(1)
    });
    // Durations of 0 ms still count: a scenario is never free.
    let weight = |i: usize| -> u64 {
        durations.map_or(1, |d| d.get(plan.scenarios.id(i)).copied().unwrap_or(median)).max(1)
    };
    let mut groups: Vec<(u64, Vec<usize>)> = scenario_graph(&plan)
        .groups()
        .into_iter()
        .map(|g| (g.iter().fold(0u64, |w, &i| w.saturating_add(weight(i))), g))
        .collect();
    groups.sort_by(|(wa, a), (wb, b)| wb.cmp(wa).then(a[0].cmp(&b[0])));
    // Shards by (load, number), smallest first; only shards that receive a group are touched.
    let mut loads: std::collections::BinaryHeap<Reverse<(u64, usize)>> =
        (0..count.min(groups.len().max(1))).map(|k| Reverse((0, k))).collect();
    let mut owner = vec![0usize; plan.scenarios.len()];
    for (weight, group) in groups {
        let Some(Reverse((load, k))) = loads.pop() else { break };
        for &i in &group {
            owner[i] = k;
        }
        loads.push(Reverse((load.saturating_add(weight), k)));
    }
    let keep: Vec<bool> = owner.iter().map(|&k| k + 1 == index).collect();
    plan.scenarios.retain(&keep);
    plan
}

/// How a shard's plan was split: what every shard of one split has in common.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Split {
    /// Scenarios in the plan as selected, before the split.
    pub scenarios: usize,
    /// `count` (scenarios balanced by number) or the sha256 of the durations that weighed them
    /// (`--shard-durations`): shards split by different durations are parts of different splits.
    pub by: String,
}

/// The sha256 of scenario ids, in order (`sha256:HEX`): what a shard was given of the plan, so
/// that a merge can tell that a shard's report holds exactly that.
pub fn ids_digest<'a>(ids: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    for id in ids {
        hash.update(id.as_bytes());
        hash.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hash.finalize()))
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
        Plan { scenarios: scenarios.into(), ..Plan::default() }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        (0..p.scenarios.len()).map(|i| p.scenarios.id(i)).collect()
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
        assert!(p.scenarios.dependency_only(0) && !p.scenarios.dependency_only(3));
        assert!(p.scenarios.get(0).unwrap().dependency_only, "the scenario says so too");
        assert_eq!(ids(&select(sample(), &["tag:slow".into()])), ["a", "b", "e"]);
        assert_eq!(ids(&select(sample(), &["kind:not-found".into()])), ["a", "c", "f"]);
    }

    #[test]
    fn shards_weighed_by_earlier_durations_take_about_the_same_time() {
        use ScenarioKind::*;
        // Skewed: one chain of two slow scenarios, one slow loner, many quick ones.
        let mut scenarios = vec![
            scenario("slow-1", &[], &[], HappyPath),
            scenario("slow-2", &["slow-1"], &[], HappyPath),
            scenario("slow-3", &[], &[], HappyPath),
        ];
        let mut durations: BTreeMap<String, u64> =
            [("slow-1", 3000), ("slow-2", 3000), ("slow-3", 5000)].map(|(k, v)| (k.to_string(), v)).into();
        for i in 0..30 {
            scenarios.push(scenario(&format!("quick-{i:02}"), &[], &[], HappyPath));
            durations.insert(format!("quick-{i:02}"), 200);
        }
        // One the report does not have counts as the median (200).
        scenarios.push(scenario("new", &[], &[], HappyPath));
        let total =
            |p: &Plan| -> u64 { ids(p).iter().map(|id| durations.get(*id).copied().unwrap_or(200)).sum() };
        let mut seen = Vec::new();
        let mut times = Vec::new();
        for i in 1..=3 {
            let part = shard(plan(scenarios.clone()), i, 3, Some(&durations));
            assert_eq!(part, shard(plan(scenarios.clone()), i, 3, Some(&durations)), "deterministic");
            if ids(&part).contains(&"slow-2") {
                assert!(ids(&part).contains(&"slow-1"), "the chain stays whole");
            }
            times.push(total(&part));
            seen.extend(ids(&part).into_iter().map(String::from));
        }
        seen.sort();
        let before = seen.len();
        seen.dedup();
        assert_eq!((before, seen.len()), (34, 34), "every scenario exactly once");
        // Within a quarter of each other; counting scenarios alone is far off on this plan.
        let (max, min) = (*times.iter().max().unwrap(), *times.iter().min().unwrap());
        assert!(max * 100 <= min * 125, "{times:?}");
        let by_count: Vec<u64> =
            (1..=3).map(|i| total(&shard(plan(scenarios.clone()), i, 3, None))).collect();
        let (cmax, cmin) = (*by_count.iter().max().unwrap(), *by_count.iter().min().unwrap());
        assert!(cmax * 100 > cmin * 125, "counting alone is skewed here: {by_count:?}");
    }

    #[test]
    fn shards_partition_the_plan_and_keep_dependency_chains_whole() {
        let mut seen = Vec::new();
        for i in 1..=3 {
            let part = shard(sample(), i, 3, None);
            for k in 0..part.scenarios.len() {
                for d in part.scenarios.depends_on(k) {
                    assert!(
                        ids(&part).contains(&d.as_str()),
                        "shard {i} lacks {d}, a dependency of {}",
                        part.scenarios.id(k)
                    );
                }
            }
            seen.extend(ids(&part).into_iter().map(String::from));
        }
        seen.sort();
        assert_eq!(seen, ["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(ids(&shard(sample(), 1, 3, None)), ["a", "b", "c", "d"]);
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
