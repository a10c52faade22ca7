//! `smoke mcp-server`: smoke as an MCP server (rmcp's server side, over stdio) for coding agents.
//! Its tools describe the configured target (what is and is not tested, the rules its documents
//! state in prose that no scenario covers), plan, validate a plan or scenarios to add to it (every
//! error located by JSON pointer), run within limits, explain a failure with a reproduction, and
//! scaffold a plugin. docs/agents.md is the user's guide.
//!
//! Safe by construction: the server reaches only the targets the project's configs name (a tool
//! takes a config inside the project, never a URL), refuses a run that writes to a target off this
//! machine unless the config allows it (`[agents] allow-writes`), bounds every run by scenario
//! count and time, redacts the config's secrets in every result, and reads and writes no file
//! outside the project directory. Plans and verdicts come from `smoke plan` and `smoke run`
//! themselves, run as children ([`child`]), so they are the command line's exactly.

mod catalog;
mod check;
mod child;
mod explain;
mod guard;
mod lines;
mod prose;
mod tools;

pub(super) use check::pointed;

use super::{Failure, exit};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest, CustomResult,
    GetPromptRequestParams, GetPromptResponse, GetPromptResult, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, clap::Args)]
pub(super) struct ServeArgs {
    /// The project: the only directory the server reads and writes in (configs, scenario files,
    /// plugin projects, and its runs under .smoke/mcp-server/) [default: the current directory].
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// A config whose target the tools may test; repeat for several. The first is the one a tool
    /// naming none tests; a tool may name only these [default: smoke.toml in the project, if
    /// there is one].
    #[arg(long, value_name = "FILE")]
    config: Vec<PathBuf>,
    /// The most scenarios one `run` may select.
    #[arg(long, value_name = "N", default_value_t = 2000)]
    max_scenarios: usize,
    /// The longest one `run` may take; then it is stopped, with what finished reported.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    max_run_time: Duration,
    /// Log more on stderr (-v, -vv); stdout carries only the protocol.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

pub(super) async fn serve(args: ServeArgs) -> Result<i32, Failure> {
    let here = std::env::current_dir().map_err(|e| Failure::new(exit::USAGE, format!("mcp-server: {e}")))?;
    let dir = args.project.clone().unwrap_or(here);
    let dir = dir
        .canonicalize()
        .map_err(|e| Failure::new(exit::USAGE, format!("mcp-server: --project {}: {e}", dir.display())))?;
    let mut configs = Vec::new();
    for c in &args.config {
        let path = c
            .canonicalize()
            .map_err(|e| Failure::new(exit::USAGE, format!("mcp-server: --config {}: {e}", c.display())))?;
        if !path.starts_with(&dir) {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "mcp-server: --config {}: outside the project ({}); the server reads only inside it",
                    c.display(),
                    dir.display()
                ),
            ));
        }
        configs.push(path);
    }
    if configs.is_empty() && dir.join("smoke.toml").is_file() {
        configs.push(dir.join("smoke.toml"));
    }
    let project = child::Project::new(dir, configs, args.max_scenarios, args.max_run_time);
    tracing::info!("mcp-server: project {}", project.dir.display());
    let server = Server { project: std::sync::Arc::new(project) };
    let (transport, writer) = lines::relay(tokio::io::stdin(), tokio::io::stdout());
    let running = server
        .serve(transport)
        .await
        .map_err(|e| Failure::new(exit::USAGE, format!("mcp-server: the session did not begin: {e}")))?;
    // Ctrl-C or SIGTERM stops the runs in flight (each stops its service) before the server goes.
    let mut signals = super::Signals::listen();
    tokio::select! {
        _ = running.waiting() => {}
        code = super::next_signal(&mut signals) => {
            child::stop_all();
            return Ok(code);
        }
    }
    // Every answer written before the process ends.
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    Ok(exit::PASSED)
}

#[derive(Clone)]
struct Server {
    project: std::sync::Arc<child::Project>,
}

/// A value of one of rmcp's wire types, from the JSON MCP defines for it.
fn wire<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, McpError> {
    serde_json::from_value(value)
        .map_err(|e| McpError::internal_error(format!("smoke built a bad answer: {e}"), None))
}

