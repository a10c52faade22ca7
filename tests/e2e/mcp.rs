//! MCP targets (issue #14): smoke's own MCP client (rmcp) against the ledger example's tools, over
//! Streamable HTTP and over stdio. The ledger plugin's agent flow passes on the correct ledger over
//! both transports and catches every fault that concerns a tool; the command-line flags work
//! without a config file; a tool call that does not fit the server's tool list is reported as a
//! plan bug with nothing sent.

use crate::support::{self, assert_valid_report, ledger_api, root, run, smoke};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HTTP: &str = "examples/ledger-api/mcp.smoke.toml";
const STDIO: &str = "examples/ledger-api/mcp-stdio.smoke.toml";

fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every step of every scenario is a tool call recorded with its JSON-RPC request and result
/// (the protocol checks, which send what they test, aside).
fn assert_all_tool_calls(report: &Value) {
    for s in report["scenarios"].as_array().unwrap() {
        if s["kind"] == "protocol" {
            continue;
        }
        for step in s["steps"].as_array().unwrap() {
            assert!(step["request"].is_null() && step["response"].is_null(), "{step}");
            let call = &step["tool_call"];
            let request: Value = serde_json::from_str(call["request"].as_str().unwrap()).unwrap();
            assert_eq!(request["method"], "tools/call", "{call}");
            assert_eq!(request["params"]["name"], call["tool"], "{call}");
            assert!(call["result"].is_string() || call["error"].is_string(), "{call}");
        }
    }
}

#[test]
fn the_ledger_plugin_passes_over_mcp_on_both_transports() {
    let cache = tempfile::tempdir().unwrap();
    for (config, transport) in [(HTTP, "http"), (STDIO, "stdio")] {
        let dir = tempfile::tempdir().unwrap();
        let (json, transcript) = (dir.path().join("report.json"), dir.path().join("transcript.jsonl"));
        let mut c = smoke(cache.path());
        c.args(["run", "--config", config, "--report-json"]).arg(&json).arg("--transcript").arg(&transcript);
        let r = run(c);
        assert_eq!(r.code, 0, "{transport}:\n{r}");
        assert!(r.stdout.lines().last().unwrap().contains("10 passed, 0 failed, 0 skipped"), "{r}");
        let report = report(&json);
        assert_valid_report(&report);
        let mcp = &report["mcp"];
        assert_eq!(mcp["transport"], transport, "{mcp}");
        assert_eq!(mcp["name"], "ledger-api", "{mcp}");
        assert!(mcp["protocol_version"].as_str().is_some_and(|v| v.len() == 10), "a dated version: {mcp}");
        let tools: BTreeSet<&str> =
            mcp["tools"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
        assert!(tools.contains("record_transaction_bundle") && tools.contains("get_obligation"), "{mcp}");
        assert_all_tool_calls(&report);
        // Every tool call is in the transcript, seeds included, with its JSON-RPC request.
        let lines: Vec<Value> = std::fs::read_to_string(&transcript)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let steps: usize = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["steps"].as_array().unwrap().len())
            .sum();
        assert_eq!(lines.len(), steps + 1, "one entry per call, the seed's included");
        assert!(lines.iter().all(|l| l["tool_call"]["request"].is_string() && l.get("request").is_none()));
        assert!(lines.iter().any(|l| l["scenario"] == "seed mcp.chart"));
    }
}

/// The rows of docs/fault-matrix.md's MCP table: fault -> scenarios named as catching it.
fn documented_over_mcp() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("docs/fault-matrix.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with("| `ledger-api` (MCP) |")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [_, fault, _breaks, caught_by] = cells[..] else { panic!("a malformed row: {line}") };
        let catchers = caught_by.split(',').map(|c| c.trim().trim_matches('`').to_string()).collect();
        rows.insert(fault.trim_matches('`').to_string(), catchers);
    }
    rows
}

