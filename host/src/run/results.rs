//! The results of a run as plain data: what every report is a function of.

use crate::http::{RequestRecord, ResponseRecord};
use crate::plan::model::{PluginRef, Scenario, ScenarioKind, Step};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    #[default]
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

/// What kind of failure a step or scenario met: data every report and the triage reason over
/// (never the message text, which is for people). Listed in docs/report-schema.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// Nothing accepted the connection (refused, unreachable, name not found).
    Connect,
    /// The connection was closed or reset before a response arrived.
    Reset,
    /// No complete response within the request's or the step's time limit.
    Timeout,
    /// The response body was larger than the body limit.
    BodyTooLarge,
    /// Any other transport failure (a malformed response, a TLS error).
    Http,
    /// The service under test exited.
    ServiceExited,
    /// The request could not be built: a template variable is undefined or malformed.
    Template,
    /// The request's path would leave the base URL; nothing was sent.
    OffTarget,
    /// The status is outside the accepted set.
    Status,
    /// An expected response header is missing or differs.
    Header,
    /// A JSON body assertion does not hold (or the body is not JSON).
    Assertion,
    /// A value to capture is missing.
    Capture,
    /// The body does not match the response schema.
    Schema,
    /// The response took longer than the step's latency bound.
    Latency,
    /// A burst's mix of statuses is outside its bounds.
    Burst,
    /// The plugin judged the response a failure.
    PluginVerdict,
    /// The plugin's `check` exceeded its time or memory limit.
    PluginLimit,
    /// The plugin's own code failed in `check`: an exception (its SDK names the source file and
    /// line) or a trap. A bug in the plugin, never a verdict on the service.
    PluginFault,
    /// The plugin is not loaded, or its contract cannot carry the step's input.
    PluginError,
    /// Skipped: a scenario it depends on did not pass.
    Dependency,
    /// Skipped as planned: the plugin tagged it `skip:REASON` (it cannot run with this
    /// configuration, e.g. no credentials are configured), or a protocol check found it does not
    /// apply to this server (one that keeps no session).
    PlannedSkip,
    /// Skipped, not tested: a call whose business outcome the plan could not know (a generic
    /// plugin's valid call) was answered with a tool error, so what it would test was not
    /// tested; the tool's message says why. It fails nothing by itself, but a run whose every
    /// happy path ended so does not pass.
    NotTested,
    /// Skipped: seeding failed, so nothing ran.
    SeedFailed,
    /// Skipped: the service under test did not start, or a command around it failed.
    TargetFailed,
    /// Not run or not finished: the run was interrupted by a signal.
    Interrupted,
    /// Not finished: the run's `--timeout` expired.
    RunTimeout,
    /// Skipped: the MCP session could not be opened (initialize or tools/list failed).
    McpInitialize,
    /// A tool call names a tool the MCP server does not list: nothing was sent.
    UnknownTool,
    /// A tool call's arguments do not match the tool's `inputSchema`: a bug in the plan, nothing
    /// was sent.
    InvalidArguments,
    /// A tool call expected to succeed was refused: a result with `isError: true`, or a JSON-RPC
    /// error.
    ToolError,
    /// A tool call expected to be refused succeeded.
    ToolAccepted,
    /// The MCP server broke the protocol: an answer that is not JSON-RPC, a malformed result, a
    /// closed session.
    McpProtocol,
    /// The MCP server's tools, prompts or resources changed in a way that breaks a client of the
    /// baseline (`--baseline`).
    SurfaceChange,
    /// What the MCP server tells an agent breaks smoke's lint: a credential in a tool's result
    /// or a resource read, hidden characters or steering words in its tools' descriptions.
    Lint,
    /// A post-run check failed (e.g. `clean-git`).
    PostRunCheck,
    /// smoke itself failed while running the scenario (a bug: please report it).
    Internal,
}

impl FailureKind {
    /// The kind as report.json spells it (`body-too-large`).
    pub fn name(self) -> String {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => format!("{self:?}"),
        }
    }
}

/// One failure: its kind, and what happened in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
}

impl Failure {
    /// A failure saying `message`, clipped to [`crate::http::MAX_MESSAGE_BYTES`]: what a plugin or
    /// a service says goes into messages, and is kept once, at a bounded size.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Failure { kind, message: crate::http::clip_text(message.into(), crate::http::MAX_MESSAGE_BYTES) }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VerdictRecord {
    pub pass: bool,
    pub reason: String,
}

