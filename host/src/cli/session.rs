//! The stages of `smoke run` between "the plan is ready" and "the results are known": the
//! commands around the service, the service, seeding, the scenarios. One [`Session`] value
//! carries what they share, so an interruption can still report what finished and stop what
//! started.

use super::Failure;
use super::exit;
use super::options::RunArgs;
use super::plugins::Loaded;
use crate::config::{McpTransport, Settings};
use crate::http::{Client, Redactor};
use crate::plan::Plan;
use crate::report::{self, RunDir};
use crate::run::results::SeedResult;
use crate::run::spool::Spool;
use crate::run::transcript::Transcript;
use crate::run::{self, Context};
use crate::seed;
use crate::service::{Service, Workspace};
use std::sync::Arc;
use std::time::Instant;

/// What finished before the run ended, however it ended.
#[derive(Default)]
pub(super) struct Progress {
    pub(super) seeds: Vec<SeedResult>,
    /// Finished scenarios, by plan index.
    pub(super) spool: Spool,
    pub(super) base_url: String,
    /// Set when seeding failed: the message, and every scenario counts as skipped.
    pub(super) seed_failure: Option<String>,
    /// The MCP server, as it described itself at `initialize`.
    pub(super) mcp: Option<crate::mcp::ServerRecord>,
}

pub(super) type Shared<T> = Arc<std::sync::Mutex<T>>;

pub(super) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A stage of the run that failed before its scenarios could run: which, the exit code, why.
pub(super) struct StageError {
    pub(super) stage: &'static str,
    pub(super) failure: Failure,
}

impl StageError {
    fn new(stage: &'static str, code: i32, message: impl std::fmt::Display) -> Self {
        StageError { stage, failure: Failure::new(code, message) }
    }
}

/// One run: its options and settings, its plugins and plan, where it writes, and what it shares
/// with whoever must stop it (progress so far, the running service).
pub(super) struct Session<'a> {
    pub(super) args: &'a RunArgs,
    pub(super) settings: &'a Settings,
    pub(super) loaded: &'a [Loaded],
    /// The plan; made once the target is up when `plan_later`.
    pub(super) plan: Shared<Arc<Plan>>,
    /// A plugin reads the MCP server's description (`mcp:server`) or a document the service
    /// serves: plan once the session is open and the service is up.
    pub(super) plan_later: bool,
    pub(super) run_dir: &'a RunDir,
    pub(super) workspace: Option<&'a Workspace>,
    pub(super) progress: Shared<Progress>,
    /// What the run started: the service under test, an MCP server over stdio. Stopped in
    /// reverse order at the end, on every path.
    pub(super) services: Shared<Vec<Service>>,
    /// The MCP session, closed before the services stop.
    pub(super) mcp: Shared<Option<Arc<crate::mcp::Session>>>,
    pub(super) transcript: Option<Arc<Transcript>>,
}

/// What starting the run's processes came to: where the HTTP service is, the watches on the
/// service's and the MCP server's exits, and the MCP server's pipes when it speaks over stdio.
#[derive(Default)]
struct Started {
    base_url: Option<String>,
    service_exit: Option<tokio::sync::watch::Receiver<Option<String>>>,
    mcp_exit: Option<tokio::sync::watch::Receiver<Option<String>>>,
    stdio: Option<(String, tokio::process::ChildStdin, tokio::process::ChildStdout)>,
}

/// The MCP server over stdio the config names: its command, arguments, environment, and the
/// folder a relative command resolves in.
struct StdioServer<'a> {
    command: &'a str,
    args: &'a [String],
    env: &'a std::collections::BTreeMap<String, String>,
    dir: &'a std::path::Path,
}

/// The MCP server over stdio the config names, if it does.
fn stdio_server(settings: &Settings) -> Option<StdioServer<'_>> {
    match &settings.mcp {
        Some(crate::config::Mcp { transport: McpTransport::Stdio { command, args, env, dir }, .. }) => {
            Some(StdioServer { command, args, env, dir })
        }
        _ => None,
    }
}

