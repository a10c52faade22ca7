//! The protocol checks that need a request the SDK would never send: a foreign `Origin`, a
//! session that does not exist, a header that disagrees with its body. Each is one POST of
//! smoke's own beside the session, with the session's own headers but for what it changes.

use super::{CallError, Session};
use serde_json::{Value, json};
use std::time::Duration;

/// The Origin of a page on no host of the server's: what a DNS-rebinding attack sends.
const FOREIGN_ORIGIN: &str = "http://smoke-foreign-origin.invalid";

/// A tool name no body of a check names.
const OTHER_NAME: &str = "smoke-another-tool";

/// A revision that does not exist.
const NO_REVISION: &str = "2000-01-01";

/// What a check came to.
#[derive(Debug)]
pub enum Outcome {
    Holds,
    /// The server broke what the check requires: how.
    Broken(String),
    /// The check does not apply to this server after all: why (a server that keeps no session).
    NotApplicable(String),
    /// No answer came.
    NoAnswer(CallError),
}

/// One check's run: what was sent, what came back (for the report), and the outcome.
#[derive(Debug)]
pub struct Verdict {
    pub sent: String,
    pub answer: Option<String>,
    pub outcome: Outcome,
}

impl Verdict {
    pub(super) fn of(sent: String, answer: Option<String>, outcome: Outcome) -> Verdict {
        Verdict { sent, answer, outcome }
    }
}

/// Run HTTP check `name` on `session` (`modern`: in a revision without `initialize`).
pub async fn check(session: &Session, name: &str, modern: bool, timeout: Duration) -> Verdict {
    let Some((client, url)) = session.http_client.as_ref() else {
        let why = "the session is not over Streamable HTTP".to_string();
        return Verdict::of(String::new(), None, Outcome::NotApplicable(why));
    };
    let sent = client.sent.lock().unwrap_or_else(|e| e.into_inner()).clone();
    // What the SDK puts in each request's `_meta` (the revision, in 2026-07-28), so the request
    // differs from the SDK's only where the check says.
    let mut params = json!({});
    if let Some(meta) = &sent.meta {
        params["_meta"] = meta.clone();
    }
    // An id of its own: the checks run at once on one session, and ids in flight must differ.
    let id = format!("smoke-protocol-check-{name}");
    let mut body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": params});
    let mut method: &[(&str, &str)] = if modern { &[("Mcp-Method", "tools/list")] } else { &[] };
    if name == "name-header" {
        // A call of a tool the server lists as only reading (or of none), with no arguments: a
        // server that runs it despite the header changes nothing.
        let tool = session.harmless_tool();
        body["method"] = json!("tools/call");
        body["params"]["name"] = json!(tool);
        body["params"]["arguments"] = json!({});
        method = &[("Mcp-Method", "tools/call")];
    }
    let (headers, shown_headers): (Vec<(&str, &str)>, String) = match name {
        "origin" => (vec![("Origin", FOREIGN_ORIGIN)], format!("Origin: {FOREIGN_ORIGIN}")),
        "protocol-version-header" => {
            (vec![("MCP-Protocol-Version", NO_REVISION)], format!("MCP-Protocol-Version: {NO_REVISION}"))
        }
        "ended-session" => {
            return ended_session(session, client, url, sent.session_id.is_some(), timeout).await;
        }
        "method-header" => (vec![("Mcp-Method", "prompts/list")], "Mcp-Method: prompts/list".to_string()),
        "name-header" => (vec![("Mcp-Name", OTHER_NAME)], format!("Mcp-Name: {OTHER_NAME}")),
        _ => (Vec::new(), String::from("Accept: application/json, text/event-stream")),
    };
    let mut extra: Vec<(&str, &str)> = method.to_vec();
    extra.extend(headers);
    let shown_sent = format!("POST {} with {shown_headers}\n{body}", crate::http::shown_url(url));
    let raw = match client.raw_post(url, &body, &extra, timeout).await {
        Ok(raw) => raw,
        Err(e) => {
            let outcome = Outcome::NoAnswer(CallError::Protocol(e.to_string()));
            return Verdict { sent: shown_sent, answer: None, outcome };
        }
    };
    let got = shown_answer(&raw);
    let outcome = judge(name, &raw, &got);
    Verdict { sent: shown_sent, answer: Some(crate::http::escape_line(&got).into_owned()), outcome }
}

