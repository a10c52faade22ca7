//! Steps 4, 5 and 8 of a run: prepare the working directory, run the reset, migrate and seed
//! commands, start the service under test in its own process group, wait for it to be healthy,
//! and stop it (SIGTERM, then SIGKILL after a grace period) on every exit path.
//!
//! A watcher task owns the child, so the runner can tell when the service dies mid-run; `Service`
//! kills its process group on drop as a last resort, so even a panic leaves nothing behind.

use crate::config::{Hook, Port, Target, Workdir};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};

/// A process group to signal: never 0 or 1, which `killpg` would read as "my own group" or
/// "every process I may signal" (taking the caller's shell with it).
#[derive(Debug, Clone, Copy)]
struct Group(Pid);

impl Group {
    fn of(pid: u32) -> Option<Group> {
        i32::try_from(pid).ok().filter(|&p| p > 1).map(|p| Group(Pid::from_raw(p)))
    }

    fn signal(self, signal: Signal) {
        let _ = killpg(self.0, signal);
    }
}

impl std::fmt::Display for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}
use tokio::process::Command;
use tokio::sync::watch;

/// Lines of output kept in memory for error messages.
const KEPT_LINES: usize = 200;
/// Bytes of one line kept in memory (the log file gets every byte).
const KEPT_LINE_BYTES: usize = 4096;
/// Lines shown when the service or a command fails.
pub const SHOWN_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target: cannot start {command}: {message}")]
    Spawn { command: String, message: String },
    #[error(
        "target: port {port} is already in use on 127.0.0.1; stop whatever holds it, or set `port = \"auto\"`"
    )]
    PortBusy { port: u16 },
    #[error("target: {command} exited before it became healthy ({status}){}", tail(.output))]
    Exited { command: String, status: String, output: Vec<String> },
    #[error(
        "target: {url} did not become healthy within {} (last: {last}){}",
        humantime::format_duration(*.timeout),
        tail(.output)
    )]
    Unhealthy { url: String, timeout: Duration, last: String, output: Vec<String> },
    #[error("target: workdir {path}: {message}")]
    Workdir { path: PathBuf, message: String },
}

/// A reset, migrate or seed command that did not succeed.
#[derive(Debug, thiserror::Error)]
#[error("{stage}: `{command}` {outcome}{}", tail(.output))]
pub struct HookError {
    pub stage: &'static str,
    pub command: String,
    pub outcome: String,
    pub output: Vec<String>,
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "\n  (it printed nothing)".into();
    }
    let mut s = format!("\n  last {} line(s) of its output:", lines.len());
    for l in lines {
        s.push_str("\n  | ");
        s.push_str(l);
    }
    s
}

/// The directory the service and its commands run in; a temporary one is removed on drop
/// unless kept.
pub struct Workspace {
    pub dir: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl Workspace {
    pub fn prepare(target: &Target, keep: bool) -> Result<Workspace, TargetError> {
        let fail = |path: &Path, e: std::io::Error| TargetError::Workdir {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        match &target.workdir {
            Workdir::ConfigDir => Ok(Workspace { dir: target.dir.clone(), temp: None }),
            Workdir::Path(p) => {
                std::fs::create_dir_all(p).map_err(|e| fail(p, e))?;
                Ok(Workspace { dir: p.clone(), temp: None })
            }
            Workdir::Temp => {
                let temp = tempfile::Builder::new()
                    .prefix("smoke-workdir-")
                    .tempdir()
                    .map_err(|e| fail(&std::env::temp_dir(), e))?;
                let dir = temp.path().to_path_buf();
                tracing::info!("target: workdir {}", dir.display());
                if keep {
                    let kept = temp.keep();
                    tracing::info!("target: keeping workdir {}", kept.display());
                    return Ok(Workspace { dir, temp: None });
                }
                Ok(Workspace { dir, temp: Some(temp) })
            }
        }
    }

    /// Whether this is a temporary directory that will be removed.
    pub fn is_temporary(&self) -> bool {
        self.temp.is_some()
    }
}

/// Pick the port: a free one for `auto`, else the fixed one if nothing holds it. Never kills
/// anything that holds a port.
pub fn choose_port(target: &Target) -> Result<u16, TargetError> {
    match target.port {
        Port::Auto => std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| TargetError::Spawn {
                command: target.command.clone(),
                message: format!("cannot find a free port: {e}"),
            }),
        Port::Fixed(port) => match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => Ok(port),
            Err(_) => Err(TargetError::PortBusy { port }),
        },
    }
}

