//! The ledger's tools over the Model Context Protocol (rmcp's server side): the same rules, state
//! and fault switches as the HTTP API, over Streamable HTTP at `/mcp` (behind the same bearer
//! token) and over stdio (`ledger-api mcp --db FILE`).
//!
//! A rule the ledger enforces is a tool error (`isError: true`, with the error as structured
//! content, as the HTTP API's 4xx body); arguments that are not an object, or a tool that does not
//! exist, are JSON-RPC errors.

use crate::api::{self, App, ToolResult};
use example_support::ApiError;
use rmcp::ErrorData as McpError;
use rmcp::handler::server::ServerHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, DiscoverResult, Implementation,
    InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams, ProtocolVersion,
    ServerCapabilities, Tool, ToolAnnotations,
};
use rmcp::service::{RequestContext, RoleServer};
use serde_json::{Map, Value, json};
use std::sync::Arc;

#[derive(Clone)]
pub struct LedgerMcp {
    app: Arc<App>,
    /// The protocol revisions it speaks: every one rmcp knows, or only those `MCP_PROTOCOL`
    /// names (comma-separated), to stand for a server of one generation.
    revisions: Arc<Vec<ProtocolVersion>>,
}

impl LedgerMcp {
    pub fn new(app: Arc<App>) -> Self {
        let named = std::env::var("MCP_PROTOCOL").unwrap_or_default();
        let revisions: Vec<ProtocolVersion> = ProtocolVersion::KNOWN_VERSIONS
            .iter()
            .filter(|v| named.trim().is_empty() || named.split(',').any(|n| n.trim() == v.as_str()))
            .cloned()
            .collect();
        LedgerMcp { app, revisions: Arc::new(revisions) }
    }

    /// Whether it speaks a revision that begins with `server/discover`.
    fn discovers(&self) -> bool {
        self.revisions.iter().any(|v| !v.has_initialize())
    }
}

fn schema(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        _ => unreachable!("tool schemas are written as objects"),
    }
}

const DATE: &str = r"^\d{4}-\d{2}-\d{2}$";

/// A component schema of the ledger's OpenAPI document as a self-contained JSON Schema, which an
/// MCP output schema must be: references inlined, OpenAPI 3.0's `nullable` spelled as a null type,
/// and `type: object` at the top.
fn component(name: &str) -> Value {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
    });
    fn inline(value: &Value, schemas: &Value) -> Value {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    return inline(&schemas[name], schemas);
                }
                let mut out: Map<String, Value> = map
                    .iter()
                    .filter(|(k, _)| *k != "nullable")
                    .map(|(k, v)| (k.clone(), inline(v, schemas)))
                    .collect();
                if map.get("nullable") == Some(&Value::Bool(true))
                    && let Some(Value::String(kind)) = out.get("type").cloned()
                {
                    out.insert("type".into(), json!([kind, "null"]));
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| inline(i, schemas)).collect()),
            other => other.clone(),
        }
    }
    let schemas = &DOCUMENT["components"]["schemas"];
    let mut schema = inline(&schemas[name], schemas);
    if schema.get("type").is_none() {
        schema["type"] = json!("object");
    }
    schema
}

/// `{count, items: [NAME]}`, as the ledger lists things.
fn list_of(name: &str) -> Value {
    json!({
        "type": "object",
        "required": ["count", "items"],
        "properties": {"count": {"type": "integer", "minimum": 0}, "items": {"type": "array", "items": component(name)}},
    })
}

/// A tool whose successful results conform to `output` (its structured content).
fn outputs(mut tool: Tool, output: Value) -> Tool {
    tool.output_schema = Some(schema(output));
    tool
}

fn id_schema(name: &str, what: &str) -> Arc<JsonObject> {
    schema(json!({
        "type": "object",
        "properties": {name: {"type": "string", "description": what}},
        "required": [name],
        "additionalProperties": false,
    }))
}

