//! The command line: parse options once, drive the steps of a run in order, and map every
//! outcome to the exit codes (docs/architecture.md, the runbook). Nothing below this module decides
//! an exit code.
//!
//! One file a command or a stage: [`options`] (every flag), `plugins` (loading), `plan_cmd`,
//! `run_cmd` and `session` (a run), `inspect`, `doctor`, `plugin_cmd` (registry).

mod agent;
mod dev_build;
mod dev_cmd;
mod doctor;
mod documents;
mod inspect;
mod mcp_cmd;
mod openapi_cmd;
mod options;
mod plan_cmd;
mod plugin_cmd;
mod plugins;
mod report_cmd;
mod run_cmd;
mod scaffold;
mod session;

use clap::{CommandFactory, FromArgMatches};
use options::{Cli, Command};
use std::time::Duration;

/// Exit codes: the contract with CI pipelines.
pub mod exit {
    /// Every scenario passed.
    pub const PASSED: i32 = 0;
    /// At least one scenario failed, or was skipped because a dependency failed.
    pub const FAILED: i32 = 1;
    /// Usage or configuration error.
    pub const USAGE: i32 = 2;
    /// The service under test did not start or never became healthy.
    pub const TARGET: i32 = 3;
    /// A plugin could not be loaded, has an unsupported WIT version, or failed while planning.
    pub const PLUGIN: i32 = 4;
    /// Reset or seeding failed.
    pub const SEED: i32 = 5;
    /// Interrupted by SIGINT.
    pub const SIGINT: i32 = 130;
    /// Interrupted by SIGTERM.
    pub const SIGTERM: i32 = 143;
}

/// A failure that ends the run with a code and a message.
#[derive(Debug)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    fn new(code: i32, message: impl std::fmt::Display) -> Self {
        Failure { code, message: message.to_string() }
    }
}

/// This smoke's version and the plugin contract versions it loads.
fn supported() -> String {
    format!(
        "{} (runs plugins built for {})",
        env!("CARGO_PKG_VERSION"),
        crate::plugin::contract::supported_phrase()
    )
}

/// The plugins built into this smoke, each with its component's sha256 (`smoke --version`).
/// Their version is this smoke's: they are built from the same workspace.
fn bundled() -> String {
    let names = crate::plugin::bundled::available();
    if names.is_empty() {
        return "bundled plugins: none (built before them)".to_string();
    }
    let each: Vec<String> = names
        .iter()
        .filter_map(|n| {
            let bytes = crate::plugin::bundled::component(n)?;
            Some(format!(
                "  {n} {} sha256:{}",
                env!("CARGO_PKG_VERSION"),
                crate::plugin::cache::digest(bytes)
            ))
        })
        .collect();
    format!("bundled plugins:\n{}", each.join("\n"))
}

/// SIGINT and SIGTERM, listened for once a service may be running (before that, the default
/// action is right: nothing needs cleaning up).
struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn listen() -> Option<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    /// The next signal, as the exit code it calls for.
    async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.int.recv() => exit::SIGINT,
            _ = self.term.recv() => exit::SIGTERM,
        }
    }
}

