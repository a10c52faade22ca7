//! The processes around a run: spawn a command or the service in its own process group with its
//! output collected (every byte to the log file, a bounded tail in memory), and run the reset,
//! migrate and seed commands to completion within their time limits.

use super::{HookError, SHOWN_LINES};
use crate::config::Hook;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;

/// Lines of output kept in memory for error messages.
const KEPT_LINES: usize = 200;
/// Bytes of one line kept in memory (the log file gets every byte).
const KEPT_LINE_BYTES: usize = 4096;

/// A process group to signal: never 0 or 1, which `killpg` would read as "my own group" or
/// "every process I may signal" (taking the caller's shell with it).
#[derive(Debug, Clone, Copy)]
pub(super) struct Group(Pid);

impl Group {
    pub(super) fn of(pid: u32) -> Option<Group> {
        i32::try_from(pid).ok().filter(|&p| p > 1).map(|p| Group(Pid::from_raw(p)))
    }

    pub(super) fn signal(self, signal: Signal) {
        let _ = killpg(self.0, signal);
    }
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A program path: relative paths with a `/` are relative to the config's directory, made
/// absolute because the child runs elsewhere.
pub(super) fn resolve_command(command: &str, config_dir: &Path) -> PathBuf {
    let path = PathBuf::from(command);
    if command.contains('/') && path.is_relative() {
        std::path::absolute(config_dir.join(&path)).unwrap_or_else(|_| config_dir.join(path))
    } else {
        path
    }
}

/// Why a command cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{} is not an executable file", .0.display())]
    NotExecutable(PathBuf),
    #[error("{} does not exist (is it built? `make build` builds the examples)", .0.display())]
    Missing(PathBuf),
    #[error("{0} is not on PATH")]
    NotOnPath(String),
    #[error("{}: {source}{}", .path.display(), if .source.kind() == std::io::ErrorKind::NotFound { " (is it built? `make build` builds the examples)" } else { "" })]
    Start { path: PathBuf, source: std::io::Error },
    #[error("{}: exited at once, before it could be watched", .0.display())]
    Vanished(PathBuf),
}

/// Where a command would be found, or why it would not: for `smoke doctor`.
pub fn locate(command: &str, config_dir: &Path) -> Result<PathBuf, CommandError> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &Path| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if command.contains('/') {
        let path = resolve_command(command, config_dir);
        return if executable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(CommandError::NotExecutable(path))
        } else {
            Err(CommandError::Missing(path))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(command))
        .find(|p| executable(p))
        .ok_or_else(|| CommandError::NotOnPath(command.to_string()))
}

pub(super) type Lines = Arc<Mutex<VecDeque<String>>>;

pub(super) fn last_lines(lines: &Lines, n: usize) -> Vec<String> {
    let buf = lines.lock().unwrap_or_else(|e| e.into_inner());
    buf.iter().skip(buf.len().saturating_sub(n)).cloned().collect()
}

/// The most of a process's output its log keeps: the first [`LOG_HEAD`] bytes as they come, and
/// the last [`LOG_TAIL`] (held in memory, written when the output ends), with a line saying how
/// much was dropped between them. A process printing without end fills neither disk nor memory.
pub const LOG_HEAD: u64 = 16 << 20;
pub const LOG_TAIL: usize = 4 << 20;

/// A log file a process's output goes to, capped at its head and tail.
pub(super) struct CappedLog {
    file: tokio::fs::File,
    written: u64,
    tail: VecDeque<u8>,
    dropped: u64,
    /// Collectors still writing; the tail is written when the last one ends.
    writers: usize,
}

impl CappedLog {
    async fn write(&mut self, mut chunk: &[u8]) {
        if self.written < LOG_HEAD {
            let here = chunk.len().min((LOG_HEAD - self.written) as usize);
            let _ = self.file.write_all(&chunk[..here]).await;
            self.written += here as u64;
            chunk = &chunk[here..];
        }
        if chunk.len() >= LOG_TAIL {
            self.dropped += (self.tail.len() + chunk.len() - LOG_TAIL) as u64;
            self.tail.clear();
            chunk = &chunk[chunk.len() - LOG_TAIL..];
        }
        let over = (self.tail.len() + chunk.len()).saturating_sub(LOG_TAIL);
        self.tail.drain(..over);
        self.dropped += over as u64;
        self.tail.extend(chunk);
    }

