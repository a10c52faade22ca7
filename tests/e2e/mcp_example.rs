//! The ledger example's tools over MCP (issue #14's server side, with rmcp): the same rules,
//! state and fault switches as its HTTP API, over stdio (`ledger-api mcp --db FILE`) and over
//! Streamable HTTP at `/mcp` behind the bearer token. Driven here by a minimal JSON-RPC client;
//! smoke's own MCP client is the next step of that issue.

use crate::support::{Ledger, ledger_api};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A `ledger-api mcp` process spoken to over its stdin and stdout.
struct StdioServer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl StdioServer {
    fn start(db: &std::path::Path, faults: &str) -> StdioServer {
        for command in ["migrate", "seed-chart"] {
            let done = Command::new(ledger_api()).args([command, "--db"]).arg(db).output().unwrap();
            assert!(done.status.success(), "{command}: {done:?}");
        }
        let mut child = Command::new(ledger_api())
            .args(["mcp", "--db"])
            .arg(db)
            .env("FAULTS", faults)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = StdioServer { child, stdin, lines, next_id: 0 };
        let init = server.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "ledger-api", "{init}");
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        server
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// Send a request and wait (at most 10 s) for the response with its id.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(10)).expect("an answer within 10 s");
            let message: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
            if message["id"] == id {
                return message;
            }
        }
    }

    fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let answer = self.request("tools/call", json!({"name": tool, "arguments": arguments}));
        // A successful result must be what the tool's declared output schema says.
        if answer["result"]["isError"] == false {
            let tools = self.request("tools/list", json!({}));
            let declared =
                tools["result"]["tools"].as_array().unwrap().iter().find(|t| t["name"] == tool).cloned();
            let schema = declared
                .and_then(|t| t.get("outputSchema").cloned())
                .expect("every ledger tool declares its output");
            let validator =
                jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{tool}: {e}: {schema}"));
            let problems: Vec<String> = validator
                .iter_errors(&answer["result"]["structuredContent"])
                .map(|e| e.to_string())
                .collect();
            assert!(problems.is_empty(), "{tool}: {problems:?}\n{answer}");
        }
        answer
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn bundle(key: &str, cash: &str, revenue: &str, debit: i64, credit: i64) -> Value {
    json!({"idempotency_key": key, "date": "2026-01-02", "description": "sale",
           "postings": [{"account_id": cash, "amount_minor": debit}, {"account_id": revenue, "amount_minor": credit}]})
}

/// The ids of the first two accounts of the seeded chart.
fn two_accounts(server: &mut StdioServer) -> (String, String) {
    let accounts = server.call("list_accounts", json!({}));
    let items = accounts["result"]["structuredContent"]["items"].as_array().unwrap().clone();
    assert!(items.len() >= 2, "{accounts}");
    (items[0]["id"].as_str().unwrap().into(), items[1]["id"].as_str().unwrap().into())
}

#[test]
fn the_ledger_tools_over_stdio_keep_the_ledgers_rules_and_persist_what_they_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = StdioServer::start(&dir.path().join("ledger.db"), "");
    let tools = server.request("tools/list", json!({}));
    let names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    for tool in [
        "record_transaction_bundle",
        "record_balance_snapshot",
        "create_or_update_obligation",
        "get_transaction",
    ] {
        assert!(names.contains(&tool), "{tool} is listed: {names:?}");
    }
    let (cash, revenue) = two_accounts(&mut server);

    let first = server.call("record_transaction_bundle", bundle("k-1", &cash, &revenue, 500, -500));
    let recorded = &first["result"]["structuredContent"];
    assert_eq!(first["result"]["isError"], false, "{first}");
    assert_eq!(recorded["replayed"], false, "{first}");
    let again = server.call("record_transaction_bundle", bundle("k-1", &cash, &revenue, 500, -500));
    assert_eq!(again["result"]["structuredContent"]["replayed"], true, "an idempotent re-post: {again}");
    assert_eq!(again["result"]["structuredContent"]["id"], recorded["id"], "{again}");
    let read = server.call("get_transaction", json!({"transaction_id": recorded["id"]}));
    assert_eq!(read["result"]["structuredContent"]["id"], recorded["id"], "persisted: {read}");

    let unbalanced = server.call("record_transaction_bundle", bundle("k-2", &cash, &revenue, 500, -400));
    assert_eq!(unbalanced["result"]["isError"], true, "{unbalanced}");
    assert_eq!(unbalanced["result"]["structuredContent"]["error"], "unbalanced", "{unbalanced}");
    let unknown = server.call("record_transaction_bundle", bundle("k-3", "no-such-account", &revenue, 1, -1));
    assert_eq!(unknown["result"]["structuredContent"]["error"], "unknown_account", "{unknown}");

    let missing_tool = server.call("no_such_tool", json!({}));
    assert_eq!(missing_tool["error"]["code"], -32602, "a JSON-RPC error, not a tool result: {missing_tool}");
}

