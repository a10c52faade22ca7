//! Plugins from OCI registries: resolve a reference to a verified component in the cache,
//! honouring the lockfile, `--locked` and `--offline`; push a component as a Wasm artifact.
//!
//! The distribution protocol is oci-client's. What this module decides is what to trust: a
//! component is used only if its sha256 is the one the manifest (and the lockfile, when pinned)
//! names; plain HTTP only to a registry on this machine or with `--insecure`.

pub mod auth;
mod blob;
pub mod lock;
pub mod reference;
pub mod store;

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::manifest::{OciImageManifest, OciManifest};
pub use reference::{RemoteRef, is_remote};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The Wasm OCI artifact media types (CNCF TAG Runtime's Wasm OCI artifact layout).
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
pub const LAYER_MEDIA_TYPE: &str = "application/wasm";

/// Manifest annotations a push writes, read from the component itself.
pub const ANNOTATION_TITLE: &str = "org.opencontainers.image.title";
pub const ANNOTATION_VERSION: &str = "org.opencontainers.image.version";
pub const ANNOTATION_DESCRIPTION: &str = "org.opencontainers.image.description";
pub const ANNOTATION_DOMAIN: &str = "dev.smoke.plugin.domain";
pub const ANNOTATION_WIT: &str = "dev.smoke.plugin.wit";

/// How a run may use the network and the lockfile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `HOST/PATH` for short names.
    pub default: Option<String>,
    /// Allow plain HTTP to registries not on this machine.
    pub insecure: bool,
    /// Every reference must be pinned in the lockfile, and the registry must agree with it.
    pub locked: bool,
    /// Never touch the network.
    pub offline: bool,
    pub lockfile: PathBuf,
}

/// A plugin reference resolved to a cached, verified component.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub path: PathBuf,
    pub manifest: String,
    pub component: String,
    /// Whether the network was used.
    pub pulled: bool,
}

pub struct Registry {
    pub options: Options,
    pub store: store::Store,
    pub lock: lock::Lockfile,
}

/// HTTPS, except to a registry on this machine or with `--insecure`, which may speak plain HTTP.
fn protocol(r: &RemoteRef, insecure: bool) -> ClientProtocol {
    if r.is_loopback() || insecure {
        ClientProtocol::HttpsExcept(vec![r.registry.clone()])
    } else {
        ClientProtocol::Https
    }
}

/// Why a registry operation failed, as data. No message holds a credential.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    #[error(transparent)]
    Lockfile(#[from] lock::LockError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Cache(#[from] store::CacheError),
    #[error("{reference}: --offline forbids the network")]
    Offline { reference: String },
    #[error(
        "{reference} is not pinned in {lockfile} and --locked forbids resolving it now: run `smoke plugin \
         lock` and commit the lockfile"
    )]
    NotPinned { reference: String, lockfile: String },
    #[error(
        "{reference}: the registry now serves manifest {served}, but {lockfile} pins {pinned}; --locked \
         refuses it (if the change is intended, run `smoke plugin lock`)"
    )]
    TagMoved { reference: String, served: String, pinned: String, lockfile: String },
    #[error(
        "{reference} (pinned to {component}) is not in the cache and --offline forbids pulling it; run once \
         without --offline"
    )]
    PinnedNotCached { reference: String, component: String },
    #[error("{reference} is not in the cache and --offline forbids pulling it; run once without --offline")]
    NotCached { reference: String },
    #[error(
        "{reference}: manifest {manifest} holds component {component}, but {lockfile} pins {pinned}; refused"
    )]
    PinMismatch { reference: String, manifest: String, component: String, pinned: String, lockfile: String },
    /// The registry could not be reached or answered with an error (credentials scrubbed).
    #[error("{reference}: {what}: {detail}")]
    Remote { reference: String, what: String, detail: String },
    #[error("{reference}: {detail}")]
    NotAComponent { reference: String, detail: String },
    #[error("{reference}: {source}")]
    Component { reference: String, source: store::CacheError },
}

