//! Reports people read and machines trust: the transcript, triage and reruns of failures.

use crate::support::{Ledger, plugin, run, smoke};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const LEDGER_CONFIG: &str = "examples/ledger-api/smoke.toml";

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(report: &Value) -> BTreeSet<String> {
    report["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_transcript_has_every_exchange_in_send_order_and_no_secret() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let (transcript, json) = (dir.path().join("t.jsonl"), dir.path().join("r.json"));
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("ledger")).arg("--plugin").arg(plugin("engine"));
    c.args(["--base-url", &ledger.url, "--transcript"]).arg(&transcript).arg("--report-json").arg(&json);
    let r = run(c);
    assert_eq!(r.code, 1, "the engine plugin has two scenarios built to fail:\n{r}");
    let text = std::fs::read_to_string(&transcript).unwrap();
    assert!(!text.contains("smoke-ledger-token"), "the transcript leaks the token");
    let lines: Vec<Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let seqs: Vec<u64> = lines.iter().map(|l| l["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=lines.len() as u64).collect::<Vec<_>>(), "one line per exchange, in send order");
    // Every request the report knows of is in the transcript: seeds, steps, poll attempts, burst copies.
    let report = report(&json);
    let expected: u64 = report["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"]["attempts"].as_u64().unwrap())
        .sum::<u64>()
        + report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["steps"].as_array().unwrap().iter())
            .map(|s| s["attempts"].as_u64().unwrap())
            .sum::<u64>();
    assert_eq!(lines.len() as u64, expected);
    let burst: Vec<&Value> = lines.iter().filter(|l| l["scenario"] == "engine.burst.healthy").collect();
    assert_eq!(burst.len(), 40, "each burst copy is an exchange");
    let seed =
        lines.iter().find(|l| l["scenario"] == "seed account.cash").expect("seeds are in the transcript");
    assert_eq!(seed["request"]["method"], "PUT");
    assert_eq!(seed["response"]["status"], 201);
    assert_eq!(seed["request"]["headers"][1]["value"], "[REDACTED]", "{seed}");
}

fn plan_file(dir: &std::path::Path) -> std::path::PathBuf {
    let happy = |id: &str, path: &str| {
        json!({"id": id, "endpoint": format!("GET {path}"), "kind": "happy-path",
               "steps": [{"request": {"method": "GET", "path": path}, "expect": {"status": [200]}}]})
    };
    let path = dir.join("plan.json");
    let plan = json!({"scenarios": [happy("a", "/health"), happy("b", "/health/deep"), happy("c", "/health/ready")]});
    std::fs::write(&path, plan.to_string()).unwrap();
    path
}

#[test]
fn triage_names_a_wrong_base_path_a_dead_service_and_server_errors_and_is_silent_when_all_pass() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let plan = plan_file(dir.path());
    let triage_of = |base: &str| {
        let json = dir.path().join("r.json");
        let mut c = smoke(dir.path());
        c.arg("run").arg("--plan").arg(&plan).args(["--base-url", base, "--report-json"]).arg(&json);
        let r = run(c);
        (r, report(&json)["triage"].clone())
    };
    let (r, found) = triage_of(&format!("{}/v1", ledger.url));
    assert_eq!(found[0]["rule"], "happy-paths-404", "{r}");
    assert!(r.stdout.contains("Triage:") && r.stdout.contains("every happy path got 404"), "{r}");

    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let (r, found) = triage_of(&format!("http://127.0.0.1:{closed}"));
    assert_eq!(found[0]["rule"], "service-down", "{r}");
    assert_eq!(found.as_array().unwrap().len(), 1);

    let json = dir.path().join("faulty.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"])
        .arg(&json)
        .env("FAULTS", "unknown-account-500");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let found = report(&json)["triage"].clone();
    assert_eq!(found[0]["rule"], "server-errors", "{found}");
    assert_eq!(found[0]["scenarios"], json!(["ledger.bundle.unknown-account"]));

    let json = dir.path().join("clean.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(report(&json)["triage"], json!([]));
    assert!(!r.stdout.contains("Triage:"), "{r}");
}

#[test]
fn rerun_failed_runs_exactly_the_failed_set_plus_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"])
        .arg(&first)
        .env("FAULTS", "snapshot-not-persisted");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let failed: BTreeSet<String> = report(&first)["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] != "passed")
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        failed,
        BTreeSet::from(["ledger.snapshot.as-of-date".to_string(), "ledger.snapshot.record".into()])
    );

    // Fixed service: exactly the failed and skipped scenarios run again, and pass.
    let second = dir.path().join("second.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--rerun-failed"])
        .arg(&first)
        .arg("--report-json")
        .arg(&second);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(ids(&report(&second)), failed);

    // A dependency of a failed scenario comes along, marked as such.
    let mut doctored = report(&first);
    for s in doctored["scenarios"].as_array_mut().unwrap() {
        s["outcome"] = json!(if s["id"] == "ledger.snapshot.as-of-date" { "failed" } else { "passed" });
    }
    let third = dir.path().join("third.json");
    std::fs::write(&third, doctored.to_string()).unwrap();
    let mut c = smoke(dir.path());
    c.args(["plan", "--config", LEDGER_CONFIG, "--rerun-failed"]).arg(&third);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(ids(&plan), failed);
    let record =
        plan["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "ledger.snapshot.record").unwrap();
    assert_eq!(record["dependency_only"], true);

    // After a green run there is nothing to rerun.
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--rerun-failed"]).arg(&second);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("nothing to rerun"), "{r}");
}
