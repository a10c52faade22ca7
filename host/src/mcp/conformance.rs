//! The host's checks of the MCP protocol itself: what any server owes any client, whatever its
//! tools do. Each is planned as a scenario of its own (`mcp.protocol.NAME`, kind `protocol`) where
//! it applies to the server as it described itself (its revision, its transport, the capabilities
//! it declared), and each failure names the part of the specification it enforces.

pub use super::raw::{Outcome, Verdict};
use super::{Answer, Session};
pub use crate::plan::protocol::{CHECKS, Check, When, check};
use serde_json::{Value, json};
use std::time::Duration;

/// What the server said of itself that decides which checks apply: read from the description
/// the plugins read (`mcp:server`).
pub struct Facts {
    http: bool,
    /// The negotiated revision (a date: revisions sort as text).
    revision: String,
    /// The run sends credentials.
    credentials: bool,
    discover: bool,
    declared: Vec<String>,
}

impl Facts {
    /// From the `mcp:server` description; `None` when it is not one.
    pub fn of(description: &Value) -> Option<Facts> {
        let revision = description.get("protocolVersion")?.as_str()?;
        let transport = description.get("transport")?.as_str()?;
        let declared = match description.get("capabilities") {
            Some(Value::Object(c)) => {
                c.iter().filter(|(_, v)| !v.is_null()).map(|(k, _)| k.clone()).collect()
            }
            _ => Vec::new(),
        };
        Some(Facts {
            http: transport == "http",
            revision: revision.to_string(),
            credentials: false,
            discover: !has_handshake(revision),
            declared,
        })
    }

    fn applies(&self, when: When) -> bool {
        match when {
            When::Always => true,
            When::Http => self.http,
            When::Stdio => !self.http,
            When::Handshake => !self.discover,
            When::HttpDiscover => self.http && self.discover,
            When::HttpHandshake => self.http && !self.discover,
            When::Discover => self.discover,
            When::Declared(what) => self.declared.iter().any(|d| d == what),
            When::Given => false,
            When::HttpCredentials => self.http && self.credentials,
            When::HttpSince(since) => self.http && self.revision.as_str() >= since,
        }
    }

    /// The checks that apply, in order.
    pub fn checks(&self) -> impl Iterator<Item = &'static Check> + '_ {
        CHECKS.iter().filter(|c| self.applies(c.when))
    }
}

/// What the host checks beside a plugin's plan: the protocol checks that apply to the server
/// `description` (the `mcp:server` document) describes, and its surface against a baseline.
#[derive(Debug, Clone)]
pub struct HostChecks {
    pub description: Value,
    pub protocol: bool,
    pub baseline: Option<std::path::PathBuf>,
    /// The run sends credentials to the server (an `Authorization` header).
    pub credentials: bool,
}

/// The host's checks as scenarios of `plugin`'s plan: `mcp.protocol.NAME` (and `mcp.baseline`),
/// kind `protocol`, tagged `protocol`.
pub fn scenarios(host: &HostChecks, plugin: &str) -> Vec<crate::plan::model::Scenario> {
    use crate::plan::model::{Action, McpCheck, Scenario, ScenarioKind, Step, StepMode};
    let Some(mut facts) = Facts::of(&host.description) else { return Vec::new() };
    facts.credentials = host.credentials;
    let protocol = facts.checks().filter(|_| host.protocol).map(|c| (c, None));
    let baseline = host
        .baseline
        .as_ref()
        .and_then(|file| check("baseline").map(|c| (c, Some(file.display().to_string()))));
    protocol
        .chain(baseline)
        .map(|(c, file)| {
            let id = if c.when == When::Given {
                format!("mcp.{}", c.name)
            } else {
                format!("mcp.protocol.{}", c.name)
            };
            let mut s = Scenario::bare(&id, plugin, c.endpoint, ScenarioKind::Protocol);
            s.description = format!("{} ({})", c.requires, c.section);
            s.tags = vec!["protocol".to_string()];
            s.steps = vec![Step {
                name: String::new(),
                action: Action::McpCheck(McpCheck { check: c.name.to_string(), file }),
                captures: Vec::new(),
                mode: StepMode::Once,
                timeout_ms: None,
            }];
            s
        })
        .collect()
}

/// Whether a revision's session begins with `initialize`.
pub(super) fn has_handshake(revision: &str) -> bool {
    // Revisions are dates, YYYY-MM-DD: they sort as text.
    revision < "2026-07-28"
}

