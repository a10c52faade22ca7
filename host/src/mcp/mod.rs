//! MCP targets: one session with the server under test per run, over Streamable HTTP or over a
//! child process's stdin and stdout, through the official SDK (`rmcp`). The session lists the
//! server's tools once; each tool call is checked against that list (a tool the server does not
//! list, or lists wrongly, arguments its `inputSchema` refuses) before anything is sent, so a plan
//! bug is never reported as the server's failure.

mod auth;
pub mod conformance;
mod http;
mod lifecycle;
pub mod lint;
mod raw;
mod stdio;
mod tools;

pub use http::{Answered, EXPECTED};
pub use lifecycle::{Handshake, Revision};
pub use stdio::Noise;
pub use tools::{
    ListError, MAX_LISTED_BYTES, MAX_SCHEMA_BYTES, MAX_TOOL_PAGES, MAX_TOOLS, Pages, SchemaProblem, Tool,
    Tools,
};

use lifecycle::{Begun, Plan, Refused};
use rmcp::model::{CallToolRequestParams, ClientConfig};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the MCP server is, as the run resolved it.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Streamable HTTP at this URL, with these extra headers on every request.
    Http { url: String, headers: Vec<(String, String)> },
    /// The server is the child process smoke started; it speaks over its stdin and stdout.
    Stdio { command: String },
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Http { url, .. } => write!(f, "{}", crate::http::shown_url(url)),
            Endpoint::Stdio { command } => write!(f, "stdio of `{command}`"),
        }
    }
}

/// What the server said of itself at `initialize`, for report.json.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ServerRecord {
    /// `http` or `stdio`.
    pub transport: String,
    /// The URL, or the command.
    pub endpoint: String,
    pub protocol_version: String,
    /// How the session began: `server/discover` or `initialize`.
    #[serde(default)]
    pub handshake: String,
    /// Why it began with `initialize` after `server/discover` was tried, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    pub name: Option<String>,
    pub version: Option<String>,
    /// The tools it lists, by name.
    pub tools: Vec<String>,
}

/// Why a tool call cannot be sent as the plan wrote it.
pub enum Unfit {
    /// The server does not list the tool.
    UnknownTool(String),
    /// The server lists the tool wrongly (an entry MCP does not allow, a name listed twice): its
    /// fault, not the plan's.
    Listing(String),
    /// The server's own `inputSchema` is not a JSON Schema: its fault, not the plan's.
    BadInputSchema(String),
    /// The arguments break the tool's `inputSchema`: the plan's fault.
    Arguments(Vec<String>),
}

/// Why no session could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("MCP {request} with {endpoint} failed: {message}")]
    Initialize { request: &'static str, endpoint: String, message: String },
    #[error(
        "MCP {request} with {endpoint} got no MCP answer: the server answered {answered}, not {EXPECTED}: {}",
        answered.hint()
    )]
    NotMcp { request: &'static str, endpoint: String, answered: Answered },
    #[error(
        "MCP {request} with {endpoint} got no answer within {} ms (the limit of each handshake request and of \
         `tools/list` is `timeout` in the config's [target.mcp]){}{}",
        timeout.as_millis(),
        before.as_ref().map(|b| format!("; before it, {b}")).unwrap_or_default(),
        if *request == Handshake::Discover.method() {
            "; a server that answers only `initialize` (MCP 2025-11-25 and before) is reached with --mcp-protocol \
             2025-11-25"
        } else {
            ""
        }
    )]
    Timeout { request: &'static str, endpoint: String, timeout: Duration, before: Option<String> },
    #[error("MCP tools/list on {endpoint} failed: {error}")]
    ListTools { endpoint: String, error: ListError },
    #[error("MCP target: {0}")]
    Config(String),
}

/// What one `tools/call` came to.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The JSON-RPC result (content, structuredContent, isError), as JSON.
    Result(Value),
    /// The JSON-RPC error.
    Error { code: i64, message: String, data: Option<Value> },
}

