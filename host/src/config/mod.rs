//! Step 1 of a run: `smoke.toml` (if any) + CLI flags + `${ENV:-default}` interpolation,
//! validated into one typed [`Settings`]. Errors name the file, the line and key, and the fix.

mod file;
mod interpolate;

pub use file::{SizeError, parse_size};
pub use interpolate::{InterpolationError, interpolate};

use crate::plugin::limits::Limits;
use file::{File, PortFile, TargetFile};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Read(#[from] crate::files::ReadError),
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {}{}: key `{key}`: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Key { path: PathBuf, line: Option<usize>, key: String, message: String },
    #[error("{0}")]
    Usage(String),
}

/// How the service under test gets its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// A free port chosen by the OS just before start.
    Auto,
    Fixed(u16),
}

/// A command run around the service: reset, migrate or seed.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `reset`, `migrate` or `seed`: the stage named in errors.
    pub name: &'static str,
    pub command: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Run before the service starts (else after it is healthy).
    pub before_start: bool,
}

/// Where the service and its commands run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workdir {
    /// The config file's directory.
    ConfigDir,
    /// A fresh temporary directory, removed after the run.
    Temp,
    /// This directory (relative paths resolve against the config file's directory).
    Path(PathBuf),
}

/// How to start the service under test. `{port}` in args, env values and the base URL is
/// replaced by the port; `PORT` is also set in its environment.
#[derive(Debug, Clone)]
pub struct Target {
    /// The HTTP service to start; `None` when the service under test is the MCP server
    /// `[target.mcp] command` starts.
    pub command: Option<String>,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub port: Port,
    pub health: String,
    pub startup_timeout: Duration,
    pub stop_grace: Duration,
    pub base_url: String,
    /// Where relative command paths resolve: the config file's directory.
    pub dir: PathBuf,
    pub workdir: Workdir,
    /// Reset, migrate and seed commands, in that order.
    pub hooks: Vec<Hook>,
}

/// The MCP server under test.
#[derive(Debug, Clone)]
pub struct Mcp {
    pub transport: McpTransport,
    /// Time limit of `initialize` and of `tools/list`.
    pub timeout: Duration,
    /// The protocol revision to speak (`--mcp-protocol`, `protocol`): `auto` by default.
    pub revision: crate::mcp::Revision,
    /// Whether the generic MCP plugin's plan gets the host's protocol checks (on unless
    /// `--no-protocol-checks` or `protocol_checks = false`).
    pub protocol_checks: bool,
    /// The record of the server's surface its plan compares the live one with (`--baseline`).
    pub baseline: Option<PathBuf>,
}

/// How smoke reaches the MCP server.
#[derive(Debug, Clone)]
pub enum McpTransport {
    /// Streamable HTTP at `url`: absolute, or a path under the base URL (`/mcp`).
    Http { url: String, headers: Vec<(String, String)> },
    /// smoke starts `command` (in the target's workdir, else the current directory) and speaks
    /// JSON-RPC over its stdin and stdout; its stderr goes to the service log.
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        /// Where a relative command path resolves.
        dir: PathBuf,
    },
}

impl Mcp {
    /// Default time limit of `initialize` and `tools/list`.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// One plugin to load, with its config.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    pub source: PluginSource,
    pub config: BTreeMap<String, String>,
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    File(PathBuf),
    /// A registry reference as written (`oci://HOST/REPO:TAG`, `NAME@VERSION`).
    Registry(String),
    /// A plugin built into this binary, by name (`openapi`, `mcp`).
    Bundled(String),
}

impl PluginSource {
    /// A registry reference, else a bundled plugin's name (unless a file of that name is there),
    /// else a file.
    fn of(text: &str, dir: &Path) -> PluginSource {
        if crate::registry::is_remote(text) {
            PluginSource::Registry(text.to_string())
        } else if crate::plugin::bundled::NAMES.contains(&text) && !dir.join(text).exists() {
            PluginSource::Bundled(text.to_string())
        } else {
            PluginSource::File(dir.join(text))
        }
    }
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::File(p) => write!(f, "{}", p.display()),
            PluginSource::Registry(r) => f.write_str(r),
            PluginSource::Bundled(name) => write!(f, "{name} (bundled)"),
        }
    }
}

