//! Every flag of the command line, parsed once into typed structs, and the overrides they make
//! to the config file.

use super::{Failure, exit};
use crate::config::{self, Overrides};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(super) const ABOUT: &str =
    "Smoke-test an HTTP API with domain plugins compiled to WebAssembly components.";

pub(super) const LONG_ABOUT: &str = "\
Smoke-test an HTTP API with domain plugins compiled to WebAssembly components.

A plugin plans seed records and scenarios; smoke starts the service (or uses --base-url), seeds
it, runs every scenario strictly (a status outside the accepted set fails), and exits non-zero on
any failure. `smoke --plugin X ...` without a subcommand means `smoke run`.

Exit codes: 0 all passed, 1 a scenario failed or was skipped, 2 usage or config error,
3 the service did not start or become healthy, 4 a plugin could not be loaded or failed to plan,
5 seeding failed, 130/143 interrupted by SIGINT/SIGTERM.";

#[derive(Debug, Parser)]
#[command(name = "smoke", version, about = ABOUT, long_about = LONG_ABOUT, args_conflicts_with_subcommands = true)]
pub(super) struct Cli {
    #[command(subcommand)]
    pub(super) command: Option<Command>,
    #[command(flatten)]
    pub(super) run: RunArgs,
}

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Run the plugins' scenarios against the service (the default command).
    Run(RunArgs),
    /// Print the merged plan as JSON on stdout, sending nothing. Takes every option of `smoke
    /// run`, so `run` can be swapped for `plan` in a command line (those only a run uses, such as
    /// reports and --timeout, are accepted and have no effect). A plugin that plans from an MCP
    /// server's tool list reads it from the server given by --mcp-url or --mcp-command.
    Plan(RunArgs),
    /// Show what a plugin is: name, version, domain, WIT version and what it declares.
    Inspect(InspectArgs),
    /// Check that a run could start: config, plugins (load and plan), the start and reset,
    /// migrate and seed commands, the port; runs no scenario.
    Doctor(DoctorArgs),
    /// Create plugin projects; publish plugins to an OCI registry, pin them in smoke.lock, manage
    /// the local cache.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Work with reports: merge the JSON reports of a plan's shards into one.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Record an MCP server's tool surface, and compare a live server with a record.
    #[command(subcommand)]
    Mcp(McpCommand),
    /// Compare two versions of an OpenAPI document.
    #[command(subcommand)]
    Openapi(OpenapiCommand),
    /// The plugin author's loop: watch a plugin project (Rust, Python or TypeScript, as `smoke
    /// plugin new` makes it) or a plan file, rebuild at every edit, keep the service running,
    /// rerun the scenarios and print a verdict per edit, with the failing step's detail. Python
    /// and TypeScript edits reuse a runner compiled once (seconds from edit to verdict). Ctrl-C
    /// stops everything it started.
    Dev(super::dev_cmd::DevArgs),
    /// smoke as an MCP server for coding agents, over stdio: tools to describe the configured
    /// target (what is and is not tested, the rules its documents state in prose), plan, validate
    /// scenarios (errors located by JSON pointer), run within limits, explain a failure with a
    /// reproduction, and scaffold a plugin. It reaches only the targets the project's configs
    /// name, and writes to one off this machine only if the config allows it
    /// (`[agents] allow-writes`). docs/agents.md says how to add it to an MCP client.
    McpServer(super::agent::ServeArgs),
}

#[derive(Debug, Subcommand)]
pub(super) enum OpenapiCommand {
    /// Compare an OpenAPI document (JSON or YAML, OpenAPI 3 or Swagger 2) with the version it
    /// replaces: list every change, breaking ones first (an operation removed, a required
    /// parameter or body added, a type or enum narrowed, a bound tightened, a response property no
    /// longer promised or a response type widened), flag changed descriptions and list additions.
    /// Local `$ref`s are resolved. Exits 1 when a change is breaking, 0 otherwise.
    Diff(OpenapiDiffArgs),
}