    /// One collector is done; the last writes the tail, after saying what was dropped.
    async fn done(&mut self) {
        self.writers = self.writers.saturating_sub(1);
        if self.writers > 0 {
            return;
        }
        if self.dropped > 0 {
            let note = format!(
                "\n[smoke: {} bytes of output dropped here: a log keeps the first {} and the last {} bytes]\n",
                self.dropped, LOG_HEAD, LOG_TAIL
            );
            let _ = self.file.write_all(note.as_bytes()).await;
        }
        let (a, b) = self.tail.as_slices();
        let _ = self.file.write_all(a).await;
        let _ = self.file.write_all(b).await;
        let _ = self.file.flush().await;
        self.tail = VecDeque::new();
    }
}

/// Copy a stream, as bytes, into the log file (capped: see [`LOG_HEAD`]) and the in-memory tail
/// (the last lines, each cut to a bounded length, escaped for the terminal). Reads until the
/// stream ends, whatever it holds: closing the pipe early would kill the writer with SIGPIPE.
fn collect(
    stream: impl AsyncRead + Unpin + Send + 'static,
    lines: Lines,
    log: Option<Arc<tokio::sync::Mutex<CappedLog>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut reader = BufReader::with_capacity(16 << 10, stream);
        let mut line: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let chunk = match reader.fill_buf().await {
                Ok([]) | Err(_) => break,
                Ok(chunk) => chunk,
            };
            if let Some(log) = &log {
                log.lock().await.write(chunk).await;
            }
            let len = chunk.len();
            for part in chunk.split_inclusive(|&b| b == b'\n') {
                let (body, ends) = match part.strip_suffix(b"\n") {
                    Some(body) => (body, true),
                    None => (part, false),
                };
                let room = KEPT_LINE_BYTES.saturating_sub(line.len());
                line.extend_from_slice(&body[..body.len().min(room)]);
                cut |= body.len() > room;
                if ends {
                    keep(&lines, &line, cut);
                    line.clear();
                    cut = false;
                }
            }
            reader.consume(len);
        }
        if !line.is_empty() {
            keep(&lines, &line, cut);
        }
        if let Some(log) = &log {
            log.lock().await.done().await;
        }
    })
}

/// Remember one line of output (lossy UTF-8, escaped) in the bounded tail.
fn keep(lines: &Lines, raw: &[u8], cut: bool) {
    let text = String::from_utf8_lossy(raw);
    let text = text.strip_suffix('\r').unwrap_or(&text);
    let mut shown = crate::report::console::escape_line(text).into_owned();
    if cut {
        shown.push_str(" … (line cut; the log file has all of it)");
    }
    tracing::debug!(target: "smoke::service_output", "{shown}");
    let mut buf = lines.lock().unwrap_or_else(|e| e.into_inner());
    if buf.len() == KEPT_LINES {
        buf.pop_front();
    }
    buf.push_back(shown);
}

/// The log at `path`, for `writers` collectors: created if missing, appended to, a link there
/// refused.
fn open_log(path: Option<&Path>, writers: usize) -> Option<Arc<tokio::sync::Mutex<CappedLog>>> {
    let path = path?;
    match crate::files::open_log(path) {
        Ok(f) => Some(Arc::new(tokio::sync::Mutex::new(CappedLog {
            file: tokio::fs::File::from_std(f),
            written: 0,
            tail: VecDeque::new(),
            dropped: 0,
            writers,
        }))),
        Err(e) => {
            tracing::warn!("cannot write {}: {e}", path.display());
            None
        }
    }
}

/// A child in its own process group with its output collected.
pub(super) struct Spawned {
    pub(super) child: tokio::process::Child,
    /// The child's stdin and stdout, when it speaks over them (an MCP server over stdio); its
    /// stdout is then not collected.
    pub(super) pipes: Option<(tokio::process::ChildStdin, tokio::process::ChildStdout)>,
    pub(super) pgid: Group,
    pub(super) shown: String,
    pub(super) lines: Lines,
    pub(super) readers: Vec<tokio::task::JoinHandle<()>>,
}