/// One step's execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    pub index: usize,
    pub name: String,
    pub outcome: Outcome,
    /// What the step expected, in words.
    pub expected: String,
    pub request: Option<RequestRecord>,
    pub response: Option<ResponseRecord>,
    /// A tool call's JSON-RPC request and answer, when the step is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call: Option<ToolCallRecord>,
    pub failures: Vec<Failure>,
    /// The plugin's judgement, when the step asked for one.
    pub verdict: Option<VerdictRecord>,
    /// Variables this step captured (redacted).
    pub captured: BTreeMap<String, String>,
    /// Requests sent: 1 for a plain step, the attempts of a poll, the copies of a burst.
    pub attempts: u32,
    /// A burst's status mix and latencies.
    pub burst: Option<BurstRecord>,
    pub duration_ms: u64,
    /// Set when the reports keep only the method, URL, status and latency of this passing
    /// step's exchange, not its headers and bodies (`--exchanges all` keeps them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trimmed: bool,
    /// The connection its (last) exchange went over and its place there (1: the first): a
    /// verdict on a connection that later shows answers nobody asked for is not trusted. Not
    /// part of the report.
    #[serde(skip)]
    pub connection: Option<(u64, u32)>,
}

/// A tool call as recorded: the JSON-RPC request and what came back, redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ToolCallRecord {
    pub tool: String,
    /// The `tools/call` request as sent (JSON text).
    pub request: String,
    /// The JSON-RPC result (JSON text), at most [`crate::http::RECORDED_BODY_BYTES`] of it.
    pub result: Option<String>,
    /// The JSON-RPC error (JSON text).
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// What a burst of requests came to.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
            tool_call: None,
            failures: Vec::new(),
            verdict: None,
            captured: BTreeMap::new(),
            attempts: 0,
            burst: None,
            duration_ms: 0,
            trimmed: false,
            connection: None,
        }
    }

    pub fn fail(&mut self, failure: Failure) {
        self.outcome = Outcome::Failed;
        self.failures.push(failure);
    }
}

fn describe_expectation(step: &Step) -> String {
    use crate::plan::model::{Action, JsonAssertion, JsonTest};
    use std::fmt::Write as _;
    // One string, written part by part ("status 200 or 201; /id exists; within 500 ms").
    let mut out = String::with_capacity(64);
    let mut part = |out: &mut String| {
        if !out.is_empty() {
            out.push_str("; ");
        }
    };
    let tests = |list: &[JsonAssertion], out: &mut String, part: &mut dyn FnMut(&mut String)| {
        for a in list {
            part(out);
            let _ = match &a.test {
                JsonTest::Exists => write!(out, "{} exists", a.pointer),
                JsonTest::Absent => write!(out, "{} absent", a.pointer),
                JsonTest::Equals(v) => write!(out, "{} = {v}", a.pointer),
                JsonTest::Length(n) => write!(out, "{} has {n} items", a.pointer),
            };
        }
    };
    let (latency, check) = match &step.action {
        Action::Http(call) => {
            let e = &call.expect;
            out.push_str("status ");
            for (i, s) in e.status.iter().enumerate() {
                if i > 0 {
                    out.push_str(" or ");
                }
                let _ = write!(out, "{s}");
            }
            tests(&e.body, &mut out, &mut part);
            for h in &e.headers {
                part(&mut out);
                let _ = write!(out, "header {}", h.name);
            }
            (e.max_latency_ms, e.check.is_some())
        }
        Action::McpRequest(r) => {
            let e = &r.expect;
            let outcome = match e.outcome {
                crate::plan::model::ToolOutcome::Refused => "a JSON-RPC error",
                _ => "a result",
            };
            let _ = write!(out, "{}: {outcome}", r.method);
            tests(&e.result, &mut out, &mut part);
            if e.schema.is_some() {
                part(&mut out);
                out.push_str("result matches the schema");
            }
            (e.max_latency_ms, e.check.is_some())
        }
        Action::McpCheck(c) => {
            match crate::plan::protocol::check(&c.check) {
                Some(check) => out.push_str(check.requires),
                None => out.push_str(&c.check),
            }
            return out;
        }
        Action::ToolCall(call) => {
            let e = &call.expect;
            let _ = write!(out, "tool {}: {}", call.tool, e.outcome.as_str());
            tests(&e.result, &mut out, &mut part);
            if e.schema.is_some() {
                part(&mut out);
                out.push_str("result matches the schema");
            }
            (e.max_latency_ms, e.check.is_some())
        }
    };
    if let Some(ms) = latency {
        part(&mut out);
        let _ = write!(out, "within {ms} ms");
    }
    if check {
        part(&mut out);
        out.push_str("plugin check passes");
    }
    out
}

