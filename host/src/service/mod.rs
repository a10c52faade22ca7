//! Steps 4, 5 and 8 of a run: prepare the working directory, run the reset, migrate and seed
//! commands, start the service under test in its own process group, wait for it to be healthy,
//! and stop it (SIGTERM, then SIGKILL after a grace period) on every exit path.
//!
//! A watcher task owns the child, so the runner can tell when the service dies mid-run; `Service`
//! kills its process group on drop as a last resort, so even a panic leaves nothing behind.

mod process;
mod reaper;

pub use process::run_hook;
pub use process::{CommandError, locate};
use process::{Group, Lines, Spawned, last_lines, spawn};
pub use reaper::{adopt_orphans, reap_adopted, reap_descendants};

use crate::config::{Port, Target, Workdir};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Lines shown when the service or a command fails.
pub const SHOWN_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target: cannot start {command}: {source}")]
    Spawn { command: String, source: CommandError },
    #[error("target: cannot find a free port on 127.0.0.1: {0}")]
    NoFreePort(std::io::Error),
    #[error("target: cannot build the HTTP client for health checks: {0}")]
    HealthClient(reqwest::Error),
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
    #[error("target: workdir {}: {source}", .path.display())]
    Workdir { path: PathBuf, source: std::io::Error },
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
        let fail =
            |path: &Path, source: std::io::Error| TargetError::Workdir { path: path.to_path_buf(), source };
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
            .map_err(TargetError::NoFreePort),
        Port::Fixed(port) => match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => Ok(port),
            Err(_) => Err(TargetError::PortBusy { port }),
        },
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
        let command = target.command.as_deref().unwrap_or_default();
        let spawned = spawn(command, &target.args, &target.env, &target.dir, workdir, port, log, false)
            .await
            .map_err(|source| TargetError::Spawn { command: command.to_string(), source })?;
        let mut service = Self::watch(spawned, target.stop_grace);
        service.base_url = target.base_url.replace("{port}", &port.to_string());
        tracing::info!("target: started `{}` (pid {}) on port {port}", service.command, service.pgid);
        if let Err(e) = service.wait_healthy(&target.health, target.startup_timeout).await {
            service.stop(std::future::pending()).await;
            return Err(e);
        }
        Ok(service)
    }

    /// Start an MCP server that speaks over its stdin and stdout, in `workdir`; its stderr goes
    /// to the log. Returns its stdin and stdout for the session.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_stdio(
        command: &str,
        args: &[String],
        env: &std::collections::BTreeMap<String, String>,
        dir: &Path,
        workdir: &Path,
        grace: Duration,
        log: Option<&Path>,
    ) -> Result<(Service, tokio::process::ChildStdin, tokio::process::ChildStdout), TargetError> {
        let mut spawned = spawn(command, args, env, dir, workdir, 0, log, true)
            .await
            .map_err(|source| TargetError::Spawn { command: command.to_string(), source })?;
        let pipes = spawned.pipes.take();
        let mut service = Self::watch(spawned, grace);
        tracing::info!("target: started MCP server `{}` (pid {}) over stdio", service.command, service.pgid);
        match pipes {
            Some((stdin, stdout)) => Ok((service, stdin, stdout)),
            None => {
                service.stop(std::future::pending()).await;
                Err(TargetError::Spawn {
                    command: command.to_string(),
                    source: CommandError::Vanished(PathBuf::from(command)),
                })
            }
        }
    }

    /// Watch a spawned process: its exit status once it exits, after its output is drained.
    fn watch(spawned: Spawned, grace: Duration) -> Service {
        let Spawned { mut child, pgid, shown, lines, readers, .. } = spawned;
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
        Service { pgid, command: shown, base_url: String::new(), lines, status, grace, stopped: false }
    }

    /// The command line it was started with, as shown.
    pub fn command(&self) -> &str {
        &self.command
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
            .map_err(TargetError::HealthClient)?;
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