async fn next_signal(signals: &mut Option<Signals>) -> i32 {
    match signals {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Parse the command line, run, and return the process exit code.
pub fn main() -> i32 {
    // `smoke --version` also says which plugin contract this smoke runs.
    let version: &'static str = Box::leak(supported().into_boxed_str());
    let long: &'static str = Box::leak(format!("{version}\n{}", bundled()).into_boxed_str());
    let matches = Cli::command().version(version).long_version(long).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let (verbose, quiet) = match &cli.command {
        Some(Command::Run(a)) => (a.plugins.verbose, a.plugins.quiet),
        Some(Command::Plan(a)) => (a.plugins.verbose, a.plugins.quiet),
        Some(Command::Inspect(a)) => (a.verbose, false),
        Some(Command::Doctor(a)) => (a.plugins.verbose, a.plugins.quiet),
        Some(Command::Plugin(_)) => (0, false),
        Some(Command::Report(_)) => (0, false),
        Some(Command::Mcp(_)) => (0, false),
        Some(Command::Openapi(_)) => (0, false),
        Some(Command::Dev(a)) => (a.verbose, false),
        Some(Command::McpServer(a)) => (a.verbose, false),
        None => (cli.run.plugins.verbose, cli.run.plugins.quiet),
    };
    init_tracing(verbose, quiet);
    // One thread drives every scenario (they run as slots of one task, see `run::execute`): a
    // current-thread runtime wakes that task without handing it, or the connections' readiness,
    // between threads. Plugin calls and other blocking work go to the runtime's blocking threads.
    let mut builder = tokio::runtime::Builder::new_current_thread();
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            crate::warn_user!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(&matches);
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Run(args)) => run_cmd::run(args, sub).await,
            None => run_cmd::run(cli.run, sub).await,
            Some(Command::Plan(args)) => plan_cmd::plan_command(args, sub).await,
            Some(Command::Inspect(args)) => inspect::inspect(args).await,
            Some(Command::Doctor(args)) => doctor::doctor(args, sub).await,
            Some(Command::Plugin(command)) => {
                let sub = sub.subcommand().map(|(_, m)| m).unwrap_or(sub);
                plugin_cmd::run(command, sub).await
            }
            Some(Command::Report(command)) => report_cmd::run(command),
            Some(Command::Mcp(command)) => mcp_cmd::run(command).await,
            Some(Command::Openapi(command)) => openapi_cmd::run(command),
            Some(Command::Dev(args)) => dev_cmd::dev(args).await,
            Some(Command::McpServer(args)) => agent::serve(args).await,
        }
    });
    // Leave no blocking task (a plugin call at its limit) holding the process open.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(f) => {
            // Its lines after the first are indented: whatever a plan, a plugin or a document put
            // into the message, no line of it poses as one of smoke's own.
            let message = crate::report::console::escape(&f.message);
            crate::warn_user!("error: {}", crate::report::console::indented(&message));
            f.code
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        // The MCP SDK's own errors repeat, in its types' names, what smoke reports itself.
        (false, 0) => "warn,smoke::plugin_log=info,rmcp=off",
        (false, 1) => "info,smoke::service_output=warn",
        (false, _) => "debug,smoke=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::report::console::LogWriter)
        // Plain: every control character a field holds is escaped on the way out (`LogWriter`).
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// The run's redactor, knowing the secrets the settings hold: what the environment gave the
/// config's `${...}` (a password in `[target] args` included), the base URL's password, and the
/// credentials in MCP headers. Everything printed passes through it from now on.
fn secrets(settings: &crate::config::Settings) -> crate::http::Redactor {
    let mut redactor = crate::http::Redactor::new();
    for secret in &settings.secrets {
        redactor.secret(secret);
    }
    if let Some((user, password)) = settings.base_url.as_deref().and_then(crate::http::credentials_text) {
        redactor.secret(&password);
        redactor.secret(&format!("{user}:{password}"));
    }
    // MCP header values carry credentials (a bearer token): never shown, in any encoding.
    if let Some(crate::config::Mcp { transport: crate::config::McpTransport::Http { headers, .. }, .. }) =
        &settings.mcp
    {
        let credential = |name: &str| {
            let name = name.to_ascii_lowercase();
            name == "cookie"
                || ["auth", "token", "key", "secret", "pass", "credential", "signature", "session"]
                    .iter()
                    .any(|w| name.contains(w))
        };
        for (_, value) in headers.iter().filter(|(name, _)| credential(name)) {
            redactor.secret(value);
            if let Some((_, credential)) = value.split_once(' ') {
                redactor.secret(credential.trim());
            }
        }
    }
    crate::report::console::redact_output(&redactor);
    redactor
}