impl Session<'_> {
    /// Everything between "plugins planned" and "results known", in stages: the target (its
    /// commands, the service, an MCP server over stdio), the MCP session, the plan made from the
    /// server's description when a plugin asks for it, the seeds, the scenarios.
    pub(super) async fn execute(&self, redactor: Redactor) -> Result<(), StageError> {
        let mut started = self.start_target().await?;
        self.start_stdio_beside(&mut started).await?;
        let mcp = self.open_mcp(&mut started).await?;
        self.plan_late(mcp.as_ref(), &started).await?;
        let plan = lock(&self.plan).clone();
        let ctx = self.context(&plan, &started, mcp, redactor)?;
        self.reach(&ctx).await?;
        self.announce(&ctx, &plan);
        let Some(vars) = self.seed(&ctx, &plan).await else { return Ok(()) };
        self.scenarios(ctx, plan, vars).await;
        Ok(())
    }

    /// The target: a running service (`--base-url`), or the commands before it, the service (or
    /// the MCP server over stdio that is the service under test), the commands after it.
    async fn start_target(&self) -> Result<Started, StageError> {
        let settings = self.settings;
        let mut started = Started::default();
        let (target, workspace) = match (&settings.base_url, &settings.target, self.workspace) {
            (Some(url), _, _) => {
                started.base_url = Some(url.clone());
                return Ok(started);
            }
            (None, Some(target), Some(workspace)) => (target, workspace),
            (None, None, _) if settings.mcp.is_some() => return Ok(started),
            _ => unreachable!("config::load refuses a config with neither a base URL nor a target"),
        };
        let port =
            crate::service::choose_port(target).map_err(|e| StageError::new("target", exit::TARGET, e))?;
        self.hooks(target, &workspace.dir, port, true).await?;
        match &target.command {
            Some(_) => {
                let log = self.run_dir.file("service.log");
                let service = Service::start(target, &workspace.dir, port, Some(&log))
                    .await
                    .map_err(|e| StageError::new("target", exit::TARGET, e))?;
                started.base_url = Some(service.base_url.clone());
                started.service_exit = Some(service.exit_watch());
                lock(&self.services).push(service);
            }
            // The service under test is the MCP server over stdio: it starts where the service
            // would, between the commands that prepare it and those that follow.
            None => self.start_stdio(&mut started, &workspace.dir, target.stop_grace, "service.log").await?,
        }
        self.hooks(target, &workspace.dir, port, false).await?;
        Ok(started)
    }

    /// The reset, migrate and seed commands that run before the service starts, or after.
    async fn hooks(
        &self,
        target: &crate::config::Target,
        workdir: &std::path::Path,
        port: u16,
        before: bool,
    ) -> Result<(), StageError> {
        let commands = self.run_dir.file("commands");
        // The run's own folder: a link planted in its place is removed, never written through.
        if std::fs::symlink_metadata(&commands).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = std::fs::remove_file(&commands);
        }
        let _ = std::fs::create_dir(&commands);
        for hook in target.hooks.iter().filter(|h| h.before_start == before) {
            let log = commands.join(format!("{}.log", hook.name));
            crate::service::run_hook(hook, &target.dir, workdir, port, Some(&log))
                .await
                .map_err(|e| StageError::new(hook.name, exit::SEED, e))?;
        }
        Ok(())
    }

    /// Start the config's MCP server over stdio, logging to `log` in the run directory.
    async fn start_stdio(
        &self,
        started: &mut Started,
        workdir: &std::path::Path,
        grace: std::time::Duration,
        log: &str,
    ) -> Result<(), StageError> {
        let Some(StdioServer { command, args, env, dir }) = stdio_server(self.settings) else {
            unreachable!("config::load refuses a [target] with neither command nor MCP command")
        };
        let (server, stdin, stdout) =
            Service::start_stdio(command, args, env, dir, workdir, grace, Some(&self.run_dir.file(log)))
                .await
                .map_err(|e| StageError::new("target", exit::TARGET, e))?;
        if started.service_exit.is_none() {
            started.service_exit = Some(server.exit_watch());
        }
        started.mcp_exit = Some(server.exit_watch());
        started.stdio = Some((server.command().to_string(), stdin, stdout));
        lock(&self.services).push(server);
        Ok(())
    }

    /// An MCP server over stdio given on the command line, beside whatever else runs.
    async fn start_stdio_beside(&self, started: &mut Started) -> Result<(), StageError> {
        if started.stdio.is_some() || stdio_server(self.settings).is_none() {
            return Ok(());
        }
        let here = std::env::current_dir().unwrap_or_else(|_| ".".into());
        let workdir = self.workspace.map(|w| w.dir.clone()).unwrap_or(here);
        self.start_stdio(started, &workdir, std::time::Duration::from_secs(5), "mcp-server.log").await
    }

    /// The MCP session, when the run has an MCP target; a server that cannot be talked to is a
    /// stage failure that says whether it exited and what it said last.
    async fn open_mcp(&self, started: &mut Started) -> Result<Option<Arc<crate::mcp::Session>>, StageError> {
        let settings = self.settings;
        let Some(m) = &settings.mcp else { return Ok(None) };
        // The server's pipes are the session's alone.
        let stdio = started.stdio.take();
        let session = match (&m.transport, stdio) {
            (_, Some((command, stdin, stdout))) => {
                let noise = match super::plugins::protocol_checks(self.loaded, settings) {
                    // The check `stdout` fails on what is noted; the session goes on.
                    true => crate::mcp::Noise::Note,
                    false => crate::mcp::Noise::Close,
                };
                crate::mcp::Session::stdio(&command, (stdout, stdin), m.timeout, &m.revision, noise).await
            }
            (McpTransport::Http { url, headers }, None) => {
                let url = mcp_url(url, started.base_url.as_deref())
                    .map_err(|e| StageError::new("mcp", exit::USAGE, e))?;
                crate::mcp::Session::http(
                    &url,
                    headers,
                    settings.jobs,
                    settings.max_body,
                    m.timeout,
                    &m.revision,
                )
                .await
            }
            (McpTransport::Stdio { .. }, None) => unreachable!("a stdio server is started before"),
        };
        let session = match session {
            Ok(s) => Arc::new(s),
            Err(e) => {
                return Err(StageError::new(
                    "mcp",
                    exit::TARGET,
                    self.why_mcp_failed(e.to_string(), started).await,
                ));
            }
        };
        lock(&self.progress).mcp = Some(session.record.clone());
        *lock(&self.mcp) = Some(session.clone());
        Ok(Some(session))
    }

    /// Why the MCP session could not open, with the server's own side of it: whether it exited,
    /// and what it said last.
    async fn why_mcp_failed(&self, mut message: String, started: &Started) -> String {
        let Some(exit) = &started.mcp_exit else { return message };
        let waited = exit.clone();
        let _ = tokio::time::timeout(std::time::Duration::from_millis(300), async move {
            let mut w = waited;
            let _ = w.wait_for(Option::is_some).await;
        })
        .await;
        if let Some(status) = exit.borrow().clone() {
            message.push_str(&format!("; the server exited ({status})"));
        }
        if let Some(server) = lock(&self.services).last() {
            let lines = server.last_lines(crate::service::SHOWN_LINES);
            if !lines.is_empty() {
                message.push_str(&format!("; its last output:\n  | {}", lines.join("\n  | ")));
            }
        }
        message
    }

    /// The plan, made now from what the target says when a plugin reads it: the MCP server's
    /// description, a document the service serves. Checked against the run's targets as a plan
    /// made up front was.
    async fn plan_late(
        &self,
        mcp: Option<&Arc<crate::mcp::Session>>,
        started: &Started,
    ) -> Result<(), StageError> {
        if !self.plan_later {
            return Ok(());
        }
        let mut loaded = self.loaded.to_vec();
        if let Some(session) = mcp {
            let description = session.description.to_string();
            loaded = super::plugins::with_mcp_server(&loaded, description.as_bytes(), self.settings);
        }
        if super::plugins::wants_service_documents(&loaded) {
            let Some(base_url) = &started.base_url else {
                let message = "a plugin reads a document the service serves, but the run has no HTTP service";
                return Err(StageError::new("plan", exit::USAGE, message));
            };
            loaded = super::plugins::with_service_documents(&loaded, base_url, &self.settings.base_dir)
                .await
                .map_err(|failure| StageError { stage: "plan", failure })?;
        }
        let planned = super::plan_cmd::build_plan(&loaded, &self.args.selection, None)
            .await
            .map_err(|failure| StageError { stage: "plan", failure })?;
        tracing::info!("plan: {} scenario(s) from what the target said", planned.scenarios.len());
        fits_targets(&planned, self.settings).map_err(|f| StageError { stage: "plan", failure: f })?;
        *lock(&self.plan) = Arc::new(planned);
        Ok(())
    }

    /// What every step shares.
    fn context(
        &self,
        plan: &Arc<Plan>,
        started: &Started,
        mcp: Option<Arc<crate::mcp::Session>>,
        redactor: Redactor,
    ) -> Result<Arc<Context>, StageError> {
        let (args, settings) = (self.args, self.settings);
        // Without an HTTP service (an MCP server over stdio only) there is no client: no HTTP step
        // is in the plan (`fits_targets` refused it).
        let client = match &started.base_url {
            Some(url) => Some(
                Client::with_tls(
                    url,
                    settings.request_timeout,
                    settings.jobs,
                    settings.max_body,
                    &settings.tls,
                )
                .map_err(|e| StageError::new("target", exit::USAGE, e))?,
            ),
            None => None,
        };
        Ok(Arc::new(Context {
            client,
            request_timeout: settings.request_timeout,
            plugins: self.loaded.iter().map(|l| (l.plugin.name().to_string(), l.plugin.clone())).collect(),
            plugin_config: self
                .loaded
                .iter()
                .map(|l| (l.plugin.name().to_string(), l.config.clone()))
                .collect(),
            redactor,
            service_exit: started.service_exit.clone(),
            epoch: Instant::now(),
            plan: plan.clone(),
            captured_by: Default::default(),
            transcript: self.transcript.clone(),
            schemas: Default::default(),
            // Tool calls are judged by the MCP server's exit: the stdio server's, else the
            // service's that serves the MCP url.
            mcp_exit: started.mcp_exit.clone().or_else(|| started.service_exit.clone()),
            mcp,
            keep_passing_exchanges: match args.exchanges {
                Some(which) => which == super::options::Exchanges::All,
                None => args.reports.report_html.is_some(),
            },
            reused: Default::default(),
            read_only: args.read_only,
            lint_secrets: settings.mcp.as_ref().is_some_and(|m| m.protocol_checks),
            record_checks: args.record_checks.clone(),
        }))
    }

    /// A running service named by `--base-url` must accept a connection before any scenario is
    /// sent: a target that is down is one failure of the run (exit 3), not one per scenario. A
    /// service smoke started was already found healthy.
    async fn reach(&self, ctx: &Context) -> Result<(), StageError> {
        let (Some(_), Some(client)) = (&self.settings.base_url, &ctx.client) else { return Ok(()) };
        client.reach().await.map_err(|e| {
            let why = match e {
                crate::http::SendError::Connect { message, .. } => message,
                crate::http::SendError::Timeout(limit) => {
                    format!("no connection within {} (--request-timeout)", humantime::format_duration(limit))
                }
                other => other.to_string(),
            };
            let message = format!(
                "nothing accepts a connection at {} ({why}): is the service running there? No scenario was sent",
                crate::http::shown_url(client.base_url())
            );
            StageError::new("target", exit::TARGET, ctx.redactor.text(&message))
        })
    }

    /// Say what the run is against, and record it.
    fn announce(&self, ctx: &Context, plan: &Plan) {
        let base_url = ctx.client.as_ref().map(|c| c.base_url().to_string());
        let (against, recorded) = match (&ctx.mcp, base_url) {
            (Some(m), None) => (
                format!("the MCP server {} (over {})", m.record.endpoint, m.record.transport),
                m.record.endpoint.clone(),
            ),
            (Some(m), Some(url)) => (format!("{url} (MCP at {})", m.record.endpoint), url),
            (None, Some(url)) => (url.clone(), url),
            (None, None) => (String::from("nothing"), String::new()),
        };
        lock(&self.progress).base_url = recorded;
        if !self.args.plugins.quiet {
            crate::say!(
                "smoke: {} scenario(s), {} seed(s) against {}",
                plan.scenarios.len(),
                plan.seeds.len(),
                crate::report::console::escape_line(&against)
            );
        }
    }

    /// The plugins' seeds, created in order: the variables they captured, or `None` when one
    /// failed (every scenario is then skipped, and the run says why).
    async fn seed(&self, ctx: &Context, plan: &Plan) -> Option<run::template::Vars> {
        if ctx.read_only && !plan.seeds.is_empty() {
            // Seeds create records: none is, and what needs one is skipped, saying so.
            tracing::info!("--read-only: {} seed(s) not created", plan.seeds.len());
            return Some(run::template::run_vars());
        }
        match seed::apply(ctx, &plan.seeds).await {
            Ok((vars, seeds)) => {
                lock(&self.progress).seeds = seeds;
                Some(vars)
            }
            Err(failure) => {
                let message = ctx.redactor.text(&seed_message(failure.failed()));
                let mut p = lock(&self.progress);
                p.seeds = failure.results;
                p.seed_failure = Some(message);
                None
            }
        }
    }

    /// The scenarios, with the live console, in one task that an interruption aborts (and with it
    /// every scenario in flight); then what rode on a connection the service was out of step on.
    async fn scenarios(&self, ctx: Arc<Context>, plan: Arc<Plan>, vars: run::template::Vars) {
        let executing = Instant::now();
        let progress = self.progress.clone();
        lock(&progress).spool.reserve(plan.scenarios.len());
        let live =
            report::console::Live::new(plan.scenarios.len(), self.args.plugins.quiet, self.args.no_progress);
        let (shared, jobs, total) = (plan.clone(), self.settings.jobs, plan.scenarios.len());
        let redactor = ctx.redactor.clone();
        let spool_of = progress.clone();
        let scheduler = tokio::spawn(async move {
            let doubted = run::execute(ctx, shared, vars, jobs, |i, r, encoded| {
                live.scenario(&r);
                lock(&spool_of).spool.push(i, &r, encoded);
            })
            .await;
            (live, doubted)
        });
        let mut scheduler = AbortOnDrop(scheduler);
        match (&mut scheduler.0).await {
            Ok((live, doubted)) => {
                live.finish();
                fail_out_of_step(&mut lock(&progress).spool, &doubted, &redactor);
                let noise = lock(&self.mcp).as_ref().and_then(|m| m.stdout_noise());
                if let Some(noise) = noise {
                    fail_stdout_check(&mut lock(&progress).spool, &noise, &redactor);
                }
            }
            Err(e) => tracing::error!("the scheduler failed (a bug in smoke; please report it): {e}"),
        }
        tracing::info!("scenarios: {total} done in {} ms", executing.elapsed().as_millis());
    }
}

