//! The on-disk cache of compiled plugins, keyed by the component's sha256 and the engine's
//! compatibility hash, so a second run deserializes instead of recompiling.
//!
//! Only artifacts this host compiled are ever deserialized: the cache directory is ours and the
//! key includes the exact component bytes, so a file there was written by `store` below.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Where compiled artifacts live: `$SMOKE_CACHE_DIR`, else the user cache directory.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SMOKE_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "smoke").map(|dirs| dirs.cache_dir().to_path_buf())
}

/// The sha256 of a component, as lowercase hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The artifact path for a component digest under this engine's configuration and version.
pub fn artifact_path(dir: &Path, engine: &Engine, digest: &str) -> PathBuf {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let engine_hash = hasher.finish();
    dir.join("compiled").join(format!("{digest}-{engine_hash:016x}.cwasm"))
}

/// How a component was obtained, for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Deserialized from this cached artifact.
    Cached(PathBuf),
    /// Compiled now; stored at the path if caching worked.
    Compiled(Option<PathBuf>),
}

/// Load a component: from the cache when a usable artifact exists, else compile and store it.
pub fn load(engine: &Engine, bytes: &[u8], digest: &str) -> wasmtime::Result<(Component, Origin)> {
    let Some(dir) = cache_dir() else {
        return Ok((Component::new(engine, bytes)?, Origin::Compiled(None)));
    };
    let path = artifact_path(&dir, engine, digest);
    if path.is_file() {
        // SAFETY: the file was produced by `Component::serialize` in `store` below, by this
        // host, for exactly these component bytes (the name carries their sha256) and a
        // compatible engine (the name carries its compatibility hash).
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => return Ok((component, Origin::Cached(path))),
            Err(e) => tracing::warn!("ignoring unusable cached artifact {}: {e}", path.display()),
        }
    }
    let component = Component::new(engine, bytes)?;
    let stored = match store(&component, &path) {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!("could not cache compiled plugin at {}: {e}", path.display());
            None
        }
    };
    Ok((component, Origin::Compiled(stored)))
}

/// Write atomically (temp file, then rename) so a concurrent run never reads half a file.
fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = path.parent().ok_or_else(|| std::io::Error::other("artifact path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
