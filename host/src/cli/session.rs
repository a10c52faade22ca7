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
    /// The plan; replaced once the MCP session is open when `plan_after_mcp`.
    pub(super) plan: Shared<Arc<Plan>>,
    /// A plugin reads the MCP server's description (`mcp:server`): plan once the session is open.
    pub(super) plan_after_mcp: bool,
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

impl Session<'_> {
    /// Everything between "plugins planned" and "results known": commands, service, seeds,
    /// scenarios.
    pub(super) async fn execute(&self, redactor: Redactor) -> Result<(), StageError> {
        let (args, settings, run_dir, workspace) = (self.args, self.settings, self.run_dir, self.workspace);
        let (progress, services, transcript) =
            (self.progress.clone(), &self.services, self.transcript.clone());
        let mut service_exit = None;
        // The MCP server's own exit, when smoke started it over stdio.
        let mut mcp_exit: Option<tokio::sync::watch::Receiver<Option<String>>> = None;
        let mut stdio = None;
        let mcp_stdio = match &settings.mcp {
            Some(crate::config::Mcp {
                transport: McpTransport::Stdio { command, args, env, dir }, ..
            }) => Some((command, args, env, dir)),
            _ => None,
        };
        let base_url = match (&settings.base_url, &settings.target, workspace) {
            (Some(url), _, _) => Some(url.clone()),
            (None, Some(target), Some(workspace)) => {
                let port = crate::service::choose_port(target)
                    .map_err(|e| StageError::new("target", exit::TARGET, e))?;
                let commands = run_dir.file("commands");
                let _ = std::fs::create_dir_all(&commands);
                let hooks = |before: bool| target.hooks.iter().filter(move |h| h.before_start == before);
                for hook in hooks(true) {
                    let log = commands.join(format!("{}.log", hook.name));
                    crate::service::run_hook(hook, &target.dir, &workspace.dir, port, Some(&log))
                        .await
                        .map_err(|e| StageError::new(hook.name, exit::SEED, e))?;
                }
                let url = match &target.command {
                    Some(_) => {
                        let started =
                            Service::start(target, &workspace.dir, port, Some(&run_dir.file("service.log")))
                                .await
                                .map_err(|e| StageError::new("target", exit::TARGET, e))?;
                        let url = started.base_url.clone();
                        service_exit = Some(started.exit_watch());
                        lock(services).push(started);
                        Some(url)
                    }
                    // The service under test is the MCP server over stdio: it starts where the
                    // service would, between the commands that prepare it and those that follow.
                    None => match mcp_stdio {
                        Some((command, args, env, dir)) => {
                            let (started, stdin, stdout) = Service::start_stdio(
                                command,
                                args,
                                env,
                                dir,
                                &workspace.dir,
                                target.stop_grace,
                                Some(&run_dir.file("service.log")),
                            )
                            .await
                            .map_err(|e| StageError::new("target", exit::TARGET, e))?;
                            service_exit = Some(started.exit_watch());
                            mcp_exit = Some(started.exit_watch());
                            stdio = Some((started.command().to_string(), stdin, stdout));
                            lock(services).push(started);
                            None
                        }
                        None => unreachable!(
                            "config::load refuses a [target] with neither command nor MCP command"
                        ),
                    },
                };
                for hook in hooks(false) {
                    let log = commands.join(format!("{}.log", hook.name));
                    crate::service::run_hook(hook, &target.dir, &workspace.dir, port, Some(&log))
                        .await
                        .map_err(|e| StageError::new(hook.name, exit::SEED, e))?;
                }
                url
            }
            (None, None, _) if settings.mcp.is_some() => None,
            _ => unreachable!("config::load refuses a config with neither a base URL nor a target"),
        };
        // An MCP server over stdio given on the command line, beside whatever else runs.
        if stdio.is_none()
            && let Some((command, args, env, dir)) = mcp_stdio
        {
            let here = std::env::current_dir().unwrap_or_else(|_| ".".into());
            let workdir = workspace.map(|w| w.dir.clone()).unwrap_or(here);
            let (started, stdin, stdout) = Service::start_stdio(
                command,
                args,
                env,
                dir,
                &workdir,
                std::time::Duration::from_secs(5),
                Some(&run_dir.file("mcp-server.log")),
            )
            .await
            .map_err(|e| StageError::new("target", exit::TARGET, e))?;
            if service_exit.is_none() {
                service_exit = Some(started.exit_watch());
            }
            mcp_exit = Some(started.exit_watch());
            stdio = Some((started.command().to_string(), stdin, stdout));
            lock(services).push(started);
        }
        let mcp = match &settings.mcp {
            None => None,
            Some(m) => {
                let session = match (&m.transport, stdio) {
                    (_, Some((command, stdin, stdout))) => {
                        crate::mcp::Session::stdio(&command, stdout, stdin, m.timeout).await
                    }
                    (McpTransport::Http { url, headers }, None) => {
                        let url = mcp_url(url, base_url.as_deref())
                            .map_err(|e| StageError::new("mcp", exit::USAGE, e))?;
                        crate::mcp::Session::http(&url, headers, settings.jobs, settings.max_body, m.timeout)
                            .await
                    }
                    (McpTransport::Stdio { .. }, None) => unreachable!("a stdio server is started above"),
                };
                let session = match session {
                    Ok(s) => Arc::new(s),
                    Err(e) => {
                        // The server's own side of it: whether it exited, and what it said.
                        let mut message = e.to_string();
                        if let Some(exit) = &mcp_exit {
                            let _ = tokio::time::timeout(
                                std::time::Duration::from_millis(300),
                                exit.clone().wait_for(Option::is_some),
                            )
                            .await;
                            if let Some(status) = exit.borrow().clone() {
                                message.push_str(&format!("; the server exited ({status})"));
                            }
                        }
                        if let Some(server) = lock(services).last().filter(|_| mcp_exit.is_some()) {
                            let lines = server.last_lines(crate::service::SHOWN_LINES);
                            if !lines.is_empty() {
                                message
                                    .push_str(&format!("; its last output:\n  | {}", lines.join("\n  | ")));
                            }
                        }
                        return Err(StageError::new("mcp", exit::TARGET, message));
                    }
                };
                lock(&progress).mcp = Some(session.record.clone());
                *lock(&self.mcp) = Some(session.clone());
                Some(session)
            }
        };
        if let (true, Some(session)) = (self.plan_after_mcp, &mcp) {
            let description = session.description.to_string();
            let loaded = super::plugins::with_mcp_server(self.loaded, description.as_bytes());
            let planned = super::plan_cmd::build_plan(&loaded, &args.selection, None)
                .await
                .map_err(|failure| StageError { stage: "plan", failure })?;
            tracing::info!("plan: {} scenario(s) from the MCP server's description", planned.scenarios.len());
            *lock(&self.plan) = Arc::new(planned);
        }
        let plan = &lock(&self.plan).clone();
        // Checked before anything started for a plan made up front; here again for one made
        // from the MCP server's description.
        if self.plan_after_mcp {
            fits_targets(plan, settings).map_err(|f| StageError { stage: "plan", failure: f })?;
        }
        // Without an HTTP service (an MCP server over stdio only), no HTTP step is in the plan
        // (refused just above), so the client's base URL is never used.
        let base_url = base_url.unwrap_or_else(|| "http://127.0.0.1:9/".to_string());
        let service_exit_for_mcp = service_exit.clone();
        let client = Client::with_tls(
            &base_url,
            settings.request_timeout,
            settings.jobs,
            settings.max_body,
            &settings.tls,
        )
        .map_err(|e| StageError::new("target", exit::USAGE, e))?;
        let ctx = Arc::new(Context {
            client,
            plugins: self.loaded.iter().map(|l| (l.plugin.name().to_string(), l.plugin.clone())).collect(),
            plugin_config: self
                .loaded
                .iter()
                .map(|l| (l.plugin.name().to_string(), l.config.clone()))
                .collect(),
            redactor,
            service_exit,
            epoch: Instant::now(),
            plan: plan.clone(),
            captured_by: Default::default(),
            transcript,
            schemas: Default::default(),
            // Tool calls are judged by the MCP server's exit: the stdio server's, else the
            // service's that serves the MCP url.
            mcp_exit: mcp_exit.or_else(|| service_exit_for_mcp.clone()),
            mcp: mcp.clone(),
            keep_passing_exchanges: match args.exchanges {
                Some(which) => which == super::options::Exchanges::All,
                None => args.reports.report_html.is_some(),
            },
            reused: Default::default(),
        });
        // Without an HTTP service, what the run is against is the MCP server.
        let http =
            settings.base_url.is_some() || settings.target.as_ref().is_some_and(|t| t.command.is_some());
        let against = match &mcp {
            Some(m) if !http => format!("the MCP server {} (over {})", m.record.endpoint, m.record.transport),
            Some(m) => format!("{} (MCP at {})", ctx.client.base_url(), m.record.endpoint),
            None => ctx.client.base_url().to_string(),
        };
        lock(&progress).base_url = match &mcp {
            Some(m) if !http => m.record.endpoint.clone(),
            _ => ctx.client.base_url().to_string(),
        };
        let quiet = args.plugins.quiet;
        if !quiet {
            crate::say!(
                "smoke: {} scenario(s), {} seed(s) against {}",
                plan.scenarios.len(),
                plan.seeds.len(),
                crate::report::console::escape_line(&against)
            );
        }
        let vars = match seed::apply(&ctx, &plan.seeds).await {
            Ok((vars, seeds)) => {
                lock(&progress).seeds = seeds;
                vars
            }
            Err(failure) => {
                let message = ctx.redactor.text(&seed_message(failure.failed()));
                let mut p = lock(&progress);
                p.seeds = failure.results;
                p.seed_failure = Some(message);
                return Ok(());
            }
        };
        let executing = Instant::now();
        lock(&progress).spool.reserve(plan.scenarios.len());
        let live = report::console::Live::new(plan.scenarios.len(), quiet, args.no_progress);
        // The scheduler, with every scenario in flight, is one task: dropping this future (an
        // interruption) aborts it, and with it every scenario in flight.
        let (shared, jobs) = (plan.clone(), settings.jobs);
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
            }
            Err(e) => tracing::error!("the scheduler failed (a bug in smoke; please report it): {e}"),
        }
        tracing::info!("scenarios: {} done in {} ms", plan.scenarios.len(), executing.elapsed().as_millis());
        Ok(())
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
                step.display_name()
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

/// The MCP URL: absolute, or a path under the base URL.
fn mcp_url(url: &str, base_url: Option<&str>) -> Result<String, String> {
    if !url.starts_with('/') {
        return Ok(url.to_string());
    }
    let Some(base) = base_url else {
        return Err(format!("the MCP url {url:?} is a path, but the run has no base URL to put it under"));
    };
    Ok(format!("{}{url}", base.trim_end_matches('/')))
}

fn seed_message(failed: &SeedResult) -> String {
    let step = &failed.step;
    let mut m = format!("seed: {} (plugin {}) could not be created", failed.id, failed.plugin);
    if let Some(req) = &step.request {
        m.push_str(&format!("\n  request:  {} {}", req.method, req.url));
    }
    m.push_str(&format!("\n  expected: {}", step.expected));
    if let Some(resp) = &step.response {
        m.push_str(&format!("\n  actual:   status {}", resp.status));
        if let Some(body) = &resp.body {
            m.push_str(&format!(" {}", body.chars().take(300).collect::<String>()));
        }
    }
    for f in &step.failures {
        m.push_str(&format!("\n  reason:   {}", f.message));
    }
    m.push_str("\n  every scenario was skipped; check that the service starts from a clean state");
    m
}
