//! The smoke commands a tool runs: this very binary as a child (`smoke plan`, `smoke run`, `smoke
//! plugin new`), so a tool's plan or verdict is exactly the command line's. Each child is in its own
//! process group, read within limits, and stopped with everything it started when its time is up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// What a tool could not do, in words for the agent.
#[derive(Debug)]
pub(super) struct ToolError(pub(super) String);

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, ToolError> {
    Err(ToolError(message.into()))
}

/// How a child ended and what it printed (each stream cut at its limit).
pub(super) struct Output {
    pub(super) code: Option<i32>,
    pub(super) stdout: String,
    pub(super) stderr: String,
    pub(super) timed_out: bool,
}

/// The most of a child's stdout (a plan) and stderr kept.
const MAX_STDOUT: u64 = 64 << 20;
const MAX_STDERR: u64 = 1 << 20;

/// This very binary, even if a build has replaced the file since it started.
pub(super) fn me() -> Result<PathBuf, ToolError> {
    if Path::new("/proc/self/exe").exists() {
        return Ok(PathBuf::from("/proc/self/exe"));
    }
    std::env::current_exe().map_err(|e| ToolError(format!("cannot find smoke itself: {e}")))
}

/// The process groups of the children running now, for [`stop_all`].
static LIVE: std::sync::Mutex<Vec<nix::unistd::Pid>> = std::sync::Mutex::new(Vec::new());

/// A child's process group, sent SIGTERM if the child is given up on (its tool call cancelled):
/// `smoke run` then stops its service and leaves nothing running.
struct Group(Option<nix::unistd::Pid>);

impl Group {
    fn new(pid: Option<u32>) -> Self {
        let pid = pid.map(|pid| nix::unistd::Pid::from_raw(pid as i32));
        if let Some(pid) = pid {
            LIVE.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
        }
        Group(pid)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::killpg(pid, signal);
        }
    }

    /// The child has ended: nothing to stop.
    fn done(&mut self) {
        if let Some(pid) = self.0.take() {
            LIVE.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| *p != pid);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(nix::sys::signal::Signal::SIGTERM);
        self.done();
    }
}

/// SIGTERM to every child running now (the server was told to stop): each `smoke run` stops its
/// service and exits, so nothing outlives the server for long.
pub(super) fn stop_all() {
    for pid in LIVE.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
        let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGTERM);
    }
}

/// How long a child stopped at its limit has to stop its service and write its report.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Run `smoke ARGS` in `dir`, for at most `limit` (then the child's whole group is stopped).
pub(super) async fn smoke(args: &[OsString], dir: &Path, limit: Duration) -> Result<Output, ToolError> {
    let mut c = tokio::process::Command::new(me()?);
    c.args(args).current_dir(dir);
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0);
    let mut child = c.spawn().map_err(|e| ToolError(format!("cannot start smoke: {e}")))?;
    let mut group = Group::new(child.id());
    let mut out = child.stdout.take().expect("piped").take(MAX_STDOUT);
    let mut err = child.stderr.take().expect("piped").take(MAX_STDERR);
    let finished = {
        let work = async {
            let (mut o, mut e) = (Vec::new(), Vec::new());
            let (a, b) = tokio::join!(out.read_to_end(&mut o), err.read_to_end(&mut e));
            a.and(b).map_err(|e| ToolError(format!("cannot read smoke's output: {e}")))?;
            let status = child.wait().await.map_err(|e| ToolError(format!("smoke did not finish: {e}")))?;
            Ok::<_, ToolError>((status.code(), o, e))
        };
        tokio::time::timeout(limit, work).await
    };
    match finished {
        Ok(done) => {
            group.done();
            let (code, o, e) = done?;
            Ok(Output {
                code,
                stdout: String::from_utf8_lossy(&o).into_owned(),
                stderr: String::from_utf8_lossy(&e).into_owned(),
                timed_out: false,
            })
        }
        Err(_) => {
            // SIGTERM lets smoke run stop its service and write what it has; SIGKILL after a grace.
            group.signal(nix::sys::signal::Signal::SIGTERM);
            if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_err() {
                group.signal(nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait().await;
            }
            group.done();
            Ok(Output { code: None, stdout: String::new(), stderr: String::new(), timed_out: true })
        }
    }
}

