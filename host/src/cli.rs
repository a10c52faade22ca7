//! The command line: parse options once, drive the steps of a run in order, and map every
//! outcome to the exit codes of DESIGN.md. Nothing below this module decides an exit code.

mod plugin_cmd;

use crate::config::{self, Overrides, PluginSource, PluginSpec, Settings};
use crate::http::{Client, Redactor};
use crate::plan::model::{Plan, PluginRef};
use crate::plugin::bindings::{self, wit};
use crate::plugin::{Plugin, Runtime};
use crate::report;
use crate::report::RunDir;
use crate::run::results::{
    Failure as RunFailure, FailureKind, Outcome, RunReport, ScenarioResult, SeedResult, StageFailure, Summary,
};
use crate::run::{self, Context};
use crate::seed;
use crate::target::{Service, Workspace};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

const ABOUT: &str = "Smoke-test an HTTP API with domain plugins compiled to WebAssembly components.";
const LONG_ABOUT: &str = "\
Smoke-test an HTTP API with domain plugins compiled to WebAssembly components.

A plugin plans seed records and scenarios; smoke starts the service (or uses --base-url), seeds
it, runs every scenario strictly (a status outside the accepted set fails), and exits non-zero on
any failure. `smoke --plugin X ...` without a subcommand means `smoke run`.

Exit codes: 0 all passed, 1 a scenario failed or was skipped, 2 usage or config error,
3 the service did not start or become healthy, 4 a plugin could not be loaded or failed to plan,
5 seeding failed, 130/143 interrupted by SIGINT/SIGTERM.";

#[derive(Debug, Parser)]
#[command(name = "smoke", version, about = ABOUT, long_about = LONG_ABOUT, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

// Parsed once per process; boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Run the plugins' scenarios against the service (the default command).
    Run(RunArgs),
    /// Print the merged plan as JSON on stdout, sending nothing.
    Plan(PlanArgs),
    /// Show what a plugin is: name, version, domain, WIT version and what it declares.
    Inspect(InspectArgs),
    /// Check that a run could start: config, plugins (load and plan), the start and reset,
    /// migrate and seed commands, the port; runs no scenario.
    Doctor(DoctorArgs),
    /// Publish plugins to an OCI registry, pin them in smoke.lock, manage the local cache.
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCommand),
}

#[derive(Debug, Clone, Args)]
struct DoctorArgs {
    #[command(flatten)]
    plugins: PluginArgs,
    /// Check this running service instead of the config's [target].
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
struct PluginArgs {
    /// A plugin component (.wasm) to load; repeat for several. Replaces the config's plugins.
    #[arg(long = "plugin", value_name = "PATH")]
    plugin: Vec<String>,
    /// Config file [default: ./smoke.toml when it exists].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set a config key of the plugin given just before it (or of the only plugin).
    #[arg(long = "plugin-config", value_name = "KEY=VALUE")]
    plugin_config: Vec<String>,
    /// Time limit of one plugin call (info, plan, one check) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    plugin_timeout: Option<Duration>,
    /// Memory limit of one plugin instance, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    plugin_memory_mib: Option<u64>,
    /// More detail (-v: steps of the run and plugin logs; -vv: debug). RUST_LOG also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only errors and the summary.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Registry plugins must be pinned in smoke.lock, and the registry must still serve the
    /// pinned digests (for CI).
    #[arg(long)]
    locked: bool,
    /// Never touch the network for plugins: use the cache, and fail when something is missing.
    #[arg(long)]
    offline: bool,
    /// Allow plain HTTP to a plugin registry that is not on this machine.
    #[arg(long)]
    insecure: bool,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    #[command(flatten)]
    plugins: PluginArgs,
    /// Test a service already running at this URL; start nothing.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Scenarios in flight at once [default: 8].
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    #[command(flatten)]
    selection: Selection,
    /// Run this plan (JSON in the schema `smoke plan` prints) instead of asking the plugins;
    /// plugins are needed only for steps that ask one to judge.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Time limit of one HTTP request [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    request_timeout: Option<Duration>,
    /// The largest response body read (e.g. 16MiB, 500KB); a larger one fails its step, and
    /// reports keep its start with the real size noted [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = config::parse_size)]
    max_body: Option<u64>,
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    report_json: Option<PathBuf>,
    /// Write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    report_junit: Option<PathBuf>,
    /// Write the results as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    report_html: Option<PathBuf>,
    /// Write every HTTP exchange to FILE as JSON Lines, in send order, redacted.
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Directory for this run's files: service log, command output, reports [default: a new
    /// directory under the user's state directory, printed at the end].
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Keep the temporary workdir (`workdir = "temp"`) after the run, for inspection.
    #[arg(long)]
    keep_workdir: bool,
    /// Stop the whole run after this long, failing what has not finished (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    timeout: Option<Duration>,
    /// Plain lines, no progress bar (the default when stdout is not a terminal).
    #[arg(long)]
    no_progress: bool,
}

#[derive(Debug, Clone, Args)]
struct PlanArgs {
    #[command(flatten)]
    plugins: PluginArgs,
    #[command(flatten)]
    selection: Selection,
}

#[derive(Debug, Clone, Args)]
struct InspectArgs {
    /// The plugin component (.wasm).
    plugin: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[arg(short, long, action = clap::ArgAction::Count)]
    verbose: u8,
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

/// Parse the command line, run, and return the process exit code.
pub fn main() -> i32 {
    let matches = Cli::command().get_matches();
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
        None => (cli.run.plugins.verbose, cli.run.plugins.quiet),
    };
    init_tracing(verbose, quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            crate::warn_user!("error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let sub = matches.subcommand().map(|(_, m)| m).unwrap_or(&matches);
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Run(args)) => run(args, sub).await,
            None => run(cli.run, sub).await,
            Some(Command::Plan(args)) => plan_command(args, sub).await,
            Some(Command::Inspect(args)) => inspect(args).await,
            Some(Command::Doctor(args)) => doctor(args, sub).await,
            Some(Command::Plugin(command)) => {
                let sub = sub.subcommand().map(|(_, m)| m).unwrap_or(sub);
                plugin_cmd::run(command, sub).await
            }
        }
    });
    // Leave no blocking task (a plugin call at its limit) holding the process open.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(f) => {
            crate::warn_user!("error: {}", crate::report::console::escape(&f.message));
            f.code
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn,smoke::plugin_log=info",
        (false, 1) => "info,smoke::service=warn",
        (false, _) => "debug,smoke=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none(),
        )
        .without_time()
        .with_target(false)
        .try_init();
}