/// One scenario's execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The same, as data: the kind and the message (`null` when it passed).
    pub failure: Option<Failure>,
    /// Index of the failing step.
    pub failed_step: Option<usize>,
    /// Selected only because a selected scenario depends on it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dependency_only: bool,
    /// When its dependencies had all passed (it could have started with a free job), in ms since
    /// the run started (0 for one without dependencies, or that never ran).
    #[serde(default)]
    pub ready_ms: u64,
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
            failure: None,
            failed_step: None,
            dependency_only: s.dependency_only,
            ready_ms: 0,
            started_ms: 0,
            finished_ms: 0,
            duration_ms: 0,
            steps: Vec::new(),
        }
    }

    /// A scenario that did not run, with the reason (interruption, seed failure, timeout).
    pub fn not_run(s: &Scenario, outcome: Outcome, why: Failure) -> Self {
        let mut r = Self::new(s);
        r.outcome = outcome;
        r.reason = Some(why.message.clone());
        r.failure = Some(why);
        r
    }

    /// The scenario was not tested at step `index`: it is skipped, with that step's reason.
    pub fn untested_at(&mut self, index: usize) {
        self.fail_at(index);
        self.outcome = Outcome::Skipped;
    }

    pub fn fail_at(&mut self, index: usize) {
        self.outcome = Outcome::Failed;
        self.failed_step = Some(index);
        self.failure = self.steps.get(index).and_then(|s| s.failures.first().cloned());
        self.reason = self.failure.as_ref().map(|f| f.message.clone());
    }
}

/// A seed's creation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedResult {
    pub id: String,
    pub plugin: String,
    pub step: StepResult,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Of the skipped, those the plugin planned as skipped (`skip:REASON`): they do not fail the
    /// run, as a scenario skipped because a dependency failed does.
    #[serde(skip)]
    pub planned: usize,
    /// Of the skipped, those not tested (`not-tested`: a tool answered an error to a call whose
    /// outcome the plan could not know). They fail nothing by themselves.
    #[serde(skip)]
    pub not_tested: usize,
    /// Happy paths that passed: a run with calls not tested and no happy path passed tested
    /// nothing it set out to, and does not pass.
    #[serde(skip)]
    pub happy_passed: usize,
}

impl Summary {
    pub fn of(results: &[ScenarioResult]) -> Self {
        let mut s = Summary::default();
        for r in results {
            s.count(r.outcome, r.failure.as_ref().map(|f| f.kind), r.kind == ScenarioKind::HappyPath);
        }
        s
    }

    /// Count one scenario: its outcome, the kind of its failure, whether it is a happy path.
    pub fn count(&mut self, outcome: Outcome, failure: Option<FailureKind>, happy: bool) {
        match outcome {
            Outcome::Passed => {
                self.passed += 1;
                self.happy_passed += usize::from(happy);
            }
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped => {
                self.skipped += 1;
                match failure {
                    Some(FailureKind::PlannedSkip) => self.planned += 1,
                    Some(FailureKind::NotTested) => self.not_tested += 1,
                    _ => {}
                }
            }
        }
    }

    /// The closing line: `N passed, N failed, N skipped`.
    pub fn line(&self) -> String {
        let untested = match self.not_tested {
            0 => String::new(),
            n if self.happy_passed == 0 => format!(
                "; {n} not tested (a tool answered an error) and no happy path passed: nothing was tested"
            ),
            n => format!("; {n} not tested (a tool answered an error: see the reasons)"),
        };
        let planned = match self.planned {
            0 => String::new(),
            n if self.passed + self.failed == 0 => {
                format!(" (all {n} as planned: nothing ran, so nothing was tested; see the reasons)")
            }
            n if n == self.skipped => " (as planned: see the reasons)".to_string(),
            n => format!(" ({n} as planned)"),
        };
        format!("{} passed, {} failed, {} skipped{planned}{untested}", self.passed, self.failed, self.skipped)
    }

    /// Nothing failed, nothing was skipped but as planned or as not tested, and something ran: a
    /// run whose every scenario was planned as skipped tested nothing, and does not pass; nor
    /// does one with calls not tested and no happy path passed.
    pub fn all_passed(&self) -> bool {
        self.failed == 0
            && self.skipped == self.planned + self.not_tested
            && (self.planned == 0 || self.passed > 0)
            && (self.not_tested == 0 || self.happy_passed > 0)
    }
}

