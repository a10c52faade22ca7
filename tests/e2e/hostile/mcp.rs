//! A hostile MCP server (tests/e2e/hostile/mcp_server.py): an HTTP endpoint that answers with a
//! redirect or a sign-in page, a tool list with a name listed twice or an entry that is not a
//! tool, a schema of megabytes or a hundred thousand tools, names that would forge output lines,
//! a flood on stderr. Each is named for what it is, the rest of the tools are judged, and smoke
//! stays small.

use super::{read_report, run_measured};
use crate::support::{self, Run, plugin, root, smoke};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn script() -> PathBuf {
    root().join("tests/e2e/hostile/mcp_server.py")
}

/// `mcp_server.py MODE` over stdio, as `--mcp-command` takes it.
fn stdio(mode: &str) -> String {
    format!("python3 {} {mode}", script().display())
}

/// `mcp_server.py MODE --http PORT [EXTRA]` on a free port, killed when dropped.
struct Served(Child, u16);

impl Served {
    fn start(mode: &str, extra: &[&str]) -> Served {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .arg(script())
            .args([mode, "--http", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{mode}: the server did not listen within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Served(child, port)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.1)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plan of one scenario per `(id, tool, arguments)`, each calling the tool once, expecting a
/// success.
fn plan(dir: &Path, calls: &[(&str, &str, Value)]) -> PathBuf {
    let scenarios: Vec<Value> = calls
        .iter()
        .map(|(id, tool, arguments)| {
            json!({"id": id, "endpoint": format!("tool {id}"), "kind": "happy-path", "steps": [{
                "name": id, "timeout_ms": 5000,
                "tool_call": {"tool": tool, "arguments": arguments, "expect": {"outcome": "success"}}
            }]})
        })
        .collect();
    let path = dir.join("plan.json");
    std::fs::write(&path, json!({ "scenarios": scenarios }).to_string()).unwrap();
    path
}

/// The echo and count calls the well-behaved tools of every mode pass.
fn echo_and_count() -> Vec<(&'static str, &'static str, Value)> {
    vec![("echo", "echo", json!({"text": "hello"})), ("count", "count", json!({}))]
}

/// `smoke run --plan PLAN TARGET... --artifacts DIR/run` with every report.
fn run_against(dir: &Path, plan: &Path, target: &[&str], extra: &[&str]) -> Command {
    let mut c = smoke(dir);
    c.arg("run").arg("--plan").arg(plan).args(target).args(extra);
    support::every_report(&mut c, &dir.join("run"));
    c
}

/// Each scenario's (outcome, failure kind, reason), by id.
fn outcomes(report: &Value) -> std::collections::BTreeMap<String, (String, String, String)> {
    let text = |v: &Value| v.as_str().unwrap_or("").to_string();
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (text(&s["id"]), (text(&s["outcome"]), text(&s["failure"]["kind"]), text(&s["reason"]))))
        .collect()
}

#[test]
fn a_server_answering_the_mcp_post_with_a_redirect_or_a_page_is_named_with_what_came_back() {
    for (mode, answered) in [
        ("redirect", "answered 307 Temporary Redirect to http://127.0.0.1:{port}/login?next=/mcp"),
        ("login-page", "answered 200 OK with content-type text/html; charset=utf-8"),
    ] {
        let server = Served::start(mode, &[]);
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), &echo_and_count());
        // With credentials in the URL: never shown.
        let url = format!("http://ann:pw-never-shown@127.0.0.1:{}/mcp", server.1);
        let r = support::run(run_against(dir.path(), &plan, &["--mcp-url", &url], &[]));
        assert_eq!(r.code, 3, "{mode}: a session that cannot open is a stage failure: {r}");
        let answered = answered.replace("{port}", &server.1.to_string());
        let endpoint = format!("MCP initialize with http://127.0.0.1:{}/mcp got no MCP answer", server.1);
        for expected in [
            endpoint.as_str(),
            answered.as_str(),
            r#"body "<html><head><title>Sign in</title></head> <body><form action=/login>\x1b[31m::error::forged"#,
            "not a JSON-RPC answer as application/json or text/event-stream",
            "--mcp-header",
        ] {
            assert!(r.stderr.contains(expected), "{mode}: {expected:?} is not said: {r}");
        }
        assert!(!r.to_string().contains("pw-never-shown"), "{mode}: {r}");
        assert!(!r.stderr.contains("Transport [") && !r.stderr.contains("WorkerTransport"), "{mode}: {r}");
        let report = read_report(dir.path());
        assert_eq!(report["stage_failure"]["stage"], "mcp", "{report}");
        assert!(report["stage_failure"]["message"].as_str().unwrap().contains(&answered), "{report}");
        assert!(outcomes(&report).values().all(|(_, kind, _)| kind == "mcp-initialize"), "{report}");
    }

