//! Reports people read and machines trust: the transcript, triage and reruns of failures.

use crate::support::{Ledger, every_report, everything_written, plugin, run, smoke};
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

    // A base URL nothing listens at is one failure of the run (exit 3) before any scenario, so
    // there is nothing to triage; the rule `service-down` is for a service lost mid-run.
    let closed = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let (r, found) = triage_of(&format!("http://127.0.0.1:{closed}"));
    assert_eq!(r.code, 3, "{r}");
    assert_eq!(found, json!([]), "{r}");

    let json = dir.path().join("faulty.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"])
        .arg(&json)
        .env("FAULTS", "unknown-account-500");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    crate::support::assert_valid_report(&report(&json));
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
        BTreeSet::from([
            "ledger.snapshot.as-of-date".to_string(),
            "ledger.snapshot.record".into(),
            "ledger.snapshots.list".into()
        ])
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
    assert_eq!(
        ids(&plan),
        BTreeSet::from(["ledger.snapshot.as-of-date".to_string(), "ledger.snapshot.record".into()])
    );
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

/// Render a page in headless Chromium; returns the DOM after scripts ran, and Chromium's log.
pub(crate) fn chromium_dom(page: &std::path::Path, profile: &std::path::Path) -> (String, String) {
    chromium(page, profile, true)
}