/// Everything known about a finished run. Its scenarios are a list as read back from a file, or
/// a [`super::spool::Spool`] as a run writes them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport<S = Vec<ScenarioResult>> {
    pub schema_version: u32,
    pub smoke_version: String,
    pub base_url: String,
    /// The MCP server, when the run had one: transport, protocol version, server info, tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp: Option<crate::mcp::ServerRecord>,
    pub plugins: Vec<PluginRef>,
    /// On a shard's report: the plan's sha256 (`sha256:HEX`) as selected, before `--shard` took
    /// its part, the same in every shard of one plan (empty when the run ended before planning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_digest: Option<String>,
    /// The part of the plan this run was (`--shard I/N`), if it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// On a shard's report: how the plan was split, so a merge can tell a whole from a part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<crate::plan::Split>,
    /// On a shard's report: the sha256 of the ids of the scenarios its split gave it, in order,
    /// so a merge can tell that the report holds exactly those.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_ids: Option<String>,
    pub summary: Summary,
    /// Why the run ended early (`SIGINT`, `SIGTERM`, `timeout`), if it did.
    pub interrupted: Option<String>,
    pub duration_ms: u64,
    pub seeds: Vec<SeedResult>,
    pub scenarios: S,
    /// Set when the run stopped before its scenarios could run: the stage and why.
    pub stage_failure: Option<StageFailure>,
    /// What the failures have in common (empty when everything passed); worked out again from
    /// the scenarios when a report is read back.
    #[serde(skip_deserializing)]
    pub triage: Vec<Finding>,
    /// What was not tested, per endpoint or tool and kind of check, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_tested: Vec<NotTested>,
}

impl<S> RunReport<S> {
    /// The same report with other scenarios, and the ones it had.
    pub fn with_scenarios<T>(self, scenarios: T) -> (RunReport<T>, S) {
        let RunReport {
            schema_version,
            smoke_version,
            base_url,
            mcp,
            plugins,
            plan_digest,
            shard,
            split,
            shard_ids,
            summary,
            interrupted,
            duration_ms,
            seeds,
            scenarios: had,
            stage_failure,
            triage,
            not_tested,
        } = self;
        let report = RunReport {
            schema_version,
            smoke_version,
            base_url,
            mcp,
            plugins,
            plan_digest,
            shard,
            split,
            shard_ids,
            summary,
            interrupted,
            duration_ms,
            seeds,
            scenarios,
            stage_failure,
            triage,
            not_tested,
        };
        (report, had)
    }
}

/// A report's scenarios passed over unread: a first look at a report says what it is of without
/// holding what it holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unread;

impl<'de> Deserialize<'de> for Unread {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Unread)
    }
}

#[cfg(test)]
impl<S> RunReport<S> {
    /// A report of `scenarios` against `http://h/`, with nothing else in it.
    pub fn of_scenarios(scenarios: S) -> RunReport<S> {
        RunReport {
            schema_version: 2,
            smoke_version: "0".into(),
            base_url: "http://h/".into(),
            mcp: None,
            plugins: vec![],
            plan_digest: None,
            shard: None,
            split: None,
            shard_ids: None,
            summary: Summary::default(),
            interrupted: None,
            duration_ms: 1,
            seeds: vec![],
            scenarios,
            stage_failure: None,
            triage: vec![],
            not_tested: vec![],
        }
    }
}

/// A stage of the run that failed before scenarios ran (target, a command, seeding).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageFailure {
    /// `target`, `reset`, `migrate`, `seed` (the command), `mcp` (opening the MCP session) or
    /// `seeding` (the plugins' seeds).
    pub stage: String,
    pub message: String,
}

/// A kind of check an endpoint or tool did not get, and why, in words a user can act on (the
/// "not tested" ledger of a report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotTested {
    pub plugin: String,
    /// `METHOD /path` or `tool NAME`, as the scenarios name it.
    pub endpoint: String,
    /// A scenario kind (`not-found`, `auth`, `validation-error`, `happy-path`, ...).
    pub kind: String,
    pub reason: String,
}

/// Something the failures of a run have in common, found by a triage rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which rule found it: `service-down`, `happy-paths-404`, `auth`, `server-errors`,
    /// `timeouts`, `same-status`, `mcp-unknown-tool`, `mcp-invalid-arguments`, `mcp-protocol`.
    pub rule: &'static str,
    pub summary: String,
    pub scenarios: Vec<String>,
    pub next_step: String,
}
