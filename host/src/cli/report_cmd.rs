//! `smoke report merge`: one report from the shards of a plan (see `report::merge`).

use super::options::{MergeArgs, ReportCommand};
use super::run_cmd::{write_json, write_with};
use super::{Failure, exit};
use crate::report;
use crate::run::results::RunReport;

pub(super) fn run(command: ReportCommand) -> Result<i32, Failure> {
    match command {
        ReportCommand::Merge(args) => merge(&args),
    }
}

fn merge(args: &MergeArgs) -> Result<i32, Failure> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::new(exit::USAGE, format!("report merge: cannot read {shown}: {e}")))?;
        let report: RunReport = serde_json::from_str(&text).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!(
                    "report merge: {shown}:{}:{}: not a smoke JSON report (--report-json) of schema version 2: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        if report.schema_version != 2 {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "report merge: {shown} has schema version {}; this smoke reads 2",
                    report.schema_version
                ),
            ));
        }
        reports.push((shown, report));
    }
    let merged =
        report::merge::merge(reports).map_err(|e| Failure::new(exit::USAGE, format!("report merge: {e}")))?;
    if let Some(path) = &args.files.report_json {
        write_json(&merged, path, true)?;
    }
    if let Some(path) = &args.files.report_junit {
        write_with(path, "JUnit", |out| report::junit::write_junit(&merged, out))?;
    }
    if let Some(path) = &args.files.report_html {
        write_with(path, "HTML", |out| report::html::write_html(&merged, out))?;
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
        crate::say!("a shard's {} failed: {}", stage.stage, stage.message);
    }
    crate::say!("{} ({} reports merged)", merged.summary.line(), args.reports.len());
    let passed =
        merged.summary.all_passed() && merged.stage_failure.is_none() && merged.interrupted.is_none();
    Ok(if passed { exit::PASSED } else { exit::FAILED })
}
