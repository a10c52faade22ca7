//! Finished scenarios as they come, kept out of memory: each is redacted and encoded as JSON the
//! moment it finishes, into a [`Spill`]; in memory stays a [`Brief`] of each, which is what the
//! summary, the triage, the pictures and the compact rows of the reports read. The writers read
//! the rest back in plan order, one scenario at a time.

use super::results::{FailureKind, Outcome, ScenarioResult, Summary};
use crate::http::Redactor;
use crate::plan::model::ScenarioKind;
use crate::plan::spill::{Slot, Spill, SpillError};
use crate::plan::store::Names;
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::collections::BTreeMap;

/// Encoded results kept in memory before the rest go to a temporary file.
const MEMORY_BUDGET: usize = 16 << 20;

/// What the summary, the triage and the pictures need of one finished scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Brief {
    pub outcome: Outcome,
    pub kind: Option<ScenarioKind>,
    pub failure: Option<FailureKind>,
    /// Plugin and endpoint, as numbers into the spool's names.
    pub plugin: u32,
    pub endpoint: u32,
    /// The status of the last response (0: none), as the compact rows show.
    pub status: u16,
    /// Whether it failed at a step (not outside any: a post-run check, a run cut short).
    pub failed_in_step: bool,
    /// Of the failing step: its response's status, its request's method and its tool (names).
    pub failed_status: Option<u16>,
    pub failed_method: Option<u32>,
    pub failed_tool: Option<u32>,
    /// In ms since the run started (saturating at 49 days).
    pub ready_ms: u32,
    pub started_ms: u32,
    pub finished_ms: u32,
    pub duration_ms: u32,
}

/// A result encoded for the spool, and what the redactor knew when it was redacted.
pub struct Encoded {
    bytes: Vec<u8>,
    learned: usize,
}

