//! A scenario's result as JSON, written directly: byte for byte what its serde derive writes (a
//! test holds it to that), in about half the work, since keys are written as the constants they
//! are and a string with nothing to escape is copied whole. Every finished scenario is encoded
//! once; the rare parts of a result (a tool call, a burst) go through serde as they are.

use super::results::{Failure, Outcome, ScenarioResult, StepResult};
use crate::http::{RequestRecord, ResponseRecord};
use crate::plan::model::Pair;

/// Append `text` as a JSON string, escaped as serde_json escapes it.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

fn number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

fn optional(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(t) => string(out, t),
        None => out.extend_from_slice(b"null"),
    }
}

/// Anything else, through serde.
fn serde(out: &mut Vec<u8>, value: &impl serde::Serialize) {
    serde_json::to_writer(&mut *out, value).expect("a result serializes");
}

fn outcome(o: Outcome) -> &'static [u8] {
    match o {
        Outcome::Passed => b"\"passed\"",
        Outcome::Failed => b"\"failed\"",
        Outcome::Skipped => b"\"skipped\"",
    }
}

fn pairs(out: &mut Vec<u8>, list: &[Pair]) {
    out.push(b'[');
    for (i, p) in list.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        string(out, &p.name);
        out.extend_from_slice(b",\"value\":");
        string(out, &p.value);
        out.push(b'}');
    }
    out.push(b']');
}

fn failure(out: &mut Vec<u8>, f: &Failure) {
    out.extend_from_slice(b"{\"kind\":");
    serde(out, &f.kind);
    out.extend_from_slice(b",\"message\":");
    string(out, &f.message);
    out.push(b'}');
}

fn request(out: &mut Vec<u8>, r: &RequestRecord) {
    out.extend_from_slice(b"{\"method\":");
    string(out, &r.method);
    out.extend_from_slice(b",\"url\":");
    string(out, &r.url);
    out.extend_from_slice(b",\"headers\":");
    pairs(out, &r.headers);
    out.extend_from_slice(b",\"body\":");
    optional(out, r.body.as_deref());
    out.push(b'}');
}

fn response(out: &mut Vec<u8>, r: &ResponseRecord) {
    out.extend_from_slice(b"{\"status\":");
    number(out, u64::from(r.status));
    out.extend_from_slice(b",\"headers\":");
    pairs(out, &r.headers);
    out.extend_from_slice(b",\"body\":");
    optional(out, r.body.as_deref());
    out.extend_from_slice(b",\"latency_ms\":");
    number(out, r.latency_ms);
    if let Some(n) = r.body_bytes {
        out.extend_from_slice(b",\"body_bytes\":");
        number(out, n);
    }
    if r.truncated {
        out.extend_from_slice(b",\"truncated\":true");
    }
    out.push(b'}');
}

fn step(out: &mut Vec<u8>, s: &StepResult) {
    out.extend_from_slice(b"{\"index\":");
    number(out, s.index as u64);
    out.extend_from_slice(b",\"name\":");
    string(out, &s.name);
    out.extend_from_slice(b",\"outcome\":");
    out.extend_from_slice(outcome(s.outcome));
    out.extend_from_slice(b",\"expected\":");
    string(out, &s.expected);
    out.extend_from_slice(b",\"request\":");
    match &s.request {
        Some(r) => request(out, r),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"response\":");
    match &s.response {
        Some(r) => response(out, r),
        None => out.extend_from_slice(b"null"),
    }
    if let Some(call) = &s.tool_call {
        out.extend_from_slice(b",\"tool_call\":");
        serde(out, call);
    }
    out.extend_from_slice(b",\"failures\":[");
    for (i, f) in s.failures.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        failure(out, f);
    }
    out.extend_from_slice(b"],\"verdict\":");
    match &s.verdict {
        Some(v) => serde(out, v),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"captured\":{");
    for (i, (k, v)) in s.captured.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, k);
        out.push(b':');
        string(out, v);
    }
    out.extend_from_slice(b"},\"attempts\":");
    number(out, u64::from(s.attempts));
    out.extend_from_slice(b",\"burst\":");
    match &s.burst {
        Some(b) => serde(out, b),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"duration_ms\":");
    number(out, s.duration_ms);
    if s.trimmed {
        out.extend_from_slice(b",\"trimmed\":true");
    }
    out.push(b'}');
}

