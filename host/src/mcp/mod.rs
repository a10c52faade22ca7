//! MCP targets: one session with the server under test per run, over Streamable HTTP or over a
//! child process's stdin and stdout, through the official SDK (`rmcp`). The session lists the
//! server's tools once; each tool call is checked against that list (a tool the server does not
//! list, arguments its `inputSchema` refuses) before anything is sent, so a plan bug is never
//! reported as the server's failure.

use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
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
    pub name: Option<String>,
    pub version: Option<String>,
    /// The tools it lists, by name.
    pub tools: Vec<String>,
}

/// A tool as the server lists it, with its schemas compiled.
pub struct Tool {
    pub listed: Value,
    input: Option<Arc<jsonschema::Validator>>,
    /// Why its input schema could not be compiled, if it could not.
    input_problem: Option<String>,
    output: Option<Arc<jsonschema::Validator>>,
    /// Why its output schema could not be compiled, if it could not.
    output_problem: Option<String>,
}

/// Why a tool call cannot be sent as the plan wrote it.
pub enum Unfit {
    /// The server does not list the tool.
    UnknownTool(String),
    /// The server's own `inputSchema` is not a JSON Schema: its fault, not the plan's.
    BadInputSchema(String),
    /// The arguments break the tool's `inputSchema`: the plan's fault.
    Arguments(Vec<String>),
}

/// Most pages and tools read from `tools/list`: a server paging forever is cut off.
const MAX_TOOL_PAGES: usize = 100;
const MAX_TOOLS: usize = 10_000;

/// Every page of `tools/list`, bounded in pages and tools, stopping at a repeated cursor.
async fn list_tools(peer: &rmcp::Peer<RoleClient>) -> Result<Vec<rmcp::model::Tool>, String> {
    let mut tools = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..MAX_TOOL_PAGES {
        let params =
            cursor.clone().map(|c| rmcp::model::PaginatedRequestParams::default().with_cursor(Some(c)));
        let page = peer.list_tools(params).await.map_err(|e| e.to_string())?;
        tools.extend(page.tools);
        if tools.len() > MAX_TOOLS {
            return Err(format!("the server lists more than {MAX_TOOLS} tools"));
        }
        match page.next_cursor {
            Some(next) if seen.insert(next.clone()) => cursor = Some(next),
            Some(next) => {
                return Err(format!("the server repeats the page cursor {next:?}: its tool list never ends"));
            }
            None => return Ok(tools),
        }
    }
    Err(format!("the server's tool list goes on past {MAX_TOOL_PAGES} pages"))
}

/// Why no session could be had.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("MCP initialize with {endpoint} failed: {message}")]
    Initialize { endpoint: String, message: String },
    #[error("MCP initialize with {endpoint} got no answer within {} ms", timeout.as_millis())]
    Timeout { endpoint: String, timeout: Duration },
    #[error("MCP tools/list on {endpoint} failed: {message}")]
    ListTools { endpoint: String, message: String },
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
}

/// One MCP session: initialized, tools listed, ready for calls from every scenario at once.
pub struct Session {
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ClientConfig>>>,
    peer: rmcp::Peer<RoleClient>,
    pub record: ServerRecord,
    /// What the server said of itself and its tools, as JSON: the document a plugin reads with
    /// `mcp:server` (`protocolVersion`, `serverInfo`, `capabilities`, `instructions`, `tools`, and
    /// the first `resources` and `prompts` when it offers them, else null).
    pub description: Value,
    tools: BTreeMap<String, Tool>,
    /// Over stdio: what the server printed that is not JSON-RPC, which closed the session.
    stdout_problem: Arc<std::sync::Mutex<Option<String>>>,
}

fn record_version(info: &Option<Arc<rmcp::model::ServerPeerInfo>>) -> String {
    info.as_ref().map(|i| i.protocol_version.to_string()).unwrap_or_default()
}

/// How many resources and prompts the description lists (the first page, cut to this).
const LISTED: usize = 20;

/// The largest line a stdio server may print: one JSON-RPC message.
const MAX_LINE: usize = 16 << 20;

/// Copy a stdio server's stdout to the session line by line while every line is JSON; stop at
/// the first line that is not (or is longer than [`MAX_LINE`]), saying what it was.
async fn forward_json_lines(
    stdout: tokio::process::ChildStdout,
    mut to: tokio::io::DuplexStream,
    problem: Arc<std::sync::Mutex<Option<String>>>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::with_capacity(64 << 10, stdout);
    let mut line = Vec::new();
    loop {
        line.clear();
        let read = (&mut lines).take(MAX_LINE as u64 + 1).read_until(b'\n', &mut line).await;
        let found = match read {
            Ok(0) | Err(_) => return,
            Ok(_) if line.len() > MAX_LINE => Some(format!("a line longer than {} MiB", MAX_LINE >> 20)),
            Ok(_) => {
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                match serde_json::from_slice::<rmcp::model::ServerJsonRpcMessage>(text) {
                    Ok(_) => None,
                    Err(_) if text.iter().all(u8::is_ascii_whitespace) => None,
                    Err(_) => {
                        let shown: String = String::from_utf8_lossy(text).chars().take(120).collect();
                        Some(format!("{shown:?}"))
                    }
                }
            }
        };
        if let Some(what) = found {
            let message = format!(
                "the MCP server printed {what} on stdout, which is not JSON-RPC (a stdio server must print \
                 nothing else there: logs go to stderr); the session is closed"
            );
            tracing::warn!("mcp: {message}");
            *problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
            let _ = to.shutdown().await;
            return;
        }
        if to.write_all(&line).await.is_err() {
            return;
        }
    }
}

