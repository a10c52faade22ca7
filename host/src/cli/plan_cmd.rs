//! Step 3 of a run: the merged plan, from the plugins or a plan file, validated, coverage checked,
//! then selected and sharded; and `smoke plan`, which prints it.

use super::options::{RunArgs, Selection, run_overrides};
use super::plugins::{Loaded, load_plugins};
use super::{Failure, exit};
use crate::config::{self, Overrides};
use crate::plan::{Plan, model::PluginRef};
use crate::plugin::contract;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

/// The fields of a report's scenario that `--rerun-failed` and `--shard-durations` read, each as
/// whatever JSON it is (a field of another type, or none, reads as not there).
#[derive(serde::Deserialize)]
struct ScenarioFields {
    #[serde(default)]
    id: serde_json::Value,
    #[serde(default)]
    plugin: serde_json::Value,
    #[serde(default)]
    outcome: serde_json::Value,
    #[serde(default)]
    duration_ms: serde_json::Value,
}

/// Ids of the scenarios a JSON report says failed or were skipped (post-run checks excluded),
/// read a scenario at a time.
pub(super) fn failed_in(path: &Path) -> Result<BTreeSet<String>, Failure> {
    let mut ids = BTreeSet::new();
    crate::report::read::each_scenario(path, &mut |s: ScenarioFields| {
        if (s.outcome == "failed" || s.outcome == "skipped")
            && s.plugin != "smoke"
            && let Some(id) = s.id.as_str()
        {
            ids.insert(id.to_string());
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .map_err(|e| Failure::new(exit::USAGE, format!("--rerun-failed: {e}")))?
    .unwrap_or_else(|never| match never {});
    Ok(ids)
}

/// The plan's sha256, streamed through the hasher (no copy of the plan's text is made).
fn digest(plan: &Plan) -> String {
    use sha2::Digest;
    struct Hashing(sha2::Sha256);
    impl std::io::Write for Hashing {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hashing = Hashing(sha2::Sha256::new());
    serde_json::to_writer(std::io::BufWriter::new(&mut hashing), plan).expect("a plan serializes");
    format!("sha256:{}", hex::encode(hashing.0.finalize()))
}

/// Each scenario's duration in a JSON report, for `--shard-durations`.
fn durations_in(path: &Path) -> Result<std::collections::BTreeMap<String, u64>, Failure> {
    let mut durations = std::collections::BTreeMap::new();
    crate::report::read::each_scenario(path, &mut |s: ScenarioFields| {
        if let (Some(id), Some(ms)) = (s.id.as_str(), s.duration_ms.as_u64()) {
            durations.insert(id.to_string(), ms);
        }
        Ok::<(), std::convert::Infallible>(())
    })
    .map_err(|e| Failure::new(exit::USAGE, format!("--shard-durations: {e}")))?
    .unwrap_or_else(|never| match never {});
    Ok(durations)
}

/// The merged plan: from the plugins, or from `--plan FILE`; validated, coverage checked,
/// filtered and sharded.
pub(super) async fn build_plan(
    loaded: &[Loaded],
    selection: &Selection,
    file: Option<&Path>,
) -> Result<Plan, Failure> {
    let plan = match file {
        Some(path) => read_plan(path, loaded)?,
        None => plan_from_plugins(loaded).await?,
    };
    let plan = match &selection.scenarios {
        Some(path) => with_overlay(plan, path, loaded)?,
        None => plan,
    };
    let errors = crate::plan::validate::validate(&plan);
    if !errors.is_empty() {
        // What is wrong in a scenario file is said with its place in the file.
        let errors = match &selection.scenarios {
            Some(file) => {
                let overlay: Vec<crate::plan::model::Scenario> = plan
                    .scenarios
                    .iter()
                    .filter_map(Result::ok)
                    .filter(|s| s.tags.iter().any(|t| t == "overlay"))
                    .map(|s| (*s).clone())
                    .collect();
                super::agent::pointed(errors, &overlay, file)
            }
            None => errors,
        };
        return Err(Failure::new(exit::PLUGIN, listing("plan: the plan is invalid", &errors)));
    }
    // A run of nothing would pass having tested nothing: say so, rather than exit 0.
    if plan.scenarios.is_empty() {
        return Err(Failure::new(
            exit::PLUGIN,
            "plan: no scenario was planned, so a run would test nothing (the warnings above say what each \
             plugin left out, and why)",
        ));
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
        let planned: BTreeSet<&str> = (0..plan.scenarios.len()).map(|i| plan.scenarios.id(i)).collect();
        let gone: Vec<&str> = ids.iter().map(String::as_str).filter(|id| !planned.contains(id)).collect();
        if !gone.is_empty() {
            return Err(Failure::new(
                exit::USAGE,
                format!(
                    "--rerun-failed: {} scenario(s) that failed or were skipped in {} are not in the plan (renamed \
                     or removed since that run): {}; run the whole plan, or a --filter of what you mean",
                    gone.len(),
                    report.display(),
                    gone.iter()
                        .take(20)
                        .map(|id| crate::http::escape_line(id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        drop(planned);
        plan = crate::plan::select_by(plan, |s, i| ids.contains(s.id(i)));
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
        // Only a shard needs it (`smoke report merge`); hashing costs a pass over the plan.
        plan.digest = digest(&plan);
        let (index, count) = crate::plan::parse_shard(spec).map_err(|e| Failure::new(exit::USAGE, e))?;
        let durations = selection.shard_durations.as_deref().map(durations_in).transpose()?;
        let by = match &durations {
            None => "count".to_string(),
            Some(d) => {
                use sha2::Digest;
                let text = serde_json::to_vec(d).expect("durations serialize");
                format!("durations sha256:{}", hex::encode(sha2::Sha256::digest(&text)))
            }
        };
        let split = crate::plan::Split { scenarios: plan.scenarios.len(), by };
        plan = crate::plan::shard(plan, index, count, durations.as_ref());
        plan.split = Some(split);
        let ids = crate::plan::ids_digest((0..plan.scenarios.len()).map(|i| plan.scenarios.id(i)));
        plan.shard_ids = Some(ids);
    }
    Ok(plan)
}

pub(super) fn listing(head: &str, items: &[String]) -> String {
    let mut message = format!("{head} ({} problem(s)):", items.len());
    for e in items {
        message.push_str("\n  - ");
        message.push_str(e);
    }
    message
}

/// A plan written by hand or by another tool, in exactly the schema `smoke plan` prints
/// (docs/plan-schema.json). Steps asking a plugin to judge need that plugin loaded.
pub(super) fn read_plan(path: &Path, loaded: &[Loaded]) -> Result<Plan, Failure> {
    let cannot =
        |e: std::io::Error| Failure::new(exit::USAGE, format!("plan: cannot read {}: {e}", path.display()));
    // A regular file only (a FIFO or a device is refused, not waited on or read without end).
    let (file, meta) =
        crate::files::open_regular(path).map_err(|e| Failure::new(exit::USAGE, format!("plan: {e}")))?;
    let size = meta.len();
    if size > crate::files::MAX_PLAN_BYTES {
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "plan: {} is over the limit of {} bytes for a plan",
                path.display(),
                crate::files::MAX_PLAN_BYTES
            ),
        ));
    }
    let file = std::io::Read::take(file, crate::files::MAX_PLAN_BYTES);
    // A small plan is read whole (parsing a slice is quicker); a big one is read as a stream, a
    // scenario at a time, so its size never lands in memory twice.
    let parsed: Result<Plan, serde_json::Error> = if size <= 8 << 20 {
        let mut bytes = Vec::with_capacity(size as usize + 1);
        std::io::Read::read_to_end(&mut std::io::BufReader::new(file), &mut bytes).map_err(cannot)?;
        // UTF-8 checked once for the whole text, rather than string by string as it is read.
        match std::str::from_utf8(&bytes) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(&bytes),
        }
    } else {
        serde_json::from_reader(std::io::BufReader::with_capacity(1 << 16, file))
    };
    let plan = parsed.map_err(|e| {
        if e.is_io() {
            return Failure::new(exit::USAGE, format!("plan: cannot read {}: {e}", path.display()));
        }
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
    for s in plan.scenarios.iter() {
        let s = s.map_err(|e| Failure::new(exit::USAGE, format!("plan: {e}")))?;
        for (i, step) in s.steps.iter().enumerate() {
            let Some(argument) = step.check() else { continue };
            let name = step.display_name();
            let at = format!("scenario {:?}, step {} ({})", s.id, i + 1, crate::http::escape_line(&name));
            let Some(judge) = loaded.iter().find(|l| l.plugin.name() == s.plugin) else {
                orphans.push(format!("{at} asks plugin {:?} to judge; pass --plugin with it", s.plugin));
                continue;
            };
            // What the plugin's contract can take, checked before anything is sent.
            if judge.plugin.wit_version.starts_with("0.1.") {
                match &step.action {
                    crate::plan::model::Action::Http(call) => {
                        if let crate::plan::model::Method::Other(token) = &call.request.method {
                            orphans.push(format!(
                                "{at} asks plugin {:?} to judge a {token} request, a method its contract \
                                 (smoke:plugin@{}) cannot name",
                                s.plugin, judge.plugin.wit_version
                            ));
                        }
                    }
                    crate::plan::model::Action::ToolCall(_)
                    | crate::plan::model::Action::McpRequest(_)
                    | crate::plan::model::Action::McpCheck(_) => orphans.push(format!(
                        "{at} asks plugin {:?} to judge an MCP call, which its contract (smoke:plugin@{}) \
                         cannot name",
                        s.plugin, judge.plugin.wit_version
                    )),
                }
            } else if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(argument) {
                orphans.push(format!(
                    "{at}: the check argument for plugin {:?} (smoke:plugin@{}) must be JSON: {e}",
                    s.plugin, judge.plugin.wit_version
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

/// The most a file of scenarios may be.
const MAX_OVERLAY_BYTES: u64 = 64 << 20;

/// A file of scenarios written beside the plugins' plan (by an agent or a person), in the plan's
/// own format: `{"scenarios": [...]}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Overlay {
    #[serde(rename = "$schema", default)]
    _schema: Option<String>,
    #[serde(rename = "description", default)]
    _description: Option<String>,
    scenarios: Vec<crate::plan::model::Scenario>,
}

/// The plan with the scenarios of the overlay at `path` added, each tagged `overlay` (`--filter
/// tag:overlay`). A scenario names no plugin, or one that is loaded when a step asks it to judge;
/// the whole plan is then validated as any plan is.
fn with_overlay(mut plan: Plan, path: &Path, loaded: &[Loaded]) -> Result<Plan, Failure> {
    let said = path.display();
    let text = crate::files::read_text(path, MAX_OVERLAY_BYTES, "scenario file")
        .map_err(|e| Failure::new(exit::USAGE, format!("scenarios: {e}")))?;
    let overlay: Overlay = serde_json::from_str(&text).map_err(|e| {
        Failure::new(
            exit::PLUGIN,
            format!(
                "scenarios: {said}:{}:{}: not a file of scenarios: {e} (expected {{\"scenarios\": [...]}}, each scenario \
                 as in docs/plan-schema.json)",
                e.line(),
                e.column()
            ),
        )
    })?;
    let count = overlay.scenarios.len();
    for (i, mut s) in overlay.scenarios.into_iter().enumerate() {
        if s.plugin.is_empty() {
            s.plugin = "overlay".into();
        }
        let judged = s.steps.iter().position(|step| step.check().is_some());
        if let Some(j) = judged
            && !loaded.iter().any(|l| l.plugin.name() == s.plugin)
        {
            let names: Vec<&str> = loaded.iter().map(|l| l.plugin.name()).collect();
            return Err(Failure::new(
                exit::PLUGIN,
                format!(
                    "scenarios: {said}: /scenarios/{i}/steps/{j}: asks plugin {:?} to judge (`check`), but no plugin \
                     of that name is loaded; set the scenario's \"plugin\" to one that is ({})",
                    s.plugin,
                    if names.is_empty() { "none is".to_string() } else { names.join(", ") }
                ),
            ));
        }
        if !s.tags.iter().any(|t| t == "overlay") {
            s.tags.push("overlay".into());
        }
        plan.scenarios.push(s);
    }
    tracing::info!("scenarios: {count} scenario(s) added from {said}");
    Ok(plan)
}

pub(super) async fn plan_from_plugins(loaded: &[Loaded]) -> Result<Plan, Failure> {
    let mut parts = Vec::new();
    for l in loaded {
        let plugin = l.plugin.clone();
        let input = contract::PlanInput { config: l.config.clone(), documents: l.documents.clone() };
        let name = plugin.name().to_string();
        let answer = tokio::task::spawn_blocking(move || plugin.plan(&input))
            .await
            .map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {name}: plan did not complete: {e}")))?
            .map_err(|e| Failure::new(exit::PLUGIN, e))?;
        let plan = answer.map_err(|e| {
            let at = e.location.map(|l| format!(" (at {l})")).unwrap_or_default();
            Failure::new(exit::PLUGIN, format!("plugin {name}: planning failed{at}: {}", e.message))
        })?;
        let mut converted =
            plan.map_err(|e| Failure::new(exit::PLUGIN, format!("plugin {name}: invalid plan: {e}")))?;
        let info = l.plugin.info();
        // A secret the plugin wrote into its plan becomes a reference to its config key.
        let secrets: Vec<(String, String)> = info
            .config
            .iter()
            .filter(|k| matches!(k.kind, contract::ConfigKind::Secret))
            .filter_map(|k| {
                l.config.iter().find(|p| p.name == k.name).map(|p| (p.name.clone(), p.value.clone()))
            })
            .collect();
        converted.reference_secrets(&secrets);
        if let Some(host) = &l.protocol_checks {
            converted.scenarios.extend(crate::mcp::conformance::scenarios(host, info.name.as_str()));
        }
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

pub(super) async fn plan_command(args: RunArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let o = Overrides { plan_only: true, ..run_overrides(&args, matches)? };
    let settings = config::load(&o).map_err(|e| Failure::new(exit::USAGE, e))?;
    let mut args = args;
    // The config's scenario file joins the plugins' plan; a plan from a file (`smoke plan`'s
    // output, which already holds it) runs as it is.
    let from_plugins = args.plan.is_none();
    args.selection.scenarios =
        args.selection.scenarios.take().or_else(|| settings.scenarios.clone().filter(|_| from_plugins));
    // The environment's values in the config are secrets here too: nothing printed holds them.
    let mut redactor = super::secrets(&settings);
    let mut loaded = load_plugins(&settings, &mut redactor).await?;
    if args.plan.is_none() && super::plugins::wants_mcp_server(&loaded) {
        let named = args.mcp_from_config;
        let given = (args.mcp_url.is_some() || named, args.mcp_command.is_some() || named);
        let description = describe_mcp_server(given, &settings).await?;
        loaded = super::plugins::with_mcp_server(&loaded, description.as_bytes(), &settings);
    }
    if args.plan.is_none() && super::plugins::wants_service_documents(&loaded) {
        match &settings.base_url {
            Some(url) => {
                loaded = super::plugins::with_service_documents(&loaded, url, &settings.base_dir).await?
            }
            None => {
                let named: Vec<String> = super::plugins::service_documents(&loaded)
                    .into_iter()
                    .map(|(key, said)| format!("{key} = {said:?}"))
                    .collect();
                crate::warn_user!(
                    "plan: made from the document the service serves ({}) once `smoke run` has started it; \
                     give --base-url URL of a running one to see the plan here",
                    named.join(", ")
                );
                return Ok(exit::PASSED);
            }
        }
    }
    let plan = build_plan(&loaded, &args.selection, args.plan.as_deref()).await?;
    crate::warn_raw!("{}", crate::plan::coverage::table(&crate::plan::coverage::coverage(&plan)));
    // Streamed, a line at a time through the redactor: a plan of any size is never one string.
    let mut stdout = redactor.lines(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()));
    crate::plan::write_json(&plan, &mut stdout)
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

/// The MCP server's description for `smoke plan` and `smoke mcp`, from a server given on the
/// command line (`given`: whether --mcp-url was, whether --mcp-command was): one at --mcp-url
/// (absolute, or under --base-url), or one --mcp-command starts (and this stops).
pub(super) async fn describe_mcp_server(
    given: (bool, bool),
    settings: &config::Settings,
) -> Result<String, Failure> {
    use crate::config::{Mcp, McpTransport};
    let needs = || {
        Failure::new(
            exit::USAGE,
            format!(
                "a plugin plans from the MCP server's own tool list ({}): give `smoke plan` a running server \
                 with --mcp-url URL, or one to start with --mcp-command COMMAND",
                super::plugins::MCP_SERVER_DOCUMENT
            ),
        )
    };
    let failed = |e: crate::mcp::ConnectError| Failure::new(exit::TARGET, e);
    match &settings.mcp {
        Some(Mcp { transport: McpTransport::Http { url, headers }, timeout, revision, .. }) if given.0 => {
            let url = match (url.starts_with('/'), &settings.base_url) {
                (false, _) => url.clone(),
                (true, Some(base)) => format!("{}{url}", base.trim_end_matches('/')),
                (true, None) => return Err(needs()),
            };
            let session = crate::mcp::Session::http(&url, headers, 1, settings.max_body, *timeout, revision)
                .await
                .map_err(failed)?;
            let description = session.description.to_string();
            session.close().await;
            Ok(description)
        }
        Some(Mcp {
            transport: McpTransport::Stdio { command, args: words, env, dir },
            timeout,
            revision,
            ..
        }) if given.1 => {
            let here = std::env::current_dir().unwrap_or_else(|_| ".".into());
            let (mut server, stdin, stdout) = crate::service::Service::start_stdio(
                command,
                words,
                env,
                dir,
                &here,
                std::time::Duration::from_secs(5),
                None,
            )
            .await
            .map_err(|e| Failure::new(exit::TARGET, e))?;
            let shown = server.command().to_string();
            let session = crate::mcp::Session::stdio(
                &shown,
                (stdout, stdin),
                *timeout,
                revision,
                crate::mcp::Noise::Close,
            )
            .await;
            let description = match session {
                Ok(session) => {
                    let d = session.description.to_string();
                    session.close().await;
                    Ok(d)
                }
                Err(e) => Err(failed(e)),
            };
            server.stop(std::future::pending()).await;
            description
        }
        _ => Err(needs()),
    }
}
