//! Both generations of MCP: 2026-07-28 (`server/discover`, no handshake, no session) and the
//! `initialize` revisions before it. smoke begins with `server/discover` and falls back to
//! `initialize` when a server does not take it; `--mcp-protocol` pins one revision.

use crate::support::{self, assert_valid_report, root, run, smoke};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const HTTP: &str = "examples/ledger-api/mcp.smoke.toml";
const STDIO: &str = "examples/ledger-api/mcp-stdio.smoke.toml";

/// The test venv's Python, which has the MCP Python SDK the Makefile pins.
pub(crate) fn python() -> std::path::PathBuf {
    let p = root().join("target/test-deps/venv/bin/python");
    assert!(p.exists(), "{} is missing: `make test-deps` installs the MCP Python SDK", p.display());
    p
}

/// tests/e2e/sdk_mcp_server.py over Streamable HTTP, killed when dropped.
pub(crate) struct SdkServer(Child, pub(crate) u16);

impl SdkServer {
    /// The server of `revisions`, with `env` (its SURFACE and VIOLATE switches).
    pub(crate) fn start_with(revisions: &str, env: &[(&str, &str)]) -> SdkServer {
        let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
        let child = Command::new(python())
            .arg(root().join("tests/e2e/sdk_mcp_server.py"))
            .args([revisions, "--http", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        crate::mcp::listening(port, "the SDK test server", Duration::from_secs(20));
        SdkServer(child, port)
    }
}

impl Drop for SdkServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Point `c` at tests/e2e/sdk_mcp_server.py of `revisions` over `transport` (`http` or stdio),
/// with `env`: the server started for HTTP (kept until dropped), or started by smoke over stdio.
pub(crate) fn sdk_target(
    c: &mut Command,
    revisions: &str,
    transport: &str,
    env: &[(&str, &str)],
) -> Option<SdkServer> {
    if transport == "http" {
        let server = SdkServer::start_with(revisions, env);
        c.args(["--mcp-url", &format!("http://127.0.0.1:{}/mcp", server.1)]);
        return Some(server);
    }
    let script = root().join("tests/e2e/sdk_mcp_server.py");
    c.args(["--mcp-command", &format!("{} {} {revisions}", python().display(), script.display())]);
    c.envs(env.iter().copied());
    None
}

/// What a run came to: its exit code, the revision and handshake it recorded, why it fell back,
/// and what it said.
struct Outcome {
    code: i32,
    protocol: Value,
    handshake: Value,
    fallback: Value,
    said: String,
    report: Value,
    junit: String,
    html: String,
}

fn outcome(r: support::Run, json: &Path) -> Outcome {
    let report: Value =
        std::fs::read_to_string(json).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    if !report.is_null() {
        assert_valid_report(&report);
    }
    let m = &report["mcp"];
    Outcome {
        code: r.code,
        protocol: m["protocol_version"].clone(),
        handshake: m["handshake"].clone(),
        fallback: m["fallback"].clone(),
        said: r.to_string(),
        report: report.clone(),
        junit: String::new(),
        html: String::new(),
    }
}

/// The generic MCP plugin against the SDK server of `revisions`, over `transport`, with `pin`
/// (`--mcp-protocol`) when given.
fn generic(revisions: &str, transport: &str, pin: Option<&str>) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).arg("--report-json").arg(&json);
    let (junit, html) = (dir.path().join("junit.xml"), dir.path().join("report.html"));
    c.arg("--report-junit").arg(&junit).arg("--report-html").arg(&html);
    let _server = sdk_target(&mut c, revisions, transport, &[]);
    if let Some(pin) = pin {
        c.args(["--mcp-protocol", pin]);
    }
    let mut o = outcome(run(c), &json);
    o.junit = std::fs::read_to_string(&junit).unwrap_or_default();
    o.html = std::fs::read_to_string(&html).unwrap_or_default();
    o
}

