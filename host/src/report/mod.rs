//! Step 7 of a run: reports, each a function from the results to bytes.

pub mod console;
pub mod github;
pub mod html;
pub mod junit;
pub mod ledger;
pub mod merge;
pub mod read;
pub mod triage;

use crate::run::results::RunReport;
use crate::run::spool::Spool;

/// Write the JSON report (the results model, in plan order).
pub fn write_json(
    report: &RunReport<Spool>,
    mut out: &mut dyn std::io::Write,
    pretty: bool,
) -> std::io::Result<()> {
    if pretty {
        // Pretty throughout: each scenario is read back and written through the serializer.
        report.scenarios.set_pretty(true);
        let written = serde_json::to_writer_pretty(&mut out, report);
        report.scenarios.set_pretty(false);
        written?;
    } else {
        write_compact(report, &mut out)?;
    }
    out.write_all(b"\n")
}

/// The fields of a report before its scenarios, and after them, as its derive writes them.
#[derive(serde::Serialize)]
struct Before<'a> {
    schema_version: u32,
    smoke_version: &'a str,
    base_url: &'a str,
    #[serde(skip_serializing_if = "none")]
    mcp: &'a Option<crate::mcp::ServerRecord>,
    plugins: &'a [crate::plan::model::PluginRef],
    #[serde(skip_serializing_if = "none")]
    plan_digest: &'a Option<String>,
    #[serde(skip_serializing_if = "none")]
    shard: &'a Option<String>,
    #[serde(skip_serializing_if = "none")]
    split: &'a Option<crate::plan::Split>,
    #[serde(skip_serializing_if = "none")]
    shard_ids: &'a Option<String>,
    summary: &'a crate::run::results::Summary,
    interrupted: &'a Option<String>,
    duration_ms: u64,
    seeds: &'a [crate::run::results::SeedResult],
}

#[derive(serde::Serialize)]
struct After<'a> {
    stage_failure: &'a Option<crate::run::results::StageFailure>,
    triage: &'a [crate::run::results::Finding],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    not_tested: &'a [crate::run::results::NotTested],
}

fn none<T>(value: &&Option<T>) -> bool {
    value.is_none()
}

/// The compact report with each scenario as the spool holds it (already JSON): the fields
/// before them, the scenarios, the fields after them; byte for byte what the derive writes
/// (a test holds it to that), without parsing every scenario again.
fn write_compact(report: &RunReport<Spool>, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let r = report;
    let before = serde_json::to_vec(&Before {
        schema_version: r.schema_version,
        smoke_version: &r.smoke_version,
        base_url: &r.base_url,
        mcp: &r.mcp,
        plugins: &r.plugins,
        plan_digest: &r.plan_digest,
        shard: &r.shard,
        split: &r.split,
        shard_ids: &r.shard_ids,
        summary: &r.summary,
        interrupted: &r.interrupted,
        duration_ms: r.duration_ms,
        seeds: &r.seeds,
    })?;
    let after = serde_json::to_vec(&After {
        stage_failure: &r.stage_failure,
        triage: &r.triage,
        not_tested: &r.not_tested,
    })?;
    // `{...}` and `{...}`: the first without its closing brace, the second without its opening.
    out.write_all(&before[..before.len() - 1])?;
    out.write_all(b",\"scenarios\":[")?;
    for i in 0..r.scenarios.len() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(&r.scenarios.raw(i).map_err(std::io::Error::other)?)?;
    }
    out.write_all(b"],")?;
    out.write_all(&after[1..])
}

/// The run directory: every file a run writes (service log, command output, reports) lives
/// here, so one path tells an operator where to look. It is this run's alone: one smoke makes is
/// new and private, and any is locked while the run lasts.
pub struct RunDir {
    pub path: std::path::PathBuf,
    _lock: crate::files::DirLock,
}