/// Build the overrides, pairing each `--plugin-config` with the `--plugin` before it.
fn overrides(p: &PluginArgs, matches: &clap::ArgMatches) -> Overrides {
    let plugin_at: Vec<usize> = matches.indices_of("plugin").map(|i| i.collect()).unwrap_or_default();
    let config_at: Vec<usize> = matches.indices_of("plugin_config").map(|i| i.collect()).unwrap_or_default();
    let plugin_config = p
        .plugin_config
        .iter()
        .enumerate()
        .map(|(n, kv)| {
            let at = config_at.get(n).copied().unwrap_or(usize::MAX);
            let owner = plugin_at.iter().rposition(|&i| i < at);
            (owner, kv.clone())
        })
        .collect();
    Overrides {
        config: p.config.clone(),
        plugins: p.plugin.clone(),
        plugin_config,
        plugin_timeout: p.plugin_timeout,
        plugin_memory_mib: p.plugin_memory_mib,
        locked: p.locked,
        offline: p.offline,
        insecure: p.insecure,
        ..Overrides::default()
    }
}

/// A plugin loaded and configured for this run.
struct Loaded {
    plugin: Arc<Plugin>,
    config: Vec<wit::Pair>,
    documents: Vec<wit::Document>,
}

/// The registry, with the run's lockfile and network rules.
fn open_registry(settings: &config::RegistrySettings) -> Result<crate::registry::Registry, Failure> {
    crate::registry::Registry::open(crate::registry::Options {
        default: settings.default.clone(),
        insecure: settings.insecure,
        locked: settings.locked,
        offline: settings.offline,
        lockfile: settings.lockfile.clone(),
    })
    .map_err(|e| Failure::new(exit::PLUGIN, e))
}

/// Where a plugin's component is on disk: the file, or the registry reference resolved into the
/// cache (pulled and verified if needed).
async fn locate(
    source: &PluginSource,
    registry: &mut Option<crate::registry::Registry>,
    settings: &Settings,
) -> Result<PathBuf, Failure> {
    let text = match source {
        PluginSource::File(path) => return Ok(path.clone()),
        PluginSource::Registry(text) => text,
    };
    if registry.is_none() {
        *registry = Some(open_registry(&settings.registry)?);
    }
    let registry = registry.as_ref().expect("opened above");
    let reference = registry.parse(text).map_err(|e| Failure::new(exit::USAGE, format!("plugin {e}")))?;
    let resolved =
        registry.resolve(&reference).await.map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {e}")))?;
    tracing::info!(
        "plugin {reference}: {} component {} ({})",
        if resolved.pulled { "pulled" } else { "cached" },
        resolved.component,
        resolved.path.display()
    );
    Ok(resolved.path)
}

async fn load_plugins(settings: &Settings, redactor: &mut Redactor) -> Result<Vec<Loaded>, Failure> {
    if settings.plugins.is_empty() {
        // A plan from a file needs no engine.
        return Ok(Vec::new());
    }
    let runtime = Arc::new(Runtime::new(settings.limits).map_err(|e| Failure::new(exit::PLUGIN, e))?);
    let mut registry = None;
    let mut loaded: Vec<Loaded> = Vec::new();
    for spec in &settings.plugins {
        let path = locate(&spec.source, &mut registry, settings).await?;
        let rt = runtime.clone();
        let plugin = tokio::task::spawn_blocking(move || rt.load(&path))
            .await
            .map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {}: loading failed: {e}", spec.source)))?
            .map_err(|e| Failure::new(exit::PLUGIN, e))?;
        if let Some(other) = loaded.iter().find(|l| l.plugin.name() == plugin.name()) {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "plugins {} and {} are both named {:?}; load each plugin once",
                    other.plugin.path.display(),
                    spec.source,
                    plugin.name()
                ),
            ));
        }
        let (config, documents) = configure(&plugin, spec, &settings.base_dir, redactor).await?;
        loaded.push(Loaded { plugin: Arc::new(plugin), config, documents });
    }
    Ok(loaded)
}

