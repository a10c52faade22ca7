//! Step 1 of a run: `smoke.toml` (if any) + CLI flags + `${ENV:-default}` interpolation,
//! validated into one typed [`Settings`]. Errors name the file, the line or key, and the fix.

use crate::plugin::limits::Limits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config {path}: cannot read it: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: key `{key}`: {message}")]
    Key { path: PathBuf, key: String, message: String },
    #[error("{0}")]
    Usage(String),
}

/// The file format. Kebab-case keys; unknown keys are errors (a typo must not be ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    target: Option<TargetFile>,
    #[serde(default)]
    plugins: Vec<PluginFile>,
    #[serde(default)]
    run: RunFile,
    #[serde(default)]
    sandbox: SandboxFile,
    #[serde(default)]
    checks: ChecksFile,
    #[serde(default)]
    registry: RegistryFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RegistryFile {
    /// `HOST/PATH` that short plugin names (`ledger@0.1.0`) resolve under.
    default: Option<String>,
    #[serde(default)]
    insecure: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ChecksFile {
    #[serde(default)]
    clean_git: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct HookFile {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default, with = "duration")]
    timeout: Option<Duration>,
    #[serde(default)]
    before_start: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct TargetFile {
    command: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    port: Option<PortFile>,
    #[serde(default)]
    health: Option<String>,
    #[serde(default, with = "duration")]
    startup_timeout: Option<Duration>,
    #[serde(default, with = "duration")]
    stop_grace: Option<Duration>,
    #[serde(default)]
    base_url: Option<String>,
    #[serde(default)]
    workdir: Option<String>,
    reset: Option<HookFile>,
    migrate: Option<HookFile>,
    seed: Option<HookFile>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum PortFile {
    Fixed(u16),
    Word(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PluginFile {
    /// A component file, or a registry reference (`oci://...`, `NAME@VERSION`).
    #[serde(alias = "ref")]
    path: String,
    #[serde(default)]
    config: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RunFile {
    jobs: Option<usize>,
    #[serde(default, with = "duration")]
    request_timeout: Option<Duration>,
    base_url: Option<String>,
    /// How many automatic run directories to keep (0: all).
    keep_runs: Option<usize>,
    /// The largest response body read, e.g. "16MiB".
    #[serde(default, with = "size")]
    max_body: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct SandboxFile {
    #[serde(default, with = "duration")]
    call_timeout: Option<Duration>,
    memory_mib: Option<u64>,
}

mod duration {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map(Some).map_err(|e| {
            serde::de::Error::custom(format!("{text:?} is not a duration like \"30s\" or \"500ms\": {e}"))
        })
    }
}

mod size {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_size(&text).map(Some).map_err(serde::de::Error::custom)
    }
}

/// A size such as `16MiB`, `500KB`, `1GiB` or `65536` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
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
        _ => return Err(format!("{text:?} is not a size like \"16MiB\", \"500KB\" or a number of bytes")),
    };
    digits.parse::<u64>().ok().and_then(|n| n.checked_mul(factor)).filter(|&n| n > 0).ok_or_else(|| {
        format!("{text:?} is not a size like \"16MiB\", \"500KB\" or a number of bytes above 0")
    })
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
    pub command: String,
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
}

impl PluginSource {
    fn of(text: &str, dir: &Path) -> PluginSource {
        if crate::registry::is_remote(text) {
            PluginSource::Registry(text.to_string())
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
        }
    }
}

/// Registry settings: `[registry]` in smoke.toml, `SMOKE_REGISTRY`, and the lockfile beside the
/// config file.
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    pub default: Option<String>,
    pub insecure: bool,
    pub locked: bool,
    pub offline: bool,
    pub lockfile: PathBuf,
}

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
    pub jobs: usize,
    pub request_timeout: Duration,
    /// The largest response body read; a larger one fails its step.
    pub max_body: u64,
    pub limits: Limits,
    /// Fail the run if it leaves the surrounding git checkout with changes.
    pub clean_git: bool,
    /// Automatic run directories kept under the state directory (0: all).
    pub keep_runs: usize,
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
    pub jobs: Option<usize>,
    pub request_timeout: Option<Duration>,
    pub max_body: Option<u64>,
    pub plugin_timeout: Option<Duration>,
    pub plugin_memory_mib: Option<u64>,
    /// Planning only (`smoke plan`): no service is needed.
    pub plan_only: bool,
    /// The plan comes from a file (`--plan`): plugins are optional.
    pub plan_file: bool,
    /// `--locked`, `--offline`, `--insecure` for registry plugins.
    pub locked: bool,
    pub offline: bool,
    pub insecure: bool,
}