/// Each documented fault alone, over one transport: exit 1, a failed scenario tagged for it named
/// on the console, and the documented catchers among the failures.
fn mcp_fault_matrix(config: &str) {
    let docs = documented_over_mcp();
    let mut list = Command::new(ledger_api());
    list.arg("--list-faults");
    let all = support::run(list);
    let all: BTreeSet<&str> = all.stdout.lines().collect();
    // Every ledger fault is in the table but the one no MCP session can show.
    let expected: BTreeSet<&str> = all.iter().copied().filter(|f| *f != "auth-not-enforced").collect();
    assert_eq!(
        docs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected,
        "docs/fault-matrix.md's MCP table"
    );
    let cache = tempfile::tempdir().unwrap();
    for (fault, claimed) in &docs {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut c = smoke(cache.path());
        c.args(["run", "--config", config, "--report-json"]).arg(&json).env("FAULTS", fault);
        let r = run(c);
        assert_eq!(r.code, 1, "{config}: fault {fault} was not caught:\n{r}");
        let report = report(&json);
        assert_valid_report(&report);
        let tag = format!("fault:{fault}");
        let failed: Vec<&Value> =
            report["scenarios"].as_array().unwrap().iter().filter(|s| s["outcome"] == "failed").collect();
        let tagged: Vec<&str> = failed
            .iter()
            .filter(|s| s["tags"].as_array().unwrap().iter().any(|t| t == &tag))
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert!(!tagged.is_empty(), "{config}: fault {fault}: no failed scenario is tagged {tag}:\n{r}");
        for id in &tagged {
            assert!(r.stdout.contains(&format!("FAIL  {id}")), "{config}: {fault}: {id} not named:\n{r}");
        }
        let failed: BTreeSet<String> = failed.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();
        assert!(
            claimed.is_subset(&failed),
            "{config}: {fault}: the table says {claimed:?}, but {failed:?} failed"
        );
    }
}

#[test]
fn every_tool_fault_of_the_ledger_is_caught_over_streamable_http() {
    mcp_fault_matrix(HTTP);
}

#[test]
fn every_tool_fault_of_the_ledger_is_caught_over_stdio() {
    mcp_fault_matrix(STDIO);
}