/// Check the given config against what the plugin declares, apply defaults, read documents.
async fn configure(
    plugin: &Plugin,
    spec: &PluginSpec,
    base_dir: &Path,
    redactor: &mut Redactor,
) -> Result<(Vec<wit::Pair>, Vec<wit::Document>), Failure> {
    let info = plugin.info();
    let name = plugin.name();
    for key in spec.config.keys() {
        if !info.config.iter().any(|k| &k.name == key) {
            let known: Vec<&str> = info.config.iter().map(|k| k.name.as_str()).collect();
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "plugin {name}: unknown config key {key:?} (it reads: {})",
                    if known.is_empty() { "nothing".to_string() } else { known.join(", ") }
                ),
            ));
        }
    }
    for h in &info.sensitive_headers {
        redactor.header(h);
    }
    for f in &info.sensitive_fields {
        redactor.field(f);
    }
    let mut config = BTreeMap::new();
    let mut documents = Vec::new();
    for key in &info.config {
        let value = match spec.config.get(&key.name).or(key.default.as_ref()) {
            Some(v) => v.clone(),
            None if key.required => {
                return Err(Failure::new(
                    exit::USAGE,
                    format!(
                        "plugin {name}: config key {:?} is required ({}); set it in [plugins.config] or with \
                         --plugin-config {}=VALUE",
                        key.name, key.description, key.name
                    ),
                ));
            }
            None => continue,
        };
        match key.kind {
            wit::ConfigKind::Secret => redactor.secret(&value),
            wit::ConfigKind::Document => {
                let content = read_document(&value, base_dir).await.map_err(|e| {
                    Failure::new(exit::PLUGIN, format!("plugin {name}: config key {:?}: {e}", key.name))
                })?;
                documents.push(wit::Document { key: key.name.clone(), source: value.clone(), content });
            }
            wit::ConfigKind::Text => {}
        }
        config.insert(key.name.clone(), value);
    }
    let pairs = config.into_iter().map(|(name, value)| wit::Pair { name, value }).collect();
    Ok((pairs, documents))
}

async fn read_document(source: &str, base_dir: &Path) -> Result<Vec<u8>, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let client = crate::http::client_builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        let response = client.get(source).send().await.map_err(|e| format!("cannot fetch {source}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("fetching {source} returned status {}", response.status().as_u16()));
        }
        return response.bytes().await.map(|b| b.to_vec()).map_err(|e| format!("cannot fetch {source}: {e}"));
    }
    let path = base_dir.join(source);
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Which part of the plan to run, and how strictly to judge it.
#[derive(Debug, Clone, Default, Args)]
struct Selection {
    /// Run only matching scenarios (repeatable): an id glob (`ledger.bundle.*`), `tag:NAME` or
    /// `kind:KIND` (e.g. `kind:happy-path`). Their dependencies come along.
    #[arg(long, value_name = "PATTERN")]
    filter: Vec<String>,
    /// Run part I of N (e.g. 2/3); dependency chains stay whole, so N jobs together run every
    /// scenario exactly once.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Treat coverage gaps (an endpoint without a happy path, a not-found or a validation-error
    /// scenario) as errors.
    #[arg(long)]
    strict_plan: bool,
    /// Run only the scenarios that failed or were skipped in this JSON report (from
    /// --report-json or a run directory), plus what they depend on.
    #[arg(long, value_name = "REPORT")]
    rerun_failed: Option<PathBuf>,
}

/// Ids of the scenarios a JSON report says failed or were skipped (post-run checks excluded).
fn failed_in(path: &Path) -> Result<BTreeSet<String>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(exit::USAGE, format!("--rerun-failed: cannot read {}: {e}", path.display()))
    })?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            exit::USAGE,
            format!("--rerun-failed: {} is not a smoke JSON report: {e}", path.display()),
        )
    })?;
    let scenarios = report["scenarios"].as_array().ok_or_else(|| {
        Failure::new(exit::USAGE, format!("--rerun-failed: {} has no \"scenarios\" list", path.display()))
    })?;
    Ok(scenarios
        .iter()
        .filter(|s| s["outcome"] == "failed" || s["outcome"] == "skipped")
        .filter(|s| s["plugin"] != "smoke")
        .filter_map(|s| s["id"].as_str().map(String::from))
        .collect())
}

