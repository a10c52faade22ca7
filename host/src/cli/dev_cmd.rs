//! `smoke dev`: the plugin author's loop. Watch a plugin project (or a plan file), rebuild it at
//! every edit, keep the service under test running between iterations, rerun the scenarios and
//! print one compact verdict per edit, with the failing step's detail.
//!
//! Each iteration is a `smoke run` of its own (a child process with `--base-url` at the service
//! smoke dev keeps up, and the component just built), so what `smoke dev` says is exactly what a
//! run says; the child writes report.json, read back for the verdict. A Ctrl-C stops the build or
//! run in flight, the service, and every process they started: nothing is left.

use super::dev_build::{BuildFailed, Built, Project};
use super::{Failure, exit};
use crate::config::{self, Overrides};
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// How often the files are looked at.
const POLL: Duration = Duration::from_millis(100);
/// The most files watched (a project that holds more is mostly not the author's edits).
const MAX_WATCHED: usize = 20_000;

#[derive(Debug, Clone, Args)]
pub(super) struct DevArgs {
    /// The plugin project to watch and rebuild, as `smoke plugin new` makes it (Rust, Python or
    /// TypeScript) [default: the current folder, unless only --plan is given].
    #[arg(value_name = "PROJECT")]
    project: Option<PathBuf>,
    /// Run this plan file (the schema `smoke plan` prints), and again whenever it changes.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Config file: its [target] is started once and kept up (restarted between edits when the
    /// config resets it before it starts), its one plugin's settings apply when that plugin is the
    /// project's own build, and a change to it reruns [default: ./smoke.toml when it exists].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Test a service already running at this URL; start nothing.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Run only the scenarios whose id matches (as `smoke run --filter`; repeatable).
    #[arg(long, value_name = "PATTERN")]
    filter: Vec<String>,
    /// Set a config key of the plugin being written (repeatable).
    #[arg(long, value_name = "KEY=VALUE")]
    plugin_config: Vec<String>,
    /// Stop after the first verdict, exiting with its code (0 passed, 1 failed).
    #[arg(long)]
    once: bool,
    /// Save each input the plugin's `check` is handed, and its verdict, into DIR at every
    /// iteration (as `smoke run --record-checks`): fixtures the SDK's testing module replays.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Leave the service's state as the last iteration left it, instead of making it again as
    /// the config makes it (its reset and seed commands) before each iteration.
    #[arg(long)]
    keep_state: bool,
    /// Say more: -v shows each run's log (the plugin's own lines included), -vv debug.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

pub(super) async fn dev(args: DevArgs) -> Result<i32, Failure> {
    let project = match (&args.project, &args.plan) {
        (None, Some(_)) => None,
        (dir, _) => Some(Project::detect(dir.as_deref().unwrap_or(Path::new(".")))?),
    };
    let config = args.config.clone().or_else(|| Some(PathBuf::from("smoke.toml")).filter(|p| p.is_file()));
    if config.is_none() && args.base_url.is_none() {
        return Err(Failure::new(
            exit::USAGE,
            "smoke dev: no service to test: pass --base-url URL (a service you run), or --config FILE whose \
             [target] starts one (or run it where a smoke.toml is)",
        ));
    }
    let settings = config::load(&Overrides {
        config: config.clone(),
        base_url: args.base_url.clone(),
        plan_file: true,
        ..Overrides::default()
    })
    .map_err(|e| Failure::new(exit::USAGE, e))?;
    let state = State::new(project.as_ref())?;
    let inherit = inherits(project.as_ref(), &settings);
    crate::service::adopt_orphans();
    let mut signals = super::Signals::listen();
    let target = tokio::sync::Mutex::new(Target::default());
    let looped = async {
        target.lock().await.start(&settings, &state.dir).await?;
        let dev = Dev {
            args: &args,
            project: project.as_ref(),
            config: config.as_deref(),
            inherit,
            scenarios: settings.scenarios.clone(),
            target: &target,
            state: &state,
            missing_tried: Default::default(),
        };
        dev.watch().await
    };
    let code = tokio::select! {
        code = looped => code,
        code = super::next_signal(&mut signals) => Ok(code),
    };
    // Whatever the iteration in flight started (a build's compilers, a run) goes, then the service.
    crate::service::reap_descendants(Duration::from_secs(2)).await;
    target.lock().await.stop().await;
    if matches!(code, Ok(exit::SIGINT | exit::SIGTERM)) {
        crate::warn_user!("smoke dev: stopped; nothing it started is left running");
    }
    code
}

/// Whether the project's plugin takes the settings (`[plugins.config]`) the config gives its one
/// plugin: when that plugin is the project's own build (a file in the project, or the Rust
/// component). The run is then told to take them from the file, so no secret is on a command
/// line. A config for other plugins has its settings left out, saying so.
fn inherits(project: Option<&Project>, settings: &config::Settings) -> bool {
    let Some(project) = project else { return false };
    let own = |path: &Path| {
        let path = real(path);
        path.starts_with(real(project.dir()))
            || matches!(project, Project::Rust { component, .. } if real(component) == path)
    };
    let configured: Vec<_> = settings.plugins.iter().filter(|p| !p.config.is_empty()).collect();
    match &settings.plugins[..] {
        [only] if matches!(&only.source, config::PluginSource::File(path) if own(path)) => true,
        _ if configured.is_empty() => false,
        _ => {
            crate::warn_user!(
                "smoke dev: the config's [plugins.config] is for its own plugins, not the project's; give the \
                 project's plugin its settings with --plugin-config KEY=VALUE"
            );
            false
        }
    }
}

/// A path with its links and `..` resolved, as far as it exists (a component not built yet).
fn real(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent().and_then(|d| std::fs::canonicalize(d).ok()), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Where smoke dev keeps its builds (runner, bundle) and each run's report: beside the compiled
/// plugins, per project (nothing is written into the project), or a temporary folder.
struct State {
    dir: PathBuf,
    _temporary: Option<tempfile::TempDir>,
}

impl State {
    fn new(project: Option<&Project>) -> Result<State, Failure> {
        let failed =
            |e: std::io::Error| Failure::new(exit::USAGE, format!("smoke dev: cannot make its folder: {e}"));
        let key = project.map(|p| crate::plugin::cache::digest(p.dir().as_os_str().as_encoded_bytes()));
        if let (Some(cache), Some(key)) = (crate::plugin::cache::cache_dir(), key) {
            let dir = cache.join("dev").join(&key[..16]);
            std::fs::create_dir_all(&dir).map_err(failed)?;
            return Ok(State { dir, _temporary: None });
        }
        let temporary = tempfile::Builder::new().prefix("smoke-dev-").tempdir().map_err(failed)?;
        Ok(State { dir: temporary.path().to_path_buf(), _temporary: Some(temporary) })
    }
}

/// The service under test: at the URL given, or started by smoke dev from the config's [target]
/// once, with its commands, and stopped at the end. Between iterations its state is made again as
/// the config makes it: the commands that run after it starts (seed) run again; one that must run
/// before it starts (a reset) restarts it (`--keep-state` leaves it as it is).
#[derive(Default)]
struct Target {
    url: String,
    service: Option<crate::service::Service>,
    started: Option<Started>,
}

/// What smoke dev started the service from.
struct Started {
    target: config::Target,
    workspace: crate::service::Workspace,
    logs: PathBuf,
}

impl Target {
    /// The base URL: the one given, or the service's once it is healthy.
    async fn start(&mut self, settings: &config::Settings, state: &Path) -> Result<String, Failure> {
        if let Some(url) = &settings.base_url {
            self.url = url.clone();
            return Ok(self.url.clone());
        }
        let Some(target) = &settings.target else {
            return Err(Failure::new(
                exit::USAGE,
                "smoke dev: no service to test: pass --base-url URL, or a config whose [target] starts one",
            ));
        };
        let workspace = crate::service::Workspace::prepare(target, false).map_err(|e| failed(&e))?;
        self.started = Some(Started { target: target.clone(), workspace, logs: state.to_path_buf() });
        crate::warn_user!("smoke dev: starting {} ...", target.command.as_deref().unwrap_or("the service"));
        self.launch().await?;
        let before: Vec<&str> = target.hooks.iter().filter(|h| h.before_start).map(|h| h.name).collect();
        match before.is_empty() {
            true => crate::warn_user!(
                "smoke dev: the service is up at {}; it keeps running between edits",
                self.url
            ),
            false => crate::warn_user!(
                "smoke dev: the service is up at {}; the config resets it before it starts ({}), so it is \
                 restarted between edits for a fresh state (--keep-state keeps it running as it is)",
                self.url,
                before.join(", ")
            ),
        }
        Ok(self.url.clone())
    }

    /// The commands before the service, the service (on a port of its own), the commands after.
    async fn launch(&mut self) -> Result<(), Failure> {
        let Some(s) = self.started.take() else { return Ok(()) };
        let launched = self.launch_from(&s).await;
        self.started = Some(s);
        launched
    }

    async fn launch_from(&mut self, s: &Started) -> Result<(), Failure> {
        let port = crate::service::choose_port(&s.target).map_err(|e| failed(&e))?;
        for before in [true, false] {
            if !before {
                let log = s.logs.join("service.log");
                let service = crate::service::Service::start(&s.target, &s.workspace.dir, port, Some(&log))
                    .await
                    .map_err(|e| failed(&e))?;
                self.url = service.base_url.clone();
                self.service = Some(service);
            }
            for hook in s.target.hooks.iter().filter(|h| h.before_start == before) {
                let log = s.logs.join(format!("{}.log", hook.name));
                crate::service::run_hook(hook, &s.target.dir, &s.workspace.dir, port, Some(&log))
                    .await
                    .map_err(|e| failed(&e))?;
            }
        }
        Ok(())
    }

    /// Make the service's state again for the next iteration, as the config makes it; its URL.
    async fn reset(&mut self) -> Result<String, Failure> {
        let Some(s) = &self.started else { return Ok(self.url.clone()) };
        if s.target.hooks.iter().any(|h| h.before_start) {
            self.stop().await;
            self.launch().await?;
            return Ok(self.url.clone());
        }
        let s = self.started.as_ref().expect("checked above");
        let port = url::Url::parse(&self.url).ok().and_then(|u| u.port_or_known_default()).unwrap_or(0);
        for hook in s.target.hooks.iter().filter(|h| !h.before_start) {
            let log = s.logs.join(format!("{}.log", hook.name));
            crate::service::run_hook(hook, &s.target.dir, &s.workspace.dir, port, Some(&log))
                .await
                .map_err(|e| failed(&e))?;
        }
        Ok(self.url.clone())
    }

    async fn stop(&mut self) {
        if let Some(mut s) = self.service.take() {
            s.stop(std::future::pending()).await;
        }
    }
}

fn failed(e: &dyn std::fmt::Display) -> Failure {
    Failure::new(exit::TARGET, format!("smoke dev: {e}"))
}

/// One smoke dev session: what it watches, builds and runs.
struct Dev<'a> {
    args: &'a DevArgs,
    project: Option<&'a Project>,
    config: Option<&'a Path>,
    /// The config's only plugin's settings apply to the project's plugin.
    inherit: bool,
    /// The config's file of scenarios beside the plugins' plan (`[run] scenarios`), watched too.
    scenarios: Option<PathBuf>,
    target: &'a tokio::sync::Mutex<Target>,
    state: &'a State,
    /// The modules a Python runner was rebuilt for: a rebuild that did not bring one in (a typo,
    /// an import the runner cannot hold) is not tried again for it.
    missing_tried: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// The files watched, with what says they changed.
type Snapshot = BTreeMap<PathBuf, (SystemTime, u64)>;

impl Dev<'_> {
    /// Build and run now, then again after every edit; until a signal (or once, with --once).
    async fn watch(&self) -> Result<i32, Failure> {
        if let Some(project) = self.project
            && let Err(BuildFailed(why)) = project.prepare(&self.state.dir, false).await
        {
            return Err(Failure::new(
                exit::PLUGIN,
                format!("smoke dev: the project cannot be built:\n{why}"),
            ));
        }
        let mut seen = self.snapshot();
        let mut iteration = 1;
        let mut changed = String::from("start");
        crate::say!(
            "smoke dev: watching {} (Ctrl-C stops)",
            self.project.map_or_else(|| self.plan_said(), |p| p.dir().display().to_string())
        );
        loop {
            let code = self.iterate(iteration, &changed).await;
            if self.args.once {
                return Ok(code);
            }
            (seen, changed) = self.next_change(seen).await;
            iteration += 1;
        }
    }

    fn plan_said(&self) -> String {
        self.args.plan.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
    }

    /// Wait for an edit, and for the files to settle (an editor may write in steps): the new
    /// snapshot and what changed, in words.
    async fn next_change(&self, seen: Snapshot) -> (Snapshot, String) {
        loop {
            tokio::time::sleep(POLL).await;
            let now = self.snapshot();
            if now == seen {
                continue;
            }
            let mut settled = now;
            loop {
                tokio::time::sleep(Duration::from_millis(30)).await;
                let again = self.snapshot();
                if again == settled {
                    break;
                }
                settled = again;
            }
            let changed: Vec<String> = settled
                .iter()
                .filter(|(path, stamp)| seen.get(*path) != Some(stamp))
                .map(|(path, _)| path.clone())
                .chain(seen.keys().filter(|p| !settled.contains_key(*p)).cloned())
                .map(|p| self.shown(&p))
                .collect();
            let said = match changed.len() {
                0 => "a file".to_string(),
                1..=3 => changed.join(", "),
                n => format!("{} and {} more", changed[..2].join(", "), n - 2),
            };
            // A file's name is the author's to choose: it never breaks or starts a line of ours.
            return (settled, crate::http::escape_line(&said).into_owned());
        }
    }

    /// A watched path, relative to the project when it is in it.
    fn shown(&self, path: &Path) -> String {
        let base = self.project.map(|p| p.dir()).unwrap_or(Path::new(""));
        path.strip_prefix(base).unwrap_or(path).display().to_string()
    }

    /// Every watched file: the project's (not its builds or dependencies), the config and the plan.
    fn snapshot(&self) -> Snapshot {
        let mut files = Snapshot::new();
        let mut stamp = |path: &Path| {
            if let Ok(m) = std::fs::metadata(path) {
                files.insert(path.to_path_buf(), (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            }
        };
        for extra in [self.config, self.args.plan.as_deref(), self.scenarios.as_deref()].into_iter().flatten()
        {
            stamp(extra);
        }
        let Some(project) = self.project else { return files };
        let mut pending = vec![(project.dir().to_path_buf(), 0)];
        let mut count = 0;
        while let Some((dir, depth)) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let Ok(kind) = entry.file_type() else { continue };
                count += 1;
                if count > MAX_WATCHED || name.starts_with(".smoke") {
                    continue;
                }
                if kind.is_dir() && depth < 8 && !Project::ignored(&name, depth == 0) {
                    pending.push((entry.path(), depth + 1));
                } else if kind.is_file() && !Project::written_by_build(&name) {
                    stamp(&entry.path());
                }
            }
        }
        files
    }

    /// One iteration: build, run, say the verdict. Its exit code.
    async fn iterate(&self, iteration: u32, changed: &str) -> i32 {
        let started = Instant::now();
        let built = match self.project {
            None => None,
            Some(project) => match project.build(&self.state.dir).await {
                Ok(built) => Some(built),
                Err(BuildFailed(why)) => {
                    crate::say!(
                        "[{iteration}] {changed}: BUILD FAILED ({:.1} s)",
                        started.elapsed().as_secs_f64()
                    );
                    crate::say!("{}", indent(&why));
                    return exit::PLUGIN;
                }
            },
        };
        if let Some(b) = &built {
            warm(&b.component).await;
        }
        let url = match iteration > 1 && !self.args.keep_state {
            true => self.target.lock().await.reset().await,
            false => Ok(self.target.lock().await.url.clone()),
        };
        let url = match url {
            Ok(url) => url,
            Err(e) => {
                crate::say!(
                    "[{iteration}] {changed}: NO VERDICT: the service could not be made ready again:"
                );
                crate::say!("{}", indent(&e.message));
                return e.code;
            }
        };
        let mut ran = self.run(built.as_ref(), &url).await;
        if let Some(again) = self.rebuild_for_missing(&ran).await {
            ran = self.run(built.as_ref(), &url).await;
            if let Err(BuildFailed(why)) = again {
                crate::say!("  the runner could not be built again:\n{}", indent(&why));
            }
        }
        crate::service::reap_adopted();
        let took = started.elapsed().as_secs_f64();
        match ran {
            Ok((code, stderr)) => {
                let verdict = read_verdict(&self.state.dir.join("report.json"));
                match verdict {
                    Some(v) if code <= exit::FAILED => {
                        if self.args.verbose > 0 {
                            crate::warn_user!("{}", said_by(&stderr, true));
                        }
                        crate::say!("[{iteration}] {changed}: {} ({took:.1} s)", v.summary);
                        for line in v.failures {
                            crate::say!("  {line}");
                        }
                    }
                    _ => {
                        crate::say!(
                            "[{iteration}] {changed}: NO VERDICT, smoke run exited {code} ({took:.1} s)"
                        );
                        crate::say!("{}", indent(&said_by(&stderr, self.args.verbose > 0)));
                    }
                }
                code
            }
            Err(NotRun(why)) => {
                crate::say!("[{iteration}] {changed}: NO VERDICT: {why}");
                exit::USAGE
            }
        }
    }

    /// A Python runner built before an import the edit added: build it again, once per module
    /// (none for a module of the project itself, which the runner reads from the folder). What
    /// the rebuild came to, when there was one.
    async fn rebuild_for_missing(
        &self,
        ran: &Result<(i32, String), NotRun>,
    ) -> Option<Result<(), BuildFailed>> {
        let (Some(project @ Project::Python { dir, .. }), Ok((_, stderr))) = (self.project, ran) else {
            return None;
        };
        let missing = stderr.split("No module named '").nth(1)?.split('\'').next()?.to_string();
        let top = missing.split('.').next().unwrap_or(&missing);
        let in_project = dir.join(format!("{top}.py")).is_file() || dir.join(top).is_dir();
        if in_project || !self.missing_tried.lock().unwrap_or_else(|e| e.into_inner()).insert(missing.clone())
        {
            return None;
        }
        crate::warn_user!(
            "smoke dev: the plugin imports {missing}, which the runner lacks; building it again"
        );
        Some(project.prepare(&self.state.dir, true).await)
    }

    /// The iteration's `smoke run`: its exit code and what it said on stderr.
    async fn run(&self, built: Option<&Built>, url: &str) -> Result<(i32, String), NotRun> {
        let report = self.state.dir.join("report.json");
        let _ = std::fs::remove_file(&report);
        // This very binary, even if a build has replaced the file since it started.
        let me = match Path::new("/proc/self/exe").exists() {
            true => PathBuf::from("/proc/self/exe"),
            false => std::env::current_exe().map_err(|e| NotRun(format!("cannot find smoke itself: {e}")))?,
        };
        let mut c = tokio::process::Command::new(me);
        if self.args.verbose > 0 {
            c.arg(format!("-{}", "v".repeat(usize::from(self.args.verbose))));
        }
        c.arg("run").arg("--base-url").arg(url).arg("--no-progress");
        c.arg("--report-json").arg(&report).arg("--artifacts").arg(self.state.dir.join("run"));
        if let Some(config) = self.config {
            c.arg("--config").arg(config);
        }
        if let Some(b) = built {
            c.arg("--plugin").arg(&b.component).args(&b.grant);
            if self.inherit {
                c.arg("--dev-config-plugin");
            }
            for kv in &self.args.plugin_config {
                c.arg("--plugin-config").arg(kv);
            }
        }
        if let Some(plan) = &self.args.plan {
            c.arg("--plan").arg(plan);
        }
        for f in &self.args.filter {
            c.arg("--filter").arg(f);
        }
        if let Some(dir) = &self.args.record {
            c.arg("--record-checks").arg(std::path::absolute(dir).unwrap_or_else(|_| dir.clone()));
        }
        c.stdin(std::process::Stdio::null()).kill_on_drop(true).process_group(0);
        let out = c.output().await.map_err(|e| NotRun(format!("cannot run smoke: {e}")))?;
        let code = out.status.code().unwrap_or(exit::USAGE);
        Ok((code, String::from_utf8_lossy(&out.stderr).into_owned()))
    }
}

/// Why an iteration's run could not start.
struct NotRun(String);

/// Compile a component into the cache before the run loads it, here, where stderr may be a
/// terminal: a first compile of seconds says what it is doing (the run's stderr is captured).
async fn warm(component: &Path) {
    let path = component.to_path_buf();
    let _ = tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).ok()?;
        let engine = crate::plugin::engine().ok()?;
        let digest = crate::plugin::cache::digest(&bytes);
        crate::plugin::cache::load(&engine, &bytes, &digest, &path.display().to_string()).ok()
    })
    .await;
}

