//! The fault-catch matrix: for every example service, its plugin passes against the correct
//! service and fails, naming a scenario tagged for the fault, against each fault switch alone.
//! `docs/fault-matrix.md` is the same matrix as a table; these tests hold it to the truth.

use crate::support::{self, run, smoke};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The rows of docs/fault-matrix.md for one example: fault -> scenarios named as catching it.
fn documented(example: &str) -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(support::root().join("docs/fault-matrix.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [service, fault, _breaks, caught_by, ..] = cells[..] else { panic!("a malformed row: {line}") };
        if service.trim_matches('`') == example {
            let catchers = caught_by.split(',').map(|c| c.trim().trim_matches('`').to_string()).collect();
            rows.insert(fault.trim_matches('`').to_string(), catchers);
        }
    }
    rows
}

/// The faults of one example that docs/fault-matrix.md says the OpenAPI plugin catches (its
/// last column: `caught`, `no`, or `not tried`).
pub fn documented_openapi_catches(example: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(support::root().join("docs/fault-matrix.md")).unwrap();
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split('|').map(str::trim).collect::<Vec<_>>())
        .filter(|cells| cells.len() == 5 && cells[0].trim_matches('`') == example)
        .filter(|cells| cells[4] == "caught")
        .map(|cells| cells[1].trim_matches('`').to_string())
        .collect()
}

/// Run the example's plugin against the correct service (every scenario passes, the plan has
/// no coverage gap) and against each fault switch alone (exit 1, and at least one failed
/// scenario tagged `fault:<name>`, named on the console); the documented catchers must be
/// among the scenarios that failed. Returns (faults planted, faults caught).
fn fault_matrix(example: &str, expected_faults: usize) -> (usize, usize) {
    fault_matrix_of(example, &support::root().join(format!("examples/{example}/smoke.toml")), expected_faults)
}

/// The fault matrix with the example's config at `config` (a copy may name another build of
/// its plugin: the 0.1.0 fixtures).
pub fn fault_matrix_of(example: &str, config: &std::path::Path, expected_faults: usize) -> (usize, usize) {
    let config = config.to_str().unwrap();
    // One cache for the matrix's runs: the plugin is compiled once, as a user's second run finds it.
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--config", config, "--strict-plan"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{example}: the correct service must pass:\n{r}");
    assert!(r.stdout.lines().last().unwrap().contains(" 0 failed, 0 skipped"), "{r}");

    let mut list = std::process::Command::new(support::example(example));
    list.arg("--list-faults");
    let faults = support::run(list);
    let faults: Vec<&str> = faults.stdout.lines().collect();
    assert_eq!(faults.len(), expected_faults, "{example} faults: {faults:?}");
    let docs = documented(example);
    assert_eq!(
        docs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        faults.iter().copied().collect::<BTreeSet<_>>(),
        "docs/fault-matrix.md must list exactly {example}'s faults"
    );
    let mut caught = 0;
    for fault in &faults {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut c = smoke(cache.path());
        c.args(["run", "--config", config, "--report-json"]).arg(&json).env("FAULTS", fault);
        let r = run(c);
        assert_eq!(r.code, 1, "{example}: fault {fault} was not caught:\n{r}");
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let tag = format!("fault:{fault}");
        let failed: BTreeSet<String> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "failed")
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect();
        let tagged: Vec<&Value> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "failed" && s["tags"].as_array().unwrap().iter().any(|t| t == &tag))
            .collect();
        assert!(!tagged.is_empty(), "{example}: fault {fault}: no failed scenario is tagged {tag}:\n{r}");
        for s in &tagged {
            let id = s["id"].as_str().unwrap();
            assert!(
                r.stdout.contains(&format!("FAIL  {id}")),
                "fault {fault}: {id} not named on the console:\n{r}"
            );
        }
        let claimed = &docs[*fault];
        assert!(
            claimed.is_subset(&failed),
            "{example}: docs/fault-matrix.md says {claimed:?} catch {fault}, but only {failed:?} failed"
        );
        caught += 1;
    }
    eprintln!("{example}: {caught} of {} planted faults caught", faults.len());
    (faults.len(), caught)
}

#[test]
fn ledger_fault_catch_matrix() {
    assert_eq!(fault_matrix("ledger-api", 8), (8, 8));
}

