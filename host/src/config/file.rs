//! The config file's format: `smoke.toml` as serde reads it. Kebab-case keys; unknown keys are
//! errors (a typo must not be ignored); values checked after parsing keep their place in the
//! file (`Spanned`), so an error can name the line.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;
use toml::Spanned;

/// The file format. Kebab-case keys; unknown keys are errors (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct File {
    pub(super) target: Option<TargetFile>,
    #[serde(default)]
    pub(super) plugins: Vec<PluginFile>,
    #[serde(default)]
    pub(super) run: RunFile,
    #[serde(default)]
    pub(super) sandbox: SandboxFile,
    #[serde(default)]
    pub(super) checks: ChecksFile,
    #[serde(default)]
    pub(super) registry: RegistryFile,
    #[serde(default)]
    pub(super) tls: TlsFile,
    #[serde(default)]
    pub(super) agents: AgentsFile,
}

/// `[agents]`: what `smoke mcp-server`'s tools may do with this config's target.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct AgentsFile {
    /// Let an agent's runs write (seeds, POST, PUT, PATCH, DELETE, tool calls) to a target that
    /// is not on this machine; off by default.
    #[serde(default)]
    pub(super) allow_writes: bool,
}

/// `[tls]`: how to trust the target over `https://` (paths relative to the config file).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct TlsFile {
    /// PEM certificates to trust besides the platform's roots.
    pub(super) cacert: Option<Spanned<String>>,
    /// A client certificate (PEM) for mutual TLS, and its key.
    pub(super) cert: Option<Spanned<String>>,
    pub(super) key: Option<Spanned<String>>,
    /// Accept any certificate: for a test service with a self-signed one.
    #[serde(default)]
    pub(super) insecure: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RegistryFile {
    /// `HOST/PATH` that short plugin names (`ledger@0.1.0`) resolve under.
    pub(super) default: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) insecure: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct ChecksFile {
    #[serde(default)]
    pub(super) clean_git: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct HookFile {
    pub(super) command: Spanned<String>,
    #[serde(default)]
    pub(super) args: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    #[serde(default, with = "duration")]
    pub(super) timeout: Option<Duration>,
    #[serde(default)]
    pub(super) before_start: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct TargetFile {
    /// The HTTP service; optional when `mcp.command` starts the (stdio) server under test.
    #[serde(default)]
    pub(super) command: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) args: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) port: Option<Spanned<PortFile>>,
    #[serde(default)]
    pub(super) health: Option<Spanned<String>>,
    #[serde(default, with = "duration")]
    pub(super) startup_timeout: Option<Duration>,
    #[serde(default, with = "duration")]
    pub(super) stop_grace: Option<Duration>,
    #[serde(default)]
    pub(super) base_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) workdir: Option<Spanned<String>>,
    pub(super) reset: Option<HookFile>,
    pub(super) migrate: Option<HookFile>,
    pub(super) seed: Option<HookFile>,
    pub(super) mcp: Option<McpFile>,
}

/// `[target.mcp]`: the MCP server under test, over Streamable HTTP (`url`) or stdio (`command`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct McpFile {
    #[serde(default)]
    pub(super) url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub(super) command: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) args: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) env: BTreeMap<String, Spanned<String>>,
    /// Time limit of `initialize` and `tools/list`.
    #[serde(default, with = "duration")]
    pub(super) timeout: Option<Duration>,
    /// The protocol revision: `auto` (the default) or one revision.
    #[serde(default)]
    pub(super) protocol: Option<Spanned<String>>,
    /// The host's protocol checks beside the generic MCP plugin's scenarios (default true).
    #[serde(default)]
    pub(super) protocol_checks: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum PortFile {
    Fixed(u16),
    Word(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct PluginFile {
    /// A component file, or a registry reference (`oci://...`, `NAME@VERSION`).
    #[serde(alias = "ref")]
    pub(super) path: Spanned<String>,
    #[serde(default)]
    pub(super) config: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct RunFile {
    pub(super) jobs: Option<Spanned<usize>>,
    #[serde(default, with = "duration")]
    pub(super) request_timeout: Option<Duration>,
    pub(super) base_url: Option<Spanned<String>>,
    /// How many automatic run directories to keep (0: all).
    pub(super) keep_runs: Option<usize>,
    /// The largest response body read, e.g. "16MiB".
    #[serde(default, with = "size")]
    pub(super) max_body: Option<u64>,
    /// A file of scenarios added to the plugins' plan (relative to the config).
    pub(super) scenarios: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(super) struct SandboxFile {
    #[serde(default, with = "duration")]
    pub(super) call_timeout: Option<Duration>,
    pub(super) memory_mib: Option<u64>,
}

pub(super) mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map(Some).map_err(|e| {
            serde::de::Error::custom(format!("{text:?} is not a duration like \"30s\" or \"500ms\": {e}"))
        })
    }
}

pub(super) mod size {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_size(&text).map(Some).map_err(serde::de::Error::custom)
    }
}

/// A size that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a size above 0 like \"16MiB\", \"500KB\" or a number of bytes")]
pub struct SizeError(pub String);

/// A size such as `16MiB`, `500KB`, `1GiB` or `65536` (bytes).
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let factor: u64 = match unit.as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "kib" => 1 << 10,
        "mb" | "m" => 1_000_000,
        "mib" => 1 << 20,
        "gb" | "g" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => return Err(SizeError(text.to_string())),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|&n| n > 0)
        .ok_or_else(|| SizeError(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_errors_with_a_line() {
        let err = toml::from_str::<File>("[target]\ncommand = \"x\"\nprot = 3\n").unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("500 KB"), Ok(500_000));
        assert_eq!(parse_size("65536"), Ok(65536));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999GiB").is_err());
        let f: File = toml::from_str("[run]\nmax-body = \"1MiB\"\n").unwrap();
        assert_eq!(f.run.max_body, Some(1 << 20));
    }

    #[test]
    fn durations_are_human() {
        let f: File = toml::from_str("[sandbox]\ncall-timeout = \"250ms\"\n").unwrap();
        assert_eq!(f.sandbox.call_timeout, Some(Duration::from_millis(250)));
        assert!(toml::from_str::<File>("[sandbox]\ncall-timeout = \"soon\"\n").is_err());
    }
}
