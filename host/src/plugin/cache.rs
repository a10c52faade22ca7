//! The on-disk cache of compiled plugins, keyed by the component's sha256 and the engine's
//! compatibility hash, so a second run deserializes instead of recompiling.
//!
//! Only artifacts this host compiled are ever deserialized: the key includes the exact component
//! bytes and the engine, and each artifact has a sha256 beside it, checked before the bytes are
//! deserialized (deserializing damaged native code would be undefined behaviour); a mismatch
//! means "compile again".

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::io::Write;
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

/// A `Hasher` over sha256: stable across Rust releases, unlike `DefaultHasher`, so a cache key
/// means the same thing to every smoke build with the same engine.
struct StableHasher(Sha256);

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

/// The engine's part of a cache key: its configuration and version, hashed stably.
pub fn engine_key(engine: &Engine) -> String {
    let mut hasher = StableHasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// The artifact path for a component digest under this engine's configuration and version.
pub fn artifact_path(dir: &Path, engine: &Engine, digest: &str) -> PathBuf {
    dir.join("compiled").join(format!("{digest}-{}.cwasm", engine_key(engine)))
}

/// The checksum file beside an artifact.
fn checksum_path(artifact: &Path) -> PathBuf {
    artifact.with_extension("cwasm.sha256")
}

/// The artifact, open, if its checksum file vouches for its bytes. They are hashed as they are
/// read through one small buffer, not gathered in memory: a cached artifact is then mapped from
/// this very file (its inode), so nothing else needs them.
fn verified(path: &Path) -> Option<std::fs::File> {
    use std::io::Read;
    let expected = std::fs::read_to_string(checksum_path(path)).ok()?;
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 << 10];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    (hex::encode(hasher.finalize()) == expected.trim()).then_some(file)
}

/// Deserialize the artifact open in `file`, mapped from that same file (the kernel's cached pages,
/// neither read into memory nor copied), through its `/proc/self/fd` name; read whole where that
/// name does not exist.
///
/// # Safety
///
/// As [`Component::deserialize_file`]: the file holds what `Component::serialize` made, for a
/// compatible engine, and is not changed while the component lives. smoke never writes an
/// artifact in place (a new one is renamed over it), so a mapped one stays as it was checked.
unsafe fn deserialize(engine: &Engine, mut file: std::fs::File) -> wasmtime::Result<Component> {
    use std::os::fd::AsRawFd;
    let by_fd = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    if by_fd.exists() {
        // SAFETY: passed on from the caller; the name opens the inode that was checked.
        return unsafe { Component::deserialize_file(engine, &by_fd) };
    }
    let mut bytes = Vec::new();
    std::io::Seek::rewind(&mut file)?;
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    // SAFETY: passed on from the caller.
    unsafe { Component::deserialize(engine, &bytes) }
}

/// How a component was obtained, for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Deserialized from this cached artifact.
    Cached(PathBuf),
    /// Compiled now; stored at the path if caching worked.
    Compiled(Option<PathBuf>),
}

/// Compile a component, saying so first and how long it took after: an interpreter-carrying
/// plugin (Python, JavaScript) takes seconds the first time, and a pause is never silent. On a
/// terminal the lines go to stderr; always to the log (`-v`).
fn compile(engine: &Engine, bytes: &[u8], label: &str) -> wasmtime::Result<Component> {
    use std::io::{IsTerminal, Write};
    let terminal = std::io::stderr().is_terminal();
    let size = format!("{:.1} MiB", bytes.len() as f64 / f64::from(1 << 20));
    let doing = format!("compiling plugin {label} ({size}) for this machine, once: later runs reuse it");
    tracing::info!("{doing}");
    // Written straight to the terminal (this runs before any progress bar); a closed stderr is
    // no reason to fail.
    if terminal {
        let _ = writeln!(std::io::stderr(), "smoke: {doing} ...");
    }
    let started = std::time::Instant::now();
    let component = Component::new(engine, bytes)?;
    let done = format!("compiled plugin {label} in {:.1} s", started.elapsed().as_secs_f64());
    tracing::info!("{done}");
    if terminal {
        let _ = writeln!(std::io::stderr(), "smoke: {done}");
    }
    Ok(component)
}

