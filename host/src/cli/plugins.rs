//! Step 2 of a run, as the command line drives it: find each plugin (a file, or a registry
//! reference pulled into the cache), load it, check its config against what it declares, and read
//! the documents its config names.

use super::documents::{fetch_document, read_referenced};
use super::{Failure, exit};
use crate::config::{self, PluginSource, PluginSpec, Settings};
use crate::http::Redactor;
use crate::plugin::contract;
use crate::plugin::{Plugin, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The document value that asks for the run's MCP server's own description (`initialize`'s
/// result and the tools it lists), which the host reads from the session before planning.
pub(super) const MCP_SERVER_DOCUMENT: &str = "mcp:server";

/// A document source standing for the run's HTTP target: a plugin whose document config key has
/// this value gets `{"base_url": ..., "base_path": ...}` (empty when the run has no base URL), so
/// a plan can depend on where the API is served (e.g. not doubling a base path).
pub(super) const TARGET_DOCUMENT: &str = "smoke:target";

/// The start of a document source standing for a path on the service under test (`/openapi.json`)
/// or a URL naming its `{port}`: fetched once the service is healthy, and planned then.
pub(super) const SERVICE_DOCUMENT: &str = "service:";

/// Whether a document config value names the service's own document: a path under the target
/// (`/openapi.json`, where no such file exists) or a URL naming `{port}`, when the run has one.
fn on_service(value: &str, base_dir: &Path, settings: &Settings) -> bool {
    let has_target =
        settings.base_url.is_some() || settings.target.as_ref().is_some_and(|t| t.command.is_some());
    let url = value.starts_with("http://") || value.starts_with("https://");
    has_target
        && ((url && value.contains("{port}"))
            || (value.starts_with('/') && !value.starts_with("//") && !base_dir.join(value).exists()))
}

/// The plugin's secret config values that are headers (`Authorization: Bearer TOKEN`): the
/// user's credentials for the target, sent with a document fetched from the target's origin.
fn header_secrets(plugin: &Plugin, config: &[crate::plan::model::Pair]) -> Vec<(String, String)> {
    let given: BTreeMap<String, String> = config.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
    header_secrets_of(&plugin.info().config, &given)
}

fn header_secrets_of(
    keys: &[contract::ConfigKey],
    given: &BTreeMap<String, String>,
) -> Vec<(String, String)> {
    let token =
        |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    keys.iter()
        .filter(|k| matches!(k.kind, contract::ConfigKind::Secret))
        .filter_map(|k| given.get(&k.name))
        .filter_map(|v| v.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .filter(|(n, v)| token(n) && !v.is_empty())
        .collect()
}

/// Whether a plugin reads a document the service serves, so the plan waits for the service.
pub(super) fn wants_service_documents(loaded: &[Loaded]) -> bool {
    loaded.iter().any(|l| l.documents.iter().any(|d| d.source.starts_with(SERVICE_DOCUMENT)))
}

/// The service's documents the plugins read, each as `(config key, what the config said)`.
pub(super) fn service_documents(loaded: &[Loaded]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = loaded
        .iter()
        .flat_map(|l| l.documents.iter())
        .filter_map(|d| Some((d.key.clone(), d.source.strip_prefix(SERVICE_DOCUMENT)?.to_string())))
        .collect();
    out.dedup();
    out
}

/// The plugins with the documents the service at `base_url` serves, fetched now (and the
/// documents they refer to): a path under the base URL, or a URL with `{port}` the service's.
pub(super) async fn with_service_documents(
    loaded: &[Loaded],
    base_url: &str,
    base_dir: &Path,
) -> Result<Vec<Loaded>, Failure> {
    let base = url::Url::parse(base_url).map_err(|e| {
        Failure::new(exit::USAGE, format!("the base URL {}: {e}", crate::http::shown_url(base_url)))
    })?;
    let port = base.port_or_known_default().unwrap_or(80).to_string();
    let mut out = loaded.to_vec();
    for l in &mut out {
        let name = l.plugin.name().to_string();
        let mut documents = Vec::with_capacity(l.documents.len());
        for d in std::mem::take(&mut l.documents) {
            let Some(said) = d.source.strip_prefix(SERVICE_DOCUMENT) else {
                documents.push(d);
                continue;
            };
            let url = match said.starts_with('/') {
                true => format!("{}{said}", base_url.trim_end_matches('/')),
                false => said.replace("{port}", &port),
            };
            // The service does not serve what the config says it does: the target's failure.
            let failed = |e: &dyn std::fmt::Display| {
                Failure::new(
                    exit::TARGET,
                    format!("plugin {name}: config key {:?}: the service's own document: {e}", d.key),
                )
            };
            // On the service itself: the user's credentials go with it.
            let credentials = header_secrets(&l.plugin, &l.config);
            let (content, remote) =
                fetch_document(&url, base_dir, true, None, &credentials).await.map_err(|e| failed(&e))?;
            let referenced = read_referenced(&url, &content, base_dir, remote).await;
            tracing::info!(
                "plan: plugin {name} reads the service's document {}",
                crate::http::shown_url(&url)
            );
            documents.push(contract::Document { key: d.key.clone(), source: url, content });
            for (source, content) in referenced {
                documents.push(contract::Document { key: d.key.clone(), source, content });
            }
        }
        l.documents = documents;
    }
    Ok(out)
}

/// The run's HTTP target as `smoke:target` describes it: the base URL as configured (`{port}`
/// left in) and its path without a trailing `/` (`""` for the root).
pub(super) fn target_description(settings: &Settings) -> Vec<u8> {
    let url = settings.base_url.clone().or_else(|| settings.target.as_ref().map(|t| t.base_url.clone()));
    let description = match url {
        Some(url) => {
            let path = url::Url::parse(&url.replace("{port}", "1"))
                .map(|u| u.path().trim_end_matches('/').to_string())
                .unwrap_or_default();
            // Without user info: a password in the base URL is not the plugin's to see.
            serde_json::json!({"base_url": crate::http::shown_url(&url), "base_path": path})
        }
        None => serde_json::json!({}),
    };
    description.to_string().into_bytes()
}

/// A plugin loaded and configured for this run.
#[derive(Clone)]
pub(super) struct Loaded {
    pub(super) plugin: Arc<Plugin>,
    pub(super) config: Vec<crate::plan::model::Pair>,
    pub(super) documents: Vec<contract::Document>,
    /// The MCP server's description, when the host's protocol checks join this plugin's plan
    /// (the generic MCP plugin's, unless they are turned off).
    pub(super) protocol_checks: Option<crate::mcp::conformance::HostChecks>,
}

impl Loaded {
    /// Whether this is the generic MCP plugin (`--plugin mcp`, bundled, or a build of it: a
    /// plugin named `mcp`).
    pub(super) fn is_generic_mcp(&self) -> bool {
        self.plugin.name() == "mcp"
    }
}

/// The registry, with the run's lockfile and network rules.
pub(super) fn open_registry(
    settings: &config::RegistrySettings,
) -> Result<crate::registry::Registry, Failure> {
    crate::registry::Registry::open(settings.clone()).map_err(|e| Failure::new(exit::PLUGIN, e))
}

/// Where a plugin's component is on disk: the file, or the registry reference resolved into the
/// cache (pulled and verified if needed).
pub(super) async fn locate(
    source: &PluginSource,
    registry: &mut Option<crate::registry::Registry>,
    settings: &Settings,
) -> Result<PathBuf, Failure> {
    let text = match source {
        PluginSource::File(path)
            if !path.exists() && path.extension().is_none() && path.components().count() <= 2 =>
        {
            // A bare name that is no file: perhaps a bundled plugin's, misspelt.
            let available = crate::plugin::bundled::available();
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "plugin {}: no such file, nor a plugin this smoke bundles ({})",
                    path.display(),
                    if available.is_empty() { "none".to_string() } else { available.join(", ") }
                ),
            ));
        }
        PluginSource::File(path) => return Ok(path.clone()),
        PluginSource::Bundled(name) => {
            return crate::plugin::bundled::file(name).map_err(|e| Failure::new(exit::PLUGIN, e.to_string()));
        }
        PluginSource::Registry(text) => text,
    };
    if registry.is_none() {
        *registry = Some(open_registry(&settings.registry)?);
    }
    let registry = registry.as_ref().expect("opened above");
    let reference = registry.parse(text).map_err(|e| Failure::new(exit::USAGE, format!("plugin {e}")))?;
    let resolved =
        registry.resolve(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {e}")))?;
    tracing::info!(
        "plugin {reference}: {} component {} ({})",
        if resolved.pulled { "pulled" } else { "cached" },
        resolved.component,
        resolved.path.display()
    );
    Ok(resolved.path)
}

pub(super) async fn load_plugins(
    settings: &Settings,
    redactor: &mut Redactor,
) -> Result<Vec<Loaded>, Failure> {
    if settings.plugins.is_empty() {
        // A plan from a file needs no engine.
        return with_baseline_planned(Vec::new(), settings);
    }
    // smoke dev's grant goes to its runner, the run's one plugin, and to no other.
    if settings.dev.is_some() && settings.plugins.len() != 1 {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "--dev-project and --dev-bundle (smoke dev's) grant one plugin, its runner; this run loads {}",
                settings.plugins.len()
            ),
        ));
    }
    let runtime = Arc::new(
        Runtime::new(settings.limits)
            .map_err(|e| Failure::new(exit::PLUGIN, e))?
            .with_dev(settings.dev.clone()),
    );
    let mut registry = None;
    let mut loaded: Vec<Loaded> = Vec::new();
    for spec in &settings.plugins {
        let path = locate(&spec.source, &mut registry, settings).await?;
        let rt = runtime.clone();
        let plugin = tokio::task::spawn_blocking(move || rt.load(&path))
            .await
            .map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {}: loading failed: {e}", spec.source)))?
            .map_err(|e| Failure::new(exit::PLUGIN, e))?;
        if let Some(other) = loaded.iter().find(|l| l.plugin.name() == plugin.name()) {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "plugins {} and {} are both named {:?}; load each plugin once",
                    other.plugin.path.display(),
                    spec.source,
                    plugin.name()
                ),
            ));
        }
        let target = target_description(settings);
        let (config, documents) = configure(&plugin, spec, settings, &target, redactor).await?;
        let mut plugin = plugin;
        plugin.set_redactor(redactor.clone());
        loaded.push(Loaded { plugin: Arc::new(plugin), config, documents, protocol_checks: None });
    }
    with_baseline_planned(loaded, settings)
}

