//! Where a config's target is, and what a plan would write to it. A run against a target off this
//! machine may only read, unless the config says writes are allowed (`[agents] allow-writes`).

use crate::config::{McpTransport, Settings};
use serde_json::{Value, json};

/// The config key that allows an agent's runs to write to a target that is not on this machine.
pub(super) const ALLOW_WRITES: &str = "allow-writes = true under [agents]";

/// The target a config names: how it is reached, where, and whether it is on this machine.
pub(super) struct Target {
    pub(super) kind: &'static str,
    pub(super) at: String,
    pub(super) local: bool,
}

impl Target {
    pub(super) fn describe(&self, settings: &Settings) -> Value {
        json!({
            "kind": self.kind,
            "at": self.at,
            "local": self.local,
            "writes_allowed": self.local || settings.allow_writes,
        })
    }
}

/// Whether a URL's host is this machine: `localhost` or a loopback address.
pub(super) fn local_url(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else { return false };
    match url.host() {
        // Only the name itself: a resolver may send `*.localhost` to DNS.
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Whether the URL requests go to is this machine's. A `{port}` smoke fills in is read as a port
/// that names no address (`[::{port}]` is not `[::1]`).
fn local_at(url: &str) -> bool {
    local_url(&url.replace("{port}", "65535"))
}

/// Where a config's requests go: to its MCP server, and to its HTTP base URL (a service smoke
/// starts counts only by the URL it is reached at). Local only when every one of them is.
pub(super) fn target(settings: &Settings) -> Target {
    let base = settings.base_url.clone().or_else(|| settings.target.as_ref().map(|t| t.base_url.clone()));
    let started =
        settings.base_url.is_none() && settings.target.as_ref().is_some_and(|t| t.command.is_some());
    let http = base.as_ref().map(|at| (at.clone(), local_at(at)));
    let Some(mcp) = &settings.mcp else {
        return match http {
            Some((at, local)) => Target {
                kind: if started { "a service smoke starts" } else { "a running service" },
                at,
                local,
            },
            None => Target { kind: "none", at: String::new(), local: true },
        };
    };
    let (kind, at, local) = match &mcp.transport {
        McpTransport::Stdio { command, .. } => {
            ("an MCP server smoke starts here (stdio)", command.clone(), true)
        }
        McpTransport::Http { url, .. } => {
            let at = match (url.starts_with('/'), &base) {
                (true, Some(base)) => format!("{}{url}", base.trim_end_matches('/')),
                _ => url.clone(),
            };
            let local = local_at(&at);
            ("an MCP server over Streamable HTTP", at, local)
        }
    };
    // A base URL beside the MCP server takes the plan's HTTP requests.
    match http {
        Some((base, false)) => {
            Target { kind, at: format!("{at}, and HTTP requests to {base}"), local: false }
        }
        _ => Target { kind, at, local },
    }
}

/// The steps of a plan (as `smoke plan` prints it) that may write: seeds, requests other than
/// GET, HEAD, OPTIONS and TRACE, and tool calls (a plan does not say which tools only read).
pub(super) fn writes(plan: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut step = |owner: &str, step: &Value| {
        if let Some(method) = step["request"]["method"].as_str() {
            if !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE") {
                found.push(format!(
                    "{owner}: {method} {}",
                    step["request"]["path"].as_str().unwrap_or_default()
                ));
            }
        } else if let Some(tool) = step["tool_call"]["tool"].as_str().or(step["tool_call"]["name"].as_str()) {
            found.push(format!("{owner}: tool call {tool}"));
        }
    };
    for seed in plan["seeds"].as_array().into_iter().flatten() {
        step(&format!("seed {}", seed["id"].as_str().unwrap_or_default()), &seed["step"]);
    }
    for s in plan["scenarios"].as_array().into_iter().flatten() {
        let id = s["id"].as_str().unwrap_or_default();
        for st in s["steps"].as_array().into_iter().flatten() {
            step(id, st);
        }
    }
    found
}

/// Whether a text holds a template of a plugin's config value, `{{config.KEY}}` (spaces allowed).
pub(super) fn reads_config(text: &str) -> bool {
    static CONFIG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    CONFIG.get_or_init(|| regex::Regex::new(r"\{\{\s*config\.").expect("a valid pattern")).is_match(text)
}

/// The scenarios of the scenario file (tagged `overlay`) that read a plugin's config values.
pub(super) fn reading_config(plan: &Value) -> Vec<String> {
    plan["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == "overlay")))
        .filter(|s| reads_config(&s["steps"].to_string()))
        .map(|s| s["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_and_localhost_are_local() {
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost/x",
            "http://LOCALHOST",
            "http://[::1]:9",
            "http://127.8.0.1",
        ] {
            assert!(local_url(url), "{url}");
        }
        for url in [
            "http://192.0.2.1:9",
            "https://api.example.com",
            "http://10.0.0.1",
            "http://localhost.example.com",
            "http://api.localhost",
            "http://localhost@192.0.2.1",
            "http://0.0.0.0",
            "nonsense",
        ] {
            assert!(!local_url(url), "{url}");
        }
    }

    #[test]
    fn seeds_writes_and_tool_calls_are_writes_reads_are_not() {
        let plan = json!({
            "seeds": [{"id": "s1", "step": {"request": {"method": "POST", "path": "/a"}, "expect": {"status": [201]}}}],
            "scenarios": [
                {"id": "r", "steps": [{"request": {"method": "GET", "path": "/a"}, "expect": {"status": [200]}}]},
                {"id": "w", "steps": [{"request": {"method": "DELETE", "path": "/a/1"}, "expect": {"status": [204]}}]},
                {"id": "t", "steps": [{"tool_call": {"tool": "drop", "arguments": {}}}]}
            ]
        });
        assert_eq!(writes(&plan), ["seed s1: POST /a", "w: DELETE /a/1", "t: tool call drop"]);
    }
}