/// Fail the passing verdicts whose answers came over a connection the service was out of step
/// on: a scenario never passes on what may be another request's answer.
fn fail_out_of_step(spool: &mut Spool, doubted: &[usize], redactor: &Redactor) {
    let mut failed = 0;
    for &i in doubted {
        if spool.brief(i).outcome != crate::run::results::Outcome::Passed {
            continue;
        }
        match spool.result(i) {
            Ok(r) => {
                let mut r = run::out_of_step(r);
                let encoded = run::spool::Encoded::new(&mut r, redactor);
                spool.push(i, &r, encoded);
                failed += 1;
            }
            Err(e) => tracing::error!("scenario {}: cannot read it back to fail it: {e}", spool.id(i)),
        }
    }
    if failed > 0 {
        crate::warn_user!(
            "the service sent answers nobody asked for on kept-alive connections: {failed} passing verdict(s) \
             that rode on them are failed, as their answers may be other requests'"
        );
    }
}

/// The stdio server printed something that is not JSON-RPC, noted and dropped: the protocol check
/// `stdout` fails on it, even when it was printed after the check ran; without the check in the
/// plan (left out by --filter), the run says what was dropped.
fn fail_stdout_check(spool: &mut Spool, noise: &str, redactor: &Redactor) {
    let Some(i) = (0..spool.len()).find(|&i| spool.id(i) == "mcp.protocol.stdout") else {
        crate::warn_user!(
            "{} (noted and dropped; the protocol check mcp.protocol.stdout, left out of this run, fails on it)",
            crate::report::console::escape_line(noise)
        );
        return;
    };
    if spool.brief(i).outcome != crate::run::results::Outcome::Passed {
        return;
    }
    match spool.result(i) {
        Ok(mut r) => {
            let why = crate::run::results::Failure::new(
                crate::run::results::FailureKind::McpProtocol,
                format!(
                    "{noise} (after this check ran); MCP requires that a stdio server writes nothing but JSON-RPC to its stdout"
                ),
            );
            r.outcome = crate::run::results::Outcome::Failed;
            r.reason = Some(why.message.clone());
            r.failure = Some(why);
            let encoded = run::spool::Encoded::new(&mut r, redactor);
            spool.push(i, &r, encoded);
        }
        Err(e) => tracing::error!("scenario mcp.protocol.stdout: cannot read it back to fail it: {e}"),
    }
}

