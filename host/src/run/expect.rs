//! Host-side judgement of one response against a step's expectation, and captures.
//!
//! Strict by construction: a status outside the accepted set fails, a missing pointer fails, a
//! body that is not JSON fails every body assertion. Each failure says expected versus actual.

use super::body::Body;
use crate::http::Incoming;
use crate::plan::model::{Capture, CaptureSource, Expectation, JsonAssertion, JsonTest, StatusMatch};
use crate::run::results::{Failure, FailureKind};
use crate::run::template::{self, Vars};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Compiled JSON Schemas, by their JSON text: each schema is compiled once per run. Shared with
/// the threads that judge big bodies; a schema whose check overran its time is not run again.
#[derive(Default, Clone)]
pub struct Schemas {
    compiled: Arc<Mutex<HashMap<String, Arc<jsonschema::Validator>>>>,
    overran: Arc<Mutex<std::collections::HashSet<String>>>,
}

impl Schemas {
    /// The compiled validator for a schema, or why it is not a valid schema.
    pub fn get(
        &self,
        schema: &Value,
    ) -> Result<Arc<jsonschema::Validator>, jsonschema::ValidationError<'static>> {
        let key = schema.to_string();
        if let Some(v) = self.compiled.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(v.clone());
        }
        let compiled = Arc::new(jsonschema::validator_for(schema)?);
        self.compiled.lock().unwrap_or_else(|e| e.into_inner()).insert(key, compiled.clone());
        Ok(compiled)
    }

    /// Remember that checking a body against `schema` took longer than its step allowed.
    pub fn overran(&self, schema: &Value) {
        self.overran.lock().unwrap_or_else(|e| e.into_inner()).insert(schema.to_string());
    }

    fn has_overrun(&self, schema: &Value) -> bool {
        let overran = self.overran.lock().unwrap_or_else(|e| e.into_inner());
        !overran.is_empty() && overran.contains(&schema.to_string())
    }
}

/// How many schema mismatches one step reports.
const SCHEMA_ERRORS_SHOWN: usize = 5;

/// Every way `body` breaks `schema`: the JSON pointer, the problem, the rule.
fn schema_failures(schemas: &Schemas, schema: &Value, body: &Value) -> Vec<Failure> {
    if schemas.has_overrun(schema) {
        return vec![Failure::new(
            FailureKind::Timeout,
            "checking an earlier response against this schema overran its step's time (a pattern slow \
             on such bodies?); it is not run again in this run",
        )];
    }
    let validator = match schemas.get(schema) {
        Ok(v) => v,
        Err(e) => {
            return vec![Failure::new(
                FailureKind::Schema,
                format!("the response schema is not a valid JSON Schema: {e}"),
            )];
        }
    };
    let mut failures: Vec<Failure> = validator
        .iter_errors(body)
        .take(SCHEMA_ERRORS_SHOWN + 1)
        .map(|e| {
            let at = e.instance_path().to_string();
            let at = if at.is_empty() { "the body".to_string() } else { format!("{at:?}") };
            Failure::new(
                FailureKind::Schema,
                format!("{at} does not match the schema: {e} (rule `{}`)", e.kind().keyword()),
            )
        })
        .collect();
    if failures.len() > SCHEMA_ERRORS_SHOWN {
        failures.truncate(SCHEMA_ERRORS_SHOWN);
        failures.push(Failure::new(FailureKind::Schema, "… and more schema mismatches"));
    }
    failures
}

