//! What the host knows of a plugin, whichever contract version it was built for: the versions
//! bound (`v0_1`, `v0_2`) convert their own WIT types into these and the plan model, so nothing
//! outside `plugin` depends on a WIT version.

use crate::plan::model::{self, Pair};

/// The contract versions this host binds, oldest first. A version leaves this list only as
/// docs/compatibility.md says.
pub const SUPPORTED: &[&str] = &["0.1.0", "0.2.0"];
/// The version new plugins are built for (the SDKs' version).
pub const CURRENT: &str = "0.2.0";
/// The exported interface every plugin provides, without its version.
pub const GUEST_INTERFACE: &str = "smoke:plugin/guest";

/// Optional features of the current contract this host supports, handed to `plan` (0.2 on).
pub const FEATURES: &[&str] = &[
    "method.other",
    "body.form",
    "body.multipart",
    "body.bytes",
    "status.class",
    "mode.poll",
    "mode.burst",
    "needs",
    "action.tool-call",
    "action.mcp-request",
    "tag.skip",
    "tag.not-planned",
    "tag.seeded",
    "template.last-segment",
    "template.run",
];

/// The supported versions as one phrase: `smoke:plugin@0.1.0 and smoke:plugin@0.2.0`.
pub fn supported_phrase() -> String {
    let names: Vec<String> = SUPPORTED.iter().map(|v| format!("smoke:plugin@{v}")).collect();
    match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Text,
    Document,
    Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigKey {
    pub name: String,
    pub description: String,
    pub kind: ConfigKind,
    pub required: bool,
    pub default: Option<String>,
}

/// What a plugin declares it needs of its sandbox (0.2 on), capped by the host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    pub memory_mib: Option<u32>,
    pub call_timeout_ms: Option<u32>,
}

/// What a plugin is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    pub name: String,
    pub version: String,
    pub domain: String,
    pub description: String,
    pub config: Vec<ConfigKey>,
    pub sensitive_fields: Vec<String>,
    pub sensitive_headers: Vec<String>,
    pub needs: Needs,
}

/// A document named by a `document` config key, read by the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub key: String,
    pub source: String,
    pub content: Vec<u8>,
}

/// The input to `plan`.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub config: Vec<Pair>,
    pub documents: Vec<Document>,
}

/// A plugin's refusal to plan.
#[derive(Debug, Clone)]
pub struct PlanError {
    pub message: String,
    pub location: Option<String>,
}

/// An HTTP request as sent, for `check`.
#[derive(Debug, Clone)]
pub struct SentRequest {
    pub method: model::Method,
    pub url: String,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
}

/// An HTTP response as received, for `check`.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<Pair>,
    pub body: Vec<u8>,
    pub latency_ms: u32,
}

/// A JSON-RPC error the server answered with.
#[derive(Debug, Clone)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    /// JSON text.
    pub data: Option<String>,
}

/// A tool call as sent and what came back, for `check`.
#[derive(Debug, Clone)]
pub struct ToolExchange {
    pub tool: String,
    /// JSON text of the arguments as sent.
    pub arguments: String,
    /// JSON text of the result, unless the server answered with an error.
    pub result: Option<String>,
    pub error: Option<RpcError>,
    pub latency_ms: u32,
}

/// What a step's action sent and got back.
#[derive(Debug, Clone)]
pub enum Exchange {
    Http {
        request: SentRequest,
        response: Response,
    },
    ToolCall(ToolExchange),
    /// An MCP request: its method in `tool`, its params in `arguments`.
    McpRequest(ToolExchange),
}

/// The input to `check`.
#[derive(Debug, Clone)]
pub struct CheckInput {
    pub config: Vec<Pair>,
    pub scenario_id: String,
    pub step_name: String,
    pub step_index: u32,
    pub argument: String,
    pub exchange: Exchange,
    /// Values as JSON text, sorted by name.
    pub variables: Vec<Pair>,
}

/// A judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub pass: bool,
    pub reason: String,
}

/// A log level of the host interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Info,
    Warn,
    Error,
}

/// A plugin's plan that does not make sense as data.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConvertError {
    pub location: String,
    pub message: String,
}

pub(super) fn parse_json(
    text: &str,
    location: impl FnOnce() -> String,
) -> Result<serde_json::Value, ConvertError> {
    serde_json::from_str(text).map_err(|e| ConvertError {
        location: location(),
        message: format!("not valid JSON ({e}): {}", excerpt(text)),
    })
}

/// An expected value: JSON every number of which a `Value` holds exactly (else it could never be
/// compared exactly, and a near miss would pass).
pub(super) fn parse_exact(
    text: &str,
    location: impl Fn() -> String,
) -> Result<serde_json::Value, ConvertError> {
    if let Some(number) = crate::plan::exact::first_inexact_number(text) {
        return Err(ConvertError { location: location(), message: model::inexact_message(&number) });
    }
    parse_json(text, location)
}

fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
