//! Plugins built for contract 0.1.0 keep running on a host that binds 0.2.0: the frozen 0.1.0
//! builds of the ledger and ecommerce plugins (tests/fixtures/v0.1.0) go through the same fault
//! matrix as today's builds, and run beside 0.2.0 plugins in one run.

use crate::matrix::fault_matrix_of;
use crate::support::{self, Ledger, plugin, run, smoke};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    let path = support::root().join(format!("tests/fixtures/v0.1.0/{name}.wasm"));
    assert!(path.is_file(), "{} is missing: it is committed", path.display());
    path
}

/// The example's smoke.toml with its plugin replaced by the 0.1.0 fixture, written beside a
/// temporary directory (relative paths made absolute).
fn config_with_fixture(example: &str, plugin_name: &str, dir: &Path) -> PathBuf {
    let root = support::root();
    let text = std::fs::read_to_string(root.join(format!("examples/{example}/smoke.toml"))).unwrap();
    let built = format!("\"../../target/wasm32-wasip2/release/{plugin_name}.wasm\"");
    assert!(text.contains(&built), "examples/{example}/smoke.toml names {built}");
    let text = text
        .replace(&built, &format!("{:?}", fixture(plugin_name).display().to_string()))
        .replace("\"../../", &format!("\"{}/", root.display()))
        .replace(":-../../", &format!(":-{}/", root.display()));
    let path = dir.join("smoke.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_0_1_0_ledger_plugin_passes_and_catches_every_ledger_fault() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_fixture("ledger-api", "ledger", dir.path());
    assert_eq!(fault_matrix_of("ledger-api", &config, 8), (8, 8));
}

#[test]
fn the_0_1_0_ecommerce_plugin_still_judges_through_check_and_catches_every_shop_fault() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_fixture("shop-api", "ecommerce", dir.path());
    assert_eq!(fault_matrix_of("shop-api", &config, 8), (8, 8));
}

#[test]
fn a_0_1_0_plugin_and_a_0_2_0_plugin_run_in_the_same_run() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(fixture("ledger")).args(["--plugin-config", "token=smoke-ledger-token"]);
    c.arg("--plugin").arg(plugin("guide-example"));
    c.args(["--base-url", &ledger.url, "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let wit: Vec<(String, String)> = report["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["wit"].as_str().unwrap().to_string()))
        .collect();
    assert!(wit.contains(&("ledger".into(), "0.1.0".into())), "{wit:?}");
    assert!(wit.contains(&("hello".into(), "0.2.0".into())), "{wit:?}");
    let passed = |plugin: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["plugin"] == plugin && s["outcome"] == "passed")
            .count()
    };
    assert!(passed("ledger") >= 30, "the 0.1.0 ledger plugin's scenarios ran: {r}");
    assert_eq!(passed("hello"), 1, "{r}");
}

