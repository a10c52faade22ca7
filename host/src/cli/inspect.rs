//! `smoke inspect`: what a plugin is and what it declares, as text or JSON.

use super::options::InspectArgs;
use super::plugins::load_plugin_file;
use super::{Failure, exit};
use crate::plugin::contract;

pub(super) async fn inspect(args: InspectArgs) -> Result<i32, Failure> {
    // A bundled plugin's name, unless a file of that name is here.
    let bundled =
        args.plugin.to_str().filter(|n| crate::plugin::bundled::NAMES.contains(n) && !args.plugin.exists());
    let path = match bundled {
        Some(name) => {
            crate::plugin::bundled::file(name).map_err(|e| Failure::new(exit::PLUGIN, e.to_string()))?
        }
        None => args.plugin.clone(),
    };
    let plugin = load_plugin_file(&path).await?;
    let info = plugin.info();
    let kind = |k: &contract::ConfigKind| match k {
        contract::ConfigKind::Text => "text",
        contract::ConfigKind::Document => "document",
        contract::ConfigKind::Secret => "secret",
    };
    if args.json {
        let keys: Vec<serde_json::Value> = info
            .config
            .iter()
            .map(|k| {
                serde_json::json!({"name": k.name, "kind": kind(&k.kind), "required": k.required,
                    "default": k.default, "description": k.description})
            })
            .collect();
        let value = serde_json::json!({
            "name": info.name, "version": info.version, "domain": info.domain,
            "description": info.description, "wit": format!("smoke:plugin@{}", plugin.wit_version),
            "sha256": plugin.digest, "config": keys,
            "sensitive_fields": info.sensitive_fields, "sensitive_headers": info.sensitive_headers,
        });
        crate::say!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(exit::PASSED);
    }
    // Everything a plugin declares is its author's words: one line each, escaped.
    use crate::http::escape_line as line;
    crate::say!("name:        {}", line(&info.name));
    crate::say!("version:     {}", line(&info.version));
    crate::say!("domain:      {}", line(&info.domain));
    crate::say!("wit:         smoke:plugin@{}", plugin.wit_version);
    crate::say!("sha256:      {}", plugin.digest);
    if !info.description.is_empty() {
        crate::say!("description: {}", line(&info.description));
    }
    if info.config.is_empty() {
        crate::say!("config:      (none)");
    } else {
        crate::say!("config:");
        for k in &info.config {
            let default = k.default.as_ref().map(|d| format!(" [default: {}]", line(d))).unwrap_or_default();
            let required = if k.required { " (required)" } else { "" };
            crate::say!(
                "  {} ({}){required}{default}: {}",
                line(&k.name),
                kind(&k.kind),
                line(&k.description)
            );
        }
    }
    if !info.sensitive_fields.is_empty() {
        crate::say!("sensitive fields:  {}", line(&info.sensitive_fields.join(", ")));
    }
    if !info.sensitive_headers.is_empty() {
        crate::say!("sensitive headers: {}", line(&info.sensitive_headers.join(", ")));
    }
    Ok(exit::PASSED)
}
