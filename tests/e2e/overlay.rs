//! Scenarios written beside the plugins' plan (`--scenarios FILE`, `[run] scenarios`): an agent's
//! or a person's business rule, committed with the project, run with no model in the loop,
//! validated like every plan, and able to fail.

use crate::support::{root, run, shared_cache, smoke};

const LEDGER_CONFIG: &str = "examples/ledger-api/smoke.toml";

/// A business rule, as an agent might write it from the API's prose: listing accounts needs the
/// token.
const RULE: &str = r#"{
  "description": "business rules written beside the ledger plugin",
  "scenarios": [
    {
      "id": "rules.accounts-need-a-token",
      "endpoint": "GET /accounts",
      "kind": "auth",
      "description": "the accounts are not listed to a caller without the token",
      "steps": [
        {
          "name": "GET /accounts with no token",
          "request": {"method": "GET", "path": "/accounts"},
          "expect": {"status": [401]}
        }
      ]
    }
  ]
}"#;

fn overlay(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("rules.json");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_scenario_beside_the_plugins_plan_runs_with_it_and_fails_when_its_rule_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let rules = overlay(dir.path(), RULE);
    let report = dir.path().join("report.json");
    let mut c = smoke(shared_cache());
    c.args(["run", "--config", LEDGER_CONFIG, "--scenarios"]).arg(&rules).arg("--report-json").arg(&report);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("PASS  rules.accounts-need-a-token"), "{r}");
    assert!(r.stdout.contains("34 passed, 0 failed"), "the plugins' 33 and the rule: {r}");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let rule =
        json["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "rules.accounts-need-a-token");
    assert_eq!(rule.unwrap()["tags"], serde_json::json!(["overlay"]), "tagged, for --filter tag:overlay");

    let mut c = smoke(shared_cache());
    c.args(["run", "--config", LEDGER_CONFIG, "--filter", "tag:overlay", "--scenarios"]).arg(&rules);
    c.env("FAULTS", "auth-not-enforced");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("FAIL  rules.accounts-need-a-token"), "{r}");
    assert!(r.stdout.contains("0 passed, 1 failed"), "{r}");
}

#[test]
fn a_config_names_its_scenario_file_and_smoke_run_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    overlay(dir.path(), RULE);
    let config = std::fs::read_to_string(root().join(LEDGER_CONFIG)).unwrap();
    let absolute = config.replace("../../target/", &format!("{}/target/", root().display()));
    std::fs::write(dir.path().join("smoke.toml"), format!("{absolute}\n[run]\nscenarios = \"rules.json\"\n"))
        .unwrap();
    let mut c = smoke(shared_cache());
    c.arg("run").arg("--config").arg(dir.path().join("smoke.toml"));
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("PASS  rules.accounts-need-a-token"), "{r}");
}

#[test]
fn a_scenario_file_is_validated_like_a_plan_and_its_mistakes_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let plan = |text: &str| {
        let rules = overlay(dir.path(), text);
        let mut c = smoke(shared_cache());
        c.args(["plan", "--config", LEDGER_CONFIG, "--scenarios"]).arg(&rules);
        run(c)
    };
    let r = plan(&RULE.replace("rules.accounts-need-a-token", "ledger.accounts.get.not-found"));
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("\"ledger.accounts.get.not-found\" is used twice"), "{r}");
    assert!(r.stderr.contains("rules.json: /scenarios/0/id: scenario id"), "located in the file: {r}");
    // A step's mistake, at its step.
    let r = plan(&RULE.replace(r#""expect": {"status": [401]}"#, r#""expect": {"status": []}"#));
    assert_eq!(r.code, 4, "{r}");
    assert!(
        r.stderr
            .contains("rules.json: /scenarios/0/steps/0: scenario \"rules.accounts-need-a-token\", step 1"),
        "{r}"
    );

    let r = plan(
        &RULE
            .replace(r#""expect": {"status": [401]}"#, r#""expect": {"status": [401], "check": "{}"}"#)
            .replace(r#""kind": "auth","#, r#""plugin": "rules", "kind": "auth","#),
    );
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("/scenarios/0/steps/0: asks plugin \"rules\" to judge"), "{r}");

    let wrong = RULE.replace(r#""kind": "auth""#, r#""kind": "authz""#);
    let line = 1 + wrong.lines().position(|l| l.contains("authz")).unwrap();
    let r = plan(&wrong);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains(&format!("rules.json:{line}:")), "the line and column of the mistake: {r}");
    assert!(r.stderr.contains("unknown variant `authz`"), "{r}");
}