/// The plugins, when a baseline given is planned by one: a baseline no plan holds the server to
/// would pass having compared nothing.
fn with_baseline_planned(loaded: Vec<Loaded>, settings: &Settings) -> Result<Vec<Loaded>, Failure> {
    if settings.mcp.as_ref().is_some_and(|m| m.baseline.is_some())
        && !loaded.iter().any(Loaded::is_generic_mcp)
    {
        return Err(Failure::new(
            exit::USAGE,
            "--baseline is checked by the generic MCP plugin's plan (the scenario mcp.baseline): add --plugin mcp",
        ));
    }
    Ok(loaded)
}

/// The config key by which a plugin that deletes what its scenarios make is told to keep it
/// (`--keep-data`), and the value that says so.
const KEEP_DATA_KEY: &str = "keep_data";
const KEEP_DATA: &str = "true";

/// Check the given config against what the plugin declares, apply defaults, read documents.
pub(super) async fn configure(
    plugin: &Plugin,
    spec: &PluginSpec,
    settings: &Settings,
    target: &[u8],
    redactor: &mut Redactor,
) -> Result<(Vec<crate::plan::model::Pair>, Vec<contract::Document>), Failure> {
    let info = plugin.info();
    let name = plugin.name();
    let base_dir = settings.base_dir.as_path();
    for key in spec.config.keys() {
        if !info.config.iter().any(|k| &k.name == key) {
            let known: Vec<&str> = info.config.iter().map(|k| k.name.as_str()).collect();
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "plugin {name}: unknown config key {key:?} (it reads: {})",
                    if known.is_empty() { "nothing".to_string() } else { known.join(", ") }
                ),
            ));
        }
    }
    for h in &info.sensitive_headers {
        redactor.header(h);
    }
    for f in &info.sensitive_fields {
        redactor.field(f);
    }
    let mut config = BTreeMap::new();
    let mut documents = Vec::new();
    let keep = settings.keep_data.then(|| KEEP_DATA.to_string()).filter(|_| {
        let reads = info.config.iter().any(|k| k.name == KEEP_DATA_KEY);
        if !reads {
            tracing::warn!(
                "--keep-data: plugin {name} reads no `{KEEP_DATA_KEY}` config key, so what it makes is as it leaves it"
            );
        }
        reads
    });
    for key in &info.config {
        let given = match &keep {
            Some(value) if key.name == KEEP_DATA_KEY => Some(value),
            _ => spec.config.get(&key.name),
        };
        let value = match given.or(key.default.as_ref()) {
            Some(v) => v.clone(),
            None if key.required => {
                return Err(Failure::new(
                    exit::USAGE,
                    format!(
                        "plugin {name}: config key {:?} is required ({}); set it in [plugins.config] or with \
                         --plugin-config {}=VALUE",
                        key.name, key.description, key.name
                    ),
                ));
            }
            None => continue,
        };
        match key.kind {
            contract::ConfigKind::Secret => {
                // The value and every variable derived from it (`config.KEY.value`).
                for (_, part) in crate::plan::model::config_variables([(key.name.as_str(), value.as_str())]) {
                    redactor.secret(&part);
                }
            }
            contract::ConfigKind::Document if value == MCP_SERVER_DOCUMENT => {
                // Filled in from the MCP session, which planning then waits for.
                documents.push(contract::Document {
                    key: key.name.clone(),
                    source: value.clone(),
                    content: Vec::new(),
                });
            }
            contract::ConfigKind::Document if value == TARGET_DOCUMENT => {
                documents.push(contract::Document {
                    key: key.name.clone(),
                    source: value.clone(),
                    content: target.to_vec(),
                });
            }
            contract::ConfigKind::Document if on_service(&value, base_dir, settings) => {
                // Fetched once the service is up, which planning then waits for.
                documents.push(contract::Document {
                    key: key.name.clone(),
                    source: format!("{SERVICE_DOCUMENT}{value}"),
                    content: Vec::new(),
                });
            }
            contract::ConfigKind::Document => {
                // The user's credentials go to the target's own origin only.
                let on_target =
                    settings.base_url.as_deref().is_some_and(|b| super::documents::same_origin(b, &value));
                let credentials = match on_target {
                    true => header_secrets_of(&info.config, &spec.config),
                    false => Vec::new(),
                };
                let (content, remote) =
                    fetch_document(&value, base_dir, true, None, &credentials).await.map_err(|e| {
                        Failure::new(exit::PLUGIN, format!("plugin {name}: config key {:?}: {e}", key.name))
                    })?;
                let referenced = read_referenced(&value, &content, base_dir, remote).await;
                documents.push(contract::Document { key: key.name.clone(), source: value.clone(), content });
                for (source, content) in referenced {
                    documents.push(contract::Document { key: key.name.clone(), source, content });
                }
            }
            contract::ConfigKind::Text => {}
        }
        config.insert(key.name.clone(), value);
    }
    let pairs = config.into_iter().map(|(name, value)| crate::plan::model::Pair { name, value }).collect();
    Ok((pairs, documents))
}