/// One request of a check: its answer, or the outcome of getting none.
async fn ask(session: &Session, method: &str, params: Value, timeout: Duration) -> Result<Answer, Outcome> {
    session.custom(method, params, timeout).await.map_err(Outcome::NoAnswer)
}

/// A request with params, as the check sends it (the SDK adds the id and the session's fields).
fn shown(method: &str, params: &Value) -> String {
    json!({"jsonrpc": "2.0", "method": method, "params": params}).to_string()
}

/// An answer as the report shows it.
fn answer_text(answer: &Answer) -> String {
    match answer {
        Answer::Result(v) => json!({"result": v}).to_string(),
        Answer::Error { code, message, data } => {
            json!({"error": {"code": code, "message": message, "data": data}}).to_string()
        }
    }
}

/// Run check `name` on `session` (with `file`, for a check that reads one), each request within
/// `timeout`.
pub async fn run(session: &Session, name: &str, file: Option<&str>, timeout: Duration) -> Verdict {
    match name {
        "baseline" => baseline(session, file),
        "authorization" => match &session.http_client {
            Some((client, url)) => {
                let meta = client.sent.lock().unwrap_or_else(|e| e.into_inner()).meta.clone();
                super::auth::check(client, url, meta.as_ref(), timeout).await
            }
            None => Verdict::of(
                String::new(),
                None,
                Outcome::NotApplicable("the session is not over HTTP".into()),
            ),
        },
        "unknown-method" => expect_error(session, "smoke/no-such-method", json!({}), -32601, timeout).await,
        "invalid-params" => invalid_params(session, timeout).await,
        "ping" => ping(session, timeout).await,
        "result-type" => result_type(session, timeout).await,
        "pagination" => pagination(session, timeout).await,
        "list-order" => list_order(session, timeout).await,
        "cache-fields" => cache_fields(session, timeout).await,
        "declared-resources" => declared(session, "resources/list", timeout).await,
        "declared-prompts" => declared(session, "prompts/list", timeout).await,
        "stdout" => stdout(session),
        "lint" => lint(session),
        "origin"
        | "protocol-version-header"
        | "ended-session"
        | "method-header"
        | "name-header"
        | "json-or-sse" => {
            super::raw::check(session, name, !has_handshake(&session.record.protocol_version), timeout).await
        }
        _ => {
            Verdict::of(String::new(), None, Outcome::Broken(format!("smoke has no protocol check {name:?}")))
        }
    }
}

/// Send `method` with `params` (any method, any params) and require JSON-RPC error `code`.
async fn expect_error(
    session: &Session,
    method: &str,
    params: Value,
    code: i64,
    timeout: Duration,
) -> Verdict {
    let sent = shown(method, &params);
    let answer = match ask(session, method, params, timeout).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::of(sent, None, e),
    };
    let outcome = match &answer {
        Answer::Error { code: got, .. } if *got == code => Outcome::Holds,
        Answer::Error { code: got, message, .. } => {
            Outcome::Broken(format!("it answered the JSON-RPC error {got} ({}), not {code}", clip(message)))
        }
        Answer::Result(_) => Outcome::Broken(format!("it answered a result, not the JSON-RPC error {code}")),
    };
    Verdict::of(sent, Some(answer_text(&answer)), outcome)
}

/// A tools/call with `arguments` that are not an object: refused (not answered as a call that
/// worked), and not as a method the server lacks. JSON-RPC's code for it is -32602, but another
/// error passes: the TypeScript SDK answers -32603 for every params it cannot read.
async fn invalid_params(session: &Session, timeout: Duration) -> Verdict {
    // Wrong only in its arguments; harmless if run anyway (--read-only holds).
    let name = session.harmless_tool();
    let params = json!({"name": name, "arguments": "smoke: not an object"});
    let sent = shown("tools/call", &params);
    let answer = match ask(session, "tools/call", params, timeout).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::of(sent, None, e),
    };
    let outcome = match &answer {
        Answer::Error { code: -32601, message, .. } => Outcome::Broken(format!(
            "it answered -32601 (method not found: {}) for tools/call, a method it has",
            clip(message)
        )),
        Answer::Error { .. } => Outcome::Holds,
        Answer::Result(v) if v.get("isError") == Some(&Value::Bool(true)) => Outcome::Holds,
        Answer::Result(_) => Outcome::Broken("it answered a result, as if the call were right".to_string()),
    };
    Verdict::of(sent, Some(answer_text(&answer)), outcome)
}

