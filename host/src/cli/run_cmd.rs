//! `smoke run`: settings, plugins and plan; then the session (target, seeds, scenarios) raced
//! against signals and the run's time limit; teardown on every path; reports from whatever
//! finished, written on every exit path.

use super::options::{RunArgs, run_overrides};
use super::plan_cmd::{build_plan, failed_in};
use super::plugins::load_plugins;
use super::session::{Session, lock};
use super::{Failure, Signals, exit, next_signal};
use crate::config;
use crate::http::Redactor;
use crate::plan::Plan;
use crate::report::{self, RunDir};
use crate::run::results::{Failure as RunFailure, FailureKind, Outcome, RunReport, StageFailure};
use crate::run::spool::{Encoded, Spool};
use crate::service::Workspace;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `--mcp-protocol each`: one run per generation of MCP, then the verdicts compared.
pub(super) const EACH: &str = "each";

/// The revisions `--mcp-protocol each` runs in, one per generation: the newest with
/// `server/discover`, the newest with `initialize`.
const EACH_REVISION: [&str; 2] = ["2026-07-28", "2025-11-25"];

pub(super) async fn run(args: RunArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    if args.mcp_protocol.as_deref() == Some(EACH) {
        return each_revision(args, matches).await;
    }
    run_once(args, matches).await.map(|(code, _)| code)
}

/// Run once per revision of [`EACH_REVISION`], each with reports, transcript and artifacts of its
/// own (`report.2026-07-28.json`), then say which scenarios' verdicts differ between them: the
/// same server should not pass in one generation what it fails in the other. Exits with the first
/// run's failing code, else 1 when a verdict differs, else 0.
async fn each_revision(args: RunArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let mut runs = Vec::new();
    for revision in EACH_REVISION {
        let mut one = args.clone();
        one.mcp_protocol = Some(revision.to_string());
        let reports = &mut one.reports;
        for path in [
            &mut reports.report_json,
            &mut reports.report_junit,
            &mut reports.report_html,
            &mut one.transcript,
        ]
        .into_iter()
        .flatten()
        {
            *path = per_revision(path, revision);
        }
        one.artifacts = args.artifacts.as_ref().map(|dir| dir.join(revision));
        crate::say!("smoke: MCP {revision} (--mcp-protocol each)");
        let (code, verdicts) = run_once(one, matches).await?;
        // Interrupted: the next revision is not begun.
        if code == exit::SIGINT || code == exit::SIGTERM {
            return Ok(code);
        }
        runs.push((revision, code, verdicts));
    }
    let [(first, first_code, before), (second, second_code, after)] = &runs[..] else {
        unreachable!("two revisions ran")
    };
    let by_id: std::collections::HashMap<&str, Outcome> =
        after.iter().map(|(id, o)| (id.as_str(), *o)).collect();
    let (mut differ, mut both) = (0, 0);
    for (id, outcome) in before {
        let Some(other) = by_id.get(id.as_str()) else { continue };
        both += 1;
        if other != outcome {
            differ += 1;
            crate::say!(
                "DIFFERS  {}: {} under {first}, {} under {second}",
                crate::http::escape_line(id),
                outcome.label(),
                other.label()
            );
        }
    }
    let one_sided = before.len() + after.len() - 2 * both;
    crate::say!(
        "smoke: MCP {first} exit {first_code}, {second} exit {second_code}; {differ} verdict(s) differ between them; \
         {one_sided} scenario(s) ran in one of them only (checks of one generation, or a run that ended early)"
    );
    Ok(match (first_code, second_code) {
        (0, 0) if differ == 0 => exit::PASSED,
        (0, 0) => exit::FAILED,
        (0, code) | (code, _) => *code,
    })
}

/// `report.json` as `report.2026-07-28.json`: a file of each revision's run.
fn per_revision(path: &Path, revision: &str) -> std::path::PathBuf {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.{revision}.{}", ext.to_string_lossy()),
        None => format!("{stem}.{revision}"),
    };
    path.with_file_name(name)
}

