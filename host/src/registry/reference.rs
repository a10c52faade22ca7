//! Plugin references: `oci://HOST/REPO:TAG`, `oci://HOST/REPO@sha256:...`, and short names
//! `NAME@VERSION` through the default registry.

/// A plugin in an OCI registry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RemoteRef {
    /// `host[:port]`.
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<64 hex>` of the manifest.
    pub digest: Option<String>,
}

/// Whether `text` names a registry plugin rather than a file: `oci://...`, or `NAME@VERSION`
/// (no `/`, not a `.wasm` file, not an existing path).
pub fn is_remote(text: &str) -> bool {
    text.starts_with("oci://")
        || (text.contains('@')
            && !text.contains('/')
            && !text.ends_with(".wasm")
            && !std::path::Path::new(text).exists())
}

fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    })
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && !t.starts_with(['.', '-'])
        && t.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// OCI repository names: lowercase path components of letters and digits joined by `.`, `_`,
/// `-`.
fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.split('/').all(|part| {
            !part.is_empty()
                && !part.starts_with(['.', '_', '-'])
                && !part.ends_with(['.', '_', '-'])
                && part
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
        })
}

/// A plugin reference that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("{text:?} is not a plugin reference: use oci://HOST/REPO:TAG or NAME@VERSION")]
    NotAReference { text: String },
    #[error(
        "{text:?} is a short plugin name, but no default registry is set: set `default` in the \
         [registry] table of smoke.toml or SMOKE_REGISTRY, or use oci://HOST/REPO:TAG"
    )]
    NoDefaultRegistry { text: String },
    #[error("{text:?} through the default registry {default:?}: {source}")]
    ThroughDefault { text: String, default: String, source: Box<ReferenceError> },
    #[error("{text:?}: expected oci://HOST/REPO:TAG")]
    NoRepository { text: String },
    #[error("{text:?}: {digest:?} is not a digest (expected sha256:<64 hex digits>)")]
    BadDigest { text: String, digest: String },
    #[error(
        "{text:?}: {repository:?} is not a repository name (lowercase letters, digits, '.', '_', '-', \
         separated by '/')"
    )]
    BadRepository { text: String, repository: String },
    #[error("{text:?}: {tag:?} is not a tag (letters, digits, '_', '.', '-')")]
    BadTag { text: String, tag: String },
    #[error(
        "{text:?} names no version: add :TAG (e.g. :0.1.0) or @sha256:DIGEST; smoke never assumes `latest`"
    )]
    NoVersion { text: String },
}

impl RemoteRef {
    /// Parse a reference. `default_registry` (`HOST/PATH`, from `[registry] default` or
    /// `SMOKE_REGISTRY`) turns `NAME@VERSION` into `oci://HOST/PATH/NAME:VERSION`.
    pub fn parse(text: &str, default_registry: Option<&str>) -> Result<RemoteRef, ReferenceError> {
        let text_of = || text.to_string();
        let Some(rest) = text.strip_prefix("oci://") else {
            let (name, version) =
                text.split_once('@').ok_or_else(|| ReferenceError::NotAReference { text: text_of() })?;
            let Some(default) = default_registry else {
                return Err(ReferenceError::NoDefaultRegistry { text: text_of() });
            };
            let default = default.trim_start_matches("oci://").trim_end_matches('/');
            return RemoteRef::parse(&format!("oci://{default}/{name}:{version}"), None).map_err(|e| {
                ReferenceError::ThroughDefault {
                    text: text_of(),
                    default: default.to_string(),
                    source: Box::new(e),
                }
            });
        };
        let (host, path) = rest
            .split_once('/')
            .filter(|(h, p)| !h.is_empty() && !p.is_empty())
            .ok_or_else(|| ReferenceError::NoRepository { text: text_of() })?;
        let (name, digest) = match path.split_once('@') {
            Some((name, digest)) if valid_digest(digest) => (name, Some(digest.to_string())),
            Some((_, digest)) => {
                return Err(ReferenceError::BadDigest { text: text_of(), digest: digest.to_string() });
            }
            None => (path, None),
        };
        let (repository, tag) = match name.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag.to_string())),
            _ => (name, None),
        };
        if !valid_repository(repository) {
            return Err(ReferenceError::BadRepository {
                text: text_of(),
                repository: repository.to_string(),
            });
        }
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(ReferenceError::BadTag { text: text_of(), tag: t.clone() });
        }
        if tag.is_none() && digest.is_none() {
            return Err(ReferenceError::NoVersion { text: text_of() });
        }
        Ok(RemoteRef { registry: host.to_string(), repository: repository.to_string(), tag, digest })
    }

    /// `oci://host/repo:tag`, `oci://host/repo@sha256:...` or both: the key in the lockfile and
    /// the cache.
    pub fn canonical(&self) -> String {
        let mut out = format!("oci://{}/{}", self.registry, self.repository);
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d);
        }
        out
    }

    /// The same repository at a manifest digest.
    pub fn at(&self, digest: &str) -> RemoteRef {
        RemoteRef { tag: None, digest: Some(digest.to_string()), ..self.clone() }
    }

    pub fn oci(&self) -> oci_client::Reference {
        match (&self.tag, &self.digest) {
            (_, Some(d)) => {
                oci_client::Reference::with_digest(self.registry.clone(), self.repository.clone(), d.clone())
            }
            (Some(t), None) => {
                oci_client::Reference::with_tag(self.registry.clone(), self.repository.clone(), t.clone())
            }
            (None, None) => unreachable!("parse refuses a reference without tag or digest"),
        }
    }

    /// A registry on this machine (plain HTTP is allowed only for these, or with --insecure).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|c| c.is_ascii_digit()) => h,
            _ => self.registry.as_str(),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl std::fmt::Display for RemoteRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_into_registry_repository_tag_and_digest() {
        let r = RemoteRef::parse("oci://127.0.0.1:5000/smoke/ledger:0.1.0", None).unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("127.0.0.1:5000", "smoke/ledger"));
        assert_eq!(r.tag.as_deref(), Some("0.1.0"));
        assert!(r.is_loopback());
        let d = format!("sha256:{}", "a".repeat(64));
        let r = RemoteRef::parse(&format!("oci://ghcr.io/acme/plugins/ledger@{d}"), None).unwrap();
        assert_eq!((r.tag, r.digest.as_deref()), (None, Some(d.as_str())));
        assert!(!RemoteRef::parse("oci://ghcr.io/a/b:1", None).unwrap().is_loopback());
        let short = RemoteRef::parse("ledger@0.1.0", Some("localhost:5000/smoke")).unwrap();
        assert_eq!(short.canonical(), "oci://localhost:5000/smoke/ledger:0.1.0");
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        for (text, says) in [
            ("oci://host/repo", "names no version"),
            ("oci://host/Repo:1", "not a repository name"),
            ("oci://host/repo@sha256:xyz", "not a digest"),
            ("oci://host", "expected oci://HOST/REPO:TAG"),
            ("ledger@0.1.0", "no default registry"),
        ] {
            let e = RemoteRef::parse(text, None).unwrap_err().to_string();
            assert!(e.contains(says), "{text}: {e}");
        }
    }

    #[test]
    fn files_and_references_are_told_apart() {
        assert!(is_remote("oci://h/r:1"));
        assert!(is_remote("ledger@0.1.0"));
        assert!(!is_remote("target/ledger.wasm"));
        assert!(!is_remote("ledger.wasm"));
    }
}