/// The merged plan: from the plugins, or from `--plan FILE`; validated, coverage checked,
/// filtered and sharded.
async fn build_plan(loaded: &[Loaded], selection: &Selection, file: Option<&Path>) -> Result<Plan, Failure> {
    let plan = match file {
        Some(path) => read_plan(path, loaded)?,
        None => plan_from_plugins(loaded).await?,
    };
    let errors = crate::plan::validate::validate(&plan);
    if !errors.is_empty() {
        return Err(Failure::new(exit::PLUGIN, listing("plan: the plan is invalid", &errors)));
    }
    let coverage = crate::plan::coverage::coverage(&plan);
    if selection.strict_plan && !coverage.gaps.is_empty() {
        return Err(Failure::new(
            exit::PLUGIN,
            listing("plan: coverage gaps (--strict-plan)", &coverage.gaps),
        ));
    }
    for gap in &coverage.gaps {
        tracing::warn!("coverage: {gap}");
    }
    let mut plan = plan;
    if let Some(report) = &selection.rerun_failed {
        let ids = failed_in(report)?;
        plan = crate::plan::select_by(plan, |s| ids.contains(&s.id));
        tracing::info!(
            "--rerun-failed: {} scenario(s) failed or were skipped in {}",
            ids.len(),
            report.display()
        );
    }
    if !selection.filter.is_empty() {
        plan = crate::plan::select(plan, &selection.filter);
        if plan.scenarios.is_empty() {
            return Err(Failure::new(
                exit::USAGE,
                format!("plan: --filter {} matches no scenario", selection.filter.join(" --filter ")),
            ));
        }
    }
    if let Some(spec) = &selection.shard {
        let (index, count) = crate::plan::parse_shard(spec).map_err(|e| Failure::new(exit::USAGE, e))?;
        plan = crate::plan::shard(plan, index, count);
    }
    Ok(plan)
}

fn listing(head: &str, items: &[String]) -> String {
    let mut message = format!("{head} ({} problem(s)):", items.len());
    for e in items {
        message.push_str("\n  - ");
        message.push_str(e);
    }
    message
}

/// A plan written by hand or by another tool, in exactly the schema `smoke plan` prints
/// (docs/plan-schema.json). Steps asking a plugin to judge need that plugin loaded.
fn read_plan(path: &Path, loaded: &[Loaded]) -> Result<Plan, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::new(exit::USAGE, format!("plan: cannot read {}: {e}", path.display())))?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            exit::PLUGIN,
            format!(
                "plan: {}:{}:{}: not a smoke plan: {e} (see docs/plan-schema.json)",
                path.display(),
                e.line(),
                e.column()
            ),
        )
    })?;
    let mut orphans = Vec::new();
    for s in &plan.scenarios {
        for (i, step) in s.steps.iter().enumerate() {
            if step.expect.check.is_some() && !loaded.iter().any(|l| l.plugin.name() == s.plugin) {
                orphans.push(format!(
                    "scenario {:?}, step {} ({}) asks plugin {:?} to judge; pass --plugin with it",
                    s.id,
                    i + 1,
                    step.display_name(),
                    s.plugin
                ));
            }
        }
    }
    if !orphans.is_empty() {
        return Err(Failure::new(
            exit::PLUGIN,
            listing(&format!("plan: {} cannot run", path.display()), &orphans),
        ));
    }
    Ok(plan)
}

async fn plan_from_plugins(loaded: &[Loaded]) -> Result<Plan, Failure> {
    let mut parts = Vec::new();
    for l in loaded {
        let plugin = l.plugin.clone();
        let input = wit::PlanInput { config: l.config.clone(), documents: l.documents.clone() };
        let name = plugin.name().to_string();
        let answer = tokio::task::spawn_blocking(move || plugin.plan(&input))
            .await
            .map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {name}: plan did not complete: {e}")))?
            .map_err(|e| Failure::new(exit::PLUGIN, e))?;
        let plan = answer.map_err(|e| {
            let at = e.location.map(|l| format!(" (at {l})")).unwrap_or_default();
            Failure::new(exit::PLUGIN, format!("plugin {name}: planning failed{at}: {}", e.message))
        })?;
        let mut converted = bindings::convert_plan(&name, plan)
            .map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {name}: invalid plan: {e}")))?;
        let info = l.plugin.info();
        // A secret the plugin wrote into its plan becomes a reference to its config key.
        let secrets: Vec<(String, String)> = info
            .config
            .iter()
            .filter(|k| matches!(k.kind, wit::ConfigKind::Secret))
            .filter_map(|k| {
                l.config.iter().find(|p| p.name == k.name).map(|p| (p.name.clone(), p.value.clone()))
            })
            .collect();
        converted.reference_secrets(&secrets);
        let reference = PluginRef {
            name: info.name.clone(),
            version: info.version.clone(),
            domain: info.domain.clone(),
            sha256: l.plugin.digest.clone(),
            wit: l.plugin.wit_version.clone(),
        };
        parts.push((reference, converted));
    }
    Ok(crate::plan::merge(parts))
}

async fn plan_command(args: PlanArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let o = Overrides { plan_only: true, ..overrides(&args.plugins, matches) };
    let settings = config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))?;
    let mut redactor = Redactor::new();
    let loaded = load_plugins(&settings, &mut redactor).await?;
    let plan = build_plan(&loaded, &args.selection, None).await?;
    crate::warn_raw!("{}", crate::plan::coverage::table(&crate::plan::coverage::coverage(&plan)));
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(crate::plan::to_json(&plan).as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::new(exit::USAGE, format!("cannot write the plan to stdout: {e}")))?;
    crate::warn_user!(
        "plan: {} seed(s), {} scenario(s) from {}",
        plan.seeds.len(),
        plan.scenarios.len(),
        plan.plugins.iter().map(|p| format!("{} {}", p.name, p.version)).collect::<Vec<_>>().join(", ")
    );
    Ok(exit::PASSED)
}