/// One run: its exit code and each scenario's verdict, by id, in plan order.
async fn run_once(
    args: RunArgs,
    matches: &clap::ArgMatches,
) -> Result<(i32, Vec<(String, Outcome)>), Failure> {
    let started = Instant::now();
    let settings = config::load(&run_overrides(&args, matches)?).map_err(|e| Failure::new(exit::USAGE, e))?;
    let mut args = args;
    // The config's scenario file joins the plugins' plan; a plan from a file (`smoke plan`'s
    // output, which already holds it) runs as it is.
    let from_plugins = args.plan.is_none();
    args.selection.scenarios =
        args.selection.scenarios.take().or_else(|| settings.scenarios.clone().filter(|_| from_plugins));
    if let Some(report) = &args.selection.rerun_failed
        && failed_in(report)?.is_empty()
    {
        crate::say!("nothing to rerun: every scenario in {} passed", report.display());
        return Ok((exit::PASSED, Vec::new()));
    }
    let mut redactor = super::secrets(&settings);
    // The run's --timeout holds from the start: a document that never arrives ends it too.
    let loading = async {
        let loaded = load_plugins(&settings, &mut redactor).await?;
        let (plan, plan_later) = planned(&args, &settings, &loaded).await?;
        Ok::<_, Failure>((loaded, plan, plan_later))
    };
    let (loaded, plan, plan_later) = match args.timeout {
        None => loading.await?,
        Some(limit) => tokio::time::timeout(limit, loading).await.map_err(|_| {
            Failure::new(
                exit::FAILED,
                format!(
                    "the run's --timeout of {} expired while the plugins and their documents were loaded; \
                     nothing was run",
                    humantime::format_duration(limit)
                ),
            )
        })??,
    };
    tracing::info!(
        "plan: {} scenario(s) ready after {} ms",
        plan.scenarios.len(),
        started.elapsed().as_millis()
    );
    let ground = Ground::prepare(&args, &settings)?;
    // Whatever the service or its commands start is smoke's to stop, even if it daemonizes.
    crate::service::adopt_orphans();
    // Shares what the run's redactor learns, for the last pass over every output.
    let scrubber = redactor.clone();
    crate::report::console::redact_output(&scrubber);
    let mut signals = Signals::listen();
    let transcript =
        args.transcript.as_ref().map(|_| Arc::new(crate::run::transcript::Transcript::default()));
    let session = Session {
        args: &args,
        settings: &settings,
        loaded: &loaded,
        plan: Arc::new(std::sync::Mutex::new(plan)),
        plan_later,
        run_dir: &ground.run_dir,
        workspace: ground.workspace.as_ref(),
        progress: Arc::default(),
        services: Arc::default(),
        mcp: Arc::default(),
        transcript: transcript.clone(),
    };
    let (phase, ended_early) = race(&session, redactor, &args, &mut signals).await;
    teardown(&session, phase.is_ok(), &args, &mut signals).await;
    let (progress, plan) = (session.progress.clone(), lock(&session.plan).clone());
    drop(session);
    let ground = ground.finish();
    let mut progress = std::mem::take(&mut *lock(&progress));
    let ending = Ending { phase: &phase, early: ended_early.as_ref(), started };
    let spool = &progress.spool;
    // The finished scenarios' verdicts (a place not filled has no id).
    let verdicts: Vec<(String, Outcome)> = (0..spool.len())
        .filter(|&i| !spool.id(i).is_empty())
        .map(|i| (spool.id(i).to_string(), spool.brief(i).outcome))
        .collect();
    let report = assemble(&args, &settings, &plan, &mut progress, &ground, &ending, &scrubber);
    let writing = Instant::now();
    // A report that cannot be written is an error, said after the verdict, never instead of it.
    let written =
        write_reports(&args, &report, &ground.run_dir).and_then(|()| match (&args.transcript, &transcript) {
            (Some(path), Some(t)) => write_transcript(path, t, &ground.run_dir, &scrubber),
            _ => Ok(()),
        });
    tracing::info!("report: written in {} ms", writing.elapsed().as_millis());
    if let Some(peak) = peak_memory_mib() {
        tracing::info!("memory: peak {peak} MiB");
    }
    let code = conclude(&args, report, phase, progress.seed_failure, ended_early, &ground.run_dir, &scrubber);
    written?;
    let code = code?;
    // The process ends next: the plan need not be taken apart a piece at a time first (for a big
    // run, milliseconds of nothing); the temporary files it may hold have no name.
    std::mem::forget(plan);
    Ok((code, verdicts))
}