/// A registry failure; the message never holds a credential.
fn scrubbed(message: String, secret: Option<&str>) -> String {
    match secret {
        Some(s) if !s.is_empty() => message.replace(s, crate::http::REDACTED),
        _ => message,
    }
}

impl Registry {
    pub fn open(options: Options) -> Result<Registry, RegistryError> {
        let store = store::Store::open()?;
        let lock = lock::Lockfile::load(&options.lockfile)?;
        Ok(Registry { options, store, lock })
    }

    pub fn parse(&self, text: &str) -> Result<RemoteRef, RegistryError> {
        Ok(RemoteRef::parse(text, self.options.default.as_deref())?)
    }

    /// A client for `r`'s registry and the credentials to use with it.
    async fn connect(&self, r: &RemoteRef) -> Result<(oci_client::Client, auth::Credentials), RegistryError> {
        if self.options.offline {
            return Err(RegistryError::Offline { reference: r.to_string() });
        }
        crate::http::ensure_tls_provider();
        let config = ClientConfig {
            protocol: protocol(r, self.options.insecure),
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            read_timeout: Some(std::time::Duration::from_secs(60)),
            ..Default::default()
        };
        let credentials = auth::credentials(&r.registry).await?;
        tracing::info!("registry {}: credentials from {}", r.registry, credentials.source);
        Ok((oci_client::Client::new(config), credentials))
    }