/// A run's verdict in brief: the counts, and a line per failed scenario with its failing step.
struct Verdict {
    summary: String,
    failures: Vec<String>,
}

fn read_verdict(report: &Path) -> Option<Verdict> {
    let text = std::fs::read_to_string(report).ok()?;
    let report: serde_json::Value = serde_json::from_str(&text).ok()?;
    let s = &report["summary"];
    let (passed, failed, skipped) = (s["passed"].as_u64()?, s["failed"].as_u64()?, s["skipped"].as_u64()?);
    let word = if failed > 0 {
        "FAIL"
    } else if passed == 0 {
        "NOTHING PASSED"
    } else {
        "PASS"
    };
    let summary = format!("{word}: {passed} passed, {failed} failed, {skipped} skipped");
    let mut failures = Vec::new();
    if let Some(stage) = report["stage_failure"].as_object() {
        let line = format!(
            "{}: {}",
            stage["stage"].as_str().unwrap_or("stage"),
            stage["message"].as_str().unwrap_or("")
        );
        failures.push(crate::http::escape_line(&line).into_owned());
    }
    for scenario in report["scenarios"].as_array().into_iter().flatten() {
        if scenario["outcome"] != "failed" {
            continue;
        }
        let id = scenario["id"].as_str().unwrap_or("?");
        let step = scenario["failed_step"]
            .as_u64()
            .and_then(|i| scenario["steps"].get(i as usize))
            .map(|step| {
                format!(
                    " (step {} {})",
                    step["index"].as_u64().unwrap_or(0) + 1,
                    step["name"].as_str().unwrap_or("")
                )
            })
            .unwrap_or_default();
        let failure = &scenario["failure"];
        let line = format!(
            "FAIL {id}{step}: {}: {}",
            failure["kind"].as_str().unwrap_or("failed"),
            failure["message"].as_str().unwrap_or("")
        );
        failures.push(crate::http::escape_line(&line).into_owned());
    }
    Some(Verdict { summary, failures })
}

/// What a run said on stderr worth showing when it gave no verdict: its errors and warnings, not
/// its log (the plugin's own lines, shown with -v).
fn said_by(stderr: &str, verbose: bool) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            verbose || !(l.starts_with(" INFO ") || l.starts_with("DEBUG ") || l.starts_with("TRACE "))
        })
        .collect();
    lines.join("\n").trim_end().to_string()
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n")
}
