//! Redaction of results: the last pass over every free-text string of a result before it is
//! kept, with what the run's redactor has learned so far.

use super::results::{RunReport, ScenarioResult, StepResult};
use crate::http::Redactor;

/// Redact one step's free text: every string of it goes through the redactor.
fn step(s: &mut StepResult, r: &Redactor) {
    r.scrub(&mut s.expected);
    r.scrub(&mut s.name);
    for f in &mut s.failures {
        r.scrub(&mut f.message);
    }
    for v in s.captured.values_mut() {
        r.scrub(v);
    }
    if let Some(v) = &mut s.verdict {
        r.scrub(&mut v.reason);
    }
    if let Some(q) = &mut s.request {
        r.scrub(&mut q.url);
        if let Some(b) = &mut q.body {
            r.scrub(b);
        }
        for h in &mut q.headers {
            r.scrub(&mut h.value);
        }
    }
    if let Some(p) = &mut s.response {
        if let Some(b) = &mut p.body {
            r.scrub(b);
        }
        for h in &mut p.headers {
            r.scrub(&mut h.value);
        }
    }
}

/// The last pass over a scenario's result before it is kept: every free-text string goes
/// through the redactor with what it has learned so far (a value captured in step 1 may
/// reappear in a failure message of step 3). The spool repeats it for results kept before the
/// redactor learned its last value.
pub fn scenario(s: &mut ScenarioResult, redactor: &Redactor) {
    // What the plan said of it too: a secret written into an id or a description is no less one.
    redactor.scrub(&mut s.id);
    redactor.scrub(&mut s.endpoint);
    redactor.scrub(&mut s.description);
    if let Some(t) = &mut s.reason {
        redactor.scrub(t);
    }
    if let Some(f) = &mut s.failure {
        redactor.scrub(&mut f.message);
    }
    for st in &mut s.steps {
        step(st, redactor);
    }
}

/// The same for the rest of a report: seeds and the stage that failed.
pub fn report<S>(report: &mut RunReport<S>, redactor: &Redactor) {
    for seed in &mut report.seeds {
        step(&mut seed.step, redactor);
    }
    if let Some(f) = &mut report.stage_failure {
        redactor.scrub(&mut f.message);
    }
}
