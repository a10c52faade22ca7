//! Recorded checks (`--record-checks DIR`, `smoke dev --record DIR`): each input a plugin's `check`
//! was handed (the argument as resolved, the exchange, the variables, the config) and the verdict
//! it gave, one JSON file per judged step, which the SDKs' testing modules read back
//! (`testing.recorded(path)`), so an author tests a verdict without the service.
//!
//! What is written is redacted as reports are (sensitive headers masked, secret values removed
//! from text, sensitive JSON fields masked); a body that is not UTF-8 is kept as base64, as sent.
//! The format (docs/plugin-guide.md, "Testing a plugin") is `"format": "smoke-check/1"`.

use super::Context;
use crate::http::Redactor;
use crate::plan::model::Pair;
use crate::plugin::contract::{CheckInput, Exchange, ToolExchange, Verdict};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// The format's name and version, the first thing a reader checks.
pub const FORMAT: &str = "smoke-check/1";

/// Write the fixture of one judged step into `dir`: `SCENARIO.stepN.json`.
pub(super) fn record(ctx: &Context, dir: &Path, plugin: &str, input: &CheckInput, verdict: &Verdict) {
    let path = dir.join(file_name(&input.scenario_id, input.step_index));
    let fixture = fixture(&ctx.redactor, plugin, input, verdict);
    let written = crate::files::write_atomically(&path, |out| {
        serde_json::to_writer_pretty(&mut *out, &fixture).map_err(std::io::Error::other)?;
        out.write_all(b"\n")
    });
    if let Err(e) = written {
        tracing::warn!("--record-checks: cannot write {}: {e}", path.display());
    }
}

/// `orders.create.step1.json`: the scenario's id with anything but letters, digits, `.`, `-` and
/// `_` replaced, so an id can never name a path elsewhere.
fn file_name(scenario_id: &str, step_index: u32) -> PathBuf {
    let safe: String = scenario_id
        .chars()
        .take(120)
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
        .collect();
    let safe = safe.trim_start_matches('.');
    PathBuf::from(format!("{safe}.step{}.json", step_index + 1))
}

fn fixture(redactor: &Redactor, plugin: &str, input: &CheckInput, verdict: &Verdict) -> Value {
    let json_of = |text: &str| {
        serde_json::from_str::<Value>(&redactor.text(text))
            .unwrap_or_else(|_| Value::String(redactor.text(text)))
    };
    let config: serde_json::Map<String, Value> =
        input.config.iter().map(|p| (p.name.clone(), Value::String(redactor.text(&p.value)))).collect();
    let variables: serde_json::Map<String, Value> =
        input.variables.iter().map(|p| (p.name.clone(), json_of(&p.value))).collect();
    json!({
        "format": FORMAT,
        "plugin": plugin,
        "scenario_id": input.scenario_id,
        "step_name": input.step_name,
        "step_index": input.step_index,
        "config": config,
        "argument": json_of(&input.argument),
        "variables": variables,
        "exchange": exchange(redactor, &input.exchange),
        "verdict": {"pass": verdict.pass, "reason": redactor.text(&verdict.reason)},
    })
}

fn exchange(redactor: &Redactor, exchange: &Exchange) -> Value {
    let headers =
        |h: &[Pair]| -> Value { redactor.headers(h).into_iter().map(|p| json!([p.name, p.value])).collect() };
    match exchange {
        Exchange::Http { request, response } => json!({
            "kind": "http",
            "request": {
                "method": request.method.as_str(),
                "url": redactor.text(&request.url),
                "headers": headers(&request.headers),
                "body": body(redactor, &request.body),
            },
            "response": {
                "status": response.status,
                "headers": headers(&response.headers),
                "body": body(redactor, &response.body),
                "latency_ms": response.latency_ms,
            },
        }),
        Exchange::ToolCall(call) => tool(redactor, "tool-call", call),
        Exchange::McpRequest(call) => tool(redactor, "mcp-request", call),
    }
}

fn tool(redactor: &Redactor, kind: &str, call: &ToolExchange) -> Value {
    let json_of = |text: &str| serde_json::from_str::<Value>(&redactor.text(text)).unwrap_or(Value::Null);
    json!({
        "kind": kind,
        "tool": call.tool,
        "arguments": json_of(&call.arguments),
        "result": call.result.as_deref().map(json_of),
        "error": call.error.as_ref().map(|e| json!({
            "code": e.code,
            "message": redactor.text(&e.message),
            "data": e.data.as_deref().map(json_of),
        })),
        "latency_ms": call.latency_ms,
    })
}

/// A body as text (redacted), or as base64 when it is not UTF-8 (as sent: bytes are not redacted).
fn body(redactor: &Redactor, bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(_) => json!({"text": redactor.body(bytes).unwrap_or_default()}),
        Err(_) => {
            use base64::Engine;
            json!({"base64": base64::engine::general_purpose::STANDARD.encode(bytes)})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scenario_id_names_a_file_in_the_folder_and_nowhere_else() {
        assert_eq!(file_name("orders.create", 0), PathBuf::from("orders.create.step1.json"));
        assert_eq!(file_name("../../etc/passwd", 2), PathBuf::from("_.._etc_passwd.step3.json"));
        assert_eq!(file_name("a/b c", 1), PathBuf::from("a_b_c.step2.json"));
    }

    #[test]
    fn a_fixture_keeps_the_exchange_with_its_secrets_masked() {
        let mut redactor = Redactor::new();
        redactor.header("authorization");
        redactor.secret("s3cret-token");
        let pair = |n: &str, v: &str| Pair { name: n.into(), value: v.into() };
        let input = CheckInput {
            config: vec![pair("token", "s3cret-token")],
            scenario_id: "s".into(),
            step_name: "GET /x".into(),
            step_index: 0,
            argument: r#"{"rule":"total"}"#.into(),
            exchange: Exchange::Http {
                request: crate::plugin::contract::SentRequest {
                    method: crate::plan::model::Method::Get,
                    url: "http://h/x".into(),
                    headers: vec![pair("Authorization", "Bearer s3cret-token")],
                    body: vec![],
                },
                response: crate::plugin::contract::Response {
                    status: 200,
                    headers: vec![],
                    body: br#"{"echo":"s3cret-token","total":3}"#.to_vec(),
                    latency_ms: 2,
                },
            },
            variables: vec![pair("id", "7")],
        };
        let f = fixture(&redactor, "p", &input, &Verdict { pass: true, reason: "ok".into() });
        let text = f.to_string();
        assert!(!text.contains("s3cret-token"), "{text}");
        assert_eq!(f["format"], FORMAT);
        assert_eq!(f["argument"], json!({"rule": "total"}));
        assert_eq!(f["variables"]["id"], json!(7));
        assert_eq!(f["exchange"]["request"]["headers"][0], json!(["Authorization", "[REDACTED]"]));
        assert_eq!(f["exchange"]["response"]["status"], 200);
        assert!(f["exchange"]["response"]["body"]["text"].as_str().unwrap().contains(r#""total":3"#));
        assert_eq!(f["verdict"], json!({"pass": true, "reason": "ok"}));
    }
}