/// Refuse, before anything starts, a plan whose steps the run's targets cannot carry: MCP calls
/// with no MCP target, HTTP requests with no HTTP service (only an MCP server over stdio).
pub(super) fn fits_targets(plan: &Plan, settings: &Settings) -> Result<(), Failure> {
    let http = settings.base_url.is_some() || settings.target.as_ref().is_some_and(|t| t.command.is_some());
    let no_mcp = |at: String, step: &crate::plan::model::Step| {
        Failure::new(
            exit::USAGE,
            format!(
                "{at} calls {} over MCP, but the run has no MCP target: pass --mcp-url URL or --mcp-command \
                 COMMAND, or add [target.mcp] to the config",
                crate::http::escape_line(&step.display_name())
            ),
        )
    };
    let no_http = |at: String| {
        Failure::new(
            exit::USAGE,
            format!(
                "{at} sends HTTP requests, but the run has no HTTP service (only an MCP server over stdio): \
                 pass --base-url, or leave the HTTP scenarios out with --filter"
            ),
        )
    };
    for seed in &plan.seeds {
        if seed.step.is_mcp() && settings.mcp.is_none() {
            return Err(no_mcp(format!("seed {:?}", seed.id), &seed.step));
        }
        if !seed.step.is_mcp() && !http {
            return Err(no_http(format!("seed {:?}", seed.id)));
        }
    }
    // What each scenario talks to is known without reading it back whole.
    let scenarios = &plan.scenarios;
    for i in 0..scenarios.len() {
        let (mcp, sends_http) = scenarios.talks(i);
        let at = || format!("scenario {:?}", scenarios.id(i));
        if mcp && settings.mcp.is_none() {
            let scenario = scenarios.get(i).map_err(|e| Failure::new(exit::USAGE, format!("plan: {e}")))?;
            if let Some(step) = scenario.steps.iter().find(|s| s.is_mcp()) {
                return Err(no_mcp(at(), step));
            }
        }
        if sends_http && !http {
            return Err(no_http(at()));
        }
    }
    Ok(())
}

