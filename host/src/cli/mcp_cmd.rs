//! `smoke mcp snapshot`: what an MCP server offers, recorded; `smoke mcp diff`: a live server
//! against that record, through [`crate::surface`]; `smoke mcp lint`: what it tells an agent,
//! through [`crate::mcp::lint`].

use super::options::{McpCommand, McpDiffArgs, McpServerArgs};
use super::{Failure, exit};
use crate::config::{self, Overrides};
use crate::surface::{Change, Severity};
use serde_json::Value;

use crate::surface::MCP_RECORD_FORMAT as FORMAT;

pub(super) async fn run(command: McpCommand) -> Result<i32, Failure> {
    match command {
        McpCommand::Snapshot(args) => {
            let live = describe(&args.server).await?;
            let mut record = serde_json::Map::new();
            record.insert("format".into(), Value::String(FORMAT.into()));
            record.extend(live.as_object().cloned().unwrap_or_default());
            let written = crate::files::write_atomically(&args.out, |out| {
                serde_json::to_writer_pretty(&mut *out, &record)?;
                out.write_all(b"\n")
            });
            written.map_err(|e| {
                Failure::new(exit::USAGE, format!("mcp snapshot: cannot write {}: {e}", args.out.display()))
            })?;
            let tools = live["tools"].as_array().map_or(0, Vec::len);
            crate::say!(
                "mcp snapshot: {} ({tools} tool(s)) recorded in {}",
                server_line(&live),
                args.out.display()
            );
            Ok(exit::PASSED)
        }
        McpCommand::Diff(args) => diff(&args).await,
        McpCommand::Lint(server) => {
            let live = describe(&server).await?;
            let found = crate::mcp::lint::lint(&live);
            for f in &found {
                let (at, what) = (crate::http::escape_line(&f.at), crate::http::escape_line(&f.what));
                crate::say!("LINT  {}  {at}: {what}", f.rule);
            }
            crate::say!("mcp lint: {}: {} finding(s)", server_line(&live), found.len());
            Ok(if found.is_empty() { exit::PASSED } else { exit::FAILED })
        }
    }
}

/// The server's name, version and revision, on one line.
fn server_line(description: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
    crate::http::escape_line(&format!(
        "{} {} (MCP {})",
        text(&description["serverInfo"]["name"]),
        text(&description["serverInfo"]["version"]),
        text(&description["protocolVersion"])
    ))
    .into_owned()
}

/// What the server says of itself, as `smoke plan` hands it to a plugin.
async fn describe(server: &McpServerArgs) -> Result<Value, Failure> {
    let mcp_command = super::options::mcp_command_words(server.mcp_command.as_deref())?;
    let o = Overrides {
        mcp_url: server.mcp_url.clone(),
        mcp_command,
        mcp_headers: server.mcp_headers.clone(),
        mcp_protocol: server.mcp_protocol.clone(),
        plan_only: true,
        no_plugins: true,
        ..Overrides::default()
    };
    let settings = config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))?;
    let given = (server.mcp_url.is_some(), server.mcp_command.is_some());
    let description = super::plan_cmd::describe_mcp_server(given, &settings).await?;
    serde_json::from_str(&description)
        .map_err(|e| Failure::new(exit::TARGET, format!("the MCP server's description is not JSON: {e}")))
}

async fn diff(args: &McpDiffArgs) -> Result<i32, Failure> {
    let shown = args.baseline.display();
    let text =
        crate::files::read_text(&args.baseline, crate::files::MAX_CONFIG_BYTES * 16, "an MCP surface record")
            .map_err(|e| Failure::new(exit::USAGE, format!("mcp diff: {e}")))?;
    let baseline: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::new(exit::USAGE, format!("mcp diff: {shown} is not JSON: {e}")))?;
    if baseline["format"] != FORMAT {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "mcp diff: {shown} is not a record of `smoke mcp snapshot` (its \"format\" is not {FORMAT:?}): make one \
                 with `smoke mcp snapshot --out {shown}` against the server as it should be"
            ),
        ));
    }
    let live = describe(&args.server).await?;
    let changes = crate::surface::diff(&crate::surface::of_mcp(&baseline), &crate::surface::of_mcp(&live));
    let said =
        format!("mcp diff: {} against {shown}, recorded from {}", server_line(&live), server_line(&baseline));
    tell(&changes, args.json.as_deref(), &said, "a description steers what an agent does")
}

/// Say every change after `said`, write them as JSON to `json` when given, and sum them up: exit
/// 1 when one is breaking. `why` says why a flagged change is worth reading.
pub(super) fn tell(
    changes: &[Change],
    json: Option<&std::path::Path>,
    said: &str,
    why: &str,
) -> Result<i32, Failure> {
    if let Some(path) = json {
        let written = crate::files::write_atomically(path, |out| {
            serde_json::to_writer_pretty(&mut *out, changes)?;
            out.write_all(b"\n")
        });
        written
            .map_err(|e| Failure::new(exit::USAGE, format!("diff: cannot write {}: {e}", path.display())))?;
    }
    let count = |s: Severity| changes.iter().filter(|c| c.severity == s).count();
    let breaking = count(Severity::Breaking);
    crate::say!("{said}");
    for Change { severity, at, what } in changes {
        let word = match severity {
            Severity::Breaking => "BREAKING",
            Severity::Flagged => "FLAGGED ",
            Severity::Additive => "ADDED   ",
        };
        crate::say!("{word}  {}: {}", crate::http::escape_line(at), crate::http::escape_line(what));
    }
    crate::say!(
        "{breaking} breaking, {} flagged (read them: {why}), {} additive change(s)",
        count(Severity::Flagged),
        count(Severity::Additive)
    );
    Ok(if breaking > 0 { exit::FAILED } else { exit::PASSED })
}