    // A server that starts redirecting once the session is open (its gateway's session with the
    // client expired): each call fails as an HTTP failure saying what came back.
    let server = Served::start("redirect-calls", &[]);
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &echo_and_count());
    let r = support::run(run_against(dir.path(), &plan, &["--mcp-url", &server.url()], &[]));
    assert_eq!(r.code, 1, "{r}");
    let location = format!("307 Temporary Redirect to http://127.0.0.1:{}/login?next=/mcp", server.1);
    for (id, (outcome, kind, reason)) in outcomes(&read_report(dir.path())) {
        assert_eq!((outcome.as_str(), kind.as_str()), ("failed", "http"), "{id}: {reason}");
        assert!(reason.contains(&format!("the server answered a POST with {location}")), "{id}: {reason}");
        assert!(!reason.contains("Transport ["), "{id}: {reason}");
    }
    assert!(!r.stdout.contains("Transport [") && !r.stdout.contains("prints to stdout"), "{r}");
}

/// `initialize` offers a revision that has an `initialize` handshake: never 2026-07-28, which
/// replaced it with `server/discover` (this server echoes the revision it is offered, and
/// report.json records what was negotiated).
#[test]
fn initialize_offers_only_a_revision_that_has_an_initialize_handshake() {
    let served = Served::start("plain", &[]);
    for target in [vec!["--mcp-command".to_string(), stdio("plain")], vec!["--mcp-url".into(), served.url()]]
    {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), &echo_and_count());
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        let r = support::run(run_against(dir.path(), &plan, &target, &[]));
        assert_eq!(r.code, 0, "{target:?}: {r}");
        let report = read_report(dir.path());
        assert_eq!(report["mcp"]["protocol_version"], "2025-11-25", "{target:?}: {}", report["mcp"]);
    }
}

#[test]
fn a_tool_listed_twice_fails_its_calls_naming_it_and_the_other_tools_are_judged() {
    let listed_twice =
        r#"the server lists tool "echo" 2 times (tools/list entries 1, 3), with different definitions"#;
    let served = Served::start("duplicate-tools", &[]);
    for target in
        [vec!["--mcp-command".to_string(), stdio("duplicate-tools")], vec!["--mcp-url".into(), served.url()]]
    {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), &echo_and_count());
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        let r = support::run(run_against(dir.path(), &plan, &target, &[]));
        assert_eq!(r.code, 1, "{target:?}: {r}");
        assert!(r.stderr.contains(listed_twice), "the run warns of it when the session opens: {r}");
        let report = read_report(dir.path());
        let outcomes = outcomes(&report);
        let (outcome, kind, reason) = &outcomes["echo"];
        assert_eq!((outcome.as_str(), kind.as_str()), ("failed", "schema"), "{reason}");
        assert!(reason.contains(listed_twice) && reason.contains("no call of it is sent"), "{reason}");
        assert_eq!(outcomes["count"].0, "passed", "{report}");
        assert_eq!(report["mcp"]["tools"], json!(["count", "echo"]), "each name once");
    }
    // The generic plugin plans from the tool list: the duplicate's scenario fails naming it.
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(plugin("mcp")).args(["--mcp-url", &served.url()]);
    support::every_report(&mut c, &dir.path().join("run"));
    let r = support::run(c);
    assert_eq!(r.code, 1, "{r}");
    let outcomes = outcomes(&read_report(dir.path()));
    for id in ["mcp.echo.valid", "mcp.echo.invalid"] {
        assert!(outcomes[id].2.contains(listed_twice), "{id}: {outcomes:?}");
    }
    assert_eq!(outcomes["mcp.count.valid"].0, "passed", "{outcomes:?}");
}

