//! `smoke.lock`: every registry plugin reference pinned to the manifest and component digests it
//! resolved to. `smoke plugin lock` writes it; runs use it; `--locked` requires it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "smoke.lock";

const HEADER: &str = "\
# smoke.lock: registry plugins pinned to digests. Written by `smoke plugin lock`; commit it.
# Runs pull these exact digests; `smoke run --locked` refuses a plugin that is not pinned here.
";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub reference: String,
    pub manifest: String,
    pub component: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct File {
    version: u32,
    #[serde(default, rename = "plugin")]
    plugins: Vec<Pin>,
}

#[derive(Debug, Clone)]
pub struct Lockfile {
    pub path: PathBuf,
    pins: BTreeMap<String, Pin>,
}

/// A lockfile that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("lockfile: {0}")]
    Read(crate::files::ReadError),
    #[error("{}: not a smoke lockfile: {}", .path.display(), .source.to_string().trim_end())]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("{}: lockfile version {version} is not supported (this smoke writes version 1)", .path.display())]
    Version { path: PathBuf, version: u32 },
    #[error("cannot write the lockfile: {0}")]
    Serialize(toml::ser::Error),
    #[error("{}: cannot write it: {source}", .path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

impl Lockfile {
    /// Read `path`; a missing file is an empty lockfile.
    pub fn load(path: &Path) -> Result<Lockfile, LockError> {
        let pins = match crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES, "a lockfile") {
            Err(e) if e.io_kind() == Some(std::io::ErrorKind::NotFound) => BTreeMap::new(),
            Err(e) => return Err(LockError::Read(e)),
            Ok(text) => {
                let file: File = toml::from_str(&text)
                    .map_err(|source| LockError::Parse { path: path.to_path_buf(), source })?;
                if file.version != 1 {
                    return Err(LockError::Version { path: path.to_path_buf(), version: file.version });
                }
                file.plugins.into_iter().map(|p| (p.reference.clone(), p)).collect()
            }
        };
        Ok(Lockfile { path: path.to_path_buf(), pins })
    }

    /// A lockfile at `path` with no pins, to be filled and saved.
    pub fn empty(path: &Path) -> Lockfile {
        Lockfile { path: path.to_path_buf(), pins: BTreeMap::new() }
    }

    pub fn get(&self, reference: &str) -> Option<&Pin> {
        self.pins.get(reference)
    }

    pub fn pins(&self) -> impl Iterator<Item = &Pin> {
        self.pins.values()
    }

    pub fn set(&mut self, pin: Pin) {
        self.pins.insert(pin.reference.clone(), pin);
    }

    /// Write the lockfile: sorted, so it diffs cleanly.
    pub fn save(&self) -> Result<(), LockError> {
        let file = File { version: 1, plugins: self.pins.values().cloned().collect() };
        let body = toml::to_string(&file).map_err(LockError::Serialize)?;
        std::fs::write(&self.path, format!("{HEADER}\n{body}"))
            .map_err(|source| LockError::Write { path: self.path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lockfile_round_trips_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut lock = Lockfile::load(&path).unwrap();
        for name in ["b", "a"] {
            lock.set(Pin {
                reference: format!("oci://h/{name}:1"),
                manifest: "sha256:m".into(),
                component: "sha256:c".into(),
            });
        }
        lock.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# smoke.lock"));
        assert!(text.find("oci://h/a:1").unwrap() < text.find("oci://h/b:1").unwrap(), "{text}");
        let again = Lockfile::load(&path).unwrap();
        assert_eq!(again.get("oci://h/a:1").unwrap().manifest, "sha256:m");
        std::fs::write(&path, "version = 7\n").unwrap();
        assert!(Lockfile::load(&path).unwrap_err().to_string().contains("version 7"));
    }
}