/// How the run ended early, if it did: its label, how unfinished scenarios count, why, the code.
type EndedEarly = (&'static str, Outcome, RunFailure, i32);

/// The plan (empty when a plugin plans from the MCP server's own description, once the session
/// is open, or from a document the service serves, once it is up), and whether that is so.
async fn planned(
    args: &RunArgs,
    settings: &config::Settings,
    loaded: &[super::plugins::Loaded],
) -> Result<(Arc<Plan>, bool), Failure> {
    let after_mcp = args.plan.is_none() && super::plugins::wants_mcp_server(loaded);
    let plan_later = after_mcp || (args.plan.is_none() && super::plugins::wants_service_documents(loaded));
    if after_mcp && settings.mcp.is_none() {
        let readers: Vec<&str> = loaded
            .iter()
            .filter(|l| super::plugins::wants_mcp_server(std::slice::from_ref(*l)))
            .map(|l| l.plugin.name())
            .collect();
        return Err(Failure::new(
            exit::USAGE,
            format!(
                "plugin {} plans from the MCP server's own tool list ({}), but the run has no MCP target: \
                 pass --mcp-url URL or --mcp-command COMMAND, or add [target.mcp] to the config",
                readers.join(", "),
                super::plugins::MCP_SERVER_DOCUMENT
            ),
        ));
    }
    let plan = Arc::new(match plan_later {
        true => Plan::default(),
        false => build_plan(loaded, &args.selection, args.plan.as_deref()).await?,
    });
    super::session::fits_targets(&plan, settings)?;
    Ok((plan, plan_later))
}

/// Where the run stands on the machine: its directory, the checkout's state before it (for
/// `clean-git`), the service's working directory.
struct Ground {
    run_dir: RunDir,
    git_before: Option<std::collections::BTreeSet<String>>,
    workspace: Option<Workspace>,
}

impl Ground {
    fn prepare(args: &RunArgs, settings: &config::Settings) -> Result<Ground, Failure> {
        let run_dir = RunDir::create(args.artifacts.as_deref(), settings.keep_runs)
            .map_err(|e| Failure::new(exit::USAGE, e))?;
        let git_before = match settings.clean_git {
            true => Some(
                crate::checks::git_status(&settings.base_dir).map_err(|e| Failure::new(exit::USAGE, e))?,
            ),
            false => None,
        };
        let workspace = match (&settings.base_url, &settings.target) {
            (None, Some(target)) => Some(
                Workspace::prepare(target, args.keep_workdir).map_err(|e| Failure::new(exit::TARGET, e))?,
            ),
            _ => None,
        };
        Ok(Ground { run_dir, git_before, workspace })
    }

    /// Remove the temporary workdir (the rest stays for the report).
    fn finish(mut self) -> Ground {
        if let Some(w) = self.workspace.take() {
            let temporary = w.is_temporary();
            drop(w);
            if temporary {
                tracing::info!("target: removed the temporary workdir");
            }
        }
        self
    }
}

/// The session raced against signals and the run's time limit: what it came to, and how the
/// run ended early if it did.
async fn race(
    session: &Session<'_>,
    redactor: Redactor,
    args: &RunArgs,
    signals: &mut Option<Signals>,
) -> (Result<(), super::session::StageError>, Option<EndedEarly>) {
    let timeout = async {
        match args.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        r = session.execute(redactor) => (r, None),
        code = next_signal(signals) => {
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
    }
}

/// Teardown, on every path: close the MCP session, stop the services in reverse order (a second
/// signal forces them), and leave nothing the run started behind.
async fn teardown(session: &Session<'_>, phase_ok: bool, args: &RunArgs, signals: &mut Option<Signals>) {
    let mcp = lock(&session.mcp).take();
    if let Some(m) = mcp {
        m.close().await;
    }
    let running = std::mem::take(&mut *lock(&session.services));
    for mut s in running.into_iter().rev() {
        if phase_ok && !args.plugins.quiet {
            let lines = s.last_lines(crate::service::SHOWN_LINES);
            tracing::info!(
                "last {} line(s) of the service's output:\n  | {}",
                lines.len(),
                lines.join("\n  | ")
            );
        }
        s.stop(async {
            next_signal(signals).await;
        })
        .await;
    }
    // Nothing the run started outlives it: daemons of the service or of a command included.
    crate::service::reap_descendants(Duration::from_secs(2)).await;
}

/// How the session ended, for the report.
struct Ending<'a> {
    phase: &'a Result<(), super::session::StageError>,
    early: Option<&'a EndedEarly>,
    started: Instant,
}

/// The report, from whatever finished, on every path: a stage that failed (the target, a
/// command, seeding) still leaves report.json and every report asked for, saying which; what
/// did not run says why; the post-run checks are added; everything is redacted once more.
fn assemble(
    args: &RunArgs,
    settings: &config::Settings,
    plan: &Plan,
    progress: &mut super::session::Progress,
    ground: &Ground,
    ending: &Ending<'_>,
    scrubber: &Redactor,
) -> RunReport<Spool> {
    let stage_failure = match ending.phase {
        Err(f) => Some(StageFailure { stage: f.stage.to_string(), message: f.failure.message.clone() }),
        Ok(()) => progress
            .seed_failure
            .as_ref()
            .map(|m| StageFailure { stage: "seeding".to_string(), message: m.clone() }),
    };
    let mut spool = std::mem::take(&mut progress.spool);
    spool.reserve(plan.scenarios.len());
    for i in spool.missing() {
        let (outcome, why) = not_run_because(stage_failure.as_ref(), ending.early);
        let mut result = crate::run::not_run(plan, i, outcome, why);
        let encoded = Encoded::new(&mut result, scrubber);
        spool.push(i, &result, encoded);
    }
    if let Some(before) = &ground.git_before {
        match crate::checks::git_changes(&settings.base_dir, before) {
            Ok(changed) if changed.is_empty() => {}
            Ok(changed) => {
                let mut result = crate::checks::clean_git_failure(&changed);
                let encoded = Encoded::new(&mut result, scrubber);
                spool.push(spool.len(), &result, encoded);
            }
            Err(e) => tracing::warn!("checks: clean-git could not be checked after the run: {e}"),
        }
    }
    spool.rescrub(scrubber);
    let shard = args.selection.shard.as_deref().and_then(|s| crate::plan::parse_shard(s).ok());
    let mut report = RunReport {
        schema_version: 2,
        smoke_version: env!("CARGO_PKG_VERSION").to_string(),
        base_url: crate::http::shown_url(&progress.base_url),
        mcp: progress.mcp.take(),
        plugins: plan.plugins.clone(),
        plan_digest: shard.is_some().then(|| plan.digest.clone()),
        shard: shard.map(|(i, n)| format!("{i}/{n}")),
        split: plan.split.clone(),
        shard_ids: plan.shard_ids.clone(),
        summary: spool.summary(),
        interrupted: ending.early.map(|(name, ..)| name.to_string()),
        duration_ms: ending.started.elapsed().as_millis() as u64,
        seeds: std::mem::take(&mut progress.seeds),
        scenarios: spool,
        stage_failure,
        triage: Vec::new(),
        not_tested: Vec::new(),
    };
    crate::run::scrub::report(&mut report, scrubber);
    report.triage = report::triage::triage(&report);
    if report.stage_failure.is_none() {
        // What a plugin or a tool said, redacted as every other text of the report is.
        report.not_tested = report::ledger::of_run(plan, &report.scenarios)
            .into_iter()
            .map(|mut e| {
                e.reason = scrubber.text(&e.reason);
                e
            })
            .collect();
    }
    report
}

/// Why a scenario that has no result did not run: a stage failed first, or the run ended early.
fn not_run_because(stage: Option<&StageFailure>, early: Option<&EndedEarly>) -> (Outcome, RunFailure) {
    match (stage, early) {
        (Some(stage), _) => {
            let (kind, what) = match stage.stage.as_str() {
                "seeding" => (FailureKind::SeedFailed, "seeding"),
                "mcp" => (FailureKind::McpInitialize, "opening the MCP session"),
                "target" => (FailureKind::TargetFailed, "starting the service"),
                other => (FailureKind::TargetFailed, other),
            };
            (Outcome::Skipped, RunFailure::new(kind, format!("skipped: {what} failed")))
        }
        (None, Some((_, outcome, why, _))) => (*outcome, why.clone()),
        (None, None) => (Outcome::Skipped, RunFailure::new(FailureKind::Internal, "not run")),
    }
}

/// The transcript, written once where asked and copied into the run directory (unless it is
/// that file).
fn write_transcript(
    path: &Path,
    transcript: &crate::run::transcript::Transcript,
    run_dir: &RunDir,
    scrubber: &Redactor,
) -> Result<(), Failure> {
    let copy = run_dir.file("transcript.jsonl");
    crate::files::write_atomically(path, |out| transcript.write(out, scrubber).map(drop))
        .and_then(|()| match crate::files::same_file(path, &copy) {
            true => Ok(()),
            false => crate::files::copy_atomically(path, &copy),
        })
        .map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("report: cannot write the transcript to {}: {e}", path.display()),
            )
        })
}

