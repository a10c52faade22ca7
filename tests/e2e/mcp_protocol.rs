//! The host's protocol checks (`mcp.protocol.*`, kind `protocol`): planned with the generic MCP
//! plugin for what the server is (its revision, transport, declared capabilities), passed by the
//! ledger over both transports in both revisions, and each failed exactly by the switch of
//! tests/e2e/sdk_mcp_server.py that breaks the rule it enforces.

use crate::mcp_revisions::{python, sdk_target};
use crate::support::{self, assert_valid_report, root, run, smoke};
use serde_json::Value;
use std::collections::BTreeSet;

const HTTP: &str = "examples/ledger-api/mcp.smoke.toml";
const STDIO: &str = "examples/ledger-api/mcp-stdio.smoke.toml";

/// The protocol checks a run planned, by name, with their outcomes.
fn checks(report: &Value) -> Vec<(String, String)> {
    report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "protocol")
        .map(|s| {
            let id = s["id"].as_str().unwrap();
            let name = id.strip_prefix("mcp.protocol.").unwrap_or_else(|| panic!("{id}"));
            (name.to_string(), s["outcome"].as_str().unwrap().to_string())
        })
        .collect()
}

fn report_of(path: &std::path::Path) -> Value {
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_valid_report(&report);
    report
}