/// A program path: relative paths with a `/` are relative to the config's directory, made
/// absolute because the child runs elsewhere.
fn resolve_command(command: &str, config_dir: &Path) -> PathBuf {
    let path = PathBuf::from(command);
    if command.contains('/') && path.is_relative() {
        std::path::absolute(config_dir.join(&path)).unwrap_or_else(|_| config_dir.join(path))
    } else {
        path
    }
}

/// Where a command would be found, or why it would not: for `smoke doctor`.
pub fn locate(command: &str, config_dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let executable =
        |p: &Path| p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false);
    if command.contains('/') {
        let path = resolve_command(command, config_dir);
        return if executable(&path) {
            Ok(path)
        } else if path.exists() {
            Err(format!("{} is not an executable file", path.display()))
        } else {
            Err(format!("{} does not exist (is it built? `make build` builds the examples)", path.display()))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(command))
        .find(|p| executable(p))
        .ok_or_else(|| format!("{command} is not on PATH"))
}

type Lines = Arc<Mutex<VecDeque<String>>>;

fn last_lines(lines: &Lines, n: usize) -> Vec<String> {
    let buf = lines.lock().unwrap_or_else(|e| e.into_inner());
    buf.iter().skip(buf.len().saturating_sub(n)).cloned().collect()
}

/// Copy a stream, as bytes, into the log file (every byte) and the in-memory tail (the last
/// lines, each cut to a bounded length, escaped for the terminal). Reads until the stream ends,
/// whatever it holds: closing the pipe early would kill the writer with SIGPIPE.
fn collect(
    stream: impl AsyncRead + Unpin + Send + 'static,
    lines: Lines,
    log: Option<Arc<tokio::sync::Mutex<tokio::fs::File>>>,
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
                let _ = log.lock().await.write_all(chunk).await;
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
    tracing::debug!(target: "smoke::service", "{shown}");
    let mut buf = lines.lock().unwrap_or_else(|e| e.into_inner());
    if buf.len() == KEPT_LINES {
        buf.pop_front();
    }
    buf.push_back(shown);
}

async fn open_log(path: Option<&Path>) -> Option<Arc<tokio::sync::Mutex<tokio::fs::File>>> {
    let path = path?;
    match tokio::fs::OpenOptions::new().create(true).append(true).open(path).await {
        Ok(f) => Some(Arc::new(tokio::sync::Mutex::new(f))),
        Err(e) => {
            tracing::warn!("cannot write {}: {e}", path.display());
            None
        }
    }
}

/// A child in its own process group with its output collected.
struct Spawned {
    child: tokio::process::Child,
    pgid: Group,
    shown: String,
    lines: Lines,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

async fn spawn(
    program: &str,
    args: &[String],
    env: &std::collections::BTreeMap<String, String>,
    config_dir: &Path,
    workdir: &Path,
    port: u16,
    log: Option<&Path>,
) -> Result<Spawned, String> {
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
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{}: {e} (is it built? `make build` builds the examples)", resolved.display())
            } else {
                format!("{}: {e}", resolved.display())
            }
        })?;
    let Some(pgid) = child.id().and_then(Group::of) else {
        // It exited and was reaped before its pid could be read: nothing is left to signal.
        let _ = child.kill().await;
        return Err(format!("{}: exited at once, before it could be watched", resolved.display()));
    };
    let lines: Lines = Arc::default();
    let file = open_log(log).await;
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(collect(out, lines.clone(), file.clone()));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(collect(err, lines.clone(), file));
    }
    Ok(Spawned { child, pgid, shown, lines, readers })
}