#[test]
fn the_generic_plugin_runs_on_servers_of_either_generation_or_both_over_both_transports() {
    for transport in ["stdio", "http"] {
        // A server that speaks only 2026-07-28 is reached by server/discover, and passes.
        let o = generic("2026-07-28", transport, None);
        assert_eq!(o.code, 0, "{transport}: {}", o.said);
        assert_eq!(
            (o.protocol.as_str(), o.handshake.as_str()),
            (Some("2026-07-28"), Some("server/discover"))
        );
        assert!(o.fallback.is_null(), "{transport}: {}", o.report["mcp"]);
        assert_eq!(o.report["summary"]["failed"], 0);

        // One of the initialize generation: server/discover is refused (-32601), initialize follows,
        // offering 2025-11-25, and the report says why.
        let o = generic("2025-11-25", transport, None);
        assert_eq!(o.code, 0, "{transport}: {}", o.said);
        assert_eq!((o.protocol.as_str(), o.handshake.as_str()), (Some("2025-11-25"), Some("initialize")));
        let why = o.fallback.as_str().unwrap_or_default();
        assert!(why.starts_with("server/discover was refused: JSON-RPC error: -32601"), "{transport}: {why}");
        // The JUnit suites and the HTML report say the same.
        for property in [
            r#"<property name="mcp-protocol" value="2025-11-25"/>"#,
            r#"<property name="mcp-handshake" value="initialize"/>"#,
            r#"<property name="mcp-fallback" value="server/discover was refused: JSON-RPC error: -32601"#,
        ] {
            assert!(o.junit.contains(property), "{transport}: {property} is not in {}", o.junit);
        }
        assert!(
            o.html.contains(
                "protocol 2025-11-25 (by initialize: server/discover was refused: JSON-RPC error: -32601"
            ),
            "{transport}: {}",
            o.html
        );

        // One that speaks both, once per revision: the same verdicts.
        let mut verdicts = Vec::new();
        for pin in ["2026-07-28", "2025-11-25"] {
            let o = generic("both", transport, Some(pin));
            assert_eq!(o.code, 0, "{transport} {pin}: {}", o.said);
            assert_eq!(o.protocol.as_str(), Some(pin), "{transport}: {}", o.report["mcp"]);
            let expected = if pin == "2026-07-28" { "server/discover" } else { "initialize" };
            assert_eq!(o.handshake.as_str(), Some(expected));
            assert!(o.fallback.is_null(), "a pinned revision never falls back: {}", o.report["mcp"]);
            let ids: Vec<(String, String)> = o.report["scenarios"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["id"].as_str().unwrap().to_string(), s["outcome"].as_str().unwrap().to_string()))
                .collect();
            assert!(ids.len() >= 6, "{ids:?}");
            // The protocol checks differ by revision: 2026-07-28 has no `ping` and no sessions,
            // and has `resultType` on every result and the Mcp-Method header.
            let modern: &[&str] =
                &["result-type", "list-order", "cache-fields", "method-header", "name-header"];
            let legacy: &[&str] = &["ping", "ended-session"];
            // Over HTTP only.
            let http_only = ["method-header", "name-header", "ended-session"];
            let (only, not) = if pin == "2026-07-28" { (modern, legacy) } else { (legacy, modern) };
            let has = |check: &str| ids.iter().any(|(id, _)| *id == format!("mcp.protocol.{check}"));
            for check in only {
                let expected = transport == "http" || !http_only.contains(check);
                assert_eq!(has(check), expected, "{transport} {pin} {check}: {ids:?}");
            }
            assert!(!not.iter().any(|c| has(c)), "{transport} {pin}: {ids:?}");
            let ids: Vec<(String, String)> = ids
                .into_iter()
                .filter(|(id, _)| !only.iter().any(|c| id == &format!("mcp.protocol.{c}")))
                .collect();
            verdicts.push(ids);
        }
        assert_eq!(verdicts[0], verdicts[1], "{transport}: the same server, the same verdicts");

        // A pinned revision the server does not speak: no session, a stage failure saying so.
        for (revisions, pin, said) in [
            ("2026-07-28", "2025-11-25", "MCP initialize with"),
            ("2025-11-25", "2026-07-28", "MCP server/discover with"),
        ] {
            let o = generic(revisions, transport, Some(pin));
            assert_eq!(o.code, 3, "{transport}: {}", o.said);
            assert!(o.said.contains(said) && o.said.contains("--mcp-protocol"), "{transport}: {}", o.said);
        }
    }
}