/// Every tool the server lists, with its input schema.
pub fn tools() -> Vec<Tool> {
    let write = |read_only: bool, idempotent: bool| {
        ToolAnnotations::new().read_only(read_only).destructive(false).idempotent(idempotent)
    };
    vec![
        outputs(
            Tool::new(
                "record_transaction_bundle",
                "Record balanced double-entry postings (amounts in minor units; debits positive, credits \
             negative; they must sum to zero). Re-posting with the same idempotency key returns the \
             original transaction.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "idempotency_key": {"type": "string", "minLength": 1},
                        "date": {"type": "string", "pattern": DATE},
                        "description": {"type": "string"},
                        "postings": {
                            "type": "array",
                            "minItems": 2,
                            // A valid bundle, as a client would be shown one: a debit and the credit
                            // that balances it (ids from list_accounts).
                            "examples": [[
                                {"account_id": "ACCOUNT_ID", "amount_minor": 2500},
                                {"account_id": "ACCOUNT_ID", "amount_minor": -2500},
                            ]],
                            "items": {
                                "type": "object",
                                "properties": {
                                    "account_id": {"type": "string", "minLength": 1},
                                    "amount_minor": {"type": "integer"},
                                },
                                "required": ["account_id", "amount_minor"],
                            },
                        },
                    },
                    "required": ["idempotency_key", "date", "postings"],
                })),
            )
            .annotate(write(false, true)),
            component("RecordedTransaction"),
        ),
        outputs(
            Tool::new(
                "record_balance_snapshot",
                "Record an observed account balance on a date; the answer says how far it is from the \
             ledger's own balance.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "account_id": {"type": "string", "minLength": 1},
                        "date": {"type": "string", "pattern": DATE},
                        "balance_minor": {"type": "integer"},
                    },
                    "required": ["account_id", "date", "balance_minor"],
                })),
            )
            .annotate(write(false, false)),
            component("Snapshot"),
        ),
        outputs(
            Tool::new(
                "create_or_update_obligation",
                "Create an obligation (a bill to pay), or update the one with the same key.",
                schema(json!({
                    "type": "object",
                    "properties": {
                        "key": {"type": "string", "minLength": 1},
                        "name": {"type": "string", "minLength": 1},
                        "amount_minor": {"type": "integer", "minimum": 1},
                        "due_date": {"type": "string", "pattern": DATE},
                        "account_id": {"type": "string"},
                        "status": {"type": "string", "enum": ["open", "paid"]},
                    },
                    "required": ["key", "name", "amount_minor", "due_date"],
                })),
            )
            .annotate(write(false, true)),
            component("UpsertedObligation"),
        ),
        outputs(
            Tool::new(
                "list_accounts",
                "The chart of accounts, with each account's id, code and balance.",
                schema(json!({"type": "object", "properties": {}, "additionalProperties": false})),
            )
            .annotate(write(true, true)),
            list_of("Account"),
        ),
        outputs(
            Tool::new(
                "get_account",
                "An account with its balance.",
                id_schema("account_id", "the account's id"),
            )
            .annotate(write(true, true)),
            component("Account"),
        ),
        outputs(
            Tool::new(
                "list_account_transactions",
                "The transactions that post to an account.",
                id_schema("account_id", "the account's id"),
            )
            .annotate(write(true, true)),
            list_of("Transaction"),
        ),
        outputs(
            Tool::new(
                "list_account_snapshots",
                "The balance snapshots recorded for an account.",
                id_schema("account_id", "the account's id"),
            )
            .annotate(write(true, true)),
            list_of("Snapshot"),
        ),
        outputs(
            Tool::new(
                "get_transaction",
                "A transaction with its postings.",
                id_schema("transaction_id", "its id"),
            )
            .annotate(write(true, true)),
            component("Transaction"),
        ),
        outputs(
            Tool::new(
                "get_obligation",
                "An obligation by its key.",
                id_schema("key", "the obligation's key"),
            )
            .annotate(write(true, true)),
            component("Obligation"),
        ),
    ]
}

/// An id argument of a read tool.
fn id<'a>(arguments: &'a Map<String, Value>, name: &str) -> Result<&'a str, ApiError> {
    example_support::text(arguments, name)
}