pub const DEFAULT_CONFIG: &str = "smoke.toml";

/// Run directories kept by default: enough to compare a week of CI runs, bounded on disk.
pub const DEFAULT_KEEP_RUNS: usize = 50;

/// Load the config file (explicit, or `./smoke.toml` when it exists) and merge the overrides.
pub fn load(o: &Overrides) -> Result<Settings, ConfigError> {
    let path = match &o.config {
        Some(p) => Some(p.clone()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.is_file()),
    };
    let (file, dir) = match &path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read { path: p.clone(), source })?;
            let file: File = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: p.clone(),
                message: e.to_string().trim_end().to_string(),
            })?;
            let dir =
                p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
            (file, dir)
        }
        None => (File::default(), PathBuf::from(".")),
    };
    let source = path.clone().unwrap_or_else(|| PathBuf::from("(command line)"));
    let interp = |value: &str, key: &str| {
        interpolate(value).map_err(|message| ConfigError::Key {
            path: source.clone(),
            key: key.to_string(),
            message,
        })
    };

    // Plugins: the command line replaces the file's list.
    let mut plugins = Vec::new();
    if o.plugins.is_empty() {
        for (i, p) in file.plugins.iter().enumerate() {
            let mut config = BTreeMap::new();
            for (k, v) in &p.config {
                config.insert(k.clone(), interp(v, &format!("plugins[{i}].config.{k}"))?);
            }
            let at = interp(&p.path, &format!("plugins[{i}].path"))?;
            plugins.push(PluginSpec { source: PluginSource::of(&at, &dir), config });
        }
    } else {
        for p in &o.plugins {
            plugins.push(PluginSpec { source: PluginSource::of(p, Path::new("")), config: BTreeMap::new() });
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

    let target = match &file.target {
        None => None,
        Some(t) => {
            let port = match &t.port {
                None => Port::Auto,
                Some(PortFile::Fixed(p)) => Port::Fixed(*p),
                Some(PortFile::Word(w)) if w == "auto" => Port::Auto,
                Some(PortFile::Word(w)) => {
                    return Err(ConfigError::Key {
                        path: source.clone(),
                        key: "target.port".into(),
                        message: format!("{w:?} is not a port; use a number or \"auto\""),
                    });
                }
            };
            let mut env = BTreeMap::new();
            for (k, v) in &t.env {
                env.insert(k.clone(), interp(v, &format!("target.env.{k}"))?);
            }
            let args = t
                .args
                .iter()
                .enumerate()
                .map(|(i, a)| interp(a, &format!("target.args[{i}]")))
                .collect::<Result<_, _>>()?;
            let health = interp(t.health.as_deref().unwrap_or("/health"), "target.health")?;
            if !health.starts_with('/') {
                return Err(ConfigError::Key {
                    path: source.clone(),
                    key: "target.health".into(),
                    message: format!("{health:?} must be a path starting with '/', e.g. \"/health\""),
                });
            }
            let mut hooks = Vec::new();
            for (name, hook) in [("reset", &t.reset), ("migrate", &t.migrate), ("seed", &t.seed)] {
                let Some(h) = hook else { continue };
                let key = |k: &str| format!("target.{name}.{k}");
                let mut env = BTreeMap::new();
                for (k, v) in &h.env {
                    env.insert(k.clone(), interp(v, &key(&format!("env.{k}")))?);
                }
                hooks.push(Hook {
                    name,
                    command: interp(&h.command, &key("command"))?,
                    args: h
                        .args
                        .iter()
                        .enumerate()
                        .map(|(i, a)| interp(a, &key(&format!("args[{i}]"))))
                        .collect::<Result<_, _>>()?,
                    env,
                    timeout: h.timeout.unwrap_or(Duration::from_secs(60)),
                    before_start: h.before_start,
                });
            }
            let workdir = match t.workdir.as_deref() {
                None => Workdir::ConfigDir,
                Some("temp") => Workdir::Temp,
                Some(p) => Workdir::Path(dir.join(interp(p, "target.workdir")?)),
            };
            Some(Target {
                command: interp(&t.command, "target.command")?,
                args,
                env,
                port,
                health,
                startup_timeout: t.startup_timeout.unwrap_or(Duration::from_secs(30)),
                stop_grace: t.stop_grace.unwrap_or(Duration::from_secs(5)),
                base_url: interp(
                    t.base_url.as_deref().unwrap_or("http://127.0.0.1:{port}"),
                    "target.base-url",
                )?,
                dir: dir.clone(),
                workdir,
                hooks,
            })
        }
    };
    let base_url = match (&o.base_url, &file.run.base_url) {
        (Some(u), _) => Some(u.clone()),
        (None, Some(u)) => Some(interp(u, "run.base-url")?),
        (None, None) => None,
    };
    if plugins.is_empty() && !o.plan_file {
        return Err(ConfigError::Usage(match &path {
            Some(p) => format!(
                "config {}: no plugins: add a [[plugins]] table or pass --plugin FILE.wasm",
                p.display()
            ),
            None => "no plugin given: pass --plugin FILE.wasm, or --config FILE with a [[plugins]] table \
                     (no ./smoke.toml here)"
                .to_string(),
        }));
    }
    if base_url.is_none() && target.is_none() && !o.plan_only {
        return Err(ConfigError::Usage(
            "nothing to test: pass --base-url URL for a running service, or a config with a [target] \
             table that says how to start it"
                .into(),
        ));
    }
    let jobs = o.jobs.or(file.run.jobs).unwrap_or(8);
    if jobs == 0 {
        return Err(ConfigError::Usage("--jobs must be at least 1".into()));
    }
    let defaults = Limits::default();
    let limits = Limits {
        call_timeout: o.plugin_timeout.or(file.sandbox.call_timeout).unwrap_or(defaults.call_timeout),
        memory_bytes: o
            .plugin_memory_mib
            .or(file.sandbox.memory_mib)
            .map_or(defaults.memory_bytes, |mib| (mib as usize).saturating_mul(1 << 20)),
    };
    let default_registry = match std::env::var("SMOKE_REGISTRY") {
        Ok(r) if !r.is_empty() => Some(r),
        _ => match &file.registry.default {
            Some(d) => Some(interp(d, "registry.default")?),
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
    Ok(Settings {
        config_file: path,
        base_dir: dir,
        plugins,
        registry,
        target,
        base_url,
        jobs,
        request_timeout: o.request_timeout.or(file.run.request_timeout).unwrap_or(Duration::from_secs(30)),
        max_body: o.max_body.or(file.run.max_body).unwrap_or(crate::http::DEFAULT_MAX_BODY),
        limits,
        clean_git: file.checks.clean_git,
        keep_runs: file.run.keep_runs.unwrap_or(DEFAULT_KEEP_RUNS),
    })
}

/// Expand `${NAME}` and `${NAME:-default}` from the environment; `$${` is a literal `${`.
pub fn interpolate(text: &str) -> Result<String, String> {
    interpolate_with(text, |name| std::env::var(name).ok())
}

fn interpolate_with(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let end = tail.find('}').ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            match (lookup(name).filter(|v| !v.is_empty()), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => {
                    return Err(format!(
                        "environment variable {name} is not set; set it, or give a default as ${{{name}:-value}}"
                    ));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "SET").then(|| "value".to_string())
    }

    #[test]
    fn interpolation_uses_env_then_default() {
        assert_eq!(interpolate_with("a ${SET} b", env).unwrap(), "a value b");
        assert_eq!(interpolate_with("${UNSET:-dflt}", env).unwrap(), "dflt");
        assert_eq!(interpolate_with("$${SET} $5", env).unwrap(), "${SET} $5");
        let err = interpolate_with("${UNSET}", env).unwrap_err();
        assert!(err.contains("UNSET is not set"), "{err}");
    }

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