#[test]
fn an_unknown_revision_is_refused_naming_the_known_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp"));
    c.args(["--mcp-url", "http://127.0.0.1:9/mcp", "--mcp-protocol", "2026-13-01"]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("unknown MCP protocol revision \"2026-13-01\""), "{r}");
    assert!(
        r.stderr.contains("auto") && r.stderr.contains("2026-07-28") && r.stderr.contains("2024-11-05"),
        "{r}"
    );
}

#[test]
fn the_ledger_plugin_passes_on_the_ledger_of_either_generation_or_both_over_both_transports() {
    let cache = tempfile::tempdir().unwrap();
    for (config, transport) in [(HTTP, "http"), (STDIO, "stdio")] {
        for (speaks, pin, protocol, handshake) in [
            ("2026-07-28", None, "2026-07-28", "server/discover"),
            ("2025-11-25", None, "2025-11-25", "initialize"),
            ("", Some("2026-07-28"), "2026-07-28", "server/discover"),
            ("", Some("2025-11-25"), "2025-11-25", "initialize"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let json = dir.path().join("report.json");
            let mut c = smoke(cache.path());
            c.args(["run", "--config", config, "--report-json"]).arg(&json).env("MCP_PROTOCOL", speaks);
            if let Some(pin) = pin {
                c.args(["--mcp-protocol", pin]);
            }
            let o = outcome(run(c), &json);
            let what = format!("{transport}, a ledger speaking {speaks:?}, --mcp-protocol {pin:?}");
            assert_eq!(o.code, 0, "{what}: {}", o.said);
            assert!(o.said.contains("10 passed, 0 failed, 0 skipped"), "{what}: {}", o.said);
            assert_eq!(
                (o.protocol.as_str(), o.handshake.as_str()),
                (Some(protocol), Some(handshake)),
                "{what}"
            );
        }
    }
}

#[test]
fn each_revision_runs_once_in_one_command_and_a_verdict_that_differs_between_them_is_said() {
    // The SDK server of both generations: the same verdicts, a report of each.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let script = root().join("tests/e2e/sdk_mcp_server.py");
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp"));
    c.args(["--mcp-command", &format!("{} {} both", python().display(), script.display())]);
    c.args(["--mcp-protocol", "each", "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("smoke: MCP 2026-07-28 exit 0, 2025-11-25 exit 0; 0 verdict(s) differ"), "{r}");
    for (revision, handshake) in [("2026-07-28", "server/discover"), ("2025-11-25", "initialize")] {
        let path = dir.path().join(format!("report.{revision}.json"));
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_valid_report(&report);
        assert_eq!(
            (report["mcp"]["protocol_version"].as_str(), report["mcp"]["handshake"].as_str()),
            (Some(revision), Some(handshake))
        );
    }
    assert!(!json.exists(), "each revision's report is its own");

    // mcp-server-time answers an unknown prompt with -32603 in 2026-07-28 only (its SDK's bug, see
    // tests/e2e/mcp.rs): the one verdict that differs, said, and the run fails.
    let time = root().join("target/test-deps/venv/bin/mcp-server-time");
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--plugin-config", "destructive=true"]);
    c.args(["--mcp-command", &format!("{} --local-timezone UTC", time.display()), "--mcp-protocol", "each"]);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    assert!(
        r.stdout.contains("DIFFERS  mcp.prompts.get.unknown: FAIL under 2026-07-28, PASS under 2025-11-25"),
        "{r}"
    );
    assert!(r.stdout.contains("; 1 verdict(s) differ between them"), "{r}");
}