/// Registry settings: `[registry]` in smoke.toml, `SMOKE_REGISTRY`, `--locked`, `--offline`,
/// `--insecure`, and the lockfile beside the config file: the registry's own options.
pub use crate::registry::Options as RegistrySettings;

/// Everything a run needs to know, merged and validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    /// Where relative paths in config values (documents) resolve.
    pub base_dir: PathBuf,
    pub plugins: Vec<PluginSpec>,
    pub registry: RegistrySettings,
    pub target: Option<Target>,
    /// A running service to use; when set, nothing is started.
    pub base_url: Option<String>,
    /// The MCP server under test, if any.
    pub mcp: Option<Mcp>,
    pub jobs: usize,
    pub request_timeout: Duration,
    /// The largest response body read; a larger one fails its step.
    pub max_body: u64,
    pub limits: Limits,
    /// Fail the run if it leaves the surrounding git checkout with changes.
    pub clean_git: bool,
    /// Automatic run directories kept under the state directory (0: all).
    pub keep_runs: usize,
    /// TLS to the target: extra CAs, a client certificate, or no verification.
    pub tls: crate::http::TlsOptions,
    /// Every value the environment gave to a `${...}` of the config: secrets, redacted wherever
    /// they would appear (a password in `[target] args` included).
    pub secrets: Vec<String>,
    /// `--keep-data`: each plugin that reads a `keep_data` config key gets `true`.
    pub keep_data: bool,
    /// What `smoke dev` hands its runner component (never set otherwise).
    pub dev: Option<crate::plugin::DevGrant>,
    /// `[run] scenarios`: a file of scenarios added to the plugins' plan, resolved against the
    /// config's folder.
    pub scenarios: Option<PathBuf>,
    /// `[agents] allow-writes`: `smoke mcp-server` may run scenarios that write against a target
    /// off this machine.
    pub allow_writes: bool,
}

/// What the command line says, before merging with the file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    /// `--plugin` values, in order.
    pub plugins: Vec<String>,
    /// `--plugin-config` values with the index of the `--plugin` they follow (None: before any).
    pub plugin_config: Vec<(Option<usize>, String)>,
    pub base_url: Option<String>,
    /// `--mcp-url`, `--mcp-command` (split as a shell would), `--mcp-header`.
    pub mcp_url: Option<String>,
    pub mcp_command: Option<Vec<String>>,
    pub mcp_headers: Vec<String>,
    /// `--mcp-protocol`.
    pub mcp_protocol: Option<String>,
    /// `--no-protocol-checks`.
    pub no_protocol_checks: bool,
    /// `--baseline`.
    pub mcp_baseline: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub request_timeout: Option<Duration>,
    pub max_body: Option<u64>,
    pub plugin_timeout: Option<Duration>,
    pub plugin_memory_mib: Option<u64>,
    /// Planning only (`smoke plan`): no service is needed.
    pub plan_only: bool,
    /// The plan comes from a file (`--plan`): plugins are optional.
    pub plan_file: bool,
    /// No plugin is needed (`smoke mcp` only talks to the MCP server).
    pub no_plugins: bool,
    /// `--keep-data`: each plugin that reads a `keep_data` config key gets `true`.
    pub keep_data: bool,
    /// `smoke dev`'s grant to its runner (hidden flags `--dev-project`, `--dev-bundle`).
    pub dev: Option<crate::plugin::DevGrant>,
    /// `smoke dev`: the one `--plugin` takes the config's one plugin's settings.
    pub dev_config_plugin: bool,
    /// `--locked`, `--offline`, `--insecure` for registry plugins.
    pub locked: bool,
    pub offline: bool,
    pub insecure: bool,
    /// `--cacert`, `--cert`, `--key`, `--insecure-target`.
    pub cacert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub insecure_target: bool,
}

pub const DEFAULT_CONFIG: &str = "smoke.toml";

