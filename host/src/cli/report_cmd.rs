//! `smoke report merge`: one report from the shards of a plan (see `report::merge`);
//! `smoke report github`: a report as GitHub Actions shows one (see `report::github`).

use super::options::{GithubArgs, MergeArgs, ReportCommand};
use super::run_cmd::{write_json, write_with};
use super::{Failure, exit};
use crate::report;

pub(super) fn run(command: ReportCommand) -> Result<i32, Failure> {
    match command {
        ReportCommand::Merge(args) => merge(&args),
        ReportCommand::Github(args) => github(&args),
    }
}

fn github(args: &GithubArgs) -> Result<i32, Failure> {
    use std::io::Write as _;
    let report = report::merge::merge_files(&[args.report.as_path()])
        .map_err(|e| Failure::new(exit::USAGE, format!("report github: {e}")))?;
    if let Some(path) = &args.summary {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut file| file.write_all(report::github::summary(&report).as_bytes()));
        written.map_err(|e| {
            Failure::new(exit::USAGE, format!("report github: cannot append to {}: {e}", path.display()))
        })?;
    }
    // Workflow commands are meant here: written as they are, not through the console's filter.
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(report::github::annotations(&report).as_bytes());
    let _ = out.flush();
    Ok(if report::github::passed(&report) { exit::PASSED } else { exit::FAILED })
}

fn merge(args: &MergeArgs) -> Result<i32, Failure> {
    let paths: Vec<&std::path::Path> = args.reports.iter().map(|p| p.as_path()).collect();
    let merged = report::merge::merge_files(&paths)
        .map_err(|e| Failure::new(exit::USAGE, format!("report merge: {e}")))?;
    if let Some(path) = &args.files.report_json {
        write_json(&merged, path, true)?;
    }
    if let Some(path) = &args.files.report_junit {
        write_with(path, "JUnit", |mut out| report::junit::write_junit(&merged, &mut out))?;
    }
    if let Some(path) = &args.files.report_html {
        write_with(path, "HTML", |mut out| report::html::write_html(&merged, &mut out))?;
    }
    if let Some(peak) = super::run_cmd::peak_memory_mib() {
        tracing::info!("memory: peak {peak} MiB");
    }
    let failures = report::console::failures(&merged);
    if !failures.is_empty() {
        crate::say!("{failures}");
    }
    let triage = report::console::triage(&merged.triage);
    if !triage.is_empty() {
        crate::say!("{triage}");
    }
    if let Some(stage) = &merged.stage_failure {
        let (stage, message) =
            (crate::http::escape_line(&stage.stage), crate::http::escape_line(&stage.message));
        crate::say!("a shard's {stage} failed: {message}");
    }
    crate::say!("{} ({} reports merged)", merged.summary.line(), args.reports.len());
    Ok(if report::github::passed(&merged) { exit::PASSED } else { exit::FAILED })
}
