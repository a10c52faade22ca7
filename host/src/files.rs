//! The files a run reads and writes at a user's word, as a hostile filesystem cannot abuse them.
//!
//! Reads take only regular files, within a size limit, and never block on a FIFO (it is opened
//! without waiting for a writer, then refused). Writes never follow a link: a report is written
//! to a new file beside its destination and renamed into place (a reader never sees half of it,
//! and a link planted there is replaced, its target untouched); a log, written as it grows, is
//! opened refusing a link. A directory a run writes into is locked for that run.

use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A file that cannot be read as asked.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} {what}; give a regular file", .path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{} is over the limit of {limit} bytes for {kind}", .path.display())]
    TooLarge { path: PathBuf, limit: u64, kind: &'static str },
    #[error("{} is not UTF-8 text: {source}", .path.display())]
    NotText { path: PathBuf, source: std::string::FromUtf8Error },
}

impl ReadError {
    /// The underlying I/O error's kind, when there is one (`NotFound`...).
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            ReadError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

/// What a metadata's file type is, in words, when it is not a regular file.
fn not_regular(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    match () {
        _ if t.is_file() => None,
        _ if t.is_dir() => Some("is a directory"),
        _ if t.is_fifo() => Some("is a FIFO (a named pipe), not a regular file"),
        _ if t.is_char_device() || t.is_block_device() => Some("is a device, not a regular file"),
        _ if t.is_socket() => Some("is a socket, not a regular file"),
        _ => Some("is not a regular file"),
    }
}

/// Open a file for reading: without blocking (a FIFO with no writer would), then checked to be a
/// regular file (on the open file, so what is checked is what is read).
pub fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), ReadError> {
    let io = |source| ReadError::Io { path: path.to_path_buf(), source };
    let file =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if let Some(what) = not_regular(&meta) {
        return Err(ReadError::NotAFile { path: path.to_path_buf(), what });
    }
    Ok((file, meta))
}

/// The bytes of a regular file of at most `limit` bytes (`kind` names what it is for in errors:
/// "a config file"). The limit holds even for a file that grows while it is read.
pub fn read(path: &Path, limit: u64, kind: &'static str) -> Result<Vec<u8>, ReadError> {
    let (file, meta) = open_regular(path)?;
    let too_large = || ReadError::TooLarge { path: path.to_path_buf(), limit, kind };
    if meta.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io { path: path.to_path_buf(), source })?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read`], as UTF-8 text.
pub fn read_text(path: &Path, limit: u64, kind: &'static str) -> Result<String, ReadError> {
    String::from_utf8(read(path, limit, kind)?)
        .map_err(|source| ReadError::NotText { path: path.to_path_buf(), source })
}

/// The most a config file, a plan file or a report read back may be.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;
/// The most a plan or a report read back may be: a million scenarios.
pub const MAX_PLAN_BYTES: u64 = 4 << 30;
/// The most a certificate or key file may be.
pub const MAX_PEM_BYTES: u64 = 1 << 20;

/// Write `path` whole or not at all: into a new file in the same folder (made first), renamed
/// over the destination when complete. A link at the destination is replaced, never followed;
/// a directory there is an error.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.to_path_buf()
        }
        None => PathBuf::from("."),
    };
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"));
    }
    let mut temporary = tempfile::Builder::new().prefix(".smoke-").suffix(".part").tempfile_in(&dir)?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 16, temporary.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    // Readable as any report is (the temporary file was made private).
    std::fs::set_permissions(temporary.path(), std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    temporary.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Copy a file the run wrote to where a user asked for it, as [`write_atomically`] writes.
pub fn copy_atomically(from: &Path, to: &Path) -> std::io::Result<()> {
    write_atomically(to, |out| {
        let (mut file, _) = open_regular(from).map_err(std::io::Error::other)?;
        std::io::copy(&mut file, out).map(drop)
    })
}

/// Open a log to append to as it grows, creating it; a link there is refused (`ELOOP`), so what
/// a service prints never lands where a link points.
pub fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().create(true).append(true).custom_flags(libc::O_NOFOLLOW).open(path)
}

/// Whether two paths name one existing file.
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

/// A directory held by one run: its lock file stays open (and locked) as long as this lives.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

/// The directory is another run's, or cannot be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{} is in use by another smoke run (pid {pid}); give each run its own directory (or wait for it)",
        .dir.display()
    )]
    Busy { dir: PathBuf, pid: String },
    #[error("cannot lock {}: {source}", .dir.display())]
    Io { dir: PathBuf, source: std::io::Error },
}

/// The name of the lock file in a directory a run writes into.
pub const LOCK_FILE: &str = ".smoke-run.lock";

/// Lock `dir` for this run: a second run that asks for it is refused, naming this one's pid.
pub fn lock_dir(dir: &Path) -> Result<DirLock, LockError> {
    let io = |source| LockError::Io { dir: dir.to_path_buf(), source };
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o644)
        .open(&path)
        .map_err(io)?;
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor this function owns; no memory is involved.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::WouldBlock {
            return Err(io(error));
        }
        let mut text = String::new();
        let _ = (&file).take(32).read_to_string(&mut text);
        let pid = text.trim().to_string();
        return Err(LockError::Busy {
            dir: dir.to_path_buf(),
            pid: if pid.is_empty() { "unknown".into() } else { pid },
        });
    }
    file.set_len(0).map_err(io)?;
    write!(file, "{}", std::process::id()).map_err(io)?;
    Ok(DirLock { _file: file })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_are_read_and_never_past_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read(&fifo, 10, "a config file").unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        let e = read(Path::new("/dev/zero"), 10, "a config file").unwrap_err();
        assert!(e.to_string().contains("is a device"), "{e}");
        let e = read(dir.path(), 10, "a config file").unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let big = dir.path().join("big");
        std::fs::write(&big, "0123456789a").unwrap();
        let e = read(&big, 10, "a config file").unwrap_err();
        assert!(e.to_string().contains("over the limit of 10 bytes for a config file"), "{e}");
        assert_eq!(read(&big, 11, "x").unwrap(), b"0123456789a");
    }

    #[test]
    fn a_link_at_the_destination_is_replaced_and_its_target_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let report = dir.path().join("report.json");
        std::os::unix::fs::symlink(&victim, &report).unwrap();
        write_atomically(&report, |out| out.write_all(b"{}")).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}");
        assert!(!std::fs::symlink_metadata(&report).unwrap().file_type().is_symlink());
        let log = dir.path().join("service.log");
        std::os::unix::fs::symlink(&victim, &log).unwrap();
        assert!(open_log(&log).is_err(), "a link where a log goes is refused");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn a_locked_directory_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path()).unwrap();
        // flock locks belong to the open file: a second open in this process is refused too.
        let e = lock_dir(dir.path()).unwrap_err();
        assert!(e.to_string().contains(&format!("pid {}", std::process::id())), "{e}");
        drop(held);
        lock_dir(dir.path()).unwrap();
    }
}