#[allow(clippy::too_many_arguments)]
pub(super) async fn spawn(
    program: &str,
    args: &[String],
    env: &std::collections::BTreeMap<String, String>,
    config_dir: &Path,
    workdir: &Path,
    port: u16,
    log: Option<&Path>,
    stdio: bool,
) -> Result<Spawned, CommandError> {
    let port_text = port.to_string();
    let fill = |s: &str| s.replace("{port}", &port_text);
    let resolved = resolve_command(program, config_dir);
    let shown = std::iter::once(program.to_string())
        .chain(args.iter().map(|a| fill(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new(&resolved)
        .args(args.iter().map(|a| fill(a)))
        .envs(env.iter().map(|(k, v)| (k.clone(), fill(v))))
        .env("PORT", &port_text)
        .current_dir(workdir)
        .stdin(if stdio { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|source| CommandError::Start { path: resolved.clone(), source })?;
    let Some(pgid) = child.id().and_then(Group::of) else {
        // It exited and was reaped before its pid could be read: nothing is left to signal.
        let _ = child.kill().await;
        return Err(CommandError::Vanished(resolved));
    };
    let lines: Lines = Arc::default();
    let file = open_log(log, if stdio { 1 } else { 2 });
    let mut readers = Vec::new();
    let mut pipes = None;
    if stdio {
        pipes = child.stdin.take().zip(child.stdout.take());
    } else if let Some(out) = child.stdout.take() {
        readers.push(collect(out, lines.clone(), file.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(collect(err, lines.clone(), file));
    }
    Ok(Spawned { child, pipes, pgid, shown, lines, readers })
}

/// Kills a process group when dropped, unless disarmed: a command interrupted mid-way (its
/// future dropped on Ctrl-C) must not outlive the run.
pub(super) struct GroupGuard(Option<Group>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            pgid.signal(Signal::SIGKILL);
        }
    }
}

/// Run a reset, migrate or seed command to completion within its timeout.
pub async fn run_hook(
    hook: &Hook,
    config_dir: &Path,
    workdir: &Path,
    port: u16,
    log: Option<&Path>,
) -> Result<(), HookError> {
    let started = Instant::now();
    let mut spawned = spawn(&hook.command, &hook.args, &hook.env, config_dir, workdir, port, log, false)
        .await
        .map_err(|e| HookError {
            stage: hook.name,
            command: hook.command.clone(),
            outcome: format!("could not start: {e}"),
            output: Vec::new(),
        })?;
    let mut guard = GroupGuard(Some(spawned.pgid));
    let waited = tokio::time::timeout(hook.timeout, spawned.child.wait()).await;
    // Nothing a command started may outlive it.
    spawned.pgid.signal(Signal::SIGKILL);
    guard.0 = None;
    if waited.is_err() {
        let _ = spawned.child.wait().await;
    }
    for r in spawned.readers.drain(..) {
        let _ = tokio::time::timeout(Duration::from_secs(1), r).await;
    }
    let fail = |outcome: String| HookError {
        stage: hook.name,
        command: spawned.shown.clone(),
        outcome,
        output: last_lines(&spawned.lines, SHOWN_LINES),
    };
    match waited {
        Err(_) => {
            Err(fail(format!("timed out after {} and was killed", humantime::format_duration(hook.timeout))))
        }
        Ok(Err(e)) => Err(fail(format!("could not be waited for: {e}"))),
        Ok(Ok(status)) if !status.success() => Err(fail(format!("failed ({status})"))),
        Ok(Ok(_)) => {
            tracing::info!("{}: `{}` done in {} ms", hook.name, spawned.shown, started.elapsed().as_millis());
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Group;

    #[test]
    fn no_group_is_made_of_pid_0_or_1_which_killpg_would_read_as_everyone() {
        assert!(Group::of(0).is_none());
        assert!(Group::of(1).is_none());
        assert!(Group::of(u32::MAX).is_none());
        assert!(Group::of(4242).is_some());
    }
}