/// Why a call got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("no answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("the connection to the MCP server is closed")]
    Closed,
    #[error("{0}")]
    Protocol(String),
    /// Over HTTP, the server answered a POST with something that is not MCP.
    #[error("the server answered a POST with {answered}, not {EXPECTED}: {hint}", answered = .0, hint = .0.hint())]
    NotMcp(Answered),
}

/// What the server said of itself and its tools: the document a plugin reads with `mcp:server`
/// (`protocolVersion`, `serverInfo`, `capabilities`, `instructions`, `tools`, and the first
/// `resources` and `prompts` when it offers them, else null). Shown (`to_string`) as that JSON,
/// written from the one copy of each tool the session keeps.
pub struct Description {
    /// Everything but the tools.
    about: serde_json::Map<String, Value>,
    tools: Arc<Tools>,
}

impl Serialize for Description {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.about.len() + 1))?;
        for (key, value) in &self.about {
            map.serialize_entry(key, value)?;
        }
        let listed: Vec<&serde_json::value::RawValue> =
            self.tools.by_name.values().map(Tool::listed).collect();
        map.serialize_entry("tools", &listed)?;
        map.end()
    }
}

impl std::fmt::Display for Description {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Maps with string keys, and JSON already checked: nothing here fails to serialize.
        f.write_str(&serde_json::to_string(self).unwrap_or_else(|_| "null".to_string()))
    }
}

/// One MCP session: initialized, tools listed, ready for calls from every scenario at once.
pub struct Session {
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ClientConfig>>>,
    peer: rmcp::Peer<RoleClient>,
    pub record: ServerRecord,
    pub description: Description,
    tools: Arc<Tools>,
    /// Over stdio: what the server printed that is not JSON-RPC.
    printed: Arc<std::sync::Mutex<stdio::Printed>>,
    /// Over HTTP: answers that were not MCP.
    http_seen: Option<Arc<http::Seen>>,
    /// Over HTTP: the session's client and URL, for requests of smoke's own (protocol checks).
    http_client: Option<(http::Watched, String)>,
}

/// How many resources and prompts the description lists, at most (the first ones listed).
const LISTED: usize = 1000;

/// An SDK error in words: a transport's own error and its causes, not the SDK's type names.
fn service_words(e: &ServiceError) -> String {
    match e {
        ServiceError::TransportSend(e) => error_chain(e.error.as_ref()),
        ServiceError::McpError(e) => format!("JSON-RPC error {}: {}", e.code.0, e.message),
        other => other.to_string(),
    }
}

/// An error and its sources, joined with `: `.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// Why `initialize` failed, in words: the transport's own error (not the SDK's type names), and
/// what to do when the server wants credentials.
fn initialize_failure(e: &rmcp::service::ClientInitializeError) -> String {
    use rmcp::service::ClientInitializeError;
    let names = |versions: &[rmcp::model::ProtocolVersion]| {
        versions.iter().map(|v| format!("{:?}", v.as_str())).collect::<Vec<_>>().join(", ")
    };
    let mut message = match e {
        ClientInitializeError::TransportError { error, .. } => error_chain(error.error.as_ref()),
        ClientInitializeError::NoCompatibleProtocolVersion { client_supported, server_supported } => format!(
            "the server speaks protocol revision(s) [{}], smoke asked for [{}]",
            names(server_supported),
            names(client_supported)
        ),
        other => other.to_string(),
    };
    if e.auth_challenge().is_some() || e.is_authorization_required() {
        message.push_str(
            " (the server asks for credentials: send them with --mcp-header \"Authorization: Bearer TOKEN\", or \
             `headers` in [target.mcp])",
        );
    }
    message
}

/// Why a session did not begin, in words.
fn refused_words(refused: &Refused, timeout: Duration) -> String {
    match refused {
        Refused::Timeout => format!("no answer within {} ms", timeout.as_millis()),
        Refused::Error(e) => initialize_failure(e),
        Refused::Said(said) => said.clone(),
    }
}