#[derive(Debug, Clone, Args)]
pub(super) struct OpenapiDiffArgs {
    /// The document as it was (what clients were written against).
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: PathBuf,
    /// The document as it is now.
    #[arg(value_name = "FILE")]
    pub(super) document: PathBuf,
    /// Also write every change as JSON (`[{"severity", "at", "what"}]`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(super) enum McpCommand {
    /// Record what an MCP server offers (its tools with their schemas and hints, its prompts and
    /// resources, up to 1,000 of each, its instructions) in a JSON file, the baseline of `smoke mcp diff`.
    Snapshot(McpSnapshotArgs),
    /// Compare a live MCP server with a baseline from `smoke mcp snapshot`: list every change,
    /// breaking ones first (a tool or prompt removed, a required argument added, a type or enum
    /// narrowed, a bound tightened, a result property no longer promised, a read-only tool now
    /// destructive), flag changed descriptions (they steer what an agent does) and list additions.
    /// Exits 1 when a change is breaking, 0 otherwise.
    Diff(McpDiffArgs),
    /// Lint, offline, what an MCP server tells an agent: hidden characters (Unicode tags,
    /// bidirectional controls, zero-width) in any name, description, schema or the instructions;
    /// descriptions that tell the agent to do something beyond the call ("ignore ...", "before
    /// using any tool ..."); tool names outside what MCP allows. Exits 1 on a finding.
    Lint(McpServerArgs),
}