/// What the console says last, and the exit code: a stage's failure, seeding's, or the verdicts.
fn conclude(
    args: &RunArgs,
    report: RunReport<Spool>,
    phase: Result<(), super::session::StageError>,
    seed_failure: Option<String>,
    ended_early: Option<EndedEarly>,
    run_dir: &RunDir,
    scrubber: &Redactor,
) -> Result<i32, Failure> {
    if let Err(f) = phase {
        crate::warn_user!("artifacts: {}", run_dir.path.display());
        return Err(Failure::new(f.failure.code, scrubber.text(&f.failure.message)));
    }
    if let Some(message) = seed_failure {
        crate::say!("artifacts: {}", run_dir.path.display());
        return Err(Failure::new(exit::SEED, scrubber.text(&message)));
    }
    if !args.plugins.quiet {
        crate::say_raw!("{}", report::console::failures(&report));
        crate::say_raw!("{}", report::console::triage(&report.triage));
        crate::say_raw!("{}", report::console::escape(&report::ledger::summary(&report.not_tested)));
    }
    let missing = report::ledger::missing(&report.not_tested, &args.require);
    if !missing.is_empty() {
        crate::say_raw!("{}", report::console::escape(&required_text(&args.require, &missing)));
    }
    crate::say!("\nartifacts: {}", run_dir.path.display());
    let summary = report.summary;
    crate::say!("{}", summary.line());
    let required_missing = !missing.is_empty();
    // The results need not be taken apart a piece at a time: the process ends next.
    std::mem::forget(report);
    Ok(match ended_early {
        Some((.., code)) => code,
        None if summary.all_passed() && !required_missing => exit::PASSED,
        None => exit::FAILED,
    })
}