/// `chromium_dom`, with time virtual (scripts' timers run at once) or real (to measure).
fn chromium(page: &std::path::Path, profile: &std::path::Path, virtual_time: bool) -> (String, String) {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("chromium is missing: `make test` installs it (apt-get install chromium)");
    let output = std::process::Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .args(["--enable-logging=stderr", "--v=0"])
        .args(virtual_time.then_some("--virtual-time-budget=2000"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn the_html_report_shows_failures_first_and_never_runs_a_response_body() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let payload = r#"<script>document.title='pwned'</script><img src=x onerror="document.body.setAttribute('data-pwned','1')">"#;
    let plan = dir.path().join("plan.json");
    let scenarios = json!({"scenarios": [
        {"id": "health", "endpoint": "GET /health", "kind": "happy-path",
         "steps": [{"request": {"method": "GET", "path": "/health"}, "expect": {"status": [200]}}]},
        {"id": "hostile.account", "endpoint": "POST /accounts", "kind": "happy-path",
         "description": "the service echoes a hostile name",
         "steps": [{"request": {"method": "POST", "path": "/accounts",
                                "headers": [{"name": "authorization", "value": "Bearer smoke-ledger-token"}],
                                "body": {"type": "json", "value": {"code": "X1", "name": payload, "type": "asset", "currency": "USD"}}},
                    "expect": {"status": [200]}}]},
    ]});
    std::fs::write(&plan, scenarios.to_string()).unwrap();
    let page = dir.path().join("report.html");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--plan").arg(&plan).args(["--base-url", &ledger.url, "--report-html"]).arg(&page);
    let r = run(c);
    assert_eq!(r.code, 1, "the hostile scenario expects 200 and gets 201:\n{r}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("smoke-ledger-token"), "the page leaks the token");

    let (dom, log) = chromium_dom(&page, &dir.path().join("profile"));
    assert!(dom.contains("<details class=\"scenario failed\""), "no failed scenario rendered:\n{dom}");
    let first = dom.find("<details class=\"scenario").expect("scenarios are rendered");
    assert!(dom[first..].starts_with("<details class=\"scenario failed\""), "failures come first");
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "the body is shown as text");
    assert!(!dom.contains("data-pwned=\"1\""), "an onerror handler from a response body ran");
    assert!(!dom.contains("<title>pwned</title>"), "a script from a response body ran");
    // Only the page's own script exists, and no image: the hostile markup never became elements.
    assert_eq!(dom.matches("<script").count(), 1, "a script element from a response body exists");
    assert_eq!(dom.matches("<img").count(), 0, "an img element from a response body exists");
    for problem in [":CONSOLE", "Uncaught", "Refused to"] {
        assert!(!log.contains(problem), "the page logged {problem:?}:\n{log}");
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let smoke_bin = env!("CARGO_BIN_EXE_smoke");
    let command =
        format!("{smoke_bin} --plugin {} --base-url {}", plugin("guide-example").display(), ledger.url);
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    let on_terminal = |no_color: bool| {
        let mut c = std::process::Command::new("script");
        c.args(["-q", "-e", "-c", &command, "/dev/null"])
            .env("SMOKE_CACHE_DIR", dir.path())
            .env("SMOKE_STATE_DIR", dir.path());
        if no_color {
            c.env("NO_COLOR", "1")
        } else {
            c.env_remove("NO_COLOR")
        };
        let out = c.output().expect("script (util-linux) runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains("\x1b[32mPASS\x1b[0m  hello.health"), "no colour on a terminal: {coloured:?}");
    let plain = on_terminal(true);
    assert!(plain.contains("PASS  hello.health"), "{plain:?}");
    assert!(
        !plain.contains("\x1b[32m") && !plain.contains("\x1b[1;31m"),
        "colour despite NO_COLOR: {plain:?}"
    );

    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("guide-example")).args(["--base-url", &ledger.url]).env_remove("NO_COLOR");
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(!r.stdout.contains('\x1b'), "escape codes in piped output: {:?}", r.stdout);
}

#[test]
fn sensitive_fields_headers_and_secrets_appear_in_no_output_at_all() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("sensitive")).args(["--base-url", &ledger.url, "-v"]);
    every_report(&mut c, &artifacts);
    let r = run(c);
    assert_eq!(r.code, 1, "the scenario fails on purpose:\n{r}");
    let outputs = everything_written(&[&r], std::slice::from_ref(&artifacts));
    assert!(
        outputs.len() >= 7,
        "every report was written: {:?}",
        outputs.iter().map(|o| &o.0).collect::<Vec<_>>()
    );
    for (what, text) in &outputs {
        for secret in ["Jane Q. Sensitive", "hush-hush-123", "smoke-ledger-token"] {
            assert!(!text.contains(secret), "{what} contains {secret:?}");
        }
    }
    assert!(r.stdout.contains("[REDACTED]"), "the failure is still explained, with the value redacted:\n{r}");
}

/// The JUnit XSD `make test-deps` fetches (the Jenkins/Surefire schema pytest publishes).
fn junit_xsd() -> std::path::PathBuf {
    let xsd = crate::support::root().join("target/test-deps/junit-10.xsd");
    assert!(xsd.is_file(), "{} is missing: `make test` fetches it (make test-deps)", xsd.display());
    xsd
}

fn xmllint(xsd: &std::path::Path, xml: &std::path::Path) -> std::process::Output {
    std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(xsd)
        .arg(xml)
        .output()
        .expect("xmllint is missing: `make test` installs it (apt-get install libxml2-utils)")
}

#[test]
fn the_junit_report_of_a_run_with_failures_and_skips_validates_against_the_junit_xsd() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-junit"])
        .arg(&junit)
        .env("FAULTS", "snapshot-not-persisted");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure ") && xml.contains("<skipped "),
        "failures and skips are both present:\n{xml}"
    );
    let xsd = junit_xsd();
    let out = xmllint(&xsd, &junit);
    assert!(out.status.success(), "{}\n{xml}", String::from_utf8_lossy(&out.stderr));

    // The check can fail: the same file with an attribute the schema does not allow is refused.
    let bad = dir.path().join("bad.xml");
    std::fs::write(&bad, xml.replacen("<testsuites ", "<testsuites skipped=\"1\" ", 1)).unwrap();
    assert!(!xmllint(&xsd, &bad).status.success(), "xmllint accepted a file the XSD forbids");
}

#[test]
fn a_healthcare_run_writes_no_ssn_date_of_birth_or_token_anywhere() {
    // Every SSN and date of birth the healthcare plan sends, and the bearer token.
    let secrets = [
        "123-45-6789",
        "987-65-4321",
        "555-12-3456",
        "123456789",
        "12A-45-6789",
        "111-22-3333",
        "111-22-4444",
        "1980-04-12",
        "1975-11-30",
        "1990-07-01",
        "2999-01-01",
        "1980-02-30",
        "smoke-clinic-token",
    ];
    // On the correct service, and on one that sends SSNs back unmasked.
    for faults in ["", "ssn-unmasked"] {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = dir.path().join("artifacts");
        let mut c = smoke(dir.path());
        c.args(["run", "--config", "examples/clinic-api/smoke.toml", "-v"]);
        every_report(&mut c, &artifacts);
        c.env("FAULTS", faults);
        let r = run(c);
        assert_eq!(r.code, if faults.is_empty() { 0 } else { 1 }, "{r}");
        let outputs = everything_written(&[&r], std::slice::from_ref(&artifacts));
        assert!(
            outputs.len() >= 8,
            "every report was written: {:?}",
            outputs.iter().map(|o| &o.0).collect::<Vec<_>>()
        );
        for (what, text) in &outputs {
            for secret in secrets {
                assert!(!text.contains(secret), "FAULTS={faults:?}: {what} contains {secret:?}");
            }
        }
        let transcript = std::fs::read_to_string(artifacts.join("t.jsonl")).unwrap();
        assert!(transcript.contains("[REDACTED]"), "the transcript shows where values were redacted");
    }
}

#[test]
fn merged_reports_of_three_shards_equal_a_single_runs_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let outcomes = |report: &serde_json::Value| -> std::collections::BTreeMap<String, String> {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
            .collect()
    };
    let read = report_of;
    // A run with failures and skips, whole and in three shards.
    let whole = dir.path().join("whole.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "-q", "--report-json"])
        .arg(&whole)
        .env("FAULTS", "snapshot-not-persisted");
    assert_eq!(run(c).code, 1);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let json = dir.path().join(format!("shard-{i}.json"));
        let mut c = smoke(dir.path());
        c.args(["run", "--config", LEDGER_CONFIG, "-q", "--shard", &format!("{i}/3"), "--report-json"])
            .arg(&json)
            .env("FAULTS", "snapshot-not-persisted");
        run(c);
        shards.push(json);
    }
    let merged = dir.path().join("merged/report.json");
    let (junit, html) = (dir.path().join("merged/report.xml"), dir.path().join("merged/report.html"));
    let mut c = smoke(dir.path());
    // In any order.
    c.args(["report", "merge"])
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--report-json")
        .arg(&merged)
        .arg("--report-junit")
        .arg(&junit)
        .arg("--report-html")
        .arg(&html);
    let r = run(c);
    assert_eq!(r.code, 1, "a merge with failures is a failing gate:\n{r}");
    assert!(r.stdout.contains("(3 reports merged)"), "{r}");
    let (whole, merged) = (read(&whole), read(&merged));
    assert_eq!(outcomes(&merged), outcomes(&whole), "the same verdicts as a single run");
    assert!(
        outcomes(&whole).values().any(|o| o == "failed") && outcomes(&whole).values().any(|o| o == "skipped")
    );
    assert_eq!(merged["summary"], whole["summary"]);
    let rules = |r: &serde_json::Value| -> Vec<String> {
        r["triage"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(rules(&merged), rules(&whole), "the same triage");
    let digest = report_of(&shards[0])["plan_digest"].clone();
    assert!(digest.as_str().is_some_and(|d| d.starts_with("sha256:")), "{digest}");
    assert!(
        merged.get("plan_digest").is_none() && whole.get("plan_digest").is_none(),
        "only shards carry it"
    );
    crate::support::assert_valid_report(&merged);
    let out = xmllint(&junit_xsd(), &junit);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read_to_string(&html).unwrap().contains("ledger.snapshot.record"));

    // Parts that do not make one plan are refused, saying why.
    let mut c = smoke(dir.path());
    c.args(["report", "merge"]).args([&shards[0], &shards[1]]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("shard 3/3 missing"), "{r}");
    let other = dir.path().join("other.json");
    let mut c = smoke(dir.path());
    c.args([
        "run",
        "--config",
        LEDGER_CONFIG,
        "-q",
        "--filter",
        "ledger.auth.*",
        "--shard",
        "3/3",
        "--report-json",
    ])
    .arg(&other);
    run(c);
    let mut c = smoke(dir.path());
    c.args(["report", "merge"]).args([&shards[0], &shards[1], &other]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("is of another plan"), "{r}");
}

fn report_of(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_html_report_of_a_100000_scenario_run_opens_in_chromium_in_under_two_seconds() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let health = |id: String, status: u16| {
        json!({"id": id, "endpoint": "GET /health", "kind": "happy-path",
               "steps": [{"request": {"method": "GET", "path": "/health"}, "expect": {"status": [status]}}]})
    };
    let mut scenarios: Vec<Value> = (0..100_000).map(|i| health(format!("health.{i:06}"), 200)).collect();
    scenarios.push(health("health.wrong".into(), 201));
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, json!({ "scenarios": scenarios }).to_string()).unwrap();
    let page = dir.path().join("report.html");
    let mut c = smoke(dir.path());
    c.arg("run")
        .arg("--plan")
        .arg(&plan)
        .args(["--base-url", &ledger.url, "-j", "64", "-q", "--report-html"])
        .arg(&page);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    // The plan and the results were too big to keep in memory (they went to temporary files):
    // report.json has every scenario, in plan order, with its verdict.
    let artifacts = r.stdout.lines().find_map(|l| l.strip_prefix("artifacts: ")).expect("artifacts line");
    let report = report_of(&std::path::Path::new(artifacts.trim()).join("report.json"));
    let listed = report["scenarios"].as_array().unwrap();
    assert_eq!(listed.len(), 100_001);
    for (i, s) in listed.iter().take(100_000).enumerate() {
        assert_eq!(s["id"], format!("health.{i:06}"));
        assert_eq!(s["outcome"], "passed", "{s}");
    }
    assert_eq!(
        (listed[100_000]["id"].as_str(), listed[100_000]["outcome"].as_str()),
        (Some("health.wrong"), Some("failed"))
    );
    assert_eq!(report["summary"]["passed"], 100_000);
    // The size docs/runbook.md states: a page of this run stays under 8 MB.
    let bytes = std::fs::metadata(&page).unwrap().len();
    assert!(bytes < 8 << 20, "{bytes} bytes");

    let (dom, log) = chromium(&page, &dir.path().join("profile"), false);
    let ready: u64 = dom
        .split("data-ready=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("the page's script did not finish:\n{log}"));
    assert!(ready < 2_000, "the page was ready after {ready} ms");
    // The failure is rendered first, in full; passing scenarios wait to be asked for.
    let first = dom.find("<details class=\"scenario").expect("scenarios are rendered");
    assert!(dom[first..].starts_with("<details class=\"scenario failed\""), "failures come first");
    assert!(dom.contains("health.wrong"));
    assert!(dom.contains("99000 more scenarios, listed on demand"), "the rest are rows");
    assert_eq!(dom.matches("<details class=\"scenario passed\"").count(), 1_000);
    // The pictures: the timeline, the latency of GET /health, coverage.
    assert!(
        dom.contains("<svg class=\"chart\"")
            && dom.contains("Latency by endpoint")
            && dom.contains("Coverage")
    );
    assert!(dom.contains("<td>GET /health</td><td>100001</td>"), "every response counted");
    for problem in [":CONSOLE", "Uncaught", "Refused to"] {
        assert!(!log.contains(problem), "the page logged {problem:?}:\n{log}");
    }
}

#[test]
fn passing_steps_keep_their_method_url_status_and_latency_and_failing_ones_their_whole_exchange() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let health = |id: &str, status: u16| {
        json!({"id": id, "endpoint": "GET /health", "kind": "happy-path",
               "steps": [{"request": {"method": "GET", "path": "/health"}, "expect": {"status": [status]}}]})
    };
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, json!({"scenarios": [health("passes", 200), health("fails", 201)]}).to_string())
        .unwrap();
    let step = |report: &Value, id: &str| -> Value {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        s["steps"][0].clone()
    };
    let run_with = |extra: &[&str]| -> Value {
        let out = dir.path().join(format!("r{}.json", extra.len()));
        let mut c = smoke(dir.path());
        c.arg("run").arg("--plan").arg(&plan).args(["--base-url", &ledger.url]).args(extra);
        c.arg("--report-json").arg(&out);
        let r = run(c);
        assert_eq!(r.code, 1, "{r}");
        let report = report(&out);
        crate::support::assert_valid_report(&report);
        report
    };
    // By default a passing step keeps its method, URL, status and latency; its headers and
    // bodies are not kept, and the step says so. A failing step keeps everything.
    let brief = run_with(&[]);
    let passed = step(&brief, "passes");
    assert_eq!(passed["trimmed"], true, "{passed}");
    assert_eq!(
        (passed["request"]["method"].as_str(), passed["response"]["status"].as_u64()),
        (Some("GET"), Some(200))
    );
    assert!(passed["request"]["url"].as_str().unwrap().ends_with("/health"), "{passed}");
    assert!(passed["response"]["headers"].as_array().unwrap().is_empty(), "{passed}");
    assert!(passed["response"]["body"].is_null() && passed["response"]["latency_ms"].is_u64(), "{passed}");
    let failed = step(&brief, "fails");
    assert!(failed.get("trimmed").is_none(), "{failed}");
    assert!(!failed["response"]["headers"].as_array().unwrap().is_empty(), "{failed}");
    assert!(failed["response"]["body"].is_string(), "{failed}");
    // Asked for, or with an HTML report (which shows them), passing steps keep theirs too.
    let page = dir.path().join("page.html");
    for extra in [&["--exchanges", "all"][..], &["--report-html", page.to_str().unwrap()][..]] {
        let whole = run_with(extra);
        let passed = step(&whole, "passes");
        assert!(passed.get("trimmed").is_none(), "{extra:?}: {passed}");
        assert!(!passed["response"]["headers"].as_array().unwrap().is_empty(), "{extra:?}: {passed}");
        assert!(passed["response"]["body"].is_string(), "{extra:?}: {passed}");
    }
}
