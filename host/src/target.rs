//! Step 4 and 8 of a run: start the service under test in its own process group, wait for it to
//! be healthy, and stop it (SIGTERM, then SIGKILL after a grace period) on every exit path.
//!
//! `Service` kills its process group on drop as a last resort, so even a panic leaves nothing.

use crate::config::{Port, Target};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Lines of service output kept for error messages.
const KEPT_LINES: usize = 200;
/// Lines shown when the service fails to start.
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
}

fn tail(lines: &[String]) -> String {
    if lines.is_empty() {
        return "\n  (the service printed nothing)".into();
    }
    let mut s = format!("\n  last {} line(s) of its output:", lines.len());
    for l in lines {
        s.push_str("\n  | ");
        s.push_str(l);
    }
    s
}

/// A running service under test.
pub struct Service {
    child: Child,
    pgid: Pid,
    command: String,
    pub base_url: String,
    output: Arc<Mutex<VecDeque<String>>>,
    grace: Duration,
    stopped: bool,
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn resolve_command(target: &Target) -> PathBuf {
    let command = PathBuf::from(&target.command);
    if target.command.contains('/') && command.is_relative() {
        // Absolute, because the child runs in `target.dir` and a relative program path would be
        // resolved against that, not against where smoke runs.
        std::path::absolute(target.dir.join(command)).unwrap_or_else(|_| target.dir.join(&target.command))
    } else {
        command
    }
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, output: Arc<Mutex<VecDeque<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!(target: "smoke::service", "{line}");
            let mut buf = output.lock().unwrap_or_else(|e| e.into_inner());
            if buf.len() == KEPT_LINES {
                buf.pop_front();
            }
            buf.push_back(line);
        }
    });
}

impl Service {
    /// Start the target and wait until its health URL answers 2xx.
    pub async fn start(target: &Target) -> Result<Service, TargetError> {
        let port = match target.port {
            Port::Auto => free_port().map_err(|e| TargetError::Spawn {
                command: target.command.clone(),
                message: format!("cannot find a free port: {e}"),
            })?,
            Port::Fixed(port) => {
                if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                    return Err(TargetError::PortBusy { port });
                }
                port
            }
        };
        let port_text = port.to_string();
        let fill = |s: &str| s.replace("{port}", &port_text);
        let program = resolve_command(target);
        let mut command = Command::new(&program);
        command
            .args(target.args.iter().map(|a| fill(a)))
            .envs(target.env.iter().map(|(k, v)| (k.clone(), fill(v))))
            .env("PORT", &port_text)
            .current_dir(&target.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let shown = program.display().to_string();
        let mut child = command.spawn().map_err(|e| TargetError::Spawn {
            command: shown.clone(),
            message: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{e} (is it built? `make build` builds the examples)")
            } else {
                e.to_string()
            },
        })?;
        let pid = child.id().map(|id| id as i32).unwrap_or_default();
        let output = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, output.clone());
        }
        if let Some(err) = child.stderr.take() {
            collect(err, output.clone());
        }
        let mut service = Service {
            child,
            pgid: Pid::from_raw(pid),
            command: shown,
            base_url: fill(&target.base_url),
            output,
            grace: target.stop_grace,
            stopped: false,
        };
        tracing::info!("target: started {} (pid {pid}) on port {port}", service.command);
        if let Err(e) = service.wait_healthy(&target.health, target.startup_timeout).await {
            service.stop().await;
            return Err(e);
        }
        Ok(service)
    }

    /// The last `n` lines the service printed.
    pub fn last_lines(&self, n: usize) -> Vec<String> {
        let buf = self.output.lock().unwrap_or_else(|e| e.into_inner());
        buf.iter().skip(buf.len().saturating_sub(n)).cloned().collect()
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
            if let Ok(Some(status)) = self.child.try_wait() {
                // Give the output readers a moment to drain what it printed on the way out.
                tokio::time::sleep(Duration::from_millis(50)).await;
                return Err(TargetError::Exited {
                    command: self.command.clone(),
                    status: status.to_string(),
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
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM the process group, wait up to the grace period, then SIGKILL it. Idempotent.
    pub async fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = killpg(self.pgid, Signal::SIGTERM);
        match tokio::time::timeout(self.grace, self.child.wait()).await {
            Ok(Ok(status)) => tracing::info!("target: stopped ({status})"),
            _ => tracing::warn!(
                "target: {} did not stop within {} of SIGTERM; killing it",
                self.command,
                humantime::format_duration(self.grace)
            ),
        }
        // Whatever else is left in the group (children of the service) goes too.
        let _ = killpg(self.pgid, Signal::SIGKILL);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = killpg(self.pgid, Signal::SIGKILL);
        }
    }
}