async fn ping(session: &Session, timeout: Duration) -> Verdict {
    let sent = shown("ping", &json!({}));
    let answer = match ask(session, "ping", json!({}), timeout).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::of(sent, None, e),
    };
    let outcome = match &answer {
        Answer::Result(Value::Object(_)) => Outcome::Holds,
        Answer::Result(other) => {
            Outcome::Broken(format!("it answered {}, not an empty object", clip(&other.to_string())))
        }
        Answer::Error { code, message, .. } => {
            Outcome::Broken(format!("it answered the JSON-RPC error {code} ({})", clip(message)))
        }
    };
    Verdict::of(sent, Some(answer_text(&answer)), outcome)
}

async fn result_type(session: &Session, timeout: Duration) -> Verdict {
    let sent = shown("tools/list", &json!({}));
    let answer = match ask(session, "tools/list", json!({}), timeout).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::of(sent, None, e),
    };
    let outcome = match &answer {
        Answer::Result(v) => match v.get("resultType") {
            Some(Value::String(_)) => Outcome::Holds,
            Some(other) => {
                Outcome::Broken(format!("its tools/list result has resultType {other}, not a string"))
            }
            None => Outcome::Broken(format!(
                "its tools/list result has no resultType (negotiated {})",
                session.record.protocol_version
            )),
        },
        Answer::Error { code, message, .. } => {
            Outcome::Broken(format!("tools/list answered the JSON-RPC error {code} ({})", clip(message)))
        }
    };
    let shown_answer = match &answer {
        Answer::Result(v) => summary(v),
        other => answer_text(other),
    };
    Verdict::of(sent, Some(shown_answer), outcome)
}

/// The most pages the check follows.
const MAX_PAGES: usize = 100;

async fn pagination(session: &Session, timeout: Duration) -> Verdict {
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut cursors: Vec<String> = Vec::new();
    let mut sent = Vec::new();
    let mut params = json!({});
    for page in 1..=MAX_PAGES {
        sent.push(shown("tools/list", &params));
        let answer = match session.custom("tools/list", params.clone(), timeout).await {
            Ok(answer) => answer,
            Err(e) => return Verdict::of(sent.join("\n"), None, Outcome::NoAnswer(e)),
        };
        let result = match answer {
            Answer::Result(v) => v,
            error => {
                let why = format!("page {page} of tools/list answered {}", answer_text(&error));
                return Verdict::of(sent.join("\n"), Some(answer_text(&error)), Outcome::Broken(clip(&why)));
            }
        };
        let names = result.get("tools").and_then(Value::as_array).map(|t| {
            t.iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string))
                .collect::<Vec<_>>()
        });
        let Some(names) = names else {
            let why = format!("page {page} of tools/list has no `tools` array");
            return Verdict::of(sent.join("\n"), Some(summary(&result)), Outcome::Broken(why));
        };
        if seen.len() + names.len() > super::MAX_TOOLS {
            let why = format!(
                "tools/list lists more than {} tools: smoke stops following it there",
                super::MAX_TOOLS
            );
            return Verdict::of(sent.join("\n"), None, Outcome::Broken(why));
        }
        for name in names {
            if let Some(first) = seen.insert(name.clone(), page) {
                let why = format!("tool {name:?} is listed on page {first} and again on page {page}");
                return Verdict::of(sent.join("\n"), Some(summary(&result)), Outcome::Broken(clip(&why)));
            }
        }
        match result.get("nextCursor") {
            None | Some(Value::Null) => {
                let listed = format!("{} tool(s) on {page} page(s)", seen.len());
                return Verdict::of(sent.join("\n"), Some(listed), Outcome::Holds);
            }
            Some(Value::String(cursor)) if cursors.contains(cursor) => {
                let why = format!(
                    "page {page} of tools/list gives the cursor {cursor:?} again: the listing never ends"
                );
                return Verdict::of(sent.join("\n"), Some(summary(&result)), Outcome::Broken(clip(&why)));
            }
            Some(Value::String(cursor)) => {
                cursors.push(cursor.clone());
                params = json!({"cursor": cursor});
            }
            Some(other) => {
                let why = format!("page {page} of tools/list has nextCursor {other}, not a string");
                return Verdict::of(sent.join("\n"), Some(summary(&result)), Outcome::Broken(clip(&why)));
            }
        }
    }
    let why = format!("tools/list has more than {MAX_PAGES} pages: smoke stops following it there");
    Verdict::of(sent.join("\n"), None, Outcome::Broken(why))
}