/// Load one plugin file with the default limits, as `inspect` and `plugin push` do.
async fn load_plugin_file(path: &Path) -> Result<Plugin, Failure> {
    let runtime = Runtime::new(Default::default()).map_err(|e| Failure::new(exit::PLUGIN, e))?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || runtime.load(&path))
        .await
        .map_err(|e| Failure::new(exit::PLUGIN, e))?
        .map_err(|e| Failure::new(exit::PLUGIN, e))
}

async fn inspect(args: InspectArgs) -> Result<i32, Failure> {
    let plugin = load_plugin_file(&args.plugin).await?;
    let info = plugin.info();
    let kind = |k: &wit::ConfigKind| match k {
        wit::ConfigKind::Text => "text",
        wit::ConfigKind::Document => "document",
        wit::ConfigKind::Secret => "secret",
    };
    if args.json {
        let keys: Vec<serde_json::Value> = info
            .config
            .iter()
            .map(|k| {
                serde_json::json!({"name": k.name, "kind": kind(&k.kind), "required": k.required,
                    "default": k.default, "description": k.description})
            })
            .collect();
        let value = serde_json::json!({
            "name": info.name, "version": info.version, "domain": info.domain,
            "description": info.description, "wit": format!("smoke:plugin@{}", plugin.wit_version),
            "sha256": plugin.digest, "config": keys,
            "sensitive_fields": info.sensitive_fields, "sensitive_headers": info.sensitive_headers,
        });
        crate::say!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(exit::PASSED);
    }
    crate::say!("name:        {}", info.name);
    crate::say!("version:     {}", info.version);
    crate::say!("domain:      {}", info.domain);
    crate::say!("wit:         smoke:plugin@{}", plugin.wit_version);
    crate::say!("sha256:      {}", plugin.digest);
    if !info.description.is_empty() {
        crate::say!("description: {}", info.description);
    }
    if info.config.is_empty() {
        crate::say!("config:      (none)");
    } else {
        crate::say!("config:");
        for k in &info.config {
            let default = k.default.as_ref().map(|d| format!(" [default: {d}]")).unwrap_or_default();
            let required = if k.required { " (required)" } else { "" };
            crate::say!("  {} ({}){required}{default}: {}", k.name, kind(&k.kind), k.description);
        }
    }
    if !info.sensitive_fields.is_empty() {
        crate::say!("sensitive fields:  {}", info.sensitive_fields.join(", "));
    }
    if !info.sensitive_headers.is_empty() {
        crate::say!("sensitive headers: {}", info.sensitive_headers.join(", "));
    }
    Ok(exit::PASSED)
}

