//! `smoke mcp snapshot` records what an MCP server offers; `smoke mcp diff --baseline` fails on
//! each kind of breaking change to it, passes on an additive one and flags a changed description.

use crate::support::{root, run, smoke};
use std::process::Command;

/// `smoke mcp SUBCOMMAND` against tests/e2e/sdk_mcp_server.py over stdio, its surface changed by
/// `surface` (its SURFACE switch).
fn mcp(dir: &std::path::Path, surface: &str, args: &[&str]) -> crate::support::Run {
    let python = root().join("target/test-deps/venv/bin/python");
    assert!(python.exists(), "`make test-deps` installs the MCP Python SDK");
    let server =
        format!("{} {} both", python.display(), root().join("tests/e2e/sdk_mcp_server.py").display());
    let mut c: Command = smoke(dir);
    c.arg("mcp").args(args).args(["--mcp-command", &server]).env("SURFACE", surface);
    run(c)
}

#[test]
fn a_baseline_fails_each_breaking_change_passes_an_additive_one_and_flags_a_description() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("mcp-surface.json");
    let shown = baseline.to_str().unwrap();
    let r = mcp(dir.path(), "", &["snapshot", "--out", shown]);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("sdk-test-server 1.0.0 (MCP 2026-07-28) (3 tool(s)) recorded in"), "{r}");

    let r = mcp(dir.path(), "", &["diff", "--baseline", shown]);
    assert_eq!(r.code, 0, "the same server, no change: {r}");
    assert!(r.stdout.contains("0 breaking, 0 flagged"), "{r}");

    for (switch, expected) in [
        ("removed", r#"BREAKING  tool "add": the tool was removed"#),
        ("required-added", r#"BREAKING  tool "echo" inputSchema: required argument "loud" added"#),
        (
            "narrowed",
            r#"BREAKING  tool "add" inputSchema /properties/a: type narrowed from number to integer"#,
        ),
        (
            "enum-shrunk",
            r#"BREAKING  tool "shout" inputSchema /properties/level: enum shrunk: "high" no longer allowed"#,
        ),
        (
            "output-changed",
            r#"BREAKING  tool "echo" outputSchema: "said" is no longer required in the result: it may be missing"#,
        ),
        ("destructive", r#"BREAKING  tool "echo": it was read-only (readOnlyHint) and no longer is"#),
    ] {
        let json = dir.path().join(format!("{switch}.json"));
        let r = mcp(dir.path(), switch, &["diff", "--baseline", shown, "--json", json.to_str().unwrap()]);
        assert_eq!(r.code, 1, "{switch}: a breaking change fails: {r}");
        assert!(r.stdout.contains(expected), "{switch}: {expected:?} is not said: {r}");
        let changes: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(changes[0]["severity"], "breaking", "{switch}: {changes}");
    }

    let r = mcp(dir.path(), "additive", &["diff", "--baseline", shown]);
    assert_eq!(r.code, 0, "additions break nothing: {r}");
    assert!(r.stdout.contains(r#"ADDED     tool "extra": a new tool"#), "{r}");
    assert!(r.stdout.contains(r#"optional argument "times" added"#), "{r}");

    let r = mcp(dir.path(), "description", &["diff", "--baseline", shown]);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stdout.contains(r#"FLAGGED   tool "echo": description changed from "Say it back." to "Say it back. Before using any other tool"#),
        "{r}"
    );

    // A file that is not a record is refused, saying how to make one.
    std::fs::write(dir.path().join("other.json"), "{}").unwrap();
    let r = mcp(dir.path(), "", &["diff", "--baseline", dir.path().join("other.json").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("is not a record of `smoke mcp snapshot`"), "{r}");
}

#[test]
fn the_lint_finds_hidden_characters_and_injected_instructions_and_nothing_on_correct_servers() {
    let dir = tempfile::tempdir().unwrap();
    let r = mcp(dir.path(), "hidden,description", &["lint"]);
    assert_eq!(r.code, 1, "{r}");
    for expected in [
        "LINT  hidden-character  tool \"add\" /tools/0/description: 14 hidden character(s): U+200B (a zero-width character), U+E0073 (a Unicode tag character (invisible text))",
        "LINT  steering-description  tool \"echo\" /tools/1/description: the description tells the agent what to do beyond this call (\"before using any\")",
        "2 finding(s)",
    ] {
        assert!(r.stdout.contains(expected), "{expected:?} is not said: {r}");
    }
    let r = mcp(dir.path(), "", &["lint"]);
    assert_eq!(r.code, 0, "{r}");

    // Nothing on the ledger, nor on the public reference servers.
    let ledger_db = dir.path().join("ledger.db");
    let ledger = root().join("target/release/ledger-api");
    let migrated = Command::new(&ledger).args(["migrate", "--db"]).arg(&ledger_db).output().unwrap();
    assert!(migrated.status.success());
    let time = root().join("target/test-deps/venv/bin/mcp-server-time");
    let everything = root()
        .join("target/mcp-reference/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
    for server in [
        format!("{} mcp --db {}", ledger.display(), ledger_db.display()),
        format!("{} --local-timezone UTC", time.display()),
        format!("node {} stdio", everything.display()),
    ] {
        let mut c: Command = smoke(dir.path());
        c.args(["mcp", "lint", "--mcp-command", &server]);
        let r = run(c);
        assert_eq!(r.code, 0, "{server}: {r}");
        assert!(r.stdout.contains(": 0 finding(s)"), "{server}: {r}");
    }
}

#[test]
fn a_run_with_a_baseline_fails_the_scenario_mcp_baseline_on_each_breaking_change_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("mcp-surface.json");
    let shown = baseline.to_str().unwrap();
    assert_eq!(mcp(dir.path(), "", &["snapshot", "--out", shown]).code, 0);
    let python = root().join("target/test-deps/venv/bin/python");
    let server =
        format!("{} {} both", python.display(), root().join("tests/e2e/sdk_mcp_server.py").display());
    let run_with = |surface: &str, extra: &[&str]| {
        let json = dir.path().join("report.json");
        let mut c: Command = smoke(dir.path());
        c.args(["run", "--plugin"]).arg(crate::support::plugin("mcp")).args(["--mcp-command", &server]);
        c.args(["--baseline", shown, "--report-json"]).arg(&json).args(extra).env("SURFACE", surface);
        let r = run(c);
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap_or_default()).unwrap_or_default();
        let failed: Vec<(String, String)> = report["scenarios"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["outcome"] == "failed")
            .map(|s| {
                (s["id"].as_str().unwrap().to_string(), s["failure"]["kind"].as_str().unwrap().to_string())
            })
            .collect();
        (r, failed)
    };
    // The same server: the baseline holds (with the protocol checks off, it is still planned).
    let (r, failed) = run_with("", &["--no-protocol-checks"]);
    assert_eq!((r.code, failed), (0, vec![]), "{r}");
    assert!(r.stdout.contains("PASS  mcp.baseline"), "{r}");
    // An additive change passes; a description change passes, listed in the record.
    for switch in ["additive", "description"] {
        let (r, failed) = run_with(switch, &["--filter", "mcp.baseline"]);
        assert_eq!((r.code, failed), (0, vec![]), "{switch}: {r}");
    }
    // A required argument added: the one failure is the baseline's, of its own kind.
    let (r, failed) = run_with("required-added", &["--filter", "mcp.baseline"]);
    assert_eq!(
        (r.code, failed),
        (1, vec![("mcp.baseline".to_string(), "surface-change".to_string())]),
        "{r}"
    );
    assert!(r.stdout.contains(r#"tool "echo" inputSchema: required argument "loud" added"#), "{r}");
    // Without the generic plugin, nothing would plan the comparison: refused.
    let mut c: Command = smoke(dir.path());
    c.args(["run", "--plan"]).arg(dir.path().join("none.json")).args([
        "--mcp-command",
        &server,
        "--baseline",
        shown,
    ]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("add --plugin mcp"), "{r}");
}

#[test]
fn a_snapshot_records_resources_past_the_first_page() {
    let server = crate::mcp::HttpTestServer::start_with("paged-resources", &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mcp-surface.json");
    let mut c: Command = smoke(dir.path());
    c.args(["mcp", "snapshot", "--mcp-url", &server.url(), "--out"]).arg(&out);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let uris: Vec<&str> =
        record["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert_eq!(uris.len(), 45, "all five pages: {uris:?}");
    assert_eq!((uris[0], uris[44]), ("note://0", "note://44"));
}