#[test]
fn the_protocol_checks_pass_on_the_ledger_over_both_transports_in_both_revisions() {
    let cache = tempfile::tempdir().unwrap();
    for (config, transport) in [(HTTP, "http"), (STDIO, "stdio")] {
        for pin in ["2026-07-28", "2025-11-25"] {
            let dir = tempfile::tempdir().unwrap();
            let (json, junit) = (dir.path().join("report.json"), dir.path().join("junit.xml"));
            let mut c = smoke(cache.path());
            c.args(["run", "--config", config, "--plugin"]).arg(support::plugin("mcp"));
            c.args(["--mcp-protocol", pin, "--filter", "tag:protocol", "--report-json"]).arg(&json);
            c.arg("--report-junit").arg(&junit);
            let r = run(c);
            let what = format!("{transport} {pin}");
            assert_eq!(r.code, 0, "{what}:\n{r}");
            let report = report_of(&json);
            // Every check passes; `authorization` does not apply to the ledger's API key.
            let got: BTreeSet<String> = checks(&report)
                .into_iter()
                .map(|(name, outcome)| {
                    let expected = if name == "authorization" { "skipped" } else { "passed" };
                    assert_eq!(outcome, expected, "{what}: {name}");
                    name
                })
                .collect();
            let mut expected = vec!["unknown-method", "invalid-params", "pagination", "lint"];
            match pin {
                "2026-07-28" => expected.extend(["result-type", "list-order", "cache-fields"]),
                _ => expected.push("ping"),
            }
            match (transport, pin) {
                ("stdio", _) => expected.push("stdout"),
                (_, "2026-07-28") => expected.extend([
                    "origin",
                    "protocol-version-header",
                    "json-or-sse",
                    "method-header",
                    "name-header",
                ]),
                _ => expected.extend(["origin", "protocol-version-header", "json-or-sse", "ended-session"]),
            }
            if transport == "http" {
                expected.push("authorization");
            }
            let expected: BTreeSet<String> = expected.into_iter().map(String::from).collect();
            assert_eq!(got, expected, "{what}");
            // Each is a JUnit case of its own, with its kind.
            let xml = std::fs::read_to_string(&junit).unwrap();
            assert!(xml.contains(r#"name="mcp.protocol.unknown-method""#), "{what}: {xml}");
        }
    }
}

/// The generic plugin's protocol checks alone against the SDK server of `revisions` over
/// `transport`, with its VIOLATE switch `violate`: the exit code, the checks' outcomes, and what
/// the run said.
fn violated(revisions: &str, transport: &str, violate: &str) -> (i32, Vec<(String, String)>, String) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args([
        "--filter",
        "tag:protocol",
        "--report-json",
    ]);
    c.arg(&json);
    let _server = sdk_target(&mut c, revisions, transport, &[("VIOLATE", violate)]);
    let r = run(c);
    let report = report_of(&json);
    (r.code, checks(&report), r.to_string())
}

#[test]
fn each_violation_of_the_test_server_fails_exactly_the_check_of_its_rule() {
    // A correct server passes them all, in both revisions, over both transports.
    for transport in ["stdio", "http"] {
        for revisions in ["2026-07-28", "2025-11-25"] {
            let (code, checks, said) = violated(revisions, transport, "");
            assert_eq!(code, 0, "{transport} {revisions}: {said}");
            assert!(checks.len() >= 7 && checks.iter().all(|(_, o)| o == "passed"), "{checks:?}");
        }
    }
    for (violate, revisions, transport, check, said) in [
        ("no-method-not-found", "2026-07-28", "stdio", "unknown-method", "the JSON-RPC error -32603"),
        (
            "bad-pagination",
            "2025-11-25",
            "http",
            "pagination",
            r#"tool "echo" is listed on page 1 and again on page 2"#,
        ),
        (
            "missing-resources",
            "2025-11-25",
            "stdio",
            "declared-resources",
            "it declares the capability, but resources/list answered the JSON-RPC error -32601",
        ),
        (
            "no-origin-check",
            "2026-07-28",
            "http",
            "origin",
            "a request from a foreign Origin was answered HTTP 200",
        ),
        (
            "stdout-noise",
            "2025-11-25",
            "stdio",
            "stdout",
            "printed \"sdk-test-server: ready (a debug print on stdout)\"",
        ),
        ("no-result-type", "2026-07-28", "http", "result-type", "its tools/list result has no resultType"),
        (
            "shuffled-tools",
            "2026-07-28",
            "stdio",
            "list-order",
            "two listings differ: first echo, add, shout, then shout, add, echo",
        ),
        (
            "bad-cache-scope",
            "2026-07-28",
            "http",
            "cache-fields",
            r#"cacheScope is "forever", neither "public" nor "private""#,
        ),
        (
            "no-name-check",
            "2026-07-28",
            "http",
            "name-header",
            "a tools/call request whose Mcp-Name header names another tool was answered HTTP 200",
        ),
    ] {
        let (code, checks, out) = violated(revisions, transport, violate);
        let failed: Vec<&str> =
            checks.iter().filter(|(_, o)| o != "passed").map(|(name, _)| name.as_str()).collect();
        assert_eq!((code, failed), (1, vec![check]), "{violate}: {checks:?}\n{out}");
        assert!(out.contains(said), "{violate}: {said:?} is not said:\n{out}");
        // The failure names the part of the specification it enforces.
        let cited = out.contains(" (MCP") || out.contains(" (JSON-RPC 2.0");
        assert!(out.contains("; MCP requires that ") && cited, "{violate}:\n{out}");
    }
}

#[test]
fn the_lint_fails_hidden_characters_in_a_description_and_a_credential_in_a_result_never_kept() {
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("tests/e2e/sdk_mcp_server.py");
    let server = format!("{} {} 2026-07-28", python().display(), script.display());
    let lint = |env: (&str, &str)| {
        let json = dir.path().join("report.json");
        let mut c = smoke(dir.path());
        c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--mcp-command", &server]);
        c.arg("--report-json").arg(&json).env(env.0, env.1);
        let r = run(c);
        let text = std::fs::read_to_string(&json).unwrap();
        let report = report_of(&json);
        let failed: Vec<(String, String)> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "failed")
            .map(|s| {
                (s["id"].as_str().unwrap().to_string(), s["failure"]["kind"].as_str().unwrap().to_string())
            })
            .collect();
        (r, failed, text)
    };
    // Invisible tag characters in a tool's description: the protocol check `lint`, of its kind.
    let (r, failed, _) = lint(("SURFACE", "hidden"));
    assert_eq!((r.code, failed), (1, vec![("mcp.protocol.lint".into(), "lint".into())]), "{r}");
    assert!(
        r.stdout.contains(r#"hidden-character tool "add" /tools/0/description: 14 hidden character(s)"#),
        "{r}"
    );
    // A credential in a tool's result: that call fails as `lint`, and no report keeps the key.
    let (r, failed, text) = lint(("VIOLATE", "leaks-secret"));
    assert_eq!((r.code, failed), (1, vec![("mcp.echo.valid".into(), "lint".into())]), "{r}");
    assert!(r.stdout.contains("what looks like an AWS access key id (AKIA…, 20 characters) at /"), "{r}");
    assert!(!text.contains("AKIAIOSFODNN7EXAMPLE") && !r.stdout.contains("AKIAIOSFODNN7EXAMPLE"), "{r}");
    assert!(text.contains("[redacted: an AWS access key id]"), "{text}");
}

#[test]
fn stdout_noise_after_the_check_ran_still_fails_it_and_the_calls_are_judged() {
    // The hostile test server prints a line that is not JSON-RPC before answering its first
    // tools/call (the Python SDK keeps a tool's prints off stdout), which may come after the check
    // `stdout` ran: it fails at the end of the run all the same, and the calls pass.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let server =
        format!("python3 {} garbage-stdout", root().join("tests/e2e/hostile/mcp_server.py").display());
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"])
        .arg(support::plugin("mcp"))
        .args(["--mcp-command", &server, "--report-json"])
        .arg(&json);
    let r = run(c);
    let report = report_of(&json);
    let failed: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] != "passed")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!((r.code, failed), (1, vec!["mcp.protocol.stdout"]), "{r}");
    assert!(r.stdout.contains(r#"printed "server ready! (debug print)" on stdout"#), "{r}");
}

#[test]
fn the_protocol_checks_are_left_out_when_asked_and_then_stdout_noise_closes_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let script = root().join("tests/e2e/sdk_mcp_server.py");
    let server = format!("{} {} 2026-07-28", python().display(), script.display());
    let plan = |extra: &[&str]| {
        let mut c = smoke(dir.path());
        c.args(["plan", "--plugin"]).arg(support::plugin("mcp")).args(["--mcp-command", &server]).args(extra);
        let r = run(c);
        assert_eq!(r.code, 0, "{r}");
        let plan: Value = serde_json::from_str(&r.stdout).unwrap();
        plan["scenarios"].as_array().unwrap().iter().filter(|s| s["kind"] == "protocol").count()
    };
    assert!(plan(&[]) >= 7, "on by default with the generic plugin");
    assert_eq!(plan(&["--no-protocol-checks"]), 0);

    // Without the checks, a line on stdout that is not JSON-RPC ends the session as before: every
    // call fails saying what was printed.
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--plugin"]).arg(support::plugin("mcp")).args(["--mcp-command", &server]);
    c.args(["--no-protocol-checks", "--report-json"]).arg(&json).env("VIOLATE", "stdout-noise");
    let r = run(c);
    assert_eq!(r.code, 3, "the session cannot begin: {r}");
    assert!(r.stderr.contains("which is not JSON-RPC"), "{r}");
}