/// Kills a process group when dropped, unless disarmed: a command interrupted mid-way (its
/// future dropped on Ctrl-C) must not outlive the run.
struct GroupGuard(Option<Group>);

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
    let mut spawned = spawn(&hook.command, &hook.args, &hook.env, config_dir, workdir, port, log)
        .await
        .map_err(|message| HookError {
            stage: hook.name,
            command: hook.command.clone(),
            outcome: format!("could not start: {message}"),
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

/// A running service under test.
pub struct Service {
    pgid: Group,
    command: String,
    pub base_url: String,
    lines: Lines,
    /// `Some(status)` once the process has exited.
    status: watch::Receiver<Option<String>>,
    grace: Duration,
    stopped: bool,
}

impl Service {
    /// Start the target on `port` in `workdir` and wait until its health URL answers 2xx.
    pub async fn start(
        target: &Target,
        workdir: &Path,
        port: u16,
        log: Option<&Path>,
    ) -> Result<Service, TargetError> {
        let spawned = spawn(&target.command, &target.args, &target.env, &target.dir, workdir, port, log)
            .await
            .map_err(|message| TargetError::Spawn { command: target.command.clone(), message })?;
        let Spawned { mut child, pgid, shown, lines, readers } = spawned;
        let (tx, status) = watch::channel(None);
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(s) => s.to_string(),
                Err(e) => format!("unknown status: {e}"),
            };
            // Let the readers drain what it printed on the way out before announcing the exit.
            for r in readers {
                let _ = tokio::time::timeout(Duration::from_millis(500), r).await;
            }
            let _ = tx.send(Some(status));
        });
        let mut service = Service {
            pgid,
            command: shown,
            base_url: target.base_url.replace("{port}", &port.to_string()),
            lines,
            status,
            grace: target.stop_grace,
            stopped: false,
        };
        tracing::info!("target: started `{}` (pid {}) on port {port}", service.command, pgid);
        if let Err(e) = service.wait_healthy(&target.health, target.startup_timeout).await {
            service.stop(std::future::pending()).await;
            return Err(e);
        }
        Ok(service)
    }

    /// The last `n` lines the service printed.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        last_lines(&self.lines, n)
    }

    /// A receiver that holds `Some(status)` once the service has exited.
    pub fn exit_watch(&self) -> watch::Receiver<Option<String>> {
        self.status.clone()
    }

    async fn wait_healthy(&mut self, health: &str, timeout: Duration) -> Result<(), TargetError> {
        let url = format!("{}{}", self.base_url.trim_end_matches('/'), health);
        let client = crate::http::client_builder()
            .timeout(Duration::from_secs(2))
            .build()
            .map_err(|e| TargetError::Spawn { command: self.command.clone(), message: e.to_string() })?;
        let deadline = Instant::now() + timeout;
        let mut last: String;
        loop {
            if let Some(status) = self.status.borrow().clone() {
                return Err(TargetError::Exited {
                    command: self.command.clone(),
                    status,
                    output: self.last_lines(SHOWN_LINES),
                });
            }
            match client.get(&url).send().await {
                Ok(r) if r.status().is_success() => {
                    tracing::info!("target: healthy at {url}");
                    return Ok(());
                }
                Ok(r) => last = format!("status {}", r.status().as_u16()),
                Err(e) => last = if e.is_connect() { "connection refused".into() } else { e.to_string() },
            }
            if Instant::now() >= deadline {
                return Err(TargetError::Unhealthy {
                    url,
                    timeout,
                    last,
                    output: self.last_lines(SHOWN_LINES),
                });
            }
            let mut status = self.status.clone();
            // Wake early if it exits.
            let _ = tokio::time::timeout(Duration::from_millis(50), status.changed()).await;
        }
    }

    /// SIGTERM the process group, wait up to the grace period (or until `force` resolves, e.g.
    /// a second Ctrl-C), then SIGKILL whatever is left of the group. Idempotent.
    pub async fn stop(&mut self, force: impl std::future::Future<Output = ()>) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        self.pgid.signal(Signal::SIGTERM);
        let mut status = self.status.clone();
        let exited = async {
            let _ = status.wait_for(Option::is_some).await;
        };
        tokio::select! {
            _ = tokio::time::timeout(self.grace, exited) => {}
            _ = force => tracing::warn!("target: forced stop"),
        }
        match self.status.borrow().clone() {
            Some(s) => tracing::info!("target: stopped ({s})"),
            None => tracing::warn!(
                "target: `{}` did not stop within {} of SIGTERM; killing it",
                self.command,
                humantime::format_duration(self.grace)
            ),
        }
        // Whatever else is left in the group (children of the service) goes too.
        self.pgid.signal(Signal::SIGKILL);
        let mut status = self.status.clone();
        let _ = tokio::time::timeout(Duration::from_secs(5), status.wait_for(Option::is_some)).await;
        // And whatever left the group (setsid, a double fork) and was adopted by smoke.
        reap_descendants(self.grace.min(Duration::from_secs(2))).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.stopped {
            self.pgid.signal(Signal::SIGKILL);
        }
    }
}