/// Every way the response fails the expectation; empty when it holds. The plugin's `check` is
/// not called here (see the scheduler): it runs only when this list is empty.
pub fn judge(expect: &Expectation, vars: &Vars, response: &Incoming, schemas: &Schemas) -> Vec<Failure> {
    let mut failures = Vec::new();
    if let Some(oversize) = &response.oversize {
        // Nothing about a body cut short can be judged: its status alone would be a pass by accident.
        failures.push(Failure::new(
            FailureKind::BodyTooLarge,
            format!("status {}, but {oversize}", response.status),
        ));
        return failures;
    }
    if !expect.status.iter().any(|m| m.matches(response.status)) {
        failures.push(Failure::new(
            FailureKind::Status,
            format!(
                "status {} is not an accepted status (expected {})",
                response.status,
                list(&expect.status)
            ),
        ));
        // With the wrong status, body assertions mostly restate the same failure.
        return failures;
    }
    for h in &expect.headers {
        match response.header_text(&h.name) {
            None => {
                failures.push(Failure::new(FailureKind::Header, format!("header {:?} is missing", h.name)))
            }
            Some(actual) if !h.value.is_empty() => match template::render(&h.value, vars) {
                // Byte for byte: a value that is not UTF-8 equals no text.
                Ok(expected) if actual.as_deref() != Ok(expected.as_str()) => failures.push(Failure::new(
                    FailureKind::Header,
                    match actual {
                        Ok(text) => format!("header {:?} is {text:?}, expected {expected:?}", h.name),
                        Err(not_text) => format!("header {:?} is {not_text}, expected {expected:?}", h.name),
                    },
                )),
                Ok(_) => {}
                Err(e) => {
                    failures.push(Failure::new(FailureKind::Template, format!("header {:?}: {e}", h.name)))
                }
            },
            Some(_) => {}
        }
    }
    if !expect.body.is_empty() || expect.schema.is_some() {
        match Body::read(&response.body, expect.schema.is_some()) {
            Err(e) => failures.push(Failure::new(
                if expect.body.is_empty() { FailureKind::Schema } else { FailureKind::Assertion },
                format!(
                    "body is not JSON ({e}), so its {} cannot hold: {}",
                    if expect.schema.is_some() { "schema and assertions" } else { "assertions" },
                    excerpt(&response.body)
                ),
            )),
            Ok(body) => {
                for a in &expect.body {
                    if let Some(f) = assertion(&body, &a.pointer, &a.test, vars) {
                        failures.push(Failure::new(FailureKind::Assertion, f));
                    }
                }
                if let Some(schema) = &expect.schema {
                    match body.value() {
                        Some(value) => failures.extend(schema_failures(schemas, schema, value)),
                        None => failures.push(Failure::new(
                            FailureKind::Schema,
                            "the body holds a number beyond what the schema validator reads (beyond 64-bit \
                             integers or double precision); its schema cannot be checked",
                        )),
                    }
                }
            }
        }
    }
    if let Some(limit) = expect.max_latency_ms
        && response.latency.as_millis() > u128::from(limit)
    {
        failures.push(Failure::new(
            FailureKind::Latency,
            format!("took {} ms, over the limit of {limit} ms", response.latency.as_millis()),
        ));
    }
    failures
}

/// Every way a tool's result JSON fails its assertions and schema.
pub fn judge_result(
    assertions: &[JsonAssertion],
    schema: Option<&Value>,
    json: &Value,
    vars: &Vars,
    schemas: &Schemas,
) -> Vec<Failure> {
    let mut failures = Vec::new();
    let text = json.to_string();
    match Body::read(text.as_bytes(), false) {
        Err(e) => failures.push(Failure::new(FailureKind::Assertion, format!("the result is not JSON: {e}"))),
        Ok(body) => {
            for a in assertions {
                if let Some(f) = assertion(&body, &a.pointer, &a.test, vars) {
                    failures
                        .push(Failure::new(FailureKind::Assertion, f.replacen("the body", "the result", 1)));
                }
            }
        }
    }
    if let Some(schema) = schema {
        failures.extend(schema_failures(schemas, schema, json));
    }
    failures
}

/// Extract captures from a tool's result JSON into `vars`.
pub fn capture_result(captures: &[Capture], json: Option<&Value>, vars: &mut Vars) -> Vec<Failure> {
    let mut failures = Vec::new();
    for c in captures {
        let CaptureSource::Body(pointer) = &c.source else { continue };
        match json.and_then(|j| j.pointer(pointer)) {
            Some(v) => {
                vars.insert(c.name.clone(), v.clone());
            }
            None if json.is_none() => failures.push(Failure::new(
                FailureKind::Capture,
                format!(
                    "cannot capture {:?}: the result holds no JSON (no structuredContent, no JSON text)",
                    c.name
                ),
            )),
            None => failures.push(Failure::new(
                FailureKind::Capture,
                format!("cannot capture {:?}: the result has nothing at {pointer:?}", c.name),
            )),
        }
    }
    failures
}

