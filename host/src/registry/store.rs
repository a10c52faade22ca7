//! The content-addressed cache of pulled components: `<cache>/registry/blobs/sha256/<hex>`,
//! and `refs.json`, which reference resolved to which manifest and component.
//!
//! A blob is written to a temporary file and renamed into place only after its sha256 matched,
//! so the cache never holds bytes that failed verification. A blob is hashed again whenever it
//! is used, so a file altered on disk is noticed, not run.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a cached reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Manifest digest.
    pub manifest: String,
    /// Component (layer) digest.
    pub component: String,
    pub size: u64,
    /// From the manifest's annotations, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The local store cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: set SMOKE_CACHE_DIR or HOME so pulled plugins can be stored")]
    NoCacheDir,
    #[error("cache: {what} {}: {source}", .path.display())]
    Io { what: &'static str, path: PathBuf, source: std::io::Error },
    #[error("the component's digest is {actual}, not {expected}: refused, nothing cached")]
    Digest { actual: String, expected: String },
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CacheError {
    let path = path.to_path_buf();
    move |source| CacheError::Io { what, path, source }
}

pub struct Store {
    dir: PathBuf,
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&bytes))))
}

impl Store {
    /// The store under the user cache directory (`$SMOKE_CACHE_DIR` when set).
    pub fn open() -> Result<Store, CacheError> {
        let base = crate::plugin::cache::cache_dir().ok_or(CacheError::NoCacheDir)?;
        Ok(Store { dir: base.join("registry") })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn blobs(&self) -> PathBuf {
        self.dir.join("blobs").join("sha256")
    }

    pub fn blob_path(&self, digest: &str) -> PathBuf {
        self.blobs().join(digest.trim_start_matches("sha256:"))
    }

    /// The cached component with this digest, if it is there and still has that digest.
    pub fn get(&self, digest: &str) -> Option<PathBuf> {
        let path = self.blob_path(digest);
        match sha256_file(&path) {
            Ok(actual) if actual == digest => Some(path),
            Ok(actual) => {
                tracing::warn!("cache: {} has digest {actual}, not {digest}; ignoring it", path.display());
                None
            }
            Err(_) => None,
        }
    }

    /// A fresh temporary file in the store, for a download.
    pub fn temp(&self) -> Result<tempfile::NamedTempFile, CacheError> {
        let dir = self.blobs();
        std::fs::create_dir_all(&dir).map_err(io("cannot create", &dir))?;
        tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(&dir)
            .map_err(io("cannot create a file in", &dir))
    }

    /// Move a finished download into place if its sha256 is `digest`; otherwise it is deleted
    /// and nothing is cached.
    pub fn commit(&self, temp: tempfile::NamedTempFile, digest: &str) -> Result<PathBuf, CacheError> {
        let actual = sha256_file(temp.path()).map_err(io("cannot read the download", temp.path()))?;
        if actual != digest {
            return Err(CacheError::Digest { actual, expected: digest.to_string() });
        }
        let path = self.blob_path(digest);
        temp.persist(&path).map_err(|e| io("cannot store", &path)(e.error))?;
        Ok(path)
    }

    fn refs_path(&self) -> PathBuf {
        self.dir.join("refs.json")
    }

    pub fn entries(&self) -> BTreeMap<String, Entry> {
        std::fs::read_to_string(self.refs_path())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn save(&self, entries: &BTreeMap<String, Entry>) -> Result<(), CacheError> {
        std::fs::create_dir_all(&self.dir).map_err(io("cannot create", &self.dir))?;
        let text = serde_json::to_string_pretty(entries).expect("entries serialize");
        let mut temp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(io("cannot create a file in", &self.dir))?;
        std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(io("cannot write", temp.path()))?;
        let refs = self.refs_path();
        temp.persist(&refs).map_err(|e| io("cannot replace", &refs)(e.error))?;
        Ok(())
    }

    /// Run `f` holding the store's lock, so concurrent smoke processes never lose each other's
    /// updates to refs.json, and `gc` never runs beside another process's read-modify-write.
    fn locked<T>(&self, f: impl FnOnce() -> Result<T, CacheError>) -> Result<T, CacheError> {
        std::fs::create_dir_all(&self.dir).map_err(io("cannot create", &self.dir))?;
        let path = self.dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io("cannot open the lock", &path))?;
        file.lock().map_err(io("cannot lock", &path))?;
        let result = f();
        let _ = file.unlock();
        result
    }

    /// Remember what `reference` resolved to.
    pub fn record(&self, reference: &str, entry: Entry) -> Result<(), CacheError> {
        self.locked(|| {
            let mut entries = self.entries();
            entries.insert(reference.to_string(), entry);
            self.save(&entries)
        })
    }

    /// Remove blobs no reference points to, references whose blob is gone, and abandoned
    /// downloads. Returns what was removed and the bytes freed.
    pub fn gc(&self) -> Result<(Vec<String>, u64), CacheError> {
        self.locked(|| self.gc_locked())
    }

    fn gc_locked(&self) -> Result<(Vec<String>, u64), CacheError> {
        let mut entries = self.entries();
        let mut removed = Vec::new();
        entries.retain(|reference, e| {
            let keep = self.blob_path(&e.component).is_file();
            if !keep {
                removed.push(format!("{reference} (its component is no longer cached)"));
            }
            keep
        });
        self.save(&entries)?;
        let wanted: BTreeSet<String> =
            entries.values().map(|e| e.component.trim_start_matches("sha256:").to_string()).collect();
        let mut freed = 0;
        for file in std::fs::read_dir(self.blobs()).into_iter().flatten().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            // A download is another process's until it is an hour old: it may be in progress.
            let recent = file
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_none_or(|age| age < std::time::Duration::from_secs(3600));
            if name.starts_with(".download-") && recent || name == ".lock" {
                continue;
            }
            if !wanted.contains(&name) {
                freed += file.metadata().map(|m| m.len()).unwrap_or(0);
                std::fs::remove_file(file.path()).map_err(io("cannot remove", &file.path()))?;
                removed.push(if name.starts_with(".download-") {
                    format!("an abandoned download ({name})")
                } else {
                    format!("component sha256:{name}")
                });
            }
        }
        Ok((removed, freed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_records_lose_no_reference() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store { dir: dir.path().join("registry") });
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for j in 0..10 {
                        let entry = Entry {
                            manifest: format!("sha256:m{i}{j}"),
                            component: format!("sha256:c{i}{j}"),
                            size: 1,
                            name: None,
                            version: None,
                        };
                        store.record(&format!("host/repo{i}:{j}"), entry).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(store.entries().len(), 80, "every writer's every record is kept");
    }
}
