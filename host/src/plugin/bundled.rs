//! The generic plugins built into this binary (`host/build.rs`): `--plugin openapi` and
//! `--plugin mcp` (and the same names in smoke.toml) need no file. A bundled component is written
//! once into the cache, by its digest, and then loaded, compiled and cached like any other.

use std::path::PathBuf;

static OPENAPI: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/openapi.wasm"));
static MCP: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/mcp.wasm"));

/// Every name a bundled plugin may have, whether or not this build has it.
pub const NAMES: &[&str] = &["openapi", "mcp"];

/// The component bundled as `name`, if this build has it.
pub fn component(name: &str) -> Option<&'static [u8]> {
    let bytes = match name {
        "openapi" => OPENAPI,
        "mcp" => MCP,
        _ => return None,
    };
    (!bytes.is_empty()).then_some(bytes)
}

/// The names of the plugins this build bundles.
pub fn available() -> Vec<&'static str> {
    NAMES.iter().copied().filter(|n| component(n).is_some()).collect()
}

/// Why a bundled plugin cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum BundledError {
    #[error(
        "plugin {name}: this smoke was built without it (build the plugins first: `make build`); it bundles: {}",
        if .available.is_empty() { "none".to_string() } else { .available.join(", ") }
    )]
    NotBuilt { name: String, available: Vec<&'static str> },
    #[error("plugin {name}: no cache directory to write it to (set SMOKE_CACHE_DIR)")]
    NoCacheDir { name: String },
    #[error("plugin {name}: cannot write it to {}: {source}", .path.display())]
    Write { name: String, path: PathBuf, source: std::io::Error },
}

/// The bundled component `name` as a file in the cache (`bundled/NAME-DIGEST.wasm`), written
/// there the first time (to a new file, then renamed into place).
pub fn file(name: &str) -> Result<PathBuf, BundledError> {
    let bytes = component(name)
        .ok_or_else(|| BundledError::NotBuilt { name: name.to_string(), available: available() })?;
    let dir = super::cache::cache_dir()
        .ok_or_else(|| BundledError::NoCacheDir { name: name.to_string() })?
        .join("bundled");
    let digest = super::cache::digest(bytes);
    let path = dir.join(format!("{name}-{}.wasm", &digest[..16]));
    if std::fs::read(&path).is_ok_and(|on_disk| on_disk == bytes) {
        return Ok(path);
    }
    let write = |source| BundledError::Write { name: name.to_string(), path: path.clone(), source };
    std::fs::create_dir_all(&dir).map_err(write)?;
    let mut fresh = tempfile::NamedTempFile::new_in(&dir).map_err(write)?;
    std::io::Write::write_all(&mut fresh, bytes).map_err(write)?;
    fresh.persist(&path).map_err(|e| write(e.error))?;
    Ok(path)
}