/// Every tool name `tools/list` lists, in order, following `nextCursor` (at most [`MAX_PAGES`]).
async fn listed_names(session: &Session, timeout: Duration) -> Result<Vec<String>, Outcome> {
    let mut names = Vec::new();
    let mut params = json!({});
    for _ in 0..MAX_PAGES {
        let result = match session.custom("tools/list", params, timeout).await {
            Ok(Answer::Result(v)) => v,
            Ok(error) => {
                return Err(Outcome::Broken(format!("tools/list answered {}", clip(&answer_text(&error)))));
            }
            Err(e) => return Err(Outcome::NoAnswer(e)),
        };
        let page = result.get("tools").and_then(Value::as_array).into_iter().flatten();
        names.extend(page.filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_string)));
        if names.len() > super::MAX_TOOLS {
            return Err(Outcome::Broken(format!("tools/list lists more than {} tools", super::MAX_TOOLS)));
        }
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(cursor) => params = json!({"cursor": cursor}),
            None => return Ok(names),
        }
    }
    Err(Outcome::Broken(format!("tools/list has more than {MAX_PAGES} pages")))
}

async fn list_order(session: &Session, timeout: Duration) -> Verdict {
    let sent = format!("{}, twice (every page)", shown("tools/list", &json!({})));
    let (first, second) = match (listed_names(session, timeout).await, listed_names(session, timeout).await) {
        (Ok(first), Ok(second)) => (first, second),
        (Err(outcome), _) | (_, Err(outcome)) => return Verdict::of(sent, None, outcome),
    };
    let listed = |names: &[String]| clip(&names.join(", "));
    let answer = format!("first: {}; then: {}", listed(&first), listed(&second));
    let outcome = match first == second {
        true => Outcome::Holds,
        false => Outcome::Broken(format!(
            "two listings differ: first {}, then {}",
            listed(&first),
            listed(&second)
        )),
    };
    Verdict::of(sent, Some(answer), outcome)
}

/// A list result's cache fields (SEP-2549). The SDK reads a negative `ttlMs` as 0 and an empty
/// `cacheScope` as none before smoke sees them; anything else wrong reaches here as sent.
async fn cache_fields(session: &Session, timeout: Duration) -> Verdict {
    let sent = shown("tools/list", &json!({}));
    let result = match session.custom("tools/list", json!({}), timeout).await {
        Ok(Answer::Result(v)) => v,
        Ok(error) => {
            let why = format!("tools/list answered {}", clip(&answer_text(&error)));
            return Verdict::of(sent, Some(answer_text(&error)), Outcome::Broken(why));
        }
        Err(e) => return Verdict::of(sent, None, Outcome::NoAnswer(e)),
    };
    let mut wrong = Vec::new();
    match result.get("ttlMs") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.as_u64().is_some() => {}
        Some(other) => {
            wrong.push(format!("ttlMs is {other}, not a whole number of milliseconds (0 or more)"))
        }
    }
    match result.get("cacheScope") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s == "public" || s == "private" => {}
        Some(other) => wrong.push(format!("cacheScope is {other}, neither \"public\" nor \"private\"")),
    }
    let outcome = match wrong.is_empty() {
        true => Outcome::Holds,
        false => Outcome::Broken(format!("its tools/list result's {}", wrong.join("; and its "))),
    };
    Verdict::of(sent, Some(summary(&result)), outcome)
}

async fn declared(session: &Session, method: &str, timeout: Duration) -> Verdict {
    let sent = shown(method, &json!({}));
    let answer = match ask(session, method, json!({}), timeout).await {
        Ok(answer) => answer,
        Err(e) => return Verdict::of(sent, None, e),
    };
    let outcome = match &answer {
        Answer::Result(_) => Outcome::Holds,
        Answer::Error { code, message, .. } => Outcome::Broken(format!(
            "it declares the capability, but {method} answered the JSON-RPC error {code} ({})",
            clip(message)
        )),
    };
    let shown_answer = match &answer {
        Answer::Result(v) => summary(v),
        other => answer_text(other),
    };
    Verdict::of(sent, Some(shown_answer), outcome)
}

