//! Step 2 of a run, as the command line drives it: find each plugin (a file, or a registry
//! reference pulled into the cache), load it, check its config against what it declares, and read
//! the documents its config names.

use super::{Failure, exit};
use crate::config::{self, PluginSource, PluginSpec, Settings};
use crate::http::Redactor;
use crate::plugin::contract;
use crate::plugin::{Plugin, Runtime};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The document value that asks for the run's MCP server's own description (`initialize`'s
/// result and the tools it lists), which the host reads from the session before planning.
pub(super) const MCP_SERVER_DOCUMENT: &str = "mcp:server";

/// A document source standing for the run's HTTP target: a plugin whose document config key has
/// this value gets `{"base_url": ..., "base_path": ...}` (empty when the run has no base URL), so
/// a plan can depend on where the API is served (e.g. not doubling a base path).
pub(super) const TARGET_DOCUMENT: &str = "smoke:target";

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
        PluginSource::File(path) => return Ok(path.clone()),
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
        return Ok(Vec::new());
    }
    let runtime = Arc::new(Runtime::new(settings.limits).map_err(|e| Failure::new(exit::PLUGIN, e))?);
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
        let (config, documents) = configure(&plugin, spec, &settings.base_dir, &target, redactor).await?;
        let mut plugin = plugin;
        plugin.set_redactor(redactor.clone());
        loaded.push(Loaded { plugin: Arc::new(plugin), config, documents });
    }
    Ok(loaded)
}