#[test]
fn contract_0_2_escape_hatches_reach_the_service_as_planned() {
    use crate::hostile::server::{Hostile, Reply};
    let server = Hostile::start(|seen| match (seen.method.as_str(), seen.target.as_str()) {
        ("PROPFIND", "/dav") => Reply::json(207, "{}"),
        ("POST", "/form") => Reply::json(200, "{}"),
        ("POST", "/upload") => Reply::json(201, "{}"),
        ("PUT", "/blob") => Reply::Send { status: 204, content_type: "text/plain", body: Vec::new() },
        _ => Reply::json(404, r#"{"error": "not_found"}"#),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("escape-hatches")).args(["--base-url", &server.url, "--jobs", "1"]);
    let r = run(c);
    assert_eq!(r.code, 1, "exactly the scenario that gets a 404 for a 2xx class fails:\n{r}");
    for id in ["hatches.propfind", "hatches.form", "hatches.multipart", "hatches.bytes"] {
        assert!(r.stdout.contains(&format!("PASS  {id}")), "{id}:\n{r}");
    }
    assert!(r.stdout.contains("FAIL  hatches.class-refuses"), "{r}");
    assert!(r.stdout.contains("status 404 is not an accepted status (expected 2xx)"), "{r}");

    let seen = server.seen();
    let find = |method: &str, target: &str| {
        seen.iter()
            .find(|s| s.method == method && s.target == target)
            .unwrap_or_else(|| panic!("no {method} {target}: {seen:?}"))
    };
    find("PROPFIND", "/dav");
    let form = find("POST", "/form");
    assert_eq!(form.header("content-type"), Some("application/x-www-form-urlencoded"));
    assert_eq!(form.body, b"name=a+b%26c&n=1");
    let upload = find("POST", "/upload");
    let content_type = upload.header("content-type").unwrap();
    let boundary = content_type.strip_prefix("multipart/form-data; boundary=").expect(content_type);
    let mut expected = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"title\"\r\ncontent-type: text/plain; charset=utf-8\r\n\r\nhello\r\n\
         --{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\ncontent-type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    expected.extend_from_slice(&[0, 1, 2, 255]);
    expected.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    assert_eq!(upload.body, expected, "{}", String::from_utf8_lossy(&upload.body));
    let blob = find("PUT", "/blob");
    assert_eq!(blob.header("content-type"), Some("application/octet-stream"));
    assert_eq!(blob.body, [0xde, 0xad, 0xbe, 0xef]);
}

#[test]
fn a_plan_with_the_new_body_kinds_round_trips_through_a_file_that_the_schema_accepts() {
    use crate::hostile::server::{Hostile, Reply};
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["plan", "--plugin"]).arg(plugin("escape-hatches"));
    let planned = run(c);
    assert_eq!(planned.code, 0, "{planned}");
    let plan: Value = serde_json::from_str(&planned.stdout).unwrap();
    let step = |id: &str| {
        let s = plan["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        s["steps"][0].clone()
    };
    assert_eq!(step("hatches.propfind")["request"]["method"], "PROPFIND");
    assert_eq!(step("hatches.propfind")["expect"]["status"], serde_json::json!(["2xx"]));
    assert_eq!(step("hatches.bytes")["request"]["body"]["value"]["content"], "3q2+7w==");
    let file = dir.path().join("plan.json");
    std::fs::write(&file, &planned.stdout).unwrap();

    // The schema users validate plan files with accepts it.
    let python = support::root().join("target/test-deps/venv/bin/python");
    let mut validate = std::process::Command::new(&python);
    validate.args([
        "-c",
        "import json, sys, jsonschema; jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))",
    ]);
    validate.arg(support::root().join("docs/plan-schema.json")).arg(&file);
    let checked = run(validate);
    assert_eq!(checked.code, 0, "{checked}");

    // And the file runs as the plugin's plan does (its check still asks the plugin).
    let server = Hostile::start(|seen| match seen.method.as_str() {
        "PROPFIND" => Reply::json(207, "{}"),
        "POST" if seen.target == "/form" => Reply::json(200, "{}"),
        "POST" => Reply::json(201, "{}"),
        "PUT" => Reply::Send { status: 204, content_type: "text/plain", body: Vec::new() },
        _ => Reply::json(404, "{}"),
    });
    let mut c = smoke(dir.path());
    c.args(["run", "--plan"]).arg(&file).arg("--plugin").arg(plugin("escape-hatches"));
    c.args(["--base-url", &server.url]);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("4 passed, 1 failed"), "{r}");
    assert!(r.stdout.contains("FAIL  hatches.class-refuses"), "{r}");
}

#[test]
fn a_plan_file_asking_a_plugin_for_what_its_contract_cannot_take_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["plan", "--plugin"]).arg(plugin("escape-hatches"));
    let planned = run(c);
    assert_eq!(planned.code, 0, "{planned}");
    let mut plan: Value = serde_json::from_str(&planned.stdout).unwrap();
    // A 0.2 plugin's check argument that is not JSON.
    let form =
        plan["scenarios"].as_array_mut().unwrap().iter_mut().find(|s| s["id"] == "hatches.form").unwrap();
    form["steps"][0]["expect"]["check"] = Value::String("not json".into());
    // A 0.1 plugin asked to judge a method its contract cannot name.
    plan["scenarios"].as_array_mut().unwrap().push(serde_json::json!({
        "id": "old.propfind", "plugin": "ledger", "endpoint": "PROPFIND /dav", "kind": "happy-path",
        "steps": [{"request": {"method": "PROPFIND", "path": "/dav"}, "expect": {"status": ["2xx"], "check": "{}"}}]
    }));
    let file = dir.path().join("plan.json");
    std::fs::write(&file, plan.to_string()).unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--plan"]).arg(&file);
    c.arg("--plugin").arg(plugin("escape-hatches")).arg("--plugin").arg(fixture("ledger"));
    c.args(["--plugin-config", "token=x", "--base-url", "http://127.0.0.1:9"]);
    let r = run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr.contains("the check argument for plugin \"hatches\" (smoke:plugin@0.2.0) must be JSON"),
        "{r}"
    );
    assert!(
        r.stderr.contains("a PROPFIND request, a method its contract (smoke:plugin@0.1.0) cannot name"),
        "{r}"
    );
}