/// An MCP url that is a path, in a run with no base URL to put it under.
#[derive(Debug, thiserror::Error)]
#[error("the MCP url {0:?} is a path, but the run has no base URL to put it under")]
struct PathWithoutBase(String);

/// The MCP URL: absolute, or a path under the base URL.
fn mcp_url(url: &str, base_url: Option<&str>) -> Result<String, PathWithoutBase> {
    if !url.starts_with('/') {
        return Ok(url.to_string());
    }
    let Some(base) = base_url else {
        return Err(PathWithoutBase(url.to_string()));
    };
    Ok(format!("{}{url}", base.trim_end_matches('/')))
}

fn seed_message(failed: &SeedResult) -> String {
    use crate::http::escape_line as line;
    let step = &failed.step;
    let mut m = format!("seed: {} (plugin {}) could not be created", line(&failed.id), line(&failed.plugin));
    if let Some(req) = &step.request {
        m.push_str(&format!("\n  request:  {} {}", line(&req.method), line(&req.url)));
    }
    m.push_str(&format!("\n  expected: {}", line(&step.expected)));
    if let Some(resp) = &step.response {
        m.push_str(&format!("\n  actual:   status {}", resp.status));
        if let Some(body) = &resp.body {
            m.push_str(&format!(" {}", line(&body.chars().take(300).collect::<String>())));
        }
    }
    for f in &step.failures {
        m.push_str(&format!("\n  reason:   {}", line(&f.message)));
    }
    m.push_str("\n  every scenario was skipped; check that the service starts from a clean state");
    m
}