impl Encoded {
    /// Redact `result` with what `redactor` knows now and encode it (done in the scenario's own
    /// task, so it runs beside other scenarios).
    pub fn new(result: &mut ScenarioResult, redactor: &Redactor) -> Encoded {
        let learned = redactor.learned_count();
        super::scrub::scenario(result, redactor);
        let mut bytes = Vec::with_capacity(1024);
        super::json::scenario(&mut bytes, result);
        Encoded { bytes, learned }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    slot: Slot,
    /// How many sensitive values the redactor had learned when this was redacted.
    learned: u32,
}

/// The results of a run by plan index, as they come.
#[derive(Debug)]
pub struct Spool {
    spill: Spill,
    entries: Vec<Option<Entry>>,
    briefs: Vec<Brief>,
    ids: Vec<Box<str>>,
    names: Names,
    /// Latency of every response (ms), by endpoint number.
    latencies: BTreeMap<u32, Vec<u32>>,
    /// Set while writing the pretty JSON report: scenarios are then decoded and re-encoded.
    pretty: std::cell::Cell<bool>,
}

impl Default for Spool {
    fn default() -> Self {
        Spool::with_budget(MEMORY_BUDGET)
    }
}

fn ms(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl Spool {
    pub fn with_budget(budget: usize) -> Spool {
        Spool {
            spill: Spill::new(budget),
            entries: Vec::new(),
            briefs: Vec::new(),
            ids: Vec::new(),
            names: Names::default(),
            latencies: BTreeMap::new(),
            pretty: std::cell::Cell::new(false),
        }
    }

    /// A spool of results already redacted (read from reports).
    pub fn from_results(results: Vec<ScenarioResult>) -> Spool {
        let mut spool = Spool::default();
        for r in &results {
            spool.append(r);
        }
        spool
    }

    /// Keep a result already redacted (read from a report) after the last one.
    pub fn append(&mut self, result: &ScenarioResult) {
        let mut bytes = Vec::new();
        super::json::scenario(&mut bytes, result);
        self.push(self.len(), result, Encoded { bytes, learned: 0 });
    }

    /// The number of places: the highest index pushed, plus one.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Make room for `n` scenarios.
    pub fn reserve(&mut self, n: usize) {
        if self.entries.len() < n {
            self.entries.resize(n, None);
            self.briefs.resize(n, Brief::default());
            self.ids.resize(n, Box::from(""));
        }
    }

    /// Whether scenario `i` has its result.
    pub fn has(&self, i: usize) -> bool {
        self.entries.get(i).is_some_and(Option::is_some)
    }

    /// The places still without a result.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.entries.len()).filter(|&i| self.entries[i].is_none()).collect()
    }

    /// Keep the result of scenario `i` (a second one for the same place replaces the first).
    pub fn push(&mut self, i: usize, result: &ScenarioResult, encoded: Encoded) {
        self.reserve(i + 1);
        let replacing = self.entries[i].is_some();
        let slot = match self.spill.push(&encoded.bytes) {
            Ok(slot) => slot,
            Err(e) => {
                // Over 4 GiB for one scenario: record that instead of losing the verdict.
                tracing::error!("scenario {}: its result cannot be kept: {e}", result.id);
                let mut stub = ScenarioResult { steps: Vec::new(), ..result.clone() };
                stub.reason = Some(format!(
                    "{} (its steps were too large to keep: {e})",
                    stub.reason.unwrap_or_default()
                ));
                let bytes = serde_json::to_vec(&stub).expect("a result always serializes");
                match self.spill.push(&bytes) {
                    Ok(slot) => slot,
                    Err(_) => return,
                }
            }
        };
        self.entries[i] = Some(Entry { slot, learned: u32::try_from(encoded.learned).unwrap_or(u32::MAX) });
        self.briefs[i] = self.brief_of(result);
        self.ids[i] = result.id.as_str().into();
        if replacing {
            // Its latencies are counted already.
            return;
        }
        for step in &result.steps {
            if let Some(r) = &step.response {
                self.latencies.entry(self.briefs[i].endpoint).or_default().push(ms(r.latency_ms));
            }
        }
    }

    fn brief_of(&mut self, r: &ScenarioResult) -> Brief {
        let failed = r.failed_step.and_then(|i| r.steps.get(i));
        Brief {
            outcome: r.outcome,
            kind: Some(r.kind),
            failure: r.failure.as_ref().map(|f| f.kind),
            plugin: self.names.add(&r.plugin),
            endpoint: self.names.add(&r.endpoint),
            status: r.steps.iter().rev().find_map(|s| s.response.as_ref()).map_or(0, |p| p.status),
            failed_in_step: r.outcome == Outcome::Failed && failed.is_some(),
            failed_status: failed.and_then(|s| s.response.as_ref()).map(|p| p.status),
            failed_method: failed.and_then(|s| s.request.as_ref()).map(|q| self.names.add(&q.method)),
            failed_tool: failed.and_then(|s| s.tool_call.as_ref()).map(|t| self.names.add(&t.tool)),
            ready_ms: ms(r.ready_ms),
            started_ms: ms(r.started_ms),
            finished_ms: ms(r.finished_ms),
            duration_ms: ms(r.duration_ms),
        }
    }

    pub fn brief(&self, i: usize) -> &Brief {
        &self.briefs[i]
    }

    pub fn briefs(&self) -> &[Brief] {
        &self.briefs
    }

    pub fn id(&self, i: usize) -> &str {
        &self.ids[i]
    }

    /// The text of a name number (a plugin, an endpoint, a method, a tool).
    pub fn name(&self, n: u32) -> &str {
        self.names.get(n)
    }

    pub fn plugin(&self, i: usize) -> &str {
        self.names.get(self.briefs[i].plugin)
    }

    pub fn endpoint(&self, i: usize) -> &str {
        self.names.get(self.briefs[i].endpoint)
    }

    /// Every response's latency in ms, by endpoint, in endpoint order.
    pub fn latencies(&self) -> BTreeMap<&str, &[u32]> {
        self.latencies.iter().map(|(e, ms)| (self.names.get(*e), ms.as_slice())).collect()
    }

    /// The result of scenario `i`, whole.
    pub fn result(&self, i: usize) -> Result<ScenarioResult, SpillError> {
        let bytes = self.raw(i)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| SpillError::Read(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
    }

    /// The result of scenario `i` as the JSON it was encoded to.
    pub fn raw(&self, i: usize) -> Result<std::borrow::Cow<'_, [u8]>, SpillError> {
        match self.entries.get(i).copied().flatten() {
            Some(entry) => self.spill.get(entry.slot),
            None => Err(SpillError::Read(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("scenario {i} has no result"),
            ))),
        }
    }