/// Run directories kept by default: enough to compare a week of CI runs, bounded on disk.
pub const DEFAULT_KEEP_RUNS: usize = 50;

/// Where the config's values come from: the file and its text, to name the line of a bad value;
/// and what the environment gave to its `${...}`, which are secrets.
struct Source {
    path: PathBuf,
    text: Option<String>,
    from_env: std::cell::RefCell<Vec<String>>,
}

impl Source {
    fn line(&self, span: &Range<usize>) -> Option<usize> {
        let text = self.text.as_ref()?;
        Some(text.get(..span.start)?.matches('\n').count() + 1)
    }

    fn error(&self, span: Option<&Range<usize>>, key: &str, message: impl std::fmt::Display) -> ConfigError {
        ConfigError::Key {
            path: self.path.clone(),
            line: span.and_then(|s| self.line(s)),
            key: key.to_string(),
            message: message.to_string(),
        }
    }

    /// A value with `${...}` expanded; an error names its line and key.
    fn expand(&self, value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
        interpolate(value.get_ref(), &mut self.from_env.borrow_mut())
            .map_err(|e| self.error(Some(&value.span()), key, e))
    }

    fn expand_all(&self, values: &[Spanned<String>], key: &str) -> Result<Vec<String>, ConfigError> {
        values.iter().enumerate().map(|(i, v)| self.expand(v, &format!("{key}[{i}]"))).collect()
    }

    fn expand_map(
        &self,
        values: &BTreeMap<String, Spanned<String>>,
        key: &str,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        values.iter().map(|(k, v)| Ok((k.clone(), self.expand(v, &format!("{key}.{k}"))?))).collect()
    }
}

/// Load the config file (explicit, or `./smoke.toml` when it exists) and merge the overrides.
pub fn load(o: &Overrides) -> Result<Settings, ConfigError> {
    let path = match &o.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.is_file()),
    };
    let (file, dir, text) = match &path {
        Some(p) => {
            let text = crate::files::read_text(p, crate::files::MAX_CONFIG_BYTES, "a config file")?;
            let file: File = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: p.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
            let dir =
                p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
            (file, dir, Some(text))
        }
        None => (File::default(), PathBuf::from("."), None),
    };
    let source = Source {
        path: path.clone().unwrap_or_else(|| PathBuf::from("(command line)")),
        text,
        from_env: Default::default(),
    };
    let plugins = plugins(o, &file, &source, &dir)?;
    let scenarios = file.run.scenarios.as_ref().map(|p| dir.join(p));
    let target = match &file.target {
        None => None,
        Some(t) => Some(target(t, &source, &dir)?),
    };
    let base_url = match (&o.base_url, &file.run.base_url) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(u)) => Some(source.expand(u, "run.base-url")?),
        (None, None) => None,
    };
    let mcp = mcp(o, &file, &source, &dir)?;
    something_to_test(o, &source, path.as_deref(), &plugins, &target, &base_url, &mcp)?;
    let jobs = match (o.jobs, &file.run.jobs) {
        (Some(0), _) => return Err(ConfigError::Usage("--jobs must be at least 1".into())),
        (Some(n), _) => n,
        (None, Some(n)) if *n.get_ref() == 0 => {
            return Err(source.error(Some(&n.span()), "run.jobs", "must be at least 1"));
        }
        (None, Some(n)) => *n.get_ref(),
        (None, None) => 8,
    };
    let defaults = Limits::default();
    let timeout = o.plugin_timeout.or(file.sandbox.call_timeout);
    let memory_mib = o.plugin_memory_mib.or(file.sandbox.memory_mib);
    // A limit of nothing is a mistake, not a limit: say so rather than fail obscurely later.
    if memory_mib == Some(0) {
        return Err(ConfigError::Usage(
            "the plugin memory limit (--plugin-memory-mib, sandbox.memory-mib) must be at least 1 MiB".into(),
        ));
    }
    if timeout.is_some_and(|t| t.is_zero()) {
        return Err(ConfigError::Usage(
            "the plugin call timeout (--plugin-timeout, sandbox.call-timeout) must be more than 0".into(),
        ));
    }
    if o.request_timeout.or(file.run.request_timeout).is_some_and(|t| t.is_zero()) {
        return Err(ConfigError::Usage(
            "the request timeout (--request-timeout, run.request-timeout) must be more than 0".into(),
        ));
    }
    let limits = Limits {
        call_timeout: timeout.unwrap_or(defaults.call_timeout),
        memory_bytes: memory_mib.map_or(defaults.memory_bytes, |mib| (mib as usize).saturating_mul(1 << 20)),
        timeout_pinned: timeout.is_some(),
        memory_pinned: memory_mib.is_some(),
    };
    let default_registry = match std::env::var("SMOKE_REGISTRY") {
        Ok(r) if !r.is_empty() => Some(r),
        _ => match &file.registry.default {
            Some(d) => Some(source.expand(d, "registry.default")?),
            None => None,
        },
    };
    let registry = RegistrySettings {
        default: default_registry,
        insecure: file.registry.insecure || o.insecure,
        locked: o.locked,
        offline: o.offline,
        lockfile: dir.join(crate::registry::lock::FILE_NAME),
    };
    let tls = tls(o, &file.tls, &source, &dir)?;
    Ok(Settings {
        config_file: path,
        base_dir: dir,
        plugins,
        registry,
        target,
        base_url,
        mcp,
        jobs,
        request_timeout: o.request_timeout.or(file.run.request_timeout).unwrap_or(Duration::from_secs(30)),
        max_body: o.max_body.or(file.run.max_body).unwrap_or(crate::http::DEFAULT_MAX_BODY),
        limits,
        clean_git: file.checks.clean_git,
        keep_runs: file.run.keep_runs.unwrap_or(DEFAULT_KEEP_RUNS),
        tls,
        secrets: source.from_env.into_inner(),
        keep_data: o.keep_data,
        dev: o.dev.clone(),
        scenarios,
        allow_writes: file.agents.allow_writes,
    })
}

