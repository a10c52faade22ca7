//! End-to-end: the real `smoke` binary against the real example services on 127.0.0.1.
//!
//! Each test reads as a line of the foundation's "Done when".

mod agents;
mod compat;
mod dev;
mod dist;
mod engine;
mod hostile;
mod languages;
mod matrix;
mod mcp;
mod mcp_example;
mod mcp_protocol;
mod mcp_revisions;
mod mcp_surface;
mod openapi;
mod openapi_diff;
mod operator;
mod overlay;
mod registry;
mod reports;
mod support;
mod verdicts;

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::{Ledger, plugin, run, smoke};

const LEDGER_CONFIG: &str = "examples/ledger-api/smoke.toml";

fn json_file(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn scenario<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["scenarios"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id))
        .unwrap_or_else(|| panic!("no scenario {id} in the report"))
}

#[test]
fn the_ledger_plugin_passes_on_the_correct_api_with_reports() {
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("report.json"), dir.path().join("report.xml"));
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"]).arg(&json).arg("--report-junit").arg(&junit);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let last = r.stdout.lines().last().unwrap_or_default();
    assert!(last.starts_with("33 passed, 0 failed, 0 skipped"), "{r}");

    let report = json_file(&json);
    support::assert_valid_report(&report);
    assert_eq!(report["summary"]["failed"], 0);
    assert_eq!(report["summary"]["passed"], 33);
    assert_eq!(report["seeds"].as_array().map(Vec::len), Some(5));
    // Plan order, not completion order.
    let ids: Vec<&str> =
        report["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids.first(), Some(&"ledger.accounts.create"));
    assert_eq!(ids.last(), Some(&"ledger.auth.wrong-token"));

    // The JUnit file parses with a standard XML parser: one testcase per scenario, no failures.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures) = (0, 0);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    "testcase" => cases += 1,
                    "failure" => failures += 1,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!((cases, failures), (33, 0), "{xml}");
}

#[test]
fn a_failed_scenario_skips_its_dependents_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", LEDGER_CONFIG, "--report-json"])
        .arg(&json)
        .env("FAULTS", "snapshot-not-persisted");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let report = json_file(&json);
    let skipped = scenario(&report, "ledger.snapshot.as-of-date");
    assert_eq!(skipped["outcome"], "skipped");
    assert!(skipped["reason"].as_str().unwrap().contains("ledger.snapshot.record"), "{skipped}");
    assert!(r.stdout.contains("SKIP  ledger.snapshot.as-of-date"), "{r}");
    assert!(r.stdout.lines().last().unwrap().starts_with("30 passed, 1 failed, 2 skipped"), "{r}");
}

#[test]
fn smoke_plan_prints_identical_json_twice_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let plan = || {
        let mut c = smoke(dir.path());
        c.args(["plan", "--config", LEDGER_CONFIG]);
        run(c)
    };
    let (first, second) = (plan(), plan());
    assert_eq!(first.code, 0, "{first}");
    assert_eq!(first.stdout, second.stdout, "plan output differs between runs");
    let parsed: Value = serde_json::from_str(&first.stdout).expect("stdout is exactly one JSON document");
    assert_eq!(parsed["scenarios"].as_array().map(Vec::len), Some(33));
    assert_eq!(parsed["plugins"][0]["name"], "ledger");
    // The token is referenced, never inlined.
    assert!(!first.stdout.contains("smoke-ledger-token"), "the plan carries the secret");
    assert!(first.stdout.contains("{{config.token}}"));
}

#[test]
fn a_plugin_built_for_another_wit_version_exits_4_naming_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("future-wit")).args(["--base-url", "http://127.0.0.1:9", "-v"]);
    let r = run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("built for WIT package smoke:plugin@0.3.0"), "{r}");
    assert!(r.stderr.contains("this smoke runs smoke:plugin@0.1.0 and smoke:plugin@0.2.0"), "{r}");
    assert!(r.stderr.contains("Rebuild the plugin for smoke:plugin@0.2.0"), "{r}");
    // Refused from its exports, before anything was compiled.
    assert!(!r.stderr.contains("compiled in") && !dir.path().join("compiled").exists(), "{r}");
}

fn misbehave(mode: &str, extra: &[&str]) -> support::Run {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("misbehave")).args(["--plugin-config", &format!("mode={mode}")]);
    c.args(["--base-url", &ledger.url]).args(extra);
    run(c)
}