/// The live surface against the record in `file`: breaking changes break it; the rest is listed.
fn baseline(session: &Session, file: Option<&str>) -> Verdict {
    let Some(file) = file else {
        return Verdict::of(String::new(), None, Outcome::Broken("the baseline check names no file".into()));
    };
    let sent = format!("(nothing: the server's description against {file})");
    let read = crate::files::read_text(
        std::path::Path::new(file),
        crate::files::MAX_CONFIG_BYTES * 16,
        "an MCP surface record",
    );
    let record: Value = match read.map(|t| serde_json::from_str::<Value>(&t)) {
        Ok(Ok(v)) if v["format"] == crate::surface::MCP_RECORD_FORMAT => v,
        Ok(Ok(_)) | Ok(Err(_)) => {
            let why = format!(
                "{file} is not a record of `smoke mcp snapshot` (JSON with \"format\": {:?})",
                crate::surface::MCP_RECORD_FORMAT
            );
            return Verdict::of(sent, None, Outcome::Broken(why));
        }
        Err(e) => return Verdict::of(sent, None, Outcome::Broken(e.to_string())),
    };
    let live = serde_json::to_value(&session.description).unwrap_or(Value::Null);
    let changes = crate::surface::diff(&crate::surface::of_mcp(&record), &crate::surface::of_mcp(&live));
    let line = |c: &crate::surface::Change| format!("{:?} {}: {}", c.severity, c.at, c.what);
    let answer = match changes.is_empty() {
        true => "no change".to_string(),
        false => changes.iter().map(line).collect::<Vec<_>>().join("\n"),
    };
    let breaking: Vec<String> =
        changes.iter().filter(|c| c.severity == crate::surface::Severity::Breaking).map(line).collect();
    let outcome = match breaking.as_slice() {
        [] => Outcome::Holds,
        found => Outcome::Broken(format!("{} breaking change(s): {}", found.len(), found.join("; "))),
    };
    Verdict::of(sent, Some(answer), outcome)
}

fn lint(session: &Session) -> Verdict {
    let sent = String::from("(nothing: what the server said of itself when the session opened)");
    let description = serde_json::to_value(&session.description).unwrap_or(Value::Null);
    let found = super::lint::lint(&description);
    let answer = format!("{} finding(s)", found.len());
    let outcome = match found.as_slice() {
        [] => Outcome::Holds,
        found => {
            let each: Vec<String> =
                found.iter().take(10).map(|f| format!("{} {}: {}", f.rule, f.at, f.what)).collect();
            let more = found.len().saturating_sub(10);
            let more = if more > 0 { format!("; and {more} more") } else { String::new() };
            Outcome::Broken(format!("{} finding(s): {}{more}", found.len(), each.join("; ")))
        }
    };
    Verdict::of(sent, Some(answer), outcome)
}

fn stdout(session: &Session) -> Verdict {
    let sent = String::from("(nothing: what the server wrote to its stdout during the run so far)");
    let outcome = match (session.stdout_problem(), session.stdout_noise()) {
        (Some(problem), _) => Outcome::Broken(problem),
        (None, Some(noise)) => Outcome::Broken(noise),
        (None, None) => Outcome::Holds,
    };
    Verdict::of(sent, None, outcome)
}

/// A result shown short: its members, with arrays counted.
fn summary(v: &Value) -> String {
    let Value::Object(map) = v else { return clip(&v.to_string()) };
    let shown: serde_json::Map<String, Value> = map
        .iter()
        .map(|(k, v)| match v {
            Value::Array(items) => (k.clone(), Value::String(format!("[{} item(s)]", items.len()))),
            other => (k.clone(), other.clone()),
        })
        .collect();
    clip(&Value::Object(shown).to_string())
}

fn clip(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(description: Value) -> Vec<&'static str> {
        Facts::of(&description).unwrap().checks().map(|c| c.name).collect()
    }

    #[test]
    fn checks_apply_by_revision_transport_and_declared_capability() {
        let legacy_stdio = json!({"protocolVersion": "2025-11-25", "transport": "stdio",
            "capabilities": {"tools": {}, "prompts": {}, "resources": null}});
        assert_eq!(
            names(legacy_stdio),
            ["unknown-method", "invalid-params", "ping", "pagination", "declared-prompts", "lint", "stdout"]
        );
        let modern_http = json!({"protocolVersion": "2026-07-28", "transport": "http",
            "capabilities": {"tools": {}, "resources": {}}});
        assert_eq!(
            names(modern_http),
            [
                "unknown-method",
                "invalid-params",
                "result-type",
                "list-order",
                "cache-fields",
                "pagination",
                "declared-resources",
                "lint",
                "origin",
                "protocol-version-header",
                "method-header",
                "name-header",
                "json-or-sse"
            ]
        );
        assert!(Facts::of(&json!({"protocolVersion": "2025-11-25"})).is_none(), "no transport, no facts");
    }

    #[test]
    fn every_check_names_its_section_and_is_found_by_name() {
        for c in CHECKS {
            assert!(!c.section.is_empty() && !c.requires.is_empty(), "{}", c.name);
            assert_eq!(check(c.name).map(|f| f.name), Some(c.name));
        }
        assert!(check("no-such-check").is_none());
    }
}