/// Check the given config against what the plugin declares, apply defaults, read documents.
pub(super) async fn configure(
    plugin: &Plugin,
    spec: &PluginSpec,
    base_dir: &Path,
    target: &[u8],
    redactor: &mut Redactor,
) -> Result<(Vec<crate::plan::model::Pair>, Vec<contract::Document>), Failure> {
    let info = plugin.info();
    let name = plugin.name();
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
    for key in &info.config {
        let value = match spec.config.get(&key.name).or(key.default.as_ref()) {
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
            contract::ConfigKind::Document => {
                let (content, remote) = fetch_document(&value, base_dir, true, None).await.map_err(|e| {
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

/// A document a plugin's config names that cannot be had.
#[derive(Debug, thiserror::Error)]
pub(super) enum DocumentError {
    #[error("cannot fetch {url}: {}", crate::http::root_cause(.source))]
    Fetch { url: String, source: reqwest::Error },
    #[error("fetching {url} returned status {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is over the limit of {MAX_DOCUMENT_BYTES} bytes for a document")]
    TooLarge { url: String },
    #[error(transparent)]
    File(#[from] crate::files::ReadError),
}

/// The largest document read for a plugin (an OpenAPI document of thousands of operations is a
/// few megabytes).
const MAX_DOCUMENT_BYTES: u64 = 64 << 20;

/// The bytes of a document: fetched (bounded in time and size) or read from a file. A document
/// named by another fetched one is fetched without following redirects (`may_follow` judged its
/// URL, and a redirect could lead anywhere, a private address), with a URL's host reached only at `pinned` addresses when given (what
/// `may_follow` checked, so a name that resolves elsewhere the second time, DNS rebinding, is
/// not followed there; and no proxy, which would resolve it again); and the address the response
/// came from.
async fn fetch_document(
    source: &str,
    base_dir: &Path,
    follow_redirects: bool,
    pinned: Option<&[std::net::SocketAddr]>,
) -> Result<(Vec<u8>, Option<std::net::SocketAddr>), DocumentError> {
    if is_url(source) {
        let fetch = |e| DocumentError::Fetch { url: crate::http::shown_url(source), source: e };
        // No Referer: a document's URL may carry a token in its query.
        let mut builder = crate::http::client_builder().timeout(Duration::from_secs(30)).referer(false);
        builder = builder.redirect(match follow_redirects {
            true => same_origin_redirects(source),
            false => reqwest::redirect::Policy::none(),
        });
        if let (Some(addresses), Some(host)) =
            (pinned, url::Url::parse(source).ok().and_then(|u| u.host_str().map(String::from)))
        {
            let bare = host.trim_start_matches('[').trim_end_matches(']').to_string();
            // Port 0: the URL's own port, or its scheme's (an address reached over http may be
            // asked again over https).
            let addresses: Vec<std::net::SocketAddr> =
                addresses.iter().map(|a| std::net::SocketAddr::new(a.ip(), 0)).collect();
            builder = builder.no_proxy().resolve_to_addrs(&bare, &addresses);
        }
        let client = builder.build().map_err(fetch)?;
        let mut response = client.get(source).send().await.map_err(fetch)?;
        if !response.status().is_success() {
            let status = response.status().as_u16();
            return Err(DocumentError::Status { url: crate::http::shown_url(source), status });
        }
        // Where it came from, when it came from the host its URL names (not a redirect's).
        let same_host =
            response.url().host_str() == url::Url::parse(source).ok().as_ref().and_then(|u| u.host_str());
        let remote = response.remote_addr().filter(|_| same_host);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fetch)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
                return Err(DocumentError::TooLarge { url: crate::http::shown_url(source) });
            }
        }
        return Ok((bytes, remote));
    }
    let path = base_dir.join(source);
    let bytes = crate::files::read(&path, MAX_DOCUMENT_BYTES, "a document")?;
    Ok((bytes, None))
}

/// A user-named document's redirects are followed on its own origin (scheme, host and port)
/// only: another origin, or a private address behind one, is not what the user named, and the
/// URL (a token in its query) would travel there.
fn same_origin_redirects(source: &str) -> reqwest::redirect::Policy {
    let origin = url::Url::parse(source).ok().map(|u| u.origin());
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= 10 {
            return attempt.error("more than 10 redirects");
        }
        if origin.as_ref().is_some_and(|o| *o == attempt.url().origin()) {
            return attempt.follow();
        }
        let to = crate::http::shown_url(attempt.url().as_str());
        attempt.error(format!(
            "it redirects to {to}, another origin: smoke follows a document's redirects only on the origin \
             named (scheme, host and port); name that URL instead if it is the one meant"
        ))
    })
}

/// The most documents a document may pull in through `$ref`s, and the most bytes all together.
const MAX_REFERENCED_DOCUMENTS: usize = 64;

/// The documents `$ref`s of a JSON or YAML document name in other files or at URLs (`common.yaml#/
/// Pet`, `https://.../pet.json`), read the way the document was, following their own references in
/// turn: each once (cycles end), at most `MAX_REFERENCED_DOCUMENTS` of them and
/// `MAX_DOCUMENT_BYTES` in all. Each comes as (source, bytes), its source the reference resolved
/// against the source of the document that made it (`dir/common.yaml`, a URL), which is how the
/// plugin finds it again. A document fetched from a URL may name only URLs; a file only files
/// under the project's directory or the first document's. What cannot be read is a warning: the
/// operations that need it are the plugin's to leave out.
pub(super) async fn read_referenced(
    source: &str,
    content: &[u8],
    base_dir: &Path,
    remote: Option<std::net::SocketAddr>,
) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    // The address each host was reached at: a document's own host is reached there again, and
    // another host only at the addresses `may_follow` found public.
    let host_of = |u: &str| url::Url::parse(u).ok().and_then(|u| u.host_str().map(String::from));
    let mut reached: std::collections::HashMap<String, Vec<std::net::SocketAddr>> = Default::default();
    if let (Some(addr), Some(host)) = (remote, host_of(source)) {
        reached.insert(host, vec![addr]);
    }
    if !has_external_ref(content) {
        return out;
    }
    // Where files may be: the real folders (symbolic links followed), so that "under" means under.
    let real = |p: &Path| std::fs::canonicalize(p).ok();
    let allowed: Vec<PathBuf> =
        [real(base_dir), real(&base_dir.join(source)).and_then(|d| d.parent().map(Path::to_path_buf))]
            .into_iter()
            .flatten()
            .collect();
    let first = if is_url(source) { source.to_string() } else { normal_source(source) };
    let mut seen: std::collections::BTreeSet<String> = [first].into();
    let mut queue: std::collections::VecDeque<(String, Vec<String>)> =
        [(source.to_string(), external_refs(content))].into();
    let mut total = content.len();
    // Every reference tried counts, read or not; and all of them share one deadline.
    let mut tried = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut warnings = 0;
    let mut warn = |message: String| {
        warnings += 1;
        if warnings <= MAX_REFERENCE_WARNINGS {
            crate::warn_user!("{message}");
        } else if warnings == MAX_REFERENCE_WARNINGS + 1 {
            crate::warn_user!("{}: more references cannot be read; not listed", shown(source));
        }
    };
    while let Some((from, refs)) = queue.pop_front() {
        for reference in refs {
            let shown_from = shown(&from);
            let Some(target) = resolve_reference(&from, &reference) else {
                warn(format!(
                    "{shown_from}: $ref {:?} is neither a relative file nor an http(s) URL; not read",
                    crate::http::escape_line(&reference)
                ));
                continue;
            };
            if !seen.insert(target.clone()) {
                continue;
            }
            tried += 1;
            if tried > MAX_REFERENCED_DOCUMENTS || std::time::Instant::now() > deadline {
                warn(format!(
                    "{}: more than {MAX_REFERENCED_DOCUMENTS} referenced documents, or more than 60 s reading \
                     them; {} and later ones not read",
                    shown(source),
                    shown(&target)
                ));
                return out;
            }
            if is_url(&from) && !is_url(&target) {
                warn(format!(
                    "{shown_from}: $ref {:?}: a document fetched from a URL may not name a local file; not read",
                    shown(&reference)
                ));
                continue;
            }
            let mut pinned: Option<Vec<std::net::SocketAddr>> = None;
            if is_url(&from) && is_url(&target) {
                let target_host = host_of(&target).unwrap_or_default();
                let known = reached
                    .get(&target_host)
                    .filter(|_| host_of(&from).as_deref() == Some(target_host.as_str()));
                match known {
                    // Its own host, where the document came from: there again, and nowhere else.
                    Some(addresses) => pinned = Some(addresses.clone()),
                    None => match may_follow(&from, &target).await {
                        Ok(addresses) => pinned = Some(addresses),
                        Err(why) => {
                            warn(format!("{shown_from}: $ref {:?}: {why}; not read", shown(&reference)));
                            continue;
                        }
                    },
                }
            }
            if !is_url(&target) {
                let path = base_dir.join(&target);
                match real(&path) {
                    Some(p) if allowed.iter().any(|a| p.starts_with(a)) => {}
                    Some(p) => {
                        warn(format!(
                            "{shown_from}: $ref {:?} names {}, outside the project and the document's folder; not read",
                            shown(&reference),
                            p.display()
                        ));
                        continue;
                    }
                    None => {
                        warn(format!(
                            "{shown_from}: $ref {:?}: cannot read {}",
                            shown(&reference),
                            path.display()
                        ));
                        continue;
                    }
                }
            }
            match fetch_document(&target, base_dir, !is_url(&from), pinned.as_deref()).await {
                Ok((bytes, remote)) if total + bytes.len() <= MAX_DOCUMENT_BYTES as usize => {
                    total += bytes.len();
                    if let (Some(addr), Some(host)) = (remote, host_of(&target)) {
                        reached.entry(host).or_insert_with(|| vec![addr]);
                    }
                    if has_external_ref(&bytes) {
                        queue.push_back((target.clone(), external_refs(&bytes)));
                    }
                    out.push((target, bytes));
                }
                Ok(_) => {
                    warn(format!(
                        "{}: the documents it references are over {MAX_DOCUMENT_BYTES} bytes together; {} not read",
                        shown(source),
                        shown(&target)
                    ));
                    return out;
                }
                Err(e) => warn(format!("{shown_from}: $ref {:?}: {e}", shown(&reference))),
            }
        }
    }
    out
}

/// Whether a document fetched from `from` may make smoke fetch `target`, on another host: only
/// if every address of that host is public, and then the addresses to reach it at (the fetch is
/// pinned to them). A document from elsewhere must not make smoke read a cloud's metadata service
/// or a private network (the user named `from`, not what it names). A target on `from`'s own
/// host is reached where `from` was (see `read_referenced`), without asking this.
async fn may_follow(from: &str, target: &str) -> Result<Vec<std::net::SocketAddr>, String> {
    let (Ok(from), Ok(target)) = (url::Url::parse(from), url::Url::parse(target)) else {
        return Err("not a URL".into());
    };
    let host = target.host_str().unwrap_or_default();
    let port = target.port_or_known_default().unwrap_or(80);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(Duration::from_secs(10), tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(e)) => return Err(format!("cannot resolve {host}: {e}")),
            Err(_) => return Err(format!("cannot resolve {host} within 10 s")),
        };
    let own = from.host_str() == Some(host);
    match addresses.iter().find(|a| !is_public(a.ip())) {
        Some(a) if own => Err(format!(
            "{host} is the document's own host, but it was not reached directly (a redirect) and now has a \
             private address ({})",
            a.ip()
        )),
        Some(a) => Err(format!(
            "{host} is another host than the document's and has a private address ({}); a document fetched \
             from a URL may name private addresses only on its own host",
            a.ip()
        )),
        None if addresses.is_empty() => Err(format!("{host} has no address")),
        None => Ok(addresses),
    }
}