    /// Counts of passed, failed and skipped.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for b in &self.briefs {
            s.count(b.outcome, b.failure, b.kind == Some(ScenarioKind::HappyPath));
        }
        s
    }

    /// Redact once more every result redacted before the redactor learned its last sensitive
    /// value (one captured late may appear in a result that finished early).
    pub fn rescrub(&mut self, redactor: &Redactor) {
        let learned = u32::try_from(redactor.learned_count()).unwrap_or(u32::MAX);
        for i in 0..self.entries.len() {
            let Some(entry) = self.entries[i] else { continue };
            if entry.learned >= learned {
                continue;
            }
            match self.result(i) {
                Ok(mut r) => {
                    let encoded = Encoded::new(&mut r, redactor);
                    match self.spill.push(&encoded.bytes) {
                        Ok(slot) => self.entries[i] = Some(Entry { slot, learned }),
                        Err(e) => tracing::error!("scenario {}: cannot redact it again: {e}", self.ids[i]),
                    }
                }
                Err(e) => {
                    tracing::error!("scenario {}: cannot read it back to redact it again: {e}", self.ids[i])
                }
            }
        }
    }

    /// While `pretty` is set, serializing writes each scenario through the serializer (so a
    /// pretty report is pretty throughout); otherwise as the JSON it was kept as.
    pub fn set_pretty(&self, pretty: bool) {
        self.pretty.set(pretty);
    }
}

impl super::results::RunReport<Vec<ScenarioResult>> {
    /// The same report with its scenarios in a spool, as the report writers read them.
    pub fn into_spooled(self) -> super::results::RunReport<Spool> {
        let (report, scenarios) = self.with_scenarios(());
        report.with_scenarios(Spool::from_results(scenarios)).0
    }
}

impl Serialize for Spool {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for i in 0..self.len() {
            if self.pretty.get() {
                let result = self.result(i).map_err(serde::ser::Error::custom)?;
                seq.serialize_element(&result)?;
            } else {
                let bytes = self.raw(i).map_err(serde::ser::Error::custom)?;
                let text = std::str::from_utf8(&bytes).map_err(serde::ser::Error::custom)?;
                let raw: &serde_json::value::RawValue =
                    serde_json::from_str(text).map_err(serde::ser::Error::custom)?;
                seq.serialize_element(raw)?;
            }
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Scenario;

    fn result(i: usize, outcome: Outcome) -> ScenarioResult {
        let mut r = ScenarioResult::new(&Scenario::bare(
            &format!("s{i}"),
            "p",
            &format!("GET /{}", i % 2),
            ScenarioKind::HappyPath,
        ));
        r.outcome = outcome;
        r.reason = Some("token-123456 here".into());
        r.started_ms = i as u64;
        r
    }

    #[test]
    fn results_come_back_in_plan_order_whatever_order_they_finished_in() {
        let redactor = Redactor::new();
        let mut spool = Spool::with_budget(300);
        for i in (0..500).rev() {
            let mut r = result(i, if i % 7 == 0 { Outcome::Failed } else { Outcome::Passed });
            let e = Encoded::new(&mut r, &redactor);
            spool.push(i, &r, e);
        }
        assert_eq!(spool.len(), 500);
        assert!(spool.missing().is_empty());
        for i in 0..500 {
            assert_eq!(spool.result(i).unwrap().id, format!("s{i}"));
            assert_eq!(spool.id(i), format!("s{i}"));
            assert_eq!(spool.endpoint(i), format!("GET /{}", i % 2));
        }
        let s = spool.summary();
        assert_eq!((s.passed, s.failed), (428, 72));
        let text = serde_json::to_string(&spool).unwrap();
        let back: Vec<ScenarioResult> = serde_json::from_str(&text).unwrap();
        assert_eq!(back.len(), 500);
        spool.set_pretty(true);
        let pretty = serde_json::to_string_pretty(&spool).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
            serde_json::from_str::<serde_json::Value>(&text).unwrap()
        );
    }

    #[test]
    fn a_value_learned_after_a_result_was_kept_is_redacted_from_it_before_writing() {
        let redactor = Redactor::new();
        let mut spool = Spool::default();
        let mut r = result(0, Outcome::Passed);
        let e = Encoded::new(&mut r, &redactor);
        spool.push(0, &r, e);
        assert!(String::from_utf8_lossy(&spool.raw(0).unwrap()).contains("token-123456"));
        redactor.learn_for_test("token-123456");
        spool.rescrub(&redactor);
        let text = String::from_utf8_lossy(&spool.raw(0).unwrap()).into_owned();
        assert!(!text.contains("token-123456") && text.contains("[REDACTED]"), "{text}");
    }
}