/// Wait until something listens on 127.0.0.1:`port`, at most `within`.
pub(crate) fn listening(port: u16, what: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on port {port} within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A ledger database migrated and given its chart of accounts.
fn ledger_db(dir: &Path) -> PathBuf {
    let db = dir.join("ledger.db");
    for command in ["migrate", "seed-chart"] {
        let done = Command::new(ledger_api()).args([command, "--db"]).arg(&db).output().unwrap();
        assert!(done.status.success(), "{command}: {done:?}");
    }
    db
}

/// `ledger-api --db DB` serving HTTP (and /mcp) on a free port, killed when dropped.
struct Served(Child, u16);

impl Served {
    fn start(db: &Path) -> Served {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new(ledger_api())
            .args(["--port", &port.to_string(), "--db"])
            .arg(db)
            .env_remove("LEDGER_TOKEN")
            .env_remove("FAULTS")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        listening(port, "ledger-api", Duration::from_secs(10));
        Served(child, port)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn mcp_targets_work_from_the_command_line_without_a_config_file() {
    let cache = tempfile::tempdir().unwrap();
    let ledger = support::plugin("ledger");
    // Streamable HTTP, with the token as a header: an absolute URL is enough.
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(&ledger_db(dir.path()));
    let mut c = smoke(cache.path());
    c.args(["run", "--plugin"]).arg(&ledger).args(["--plugin-config", "via=mcp", "--mcp-url"]);
    c.arg(format!("http://127.0.0.1:{}/mcp", served.1));
    c.args(["--mcp-header", "Authorization: Bearer smoke-ledger-token"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("10 passed, 0 failed"), "{r}");
    // Without the token, the session cannot open: a named failure, exit 3, every scenario skipped.
    let dir2 = tempfile::tempdir().unwrap();
    let json = dir2.path().join("report.json");
    let mut c = smoke(cache.path());
    c.args(["run", "--plugin"]).arg(&ledger).args(["--plugin-config", "via=mcp", "--mcp-url"]);
    c.arg(format!("http://127.0.0.1:{}/mcp", served.1)).arg("--report-json").arg(&json);
    let r = run(c);
    assert_eq!(r.code, 3, "{r}");
    // The first request, server/discover, is refused for want of the token: smoke says so, and
    // does not try `initialize` (it would be refused the same way).
    assert!(
        r.stderr.contains("MCP server/discover with http://127.0.0.1:") && r.stderr.contains("failed"),
        "{r}"
    );
    assert!(r.stderr.contains("--mcp-header \"Authorization: Bearer TOKEN\""), "{r}");
    let report = report(&json);
    assert_valid_report(&report);
    assert_eq!(report["stage_failure"]["stage"], "mcp", "{report}");
    assert!(
        report["scenarios"].as_array().unwrap().iter().all(|s| s["failure"]["kind"] == "mcp-initialize"),
        "{report}"
    );
    drop(served);

    // Stdio: smoke starts the server itself and stops it.
    let dir = tempfile::tempdir().unwrap();
    let db = ledger_db(dir.path());
    let command = format!("{} mcp --db {}", ledger_api().display(), db.display());
    let mut c = smoke(cache.path());
    c.args(["run", "--plugin"]).arg(&ledger).args(["--plugin-config", "via=mcp", "--mcp-command", &command]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("against the MCP server") && r.stdout.contains("10 passed, 0 failed"), "{r}");
}

#[test]
fn a_tool_call_that_does_not_fit_the_servers_tool_list_is_a_plan_bug_and_nothing_is_sent() {
    let step = |tool: &str, arguments: Value, outcome: &str| json!({"name": tool, "tool_call": {"tool": tool, "arguments": arguments, "expect": {"outcome": outcome}}});
    let scenario = |id: &str, step: Value| json!({"id": id, "endpoint": "tool x", "kind": "happy-path", "steps": [step]});
    let plan = json!({"scenarios": [
        scenario("unknown-tool", step("record_everything", json!({}), "success")),
        scenario("missing-argument", step("get_account", json!({}), "success")),
        scenario("wrong-type", step("record_balance_snapshot",
            json!({"account_id": "a", "date": "2026-01-01", "balance_minor": "ten"}), "success")),
        // Meant to be wrong, so sent unchecked, and the server refuses it.
        scenario("refused-on-purpose", step("record_everything", json!({}), "refused")),
        scenario("read", step("list_accounts", json!({}), "success")),
    ]});
    let dir = tempfile::tempdir().unwrap();
    let (plan_file, json, transcript) =
        (dir.path().join("plan.json"), dir.path().join("report.json"), dir.path().join("t.jsonl"));
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let db = ledger_db(dir.path());
    let command = format!("{} mcp --db {}", ledger_api().display(), db.display());
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--plan"]).arg(&plan_file).args(["--mcp-command", &command, "--report-json"]).arg(&json);
    c.arg("--transcript").arg(&transcript);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let report = report(&json);
    assert_valid_report(&report);
    let kind = |id: &str| {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        (
            s["outcome"].as_str().unwrap().to_string(),
            s["failure"]["kind"].as_str().unwrap_or("").to_string(),
            s.clone(),
        )
    };
    let (outcome, k, s) = kind("unknown-tool");
    assert_eq!((outcome.as_str(), k.as_str()), ("failed", "unknown-tool"), "{s}");
    assert!(
        s["failure"]["message"].as_str().unwrap().contains("does not list a tool \"record_everything\""),
        "{s}"
    );
    for id in ["missing-argument", "wrong-type"] {
        let (outcome, k, s) = kind(id);
        assert_eq!((outcome.as_str(), k.as_str()), ("failed", "invalid-arguments"), "{s}");
        assert!(s["failure"]["message"].as_str().unwrap().contains("a bug in the plan"), "{s}");
    }
    assert_eq!(kind("refused-on-purpose").0, "passed");
    assert_eq!(kind("read").0, "passed");
    // Nothing was sent for the plan bugs: the transcript holds only the two calls that went out.
    let sent: Vec<Value> = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let scenarios: BTreeSet<&str> = sent.iter().map(|l| l["scenario"].as_str().unwrap()).collect();
    assert_eq!(scenarios, BTreeSet::from(["read", "refused-on-purpose"]), "{sent:?}");
    let triage: Vec<&str> =
        report["triage"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
    assert!(triage.contains(&"mcp-unknown-tool") && triage.contains(&"mcp-invalid-arguments"), "{triage:?}");
}

/// A plan of three scenarios, each calling the hostile server's `echo` tool once.
fn echo_plan(dir: &Path) -> PathBuf {
    let scenario = |n: usize| {
        json!({"id": format!("echo.{n}"), "endpoint": "tool echo", "kind": "happy-path", "steps": [{
            "name": "echo", "timeout_ms": 1500,
            "tool_call": {"tool": "echo", "arguments": {"text": format!("hello {n}")},
                          "expect": {"outcome": "success", "result": [{"pointer": "/said", "test": "equals", "value": format!("hello {n}")}]}}
        }]})
    };
    let path = dir.join("plan.json");
    std::fs::write(&path, json!({"scenarios": [scenario(1), scenario(2), scenario(3)]}).to_string()).unwrap();
    path
}

/// Run the echo plan against `mcp_server.py MODE` over stdio: the run, its report, the server's pid
/// and how long the run took.
fn against_stdio_server(mode: &str) -> (crate::support::Run, Value, u32, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let (pid_file, json) = (dir.path().join("pid"), dir.path().join("report.json"));
    let script = root().join("tests/e2e/hostile/mcp_server.py");
    let config = dir.path().join("smoke.toml");
    std::fs::write(
        &config,
        format!(
            "[target]\nworkdir = \"temp\"\n\n[target.mcp]\ncommand = \"python3\"\nargs = [{:?}, {mode:?}, \"--pid-file\", {:?}]\ntimeout = \"2s\"\n",
            script.display().to_string(),
            pid_file.display().to_string()
        ),
    )
    .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--jobs", "1", "--config"]).arg(&config).arg("--plan").arg(echo_plan(dir.path()));
    c.arg("--report-json").arg(&json);
    let started = Instant::now();
    let r = run(c);
    let took = started.elapsed();
    let pid: u32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    let report =
        std::fs::read_to_string(&json).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (r, report, pid, took)
}

fn failure_kinds(report: &Value) -> Vec<String> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["failure"]["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn a_stdio_server_that_never_answers_initialize_fails_the_run_by_name_and_is_stopped() {
    let (r, report, pid, took) = against_stdio_server("no-initialize");
    assert_eq!(r.code, 3, "{r}");
    assert!(
        r.stderr.contains("MCP initialize with stdio of `python3")
            && r.stderr.contains("got no answer within 2000 ms")
            && r.stderr.contains("before it, server/discover was refused: JSON-RPC error: -32601"),
        "{r}"
    );
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_valid_report(&report);
    assert_eq!(failure_kinds(&report), ["mcp-initialize"; 3]);
    assert!(support::wait_gone(&[pid], Duration::from_secs(5)).is_empty(), "the server outlived the run");
}

#[test]
fn a_stdio_server_that_hangs_on_a_call_times_out_by_name_and_is_stopped() {
    let (r, report, pid, took) = against_stdio_server("hang-call");
    assert_eq!(r.code, 1, "{r}");
    assert_valid_report(&report);
    assert_eq!(failure_kinds(&report), ["timeout"; 3], "{r}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(support::wait_gone(&[pid], Duration::from_secs(5)).is_empty(), "the server outlived the run");
}

#[test]
fn a_stdio_server_that_exits_mid_run_is_named_as_exited() {
    let (r, report, pid, _) = against_stdio_server("exit-mid-run");
    assert_eq!(r.code, 1, "{r}");
    assert_valid_report(&report);
    assert_eq!(failure_kinds(&report), ["", "service-exited", "service-exited"], "{r}");
    let second = &report["scenarios"][1]["failure"]["message"];
    assert!(second.as_str().unwrap().contains("exited (exit status: 3)"), "{second}");
    assert!(support::wait_gone(&[pid], Duration::from_secs(5)).is_empty());
}

#[test]
fn a_stdio_server_that_prints_non_json_on_stdout_breaks_its_session_by_name() {
    let (r, report, pid, _) = against_stdio_server("garbage-stdout");
    assert_eq!(r.code, 1, "{r}");
    assert_valid_report(&report);
    assert_eq!(failure_kinds(&report), ["mcp-protocol"; 3], "{r}");
    let first = report["scenarios"][0]["failure"]["message"].as_str().unwrap();
    assert!(
        first.contains("printed \"server ready! (debug print)\" on stdout, which is not JSON-RPC"),
        "{first}"
    );
    assert!(support::wait_gone(&[pid], Duration::from_secs(5)).is_empty(), "the server outlived the run");
}

#[test]
fn a_streamable_http_server_answering_plain_json_works_and_its_output_schema_is_held_to() {
    for (mode, code) in [("correct", 0), ("wrong-output", 1)] {
        let server = HttpTestServer::start(mode);
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let cache = tempfile::tempdir().unwrap();
        let mut c = smoke(cache.path());
        c.args(["run", "--plan"]).arg(echo_plan(dir.path()));
        c.args(["--mcp-url", &server.url(), "--report-json"]).arg(&json);
        let r = run(c);
        drop(server);
        assert_eq!(r.code, code, "{mode}:\n{r}");
        let report = report(&json);
        assert_valid_report(&report);
        assert_eq!(report["mcp"]["name"], format!("hostile-{mode}"));
        if code == 1 {
            assert_eq!(failure_kinds(&report), ["schema"; 3], "{r}");
            let message = report["scenarios"][0]["failure"]["message"].as_str().unwrap();
            assert!(message.contains("does not match the tool's outputSchema"), "{message}");
        }
    }
}

/// `mcp_server.py MODE --http PORT`, killed when dropped.
pub(crate) struct HttpTestServer(Child, u16);

impl HttpTestServer {
    fn start(mode: &str) -> HttpTestServer {
        HttpTestServer::start_with(mode, &[])
    }

    pub(crate) fn start_with(mode: &str, extra: &[&str]) -> HttpTestServer {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .arg(root().join("tests/e2e/hostile/mcp_server.py"))
            .args([mode, "--http", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        listening(port, "the test server", Duration::from_secs(10));
        HttpTestServer(child, port)
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.1)
    }
}

impl Drop for HttpTestServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_generic_mcp_plugin_passes_on_the_ledger_over_both_transports() {
    let cache = tempfile::tempdir().unwrap();
    let mcp = support::plugin("mcp");
    for config in [HTTP, STDIO] {
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut c = smoke(cache.path());
        c.args(["run", "--config", config, "--plugin"]).arg(&mcp).arg("--report-json").arg(&json);
        let r = run(c);
        assert_eq!(r.code, 0, "{config}:\n{r}");
        let report = report(&json);
        assert_valid_report(&report);
        let ids: BTreeSet<&str> =
            report["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
        // Every tool the ledger lists gets a valid call (none of them is destructive), the ones
        // with arguments an invalid one too, plus the unknown tool.
        for tool in report["mcp"]["tools"].as_array().unwrap() {
            assert!(
                ids.contains(format!("mcp.{}.valid", tool.as_str().unwrap()).as_str()),
                "{tool}: {ids:?}"
            );
        }
        assert!(
            ids.contains("mcp.record_transaction_bundle.invalid") && ids.contains("mcp.unknown-tool"),
            "{ids:?}"
        );
        let (checks, calls): (BTreeSet<&str>, BTreeSet<&str>) =
            ids.iter().partition(|id| id.starts_with("mcp.protocol."));
        assert_eq!(calls.len(), 18, "{ids:?}");
        // The host's protocol checks join the plugin's plan, those of the revision (2026-07-28)
        // and the transport, and pass (the run passed).
        let expected: BTreeSet<String> = match config {
            HTTP => [
                "origin",
                "protocol-version-header",
                "method-header",
                "name-header",
                "json-or-sse",
                "authorization",
            ]
            .as_slice(),
            _ => ["stdout"].as_slice(),
        }
        .iter()
        .chain(&[
            "unknown-method",
            "invalid-params",
            "result-type",
            "list-order",
            "cache-fields",
            "pagination",
            "lint",
        ])
        .map(|c| format!("mcp.protocol.{c}"))
        .collect();
        assert_eq!(checks, expected.iter().map(String::as_str).collect(), "{config}");
        assert_all_tool_calls(&report);
        // The happy paths succeed, not merely answer: ids come from what the ledger itself
        // listed or made, dates are dates, and a bundle balances as the tool's example shows.
        let valid: Vec<&Value> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["id"].as_str().unwrap().ends_with(".valid"))
            .collect();
        let passed = valid.iter().filter(|s| s["outcome"] == "passed").count();
        assert!(
            passed >= 8 && valid.len() == 9,
            "{config}: {passed} of {} happy paths passed: {valid:?}",
            valid.len()
        );
        let get_account = valid.iter().find(|s| s["id"] == "mcp.get_account.valid").unwrap();
        assert_eq!(get_account["steps"][0]["name"], "account from list_accounts", "{get_account}");
        for s in &valid {
            let text = s.to_string();
            assert!(!text.contains("0000-00"), "a date that is no date: {s}");
        }
    }
}

#[test]
fn a_server_answering_every_call_with_an_error_does_not_pass_and_says_what_was_not_tested() {
    let cache = tempfile::tempdir().unwrap();
    let server = HttpTestServer::start("error-always");
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = generic_over_http(cache.path(), dir.path(), &server.url(), &[]);
    assert_eq!(r.code, 1, "an error to every valid call is no pass:\n{r}");
    assert_valid_report(&report);
    for id in ["mcp.echo.valid", "mcp.count.valid"] {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        assert_eq!(s["outcome"], "skipped", "{s}");
        assert_eq!(s["failure"]["kind"], "not-tested", "{s}");
        assert!(s["reason"].as_str().unwrap().contains("service unavailable"), "the tool's own words: {s}");
    }
    assert!(r.stdout.contains("SKIP  mcp.echo.valid  (not tested: tool \"echo\" answered an error"), "{r}");
    let last = r.stdout.lines().last().unwrap();
    assert!(last.contains("2 not tested") && last.contains("nothing was tested"), "{r}");
    // The report's "not tested" ledger names each tool's happy path, in the tool's words.
    let ledger = report["not_tested"].as_array().unwrap();
    for tool in ["tool echo", "tool count"] {
        let e = ledger.iter().find(|e| e["endpoint"] == tool && e["kind"] == "happy-path");
        let reason = e.and_then(|e| e["reason"].as_str()).unwrap_or_default();
        assert!(reason.contains("service unavailable"), "{tool}: {ledger:?}");
    }
    assert!(r.stdout.contains("Not tested: 2 check(s) on 2 endpoint(s)"), "{r}");
}

#[test]
fn the_generic_mcp_plugin_catches_invalid_arguments_accepted_and_an_output_schema_not_honoured() {
    let cache = tempfile::tempdir().unwrap();
    let mcp = support::plugin("mcp");
    for (mode, failed, kind) in [
        ("correct", "", ""),
        ("accepts-invalid", "mcp.echo.invalid", "tool-accepted"),
        ("wrong-output", "mcp.echo.valid", "schema"),
        // An internal error is a crash, not a refusal of bad input.
        ("crash-invalid", "mcp.echo.invalid", "tool-error"),
    ] {
        let server = HttpTestServer::start(mode);
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut c = smoke(cache.path());
        c.args(["run", "--plugin"]).arg(&mcp).args(["--mcp-url", &server.url(), "--report-json"]).arg(&json);
        let r = run(c);
        let report = report(&json);
        assert_valid_report(&report);
        let failures: Vec<(&str, &str)> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "failed")
            .map(|s| (s["id"].as_str().unwrap(), s["failure"]["kind"].as_str().unwrap()))
            .collect();
        if failed.is_empty() {
            assert_eq!(r.code, 0, "{mode}: no false failure:\n{r}");
            // echo valid and invalid, count valid (it takes no arguments), the unknown tool.
            let calls = ids_with(&report, "passed").filter(|id| !id.starts_with("mcp.protocol.")).count();
            assert_eq!(calls, 4, "{mode}: {report}");
        } else {
            assert_eq!(r.code, 1, "{mode}:\n{r}");
            assert_eq!(failures, [(failed, kind)], "{mode}:\n{r}");
        }
    }
}

#[test]
fn a_plugin_that_plans_from_the_mcp_server_needs_an_mcp_target() {
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--base-url", "http://127.0.0.1:9"]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("plugin mcp plans from the MCP server's own tool list")
            && r.stderr.contains("--mcp-url"),
        "{r}"
    );
}

/// A public reference server installed by `make test-deps` (no test passes without it).
fn reference(path: &str) -> PathBuf {
    let p = root().join(path);
    assert!(p.exists(), "{} is missing: `make test-deps` installs the reference MCP servers", p.display());
    p
}

/// The generic plugin against a server not in this repository: it plans from the server's own
/// tool list and runs with no false failure (these servers are correct).
/// The generic MCP plugin run against the server at `url` (cache in `cache`, report.json in
/// `dir`), with `extra` arguments: the run and its report.
fn generic_over_http(cache: &Path, dir: &Path, url: &str, extra: &[&str]) -> (crate::support::Run, Value) {
    let json = dir.join("report.json");
    let mut c = smoke(cache);
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--mcp-url", url, "--report-json"]);
    c.arg(&json).args(extra);
    (run(c), report(&json))
}

/// The ids of a report's scenarios with this outcome, in report order.
fn ids_with<'a>(report: &'a Value, outcome: &'a str) -> impl Iterator<Item = &'a str> {
    report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |s| s["outcome"] == outcome)
        .map(|s| s["id"].as_str().unwrap_or_default())
}

/// The generic MCP plugin run against a public server (`target` says where): the run and its
/// report, checked against the schema.
fn generic_run(target: &[&str]) -> (crate::support::Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    // Their tools carry no destructiveHint, and these servers destroy nothing.
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--plugin-config", "destructive=true"]);
    c.args(target).arg("--report-json").arg(&json);
    let r = run(c);
    let report = report(&json);
    assert_valid_report(&report);
    (r, report)
}

fn generic_on(target: &[&str], what: &str) -> Value {
    let (r, report) = generic_run(target);
    assert_eq!(r.code, 0, "{what}: a correct server must pass:\n{r}");
    let tools = report["mcp"]["tools"].as_array().unwrap().len();
    assert!(tools >= 2, "{what}: {report}");
    // A valid call per tool, the unknown tool, and invalid calls where the schema allows one.
    assert!(report["summary"]["passed"].as_u64().unwrap() as usize > tools, "{what}: {report}");
    report
}

#[test]
fn the_generic_plugin_runs_on_public_reference_servers_with_no_false_failure() {
    let time = reference("target/test-deps/venv/bin/mcp-server-time");
    let time = format!("{} --local-timezone UTC", time.display());
    let report = generic_on(&["--mcp-command", &time, "--mcp-protocol", "2025-11-25"], "mcp-server-time");
    assert_eq!(report["mcp"]["name"], "mcp-time");
    assert_eq!(
        (&report["mcp"]["protocol_version"], &report["mcp"]["handshake"]),
        (&json!("2025-11-25"), &json!("initialize"))
    );
    // It speaks 2026-07-28 too, which smoke prefers; there the SDK it is built on (Python `mcp`
    // 2.3.0) answers `prompts/get` of a prompt it does not have with -32603 (internal error), not
    // the -32602 MCP prescribes: the one failure, a true one.
    let (r, report) = generic_run(&["--mcp-command", &time]);
    assert_eq!(
        (&report["mcp"]["protocol_version"], &report["mcp"]["handshake"]),
        (&json!("2026-07-28"), &json!("server/discover")),
        "{report}"
    );
    let failed: Vec<&str> = ids_with(&report, "failed").collect();
    assert_eq!((r.code, failed), (1, vec!["mcp.prompts.get.unknown"]), "{r}");
    assert!(r.stdout.contains("JSON-RPC error -32603 (internal error)"), "{r}");

    let everything =
        reference("target/mcp-reference/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    let report = generic_on(
        &["--mcp-command", &format!("node {} stdio", everything.display())],
        "everything over stdio",
    );
    let stdio_tools = report["mcp"]["tools"].clone();
    // It offers resources and prompts: they list and read, and unknown ones are refused.
    let passed: BTreeSet<&str> = ids_with(&report, "passed").collect();
    for id in [
        "mcp.resources.list",
        "mcp.resources.read.1",
        "mcp.resources.read.unknown",
        "mcp.prompts.list",
        "mcp.prompts.get.1",
        "mcp.prompts.get.unknown",
    ] {
        assert!(passed.contains(id), "{id} did not pass: {passed:?}");
    }

    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let mut server = Command::new("node")
        .arg("--require")
        .arg(root().join("tests/mcp-reference/loopback.cjs"))
        .arg(&everything)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    listening(port, "the everything server", Duration::from_secs(20));
    let url = format!("http://127.0.0.1:{port}/mcp");
    let (r, report) = generic_run(&["--mcp-url", &url]);
    let _ = server.kill();
    let _ = server.wait();
    // Over Streamable HTTP it breaks two MUSTs of the transport, true findings both: it serves a
    // page from any Origin (no defence against DNS rebinding: the SDK's is off unless asked
    // for), and answers a request naming a session it ended with 400, not 404 (which tells a
    // client to begin a session anew). Everything else passes.
    let failed: Vec<&str> = ids_with(&report, "failed").collect();
    assert_eq!((r.code, failed), (1, vec!["mcp.protocol.origin", "mcp.protocol.ended-session"]), "{r}");
    assert!(r.stdout.contains("a request from a foreign Origin was answered HTTP 200"), "{r}");
    assert!(r.stdout.contains("a request naming a session the server ended was answered HTTP 400"), "{r}");
    assert!(ids_with(&report, "passed").count() > 20, "{report}");
    assert_eq!(
        report["mcp"]["tools"], stdio_tools,
        "the same server lists the same tools over both transports"
    );
}

#[test]
fn a_tool_call_polls_until_its_result_settles_reading_json_from_its_text_content() {
    let server = HttpTestServer::start("correct");
    let poll = |id: &str, until: u64, timeout_ms: u64| {
        json!({"id": id, "endpoint": "tool count", "kind": "workflow", "steps": [{
            "name": "count", "mode": {"mode": "poll", "interval_ms": 20, "timeout_ms": timeout_ms},
            "tool_call": {"tool": "count", "arguments": {},
                          "expect": {"outcome": "success", "result": [{"pointer": "/count", "test": "equals", "value": until}]}},
            "captures": [{"name": "counted", "source": {"from": "body", "path": "/count"}}]
        }]})
    };
    let plan = json!({"scenarios": [poll("settles", 3, 5000)]});
    let dir = tempfile::tempdir().unwrap();
    let (plan_file, json) = (dir.path().join("plan.json"), dir.path().join("report.json"));
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--plan"]).arg(&plan_file).args(["--mcp-url", &server.url(), "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let settled = report(&json);
    let step = &settled["scenarios"][0]["steps"][0];
    assert_eq!(step["attempts"], 3, "{step}");
    assert_eq!(step["captured"]["counted"], "3", "{step}");
    // One that never settles fails, naming the last attempt.
    let plan = json!({"scenarios": [poll("never", 0, 200)]});
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let mut c = smoke(cache.path());
    c.args(["run", "--plan"]).arg(&plan_file).args(["--mcp-url", &server.url(), "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let message = report(&json)["scenarios"][0]["failure"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with("did not hold within 200 ms") && message.contains("\"/count\" is"),
        "{message}"
    );
}

#[test]
fn smoke_plan_takes_the_options_of_smoke_run_and_plans_from_an_mcp_server_it_is_given() {
    let cache = tempfile::tempdir().unwrap();
    // `run` swapped for `plan`: the same plan, the run-only options accepted.
    let plain = {
        let mut c = smoke(cache.path());
        c.args(["plan", "--config", "examples/ledger-api/smoke.toml"]);
        run(c)
    };
    assert_eq!(plain.code, 0, "{plain}");
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(cache.path());
    c.args([
        "plan",
        "--config",
        "examples/ledger-api/smoke.toml",
        "--base-url",
        "http://127.0.0.1:9",
        "--jobs",
        "4",
    ]);
    c.args(["--request-timeout", "5s", "--timeout", "1m", "--report-json"]).arg(dir.path().join("r.json"));
    let swapped = run(c);
    assert_eq!(swapped.code, 0, "{swapped}");
    assert_eq!(swapped.stdout, plain.stdout, "the options of a run do not change the plan");
    assert!(!dir.path().join("r.json").exists(), "planning writes no report");

    // The generic MCP plugin plans from the server --mcp-command starts.
    let mcp = support::plugin("mcp");
    let db = ledger_db(dir.path());
    let mut c = smoke(cache.path());
    c.args(["plan", "--plugin"]).arg(&mcp);
    c.args(["--mcp-command", &format!("{} mcp --db {}", ledger_api().display(), db.display())]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let plan: Value = serde_json::from_str(&r.stdout).unwrap();
    let ids: BTreeSet<&str> =
        plan["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    // 18 calls, and the protocol checks of a 2026-07-28 server over stdio.
    assert_eq!(ids.len(), 18 + 8, "{ids:?}");
    assert!(ids.contains("mcp.protocol.stdout") && ids.contains("mcp.protocol.result-type"), "{ids:?}");
    assert!(
        ids.contains("mcp.record_transaction_bundle.valid") && ids.contains("mcp.unknown-tool"),
        "{ids:?}"
    );
    // Without a server to read, it says what to give.
    let mut c = smoke(cache.path());
    c.args(["plan", "--plugin"]).arg(&mcp);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("--mcp-url URL, or one to start with --mcp-command"), "{r}");
}

#[test]
fn what_the_generic_mcp_plugin_makes_is_deleted_at_the_end_unless_kept() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("notes.json");
    let server = HttpTestServer::start_with("notes", &["--state", state.to_str().unwrap()]);
    let notes = || -> Vec<Value> { serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap() };
    let run_it = |extra: &[&str]| generic_over_http(cache.path(), dir.path(), &server.url(), extra);
    let (r, report) = run_it(&[]);
    assert_eq!(r.code, 0, "{r}");
    // Each scenario made its own note (`get_note` too, rather than one another scenario deletes
    // meanwhile), and deleted it last, with delete_note, which is otherwise left out.
    for id in ["mcp.create_note.valid", "mcp.get_note.valid"] {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        assert_eq!(s["outcome"], "passed", "{s}");
        let steps = s["steps"].as_array().unwrap();
        let last = steps.last().unwrap()["name"].as_str().unwrap_or_default();
        assert_eq!(last, "clean up: delete_note what create_note made", "{s}");
    }
    assert!(report["scenarios"].as_array().unwrap().iter().all(|s| s["id"] != "mcp.delete_note.valid"));
    assert_eq!(notes(), Vec::<Value>::new(), "nothing left behind:\n{r}");
    // Kept when asked.
    let (r, _) = run_it(&["--keep-data"]);
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(notes().len(), 2, "{r}");
}