#[test]
fn a_tool_list_entry_that_is_not_a_tool_is_named_and_the_other_tools_are_judged() {
    // Over two pages: echo, `broken` (inputSchema: true), an entry with no name; then count.
    let served = Served::start("invalid-tool", &[]);
    for target in
        [vec!["--mcp-command".to_string(), stdio("invalid-tool")], vec!["--mcp-url".into(), served.url()]]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut calls = echo_and_count();
        calls.push(("broken", "broken", json!({})));
        let plan = plan(dir.path(), &calls);
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        let r = support::run(run_against(dir.path(), &plan, &target, &[]));
        assert_eq!(r.code, 1, "{target:?}: the session opens and the other tools are judged: {r}");
        let broken = r#"the server lists tool "broken" (tools/list entry 2), which has inputSchema true, not a JSON object"#;
        assert!(r.stderr.contains(broken), "{r}");
        assert!(r.stderr.contains("tools/list entry 3 has no name: it cannot be called"), "{r}");
        assert!(!r.stderr.contains("Unexpected response type"), "{r}");
        let report = read_report(dir.path());
        let outcomes = outcomes(&report);
        assert_eq!(outcomes["echo"].0, "passed", "{outcomes:?}");
        assert_eq!(outcomes["count"].0, "passed", "the second page is read: {outcomes:?}");
        let (outcome, kind, reason) = &outcomes["broken"];
        assert_eq!((outcome.as_str(), kind.as_str()), ("failed", "schema"), "{reason}");
        assert!(reason.contains(broken), "{reason}");
        assert_eq!(report["mcp"]["tools"], json!(["broken", "count", "echo"]), "{report}");
    }
}

#[test]
fn a_ten_megabyte_schema_or_a_hundred_thousand_tools_keep_smoke_small() {
    // `echo`'s inputSchema is 11.2 MB of JSON: the list is read, the schema is too large to
    // compile (its calls fail saying so), `count` passes; over stdio, JSON and an event stream.
    let json_server = Served::start("huge-schema", &[]);
    let sse_server = Served::start("huge-schema", &["--sse"]);
    let targets = [
        vec!["--mcp-command".to_string(), stdio("huge-schema")],
        vec!["--mcp-url".into(), json_server.url()],
        vec!["--mcp-url".into(), sse_server.url()],
    ];
    for target in &targets {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), &echo_and_count());
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        let (r, peak_mib) = run_measured(run_against(dir.path(), &plan, &target, &["--jobs", "1"]));
        assert!(peak_mib < 120, "{target:?}: smoke peaked at {peak_mib} MiB for an 11 MB tool list");
        assert_eq!(r.code, 1, "{target:?}: {r}");
        let outcomes = outcomes(&read_report(dir.path()));
        let (outcome, kind, reason) = &outcomes["echo"];
        assert_eq!((outcome.as_str(), kind.as_str()), ("failed", "schema"), "{reason}");
        assert!(reason.contains("is 11.2 MiB of JSON, more than the 1 MiB smoke compiles"), "{reason}");
        assert_eq!(outcomes["count"].0, "passed", "{outcomes:?}");
    }
    // 100,002 tools in one page: refused past 10,000, without holding them.
    let served = Served::start("many-tools", &[]);
    for target in
        [vec!["--mcp-command".to_string(), stdio("many-tools")], vec!["--mcp-url".into(), served.url()]]
    {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan(dir.path(), &echo_and_count());
        let target: Vec<&str> = target.iter().map(String::as_str).collect();
        let (r, peak_mib) = run_measured(run_against(dir.path(), &plan, &target, &[]));
        assert!(peak_mib < 80, "{target:?}: smoke peaked at {peak_mib} MiB for a 5 MB tool list");
        assert_eq!(r.code, 3, "{target:?}: {r}");
        assert!(r.stderr.contains("the server lists more than 10000 tools"), "{r}");
    }
}

/// Whether a line is one a CI system would obey, or one the console's last guard had to defuse
/// (its first character written as an escape: something upstream printed it unescaped).
fn forged(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with("::") || t.starts_with("##[") || t.starts_with("##vso[") || t.starts_with("\\x3a")
}

