//! The results of a run as plain data: what every report is a function of.

use crate::http::{RequestRecord, ResponseRecord};
use crate::plan::model::{PluginRef, Scenario, ScenarioKind, Step};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "PASS",
            Outcome::Failed => "FAIL",
            Outcome::Skipped => "SKIP",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VerdictRecord {
    pub pass: bool,
    pub reason: String,
}

/// One step's execution.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub index: usize,
    pub name: String,
    pub outcome: Outcome,
    /// What the step expected, in words.
    pub expected: String,
    pub request: Option<RequestRecord>,
    pub response: Option<ResponseRecord>,
    pub failures: Vec<String>,
    /// The plugin's judgement, when the step asked for one.
    pub verdict: Option<VerdictRecord>,
    /// Variables this step captured (redacted).
    pub captured: BTreeMap<String, String>,
    /// Requests sent: 1 for a plain step, the attempts of a poll, the copies of a burst.
    pub attempts: u32,
    /// A burst's status mix and latencies.
    pub burst: Option<BurstRecord>,
    pub duration_ms: u64,
}

/// What a burst of requests came to.
#[derive(Debug, Clone, Serialize)]
pub struct BurstRecord {
    pub count: u32,
    pub concurrency: u32,
    /// Responses by status (`"error"` for requests that got none), in status order.
    pub histogram: BTreeMap<String, u32>,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl StepResult {
    pub fn new(index: usize, step: &Step) -> Self {
        StepResult {
            index,
            name: step.display_name(),
            outcome: Outcome::Passed,
            expected: describe_expectation(step),
            request: None,
            response: None,
            failures: Vec::new(),
            verdict: None,
            captured: BTreeMap::new(),
            attempts: 0,
            burst: None,
            duration_ms: 0,
        }
    }

    pub fn fail(&mut self, reason: String) {
        self.outcome = Outcome::Failed;
        self.failures.push(reason);
    }
}

fn describe_expectation(step: &Step) -> String {
    let e = &step.expect;
    let statuses: Vec<String> = e.status.iter().map(u16::to_string).collect();
    let mut parts = vec![format!("status {}", statuses.join(" or "))];
    for a in &e.body {
        use crate::plan::model::JsonTest;
        parts.push(match &a.test {
            JsonTest::Exists => format!("{} exists", a.pointer),
            JsonTest::Absent => format!("{} absent", a.pointer),
            JsonTest::Equals(v) => format!("{} = {v}", a.pointer),
            JsonTest::Length(n) => format!("{} has {n} items", a.pointer),
        });
    }
    for h in &e.headers {
        parts.push(format!("header {}", h.name));
    }
    if let Some(ms) = e.max_latency_ms {
        parts.push(format!("within {ms} ms"));
    }
    if e.check.is_some() {
        parts.push("plugin check passes".into());
    }
    parts.join("; ")
}

/// One scenario's execution.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub id: String,
    pub plugin: String,
    pub endpoint: String,
    pub kind: ScenarioKind,
    pub description: String,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// Why it failed (the failing step's first failure) or was skipped.
    pub reason: Option<String>,
    /// Index of the failing step.
    pub failed_step: Option<usize>,
    /// Selected only because a selected scenario depends on it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dependency_only: bool,
    /// When it started and finished, in ms since the run started (0 if it never ran).
    pub started_ms: u64,
    pub finished_ms: u64,
    pub duration_ms: u64,
    pub steps: Vec<StepResult>,
}

impl ScenarioResult {
    pub fn new(s: &Scenario) -> Self {
        ScenarioResult {
            id: s.id.clone(),
            plugin: s.plugin.clone(),
            endpoint: s.endpoint.clone(),
            kind: s.kind,
            description: s.description.clone(),
            tags: s.tags.clone(),
            outcome: Outcome::Passed,
            reason: None,
            failed_step: None,
            dependency_only: s.dependency_only,
            started_ms: 0,
            finished_ms: 0,
            duration_ms: 0,
            steps: Vec::new(),
        }
    }

    pub fn skipped(s: &Scenario, cause: &str) -> Self {
        Self::not_run(s, Outcome::Skipped, format!("skipped: dependency {cause} did not pass"))
    }

    /// A scenario that did not run, with the reason (interruption, seed failure, timeout).
    pub fn not_run(s: &Scenario, outcome: Outcome, reason: String) -> Self {
        let mut r = Self::new(s);
        r.outcome = outcome;
        r.reason = Some(reason);
        r
    }

    pub fn fail_at(&mut self, index: usize) {
        self.outcome = Outcome::Failed;
        self.failed_step = Some(index);
        self.reason = self.steps.get(index).and_then(|s| s.failures.first().cloned());
    }
}

/// A seed's creation.
#[derive(Debug, Clone, Serialize)]
pub struct SeedResult {
    pub id: String,
    pub plugin: String,
    pub step: StepResult,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Summary {
    pub fn of(results: &[ScenarioResult]) -> Self {
        let mut s = Summary::default();
        for r in results {
            match r.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Skipped => s.skipped += 1,
            }
        }
        s
    }

    /// The closing line: `N passed, N failed, N skipped`.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed, {} skipped", self.passed, self.failed, self.skipped)
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.skipped == 0
    }
}

/// Everything known about a finished run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub smoke_version: String,
    pub base_url: String,
    pub plugins: Vec<PluginRef>,
    pub summary: Summary,
    /// Why the run ended early (`SIGINT`, `SIGTERM`, `timeout`), if it did.
    pub interrupted: Option<String>,
    pub duration_ms: u64,
    pub seeds: Vec<SeedResult>,
    pub scenarios: Vec<ScenarioResult>,
    /// What the failures have in common (empty when everything passed).
    pub triage: Vec<crate::report::triage::Finding>,
}