/// A session of smoke's own, begun and ended (DELETE), then named in a request: a server that
/// ends a session answers every request naming it with 404, which tells a client to begin anew.
async fn ended_session(
    session: &Session,
    client: &super::http::Watched,
    url: &str,
    sessions: bool,
    timeout: Duration,
) -> Verdict {
    let not_applicable = |why: String| Verdict::of(String::new(), None, Outcome::NotApplicable(why));
    if !sessions {
        return not_applicable("the server keeps no session (it gave no Mcp-Session-Id)".into());
    }
    let initialize = json!({"jsonrpc": "2.0", "id": "smoke-protocol-check-session", "method": "initialize", "params": {
        "protocolVersion": session.record.protocol_version, "capabilities": {},
        "clientInfo": {"name": "smoke", "version": env!("CARGO_PKG_VERSION")}}});
    let mut sent = format!("POST {} (a session of smoke's own)\n{initialize}", crate::http::shown_url(url));
    let no_answer = |sent: String, e: super::http::RawError| Verdict {
        sent,
        answer: None,
        outcome: Outcome::NoAnswer(CallError::Protocol(e.to_string())),
    };
    let begun = match client.raw_post(url, &initialize, &[("Mcp-Session-Id", "")], timeout).await {
        Ok(raw) => raw,
        Err(e) => return no_answer(sent, e),
    };
    let Some(id) = begun.session_id else {
        if (200..300).contains(&begun.status) {
            return not_applicable(
                "the server keeps no session (its initialize gave no Mcp-Session-Id)".into(),
            );
        }
        let why = format!("a second session could not begin: initialize was answered HTTP {}", begun.status);
        return Verdict::of(sent, None, Outcome::Broken(why));
    };
    sent.push_str(&format!("\nDELETE with Mcp-Session-Id: {id}"));
    match client.raw_delete(url, &id, timeout).await {
        Ok(status) if (200..300).contains(&status) => {}
        // 405: the server lets no client end a session (MCP allows that).
        Ok(405) => {
            return not_applicable("the server lets no client end its session (DELETE answered 405)".into());
        }
        Ok(status) => {
            let why = format!(
                "ending its session with DELETE was answered HTTP {status}, neither a success nor 405"
            );
            return Verdict::of(sent, None, Outcome::Broken(why));
        }
        Err(e) => return no_answer(sent, e),
    }
    let body =
        json!({"jsonrpc": "2.0", "id": "smoke-protocol-check-ended", "method": "tools/list", "params": {}});
    sent.push_str(&format!("\nPOST with Mcp-Session-Id: {id}\n{body}"));
    let raw = match client.raw_post(url, &body, &[("Mcp-Session-Id", id.as_str())], timeout).await {
        Ok(raw) => raw,
        Err(e) => return no_answer(sent, e),
    };
    let got = shown_answer(&raw);
    let outcome = judge("ended-session", &raw, &got);
    Verdict { sent, answer: Some(crate::http::escape_line(&got).into_owned()), outcome }
}

/// An answer in one line: its status, content type and the start of its body.
fn shown_answer(raw: &super::http::Raw) -> String {
    format!(
        "HTTP {}{}{}",
        raw.status,
        raw.content_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default(),
        raw.body.as_deref().map(|b| format!(": {b}")).unwrap_or_default()
    )
}

/// What the answer to check `name`'s request must be.
fn judge(name: &str, raw: &super::http::Raw, got: &str) -> Outcome {
    let want = |status: u16, what: &str| match raw.status == status {
        true => Outcome::Holds,
        false => Outcome::Broken(format!("{what} was answered {}, not {status}", short(got))),
    };
    match name {
        "origin" => want(403, "a request from a foreign Origin"),
        "protocol-version-header" => want(400, "a request naming protocol revision 2000-01-01"),
        "ended-session" => want(404, "a request naming a session the server ended"),
        "method-header" => want(400, "a tools/list request with the header Mcp-Method: prompts/list"),
        "name-header" => want(400, "a tools/call request whose Mcp-Name header names another tool"),
        _ => json_or_sse(raw, got),
    }
}

fn json_or_sse(raw: &super::http::Raw, got: &str) -> Outcome {
    let kind = raw.content_type.as_deref().map(str::to_ascii_lowercase).unwrap_or_default();
    if !(200..300).contains(&raw.status) {
        return Outcome::Broken(format!("a tools/list request was answered {}", short(got)));
    }
    if !(kind.starts_with("application/json") || kind.starts_with("text/event-stream")) {
        return Outcome::Broken(format!(
            "a tools/list request was answered with content-type {:?}, neither application/json nor \
             text/event-stream",
            raw.content_type.as_deref().unwrap_or("(none)")
        ));
    }
    match &raw.answer {
        Some(Value::Object(m)) if m.contains_key("result") || m.contains_key("error") => Outcome::Holds,
        _ => Outcome::Broken(format!("the answer holds no JSON-RPC answer to the request: {}", short(got))),
    }
}

fn short(text: &str) -> String {
    let cut: String = text.chars().take(200).collect();
    crate::http::escape_line(&cut).into_owned()
}