/// TLS to the target: the command line's files, else the config's (relative to its folder), read
/// here, bounded, so that a bad one is a config error naming it.
fn tls(
    o: &Overrides,
    file: &file::TlsFile,
    source: &Source,
    dir: &Path,
) -> Result<crate::http::TlsOptions, ConfigError> {
    let pick = |flag: &Option<PathBuf>,
                key: &Option<Spanned<String>>,
                name: &str|
     -> Result<Option<PathBuf>, ConfigError> {
        Ok(match (flag, key) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(k)) => Some(dir.join(source.expand(k, &format!("tls.{name}"))?)),
            (None, None) => None,
        })
    };
    let read = |path: PathBuf| -> Result<crate::http::Named, ConfigError> {
        let bytes = crate::files::read(&path, crate::files::MAX_PEM_BYTES, "a certificate or key")?;
        Ok(crate::http::Named { shown: path.display().to_string(), bytes })
    };
    let cacert = pick(&o.cacert, &file.cacert, "cacert")?.map(read).transpose()?;
    let identity = match (pick(&o.cert, &file.cert, "cert")?, pick(&o.key, &file.key, "key")?) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Usage(
                "a client certificate needs both --cert FILE and --key FILE (or tls.cert and tls.key)".into(),
            ));
        }
    };
    Ok(crate::http::TlsOptions { cacert, identity, insecure: o.insecure_target || file.insecure })
}