/// The lines of a child's stderr worth showing an agent: its warnings and errors, at most `max`.
pub(super) fn said(stderr: &str, max: usize) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let skip = lines.len().saturating_sub(max);
    lines[skip..].join("\n")
}

/// `relative`, resolved inside `project` and kept there: an absolute path or `..` that leaves
/// it, or a link out of it, is refused. `exists`: whether it must exist now.
pub(super) fn inside(project: &Path, relative: &str, exists: bool) -> Result<PathBuf, ToolError> {
    let joined = project.join(relative);
    let resolved = if exists {
        joined.canonicalize().map_err(|e| {
            ToolError(format!("{relative}: {e} (paths are relative to the project, {})", project.display()))
        })?
    } else {
        // Not there yet: its parent must be, inside the project.
        let parent = joined.parent().unwrap_or(project);
        let name = joined.file_name().ok_or_else(|| ToolError(format!("{relative}: names no file")))?;
        let parent = parent.canonicalize().map_err(|e| {
            ToolError(format!("{relative}: its folder: {e} (paths are relative to the project)"))
        })?;
        parent.join(name)
    };
    if !resolved.starts_with(project) {
        return fail(format!(
            "{relative}: outside the project directory ({}); smoke mcp-server reads and writes only inside it",
            project.display()
        ));
    }
    Ok(resolved)
}

/// The project a server serves: the one directory it reads and writes in, the configs its user
/// named (the first is the default), and the limits of a run.
pub(super) struct Project {
    pub(super) dir: PathBuf,
    pub(super) configs: Vec<PathBuf>,
    pub(super) max_scenarios: usize,
    pub(super) max_run_time: Duration,
    /// One run at a time: a second waits for the first.
    pub(super) running: tokio::sync::Mutex<()>,
}

/// Where the server keeps its runs and plans, under the project.
const STATE: &str = ".smoke/mcp-server";

impl Project {
    pub(super) fn new(
        dir: PathBuf,
        configs: Vec<PathBuf>,
        max_scenarios: usize,
        max_run_time: Duration,
    ) -> Self {
        Project { dir, configs, max_scenarios, max_run_time, running: tokio::sync::Mutex::new(()) }
    }

    /// `relative` under the server's state folder. A link anywhere on the way (a `.smoke` planted
    /// in a cloned repository, pointing elsewhere) is refused: nothing is read or written through
    /// one.
    pub(super) fn state(&self, relative: &str) -> Result<PathBuf, ToolError> {
        let path = self.dir.join(STATE).join(relative);
        let mut at = self.dir.clone();
        for part in Path::new(STATE).join(relative).components() {
            at.push(part);
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return fail(format!(
                        "{} is a link; smoke mcp-server keeps its runs only in real folders of the project: remove it",
                        self.shown(&at)
                    ));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(path)
    }

    /// The folder `relative` under the state folder, made if need be, with no link on the way.
    pub(super) fn state_dir(&self, relative: &str) -> Result<PathBuf, ToolError> {
        let dir = self.state(relative)?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| ToolError(format!("cannot make {}: {e}", self.shown(&dir))))?;
        self.state(relative)
    }

    /// The config a tool names (one the server was given), else the first the server was given.
    pub(super) fn config(&self, named: Option<&str>) -> Result<PathBuf, ToolError> {
        let Some(name) = named else {
            return self.configs.first().cloned().ok_or_else(|| {
                ToolError(format!(
                    "no config: the project ({}) has no smoke.toml and the server was started without --config",
                    self.dir.display()
                ))
            });
        };
        let path = inside(&self.dir, name, true)?;
        if !self.configs.contains(&path) {
            let given: Vec<String> = self.configs.iter().map(|c| self.shown(c)).collect();
            return fail(format!(
                "{name}: not a config this server was given ({}); it tests only the targets of the configs its user \
                 named (smoke mcp-server --config FILE, repeatable)",
                if given.is_empty() { "none".to_string() } else { given.join(", ") }
            ));
        }
        Ok(path)
    }