#[test]
fn authorization_is_checked_as_the_server_publishes_it_without_a_browser() {
    // (mode, outcome of mcp.protocol.authorization, what it says)
    for (mode, outcome, said) in [
        ("oauth", "passed", ""),
        (
            "oauth-wrong-resource",
            "failed",
            "the protected-resource metadata names the resource \"http://127.0.0.1:",
        ),
        ("oauth-no-as", "failed", "publishes no metadata of its own with that issuer"),
    ] {
        let server = crate::mcp::HttpTestServer::start_with(mode, &[]);
        let dir = tempfile::tempdir().unwrap();
        let json = dir.path().join("report.json");
        let mut c = smoke(dir.path());
        c.args(["run", "--plugin"]).arg(support::plugin("mcp"));
        c.args(["--mcp-url", &server.url(), "--mcp-header", "Authorization: Bearer good-token"]);
        c.args(["--filter", "tag:protocol", "--report-json"]).arg(&json);
        let r = run(c);
        let report = report_of(&json);
        let checks = checks(&report);
        let failed: Vec<&str> =
            checks.iter().filter(|(_, o)| o == "failed").map(|(n, _)| n.as_str()).collect();
        let authorization = checks.iter().find(|(n, _)| n == "authorization").map(|(_, o)| o.as_str());
        assert_eq!(authorization, Some(outcome), "{mode}: {checks:?}\n{r}");
        match outcome {
            "passed" => assert!(failed.is_empty(), "{mode}: {checks:?}\n{r}"),
            _ => assert_eq!(failed, ["authorization"], "{mode}:\n{r}"),
        }
        assert!(r.stdout.contains(said), "{mode}: {said:?} is not said:\n{r}");
    }
    // The ledger asks for a bearer token but publishes no OAuth metadata: an API key, to which
    // the check does not apply (a planned skip, saying why).
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--config", HTTP, "--plugin"]).arg(support::plugin("mcp"));
    c.args(["--filter", "mcp.protocol.authorization", "--report-json"]).arg(&json);
    let r = run(c);
    assert_eq!(checks(&report_of(&json)), [("authorization".to_string(), "skipped".to_string())], "{r}");
    assert!(r.stdout.contains("publishes no OAuth protected-resource metadata"), "{r}");
}