/// What `--require` found missing: per endpoint, the kinds it asked for and why each is missing.
fn required_text(
    required: &[crate::plan::model::ScenarioKind],
    missing: &[&crate::run::results::NotTested],
) -> String {
    let kinds: Vec<&str> = required.iter().map(|k| k.as_str()).collect();
    let mut out = format!(
        "\n--require {}: {} check(s) missing, so the run does not pass:\n",
        kinds.join(","),
        missing.len()
    );
    for e in missing {
        let line = format!("{} ({}): no {}: {}", e.endpoint, e.plugin, e.kind, e.reason);
        out.push_str(&format!("  {}\n", crate::text::escape_line(&line)));
    }
    out
}

/// The process's peak resident memory so far, in MiB (Linux: `VmHWM`).
pub(super) fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Write one report file whole or not at all (a new file renamed into place: a link there is
/// replaced, never followed), its folder made first, streamed by `write`.
pub(super) fn write_with(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> Result<(), Failure> {
    crate::files::write_atomically(path, write).map_err(|e| {
        Failure::new(
            exit::USAGE,
            format!("report: cannot write the {what} report to {}: {e}", path.display()),
        )
    })
}

/// Write the JSON report, as [`write_with`] writes.
pub(super) fn write_json(report: &RunReport<Spool>, path: &Path, pretty: bool) -> Result<(), Failure> {
    write_with(path, "JSON", |out| report::write_json(report, out, pretty))
}

/// The reports asked for, where asked, plus copies in the run directory (`report.json` always).
fn write_reports(args: &RunArgs, report: &RunReport<Spool>, run_dir: &RunDir) -> Result<(), Failure> {
    let write_json = |path: &Path, pretty: bool| write_json(report, path, pretty);
    // The run directory's copy is compact (it can be large); the one asked for is pretty.
    write_json(&run_dir.file("report.json"), false)?;
    if let Some(path) = &args.reports.report_json {
        write_json(path, true)?;
    }
    // Written once, in the run directory, and copied where asked: a big run's pages are big.
    let copy = |name: &str, path: &Path, what: &str| -> Result<(), Failure> {
        let from = run_dir.file(name);
        // Asked for the run directory's own file (`--artifacts DIR --report-html DIR/report.html`).
        if crate::files::same_file(&from, path) {
            return Ok(());
        }
        crate::files::copy_atomically(&from, path).map_err(|e| {
            Failure::new(
                exit::USAGE,
                format!("report: cannot write the {what} report to {}: {e}", path.display()),
            )
        })
    };
    if let Some(path) = &args.reports.report_html {
        write_with(&run_dir.file("report.html"), "HTML", |mut out| {
            report::html::write_html(report, &mut out)
        })?;
        copy("report.html", path, "HTML")?;
    }
    if let Some(path) = &args.reports.report_junit {
        write_with(&run_dir.file("report.xml"), "JUnit", |mut out| {
            report::junit::write_junit(report, &mut out)
        })?;
        copy("report.xml", path, "JUnit")?;
    }
    Ok(())
}