    /// A path as shown to the agent: relative to the project when inside it.
    pub(super) fn shown(&self, path: &Path) -> String {
        path.strip_prefix(&self.dir).unwrap_or(path).display().to_string()
    }

    /// The numbers of the runs kept, in order.
    pub(super) fn runs(&self) -> Vec<u64> {
        let Ok(dir) = self.state("runs") else { return Vec::new() };
        let mut runs: Vec<u64> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        runs.sort_unstable();
        runs
    }

    /// The report of run `n`, if it has one (a real file, not a link).
    pub(super) fn report(&self, n: u64) -> Option<PathBuf> {
        let path = self.state(&format!("runs/{n}/report.json")).ok()?;
        std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|_| path)
    }

    /// A file of the state folder read back (not through a link), within `limit`.
    pub(super) fn read_state(&self, relative: &str, limit: u64) -> Result<String, ToolError> {
        let path = self.state(relative)?;
        crate::files::read_text(&path, limit, "a file of smoke mcp-server")
            .map_err(|e| ToolError(e.to_string()))
    }

    /// Every value the environment gives the server's configs (`${VAR}`), read from their text,
    /// so that even a config that does not load has its secrets redacted.
    pub(super) fn environment_secrets(&self) -> Vec<String> {
        static REFERENCE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        let reference =
            REFERENCE.get_or_init(|| regex::Regex::new(r"\$\{([A-Za-z0-9_]+)").expect("a valid pattern"));
        let mut out = Vec::new();
        for config in &self.configs {
            let Ok(text) = crate::files::read_text(config, crate::files::MAX_CONFIG_BYTES, "a config file")
            else {
                continue;
            };
            for name in reference.captures_iter(&text) {
                if let Ok(value) = std::env::var(&name[1])
                    && value.len() >= 4
                    && !out.contains(&value)
                {
                    out.push(value);
                }
            }
        }
        out
    }
}

/// Write `bytes` to `path`, as every report is written (a new file renamed into place).
pub(super) fn keep(path: &Path, bytes: &[u8]) -> Result<(), ToolError> {
    crate::files::write_atomically(path, |out| out.write_all(bytes))
        .map_err(|e| ToolError(format!("cannot write {}: {e}", path.display())))
}

/// How long planning may take (plugins compile once, then plan in milliseconds).
const PLAN_TIME: Duration = Duration::from_secs(300);

pub(super) fn settings(config: &Path) -> Result<crate::config::Settings, ToolError> {
    let o = crate::config::Overrides {
        config: Some(config.to_path_buf()),
        plan_only: true,
        ..Default::default()
    };
    crate::config::load(&o).map_err(|e| ToolError(format!("config: {e}")))
}

/// `smoke plan --config CONFIG [--filter F]... EXTRA`: the plan's JSON text.
pub(super) async fn plan_text(
    p: &Project,
    config: &Path,
    filters: &[String],
    extra: &[OsString],
) -> Result<String, ToolError> {
    // A plugin that plans from an MCP server's tool list reads it from the config's server.
    let mut a: Vec<OsString> =
        vec!["plan".into(), "--mcp-from-config".into(), "--config".into(), config.into()];
    for f in filters {
        a.push(format!("--filter={f}").into());
    }
    a.extend(extra.iter().cloned());
    let out = smoke(&a, &p.dir, PLAN_TIME).await?;
    if out.timed_out {
        return fail(format!("smoke plan took over {} s and was stopped", PLAN_TIME.as_secs()));
    }
    if out.code != Some(0) || out.stdout.trim().is_empty() {
        return fail(format!(
            "smoke plan --config {} gave no plan (exit {}):\n{}",
            p.shown(config),
            out.code.map_or("by signal".into(), |c| c.to_string()),
            said(&out.stderr, 40)
        ));
    }
    Ok(out.stdout)
}