/// Why `server/discover` was followed by `initialize`, for the record.
fn discover_not_taken(refused: &Refused, timeout: Duration) -> String {
    match refused {
        Refused::Timeout => format!("server/discover got no answer within {} ms", timeout.as_millis()),
        other => format!("server/discover was refused: {}", refused_words(other, timeout)),
    }
}

/// The failure of a session that did not begin with the request it began with, and what came of
/// the `server/discover` before it, if one was tried.
fn not_begun(
    plan: &Plan,
    refused: Refused,
    endpoint: String,
    timeout: Duration,
    before: Option<String>,
) -> ConnectError {
    let request = plan.request();
    match (refused, before) {
        (Refused::Timeout, before) => ConnectError::Timeout { request, endpoint, timeout, before },
        (other, before) => {
            let mut message = refused_words(&other, timeout);
            if let Some(before) = before {
                message.push_str(&format!(" ({before})"));
            }
            if let Some(pinned) = plan.pinned() {
                message.push_str(&format!(
                    " (--mcp-protocol {pinned} asks for that revision only; `auto` finds the one the server speaks)"
                ));
            }
            ConnectError::Initialize { request, endpoint, message }
        }
    }
}

/// The most pages of resources or prompts the description follows.
const LISTED_PAGES: usize = 20;

/// The resources or prompts, when the server offers them, page after page (`nextCursor`), up to
/// [`LISTED`] of them in [`LISTED_PAGES`] pages: what a plugin may plan reads of, and what a
/// snapshot records (a failing list is left to the plugin's own scenario to catch; a failing
/// page after the first ends the listing there).
async fn first_listed(peer: &rmcp::Peer<RoleClient>, what: &str, timeout: Duration) -> Value {
    use rmcp::model::PaginatedRequestParams;
    let mut listed: Vec<Value> = Vec::new();
    let mut cursors: Vec<String> = Vec::new();
    for page in 0..LISTED_PAGES {
        let params = cursors.last().map(|c| PaginatedRequestParams::default().with_cursor(Some(c.clone())));
        let (items, next) = match what {
            "resources" => match tokio::time::timeout(timeout, peer.list_resources(params)).await {
                Ok(Ok(p)) => {
                    (p.resources.iter().filter_map(|r| serde_json::to_value(r).ok()).collect(), p.next_cursor)
                }
                _ if page == 0 => return Value::Null,
                _ => break,
            },
            _ => match tokio::time::timeout(timeout, peer.list_prompts(params)).await {
                Ok(Ok(p)) => {
                    (p.prompts.iter().filter_map(|r| serde_json::to_value(r).ok()).collect(), p.next_cursor)
                }
                _ if page == 0 => return Value::Null,
                _ => break,
            },
        };
        let items: Vec<Value> = items;
        listed.extend(items.into_iter().take(LISTED - listed.len()));
        match next {
            // A cursor given before would list the same pages again.
            Some(next) if listed.len() < LISTED && !cursors.contains(&next) => cursors.push(next),
            _ => break,
        }
    }
    Value::Array(listed)
}