/// Load one plugin file with the default limits, as `inspect` and `plugin push` do.
pub(super) async fn load_plugin_file(path: &Path) -> Result<Plugin, Failure> {
    let runtime = Runtime::new(Default::default()).map_err(|e| Failure::new(exit::PLUGIN, e))?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || runtime.load(&path))
        .await
        .map_err(|e| Failure::new(exit::PLUGIN, e))?
        .map_err(|e| Failure::new(exit::PLUGIN, e))
}

/// Whether a plugin reads the MCP server's description, so the plan waits for the session.
pub(super) fn wants_mcp_server(loaded: &[Loaded]) -> bool {
    loaded.iter().any(|l| l.documents.iter().any(|d| d.source == MCP_SERVER_DOCUMENT))
}

/// The plugins with the MCP server's description handed to those that read it, and to the
/// generic MCP plugin the host's checks the settings ask for.
pub(super) fn with_mcp_server(
    loaded: &[Loaded],
    description: &[u8],
    settings: &config::Settings,
) -> Vec<Loaded> {
    let (protocol, baseline) = match &settings.mcp {
        Some(m) => (m.protocol_checks, m.baseline.clone()),
        None => (false, None),
    };
    let credentials = matches!(
        &settings.mcp,
        Some(config::Mcp { transport: config::McpTransport::Http { headers, .. }, .. })
            if headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
    );
    let mut out = loaded.to_vec();
    for l in &mut out {
        let mut reads = false;
        for d in &mut l.documents {
            if d.source == MCP_SERVER_DOCUMENT {
                d.content = description.to_vec();
                reads = true;
            }
        }
        if (protocol || baseline.is_some()) && reads && l.is_generic_mcp() {
            l.protocol_checks = serde_json::from_slice(description).ok().map(|description| {
                crate::mcp::conformance::HostChecks {
                    description,
                    protocol,
                    baseline: baseline.clone(),
                    credentials,
                }
            });
        }
    }
    out
}

/// Whether the run's MCP session gets the host's protocol checks: the config leaves them on and
/// the generic MCP plugin is loaded.
pub(super) fn protocol_checks(loaded: &[Loaded], settings: &config::Settings) -> bool {
    settings.mcp.as_ref().is_some_and(|m| m.protocol_checks) && loaded.iter().any(Loaded::is_generic_mcp)
}
