//! `smoke report merge`: the JSON reports of the shards of one plan, as one report, so that a CI
//! fan-out ends in the same report.json, JUnit and HTML (and the same triage) as a single run.
//! Shards of different plans, a shard given twice, a missing shard and a shard holding other
//! scenarios than its split gave it are refused: a merged report that silently lacks a part, or
//! holds a part that was never planned, would pass what never ran.

use super::read;
use crate::run::results::{Outcome, RunReport, ScenarioResult, SeedResult, Unread};
use crate::run::spool::Spool;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Why reports do not merge into one.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("no report to merge")]
    Nothing,
    #[error(transparent)]
    Read(#[from] read::ReadError),
    #[error("{file} has schema version {version}; this smoke reads 2")]
    Schema { file: String, version: u32 },
    #[error("{file} is a whole run, not a shard (--shard I/N): there is nothing to merge it with")]
    Whole { file: String },
    #[error("{file} is shard {i}/{n}, but {first} is one of {count} shards: merge the shards of one split")]
    Count { file: String, i: usize, n: usize, first: String, count: usize },
    #[error("{file} and {other} are both shard {i}/{n}")]
    Twice { file: String, other: String, i: usize, n: usize },
    #[error(
        "{file} records no {what} (a report of an older smoke, or of a run that ended before it had a \
         plan); run the shards again with this smoke"
    )]
    Unrecorded { file: String, what: &'static str },
    #[error(
        "{file} is of another plan than {first} ({digest} and {first_digest}): merge the shards of one \
         plan, made with the same plugins, config and --filter"
    )]
    OtherPlan { file: String, first: String, digest: String, first_digest: String },
    #[error(
        "shard {0} missing: every shard's report is needed, or the merged report would pass what never ran"
    )]
    Missing(String),
    #[error(
        "{file} was split by {by}, {first} by {first_by}: shards split differently hold different parts, \
         so some scenarios would be in no shard; give every shard the same --shard-durations report (or none)"
    )]
    OtherSplit { file: String, by: String, first: String, first_by: String },
    #[error("scenario {id} is in {file} twice, or in {file} and another shard")]
    Duplicate { id: String, file: String },
    #[error(
        "{file} (shard {shard}) holds other scenarios than its split gave it ({held} of them, in this \
         order, are not the ones planned): a scenario renamed, added or left out since the run; merge the \
         reports as the runs wrote them"
    )]
    NotItsPart { file: String, shard: String, held: usize },
    #[error(
        "the shards hold {held} of the plan's {planned} scenarios: {} are in no shard (a shard's report is \
         not of the run it names, or the plan changed between shards)",
        .planned.abs_diff(*.held)
    )]
    Incomplete { held: usize, planned: usize },
}

/// Merge `reports` (each with the file it came from, for messages), held in memory.
pub fn merge(reports: Vec<(String, RunReport)>) -> Result<RunReport<Spool>, MergeError> {
    let mut parts = Vec::new();
    let mut scenarios = Vec::new();
    for (file, report) in reports {
        let (head, held) = report.with_scenarios(Unread);
        parts.push((file, head));
        scenarios.push(held);
    }
    merge_parts(parts, |part, each| Ok(scenarios[part].drain(..).try_for_each(each)))
}

/// Merge the JSON reports in `paths`, read twice and never held whole: once for what each is
/// (which shard of which plan), once for its scenarios, one at a time, in shard order, into a
/// spool, as a run keeps its own. Shards of any size merge in about the memory of a run.
pub fn merge_files(paths: &[&Path]) -> Result<RunReport<Spool>, MergeError> {
    let mut parts = Vec::new();
    for path in paths {
        let file = path.display().to_string();
        let head: RunReport<Unread> = read::whole(path)?;
        if head.schema_version != 2 {
            return Err(MergeError::Schema { file, version: head.schema_version });
        }
        parts.push((file, head));
    }
    merge_parts(parts, |part, each| read::each_scenario(paths[part], each))
}

/// Hands every scenario of part `i` to `each`, in its order, stopping at `each`'s first error.
type Scenarios<'a> = dyn FnMut(ScenarioResult) -> Result<(), MergeError> + 'a;