/// Refuse settings that name nothing to test, or a target that cannot be started or reached:
/// a [target] without a command (unless an MCP server over stdio is the service), no plugin and
/// no plan, no service at all, an MCP url that is a path with no base URL to put it under.
fn something_to_test(
    o: &Overrides,
    source: &Source,
    path: Option<&Path>,
    plugins: &[PluginSpec],
    target: &Option<Target>,
    base_url: &Option<String>,
    mcp: &Option<Mcp>,
) -> Result<(), ConfigError> {
    if let (Some(t), Some(Mcp { transport: McpTransport::Http { .. }, .. })) = (target, mcp)
        && t.command.is_none()
    {
        return Err(source.error(
            None,
            "target.command",
            "[target] has no command to start the service that serves the MCP url; add `command`, or \
             start the MCP server over stdio with [target.mcp] command",
        ));
    }
    if let Some(t) = target
        && t.command.is_none()
        && !matches!(mcp, Some(Mcp { transport: McpTransport::Stdio { .. }, .. }))
    {
        return Err(source.error(
            None,
            "target.command",
            "[target] needs `command` (how to start the service), or a [target.mcp] table with a `command` \
             when the service under test is an MCP server over stdio",
        ));
    }
    if plugins.is_empty() && !o.plan_file && !o.no_plugins {
        return Err(ConfigError::Usage(match path {
            Some(p) => format!(
                "config {}: no plugins: add a [[plugins]] table or pass --plugin FILE.wasm",
                p.display()
            ),
            None => "no plugin given: pass --plugin FILE.wasm, or --config FILE with a [[plugins]] table \
                     (no ./smoke.toml here)"
                .to_string(),
        }));
    }
    if base_url.is_none() && target.is_none() && mcp.is_none() && !o.plan_only {
        return Err(ConfigError::Usage(
            "nothing to test: pass --base-url URL for a running service, --mcp-url URL or --mcp-command \
             COMMAND for an MCP server, or a config with a [target] table that says how to start it"
                .into(),
        ));
    }
    if let Some(Mcp { transport: McpTransport::Http { url, .. }, .. }) = mcp
        && url.starts_with('/')
        && base_url.is_none()
        && target.is_none()
    {
        return Err(ConfigError::Usage(format!(
            "the MCP url {url:?} is a path, but there is no base URL to put it under: pass --base-url, or \
             give the MCP url whole (http://host:port{url})"
        )));
    }
    Ok(())
}

/// The plugins: the command line's `--plugin`s replace the file's list; each `--plugin-config`
/// configures the plugin given before it (or the only one).
fn plugins(o: &Overrides, file: &File, source: &Source, dir: &Path) -> Result<Vec<PluginSpec>, ConfigError> {
    let mut plugins = Vec::new();
    if o.plugins.is_empty() {
        for (i, p) in file.plugins.iter().enumerate() {
            let config = source.expand_map(&p.config, &format!("plugins[{i}].config"))?;
            let at = source.expand(&p.path, &format!("plugins[{i}].path"))?;
            plugins.push(PluginSpec { source: PluginSource::of(&at, dir), config });
        }
    } else {
        // `smoke dev` runs the project's plugin in the place of the config's one plugin, with its
        // settings.
        let inherited = match (&file.plugins[..], &o.plugins[..]) {
            ([only], [_]) if o.dev_config_plugin => source.expand_map(&only.config, "plugins[0].config")?,
            _ => BTreeMap::new(),
        };
        for p in &o.plugins {
            plugins
                .push(PluginSpec { source: PluginSource::of(p, Path::new("")), config: inherited.clone() });
        }
    }
    for (after, kv) in &o.plugin_config {
        let Some((key, value)) = kv.split_once('=') else {
            return Err(ConfigError::Usage(format!(
                "--plugin-config {kv:?}: expected KEY=VALUE, e.g. --plugin-config spec=openapi.yaml"
            )));
        };
        let index = match after {
            Some(i) => *i,
            None if plugins.len() == 1 => 0,
            None => {
                return Err(ConfigError::Usage(format!(
                    "--plugin-config {kv}: put it after the --plugin it configures ({} plugins are given)",
                    plugins.len()
                )));
            }
        };
        let plugin = plugins.get_mut(index).ok_or_else(|| {
            ConfigError::Usage(format!("--plugin-config {kv}: no plugin to configure; give --plugin first"))
        })?;
        plugin.config.insert(key.trim().to_string(), value.to_string());
    }
    Ok(plugins)
}