/// The run directory cannot be made, or is another run's.
#[derive(Debug, thiserror::Error)]
pub enum RunDirError {
    #[error("cannot create the run directory {}: {source}", .path.display())]
    Create { path: std::path::PathBuf, source: std::io::Error },
    #[error("--artifacts: {0}")]
    Locked(#[from] crate::files::LockError),
}

impl RunDir {
    /// `explicit` if given (made if missing), else a new directory under the user's state
    /// directory (never inside the checkout, so a run does not dirty it), pruning the automatic
    /// ones beyond the newest `keep` (0: keep all).
    pub fn create(explicit: Option<&std::path::Path>, keep: usize) -> Result<RunDir, RunDirError> {
        let path = match explicit {
            Some(p) => {
                std::fs::create_dir_all(p)
                    .map_err(|source| RunDirError::Create { path: p.to_path_buf(), source })?;
                p.to_path_buf()
            }
            None => {
                let runs = std::env::var_os("SMOKE_STATE_DIR")
                    .map(std::path::PathBuf::from)
                    .or_else(|| {
                        directories::ProjectDirs::from("", "", "smoke")
                            .map(|d| d.state_dir().unwrap_or(d.cache_dir()).to_path_buf())
                    })
                    .unwrap_or_else(|| std::env::temp_dir().join("smoke"))
                    .join("runs");
                let made = own_directory(&runs)?;
                if keep > 0 {
                    prune(&runs, keep);
                }
                made
            }
        };
        let lock = crate::files::lock_dir(&path)?;
        Ok(RunDir { path, _lock: lock })
    }

    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}

/// A new directory under `runs`, named for this moment and process, private to this user: made
/// here and now (one that already exists, planted or not, is never taken).
fn own_directory(runs: &std::path::Path) -> Result<std::path::PathBuf, RunDirError> {
    use std::os::unix::fs::DirBuilderExt;
    let create = |path: &std::path::Path, source| RunDirError::Create { path: path.to_path_buf(), source };
    std::fs::create_dir_all(runs).map_err(|e| create(runs, e))?;
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string().replace(':', "");
    let name = format!("{stamp}-{}", std::process::id());
    let mut last = None;
    for attempt in 0..16 {
        let path = match attempt {
            0 => runs.join(&name),
            n => runs.join(format!("{name}{n}")),
        };
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(create(&path, e)),
        }
    }
    let e = last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists));
    Err(create(&runs.join(name), e))
}

/// Whether a directory name is one `RunDir::create` made: `2026-11-22T023127Z-28255`.
fn is_run_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() > 19
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[10] == b'T'
        && name[17..].starts_with("Z-")
        && name[19..].bytes().all(|c| c.is_ascii_digit())
}

/// Remove the oldest automatic run directories beyond the newest `keep`. Only directories named
/// as runs are touched, and none changed in the last hour (another run may be writing there).
fn prune(runs: &std::path::Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(runs) else { return };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| is_run_name(n))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep);
    for name in names.into_iter().take(excess) {
        let dir = runs.join(&name);
        let recent = std::fs::metadata(&dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_none_or(|age| age < std::time::Duration::from_secs(3600));
        // A run still going holds its directory's lock, however long it runs.
        if recent || crate::files::lock_dir(&dir).is_err() {
            continue;
        }
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::info!("runs: removed the old run directory {}", dir.display()),
            Err(e) => tracing::warn!("runs: cannot remove {}: {e}", dir.display()),
        }
    }
}

#[cfg(test)]
mod json_tests {
    use crate::run::results::{
        Failure, FailureKind, Finding, Outcome, RunReport, ScenarioResult, StageFailure,
    };

    #[test]
    fn the_compact_report_is_byte_for_byte_what_the_derive_writes() {
        let mut failed = ScenarioResult::new(&crate::plan::model::Scenario::bare(
            "b",
            "p",
            "GET /x",
            crate::plan::model::ScenarioKind::NotFound,
        ));
        failed.outcome = Outcome::Failed;
        failed.failure = Some(Failure::new(FailureKind::Status, "status 200 \"quoted\" </script>"));
        let passed = ScenarioResult::new(&crate::plan::model::Scenario::bare(
            "a",
            "p",
            "GET /",
            crate::plan::model::ScenarioKind::HappyPath,
        ));
        for variant in 0..2 {
            let mut report = RunReport::of_scenarios(vec![passed.clone(), failed.clone()]);
            if variant == 1 {
                report.plan_digest = Some("sha256:00".into());
                report.shard = Some("1/2".into());
                report.split = Some(crate::plan::Split { scenarios: 4, by: "count".into() });
                report.interrupted = Some("SIGINT".into());
                report.stage_failure = Some(StageFailure { stage: "seeding".into(), message: "x".into() });
            }
            let mut report = report.into_spooled();
            report.triage = vec![Finding {
                rule: "same-status",
                summary: "s".into(),
                scenarios: vec!["b".into()],
                next_step: "n".into(),
            }];
            let mut spliced = Vec::new();
            super::write_compact(&report, &mut spliced).unwrap();
            assert_eq!(String::from_utf8(spliced).unwrap(), serde_json::to_string(&report).unwrap());
        }
    }
}

#[cfg(test)]
mod run_dir_tests {
    #[test]
    fn only_run_directory_names_are_recognised() {
        assert!(super::is_run_name("2026-11-22T023127Z-28255"));
        for other in
            ["notes", "2026-11-22", "2026-11-22T023127Z-", "2026-11-22T023127Z-12a", "x026-11-22T023127Z-1"]
        {
            assert!(!super::is_run_name(other), "{other}");
        }
    }
}