/// Why `initialize` failed, in words: the transport's own error (not the SDK's type names), and
/// what to do when the server wants credentials.
fn initialize_failure(e: &rmcp::service::ClientInitializeError) -> String {
    use rmcp::service::ClientInitializeError;
    let mut message = match e {
        ClientInitializeError::TransportError { error, .. } => {
            let mut text = error.error.to_string();
            let mut source = error.error.source();
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            text
        }
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

fn client_config() -> ClientConfig {
    ClientConfig::new(ClientCapabilities::default(), Implementation::new("smoke", env!("CARGO_PKG_VERSION")))
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
        let limit = usize::try_from(max_body).unwrap_or(usize::MAX);
        let config = StreamableHttpClientTransportConfig::with_uri(url.to_string())
            .max_concurrent_requests(jobs.max(1))
            .custom_headers(custom)
            .max_json_response_size(limit)
            .max_sse_event_size(limit);
        // A redirect would take the session, and its headers, to another origin: never followed.
        let client = crate::http::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConnectError::Config(format!("cannot build the HTTP client: {e}")))?;
        let transport = StreamableHttpClientTransport::with_client(client, config);
        Self::open(transport, endpoint, timeout, shown).await
    }

    /// Open a session over a child's stdout (what it says) and stdin (what it hears). Every line
    /// it prints must be a JSON-RPC message (the stdio transport allows nothing else on stdout):
    /// the first that is not closes the session, and every call from then on fails saying so.
    pub async fn stdio(
        command: &str,
        stdout: tokio::process::ChildStdout,
        stdin: tokio::process::ChildStdin,
        timeout: Duration,
    ) -> Result<Session, ConnectError> {
        let endpoint = Endpoint::Stdio { command: command.to_string() };
        let shown = endpoint.to_string();
        let problem: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
        let (reader, writer) = tokio::io::duplex(64 << 10);
        tokio::spawn(forward_json_lines(stdout, writer, problem.clone()));
        let mut session =
            Self::open((reader, stdin), endpoint, timeout, shown.clone()).await.map_err(|e| match problem
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                Some(p) => ConnectError::Initialize { endpoint: shown, message: p },
                None => e,
            })?;
        session.stdout_problem = problem;
        Ok(session)
    }

    async fn open<T, E, A>(
        transport: T,
        endpoint: Endpoint,
        timeout: Duration,
        shown: String,
    ) -> Result<Session, ConnectError>
    where
        T: rmcp::transport::IntoTransport<RoleClient, E, A>,
        E: std::error::Error + Send + Sync + 'static,
    {
        use rmcp::ServiceExt;
        let started = Instant::now();
        let service = match tokio::time::timeout(timeout, client_config().serve(transport)).await {
            Err(_) => return Err(ConnectError::Timeout { endpoint: shown, timeout }),
            Ok(Err(e)) => {
                return Err(ConnectError::Initialize { endpoint: shown, message: initialize_failure(&e) });
            }
            Ok(Ok(s)) => s,
        };
        let peer = service.peer().clone();
        let info = service.peer_info();
        let listed = match tokio::time::timeout(timeout, list_tools(&peer)).await {
            Err(_) => {
                return Err(ConnectError::ListTools {
                    endpoint: shown,
                    message: format!("no answer within {} ms", timeout.as_millis()),
                });
            }
            Ok(Err(message)) => return Err(ConnectError::ListTools { endpoint: shown, message }),
            Ok(Ok(tools)) => tools,
        };
        let mut tools = BTreeMap::new();
        for t in listed {
            let name = t.name.to_string();
            let input_schema = Value::Object((*t.input_schema).clone());
            let (input, input_problem) = match jsonschema::validator_for(&input_schema) {
                Ok(v) => (Some(Arc::new(v)), None),
                Err(e) => (None, Some(e.to_string())),
            };
            let (output, output_problem) = match &t.output_schema {
                None => (None, None),
                Some(schema) => match jsonschema::validator_for(&Value::Object((**schema).clone())) {
                    Ok(v) => (Some(Arc::new(v)), None),
                    Err(e) => (None, Some(e.to_string())),
                },
            };
            let listed = serde_json::to_value(&t).unwrap_or(Value::Null);
            tools.insert(name, Tool { listed, input, input_problem, output, output_problem });
        }
        let (transport, endpoint_text) = match &endpoint {
            Endpoint::Http { url, .. } => ("http", crate::http::shown_url(url)),
            Endpoint::Stdio { command } => ("stdio", command.clone()),
        };
        // The first page of resources and prompts, when the server offers them: what a plugin
        // may plan reads of (a failing list is left to the plugin's own scenario to catch).
        let capabilities = info.as_ref().map(|i| &i.capabilities);
        let mut resources = Value::Null;
        if capabilities.is_some_and(|c| c.resources.is_some())
            && let Ok(Ok(page)) = tokio::time::timeout(timeout, peer.list_resources(None)).await
        {
            let listed: Vec<Value> =
                page.resources.iter().take(LISTED).filter_map(|r| serde_json::to_value(r).ok()).collect();
            resources = Value::Array(listed);
        }
        let mut prompts = Value::Null;
        if capabilities.is_some_and(|c| c.prompts.is_some())
            && let Ok(Ok(page)) = tokio::time::timeout(timeout, peer.list_prompts(None)).await
        {
            let listed: Vec<Value> =
                page.prompts.iter().take(LISTED).filter_map(|p| serde_json::to_value(p).ok()).collect();
            prompts = Value::Array(listed);
        }
        let description = serde_json::json!({
            "protocolVersion": record_version(&info),
            "serverInfo": info.as_ref().and_then(|i| i.server_info.as_ref()),
            "capabilities": capabilities,
            "instructions": info.as_ref().and_then(|i| i.instructions.as_ref()),
            "tools": tools.values().map(|t| &t.listed).collect::<Vec<_>>(),
            "resources": resources,
            "prompts": prompts,
        });
        let record = ServerRecord {
            transport: transport.to_string(),
            endpoint: endpoint_text,
            protocol_version: record_version(&info),
            name: info.as_ref().and_then(|i| i.server_info.as_ref()).map(|s| s.name.clone()),
            version: info.as_ref().and_then(|i| i.server_info.as_ref()).map(|s| s.version.clone()),
            tools: tools.keys().cloned().collect(),
        };
        tracing::info!(
            "mcp: session with {shown} ({} {}, protocol {}), {} tool(s), ready after {} ms",
            record.name.as_deref().unwrap_or("unnamed server"),
            record.version.as_deref().unwrap_or(""),
            record.protocol_version,
            record.tools.len(),
            started.elapsed().as_millis()
        );
        Ok(Session {
            description,
            service: tokio::sync::Mutex::new(Some(service)),
            peer,
            record,
            tools,
            stdout_problem: Arc::default(),
        })
    }

    /// The tools the server listed, by name.
    pub fn tool(&self, name: &str) -> Option<&Tool> {
        self.tools.get(name)
    }

    /// Every way `arguments` break the tool's `inputSchema` (at most a few), or why the tool
    /// cannot be called: the plan's problem, never the server's.
    pub fn unfit(&self, name: &str, arguments: &Value) -> Option<Unfit> {
        let Some(tool) = self.tools.get(name) else {
            let mut listed: Vec<&str> = self.tools.keys().map(String::as_str).take(30).collect();
            if self.tools.len() > listed.len() {
                listed.push("…");
            }
            return Some(Unfit::UnknownTool(format!(
                "the server does not list a tool {name:?} (it lists {})",
                if listed.is_empty() { "none".to_string() } else { listed.join(", ") }
            )));
        };
        if let Some(problem) = &tool.input_problem {
            return Some(Unfit::BadInputSchema(format!(
                "the server's inputSchema of tool {name:?} is not a valid JSON Schema ({problem}), so no call of it \
                 can be checked"
            )));
        }
        let validator = tool.input.as_ref()?;
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
        if let Some(problem) = self.tools.get(name).and_then(|t| t.output_problem.as_ref()) {
            return vec![format!(
                "the tool's outputSchema is not a valid JSON Schema ({problem}), so its result cannot be held to it"
            )];
        }
        let Some(validator) = self.tools.get(name).and_then(|t| t.output.as_ref()) else { return Vec::new() };
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
        self.tools.get(name).is_some_and(|t| t.output.is_some() || t.output_problem.is_some())
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

    /// A call's error as an answer (a JSON-RPC error) or as why there was none.
    fn failed(&self, e: ServiceError) -> Result<Answer, CallError> {
        match e {
            ServiceError::McpError(e) => {
                Ok(Answer::Error { code: i64::from(e.code.0), message: e.message.to_string(), data: e.data })
            }
            ServiceError::TransportClosed => match self.stdout_problem() {
                Some(p) => Err(CallError::Protocol(p)),
                None => Err(CallError::Closed),
            },
            ServiceError::Timeout { timeout } => Err(CallError::Timeout(timeout)),
            e => Err(CallError::Protocol(e.to_string())),
        }
    }

    /// What closed a stdio session, if the server printed something other than JSON-RPC.
    pub fn stdout_problem(&self) -> Option<String> {
        self.stdout_problem.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// End the session (for HTTP, the SDK deletes it on the server), within a bound.
    pub async fn close(&self) {
        if let Some(service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), service.cancel()).await;
        }
    }
}