/// Every line of `text` is plain: no forged line, no control character.
fn assert_plain(place: &str, text: &str) {
    for line in text.lines() {
        assert!(!forged(line), "{place} has a forged line {line:?}:\n{text}");
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{place} has a control character: {line:?}"
        );
    }
}

#[test]
fn hostile_tool_and_server_names_never_forge_a_line_or_reach_the_console_raw() {
    let dir = tempfile::tempdir().unwrap();
    // The server's hostile tools (each answers isError with its name), and one it does not list.
    let calls = [
        ("evil", "evil\n::error file=x::pwned", json!({})),
        ("red", "red\x1b[31mALERT\x1b[0m", json!({})),
        ("bell", "bell\x07\x08\r::warning::overwritten", json!({})),
        ("ghost", "ghost\n::error::unknown\x1b[2J", json!({})),
    ];
    let plan = plan(dir.path(), &calls);
    let r =
        support::run(run_against(dir.path(), &plan, &["--mcp-command", &stdio("hostile-names")], &["-v"]));
    assert_plain("stdout", &r.stdout);
    assert_plain("stderr", &r.stderr);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains(r#"tool "evil\n::error file=x::pwned" reported an error"#), "{r}");
    assert!(
        r.stdout.contains(r#"the server does not list a tool "ghost\n::error::unknown\u{1b}[2J""#),
        "{r}"
    );
    assert!(r.stderr.contains(r"(hostile\x0a::error::server\x1b[2J 0.0.1\x1b]0;title\x07"), "{r}");
    let outcomes = outcomes(&read_report(dir.path()));
    assert!(outcomes.values().all(|(outcome, _, _)| outcome == "failed"), "{outcomes:?}");
    let junit = std::fs::read_to_string(dir.path().join("run/r.xml")).unwrap();
    let mut reader = quick_xml::Reader::from_str(&junit);
    while !matches!(reader.read_event().expect("well-formed JUnit"), quick_xml::events::Event::Eof) {}
    let log = std::fs::read_to_string(dir.path().join("run/mcp-server.log")).unwrap_or_default();
    for (place, text) in [("stdout", &r.stdout), ("stderr", &r.stderr), ("JUnit", &junit), ("the log", &log)]
    {
        assert_plain(place, text);
    }

    // `smoke plan` with the generic plugin: the plan on stdout, the rest on stderr.
    let mut c = smoke(dir.path());
    c.args(["plan", "-v", "--plugin"]).arg(plugin("mcp"));
    c.args(["--mcp-command", &stdio("hostile-names"), "--plugin-config", "destructive=true"]);
    let planned: Run = support::run(c);
    assert_eq!(planned.code, 0, "{planned}");
    let plan: Value = serde_json::from_str(&planned.stdout).expect("the plan is JSON");
    assert!(plan["scenarios"].as_array().unwrap().len() >= 5, "{plan}");
    assert_plain("smoke plan's stderr", &planned.stderr);
}

#[test]
fn a_stdio_server_flooding_stderr_gets_a_capped_log_and_smoke_stays_small() {
    // 100 MB on stderr before the server reads its first request.
    let dir = tempfile::tempdir().unwrap();
    let plan = plan(dir.path(), &echo_and_count());
    let (r, peak_mib) =
        run_measured(run_against(dir.path(), &plan, &["--mcp-command", &stdio("stderr-flood")], &[]));
    assert_eq!(r.code, 0, "{r}");
    let log = std::fs::read(dir.path().join("run/mcp-server.log")).expect("the server's log");
    let (head, tail) = (16 << 20, 4 << 20);
    assert!(log.len() > head && log.len() <= head + tail + 1024, "the log is {} bytes", log.len());
    let text = String::from_utf8_lossy(&log);
    assert!(
        text.contains(
            "bytes of output dropped here: a log keeps the first 16777216 and the last 4194304 bytes"
        )
    );
    assert!(text.trim_end().ends_with("flood done"), "the tail is kept");
    assert!(peak_mib < 100, "smoke peaked at {peak_mib} MiB");
}