#[test]
fn the_ledgers_fault_switches_apply_to_its_mcp_tools() {
    let dir = tempfile::tempdir().unwrap();
    let mut server =
        StdioServer::start(&dir.path().join("ledger.db"), "unbalanced-accepted,snapshot-not-persisted");
    let (cash, revenue) = two_accounts(&mut server);
    let unbalanced = server.call("record_transaction_bundle", bundle("k-1", &cash, &revenue, 500, -400));
    assert_eq!(unbalanced["result"]["isError"], false, "the fault records it: {unbalanced}");
    let snapshot = server.call(
        "record_balance_snapshot",
        json!({"account_id": cash, "date": "2026-01-03", "balance_minor": 7}),
    );
    assert_eq!(snapshot["result"]["isError"], false, "{snapshot}");
    let listed = server.call("list_account_snapshots", json!({"account_id": cash}));
    assert_eq!(listed["result"]["structuredContent"]["count"], 0, "acknowledged, never stored: {listed}");
}

/// POST one JSON-RPC message to `/mcp`: the status, the session id, and the JSON-RPC message of
/// the answer (from an SSE `data:` line or a JSON body).
fn post_mcp(
    port: u16,
    token: Option<&str>,
    session: Option<&str>,
    message: &Value,
) -> (u16, Option<String>, Value, String) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = message.to_string();
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(token) = token {
        head.push_str(&format!("authorization: Bearer {token}\r\n"));
    }
    if let Some(session) = session {
        head.push_str(&format!("mcp-session-id: {session}\r\nmcp-protocol-version: 2025-06-18\r\n"));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes()).unwrap();
    let mut response = Vec::new();
    // An SSE answer may keep the stream open after the message: read until it has arrived.
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
        let text = String::from_utf8_lossy(&response);
        if text.contains("\"jsonrpc\"") && (text.contains("}\n") || text.ends_with('}')) {
            break;
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let header = |wanted: &str| {
        head.lines().find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case(wanted).then(|| value.trim().to_string())
        })
    };
    let (session, content_type) = (header("mcp-session-id"), header("content-type").unwrap_or_default());
    let message = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:").map(str::trim).or(Some(l.trim())))
        .find_map(|l| serde_json::from_str::<Value>(l).ok().filter(|v| v.get("jsonrpc").is_some()))
        .unwrap_or(Value::Null);
    (status, session, message, content_type)
}

#[test]
fn the_ledger_tools_over_streamable_http_need_the_token_like_the_rest_of_the_api() {
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "0"}}});
    let ledger = Ledger::start("");
    let (status, _, _, _) = post_mcp(ledger.port, None, None, &initialize);
    assert_eq!(status, 401, "no token, no MCP");
    let (status, session, answer, content_type) =
        post_mcp(ledger.port, Some("smoke-ledger-token"), None, &initialize);
    assert_eq!(status, 200, "{answer}");
    // rmcp's server answers with an SSE stream (tests/e2e/mcp.rs has one answering plain JSON).
    assert!(content_type.starts_with("text/event-stream"), "{content_type}");
    assert_eq!(answer["result"]["serverInfo"]["name"], "ledger-api", "{answer}");
    let session = session.expect("a Streamable HTTP session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _, _, _) = post_mcp(ledger.port, Some("smoke-ledger-token"), Some(&session), &initialized);
    assert_eq!(status, 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "record_transaction_bundle",
        "arguments": bundle("k-1", "a", "b", 500, -400)}});
    let (status, _, answer, _) = post_mcp(ledger.port, Some("smoke-ledger-token"), Some(&session), &call);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert_eq!(answer["result"]["structuredContent"]["error"], "unbalanced", "{answer}");
    drop(ledger);

    let open = Ledger::start("auth-not-enforced");
    let (status, _, answer, _) = post_mcp(open.port, None, None, &initialize);
    assert_eq!(status, 200, "the auth fault opens MCP too: {answer}");
}