impl Session {
    /// Open a session over Streamable HTTP: `initialize`, `notifications/initialized`, then
    /// `tools/list` (every page), each within `timeout`.
    pub async fn http(
        url: &str,
        headers: &[(String, String)],
        jobs: usize,
        max_body: u64,
        timeout: Duration,
        revision: &Revision,
    ) -> Result<Session, ConnectError> {
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let endpoint = Endpoint::Http { url: url.to_string(), headers: headers.to_vec() };
        let shown = endpoint.to_string();
        let mut custom = std::collections::HashMap::new();
        // Every header as given, `Authorization` included (any scheme, not only Bearer).
        for (name, value) in headers {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ConnectError::Config(format!("header {name:?}: {e}")))?;
            let value = reqwest::header::HeaderValue::from_str(value)
                .map_err(|e| ConnectError::Config(format!("header {name:?}: {e}")))?;
            custom.insert(name, value);
        }
        let again: reqwest::header::HeaderMap = custom.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_string())
            .max_concurrent_requests(jobs.max(1))
            .custom_headers(custom)
            .max_json_response_size(limit)
            .max_sse_event_size(limit);
        // A redirect would take the session, and its headers, to another origin: never followed.
        let pages = Arc::new(Pages::default());
        // Each attempt on a client of its own: what one saw that was not MCP is not the other's.
        let attempt = |plan: Plan| {
            let (pages, config, url) = (pages.clone(), config.clone(), url.to_string());
            async move {
                let client = http::Watched::new(pages)
                    .map_err(|e| ConnectError::Config(format!("cannot build the HTTP client: {e}")))?;
                let transport = StreamableHttpClientTransport::with_client(client.clone(), config);
                let begun = plan.begin(transport, timeout).await;
                Ok::<_, ConnectError>((client, url, begun))
            }
        };
        let first = Plan::first(revision);
        let (mut client, _, mut begun) = attempt(first.clone()).await?;
        let (mut plan, mut fallback) = (first, None);
        if let Err(refused) = &begun
            && plan.may_fall_back()
            && refused.falls_back()
        {
            // A legacy server may refuse a request without a session with an HTTP error, which
            // ends the SDK's connection: `initialize` goes on a fresh one.
            fallback = Some(discover_not_taken(refused, timeout));
            plan = Plan::initialize();
            (client, _, begun) = attempt(plan.clone()).await?;
        }
        let seen = client.seen.clone();
        let opened = match begun {
            Ok(begun) => Self::open(begun, endpoint, timeout, shown.clone(), &pages, fallback).await,
            Err(refused) => Err(not_begun(&plan, refused, shown.clone(), timeout, fallback)),
        };
        match opened {
            Ok(mut session) => {
                session.http_seen = Some(seen);
                session.http_client = Some((client, url.to_string()));
                Ok(session)
            }
            // What came back instead of MCP, when that is why: looked at once more for
            // `initialize` (the first answer is gone by now), as noted for `tools/list`.
            Err(e) => match (&e, seen.failure()) {
                (ConnectError::Initialize { request, .. }, Some(noted)) => {
                    let answered = client.look(url, again, timeout).await.unwrap_or(noted);
                    Err(ConnectError::NotMcp { request, endpoint: shown, answered })
                }
                (ConnectError::ListTools { .. }, Some(answered)) => {
                    Err(ConnectError::NotMcp { request: "tools/list", endpoint: shown, answered })
                }
                _ => Err(e),
            },
        }
    }

    /// Open a session over a child's stdout (what it says) and stdin (what it hears). Every line
    /// it prints must be a JSON-RPC message (the stdio transport allows nothing else on stdout):
    /// the first that is not closes the session, and every call from then on fails saying so;
    /// or, with [`Noise::Note`], is dropped and noted for the protocol check `stdout`.
    pub async fn stdio(
        command: &str,
        (stdout, stdin): (tokio::process::ChildStdout, tokio::process::ChildStdin),
        timeout: Duration,
        revision: &Revision,
        noise: Noise,
    ) -> Result<Session, ConnectError> {
        let endpoint = Endpoint::Stdio { command: command.to_string() };
        let shown = endpoint.to_string();
        let printed: Arc<std::sync::Mutex<stdio::Printed>> = Arc::default();
        let problem = || printed.lock().unwrap_or_else(|e| e.into_inner()).closed.clone();
        let pages = Arc::new(Pages::default());
        let (relay, first) = stdio::Relay::start(stdout, stdin, printed.clone(), noise, pages.clone());
        let mut plan = Plan::first(revision);
        let mut begun = plan.begin(first, timeout).await;
        let mut fallback = None;
        // Not after no answer at all: the same process may yet answer server/discover, and its
        // late answer would be taken for the answer to `initialize` (both are request 0).
        if let Err(refused) = &begun
            && plan.may_fall_back()
            && refused.falls_back()
            && !matches!(refused, Refused::Timeout)
            && problem().is_none()
        {
            fallback = Some(discover_not_taken(refused, timeout));
            plan = Plan::initialize();
            begun = plan.begin(relay.connect(), timeout).await;
        }
        // No connection follows this one: stdin closes when it does.
        drop(relay);
        let opened = match begun {
            Ok(begun) => Self::open(begun, endpoint, timeout, shown.clone(), &pages, fallback).await,
            Err(refused) => Err(not_begun(&plan, refused, shown.clone(), timeout, fallback)),
        };
        let mut session = opened.map_err(|e| match problem() {
            Some(p) => ConnectError::Initialize { request: plan.request(), endpoint: shown, message: p },
            None => e,
        })?;
        session.printed = printed;
        Ok(session)
    }

    /// List the tools of a session begun, and what the server says of itself.
    async fn open(
        begun: Begun,
        endpoint: Endpoint,
        timeout: Duration,
        shown: String,
        pages: &Pages,
        fallback: Option<String>,
    ) -> Result<Session, ConnectError> {
        let started = Instant::now();
        let Begun { service, handshake, negotiated } = begun;
        let peer = service.peer().clone();
        let info = service.peer_info();
        let tools = match tokio::time::timeout(timeout, tools::list(&peer, pages)).await {
            Err(_) => {
                let error = ListError::Timeout(timeout);
                return Err(ConnectError::ListTools { endpoint: shown, error });
            }
            Ok(Err(error)) => return Err(ConnectError::ListTools { endpoint: shown, error }),
            Ok(Ok(tools)) => Arc::new(tools),
        };
        let (transport, endpoint_text) = match &endpoint {
            Endpoint::Http { url, .. } => ("http", crate::http::shown_url(url)),
            Endpoint::Stdio { command } => ("stdio", command.clone()),
        };
        let capabilities = info.as_ref().map(|i| &i.capabilities);
        let offers = |what: &str| match what {
            "resources" => capabilities.is_some_and(|c| c.resources.is_some()),
            _ => capabilities.is_some_and(|c| c.prompts.is_some()),
        };
        let mut about = serde_json::Map::new();
        about.insert("protocolVersion".into(), Value::String(negotiated.to_string()));
        about.insert("transport".into(), Value::String(transport.to_string()));
        let server_info = info.as_ref().and_then(|i| i.server_info.as_ref());
        about.insert("serverInfo".into(), serde_json::to_value(server_info).unwrap_or(Value::Null));
        about.insert("capabilities".into(), serde_json::to_value(capabilities).unwrap_or(Value::Null));
        let instructions = info.as_ref().and_then(|i| i.instructions.as_ref());
        about.insert("instructions".into(), serde_json::to_value(instructions).unwrap_or(Value::Null));
        for what in ["resources", "prompts"] {
            let listed = if offers(what) { first_listed(&peer, what, timeout).await } else { Value::Null };
            about.insert(what.into(), listed);
        }
        let record = ServerRecord {
            transport: transport.to_string(),
            endpoint: endpoint_text,
            protocol_version: negotiated.to_string(),
            handshake: handshake.method().to_string(),
            fallback,
            name: server_info.map(|s| s.name.clone()),
            version: server_info.map(|s| s.version.clone()),
            tools: tools.names().map(str::to_string).collect(),
        };
        tracing::info!(
            "mcp: session with {shown} ({} {}, protocol {}), {} tool(s), ready after {} ms",
            crate::http::escape_line(record.name.as_deref().unwrap_or("unnamed server")),
            crate::http::escape_line(record.version.as_deref().unwrap_or("")),
            crate::http::escape_line(&record.protocol_version),
            record.tools.len(),
            started.elapsed().as_millis()
        );
        warn_of(&tools);
        Ok(Session {
            description: Description { about, tools: tools.clone() },
            service: tokio::sync::Mutex::new(Some(service)),
            peer,
            record,
            tools,
            printed: Arc::default(),
            http_seen: None,
            http_client: None,
        })
    }

    /// The tools the server listed, by name.
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.by_name.get(name)
    }

    /// Why the server's listing of a tool is not one MCP allows (an entry of the wrong shape, a
    /// name listed twice), if it is not.
    pub fn listing_problem(&self, name: &str) -> Option<String> {
        self.tool(name).and_then(|t| t.problem.clone())
    }

    /// Every way `arguments` break the tool's `inputSchema` (at most a few), or why the tool
    /// cannot be called: the plan's problem, or the server's listing.
    pub fn unfit(&self, name: &str, arguments: &Value) -> Option<Unfit> {
        let Some(tool) = self.tool(name) else {
            let mut listed: Vec<String> = self.tools.names().take(30).map(|n| format!("{n:?}")).collect();
            if self.tools.by_name.len() > listed.len() {
                listed.push("…".to_string());
            }
            return Some(Unfit::UnknownTool(format!(
                "the server does not list a tool {name:?} (it lists {})",
                if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
            )));
        };
        if let Some(problem) = self.listing_problem(name) {
            return Some(Unfit::Listing(problem));
        }
        let schemas = self.tools.schemas(tool);
        let validator = match &schemas.input {
            Ok(v) => v,
            Err(problem) => {
                return Some(Unfit::BadInputSchema(format!(
                    "the server's inputSchema of tool {name:?} {problem}, so no call of it can be checked"
                )));
            }
        };
        let problems: Vec<String> = validator
            .iter_errors(arguments)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() { "the arguments".to_string() } else { format!("argument {at:?}") };
                format!("{at} do(es) not match the tool's inputSchema: {e}")
            })
            .collect();
        (!problems.is_empty()).then_some(Unfit::Arguments(problems))
    }

    /// Every way `structured` breaks the tool's declared `outputSchema` (none if it declares none).
    pub fn output_problems(&self, name: &str, structured: &Value) -> Vec<String> {
        let Some(schemas) = self.tool(name).map(|t| self.tools.schemas(t)) else { return Vec::new() };
        let validator = match &schemas.output {
            None => return Vec::new(),
            Some(Err(problem)) => {
                return vec![format!(
                    "the tool's outputSchema {problem}, so its result cannot be held to it"
                )];
            }
            Some(Ok(v)) => v,
        };
        validator
            .iter_errors(structured)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                let at = if at.is_empty() {
                    "structuredContent".to_string()
                } else {
                    format!("structuredContent{at}")
                };
                format!("{at} does not match the tool's outputSchema: {e} (rule `{}`)", e.kind().keyword())
            })
            .collect()
    }

    /// Whether the tool declares an `outputSchema`.
    pub fn declares_output(&self, name: &str) -> bool {
        self.tool(name).is_some_and(Tool::declares_output)
    }

    /// A tool to call when the call itself is the test (malformed on purpose): one the server lists
    /// as only reading, so that a server that runs it anyway changes nothing, else one it does not
    /// list.
    pub fn harmless_tool(&self) -> &str {
        self.record.tools.iter().find(|t| self.read_only(t)).map_or("smoke-no-such-tool", String::as_str)
    }

    /// Whether the server lists tool `name` as one that only reads (`readOnlyHint: true`).
    pub fn read_only(&self, name: &str) -> bool {
        self.tool(name).is_some_and(Tool::read_only)
    }

    /// Call a tool once, within `timeout`.
    pub async fn call(&self, name: &str, arguments: Value, timeout: Duration) -> Result<Answer, CallError> {
        let arguments = match arguments {
            Value::Object(map) => Some(map),
            _ => None,
        };
        let mut params = CallToolRequestParams::new(name.to_string());
        params.arguments = arguments;
        match tokio::time::timeout(timeout, self.peer.call_tool(params)).await {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Ok(result)) => Ok(Answer::Result(serde_json::to_value(&result).unwrap_or(Value::Null))),
            Ok(Err(e)) => self.failed(e),
        }
    }

    /// Send another MCP request (`resources/list`, `prompts/get`...) once, within `timeout`: its
    /// result as JSON, or the JSON-RPC error.
    pub async fn request(&self, method: &str, params: Value, timeout: Duration) -> Result<Answer, CallError> {
        let request: rmcp::model::ClientRequest = serde_json::from_value(
            serde_json::json!({ "method": method, "params": params }),
        )
        .map_err(|e| CallError::Protocol(format!("{method} cannot be sent with these params: {e}")))?;
        match tokio::time::timeout(timeout, self.peer.send_request(request)).await {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Ok(result)) => Ok(Answer::Result(serde_json::to_value(&result).unwrap_or(Value::Null))),
            Ok(Err(e)) => self.failed(e),
        }
    }

    /// Send any request, `method` with `params` as they are (a method the SDK does not know,
    /// params a method does not take), once, within `timeout`.
    pub async fn custom(&self, method: &str, params: Value, timeout: Duration) -> Result<Answer, CallError> {
        let request =
            rmcp::model::ClientRequest::CustomRequest(rmcp::model::CustomRequest::new(method, Some(params)));
        match tokio::time::timeout(timeout, self.peer.send_request(request)).await {
            Err(_) => Err(CallError::Timeout(timeout)),
            Ok(Ok(result)) => Ok(Answer::Result(serde_json::to_value(&result).unwrap_or(Value::Null))),
            Ok(Err(e)) => self.failed(e),
        }
    }

    /// A call's error as an answer (a JSON-RPC error) or as why there was none.
    fn failed(&self, e: ServiceError) -> Result<Answer, CallError> {
        let not_mcp = || self.http_seen.as_ref().and_then(|s| s.failure()).map(CallError::NotMcp);
        match e {
            ServiceError::McpError(e) => {
                Ok(Answer::Error { code: i64::from(e.code.0), message: e.message.to_string(), data: e.data })
            }
            ServiceError::TransportClosed => match self.stdout_problem() {
                Some(p) => Err(CallError::Protocol(p)),
                None => Err(not_mcp().unwrap_or(CallError::Closed)),
            },
            ServiceError::Timeout { timeout } => Err(CallError::Timeout(timeout)),
            e @ ServiceError::TransportSend(_) => {
                Err(not_mcp().unwrap_or(CallError::Protocol(service_words(&e))))
            }
            e => Err(CallError::Protocol(service_words(&e))),
        }
    }

    /// What closed a stdio session, if the server printed something other than JSON-RPC.
    pub fn stdout_problem(&self) -> Option<String> {
        self.printed.lock().unwrap_or_else(|e| e.into_inner()).closed.clone()
    }

    /// What a stdio server printed that is not JSON-RPC and was dropped ([`Noise::Note`]): the
    /// first line, and how many more.
    pub fn stdout_noise(&self) -> Option<String> {
        let printed = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        printed.noted.as_ref().map(|(first, count)| match count {
            1 => first.clone(),
            n => format!("{first}, and {} more such line(s)", n - 1),
        })
    }

    /// End the session (for HTTP, the SDK deletes it on the server), within a bound.
    pub async fn close(&self) {
        if let Some(service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
        }
    }
}

/// Say once, when the session opens, which entries of the tool list are wrong: their calls fail
/// naming why, and every other tool is judged.
fn warn_of(tools: &Tools) {
    const SHOWN: usize = 20;
    let (problems, unnamed) = tools.problems();
    let mut more = unnamed;
    for (i, problem) in problems.enumerate() {
        match i < SHOWN {
            true => tracing::warn!("mcp: {}", crate::http::escape_line(problem)),
            false => more += 1,
        }
    }
    if more > 0 {
        tracing::warn!("mcp: and {more} more wrong tools/list entries (each call of one fails saying why)");
    }
}