/// Run a tool by name: `None` when there is no such tool.
async fn run(app: &App, name: &str, arguments: &Map<String, Value>) -> Option<ToolResult> {
    let read = |value: Result<Value, ApiError>| value.map(|v| (axum::http::StatusCode::OK, v));
    Some(match name {
        "record_transaction_bundle" => api::bundle(app, arguments),
        "record_balance_snapshot" => api::snapshot(app, arguments),
        "create_or_update_obligation" => api::obligation(app, arguments),
        "list_accounts" => read(api::read_accounts(app)),
        "get_account" => read(id(arguments, "account_id").and_then(|a| api::read_account(app, a))),
        "list_account_transactions" => {
            read(id(arguments, "account_id").and_then(|a| api::read_account_transactions(app, a)))
        }
        "list_account_snapshots" => {
            read(id(arguments, "account_id").and_then(|a| api::read_account_snapshots(app, a)))
        }
        "get_transaction" => {
            read(id(arguments, "transaction_id").and_then(|t| api::read_transaction(app, t)))
        }
        "get_obligation" => {
            api::maybe_hang(app).await;
            read(id(arguments, "key").and_then(|k| api::read_obligation(app, k)))
        }
        _ => return None,
    })
}

impl ServerHandler for LedgerMcp {
    fn get_info(&self) -> InitializeResult {
        let mut info = InitializeResult::new(ServerCapabilities::builder().enable_tools().build());
        info.server_info = Implementation::new("ledger-api", env!("CARGO_PKG_VERSION"));
        info.instructions = Some(
            "A double-entry ledger: record transaction bundles, balance snapshots and obligations, \
             and read back what was persisted. Amounts are integers in minor units."
                .into(),
        );
        info
    }

    fn supported_protocol_versions(&self) -> std::borrow::Cow<'static, [ProtocolVersion]> {
        std::borrow::Cow::Owned(self.revisions.to_vec())
    }

    /// A server of the initialize generation only does not know `server/discover`.
    async fn discover(&self, _context: RequestContext<RoleServer>) -> Result<DiscoverResult, McpError> {
        if !self.discovers() {
            return Err(McpError::method_not_found::<rmcp::model::DiscoverRequestMethod>());
        }
        Ok(DiscoverResult::from_server_info(self.revisions.to_vec(), self.get_info()))
    }

    /// The SDK hands on, as a custom request, any request it could not read: a method it does not
    /// know (-32601), or one of MCP's own methods with params that do not fit it, which is no
    /// unknown method but invalid params (-32602).
    async fn on_custom_request(
        &self,
        request: rmcp::model::CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CustomResult, McpError> {
        const OURS: &[&str] = &["tools/call", "tools/list", "ping", "server/discover", "initialize"];
        match OURS.contains(&request.method.as_str()) {
            true => {
                Err(McpError::invalid_params(format!("the params of {} do not fit it", request.method), None))
            }
            false => Err(McpError::new(rmcp::model::ErrorCode::METHOD_NOT_FOUND, request.method, None)),
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        let Some(outcome) = run(&self.app, &request.name, &arguments).await else {
            return Err(McpError::invalid_params(format!("no tool named {:?}", request.name), None));
        };
        let result = match outcome {
            Ok((_, value)) => CallToolResult::structured(value),
            Err(ApiError(status, code, message)) => CallToolResult::structured_error(
                json!({"error": code, "message": message, "status": status.as_u16()}),
            ),
        };
        Ok(result.into())
    }
}

/// The Streamable HTTP service mounted at `/mcp`: one session per client, in memory.
pub fn streamable_http(
    app: Arc<App>,
) -> rmcp::transport::streamable_http_server::StreamableHttpService<
    LedgerMcp,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
> {
    use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
    StreamableHttpService::new(
        move || Ok(LedgerMcp::new(app.clone())),
        Default::default(),
        // A page on another site must not reach this server through a browser (DNS rebinding):
        // a request from any Origin but a local one is refused with 403. The SDK checks none
        // unless told which to allow.
        StreamableHttpServerConfig::default().with_allowed_origins([
            "http://localhost:*",
            "http://127.0.0.1:*",
            "http://[::1]:*",
        ]),
    )
}

/// Serve MCP over stdin/stdout until the client closes stdin; logs go to stderr.
pub async fn serve_stdio(app: Arc<App>) -> Result<(), String> {
    use rmcp::ServiceExt;
    let running = LedgerMcp::new(app)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("cannot start the MCP session: {e}"))?;
    running.waiting().await.map_err(|e| format!("the MCP session ended with an error: {e}"))?;
    Ok(())
}
