//! After the run: checks on what the run left behind in the operator's environment.
//!
//! `clean-git`: the surrounding git checkout must have no changes the run made.

use crate::plan::model::ScenarioKind;
use crate::run::results::{Failure, FailureKind, Outcome, ScenarioResult};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Why the `clean-git` check cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("checks: clean-git needs git: {0}")]
    NoGit(std::io::Error),
    #[error("checks: clean-git is on, but {dir} is not inside a git checkout: {stderr}")]
    NotACheckout { dir: std::path::PathBuf, stderr: String },
}

/// The checkout's status entries (`git status --porcelain`), one per changed path.
pub fn git_status(dir: &Path) -> Result<BTreeSet<String>, CheckError> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain=v1", "--untracked-files=all", "--ignored=no"])
        .output()
        .map_err(CheckError::NoGit)?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(CheckError::NotACheckout { dir: dir.to_path_buf(), stderr });
    }
    Ok(String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect())
}

/// Status entries present now that were not present `before`: what the run changed.
pub fn git_changes(dir: &Path, before: &BTreeSet<String>) -> Result<Vec<String>, CheckError> {
    Ok(git_status(dir)?.difference(before).cloned().collect())
}

/// A synthetic failed scenario that puts the finding in every report.
pub fn clean_git_failure(changed: &[String]) -> ScenarioResult {
    let paths: Vec<&str> = changed.iter().map(|l| l.get(3..).unwrap_or(l)).collect();
    let message = format!(
        "the run left {} change(s) in the git checkout: {} (run the service in `workdir = \"temp\"`, or \
         point its files outside the checkout)",
        changed.len(),
        paths.join(", ")
    );
    ScenarioResult {
        id: "checks.clean-git".into(),
        plugin: "smoke".into(),
        endpoint: "(the git checkout)".into(),
        kind: ScenarioKind::BusinessRule,
        description: "the run must leave the surrounding git checkout as it found it".into(),
        tags: vec!["check".into()],
        outcome: Outcome::Failed,
        reason: Some(message.clone()),
        failure: Some(Failure::new(FailureKind::PostRunCheck, message)),
        failed_step: None,
        dependency_only: false,
        ready_ms: 0,
        started_ms: 0,
        finished_ms: 0,
        duration_ms: 0,
        steps: Vec::new(),
    }
}