fn assertion(body: &Body<'_>, pointer: &str, test: &JsonTest, vars: &Vars) -> Option<String> {
    let found = body.at(pointer);
    // Where, in words: only written when the assertion fails.
    let at = || if pointer.is_empty() { "the body".to_string() } else { format!("{pointer:?}") };
    match (test, found) {
        (JsonTest::Exists, Some(_)) | (JsonTest::Absent, None) => None,
        (JsonTest::Exists, None) => Some(format!("{} is missing, expected it to exist", at())),
        (JsonTest::Absent, Some(v)) => Some(format!("{} is {}, expected it to be absent", at(), short(&v))),
        (JsonTest::Equals(expected), found) => {
            // A value without a template is compared as it is, not copied to be rendered.
            let rendered;
            let expected = if template::has_templates(expected) {
                rendered = match template::render_json(expected, vars) {
                    Ok(v) => v,
                    Err(e) => return Some(format!("{}: {e}", at())),
                };
                &rendered
            } else {
                expected
            };
            match found {
                Some(actual) if actual.equals(expected) => None,
                Some(actual) => Some(format!("{} is {}, expected {}", at(), short(&actual), short(expected))),
                None => Some(format!("{} is missing, expected {}", at(), short(expected))),
            }
        }
        (JsonTest::Length(n), Some(f)) if f.array_len() == Some(*n as usize) => None,
        (JsonTest::Length(n), Some(f)) if f.array_len().is_some() => {
            Some(format!("{} has {} item(s), expected {n}", at(), f.array_len().unwrap_or_default()))
        }
        (JsonTest::Length(n), Some(v)) => {
            Some(format!("{} is {}, expected an array of {n}", at(), short(&v)))
        }
        (JsonTest::Length(n), None) => Some(format!("{} is missing, expected an array of {n}", at())),
    }
}

/// Extract captures into `vars`. A capture that finds nothing is a failure: later steps would
/// otherwise run with a hole in them.
pub fn capture(captures: &[Capture], response: &Incoming, vars: &mut Vars) -> Vec<Failure> {
    let mut failures = Vec::new();
    let body = match captures.iter().any(|c| matches!(c.source, CaptureSource::Body(_))) {
        true => Body::read(&response.body, false).ok(),
        false => None,
    };
    for c in captures {
        let value = match &c.source {
            CaptureSource::Body(pointer) => match &body {
                None => {
                    failures.push(Failure::new(
                        FailureKind::Capture,
                        format!("cannot capture {:?}: the body is not JSON", c.name),
                    ));
                    continue;
                }
                Some(b) => b
                    .capture(pointer)
                    .ok_or_else(|| format!("cannot capture {:?}: body has nothing at {pointer:?}", c.name)),
            },
            CaptureSource::Header(name) => match response.header_text(name) {
                Some(Ok(v)) => Ok(Value::String(v.to_string())),
                Some(Err(_)) => Err(format!("cannot capture {:?}: the {name:?} header is not UTF-8", c.name)),
                None => Err(format!("cannot capture {:?}: no {name:?} header", c.name)),
            },
        };
        match value {
            Ok(v) => {
                vars.insert(c.name.clone(), v);
            }
            Err(f) => failures.push(Failure::new(FailureKind::Capture, f)),
        }
    }
    failures
}

fn list(statuses: &[StatusMatch]) -> String {
    match statuses {
        [] => "none (the plan accepts no status)".into(),
        [one] => one.to_string(),
        many => {
            let parts: Vec<String> = many.iter().map(StatusMatch::to_string).collect();
            format!("one of {}", parts.join(", "))
        }
    }
}