/// Load a component: from the cache when a usable artifact exists, else compile and store it.
/// `label` names it in what is said while it compiles.
pub fn load(
    engine: &Engine,
    bytes: &[u8],
    digest: &str,
    label: &str,
) -> wasmtime::Result<(Component, Origin)> {
    let Some(dir) = cache_dir() else {
        return Ok((compile(engine, bytes, label)?, Origin::Compiled(None)));
    };
    let path = artifact_path(&dir, engine, digest);
    if path.is_file() {
        match verified(&path) {
            Some(artifact) => {
                // SAFETY: these bytes were produced by `Component::serialize` in `store` below, by
                // this host, for exactly these component bytes (the name carries their sha256)
                // and a compatible engine (the name carries its key), and they are unchanged
                // since (their sha256 matches the one stored beside them).
                match unsafe { deserialize(engine, artifact) } {
                    Ok(component) => {
                        // Its modification time says when it was last used (`smoke plugin gc`).
                        let _ = std::fs::File::options()
                            .write(true)
                            .open(&path)
                            .and_then(|f| f.set_modified(std::time::SystemTime::now()));
                        return Ok((component, Origin::Cached(path)));
                    }
                    Err(e) => tracing::warn!("ignoring unusable cached artifact {}: {e}", path.display()),
                }
            }
            None => tracing::warn!(
                "cache: {} does not match its checksum (damaged or from an older smoke); compiling again",
                path.display()
            ),
        }
    }
    let component = compile(engine, bytes, label)?;
    let stored = match store(&component, &path) {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!("could not cache compiled plugin at {}: {e}", path.display());
            None
        }
    };
    Ok((component, Origin::Compiled(stored)))
}

/// Write atomically (a uniquely named temporary file, then rename) so a concurrent run never
/// reads half a file: the checksum first, then the artifact it vouches for.
fn store(component: &Component, path: &Path) -> std::io::Result<()> {
    let bytes = component.serialize().map_err(|e| std::io::Error::other(e.to_string()))?;
    let dir = path.parent().ok_or_else(|| std::io::Error::other("artifact path has no parent"))?;
    std::fs::create_dir_all(dir)?;
    let write = |target: &Path, content: &[u8]| -> std::io::Result<()> {
        let mut tmp = tempfile::Builder::new().prefix(".compiling-").tempfile_in(dir)?;
        tmp.write_all(content)?;
        tmp.persist(target).map_err(|e| e.error)?;
        Ok(())
    };
    write(&checksum_path(path), hex::encode(Sha256::digest(&bytes)).as_bytes())?;
    write(path, &bytes)
}

/// Remove compiled artifacts that no longer serve: those for another engine (an older or newer
/// smoke), those whose checksum is missing or wrong, and those of components neither in `keep`
/// (by sha256) nor used within `unused_for`. Returns the paths removed and the bytes freed.
pub fn prune(
    engine: &Engine,
    keep: &std::collections::BTreeSet<String>,
    unused_for: std::time::Duration,
) -> (Vec<PathBuf>, u64) {
    let mut removed = Vec::new();
    let mut freed = 0;
    let Some(dir) = cache_dir().map(|d| d.join("compiled")) else { return (removed, freed) };
    let Ok(entries) = std::fs::read_dir(&dir) else { return (removed, freed) };
    let suffix = format!("-{}.cwasm", engine_key(engine));
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".cwasm").map(|_| name.as_str()) else { continue };
        let current = stem.ends_with(&suffix);
        let digest = stem.split('-').next().unwrap_or("");
        let used_lately = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age < unused_for);
        let wanted = keep.contains(digest) || used_lately;
        if current && wanted && verified(&path).is_some() {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        if std::fs::remove_file(&path).is_ok() {
            let _ = std::fs::remove_file(checksum_path(&path));
            freed += size;
            removed.push(path);
        }
    }
    (removed, freed)
}