#[test]
fn a_plugin_looping_forever_in_check_fails_only_that_step() {
    let r = misbehave("loop-in-check", &["--plugin-timeout", "300ms"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  misbehave.plain"), "{r}");
    assert!(r.stdout.contains("FAIL  misbehave.judged"), "{r}");
    assert!(r.stdout.contains("`check` exceeded its time limit of 300ms"), "{r}");
    assert!(r.stdout.contains("1 passed, 1 failed, 0 skipped"), "{r}");
}

#[test]
fn a_plugin_growing_memory_without_bound_in_check_fails_only_that_step() {
    let r = misbehave("grow-in-check", &["--plugin-memory-mib", "32"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  misbehave.plain"), "{r}");
    assert!(r.stdout.contains("`check` exceeded its memory limit of 32 MiB"), "{r}");
    assert!(r.stdout.contains("1 passed, 1 failed, 0 skipped"), "{r}");
}

#[test]
fn a_plugin_that_traps_in_plan_exits_4() {
    let r = misbehave("trap-in-plan", &[]);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("plugin misbehave: `plan` trapped"), "{r}");
    assert!(r.stderr.contains("deliberate panic in plan"), "{r}");
}

/// A config whose target runs `script` under sh, with a short startup timeout.
fn target_config(dir: &std::path::Path, script: &str) -> std::path::PathBuf {
    let config = dir.join("smoke.toml");
    let text = format!(
        "[target]\ncommand = \"sh\"\nargs = [\"-c\", {script:?}]\nstartup-timeout = \"1s\"\nstop-grace = \"1s\"\n\n\
         [[plugins]]\npath = {:?}\n",
        plugin("guide-example").display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    config
}

#[test]
fn a_service_that_never_becomes_healthy_exits_3_and_leaves_no_process() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The service ignores SIGTERM and leaves a grandchild behind: only the process group kill
    // after the grace period gets rid of both.
    let script = format!(
        "trap '' TERM; echo $$ > {p}; sleep 120 & echo $! >> {p}; echo 'warming up forever'; wait",
        p = pids.display()
    );
    let config = target_config(dir.path(), &script);
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("did not become healthy within 1s"), "{r}");
    assert!(r.stderr.contains("warming up forever"), "the service's last lines are shown:\n{r}");
    let started: Vec<u32> =
        std::fs::read_to_string(&pids).unwrap().lines().map(|l| l.trim().parse().expect("a pid")).collect();
    assert_eq!(started.len(), 2, "the script records itself and its child");
    let left = support::wait_gone(&started, Duration::from_secs(5));
    assert!(left.is_empty(), "processes outlived the run: {left:?}");
}

#[test]
fn a_service_that_exits_early_exits_3_with_its_status_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = target_config(dir.path(), "echo 'cannot open database' >&2; exit 7");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 3, "{r}");
    assert!(r.stderr.contains("exited before it became healthy (exit status: 7)"), "{r}");
    assert!(r.stderr.contains("cannot open database"), "{r}");
}

#[test]
fn a_second_run_reuses_the_compiled_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let plan = || {
        let mut c = smoke(dir.path());
        c.args(["plan", "-v", "--config", LEDGER_CONFIG]);
        run(c)
    };
    let first = plan();
    assert_eq!(first.code, 0, "{first}");
    assert!(first.stderr.contains("compiled in"), "{first}");
    let cached: Vec<_> = std::fs::read_dir(dir.path().join("compiled"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(cached.len(), 1, "one artifact is cached");
    let second = plan();
    assert_eq!(second.code, 0, "{second}");
    assert!(second.stderr.contains("reused compiled artifact from cache"), "{second}");
    assert!(!second.stderr.contains("compiled in"), "{second}");
    assert_eq!(first.stdout, second.stdout);

    // A damaged artifact (native code!) is never deserialized: its checksum no longer matches,
    // so it is compiled again, and the run is as good as the first.
    let mut bytes = std::fs::read(&cached[0]).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&cached[0], &bytes).unwrap();
    let third = plan();
    assert_eq!(third.code, 0, "{third}");
    assert!(third.stderr.contains("does not match its checksum"), "{third}");
    assert!(third.stderr.contains("compiled in"), "{third}");
    assert_eq!(first.stdout, third.stdout);
}

#[test]
fn the_plugin_guide_example_compiles_and_runs() {
    // tests/plugins/guide-example compiles the guide's code block verbatim (see its build.rs).
    let code = support::guide_block("rust");
    assert!(code.lines().count() <= 20, "the minimal plugin must fit in 20 lines:\n{code}");
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("guide-example")).args(["--base-url", &ledger.url]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("PASS  hello.health"), "{r}");
}

#[test]
fn base_url_runs_use_a_running_service_and_keep_the_token_out_of_every_output() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let (json, junit) = (dir.path().join("r.json"), dir.path().join("r.xml"));
    let mut c = smoke(dir.path());
    // Every exchange kept whole (`--exchanges all`), so the redaction is there to see.
    c.arg("--plugin").arg(plugin("ledger")).args(["--base-url", &ledger.url, "-v", "--exchanges", "all"]);
    c.arg("--report-json").arg(&json).arg("--report-junit").arg(&junit);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    for (what, text) in [
        ("stdout", r.stdout.clone()),
        ("stderr", r.stderr.clone()),
        ("json", std::fs::read_to_string(&json).unwrap()),
        ("junit", std::fs::read_to_string(&junit).unwrap()),
    ] {
        assert!(!text.contains("smoke-ledger-token"), "{what} leaks the bearer token");
    }
    assert!(std::fs::read_to_string(&json).unwrap().contains("[REDACTED]"));
}

