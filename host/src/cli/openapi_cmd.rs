//! `smoke openapi diff`: an OpenAPI document against the version it replaces, through
//! [`crate::surface`], as `smoke mcp diff` holds a live MCP server to its record.

use super::options::OpenapiCommand;
use super::{Failure, exit};
use serde_json::Value;
use std::path::Path;

pub(super) fn run(command: OpenapiCommand) -> Result<i32, Failure> {
    match command {
        OpenapiCommand::Diff(args) => {
            let (old, new) = (read(&args.baseline)?, read(&args.document)?);
            let changes = crate::surface::in_api_words(crate::surface::diff(
                &crate::surface::of_openapi(&old),
                &crate::surface::of_openapi(&new),
            ));
            let said = format!(
                "openapi diff: {} against {}",
                crate::http::escape_line(&args.document.display().to_string()),
                crate::http::escape_line(&args.baseline.display().to_string())
            );
            super::mcp_cmd::tell(
                &changes,
                args.json.as_deref(),
                &said,
                "a description tells a client what to expect",
            )
        }
    }
}

/// An OpenAPI document from a file, JSON or YAML, within the parser's budget.
fn read(path: &Path) -> Result<Value, Failure> {
    let shown = path.display();
    let bytes = crate::files::read(path, crate::files::MAX_CONFIG_BYTES * 64, "an OpenAPI document")
        .map_err(|e| Failure::new(exit::USAGE, format!("openapi diff: {e}")))?;
    let doc = documents::parse(&bytes, documents::budget(bytes.len())).map_err(|e| {
        Failure::new(exit::USAGE, format!("openapi diff: {shown} is neither JSON nor YAML: {e}"))
    })?;
    if doc.get("paths").and_then(Value::as_object).is_none() {
        return Err(Failure::new(
            exit::USAGE,
            format!("openapi diff: {shown} has no `paths`: it is not an OpenAPI (or Swagger) document"),
        ));
    }
    Ok(doc)
}