/// The MCP server: `--mcp-url` / `--mcp-command` replace the file's `[target.mcp]`.
fn mcp(o: &Overrides, file: &File, source: &Source, dir: &Path) -> Result<Option<Mcp>, ConfigError> {
    let headers_from_flags = || -> Result<Vec<(String, String)>, ConfigError> {
        o.mcp_headers
            .iter()
            .map(|h| match h.split_once(':') {
                Some((name, value)) if !name.trim().is_empty() => {
                    Ok((name.trim().to_string(), value.trim().to_string()))
                }
                _ => Err(ConfigError::Usage(format!(
                    "--mcp-header {h:?}: expected \"Name: value\", e.g. --mcp-header \"Authorization: Bearer TOKEN\""
                ))),
            })
            .collect()
    };
    let file_mcp = file.target.as_ref().and_then(|t| t.mcp.as_ref());
    let timeout = file_mcp.and_then(|m| m.timeout).unwrap_or(Mcp::DEFAULT_TIMEOUT);
    let revision = match (&o.mcp_protocol, file_mcp.and_then(|m| m.protocol.as_ref())) {
        (Some(given), _) => given.parse().map_err(|e| ConfigError::Usage(format!("--mcp-protocol: {e}")))?,
        (None, Some(given)) => {
            given.as_ref().parse().map_err(|e| source.error(Some(&given.span()), "target.mcp.protocol", e))?
        }
        (None, None) => crate::mcp::Revision::Auto,
    };
    let protocol_checks = !o.no_protocol_checks && file_mcp.and_then(|m| m.protocol_checks).unwrap_or(true);
    let baseline = o.mcp_baseline.clone();
    if baseline.is_some() && o.mcp_url.is_none() && o.mcp_command.is_none() && file_mcp.is_none() {
        return Err(ConfigError::Usage(
            "--baseline compares an MCP server with its record: add --mcp-url or --mcp-command".into(),
        ));
    }
    if o.mcp_protocol.is_some() && o.mcp_url.is_none() && o.mcp_command.is_none() && file_mcp.is_none() {
        return Err(ConfigError::Usage(
            "--mcp-protocol needs an MCP server: add --mcp-url or --mcp-command".into(),
        ));
    }
    if let Some(url) = &o.mcp_url {
        let mut headers = match file_mcp {
            Some(m) if m.url.is_some() => {
                source.expand_map(&m.headers, "target.mcp.headers")?.into_iter().collect::<Vec<_>>()
            }
            _ => Vec::new(),
        };
        headers.extend(headers_from_flags()?);
        return Ok(Some(Mcp {
            transport: McpTransport::Http { url: url.clone(), headers },
            timeout,
            revision,
            protocol_checks,
            baseline: baseline.clone(),
        }));
    }
    if let Some(words) = &o.mcp_command {
        if !o.mcp_headers.is_empty() {
            return Err(ConfigError::Usage(
                "--mcp-header is sent over HTTP; an MCP server over stdio (--mcp-command) gets none: pass its \
                 credentials in its environment or arguments"
                    .into(),
            ));
        }
        let Some((command, args)) = words.split_first() else {
            return Err(ConfigError::Usage(
                "--mcp-command is empty: give the command that runs the MCP server".into(),
            ));
        };
        let transport = McpTransport::Stdio {
            command: command.clone(),
            args: args.to_vec(),
            env: BTreeMap::new(),
            dir: PathBuf::from("."),
        };
        return Ok(Some(Mcp { transport, timeout, revision, protocol_checks, baseline }));
    }
    let Some(m) = file_mcp else {
        if !o.mcp_headers.is_empty() {
            return Err(ConfigError::Usage(
                "--mcp-header needs an MCP server over HTTP: add --mcp-url".into(),
            ));
        }
        return Ok(None);
    };
    let transport = match (&m.url, &m.command) {
        (Some(url), None) => {
            let mut headers: Vec<(String, String)> =
                source.expand_map(&m.headers, "target.mcp.headers")?.into_iter().collect();
            headers.extend(headers_from_flags()?);
            McpTransport::Http { url: source.expand(url, "target.mcp.url")?, headers }
        }
        (None, Some(command)) => {
            if !m.headers.is_empty() || !o.mcp_headers.is_empty() {
                return Err(source.error(
                    None,
                    "target.mcp.headers",
                    "headers are sent over HTTP; a server over stdio (`command`) gets none",
                ));
            }
            McpTransport::Stdio {
                command: source.expand(command, "target.mcp.command")?,
                args: source.expand_all(&m.args, "target.mcp.args")?,
                env: source.expand_map(&m.env, "target.mcp.env")?,
                dir: dir.to_path_buf(),
            }
        }
        (Some(url), Some(_)) => {
            return Err(source.error(
                Some(&url.span()),
                "target.mcp",
                "give either `url` (Streamable HTTP) or `command` (stdio), not both",
            ));
        }
        (None, None) => {
            return Err(source.error(
                None,
                "target.mcp",
                "say where the MCP server is: `url` (Streamable HTTP, e.g. \"/mcp\") or `command` (stdio)",
            ));
        }
    };
    Ok(Some(Mcp { transport, timeout, revision, protocol_checks, baseline }))
}