    fn explain(
        &self,
        r: &RemoteRef,
        what: &str,
        e: oci_client::errors::OciDistributionError,
        secret: Option<&str>,
    ) -> RegistryError {
        let mut detail = e.to_string();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !detail.contains(&text) {
                detail.push_str(&format!(": {text}"));
            }
            source = s.source();
        }
        if !r.is_loopback() && !self.options.insecure && detail.contains("http") && detail.contains("error") {
            detail.push_str(" (a registry that speaks only plain HTTP needs --insecure)");
        }
        RegistryError::Remote {
            reference: r.to_string(),
            what: what.to_string(),
            detail: scrubbed(detail, secret),
        }
    }

    /// Resolve `r` to a verified component in the cache, pulling it if needed.
    pub async fn resolve(&self, r: &RemoteRef) -> Result<Resolved, RegistryError> {
        let key = r.canonical();
        let pinned = self.lock.get(&key).cloned();
        let lockfile = self.lock.path.display().to_string();
        if self.options.locked && pinned.is_none() && r.digest.is_none() {
            return Err(RegistryError::NotPinned { reference: key, lockfile });
        }
        if let Some(pin) = &pinned {
            if self.options.locked && !self.options.offline && r.tag.is_some() {
                let served = self.manifest_digest(r).await?;
                if served != pin.manifest {
                    return Err(RegistryError::TagMoved {
                        reference: key,
                        served,
                        pinned: pin.manifest.clone(),
                        lockfile,
                    });
                }
            }
            if let Some(path) = self.store.get(&pin.component) {
                return Ok(Resolved {
                    path,
                    manifest: pin.manifest.clone(),
                    component: pin.component.clone(),
                    pulled: false,
                });
            }
            if self.options.offline {
                return Err(RegistryError::PinnedNotCached {
                    reference: key,
                    component: pin.component.clone(),
                });
            }
            let resolved = self.pull(&r.at(&pin.manifest)).await?;
            if resolved.component != pin.component {
                return Err(RegistryError::PinMismatch {
                    reference: key,
                    manifest: pin.manifest.clone(),
                    component: resolved.component,
                    pinned: pin.component.clone(),
                    lockfile,
                });
            }
            self.remember(&key, &resolved)?;
            return Ok(resolved);
        }
        // Unpinned: a digest reference pins itself; a tag is resolved now.
        if let Some(entry) = self.store.entries().get(&key) {
            let reusable = r.digest.is_some() || self.options.offline;
            if reusable && let Some(path) = self.store.get(&entry.component) {
                if self.options.offline && r.digest.is_none() {
                    tracing::warn!(
                        "{key}: --offline: using the cached {} without asking the registry",
                        entry.manifest
                    );
                }
                return Ok(Resolved {
                    path,
                    manifest: entry.manifest.clone(),
                    component: entry.component.clone(),
                    pulled: false,
                });
            }
        }
        if self.options.offline {
            return Err(RegistryError::NotCached { reference: key });
        }
        let resolved = self.pull(r).await?;
        self.remember(&key, &resolved)?;
        Ok(resolved)
    }

    /// Record in the cache index what `key` resolved to.
    pub fn remember(&self, key: &str, resolved: &Resolved) -> Result<(), RegistryError> {
        self.remember_with(key, resolved, None)
    }

    fn remember_with(
        &self,
        key: &str,
        resolved: &Resolved,
        annotations: Option<&BTreeMap<String, String>>,
    ) -> Result<(), RegistryError> {
        let size = std::fs::metadata(&resolved.path).map(|m| m.len()).unwrap_or(0);
        let get = |k: &str| annotations.and_then(|a| a.get(k)).cloned();
        let previous = self.store.entries().get(key).cloned();
        let keep = |mine: Option<String>, old: Option<String>| mine.or(old);
        Ok(self.store.record(
            key,
            store::Entry {
                manifest: resolved.manifest.clone(),
                component: resolved.component.clone(),
                size,
                name: keep(get(ANNOTATION_TITLE), previous.as_ref().and_then(|p| p.name.clone())),
                version: keep(get(ANNOTATION_VERSION), previous.as_ref().and_then(|p| p.version.clone())),
            },
        )?)
    }

    /// The digest of the manifest the registry serves for `r` now.
    pub async fn manifest_digest(&self, r: &RemoteRef) -> Result<String, RegistryError> {
        let (client, credentials) = self.connect(r).await?;
        client
            .fetch_manifest_digest(&r.oci(), &credentials.auth)
            .await
            .map_err(|e| self.explain(r, "cannot read its manifest digest", e, credentials.secret()))
    }

    /// Pull `r`'s manifest and component; the component's digest is verified while it streams
    /// and again before it enters the cache.
    pub async fn pull(&self, r: &RemoteRef) -> Result<Resolved, RegistryError> {
        let (client, credentials) = self.connect(r).await?;
        let secret = credentials.secret();
        let reference = r.oci();
        let (manifest, manifest_digest) = client
            .pull_manifest(&reference, &credentials.auth)
            .await
            .map_err(|e| self.explain(r, "cannot pull its manifest", e, secret))?;
        let not_a_component =
            |detail: String| RegistryError::NotAComponent { reference: r.to_string(), detail };
        let OciManifest::Image(image) = manifest else {
            return Err(not_a_component("the manifest is an index of images, not one Wasm component".into()));
        };
        if image.config.media_type != CONFIG_MEDIA_TYPE {
            return Err(not_a_component(format!(
                "not a Wasm component artifact (config media type {:?}, expected {CONFIG_MEDIA_TYPE})",
                image.config.media_type
            )));
        }
        let layer = match &image.layers[..] {
            [layer] if layer.media_type == LAYER_MEDIA_TYPE => layer.clone(),
            layers => {
                return Err(not_a_component(format!(
                    "expected exactly one {LAYER_MEDIA_TYPE} layer, found {}",
                    layers.iter().map(|l| l.media_type.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        };
        let component = layer.digest.clone();
        let path = match self.store.get(&component) {
            Some(path) => path,
            None => {
                let temp = self.store.temp()?;
                let reopened = temp.reopen().map_err(|source| store::CacheError::Io {
                    what: "cannot reopen the download",
                    path: temp.path().to_path_buf(),
                    source,
                })?;
                let mut file = tokio::fs::File::from_std(reopened);
                let scheme = if r.is_loopback() || self.options.insecure { "http" } else { "https" };
                blob::download(&client, r, &credentials, &component, scheme, &mut file).await.map_err(
                    |e| RegistryError::Remote {
                        reference: r.to_string(),
                        what: format!("component {component} refused"),
                        detail: scrubbed(e.to_string(), secret),
                    },
                )?;
                self.store
                    .commit(temp, &component)
                    .map_err(|source| RegistryError::Component { reference: r.to_string(), source })?
            }
        };
        let resolved = Resolved { path, manifest: manifest_digest, component, pulled: true };
        if let Some(annotations) = &image.annotations {
            self.remember_with(&r.canonical(), &resolved, Some(annotations))?;
        }
        Ok(resolved)
    }

    /// Whether `r` (a tag) exists in the registry.
    pub async fn exists(&self, r: &RemoteRef) -> Result<bool, RegistryError> {
        let (client, credentials) = self.connect(r).await?;
        match client.fetch_manifest_digest(&r.oci(), &credentials.auth).await {
            Ok(_) => Ok(true),
            Err(oci_client::errors::OciDistributionError::ImageManifestNotFoundError(_)) => Ok(false),
            Err(oci_client::errors::OciDistributionError::RegistryError { envelope, .. })
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        oci_client::errors::OciErrorCode::ManifestUnknown
                            | oci_client::errors::OciErrorCode::NameUnknown
                    )
                }) =>
            {
                Ok(false)
            }
            Err(e) => Err(self.explain(r, "cannot tell whether it exists", e, credentials.secret())),
        }
    }

    /// Push `bytes` as a Wasm component artifact; returns the manifest digest.
    pub async fn push(
        &self,
        r: &RemoteRef,
        bytes: Vec<u8>,
        config: serde_json::Value,
        annotations: BTreeMap<String, String>,
    ) -> Result<String, RegistryError> {
        let (client, credentials) = self.connect(r).await?;
        let secret = credentials.secret();
        let layers = vec![ImageLayer::new(bytes, LAYER_MEDIA_TYPE.to_string(), None)];
        let config = Config::new(
            serde_json::to_vec(&config).expect("config serializes"),
            CONFIG_MEDIA_TYPE.to_string(),
            None,
        );
        let mut manifest = OciImageManifest::build(&layers, &config, Some(annotations));
        manifest.media_type = Some(MANIFEST_MEDIA_TYPE.to_string());
        client
            .push(&r.oci(), &layers, config, &credentials.auth, Some(manifest))
            .await
            .map_err(|e| self.explain(r, "push failed", e, secret))?;
        client
            .fetch_manifest_digest(&r.oci(), &credentials.auth)
            .await
            .map_err(|e| self.explain(r, "pushed, but cannot read back its digest", e, secret))
    }

    /// The tags of `r`'s repository.
    pub async fn tags(&self, r: &RemoteRef) -> Result<Vec<String>, RegistryError> {
        let (client, credentials) = self.connect(r).await?;
        let response = client
            .list_tags(&r.oci(), &credentials.auth, None, None)
            .await
            .map_err(|e| self.explain(r, "cannot list its tags", e, credentials.secret()))?;
        Ok(response.tags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_on_this_machine_or_when_insecure() {
        let at = |text: &str| RemoteRef::parse(text, None).unwrap();
        assert_eq!(protocol(&at("oci://ghcr.io/acme/ledger:1"), false), ClientProtocol::Https);
        assert_eq!(
            protocol(&at("oci://ghcr.io/acme/ledger:1"), true),
            ClientProtocol::HttpsExcept(vec!["ghcr.io".into()])
        );
        assert_eq!(
            protocol(&at("oci://127.0.0.1:5000/ledger:1"), false),
            ClientProtocol::HttpsExcept(vec!["127.0.0.1:5000".into()])
        );
        assert_eq!(
            protocol(&at("oci://localhost:5000/ledger:1"), false),
            ClientProtocol::HttpsExcept(vec!["localhost:5000".into()])
        );
    }

    #[test]
    fn messages_never_hold_the_secret() {
        assert_eq!(scrubbed("401 for hunter2-pass".into(), Some("hunter2-pass")), "401 for [REDACTED]");
    }
}