/// Whether an address is on the public internet: not loopback, private, link-local (the cloud
/// metadata address), shared, reserved, benchmarking, unspecified or multicast; an IPv6 address
/// that carries an IPv4 one (mapped, NAT64, 6to4) is judged by that one.
fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v) => {
            let [a, b, c, _] = v.octets();
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || v.is_multicast()
                || a == 0
                || a >= 240
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18))
        }
        std::net::IpAddr::V6(v) => {
            let s = v.segments();
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if let Some(v4) = v.to_ipv4_mapped() {
                return is_public(v4.into());
            }
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public(embedded(s[6], s[7]).into());
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]).into());
            }
            !(v.is_loopback()
                || v.is_unspecified()
                || v.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0)
        }
    }
}

/// The most warnings about references that cannot be read, before the rest are counted only.
const MAX_REFERENCE_WARNINGS: usize = 10;

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// A source as it may be printed: a URL without its user info, one line.
fn shown(source: &str) -> String {
    let text = if is_url(source) { crate::http::shown_url(source) } else { source.to_string() };
    crate::http::escape_line(&text).into_owned()
}

/// A file source as `resolve_reference` gives one (`./a/../b.yaml` is `b.yaml`).
fn normal_source(source: &str) -> String {
    lexically_normal(Path::new(source)).to_string_lossy().into_owned()
}