/// Where the MCP server is, for `smoke mcp`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("server").required(true).args(["mcp_url", "mcp_command"])))]
pub(super) struct McpServerArgs {
    /// The MCP server at this URL, over Streamable HTTP.
    #[arg(long, value_name = "URL", conflicts_with = "mcp_command")]
    pub(super) mcp_url: Option<String>,
    /// Start this command and speak MCP over its stdin and stdout (split as a shell would); it is
    /// stopped at the end.
    #[arg(long, value_name = "COMMAND")]
    pub(super) mcp_command: Option<String>,
    /// A header sent with every MCP request over HTTP, as "Name: value" (repeatable).
    #[arg(long = "mcp-header", value_name = "NAME: VALUE")]
    pub(super) mcp_headers: Vec<String>,
    /// The MCP protocol revision to speak: `auto` (the default) or one revision.
    #[arg(long, value_name = "REVISION")]
    pub(super) mcp_protocol: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(super) struct McpSnapshotArgs {
    #[command(flatten)]
    pub(super) server: McpServerArgs,
    /// Write the record here.
    #[arg(long, value_name = "FILE", default_value = "mcp-surface.json")]
    pub(super) out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub(super) struct McpDiffArgs {
    #[command(flatten)]
    pub(super) server: McpServerArgs,
    /// The record to compare with (`smoke mcp snapshot --out FILE`).
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: PathBuf,
    /// Also write every change as JSON (`[{"severity", "at", "what"}]`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(super) enum ReportCommand {
    /// Merge the JSON reports of every shard of one plan (`smoke run --shard I/N --report-json
    /// ...`) into one report.json, JUnit and HTML, with the triage of a single run. Refuses shards
    /// of different plans, a shard given twice and a missing shard. Exits 0 when every scenario
    /// passed, 1 otherwise, so the merge job can be the gate.
    Merge(MergeArgs),
    /// GitHub Actions' view of a JSON report: append a Markdown job summary (verdict, failures,
    /// what was not tested) to --summary FILE ($GITHUB_STEP_SUMMARY), and print an `::error`
    /// workflow command per failed scenario. Exits 0 when the run passed, 1 when it did not, as
    /// the run did.
    Github(GithubArgs),
}

#[derive(Debug, Clone, Args)]
pub(super) struct GithubArgs {
    /// A JSON report (`--report-json`, or a run directory's report.json).
    #[arg(value_name = "REPORT.json")]
    pub(super) report: PathBuf,
    /// Append the Markdown summary to FILE.
    #[arg(long, value_name = "FILE", env = "GITHUB_STEP_SUMMARY")]
    pub(super) summary: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub(super) struct MergeArgs {
    /// The shards' JSON reports, in any order.
    #[arg(required = true, value_name = "REPORT.json")]
    pub(super) reports: Vec<PathBuf>,
    #[command(flatten)]
    pub(super) files: ReportFiles,
}

/// The report files a run (or a merge) writes, besides report.json in the run directory.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct ReportFiles {
    /// Write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) report_json: Option<PathBuf>,
    /// Write the results as JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) report_junit: Option<PathBuf>,
    /// Write the results as one self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) report_html: Option<PathBuf>,
}

/// A `--require` value that names no kind of check.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a kind of check; the kinds are {1}")]
pub(super) struct UnknownKind(String, String);

/// A scenario kind as `--require` names it.
fn parse_kind(text: &str) -> Result<crate::plan::model::ScenarioKind, UnknownKind> {
    use crate::plan::model::ScenarioKind as K;
    let all = [K::HappyPath, K::NotFound, K::ValidationError, K::BusinessRule, K::Auth, K::Workflow, K::Load];
    all.into_iter().find(|k| k.as_str() == text.trim()).ok_or_else(|| {
        let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
        UnknownKind(text.to_string(), names.join(", "))
    })
}

/// Which steps' exchanges the reports keep whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Exchanges {
    Failed,
    All,
}

#[derive(Debug, Clone, Args)]
pub(super) struct DoctorArgs {
    #[command(flatten)]
    pub(super) plugins: PluginArgs,
    /// Check this running service instead of the config's [target].
    #[arg(long, value_name = "URL")]
    pub(super) base_url: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub(super) struct PluginArgs {
    /// A plugin component (.wasm) to load; repeat for several. Replaces the config's plugins.
    #[arg(long = "plugin", value_name = "PATH")]
    pub(super) plugin: Vec<String>,
    /// Config file [default: ./smoke.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Set a config key of the plugin given just before it (or of the only plugin).
    #[arg(long = "plugin-config", value_name = "KEY=VALUE")]
    pub(super) plugin_config: Vec<String>,
    /// Time limit of one plugin call (info, plan, one check) [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(super) plugin_timeout: Option<Duration>,
    /// Memory limit of one plugin instance, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub(super) plugin_memory_mib: Option<u64>,
    /// More detail (-v: steps of the run and plugin logs; -vv: debug). RUST_LOG also works.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(super) verbose: u8,
    /// Only errors and the summary.
    #[arg(short, long, global = true)]
    pub(super) quiet: bool,
    /// Registry plugins must be pinned in smoke.lock, and the registry must still serve the
    /// pinned digests (for CI).
    #[arg(long)]
    pub(super) locked: bool,
    /// Never touch the network for plugins: use the cache, and fail when something is missing.
    #[arg(long)]
    pub(super) offline: bool,
    /// Allow plain HTTP to a plugin registry that is not on this machine.
    #[arg(long)]
    pub(super) insecure: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub(super) plugins: PluginArgs,
    /// Test a service already running at this URL; start nothing.
    #[arg(long, value_name = "URL")]
    pub(super) base_url: Option<String>,
    /// Test the MCP server at this URL over Streamable HTTP: absolute, or a path under the base
    /// URL (e.g. /mcp). Replaces the config's [target.mcp].
    #[arg(long, value_name = "URL", conflicts_with = "mcp_command")]
    pub(super) mcp_url: Option<String>,
    /// Start this command and test the MCP server it runs over its stdin and stdout (e.g.
    /// "ledger-api mcp --db ledger.db"; split into words as a shell would). Its stderr goes to
    /// the run's log; it is stopped when the run ends.
    #[arg(long, value_name = "COMMAND")]
    pub(super) mcp_command: Option<String>,
    /// A header sent with every MCP request over HTTP, as "Name: value" (repeatable), e.g.
    /// "Authorization: Bearer TOKEN".
    #[arg(long = "mcp-header", value_name = "NAME: VALUE")]
    pub(super) mcp_headers: Vec<String>,
    /// The MCP protocol revision to speak: `auto` (the default: server/discover, the 2026-07-28
    /// way, then the initialize handshake when the server does not take it), one revision, e.g.
    /// 2026-07-28 or 2025-11-25, which the server must then speak, or `each` (smoke run only):
    /// one run in 2026-07-28 and one in 2025-11-25, each with its own reports
    /// (report.REVISION.json), and the verdicts that differ between them said (exit 1).
    #[arg(long, value_name = "REVISION")]
    pub(super) mcp_protocol: Option<String>,
    /// Leave out the host's checks of the MCP protocol itself (unknown method, pagination, a
    /// foreign Origin, stdout...; docs/mcp.md lists them), which the generic MCP plugin's plan
    /// gets by default.
    #[arg(long)]
    pub(super) no_protocol_checks: bool,
    /// Compare the MCP server's tools, prompts and resources with this record (`smoke mcp
    /// snapshot --out FILE`): a breaking change fails the scenario mcp.baseline (failure kind
    /// surface-change), flagged and additive changes are listed in it. Planned by the generic
    /// MCP plugin (--plugin mcp).
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: Option<PathBuf>,
    /// Scenarios in flight at once [default: 8].
    #[arg(long, short = 'j', value_name = "N")]
    pub(super) jobs: Option<usize>,
    #[command(flatten)]
    pub(super) selection: Selection,
    /// Run this plan (JSON in the schema `smoke plan` prints) instead of asking the plugins;
    /// plugins are needed only for steps that ask one to judge.
    #[arg(long, value_name = "FILE")]
    pub(super) plan: Option<PathBuf>,
    /// Time limit of one HTTP request [default: 30s].
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(super) request_timeout: Option<Duration>,
    /// The largest response body read (e.g. 16MiB, 500KB); a larger one fails its step, and
    /// reports keep its start with the real size noted [default: 16MiB].
    #[arg(long, value_name = "SIZE", value_parser = config::parse_size)]
    pub(super) max_body: Option<u64>,
    #[command(flatten)]
    pub(super) reports: ReportFiles,
    /// Which steps' request and response headers and bodies the reports keep: `failed` (a
    /// passing step keeps its method, URL, status and latency) or `all` [default: `all` with
    /// --report-html, which shows them, else `failed`]. The transcript keeps every exchange.
    #[arg(long, value_name = "WHICH", value_enum)]
    pub(super) exchanges: Option<Exchanges>,
    /// Write every HTTP exchange to FILE as JSON Lines, in send order, redacted.
    #[arg(long, value_name = "FILE")]
    pub(super) transcript: Option<PathBuf>,
    /// Save each input a plugin's `check` is handed (the argument, the exchange, the variables)
    /// and its verdict into DIR, one JSON file per judged step (SCENARIO.stepN.json, redacted),
    /// for the SDKs' testing modules to replay: a verdict tested without the service.
    #[arg(long, value_name = "DIR")]
    pub(super) record_checks: Option<PathBuf>,
    /// Directory for this run's files: service log, command output, reports [default: a new
    /// directory under the user's state directory, printed at the end].
    #[arg(long, value_name = "DIR")]
    pub(super) artifacts: Option<PathBuf>,
    /// Keep the temporary workdir (`workdir = "temp"`) after the run, for inspection.
    #[arg(long)]
    pub(super) keep_workdir: bool,
    /// Stop the whole run after this long, failing what has not finished (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub(super) timeout: Option<Duration>,
    /// Plain lines, no progress bar (the default when stdout is not a terminal).
    #[arg(long)]
    pub(super) no_progress: bool,
    /// Send nothing that may write, for smoke-testing production after a deploy: only GET, HEAD
    /// and OPTIONS requests and tools the MCP server marks read-only; a scenario with any other
    /// step, or one that needs a seed (none is created), is skipped, naming it.
    #[arg(long)]
    pub(super) read_only: bool,
    /// Keep what the scenarios make: by default each plugin that can (one that reads a
    /// `keep_data` config key, as the OpenAPI plugin does) deletes it at the scenario's end, in
    /// reverse order of creation; this sets `keep_data=true` for each of them.
    #[arg(long)]
    pub(super) keep_data: bool,
    /// Fail the run (exit 1), listing them, when an endpoint or tool did not get a check of one
    /// of these kinds that applies to it (comma-separated: happy-path, not-found,
    /// validation-error, business-rule, auth, workflow, load), as the report's "not tested"
    /// ledger says: e.g. `--require auth,not-found`.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',', value_parser = parse_kind)]
    pub(super) require: Vec<crate::plan::model::ScenarioKind>,
    #[command(flatten)]
    pub(super) tls: TlsArgs,
    /// `smoke dev` only: hand the plugin (its runner) this project folder, read-only.
    #[arg(long, value_name = "DIR", hide = true)]
    pub(super) dev_project: Option<PathBuf>,
    /// `smoke dev` only: hand the plugin (its runner) this bundle, and the source map beside it.
    #[arg(long, value_name = "FILE", hide = true)]
    pub(super) dev_bundle: Option<PathBuf>,
    /// `smoke dev` only: the one `--plugin` takes the settings ([plugins.config]) of the config's
    /// one plugin, as if the config named it.
    #[arg(long, hide = true)]
    pub(super) dev_config_plugin: bool,
    /// `smoke plan` only (for `smoke mcp-server`): a plugin that plans from an MCP server's tool
    /// list reads it from the server the config names, as if --mcp-url or --mcp-command had
    /// named it.
    #[arg(long, hide = true)]
    pub(super) mcp_from_config: bool,
}

/// TLS to the service under test (`https://`), which smoke reaches with the platform's trusted
/// roots (`SSL_CERT_FILE` and `SSL_CERT_DIR` are honoured) unless told otherwise.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct TlsArgs {
    /// Also trust the certificate authorities in this PEM file (the service's own CA).
    #[arg(long, value_name = "FILE")]
    pub(super) cacert: Option<PathBuf>,
    /// Present this client certificate (PEM) for mutual TLS; needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(super) cert: Option<PathBuf>,
    /// The private key (PEM) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(super) key: Option<PathBuf>,
    /// Accept any certificate the service shows: for a test service with a self-signed one.
    /// Never against production.
    #[arg(long)]
    pub(super) insecure_target: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct InspectArgs {
    /// The plugin component (.wasm), or the name of one built into smoke (`openapi`, `mcp`).
    pub(super) plugin: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(super) json: bool,
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

/// Which part of the plan to run, and how strictly to judge it.
#[derive(Debug, Clone, Default, Args)]
pub(super) struct Selection {
    /// Run only matching scenarios (repeatable): an id glob (`ledger.bundle.*`), `tag:NAME` or
    /// `kind:KIND` (e.g. `kind:happy-path`). Their dependencies come along.
    #[arg(long, value_name = "PATTERN")]
    pub(super) filter: Vec<String>,
    /// Run part I of N (e.g. 2/3); dependency chains stay whole, so N jobs together run every
    /// scenario exactly once.
    #[arg(long, value_name = "I/N")]
    pub(super) shard: Option<String>,
    /// Balance the shards by the scenarios' durations in this JSON report of an earlier run (a
    /// merged one, or any shard's), so that the N parts take about the same time. Still
    /// deterministic for the same plan and report; a scenario the report lacks counts as the
    /// median.
    #[arg(long, value_name = "REPORT", requires = "shard")]
    pub(super) shard_durations: Option<PathBuf>,
    /// Treat coverage gaps (an endpoint without a happy path, a not-found or a validation-error
    /// scenario) as errors.
    #[arg(long)]
    pub(super) strict_plan: bool,
    /// Run only the scenarios that failed or were skipped in this JSON report (from
    /// --report-json or a run directory), plus what they depend on.
    #[arg(long, value_name = "REPORT")]
    pub(super) rerun_failed: Option<PathBuf>,
    /// Add the scenarios of this file (`{"scenarios": [...]}`, each as in a plan) to the plugins'
    /// plan: scenarios written by anyone, an agent or a person, committed with the project and
    /// validated like every plan. Tagged `overlay` [default: the config's `[run] scenarios`].
    #[arg(long, value_name = "FILE")]
    pub(super) scenarios: Option<PathBuf>,
}

/// `--mcp-command`, split into words as a shell would.
pub(super) fn mcp_command_words(line: Option<&str>) -> Result<Option<Vec<String>>, Failure> {
    line.map(|line| {
        shlex::split(line)
            .ok_or_else(|| Failure::new(exit::USAGE, format!("--mcp-command {line:?}: unbalanced quotes")))
    })
    .transpose()
}

/// Build the overrides, pairing each `--plugin-config` with the `--plugin` before it.
/// What `smoke run` (and `smoke plan`, which takes the same options) says on the command line.
pub(super) fn run_overrides(args: &RunArgs, matches: &clap::ArgMatches) -> Result<Overrides, Failure> {
    let mcp_command = mcp_command_words(args.mcp_command.as_deref())?;
    Ok(Overrides {
        base_url: args.base_url.clone(),
        mcp_url: args.mcp_url.clone(),
        mcp_command,
        mcp_headers: args.mcp_headers.clone(),
        mcp_protocol: args.mcp_protocol.clone(),
        no_protocol_checks: args.no_protocol_checks,
        mcp_baseline: args.baseline.clone(),
        jobs: args.jobs,
        request_timeout: args.request_timeout,
        max_body: args.max_body,
        plan_file: args.plan.is_some(),
        keep_data: args.keep_data,
        cacert: args.tls.cacert.clone(),
        cert: args.tls.cert.clone(),
        key: args.tls.key.clone(),
        insecure_target: args.tls.insecure_target,
        dev: dev_grant(args)?,
        dev_config_plugin: args.dev_config_plugin,
        ..overrides(&args.plugins, matches)
    })
}

/// What `smoke dev` hands the runner it loads: the project folder, or a bundle and its map.
fn dev_grant(args: &RunArgs) -> Result<Option<crate::plugin::DevGrant>, Failure> {
    if args.dev_project.is_none() && args.dev_bundle.is_none() {
        return Ok(None);
    }
    let mut grant = crate::plugin::DevGrant { project: args.dev_project.clone(), env: Vec::new() };
    if let Some(bundle) = &args.dev_bundle {
        // A bundle and its map are a plugin's code: 64 MiB is far beyond any.
        let read = |path: &Path| {
            crate::files::read_text(path, 64 << 20, "bundle")
                .map_err(|e| Failure::new(exit::USAGE, format!("--dev-bundle: {e}")))
        };
        grant.env.push(("SMOKE_DEV_BUNDLE".into(), read(bundle)?));
        let map = bundle.with_file_name(format!(
            "{}.map",
            bundle.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        if map.is_file() {
            grant.env.push(("SMOKE_DEV_SOURCE_MAP".into(), read(&map)?));
        }
    }
    Ok(Some(grant))
}

pub(super) fn overrides(p: &PluginArgs, matches: &clap::ArgMatches) -> Overrides {
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

/// `smoke plugin ...`: the registry and the plugin cache.
#[derive(Debug, Subcommand)]
pub(super) enum PluginCommand {
    /// Create a plugin project (Rust, Python or TypeScript) that builds with one command and
    /// passes against any example service out of the box, with a test of its own.
    New(super::scaffold::NewArgs),
    /// Publish a plugin component to an OCI registry as a Wasm artifact.
    Push(PushArgs),
    /// Pull a plugin into the cache, verifying its digest, and print where it is.
    Pull(PullArgs),
    /// Pin every registry plugin of the config (or --plugin) to its digests in smoke.lock.
    Lock(LockArgs),
    /// List cached plugins, and with --remote the tags a registry holds.
    Ls(LsArgs),
    /// Remove cached components no reference uses any more, and abandoned downloads.
    Gc(CommonArgs),
}

#[derive(Debug, Clone, Args)]
pub(super) struct CommonArgs {
    /// Config file, for its [registry] table [default: ./smoke.toml when it exists].
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Allow plain HTTP to a registry that is not on this machine.
    #[arg(long)]
    pub(super) insecure: bool,
}

#[derive(Debug, Clone, Args)]
pub(super) struct PushArgs {
    /// The plugin component (.wasm).
    pub(super) file: PathBuf,
    /// Where to publish it: oci://HOST/REPO:TAG, or NAME@VERSION through the default registry.
    pub(super) reference: String,
    /// Replace a tag that already exists.
    #[arg(long)]
    pub(super) force: bool,
    #[command(flatten)]
    pub(super) common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub(super) struct PullArgs {
    /// oci://HOST/REPO:TAG, oci://HOST/REPO@sha256:..., or NAME@VERSION.
    pub(super) reference: String,
    #[command(flatten)]
    pub(super) common: CommonArgs,
}

#[derive(Debug, Clone, Args)]
pub(super) struct LockArgs {
    #[command(flatten)]
    pub(super) plugins: PluginArgs,
}

#[derive(Debug, Clone, Args)]
pub(super) struct LsArgs {
    /// Also ask the registry which tags these repositories hold (oci://HOST/REPO); with none,
    /// the repositories of the config's registry plugins.
    #[arg(long)]
    pub(super) remote: bool,
    pub(super) repositories: Vec<String>,
    #[command(flatten)]
    pub(super) common: CommonArgs,
}
