//! Helpers for a plugin's own unit tests (run natively with `cargo test`).

use crate::{
    CheckInput, Exchange, HostInfo, HttpExchange, Method, Pair, Plan, PlanInput, Plugin, Response, RpcError,
    SentRequest, ToolExchange, Verdict,
};
use serde::Serialize;
use serde_json::Value;

/// Plan twice with `input` and assert what every plugin owes the host: the same plan both times
/// (no clock, no randomness), and no scenario id used twice. Returns the plan for further checks.
pub fn assert_deterministic_plan<P: Plugin>(input: PlanInput) -> Plan {
    let a = match P::plan(input.clone()) {
        Ok(plan) => plan,
        Err(e) => panic!("planning failed: {} (at {:?})", e.message, e.location),
    };
    let b = P::plan(input).unwrap_or_else(|e| panic!("planning failed the second time: {}", e.message));
    assert_eq!(a, b, "two plans from the same input differ");
    let mut seen = std::collections::BTreeSet::new();
    for s in &a.scenarios {
        assert!(seen.insert(s.id.as_str()), "scenario id {:?} is used twice", s.id);
    }
    a
}

/// The host as a test sees it: this SDK's contract version and every optional feature of it.
pub fn host() -> HostInfo {
    HostInfo {
        version: "test".into(),
        contract: crate::WIT_VERSION.into(),
        features: [
            "method.other",
            "body.form",
            "body.multipart",
            "body.bytes",
            "status.class",
            "mode.poll",
            "mode.burst",
            "needs",
            "action.tool-call",
            "action.mcp-request",
            "tag.skip",
            "tag.not-planned",
            "tag.seeded",
            "template.last-segment",
            "template.run",
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// No config and no documents.
pub fn empty_input() -> PlanInput {
    PlanInput { host: host(), config: vec![], documents: vec![] }
}

/// A check input for an HTTP exchange, to test `check` natively: the step's `argument`, and a
/// `GET` answered with `status` and `body`. Its fields are the contract's, so a test adds what it
/// needs to `variables` (values as JSON text), `config` or the response's headers.
///
/// # Panics
/// When the argument cannot be serialized to JSON, as [`crate::Step::check`] does.
pub fn check_input(argument: impl Serialize, status: u16, body: &str) -> CheckInput {
    CheckInput {
        config: vec![],
        scenario_id: "test".into(),
        step_name: "test".into(),
        step_index: 0,
        argument: serde_json::to_string(&argument).expect("a check argument serializes to JSON"),
        exchange: Exchange::Http(HttpExchange {
            request: SentRequest {
                method: Method::Get,
                url: "http://127.0.0.1/test".into(),
                headers: vec![],
                body: vec![],
            },
            response: Response { status, headers: vec![], body: body.as_bytes().to_vec(), latency_ms: 1 },
        }),
        variables: vec![],
    }
}

/// The format of a recorded check, the first thing [`recorded`] checks.
pub const FIXTURE_FORMAT: &str = "smoke-check/1";

/// A check input smoke recorded (`smoke dev --record DIR`, `smoke run --record-checks DIR`), and
/// the verdict the plugin gave it then: test `check` on a real exchange without the service.
///
/// ```text
/// let (input, then) = recorded("fixtures/orders.create.step2.json");
/// assert_eq!(MyPlugin::check(input), then);
/// ```
///
/// # Panics
/// When the file cannot be read or is not a recorded check: a test's fixture is part of the test.
pub fn recorded(path: impl AsRef<std::path::Path>) -> (CheckInput, Verdict) {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
    assert_eq!(f["format"], FIXTURE_FORMAT, "{}: not a recorded check", path.display());
    let text_of = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let pairs = |v: &Value| -> Vec<Pair> {
        let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
        list.iter().map(|p| Pair { name: text_of(&p[0]), value: text_of(&p[1]) }).collect()
    };
    let body = |v: &Value| match v.get("text") {
        Some(t) => text_of(t).into_bytes(),
        None => decode_base64(v["base64"].as_str().unwrap_or_default()),
    };
    let json_text = |v: &Value| (!v.is_null()).then(|| v.to_string());
    let x = &f["exchange"];
    let exchange = match x["kind"].as_str() {
        Some("http") => Exchange::Http(HttpExchange {
            request: SentRequest {
                method: method(&text_of(&x["request"]["method"])),
                url: text_of(&x["request"]["url"]),
                headers: pairs(&x["request"]["headers"]),
                body: body(&x["request"]["body"]),
            },
            response: Response {
                status: x["response"]["status"].as_u64().unwrap_or(0) as u16,
                headers: pairs(&x["response"]["headers"]),
                body: body(&x["response"]["body"]),
                latency_ms: x["response"]["latency_ms"].as_u64().unwrap_or(0) as u32,
            },
        }),
        kind => {
            let call = ToolExchange {
                tool: text_of(&x["tool"]),
                arguments: x["arguments"].to_string(),
                result: json_text(&x["result"]),
                error: x["error"].as_object().map(|e| RpcError {
                    code: e.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: e.get("message").map(text_of).unwrap_or_default(),
                    data: e.get("data").and_then(json_text),
                }),
                latency_ms: x["latency_ms"].as_u64().unwrap_or(0) as u32,
            };
            if kind == Some("mcp-request") { Exchange::McpRequest(call) } else { Exchange::ToolCall(call) }
        }
    };
    let object_pairs = |v: &Value, as_json: bool| -> Vec<Pair> {
        let map = v.as_object().cloned().unwrap_or_default();
        map.into_iter()
            .map(|(name, value)| Pair {
                value: if as_json { value.to_string() } else { text_of(&value) },
                name,
            })
            .collect()
    };
    let input = CheckInput {
        config: object_pairs(&f["config"], false),
        scenario_id: text_of(&f["scenario_id"]),
        step_name: text_of(&f["step_name"]),
        step_index: f["step_index"].as_u64().unwrap_or(0) as u32,
        argument: f["argument"].to_string(),
        exchange,
        variables: object_pairs(&f["variables"], true),
    };
    let verdict = Verdict {
        pass: f["verdict"]["pass"].as_bool().unwrap_or(false),
        reason: text_of(&f["verdict"]["reason"]),
    };
    (input, verdict)
}

fn method(token: &str) -> Method {
    match token {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        other => Method::Other(other.to_string()),
    }
}

/// Standard base64 (what smoke writes for a body that is not UTF-8), without a dependency.
fn decode_base64(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut bits, mut count) = (0u32, 0);
    for c in text.bytes().filter(|&c| c != b'=') {
        let Some(v) = ALPHABET.iter().position(|&a| a == c) else { continue };
        bits = (bits << 6) | v as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{check_input, recorded};
    use serde_json::json;

    #[test]
    fn a_recorded_check_reads_back_as_the_host_handed_it() {
        let dir = std::env::temp_dir().join(format!("smoke-plugin-recorded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.step1.json");
        let fixture = json!({
            "format": "smoke-check/1", "plugin": "p", "scenario_id": "s", "step_name": "POST /o", "step_index": 0,
            "config": {"token": "[REDACTED]"}, "argument": {"rule": "total", "limit": 3},
            "variables": {"order_id": 7},
            "exchange": {"kind": "http",
                "request": {"method": "POST", "url": "http://h/o", "headers": [["content-type", "application/json"]],
                            "body": {"text": "{}"}},
                "response": {"status": 201, "headers": [], "body": {"base64": "eyJ0b3RhbCI6IDd9"}, "latency_ms": 4}},
            "verdict": {"pass": false, "reason": "total 7 over 3"}
        });
        std::fs::write(&path, fixture.to_string()).unwrap();
        let (input, then) = recorded(&path);
        std::fs::remove_dir_all(&dir).unwrap();
        let (rule, argument) = input.rule().expect("the argument names a rule");
        assert_eq!((rule.as_str(), &argument["limit"]), ("total", &json!(3)));
        assert_eq!(input.response().status, 201);
        assert_eq!(input.response_json(), Some(json!({"total": 7})), "a base64 body decodes");
        assert_eq!(input.variables[0].value, "7");
        assert_eq!((then.pass, then.reason.as_str()), (false, "total 7 over 3"));
    }

    #[test]
    fn a_check_input_reads_back_as_the_step_gave_it() {
        let input = check_input(json!({"rule": "total", "limit": 3}), 201, r#"{"total": 7}"#);
        let (rule, argument) = input.rule().expect("the argument names a rule");
        assert_eq!((rule.as_str(), &argument["limit"]), ("total", &json!(3)));
        assert_eq!(input.response().status, 201);
        assert_eq!(input.response_json(), Some(json!({"total": 7})));
    }
}