/// Make smoke the subreaper of everything it starts (Linux): a process that leaves its group
/// (`setsid`, a double fork) is then adopted by smoke rather than by init, so it can be found
/// and stopped. Called once, before anything is started.
pub fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        tracing::warn!(
            "target: cannot become the subreaper of started processes ({e}); a service that daemonizes may outlive the run"
        );
    }
}

/// The pids of every living descendant of this process, from /proc (Linux).
fn descendants() -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let mut parent_of: Vec<(i32, i32)> = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let mut fields = rest.split_whitespace();
        let state = fields.next().unwrap_or("");
        if let Some(ppid) = fields.next().and_then(|p| p.parse::<i32>().ok())
            && state != "Z"
            && state != "X"
        {
            parent_of.push((pid, ppid));
        }
    }
    let mut found = vec![me];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(parent_of.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.retain(|&p| p != me);
    found
}

/// Stop every process descended from smoke (adopted daemons included): SIGTERM, up to `grace`
/// for them to go, then SIGKILL; reap what was adopted. Warns naming any that survive.
pub async fn reap_descendants(grace: Duration) {
    let first = descendants();
    if first.is_empty() {
        return;
    }
    for &pid in &first {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !descendants().is_empty() {
        reap_adopted();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..50 {
        let left = descendants();
        if left.is_empty() {
            break;
        }
        for &pid in &left {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        reap_adopted();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reap_adopted();
    let left = descendants();
    if !left.is_empty() {
        let pids: Vec<String> = left.iter().map(i32::to_string).collect();
        tracing::warn!(
            "target: process(es) {} started by the run are still alive; stop them by hand",
            pids.join(", ")
        );
    } else {
        tracing::info!(
            "target: stopped {} process(es) that had left the service's process group",
            first.len()
        );
    }
}

/// Collect the exit status of adopted children that have exited (tokio reaps its own).
fn reap_adopted() {
    use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
    // Only pids that are zombies and children of smoke: never a child tokio still waits for
    // (those are reaped by tokio, and are not zombies for long).
    let me = std::process::id() as i32;
    let Ok(entries) = std::fs::read_dir("/proc") else { return };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else { continue };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse::<i32>().ok()));
        if state == Some("Z") && ppid == Some(me) {
            let _ =
                matches!(waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)), Ok(WaitStatus::StillAlive));
        }
    }
}