#[test]
fn a_wrong_token_fails_the_seeds_with_exit_5() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("ledger")).args(["--plugin-config", "token=wrong-token-1234"]);
    c.args(["--base-url", &ledger.url]);
    let r = run(c);
    assert_eq!(r.code, 5, "{r}");
    assert!(r.stderr.contains("seed: account.cash (plugin ledger) could not be created"), "{r}");
    assert!(r.stderr.contains("status 401"), "{r}");
    assert!(!r.stderr.contains("wrong-token-1234"), "the secret is redacted:\n{r}");
}

#[test]
fn usage_errors_exit_2_and_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("ledger"));
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("--base-url"), "{r}");

    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("ledger")).args([
        "--plugin-config",
        "tokn=x",
        "--base-url",
        "http://127.0.0.1:9",
    ]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("unknown config key \"tokn\" (it reads: token, via)"), "{r}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[target]\ncommand = \"x\"\nprot = 3\n").unwrap();
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&bad);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("line 3") && r.stderr.contains("prot"), "{r}");
}

#[test]
fn inspect_names_the_plugin_its_versions_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("inspect").arg(plugin("ledger"));
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    for expected in
        ["name:        ledger", "domain:      finance", "wit:         smoke:plugin@0.2.0", "token (secret)"]
    {
        assert!(r.stdout.contains(expected), "missing {expected:?}:\n{r}");
    }
}

#[test]
fn the_filter_selects_scenarios_and_pulls_in_their_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["plan", "--config", LEDGER_CONFIG, "--filter", "ledger.snapshot.as-of-*"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let ids: BTreeSet<&str> =
        plan["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from(["ledger.snapshot.as-of-date", "ledger.snapshot.record"]));
}

#[test]
fn poll_and_burst_steps_are_judged_and_reported_with_attempts_histogram_and_percentiles() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(plugin("engine")).args(["--base-url", &ledger.url, "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 1, "two scenarios are built to fail:\n{r}");
    let report = json_file(&json);
    support::assert_valid_report(&report);
    let step = |id: &str| scenario(&report, id)["steps"][0].clone();

    let healthy = scenario(&report, "engine.burst.healthy");
    assert_eq!(healthy["outcome"], "passed", "{healthy}");
    let burst = &step("engine.burst.healthy")["burst"];
    assert_eq!(burst["histogram"], serde_json::json!({"200": 40}));
    assert_eq!(burst["count"], 40);
    let (p50, p99) = (burst["p50_ms"].as_f64().unwrap(), burst["p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{burst}");

    let limited = scenario(&report, "engine.burst.expects-rate-limit");
    assert_eq!(limited["outcome"], "failed");
    let failures = &limited["steps"][0]["failures"];
    assert!(failures.to_string().contains("0 response(s) were 429, expected at least 1"), "{failures}");
    assert_eq!(limited["failure"]["kind"], "burst", "{limited}");

    assert_eq!(scenario(&report, "engine.poll.holds")["outcome"], "passed");
    assert_eq!(step("engine.poll.holds")["attempts"], 1);
    let never = step("engine.poll.never");
    assert_eq!(scenario(&report, "engine.poll.never")["outcome"], "failed");
    let attempts = never["attempts"].as_u64().unwrap();
    assert!(
        (3..=6).contains(&attempts),
        "a 500 ms poll every 100 ms makes about 5 attempts, made {attempts}"
    );
    assert_eq!(never["failures"][0]["kind"], "assertion", "{never}");
    let reason = never["failures"][0]["message"].as_str().unwrap();
    assert!(reason.starts_with("did not hold within 500 ms"), "{reason}");
    assert!(
        reason.contains("\"/status\" is \"ok\", expected \"degraded\""),
        "the last response is shown: {reason}"
    );
}

#[test]
fn version_and_doctor_name_the_plugin_contract_this_smoke_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("--version");
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("runs plugins built for smoke:plugin@0.1.0 and smoke:plugin@0.2.0"), "{r}");
    // And which plugins it bundles, by the digest `smoke inspect` reports for each.
    for name in ["openapi", "mcp"] {
        let mut c = smoke(dir.path());
        c.args(["inspect", "--json", name]).env("SMOKE_CACHE_DIR", dir.path().join("cache"));
        let inspected = run(c);
        assert_eq!(inspected.code, 0, "{inspected}");
        let info: serde_json::Value = serde_json::from_str(&inspected.stdout).unwrap();
        assert_eq!(info["name"], name);
        let line = format!(
            "  {name} {} sha256:{}",
            info["version"].as_str().unwrap(),
            info["sha256"].as_str().unwrap()
        );
        assert!(r.stdout.contains(&line), "{line:?} in:\n{r}");
    }
    let mut c = smoke(dir.path());
    c.args(["doctor", "--config", LEDGER_CONFIG]);
    let r = run(c);
    let version = format!(
        "ok    smoke {} (runs plugins built for smoke:plugin@0.1.0 and smoke:plugin@0.2.0)",
        env!("CARGO_PKG_VERSION")
    );
    assert!(r.stdout.contains(&version), "{r}");
}