/// Each check of `smoke doctor`, printed as it completes; the first failure decides the code.
async fn doctor(args: DoctorArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let mut code = exit::PASSED;
    let mut report = |ok: Result<String, (i32, String)>| match ok {
        Ok(what) => crate::say!("ok    {what}"),
        Err((c, what)) => {
            crate::say!("FAIL  {what}");
            if code == exit::PASSED {
                code = c;
            }
        }
    };
    let o = Overrides { base_url: args.base_url.clone(), ..overrides(&args.plugins, matches) };
    let settings = match config::load(&o) {
        Ok(s) => s,
        Err(e) => {
            report(Err((exit::USAGE, e.to_string())));
            return Ok(code);
        }
    };
    let source =
        settings.config_file.as_ref().map_or("(command line)".to_string(), |p| p.display().to_string());
    report(Ok(format!("config: {source}")));
    let mut redactor = Redactor::new();
    match load_plugins(&settings, &mut redactor).await {
        Err(f) => report(Err((f.code, f.message))),
        Ok(loaded) => {
            for l in &loaded {
                let info = l.plugin.info();
                report(Ok(format!(
                    "plugin {} {} ({}, smoke:plugin@{}) from {}",
                    info.name,
                    info.version,
                    info.domain,
                    l.plugin.wit_version,
                    l.plugin.path.display()
                )));
            }
            match build_plan(&loaded, &Selection::default(), None).await {
                Ok(plan) => report(Ok(format!(
                    "plan: {} seed(s), {} scenario(s), valid",
                    plan.seeds.len(),
                    plan.scenarios.len()
                ))),
                Err(f) => report(Err((f.code, f.message))),
            }
        }
    }
    match (&settings.base_url, &settings.target) {
        (Some(url), _) => {
            let client = crate::http::client_builder().timeout(Duration::from_secs(5)).build();
            let answer = match client {
                Ok(c) => c.get(url).send().await.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            report(match answer {
                Ok(status) => Ok(format!("service: {url} answers (status {status})")),
                Err(e) => Err((exit::TARGET, format!("service: {url} does not answer: {e}"))),
            });
        }
        (None, Some(target)) => {
            report(
                crate::target::locate(&target.command, &target.dir)
                    .map(|p| format!("target: start command {}", p.display()))
                    .map_err(|e| (exit::TARGET, format!("target: start command: {e}"))),
            );
            for hook in &target.hooks {
                let when = if hook.before_start { "before start" } else { "after healthy" };
                report(
                    crate::target::locate(&hook.command, &target.dir)
                        .map(|p| format!("{}: {} ({when})", hook.name, p.display()))
                        .map_err(|e| (exit::SEED, format!("{}: {e}", hook.name))),
                );
            }
            report(
                crate::target::choose_port(target)
                    .map(|port| match target.port {
                        config::Port::Auto => format!("target: port auto (e.g. {port} is free)"),
                        config::Port::Fixed(_) => format!("target: port {port} is free"),
                    })
                    .map_err(|e| (exit::TARGET, e.to_string())),
            );
        }
        (None, None) => {}
    }
    crate::say!("{}", if code == exit::PASSED { "doctor: ready to run" } else { "doctor: not ready" });
    Ok(code)
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

/// What finished before the run ended, however it ended.
#[derive(Default)]
struct Progress {
    seeds: Vec<SeedResult>,
    /// By plan index.
    scenarios: Vec<Option<ScenarioResult>>,
    base_url: String,
    /// Set when seeding failed: the message, and every scenario counts as skipped.
    seed_failure: Option<String>,
}

type Shared<T> = Arc<std::sync::Mutex<T>>;

/// A spawned task that is aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run(args: RunArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let started = Instant::now();
    let o = Overrides {
        base_url: args.base_url.clone(),
        jobs: args.jobs,
        request_timeout: args.request_timeout,
        max_body: args.max_body,
        plan_file: args.plan.is_some(),
        ..overrides(&args.plugins, matches)
    };
    let settings = config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))?;
    if let Some(report) = &args.selection.rerun_failed
        && failed_in(report)?.is_empty()
    {
        crate::say!("nothing to rerun: every scenario in {} passed", report.display());
        return Ok(exit::PASSED);
    }
    let mut redactor = Redactor::new();
    if let Some((user, password)) = settings
        .base_url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| crate::http::credentials(&u))
    {
        redactor.secret(&password);
        redactor.secret(&format!("{user}:{password}"));
    }
    let loaded = load_plugins(&settings, &mut redactor).await?;
    let plan = Arc::new(build_plan(&loaded, &args.selection, args.plan.as_deref()).await?);
    tracing::info!(
        "plan: {} scenario(s) ready after {} ms",
        plan.scenarios.len(),
        started.elapsed().as_millis()
    );
    let run_dir = RunDir::create(args.artifacts.as_deref(), settings.keep_runs)
        .map_err(|e| Failure::new(exit::USAGE, e))?;
    let git_before = match settings.clean_git {
        true => {
            Some(crate::checks::git_status(&settings.base_dir).map_err(|e| Failure::new(exit::USAGE, e))?)
        }
        false => None,
    };
    let workspace = match (&settings.base_url, &settings.target) {
        (None, Some(target)) => {
            Some(Workspace::prepare(target, args.keep_workdir).map_err(|e| Failure::new(exit::TARGET, e))?)
        }
        _ => None,
    };

    // Whatever the service or its commands start is smoke's to stop, even if it daemonizes.
    crate::target::adopt_orphans();
    // Shares what the run's redactor learns, for the last pass over every output.
    let scrubber = redactor.clone();
    let mut signals = Signals::listen();
    let transcript =
        args.transcript.as_ref().map(|_| Arc::new(crate::http::transcript::Transcript::default()));
    let progress: Shared<Progress> = Arc::default();
    let service: Shared<Option<Service>> = Arc::default();
    let phase = run_phase(
        &args,
        &settings,
        &loaded,
        &plan,
        redactor,
        workspace.as_ref(),
        &run_dir,
        progress.clone(),
        service.clone(),
        transcript.clone(),
    );
    let timeout = async {
        match args.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    // How the run ended early, if it did: (label, how unfinished scenarios count, why, code).
    let (phase_result, ended_early) = tokio::select! {
        r = phase => (r, None),
        code = next_signal(&mut signals) => {
            let name = if code == exit::SIGINT { "SIGINT" } else { "SIGTERM" };
            crate::warn_user!("interrupted by {name}: stopping");
            let why = RunFailure::new(FailureKind::Interrupted, format!("not run: the run was interrupted by {name}"));
            (Ok(()), Some((name, Outcome::Skipped, why, code)))
        }
        () = timeout => {
            let limit = humantime::format_duration(args.timeout.unwrap_or_default()).to_string();
            crate::warn_user!("the run's --timeout of {limit} expired: stopping");
            let why = RunFailure::new(FailureKind::RunTimeout, format!("not finished: the run's --timeout of {limit} expired"));
            (Ok(()), Some(("timeout", Outcome::Failed, why, exit::FAILED)))
        }
    };

    // Teardown, on every path: stop the service (a second signal forces it), remove the workdir.
    let running = lock(&service).take();
    if let Some(mut s) = running {
        if phase_result.is_ok() && !args.plugins.quiet {
            let lines = s.last_lines(crate::target::SHOWN_LINES);
            tracing::info!(
                "last {} line(s) of the service's output:\n  | {}",
                lines.len(),
                lines.join("\n  | ")
            );
        }
        s.stop(async {
            next_signal(&mut signals).await;
        })
        .await;
    }
    // Nothing the run started outlives it: daemons of the service or of a command included.
    crate::target::reap_descendants(Duration::from_secs(2)).await;
    if let Some(w) = workspace {
        let temporary = w.is_temporary();
        drop(w);
        if temporary {
            tracing::info!("target: removed the temporary workdir");
        }
    }
    // The report, from whatever finished, on every path: a stage that failed (the target, a
    // command, seeding) still leaves report.json and every report asked for, saying which.
    let mut progress = std::mem::take(&mut *lock(&progress));
    let stage_failure = match &phase_result {
        Err(f) => Some(StageFailure { stage: f.stage.to_string(), message: f.failure.message.clone() }),
        Ok(()) => progress
            .seed_failure
            .as_ref()
            .map(|m| StageFailure { stage: "seeding".to_string(), message: m.clone() }),
    };
    let mut finished = std::mem::take(&mut progress.scenarios);
    finished.resize_with(plan.scenarios.len(), || None);
    let mut scenarios: Vec<ScenarioResult> = plan
        .scenarios
        .iter()
        .zip(finished)
        .map(|(s, r)| match (r, &stage_failure, &ended_early) {
            (Some(r), _, _) => r,
            (None, Some(stage), _) => {
                let kind = if stage.stage == "seeding" {
                    FailureKind::SeedFailed
                } else {
                    FailureKind::TargetFailed
                };
                let why = format!(
                    "skipped: {} failed",
                    if stage.stage == "target" { "starting the service" } else { &stage.stage }
                );
                ScenarioResult::not_run(s, Outcome::Skipped, RunFailure::new(kind, why))
            }
            (None, None, Some((_, outcome, why, _))) => ScenarioResult::not_run(s, *outcome, why.clone()),
            (None, None, None) => ScenarioResult::not_run(
                s,
                Outcome::Skipped,
                RunFailure::new(FailureKind::Internal, "not run"),
            ),
        })
        .collect();
    if let Some(before) = &git_before {
        match crate::checks::git_changes(&settings.base_dir, before) {
            Ok(changed) if changed.is_empty() => {}
            Ok(changed) => scenarios.push(crate::checks::clean_git_failure(&changed)),
            Err(e) => tracing::warn!("checks: clean-git could not be checked after the run: {e}"),
        }
    }
    let summary = Summary::of(&scenarios);
    let report = RunReport {
        schema_version: 2,
        smoke_version: env!("CARGO_PKG_VERSION").to_string(),
        base_url: crate::http::shown_url(&progress.base_url),
        plugins: plan.plugins.clone(),
        summary,
        interrupted: ended_early.as_ref().map(|(name, ..)| name.to_string()),
        duration_ms: started.elapsed().as_millis() as u64,
        seeds: progress.seeds,
        scenarios,
        stage_failure,
        triage: Vec::new(),
    };
    let mut report = report;
    report::scrub(&mut report, &scrubber);
    report.triage = report::triage::triage(&report);
    let writing = Instant::now();
    write_reports(&args, &report, &run_dir)?;
    if let (Some(path), Some(t)) = (&args.transcript, &transcript) {
        let written =
            t.write(path, &scrubber).and_then(|_| t.write(&run_dir.file("transcript.jsonl"), &scrubber));
        written.map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("report: cannot write the transcript to {}: {e}", path.display()),
            )
        })?;
    }
    tracing::info!("report: written in {} ms", writing.elapsed().as_millis());
    if let Err(f) = phase_result {
        crate::warn_user!("artifacts: {}", run_dir.path.display());
        return Err(f.failure);
    }
    if let Some(message) = progress.seed_failure {
        crate::say!("artifacts: {}", run_dir.path.display());
        return Err(Failure::new(exit::SEED, message));
    }
    if !args.plugins.quiet {
        crate::say_raw!("{}", report::console::failures(&report));
        crate::say_raw!("{}", report::console::triage(&report.triage));
    }
    crate::say!("\nartifacts: {}", run_dir.path.display());
    crate::say!("{}", summary.line());
    Ok(match ended_early {
        Some((.., code)) => code,
        None if summary.all_passed() => exit::PASSED,
        None => exit::FAILED,
    })
}