impl ServerHandler for Server {
    fn get_info(&self) -> ServerConfig {
        let capabilities =
            ServerCapabilities::builder().enable_tools().enable_prompts().enable_resources().build();
        let mut info = ServerConfig::new(capabilities);
        info.server_info = serde_json::from_value(json!({
            "name": "smoke",
            "title": "smoke: smoke tests for HTTP APIs and MCP servers",
            "version": env!("CARGO_PKG_VERSION")
        }))
        .expect("an implementation");
        info.instructions = Some(
            "Call describe_target first; write business-rule scenarios into the project's scenario file; \
             validate_plan them; run; explain_failure what fails. smoke://docs/agents is the guide."
                .into(),
        );
        info
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        wire(json!({ "resultType": "complete", "tools": catalog::tools() }))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let name = request.name.as_ref();
        let Some(tool) = catalog::tools().into_iter().find(|t| t["name"] == name) else {
            return Err(McpError::invalid_params(format!("smoke has no tool {name:?}"), None));
        };
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        if let Some(problem) = tools::refused_arguments(&tool["inputSchema"], &arguments) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(format!("{name}: {problem}"))]).into());
        }
        // The configs' secrets, in every encoding, never reach the agent: not in a result, nor in
        // an error (which may quote a config or a child's words).
        let redactor = tools::redactor(&self.project, arguments.get("config").and_then(Value::as_str));
        // A cancelled call drops its work: a child smoke is stopped with what it started.
        let done = tokio::select! {
            done = tools::call(&self.project, name, &arguments) => done,
            () = context.ct.cancelled() => Err(child::ToolError("cancelled by the client".into())),
        };
        let result = match done {
            Ok(value) => CallToolResult::structured(tools::redacted(&redactor, value)),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(redactor.text(&format!("{name}: {e}")))]),
        };
        Ok(result.into())
    }

    /// A request rmcp could not read as its method's (the params are not the method's) reaches
    /// here as a custom one: it is invalid params (-32602), not an unknown method (-32601).
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, McpError> {
        const OURS: [&str; 10] = [
            "tools/call",
            "tools/list",
            "prompts/get",
            "prompts/list",
            "resources/read",
            "resources/list",
            "resources/templates/list",
            "ping",
            "initialize",
            "server/discover",
        ];
        if OURS.contains(&request.method.as_str()) {
            return Err(McpError::invalid_params(
                format!("the params of {} are not what the method takes", request.method),
                None,
            ));
        }
        Err(McpError::new(rmcp::model::ErrorCode::METHOD_NOT_FOUND, request.method, None))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        wire(json!({ "resultType": "complete", "prompts": catalog::prompts() }))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let arguments = request.arguments.unwrap_or_default();
        let argument = |key: &str| arguments.get(key).and_then(Value::as_str).map(str::to_string);
        let Some(text) = catalog::prompt_text(&request.name, argument) else {
            return Err(McpError::invalid_params(format!("smoke has no prompt {:?}", request.name), None));
        };
        let description = catalog::prompts()
            .into_iter()
            .find(|p| p["name"] == request.name.as_str())
            .map(|p| p["description"].clone());
        let result: GetPromptResult = wire(json!({
            "resultType": "complete",
            "description": description,
            "messages": [{"role": "user", "content": {"type": "text", "text": text}}]
        }))?;
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        wire(json!({ "resultType": "complete", "resources": tools::resources(&self.project) }))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        wire(json!({ "resultType": "complete", "resourceTemplates": [{
            "uriTemplate": "smoke://runs/{run}/report.json",
            "name": "report of run N",
            "description": "The JSON report of a run the `run` tool made (smoke://schemas/report)",
            "mimeType": "application/json"
        }]}))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let Some((mime, text)) = tools::read_resource(&self.project, &request.uri) else {
            return Err(McpError::resource_not_found(
                format!("smoke has no resource {:?}", request.uri),
                Some(json!({ "uri": request.uri })),
            ));
        };
        let result: ReadResourceResult = wire(json!({
            "resultType": "complete",
            "contents": [{"uri": request.uri, "mimeType": mime, "text": text}]
        }))?;
        Ok(result.into())
    }
}