/// The `[target]` table: how to start the service, and the commands around it.
fn target(t: &TargetFile, source: &Source, dir: &Path) -> Result<Target, ConfigError> {
    let port = match &t.port {
        None => Port::Auto,
        Some(p) => match p.get_ref() {
            PortFile::Fixed(n) => Port::Fixed(*n),
            PortFile::Word(w) if w == "auto" => Port::Auto,
            PortFile::Word(w) => {
                return Err(source.error(
                    Some(&p.span()),
                    "target.port",
                    format!("{w:?} is not a port; use a number or \"auto\""),
                ));
            }
        },
    };
    let health = match &t.health {
        None => "/health".to_string(),
        Some(h) => {
            let health = source.expand(h, "target.health")?;
            if !health.starts_with('/') {
                return Err(source.error(
                    Some(&h.span()),
                    "target.health",
                    format!("{health:?} must be a path starting with '/', e.g. \"/health\""),
                ));
            }
            health
        }
    };
    let mut hooks = Vec::new();
    for (name, hook) in [("reset", &t.reset), ("migrate", &t.migrate), ("seed", &t.seed)] {
        let Some(h) = hook else { continue };
        let key = |k: &str| format!("target.{name}.{k}");
        hooks.push(Hook {
            name,
            command: source.expand(&h.command, &key("command"))?,
            args: source.expand_all(&h.args, &key("args"))?,
            env: source.expand_map(&h.env, &key("env"))?,
            timeout: h.timeout.unwrap_or(Duration::from_secs(60)),
            before_start: h.before_start,
        });
    }
    let workdir = match &t.workdir {
        None => Workdir::ConfigDir,
        Some(w) if w.get_ref() == "temp" => Workdir::Temp,
        Some(w) => Workdir::Path(dir.join(source.expand(w, "target.workdir")?)),
    };
    let base_url = match &t.base_url {
        None => "http://127.0.0.1:{port}".to_string(),
        Some(u) => source.expand(u, "target.base-url")?,
    };
    Ok(Target {
        command: t.command.as_ref().map(|c| source.expand(c, "target.command")).transpose()?,
        args: source.expand_all(&t.args, "target.args")?,
        env: source.expand_map(&t.env, "target.env")?,
        port,
        health,
        startup_timeout: t.startup_timeout.unwrap_or(Duration::from_secs(30)),
        stop_grace: t.stop_grace.unwrap_or(Duration::from_secs(5)),
        base_url,
        dir: dir.to_path_buf(),
        workdir,
        hooks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smoke.toml");
        std::fs::write(&path, text).unwrap();
        load(&Overrides { config: Some(path), plan_only: true, ..Overrides::default() })
    }

    #[test]
    fn errors_found_after_parsing_name_the_line() {
        let base = "[[plugins]]\npath = \"p.wasm\"\n\n[target]\ncommand = \"x\"\n";
        let err = load_text(&format!("{base}port = \"eighty\"\n")).unwrap_err().to_string();
        assert!(
            err.ends_with(":6: key `target.port`: \"eighty\" is not a port; use a number or \"auto\""),
            "{err}"
        );
        let err = load_text(&format!("{base}health = \"health\"\n")).unwrap_err().to_string();
        assert!(err.contains(":6: key `target.health`"), "{err}");
        let err =
            load_text(&format!("{base}args = [\"ok\",\n  \"${{SMOKE_TEST_SURELY_UNSET}}\"]\n")).unwrap_err();
        assert!(err.to_string().contains(":7: key `target.args[1]`: environment variable"), "{err}");
        let err = load_text("[run]\njobs = 0\n\n[[plugins]]\npath = \"p.wasm\"\n").unwrap_err().to_string();
        assert!(err.contains(":2: key `run.jobs`: must be at least 1"), "{err}");
    }

    #[test]
    fn an_mcp_target_is_one_transport_and_says_which() {
        let base = "[[plugins]]\npath = \"p.wasm\"\n\n";
        let both =
            format!("{base}[target]\ncommand = \"x\"\n\n[target.mcp]\nurl = \"/mcp\"\ncommand = \"y\"\n");
        assert!(
            load_text(&both)
                .unwrap_err()
                .to_string()
                .contains("either `url` (Streamable HTTP) or `command` (stdio)")
        );
        let neither = format!("{base}[target]\ncommand = \"x\"\n\n[target.mcp]\n");
        assert!(load_text(&neither).unwrap_err().to_string().contains("say where the MCP server is"));
        let headers_on_stdio = format!(
            "{base}[target]\n\n[target.mcp]\ncommand = \"y\"\nheaders = {{ authorization = \"Bearer t\" }}\n"
        );
        assert!(load_text(&headers_on_stdio).unwrap_err().to_string().contains("a server over stdio"));
        // A target without a command is an MCP server over stdio, or nothing.
        let no_command = format!("{base}[target]\nworkdir = \"temp\"\n");
        assert!(load_text(&no_command).unwrap_err().to_string().contains("[target] needs `command`"));
        let url_without_service = format!("{base}[target]\n\n[target.mcp]\nurl = \"/mcp\"\n");
        assert!(
            load_text(&url_without_service)
                .unwrap_err()
                .to_string()
                .contains("no command to start the service")
        );
        let stdio = load_text(&format!(
            "{base}[target]\nworkdir = \"temp\"\n\n[target.mcp]\ncommand = \"srv\"\nargs = [\"mcp\"]\ntimeout = \"3s\"\n"
        ))
        .unwrap();
        let mcp = stdio.mcp.expect("an MCP target");
        assert_eq!(mcp.timeout, Duration::from_secs(3));
        assert!(
            matches!(mcp.transport, McpTransport::Stdio { ref command, ref args, .. } if command == "srv" && args == &["mcp"])
        );
    }

    #[test]
    fn the_command_line_names_an_mcp_server_without_a_config() {
        let o = |url: Option<&str>, command: Option<&[&str]>, headers: &[&str]| Overrides {
            plugins: vec!["p.wasm".into()],
            mcp_url: url.map(String::from),
            mcp_command: command.map(|c| c.iter().map(|w| w.to_string()).collect()),
            mcp_headers: headers.iter().map(|h| h.to_string()).collect(),
            ..Overrides::default()
        };
        let http = load(&o(Some("http://127.0.0.1:1/mcp"), None, &["Authorization: Bearer t"])).unwrap();
        let Some(Mcp { transport: McpTransport::Http { url, headers }, .. }) = http.mcp else {
            panic!("HTTP")
        };
        assert_eq!(
            (url.as_str(), headers),
            ("http://127.0.0.1:1/mcp", vec![("Authorization".into(), "Bearer t".into())])
        );
        let path_only = load(&o(Some("/mcp"), None, &[])).unwrap_err().to_string();
        assert!(path_only.contains("is a path, but there is no base URL"), "{path_only}");
        let stdio_headers = load(&o(None, Some(&["srv", "mcp"]), &["X-Key: k"])).unwrap_err().to_string();
        assert!(stdio_headers.contains("--mcp-header is sent over HTTP"), "{stdio_headers}");
        let bad_header = load(&o(Some("http://h/mcp"), None, &["no colon"])).unwrap_err().to_string();
        assert!(bad_header.contains("expected \"Name: value\""), "{bad_header}");
    }
}