fn short(v: &impl std::fmt::Display) -> String {
    let text = v.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// The first bytes of a body, as text, for messages.
pub fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return "(empty body)".into();
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    let mut s: String = text.chars().take(200).collect();
    if s.len() < body.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::{JsonAssertion, Pair};
    use serde_json::json;
    use std::time::Duration;

    fn response(status: u16, body: Value) -> Incoming {
        Incoming {
            not_utf8: vec![],
            status,
            headers: vec![Pair { name: "Location".into(), value: "/x/1".into() }],
            body: body.to_string().into_bytes(),
            latency: Duration::from_millis(3),
            oversize: None,
            retried: None,
            connection: None,
        }
    }

    fn messages(failures: Vec<Failure>) -> Vec<String> {
        failures.into_iter().map(|f| f.message).collect()
    }

    fn expect(status: &[u16], body: Vec<JsonAssertion>) -> Expectation {
        Expectation {
            status: status.iter().copied().map(StatusMatch::Code).collect(),
            body,
            headers: vec![],
            schema: None,
            max_latency_ms: None,
            check: None,
        }
    }

    #[test]
    fn a_404_passes_only_where_404_is_listed() {
        let r = response(404, json!({"error": "not_found"}));
        assert_eq!(judge(&expect(&[404], vec![]), &Vars::new(), &r, &Schemas::default()), vec![]);
        let f = judge(&expect(&[200], vec![]), &Vars::new(), &r, &Schemas::default());
        assert_eq!(
            f,
            vec![Failure::new(FailureKind::Status, "status 404 is not an accepted status (expected 200)")]
        );
    }

    #[test]
    fn pointer_tests_report_expected_and_actual() {
        let r = response(200, json!({"id": "a", "items": [1, 2], "n": 3}));
        let mut vars = Vars::new();
        vars.insert("id".into(), json!("a"));
        let assertions = vec![
            JsonAssertion { pointer: "/id".into(), test: JsonTest::Equals(json!("{{id}}")) },
            JsonAssertion { pointer: "/n".into(), test: JsonTest::Equals(json!(4)) },
            JsonAssertion { pointer: "/items".into(), test: JsonTest::Length(3) },
            JsonAssertion { pointer: "/gone".into(), test: JsonTest::Exists },
            JsonAssertion { pointer: "/id".into(), test: JsonTest::Absent },
        ];
        let f = messages(judge(&expect(&[200], assertions), &vars, &r, &Schemas::default()));
        assert_eq!(
            f,
            vec![
                "\"/n\" is 3, expected 4".to_string(),
                "\"/items\" has 2 item(s), expected 3".to_string(),
                "\"/gone\" is missing, expected it to exist".to_string(),
                "\"/id\" is \"a\", expected it to be absent".to_string(),
            ]
        );
    }

    #[test]
    fn non_json_bodies_fail_body_assertions() {
        let r = Incoming {
            not_utf8: vec![],
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
            latency: Duration::ZERO,
            oversize: None,
            retried: None,
            connection: None,
        };
        let a = vec![JsonAssertion { pointer: "/id".into(), test: JsonTest::Exists }];
        assert_eq!(judge(&expect(&[200], a), &Vars::new(), &r, &Schemas::default()).len(), 1);
    }

    #[test]
    fn schema_mismatches_name_the_pointer_and_the_rule() {
        let r = response(200, json!({"id": 7, "items": [{"price": -1}]}));
        let mut e = expect(&[200], vec![]);
        e.schema = Some(json!({
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": {"type": "string"}, "items": {"type": "array", "items": {"properties": {"price": {"minimum": 0}}}}}
        }));
        let f = messages(judge(&e, &Vars::new(), &r, &Schemas::default()));
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(
            f.iter().any(|m| m.starts_with("the body does not match") && m.contains("`required`")),
            "{f:?}"
        );
        assert!(f.iter().any(|m| m.starts_with("\"/id\"") && m.contains("`type`")), "{f:?}");
        assert!(f.iter().any(|m| m.starts_with("\"/items/0/price\"") && m.contains("`minimum`")), "{f:?}");
        let ok = response(200, json!({"id": "a", "name": "n"}));
        assert!(judge(&e, &Vars::new(), &ok, &Schemas::default()).is_empty());
    }

    #[test]
    fn a_big_integer_read_as_a_float_still_compares_exactly() {
        let r = Incoming {
            not_utf8: vec![],
            status: 200,
            headers: vec![],
            body: br#"{"big": 18446744073709551617, "f": 0.1, "list": [1, 2]}"#.to_vec(),
            latency: Duration::ZERO,
            oversize: None,
            retried: None,
            connection: None,
        };
        let rounded: Value = serde_json::from_str("18446744073709551616").unwrap();
        let check = |pointer: &str, test: JsonTest| {
            judge(
                &expect(&[200], vec![JsonAssertion { pointer: pointer.into(), test }]),
                &Vars::new(),
                &r,
                &Schemas::default(),
            )
        };
        assert_eq!(check("/big", JsonTest::Equals(rounded)).len(), 1, "no pass by rounding");
        assert!(check("/f", JsonTest::Equals(json!(0.1))).is_empty());
        assert!(check("/list", JsonTest::Length(2)).is_empty());
        assert_eq!(check("/list", JsonTest::Equals(json!([1.0, 2.0]))), vec![], "1.0 is 1");
    }

    #[test]
    fn a_body_over_the_limit_fails_whatever_its_status() {
        let mut r = response(200, json!({}));
        r.oversize = Some(crate::http::Oversize { limit: 10, declared: Some(200) });
        let f = judge(&expect(&[200], vec![]), &Vars::new(), &r, &Schemas::default());
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, FailureKind::BodyTooLarge);
        assert!(f[0].message.contains("200 bytes, over the limit of 10 bytes"), "{f:?}");
    }

    #[test]
    fn captures_fill_vars_and_report_holes() {
        let r = response(201, json!({"id": 7}));
        let mut vars = Vars::new();
        let caps = vec![
            Capture { name: "id".into(), source: CaptureSource::Body("/id".into()) },
            Capture { name: "loc".into(), source: CaptureSource::Header("location".into()) },
            Capture { name: "nope".into(), source: CaptureSource::Body("/nope".into()) },
        ];
        let f = capture(&caps, &r, &mut vars);
        assert_eq!(vars["id"], json!(7));
        assert_eq!(vars["loc"], json!("/x/1"));
        assert_eq!(f.len(), 1);
    }
}