/// Merge the parts whose heads are `parts`; `scenarios(i, each)` hands every scenario of part `i`
/// to `each`, in its order, stopping at the first error.
fn merge_parts(
    parts: Vec<(String, RunReport<Unread>)>,
    mut scenarios: impl FnMut(usize, &mut Scenarios<'_>) -> Result<Result<(), MergeError>, read::ReadError>,
) -> Result<RunReport<Spool>, MergeError> {
    let Some((_, first)) = parts.first() else {
        return Err(MergeError::Nothing);
    };
    // One whole run (or the only shard of one) is already whole.
    if parts.len() == 1 && shard_of(first).is_none_or(|(_, n)| n == 1) {
        let (_, only) = parts.into_iter().next().expect("one report");
        let mut spool = Spool::default();
        scenarios(0, &mut |s| {
            spool.append(&s);
            Ok(())
        })??;
        return Ok(finish(only.with_scenarios(spool).0, Some(1)));
    }
    let count = check_parts(&parts)?;
    let gathered = gather(parts, &mut scenarios)?;
    let mut merged = gathered.head;
    // Every scenario of the plan in exactly one shard: none twice (as read), none missing.
    if let Some(split) = &merged.split
        && gathered.held != split.scenarios
    {
        return Err(MergeError::Incomplete { held: gathered.held, planned: split.scenarios });
    }
    merged.seeds = gathered.seeds;
    Ok(finish(merged.with_scenarios(gathered.spool).0, Some(count)))
}

/// `I/N` of a report, if it is a shard's.
fn shard_of(r: &RunReport<Unread>) -> Option<(usize, usize)> {
    r.shard.as_deref().and_then(|s| crate::plan::parse_shard(s).ok())
}

/// The rules parts must keep to make one plan, before a scenario is read: each a shard of the
/// same number, each shard once and none missing, one plan, one split. The number of shards.
fn check_parts(parts: &[(String, RunReport<Unread>)]) -> Result<usize, MergeError> {
    let (first_file, first) = &parts[0];
    let mut shards: BTreeMap<usize, &str> = BTreeMap::new();
    let mut count = None;
    for (file, r) in parts {
        let Some((i, n)) = shard_of(r) else {
            return Err(MergeError::Whole { file: file.clone() });
        };
        match count {
            Some(c) if c != n => {
                let first = first_file.clone();
                return Err(MergeError::Count { file: file.clone(), i, n, first, count: c });
            }
            _ => count = Some(n),
        }
        if let Some(other) = shards.insert(i, file) {
            return Err(MergeError::Twice { file: file.clone(), other: other.to_string(), i, n });
        }
        let recorded = |value: &Option<String>| value.as_deref().is_some_and(|d| !d.is_empty());
        if !recorded(&r.plan_digest) {
            return Err(MergeError::Unrecorded { file: file.clone(), what: "plan digest" });
        }
        if r.plan_digest != first.plan_digest {
            return Err(MergeError::OtherPlan {
                file: file.clone(),
                first: first_file.clone(),
                digest: short(r.plan_digest.as_deref().unwrap_or_default()).to_string(),
                first_digest: short(first.plan_digest.as_deref().unwrap_or_default()).to_string(),
            });
        }
        if r.split != first.split {
            let by = |r: &RunReport<Unread>| {
                r.split.as_ref().map_or("an unrecorded split".to_string(), |s| s.by.clone())
            };
            return Err(MergeError::OtherSplit {
                file: file.clone(),
                by: by(r),
                first: first_file.clone(),
                first_by: by(first),
            });
        }
    }
    let count = count.expect("at least one report");
    let missing: Vec<String> =
        (1..=count).filter(|i| !shards.contains_key(i)).map(|i| format!("{i}/{count}")).collect();
    if !missing.is_empty() {
        return Err(MergeError::Missing(missing.join(", ")));
    }
    Ok(count)
}

/// What the shards hold together: their scenarios in shard order, one head, their seeds.
struct Gathered {
    spool: Spool,
    head: RunReport<Unread>,
    seeds: Vec<SeedResult>,
    /// The plan's scenarios read (post-run checks aside).
    held: usize,
}

/// Read every shard's scenarios, in shard order whatever order the files came in: each id once
/// across shards, each shard's ids exactly the ones its split gave it.
fn gather(
    parts: Vec<(String, RunReport<Unread>)>,
    scenarios: &mut impl FnMut(usize, &mut Scenarios<'_>) -> Result<Result<(), MergeError>, read::ReadError>,
) -> Result<Gathered, MergeError> {
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by_key(|&p| shard_of(&parts[p].1).map(|(i, _)| i));
    let mut parts: Vec<Option<(String, RunReport<Unread>)>> = parts.into_iter().map(Some).collect();
    let mut seen: HashSet<Box<str>> = HashSet::new();
    let mut spool = Spool::default();
    let mut merged: Option<RunReport<Unread>> = None;
    let mut seeds: Vec<SeedResult> = Vec::new();
    for p in order {
        let (file, mut r) = parts[p].take().expect("each part once");
        let shard = r.shard.clone().unwrap_or_default();
        let mut ids = Vec::new();
        scenarios(p, &mut |mut s| {
            // Post-run checks are the run's own, one per shard: named by the shard they ran in.
            if s.plugin == "smoke" {
                s.id = format!("{} (shard {shard})", s.id);
            } else if !seen.insert(s.id.as_str().into()) {
                return Err(MergeError::Duplicate { id: s.id.clone(), file: file.clone() });
            } else {
                ids.push(s.id.clone());
            }
            spool.append(&s);
            Ok(())
        })??;
        match &r.shard_ids {
            None => return Err(MergeError::Unrecorded { file, what: "digest of its scenarios' ids" }),
            Some(d) if *d != crate::plan::ids_digest(ids.iter().map(String::as_str)) => {
                return Err(MergeError::NotItsPart { file, shard, held: ids.len() });
            }
            Some(_) => {}
        }
        keep_seeds(&mut seeds, std::mem::take(&mut r.seeds));
        match &mut merged {
            None => merged = Some(r),
            Some(m) => {
                // The shards ran at once: the merged run took as long as the longest.
                m.duration_ms = m.duration_ms.max(r.duration_ms);
                m.interrupted = m.interrupted.take().or(r.interrupted);
                m.stage_failure = m.stage_failure.take().or(r.stage_failure);
                m.mcp = m.mcp.take().or(r.mcp);
                m.not_tested.append(&mut r.not_tested);
            }
        }
    }
    let head = merged.expect("at least one report");
    Ok(Gathered { spool, head, seeds, held: seen.len() })
}

/// Every shard seeds the service: a seed counts as failed if it failed anywhere.
fn keep_seeds(seeds: &mut Vec<SeedResult>, more: Vec<SeedResult>) {
    for seed in more {
        match seeds.iter_mut().find(|s| s.id == seed.id && s.plugin == seed.plugin) {
            Some(kept) if kept.step.outcome == Outcome::Passed && seed.step.outcome != Outcome::Passed => {
                *kept = seed
            }
            Some(_) => {}
            None => seeds.push(seed),
        }
    }
}

/// The summary and the triage worked out from the scenarios, as a single run does.
fn finish(mut report: RunReport<Spool>, shards: Option<usize>) -> RunReport<Spool> {
    report.summary = report.scenarios.summary();
    if shards.is_some() {
        // The merged report is of the whole plan, as a single run's is.
        report.shard = None;
        report.plan_digest = None;
        report.split = None;
        report.shard_ids = None;
    }
    report.triage = crate::report::triage::triage(&report);
    // A kind one shard did not test may have been tested by another.
    report.not_tested =
        crate::report::ledger::settle(std::mem::take(&mut report.not_tested), &report.scenarios);
    report
}

fn short(digest: &str) -> &str {
    // At a character boundary: a report's digest is text from a file.
    digest.char_indices().nth(19).map_or(digest, |(at, _)| &digest[..at])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{Scenario, ScenarioKind};
    use crate::run::results::ScenarioResult;
    use crate::run::results::Summary;

    fn shard(i: usize, n: usize, digest: &str, ids: &[&str]) -> (String, RunReport) {
        let scenarios: Vec<ScenarioResult> = ids
            .iter()
            .map(|id| ScenarioResult::new(&Scenario::bare(id, "p", "GET /", ScenarioKind::HappyPath)))
            .collect();
        let report = RunReport {
            schema_version: 2,
            smoke_version: "0".into(),
            base_url: "http://h/".into(),
            mcp: None,
            plugins: vec![],
            plan_digest: Some(digest.into()),
            shard: Some(format!("{i}/{n}")),
            split: None,
            shard_ids: Some(crate::plan::ids_digest(ids.iter().copied())),
            summary: Summary::of(&scenarios),
            interrupted: None,
            duration_ms: 10 * i as u64,
            seeds: vec![],
            scenarios,
            stage_failure: None,
            triage: vec![],
            not_tested: Vec::new(),
        };
        (format!("shard-{i}.json"), report)
    }

    #[test]
    fn the_shards_of_one_plan_merge_in_shard_order() {
        let merged =
            merge(vec![shard(2, 2, "sha256:a", &["c"]), shard(1, 2, "sha256:a", &["a", "b"])]).unwrap();
        let ids: Vec<&str> = (0..merged.scenarios.len()).map(|i| merged.scenarios.id(i)).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!(merged.summary.passed, 3);
        assert_eq!((merged.shard, merged.duration_ms), (None, 20));
    }

    fn split(mut part: (String, RunReport), scenarios: usize, by: &str) -> (String, RunReport) {
        part.1.split = Some(crate::plan::Split { scenarios, by: by.into() });
        part
    }

    #[test]
    fn shards_of_different_splits_or_missing_a_scenario_are_refused() {
        // Split by different durations, two shards can each miss what the other took.
        let e = merge(vec![
            split(shard(1, 2, "sha256:a", &["a"]), 4, "durations sha256:1"),
            split(shard(2, 2, "sha256:a", &["b", "d"]), 4, "count"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("was split by count") && e.contains("same --shard-durations"), "{e}");
        let e = merge(vec![
            split(shard(1, 2, "sha256:a", &["a"]), 4, "count"),
            split(shard(2, 2, "sha256:a", &["b", "d"]), 4, "count"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("hold 3 of the plan's 4 scenarios"), "{e}");
        let whole = merge(vec![
            split(shard(1, 2, "sha256:a", &["a", "c"]), 4, "count"),
            split(shard(2, 2, "sha256:a", &["b", "d"]), 4, "count"),
        ])
        .unwrap();
        assert_eq!(whole.scenarios.len(), 4);
    }

    #[test]
    fn each_shards_post_run_check_is_kept_under_its_shard() {
        let check = |mut part: (String, RunReport)| {
            let mut r = part.1.scenarios[0].clone();
            r.id = "checks.clean-git".into();
            r.plugin = "smoke".into();
            r.outcome = Outcome::Failed;
            part.1.scenarios.push(r);
            part
        };
        let merged =
            merge(vec![check(shard(1, 2, "sha256:a", &["a"])), check(shard(2, 2, "sha256:a", &["b"]))])
                .unwrap();
        let ids: Vec<&str> = (0..merged.scenarios.len()).map(|i| merged.scenarios.id(i)).collect();
        assert_eq!(ids, ["a", "checks.clean-git (shard 1/2)", "b", "checks.clean-git (shard 2/2)"]);
        assert_eq!(merged.summary.failed, 2);
    }

    #[test]
    fn reports_merged_from_files_are_read_a_scenario_at_a_time_to_the_same_result() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, part: &(String, RunReport)| {
            let path = dir.path().join(name);
            std::fs::write(&path, serde_json::to_vec_pretty(&part.1).unwrap()).unwrap();
            path
        };
        let mut one = shard(1, 2, "sha256:a", &["a", "b"]);
        one.1.scenarios[1].outcome = Outcome::Failed;
        let two = shard(2, 2, "sha256:a", &["c"]);
        // Given in any order, merged in shard order, with what a merge in memory makes of them.
        let (p2, p1) = (write("two.json", &two), write("one.json", &one));
        let from_files = merge_files(&[p2.as_path(), p1.as_path()]).unwrap();
        let in_memory = merge(vec![two.clone(), one.clone()]).unwrap();
        let ids = |r: &RunReport<Spool>| {
            (0..r.scenarios.len()).map(|i| r.scenarios.id(i).to_string()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&from_files), ["a", "b", "c"]);
        assert_eq!(ids(&from_files), ids(&in_memory));
        assert_eq!((from_files.summary.passed, from_files.summary.failed), (2, 1));
        assert_eq!(from_files.scenarios.result(1).unwrap().outcome, Outcome::Failed);
        assert_eq!(from_files.triage.len(), in_memory.triage.len());
        // What is wrong with a file is said, naming it.
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, b"{\"schema_version\": 2, \"scenarios\": [oops]}").unwrap();
        let e = merge_files(&[p1.as_path(), bad.as_path()]).unwrap_err().to_string();
        assert!(e.contains("bad.json:1:") && e.contains("not a smoke JSON report"), "{e}");
        let mut newer = two.clone();
        newer.1.schema_version = 3;
        let newer = write("newer.json", &newer);
        let e = merge_files(&[p1.as_path(), newer.as_path()]).unwrap_err().to_string();
        assert!(e.contains("newer.json has schema version 3"), "{e}");
        // A report whose head reads but whose scenario does not is refused as it is reached.
        let mut odd = serde_json::to_value(&two.1).unwrap();
        odd["scenarios"][0]["outcome"] = "maybe".into();
        let odd_path = dir.path().join("odd.json");
        std::fs::write(&odd_path, serde_json::to_vec_pretty(&odd).unwrap()).unwrap();
        let e = merge_files(&[p1.as_path(), odd_path.as_path()]).unwrap_err().to_string();
        assert!(
            e.contains("odd.json:") && e.contains("not a smoke JSON report") && e.contains("maybe"),
            "{e}"
        );
        let e =
            merge_files(&[p1.as_path(), dir.path().join("absent.json").as_path()]).unwrap_err().to_string();
        assert!(e.contains("cannot read") && e.contains("absent.json"), "{e}");
        // A scenario in two shards stops the merge as it is read.
        let again = write("again.json", &shard(2, 2, "sha256:a", &["b"]));
        let e = merge_files(&[p1.as_path(), again.as_path()]).unwrap_err().to_string();
        assert!(e.contains("scenario b is in") && e.contains("again.json"), "{e}");
    }

    #[test]
    fn parts_that_do_not_make_one_plan_are_refused_saying_why() {
        let cases = [
            (vec![shard(1, 2, "sha256:a", &["a"]), shard(2, 2, "sha256:b", &["b"])], "another plan"),
            (vec![shard(1, 3, "sha256:a", &["a"]), shard(2, 3, "sha256:a", &["b"])], "shard 3/3 missing"),
            (vec![shard(1, 2, "sha256:a", &["a"]), shard(1, 2, "sha256:a", &["b"])], "both shard 1/2"),
            (vec![shard(1, 2, "sha256:a", &["a"]), shard(2, 3, "sha256:a", &["b"])], "one of 2 shards"),
            (vec![shard(1, 2, "sha256:a", &["a"]), shard(2, 2, "sha256:a", &["a"])], "scenario a is in"),
            (vec![shard(1, 2, "", &["a"]), shard(2, 2, "", &["b"])], "no plan digest"),
        ];
        for (reports, expected) in cases {
            let e = merge(reports).unwrap_err().to_string();
            assert!(e.contains(expected), "{expected}: {e}");
        }
        let e = merge(vec![shard(1, 2, "sha256:aaaaaaaaaaaaé", &["a"]), shard(2, 2, "sha256:b", &["b"])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("another plan"), "a digest cut at a character boundary: {e}");
        let e = merge(vec![shard(1, 2, "sha256:a", &["a", "a"]), shard(2, 2, "sha256:a", &["b"])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("scenario a is in shard-1.json twice"), "{e}");
        let e = merge(vec![shard(2, 3, "sha256:a", &["b"])]).unwrap_err().to_string();
        // A scenario renamed in a shard's report (to an id the plan never had) is not that shard's.
        let mut renamed = shard(2, 2, "sha256:a", &["b"]);
        renamed.1.scenarios[0].id = "forged".into();
        let e2 = merge(vec![shard(1, 2, "sha256:a", &["a"]), renamed]).unwrap_err().to_string();
        assert!(e2.contains("shard-2.json (shard 2/2) holds other scenarios than its split gave it"), "{e2}");
        assert!(e.contains("shard 1/3, 3/3 missing"), "one shard alone: {e}");
        let (_, mut whole) = shard(1, 1, "sha256:a", &["a"]);
        whole.shard = None;
        let e = merge(vec![("whole.json".into(), whole), shard(1, 2, "sha256:a", &["b"])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole.json is a whole run"), "{e}");
    }
}
