//! Documents a plugin is handed, from a stranger: a URL that redirects elsewhere, a YAML alias
//! bomb, schemas whose patterns look around, refer to themselves or expand without end. A correct
//! API is never failed for what smoke could not make valid, and one odd operation never costs the
//! rest of the document.

use super::run_measured;
use super::server::{Hostile, Reply};
use crate::support::{self, plugin, smoke};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// An OpenAPI 3 document with `GET /health` and these paths (and components).
fn document(paths: Value, schemas: Value) -> String {
    let mut all = json!({
        "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok",
            "content": {"application/json": {"schema": {"type": "object", "required": ["ok"],
                "properties": {"ok": {"type": "boolean"}}}}}}}}}
    });
    for (path, item) in paths.as_object().unwrap() {
        all[path] = item.clone();
    }
    json!({"openapi": "3.0.3", "info": {"title": "hostile", "version": "1"}, "paths": all,
           "components": {"schemas": schemas}})
    .to_string()
}

/// A `POST` operation taking `schema` as its JSON body, answering 201 or 400.
fn post(id: &str, schema: Value) -> Value {
    json!({"post": {"operationId": id,
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
        "responses": {
            "201": {"description": "made", "content": {"application/json": {"schema": {"type": "object"}}}},
            "400": {"description": "refused"}}}})
}

/// `smoke ARGS --plugin openapi --plugin-config spec=URL/openapi.json --base-url URL`.
fn openapi(dir: &std::path::Path, command: &str, url: &str) -> support::Run {
    let mut c = smoke(dir);
    c.arg(command).arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={url}/openapi.json"), "--base-url", url]);
    support::run(c)
}