/// The result as its derive serializes it, appended to `out`.
pub fn scenario(out: &mut Vec<u8>, r: &ScenarioResult) {
    out.extend_from_slice(b"{\"id\":");
    string(out, &r.id);
    out.extend_from_slice(b",\"plugin\":");
    string(out, &r.plugin);
    out.extend_from_slice(b",\"endpoint\":");
    string(out, &r.endpoint);
    out.extend_from_slice(b",\"kind\":\"");
    out.extend_from_slice(r.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"description\":");
    string(out, &r.description);
    out.extend_from_slice(b",\"tags\":[");
    for (i, t) in r.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        string(out, t);
    }
    out.extend_from_slice(b"],\"outcome\":");
    out.extend_from_slice(outcome(r.outcome));
    out.extend_from_slice(b",\"reason\":");
    optional(out, r.reason.as_deref());
    out.extend_from_slice(b",\"failure\":");
    match &r.failure {
        Some(f) => failure(out, f),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"failed_step\":");
    match r.failed_step {
        Some(i) => number(out, i as u64),
        None => out.extend_from_slice(b"null"),
    }
    if r.dependency_only {
        out.extend_from_slice(b",\"dependency_only\":true");
    }
    out.extend_from_slice(b",\"ready_ms\":");
    number(out, r.ready_ms);
    out.extend_from_slice(b",\"started_ms\":");
    number(out, r.started_ms);
    out.extend_from_slice(b",\"finished_ms\":");
    number(out, r.finished_ms);
    out.extend_from_slice(b",\"duration_ms\":");
    number(out, r.duration_ms);
    out.extend_from_slice(b",\"steps\":[");
    for (i, s) in r.steps.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        step(out, s);
    }
    out.extend_from_slice(b"]}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Results read from JSON and written both ways: a field the derive always writes and this
    /// file does not makes them differ (an optional one must be set here to be compared).
    fn result(value: serde_json::Value) -> ScenarioResult {
        serde_json::from_value(value).unwrap()
    }

    fn same(r: &ScenarioResult) {
        let mut direct = Vec::new();
        scenario(&mut direct, r);
        assert_eq!(String::from_utf8(direct).unwrap(), serde_json::to_string(r).unwrap());
    }

    #[test]
    fn the_direct_json_is_byte_for_byte_the_derives() {
        let tricky =
            "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} del \u{7f} é ✓ \u{2028} </script>";
        let step = json!({
            "index": 0, "name": tricky, "outcome": "failed", "expected": "status 200; /a = \"x\"",
            "request": {"method": "POST", "url": "http://h/x?q=1", "headers": [{"name": "a", "value": tricky}], "body": tricky},
            "response": {"status": 503, "headers": [], "body": null, "latency_ms": 18446744073709551615u64,
                "body_bytes": 9000, "truncated": true},
            "tool_call": {"tool": "t", "request": "{}", "result": null, "error": "e", "latency_ms": 3},
            "failures": [{"kind": "status", "message": tricky}, {"kind": "plugin-limit", "message": ""}],
            "verdict": {"pass": false, "reason": tricky},
            "captured": {"b": "2", "a": tricky},
            "attempts": 4,
            "burst": {"count": 3, "concurrency": 2, "histogram": {"200": 2, "error": 1}, "p50_ms": 1.5, "p95_ms": 2.0, "p99_ms": 0.1},
            "duration_ms": 7, "trimmed": true
        });
        same(&result(json!({
            "id": tricky, "plugin": "p", "endpoint": "GET /x", "kind": "business-rule", "description": tricky,
            "tags": ["a", tricky], "outcome": "failed", "reason": tricky,
            "failure": {"kind": "service-exited", "message": "m"}, "failed_step": 0, "dependency_only": true,
            "ready_ms": 1, "started_ms": 2, "finished_ms": 3, "duration_ms": 0,
            "steps": [step, {"index": 1, "name": "", "outcome": "passed", "expected": "", "request": null,
                "response": null, "failures": [], "verdict": null, "captured": {}, "attempts": 0, "burst": null,
                "duration_ms": 0}]
        })));
        same(&result(json!({
            "id": "a", "plugin": "", "endpoint": "", "kind": "happy-path", "description": "", "tags": [],
            "outcome": "skipped", "reason": null, "failure": null, "failed_step": null,
            "started_ms": 0, "finished_ms": 0, "duration_ms": 0, "steps": []
        })));
        for o in ["passed", "failed", "skipped"] {
            for k in
                ["happy-path", "not-found", "validation-error", "business-rule", "auth", "workflow", "load"]
            {
                same(&result(json!({
                    "id": "a", "plugin": "", "endpoint": "", "kind": k, "description": "", "tags": [],
                    "outcome": o, "reason": null, "failure": null, "failed_step": null,
                    "started_ms": 0, "finished_ms": 0, "duration_ms": 0, "steps": []
                })));
            }
        }
    }
}