/// A stage of the run that failed before its scenarios could run: which, the exit code, why.
struct StageError {
    stage: &'static str,
    failure: Failure,
}

impl StageError {
    fn new(stage: &'static str, code: i32, message: impl std::fmt::Display) -> Self {
        StageError { stage, failure: Failure::new(code, message) }
    }
}

/// Everything between "plugins planned" and "results known": commands, service, seeds,
/// scenarios. Progress and the service are shared, so an interruption can still report what
/// finished and stop what started.
#[allow(clippy::too_many_arguments)]
async fn run_phase(
    args: &RunArgs,
    settings: &Settings,
    loaded: &[Loaded],
    plan: &Arc<Plan>,
    redactor: Redactor,
    workspace: Option<&Workspace>,
    run_dir: &RunDir,
    progress: Shared<Progress>,
    service: Shared<Option<Service>>,
    transcript: Option<Arc<crate::http::transcript::Transcript>>,
) -> Result<(), StageError> {
    let mut service_exit = None;
    let base_url = match (&settings.base_url, &settings.target, workspace) {
        (Some(url), _, _) => url.clone(),
        (None, Some(target), Some(workspace)) => {
            let port =
                crate::target::choose_port(target).map_err(|e| StageError::new("target", exit::TARGET, e))?;
            let commands = run_dir.file("commands");
            let _ = std::fs::create_dir_all(&commands);
            let hooks = |before: bool| target.hooks.iter().filter(move |h| h.before_start == before);
            for hook in hooks(true) {
                let log = commands.join(format!("{}.log", hook.name));
                crate::target::run_hook(hook, &target.dir, &workspace.dir, port, Some(&log))
                    .await
                    .map_err(|e| StageError::new(hook.name, exit::SEED, e))?;
            }
            let started = Service::start(target, &workspace.dir, port, Some(&run_dir.file("service.log")))
                .await
                .map_err(|e| StageError::new("target", exit::TARGET, e))?;
            let url = started.base_url.clone();
            service_exit = Some(started.exit_watch());
            *lock(&service) = Some(started);
            for hook in hooks(false) {
                let log = commands.join(format!("{}.log", hook.name));
                crate::target::run_hook(hook, &target.dir, &workspace.dir, port, Some(&log))
                    .await
                    .map_err(|e| StageError::new(hook.name, exit::SEED, e))?;
            }
            url
        }
        _ => unreachable!("config::load refuses a config with neither a base URL nor a target"),
    };
    let client = Client::new(&base_url, settings.request_timeout, settings.jobs, settings.max_body)
        .map_err(|e| StageError::new("target", exit::USAGE, e))?;
    let ctx = Arc::new(Context {
        client,
        plugins: loaded.iter().map(|l| (l.plugin.name().to_string(), l.plugin.clone())).collect(),
        plugin_config: loaded.iter().map(|l| (l.plugin.name().to_string(), l.config.clone())).collect(),
        redactor,
        service_exit,
        epoch: Instant::now(),
        captured_by: Context::index_captures(plan),
        transcript,
        schemas: Default::default(),
    });
    lock(&progress).base_url = ctx.client.base_url().to_string();
    let quiet = args.plugins.quiet;
    if !quiet {
        crate::say!(
            "smoke: {} scenario(s), {} seed(s) against {}",
            plan.scenarios.len(),
            plan.seeds.len(),
            crate::report::console::escape_line(ctx.client.base_url())
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
    lock(&progress).scenarios = (0..plan.scenarios.len()).map(|_| None).collect();
    let live = report::console::Live::new(plan.scenarios.len(), quiet, args.no_progress);
    // The scheduler runs as a task on the runtime's workers, beside the scenarios it wakes,
    // rather than on this (the main) thread: a completion then needs no cross-thread wake-up.
    // Dropping this future (an interruption) aborts it, and with it every scenario in flight.
    let (shared, jobs) = (plan.clone(), settings.jobs);
    let scheduler = tokio::spawn(async move {
        run::execute(ctx, shared, vars, jobs, |i, r| {
            live.scenario(&r);
            lock(&progress).scenarios[i] = Some(r);
        })
        .await;
        live
    });
    let mut scheduler = AbortOnDrop(scheduler);
    match (&mut scheduler.0).await {
        Ok(live) => live.finish(),
        Err(e) => tracing::error!("the scheduler failed (a bug in smoke; please report it): {e}"),
    }
    tracing::info!("scenarios: {} done in {} ms", plan.scenarios.len(), executing.elapsed().as_millis());
    Ok(())
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

/// The reports asked for, where asked, plus copies in the run directory (`report.json` always).
fn write_reports(args: &RunArgs, report: &RunReport, run_dir: &RunDir) -> Result<(), Failure> {
    let write = |path: &Path, text: &str, what: &str| {
        std::fs::write(path, text).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("report: cannot write the {what} report to {}: {e}", path.display()),
            )
        })
    };
    let write_json = |path: &Path, pretty: bool| {
        report::write_json(report, path, pretty).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("report: cannot write the JSON report to {}: {e}", path.display()),
            )
        })
    };
    // The run directory's copy is compact (it can be large); the one asked for is pretty.
    write_json(&run_dir.file("report.json"), false)?;
    if let Some(path) = &args.report_json {
        write_json(path, true)?;
    }
    if let Some(path) = &args.report_html {
        let page = report::html::html(report);
        write(&run_dir.file("report.html"), &page, "HTML")?;
        write(path, &page, "HTML")?;
    }
    if let Some(path) = &args.report_junit {
        let xml = report::junit::junit(report);
        write(&run_dir.file("report.xml"), &xml, "JUnit")?;
        write(path, &xml, "JUnit")?;
    }
    Ok(())
}