#[test]
fn workflow_fault_catch_matrix() {
    assert_eq!(fault_matrix("workflow-api", 5), (5, 5));
}

#[test]
fn shop_fault_catch_matrix() {
    assert_eq!(fault_matrix("shop-api", 8), (8, 8));
}

#[test]
fn clinic_fault_catch_matrix() {
    assert_eq!(fault_matrix("clinic-api", 6), (6, 6));
}

#[test]
fn iot_fault_catch_matrix_with_the_python_plugin() {
    assert_eq!(fault_matrix("iot-api", 7), (7, 7));
}

/// The Python that `make test-deps` set up with openapi-spec-validator.
fn validator_python() -> std::path::PathBuf {
    let python = support::root().join("target/test-deps/venv/bin/python");
    assert!(python.is_file(), "{} is missing: `make test` sets it up (make test-deps)", python.display());
    python
}

/// `METHOD /path/{}`: parameter names erased, since a plugin and a document may name them apart.
fn normalized(endpoint: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in endpoint.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

#[test]
fn every_example_serves_a_valid_openapi_document_that_its_traffic_conforms_to() {
    let python = validator_python();
    let checker = support::root().join("tests/tools/openapi_conformance.py");
    for example in ["ledger-api", "workflow-api", "shop-api", "clinic-api", "iot-api"] {
        let file = support::root().join(format!("examples/{example}/openapi.json"));
        let service = support::Example::start(example, "");
        let (status, served) = service.get("/openapi.json");
        assert_eq!(status, 200, "{example}: GET /openapi.json");
        assert_eq!(
            served,
            std::fs::read_to_string(&file).unwrap(),
            "{example} serves its openapi.json as is"
        );
        drop(service);
        let doc: Value = serde_json::from_str(&served).unwrap();

        // The document describes exactly the surface the plugin declares (plus /health).
        let config = format!("examples/{example}/smoke.toml");
        let dir = tempfile::tempdir().unwrap();
        let mut c = smoke(dir.path());
        c.args(["plan", "--config", &config]);
        let plan = run(c);
        assert_eq!(plan.code, 0, "{plan}");
        let plan: Value = serde_json::from_str(&plan.stdout).unwrap();
        let declared: BTreeSet<String> = plan["surface"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| normalized(e["id"].as_str().unwrap()))
            .collect();
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(path, _)| *path != "/health")
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| normalized(&format!("{} {path}", m.to_uppercase())))
            })
            .collect();
        assert_eq!(documented, declared, "{example}: documented operations vs the plugin's declared surface");

        // Every exchange of a passing run matches a documented operation, status and schema.
        let transcript = dir.path().join("t.jsonl");
        let mut c = smoke(dir.path());
        c.args(["run", "--config", &config, "-q", "--transcript"]).arg(&transcript);
        let r = run(c);
        assert_eq!(r.code, 0, "{r}");
        let check =
            std::process::Command::new(&python).arg(&checker).arg(&file).arg(&transcript).output().unwrap();
        assert!(
            check.status.success(),
            "{example}: its own traffic does not conform to its document:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
    }
}

#[test]
fn the_conformance_check_fails_a_response_the_document_does_not_allow() {
    // not-found-returns-200 answers 200 with `{}` where a Product is documented.
    let dir = tempfile::tempdir().unwrap();
    // In a folder that does not exist yet: it is made.
    let transcript = dir.path().join("artifacts/t.jsonl");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", "examples/shop-api/smoke.toml", "-q", "--transcript"])
        .arg(&transcript)
        .arg("--artifacts")
        .arg(dir.path().join("run"))
        .env("FAULTS", "not-found-returns-200");
    assert_eq!(run(c).code, 1);
    // The run directory keeps the same transcript, not an empty one.
    let kept = std::fs::read_to_string(dir.path().join("run/transcript.jsonl")).unwrap();
    assert!(kept.lines().count() > 10, "{} lines", kept.lines().count());
    assert_eq!(kept, std::fs::read_to_string(&transcript).unwrap());
    let check = std::process::Command::new(validator_python())
        .arg(support::root().join("tests/tools/openapi_conformance.py"))
        .arg(support::root().join("examples/shop-api/openapi.json"))
        .arg(&transcript)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success(), "{out}");
    assert!(out.contains("'sku' is a required property"), "{out}");
}