/// A service serving `doc` and answering `POST path` by `judge` (201 when it holds, else 400).
fn service(doc: String, path: &'static str, judge: fn(&Value) -> bool) -> Hostile {
    Hostile::start(move |seen| match (seen.method.as_str(), seen.target.as_str()) {
        (_, "/openapi.json") => Reply::json(200, &doc),
        (_, "/health") => Reply::json(200, r#"{"ok": true}"#),
        ("POST", p) if p == path => {
            let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
            match judge(&body) {
                true => Reply::json(201, r#"{"id": "1"}"#),
                false => Reply::json(400, r#"{"error": "invalid"}"#),
            }
        }
        _ => Reply::json(404, "{}"),
    })
}

/// `^(?=.*[A-Z])(?=.*\d).{8,}$`, as the service checks it.
fn strong(password: &str) -> bool {
    password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password.chars().count() >= 8
}

#[test]
fn a_password_pattern_that_looks_ahead_gets_a_value_that_meets_it() {
    let schema = json!({"type": "object", "required": ["username", "password"], "properties": {
        "username": {"type": "string", "maxLength": 40},
        "password": {"type": "string", "pattern": "^(?=.*[A-Z])(?=.*\\d).{8,}$"}}});
    let target = service(document(json!({"/users": post("register", schema)}), json!({})), "/users", |b| {
        b["username"].as_str().is_some_and(|u| u.chars().count() <= 40)
            && b["password"].as_str().is_some_and(strong)
    });
    let dir = tempfile::tempdir().unwrap();
    let r = openapi(dir.path(), "run", &target.url);
    assert_eq!(r.code, 0, "a correct API passes: {r}");
    let sent: Vec<String> = target
        .seen()
        .iter()
        .filter(|s| s.method == "POST")
        .filter_map(|s| serde_json::from_slice::<Value>(&s.body).ok())
        .filter_map(|b| b["password"].as_str().map(String::from))
        .collect();
    assert!(sent.iter().any(|p| strong(p)), "the happy path sent a strong password: {sent:?}");
    assert!(sent.iter().any(|p| !strong(p)), "and a scenario sent one the pattern refuses: {sent:?}");
}

#[test]
fn a_pattern_no_value_can_meet_plans_its_scenarios_as_skipped_naming_it() {
    // Upper case required and forbidden at once: no value is valid, so none is sent as valid.
    let schema = json!({"type": "object", "required": ["code"], "properties": {
        "code": {"type": "string", "pattern": "^(?=.*[A-Z])(?!.*[A-Z]).{8,}$"}}});
    let target =
        service(document(json!({"/codes": post("addCode", schema)}), json!({})), "/codes", |_| false);
    let dir = tempfile::tempdir().unwrap();
    let r = openapi(dir.path(), "run", &target.url);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("skipped (as planned"), "{r}");
    assert!(target.seen().iter().all(|s| s.target != "/codes"), "nothing was sent to /codes");
    let plan = openapi(dir.path(), "plan", &target.url);
    assert!(plan.stdout.contains("no value smoke made matches its pattern"), "{plan}");
}

#[test]
fn a_schema_that_refers_to_itself_or_expands_without_end_costs_only_its_operation() {
    let mut laughs = serde_json::Map::new();
    for i in 0..30 {
        let next = json!({"$ref": format!("#/components/schemas/a{}", i + 1)});
        laughs.insert(
            format!("a{i}"),
            json!({"type": "object", "required": ["l", "r"], "properties": {"l": next, "r": next}}),
        );
    }
    laughs.insert("a30".into(), json!({"type": "string"}));
    laughs.insert("Loop".into(), json!({"allOf": [{"$ref": "#/components/schemas/Loop"}]}));
    let doc = document(
        json!({"/loop": post("loop", json!({"$ref": "#/components/schemas/Loop"})),
               "/laughs": post("laughs", json!({"$ref": "#/components/schemas/a0"}))}),
        Value::Object(laughs),
    );
    let target = Hostile::start(move |seen| match seen.target.as_str() {
        "/openapi.json" => Reply::json(200, &doc),
        "/health" => Reply::json(200, r#"{"ok": true}"#),
        _ => Reply::json(400, "{}"),
    });
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let plan = openapi(dir.path(), "plan", &target.url);
    assert_eq!(plan.code, 0, "the document is planned, not refused: {plan}");
    assert!(plan.stdout.len() < 400_000, "the plan stays small: {} bytes", plan.stdout.len());
    assert!(plan.stdout.contains("refers to itself without end"), "{plan}");
    assert!(plan.stdout.contains("would expand past"), "{plan}");
    let r = openapi(dir.path(), "run", &target.url);
    assert_eq!(r.code, 0, "the rest is tested and passes: {r}");
    assert!(r.stdout.contains("1 passed"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[test]
fn a_yaml_alias_bomb_is_refused_in_bounded_memory_and_time() {
    // One flat anchor of 10,000 values aliased 20,000 times: 200 million values from 240 KB.
    let dir = tempfile::tempdir().unwrap();
    // It names another document too, so the host reads it for its `$ref`s before the plugin does.
    let mut text = String::from(
        "openapi: 3.0.3\ninfo: {title: bomb, version: '1'}\nx-ref: {$ref: 'other.yaml#/a'}\nx-a: &a [",
    );
    text.push_str(&vec!["1"; 10_000].join(","));
    text.push_str("]\nx-b: [");
    text.push_str(&vec!["*a"; 20_000].join(","));
    text.push_str("]\npaths: {}\n");
    let spec = dir.path().join("bomb.yaml");
    std::fs::write(&spec, &text).unwrap();
    let started = Instant::now();
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(plugin("openapi"));
    c.arg("--plugin-config").arg(format!("spec={}", spec.display()));
    let (r, peak_mib) = run_measured(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("expands past") || r.stderr.contains("limit"), "says why: {r}");
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(peak_mib < 300, "{peak_mib} MiB");
}

#[test]
fn a_document_url_that_redirects_elsewhere_is_not_followed_and_sends_no_referer() {
    let elsewhere = Hostile::start(|_| Reply::json(200, "{}"));
    let to = format!("{}/stolen.json", elsewhere.url);
    let doc = document(json!({}), json!({}));
    let target = Hostile::start(move |seen| match seen.target.as_str() {
        t if t.starts_with("/openapi.json") => Reply::Raw {
            bytes: format!("HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\n\r\n").into_bytes(),
            close: false,
        },
        t if t.starts_with("/moved.json") => Reply::Raw {
            bytes: b"HTTP/1.1 301 Moved\r\nlocation: /spec.json\r\ncontent-length: 0\r\n\r\n".to_vec(),
            close: false,
        },
        "/spec.json" => Reply::json(200, &doc),
        _ => Reply::json(200, r#"{"ok": true}"#),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={}/openapi.json?private_token=tok-9f2e", target.url)]);
    let r = support::run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("another origin"), "{r}");
    assert!(elsewhere.seen().is_empty(), "the other origin got nothing: {:?}", elsewhere.seen());
    // On its own origin, a redirect is followed, and no request says where it came from.
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={}/moved.json?private_token=tok-9f2e", target.url)]);
    let r = support::run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(target.seen().iter().all(|s| s.header("referer").is_none()), "{:?}", target.seen());
}