/// Whether a document may have a `$ref` to another document: one whose value does not start
/// with `#` (a cheap scan before parsing).
fn has_external_ref(content: &[u8]) -> bool {
    let mut rest = content;
    while let Some(at) = rest.windows(4).position(|w| w == b"$ref") {
        let after = &rest[at + 4..];
        let value = after.iter().position(|b| !matches!(b, b'"' | b'\'' | b':' | b' ' | b'\t'));
        if value.is_some_and(|i| after[i] != b'#') {
            return true;
        }
        rest = after;
    }
    false
}

/// The distinct documents a JSON or YAML document's `$ref`s name (the part before `#`).
fn external_refs(content: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(serde_json::Value::as_str) {
                    let document = r.split('#').next().unwrap_or("");
                    if !document.is_empty() && !out.iter().any(|o| o == document) {
                        out.push(document.to_string());
                    }
                }
                for (k, v) in map {
                    if k != "example" && k != "examples" {
                        walk(v, out);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    // Within a budget of values: a YAML alias bomb is refused, never expanded.
    let value = documents::parse(content, documents::budget(content.len())).ok();
    let mut out = Vec::new();
    if let Some(v) = value {
        walk(&v, &mut out);
    }
    out
}

/// A reference's document resolved against the source of the document that names it: a URL
/// joined to a URL, a relative path to the naming file's folder (lexically: `a/../b` is `b`).
/// The plugin resolves references the same way to find the document again.
pub fn resolve_reference(from: &str, reference: &str) -> Option<String> {
    if is_url(reference) {
        return Some(reference.to_string());
    }
    if reference.contains("://") {
        return None;
    }
    if is_url(from) {
        return url::Url::parse(from).ok()?.join(reference).ok().map(String::from);
    }
    let dir = Path::new(from).parent().unwrap_or(Path::new(""));
    Some(lexically_normal(&dir.join(reference)).to_string_lossy().into_owned())
}

/// `a/./b/../c` as `a/c`, without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
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

/// The plugins with the MCP server's description handed to those that read it.
pub(super) fn with_mcp_server(loaded: &[Loaded], description: &[u8]) -> Vec<Loaded> {
    let mut out = loaded.to_vec();
    for l in &mut out {
        for d in &mut l.documents {
            if d.source == MCP_SERVER_DOCUMENT {
                d.content = description.to_vec();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{is_public, may_follow, resolve_reference};

    #[test]
    fn only_public_addresses_count_as_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:8",
            "2002:a9fe:a9fe::1",
            "fec0::1",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn a_document_from_a_url_names_private_addresses_only_on_its_own_host() {
        let from = "https://specs.example.com/api.yaml";
        // Its own host is asked about only when it was not reached directly (a redirect).
        let e = may_follow("http://127.0.0.1:8080/a.json", "http://127.0.0.1:9090/b.json").await.unwrap_err();
        assert!(e.contains("own host"), "{e}");
        for target in
            ["http://169.254.169.254/latest/meta-data", "http://[::1]/x.json", "http://10.0.0.8/s.json"]
        {
            let e = may_follow(from, target).await.unwrap_err();
            assert!(e.contains("private address"), "{target}: {e}");
        }
    }

    /// tests/fixtures/references.json, which the OpenAPI plugin's test reads too: the
    /// plugin finds each referenced document by the source the host gives it.
    #[test]
    fn references_resolve_as_the_openapi_plugin_resolves_them() {
        // One table for both sides: tests/fixtures/references.json.
        let table: Vec<(String, String, Option<String>)> = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/references.json"
        )))
        .unwrap();
        for (from, reference, expected) in table {
            assert_eq!(resolve_reference(&from, &reference), expected, "{from} + {reference}");
        }
    }
}
