//! The tools' work: each takes its arguments (already checked against its input schema) and gives
//! its structured result, or says why it could not. Plans and runs are `smoke plan` and `smoke
//! run` children; every result passes the config's redactor.

use super::child::{self, Project, ToolError, fail, plan_text, settings};
use super::{catalog, check, explain, guard, prose};
use serde_json::{Value, json};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most scenario ids a `plan` result lists, and failures a `run` result details.
const MAX_IDS: usize = 500;
const MAX_FAILURES: usize = 50;
/// A plan up to this size is returned inline; a bigger one only as the resource.
const MAX_INLINE_PLAN: usize = 512 << 10;
/// The most of a report read back.
const MAX_REPORT: u64 = 256 << 20;

/// Why `arguments` do not fit the tool's input schema, if they do not.
pub(super) fn refused_arguments(schema: &Value, arguments: &Value) -> Option<String> {
    let validator = jsonschema::validator_for(schema).ok()?;
    let problems: Vec<String> = validator
        .iter_errors(arguments)
        .take(10)
        .map(|e| {
            let at = e.instance_path().to_string();
            if at.is_empty() { e.to_string() } else { format!("{at}: {e}") }
        })
        .collect();
    (!problems.is_empty()).then(|| format!("invalid arguments: {}", problems.join("; ")))
}

fn text<'a>(args: &'a Value, key: &str) -> Option<&'a str> {
    args.get(key).and_then(Value::as_str)
}

fn strings(args: &Value, key: &str) -> Vec<String> {
    args[key].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_string)).collect()
}

pub(super) async fn call(p: &Project, name: &str, args: &Value) -> Result<Value, ToolError> {
    match name {
        "describe_target" => describe(p, text(args, "config")).await,
        "plan" => plan(p, text(args, "config"), &strings(args, "filter")).await,
        "validate_plan" => check::validate(p, args).await,
        "run" => run(p, args).await,
        "explain_failure" => {
            explain::explain(p, text(args, "scenario").unwrap_or_default(), text(args, "run"))
        }
        "scaffold_plugin" => scaffold(p, args).await,
        _ => fail(format!("smoke has no tool {name:?}")),
    }
}

/// The redactor of a tool's results: the secrets of the config it names (or the default one),
/// and every value the environment gives any of the server's configs.
pub(super) fn redactor(p: &Project, config: Option<&str>) -> crate::http::Redactor {
    let settings = p.config(config).ok().and_then(|c| settings(&c).ok());
    let mut redactor = match &settings {
        Some(s) => super::super::secrets(s),
        None => crate::http::Redactor::new(),
    };
    for secret in p.environment_secrets() {
        redactor.secret(&secret);
    }
    redactor
}

pub(super) fn redacted(redactor: &crate::http::Redactor, value: Value) -> Value {
    let text = value.to_string();
    let clean = redactor.text(&text);
    if clean == text {
        return value;
    }
    serde_json::from_str(&clean).unwrap_or(Value::String(clean))
}

fn parse(text: &str, what: &str) -> Result<Value, ToolError> {
    serde_json::from_str(text).map_err(|e| ToolError(format!("{what} is not JSON: {e}")))
}

async fn describe(p: &Project, config: Option<&str>) -> Result<Value, ToolError> {
    let config = p.config(config)?;
    let settings = settings(&config)?;
    let text = plan_text(p, &config, &[], &[]).await?;
    let plan = parse(&text, "the plan")?;
    let typed: crate::plan::Plan =
        serde_json::from_str(&text).map_err(|e| ToolError(format!("the plan cannot be read back: {e}")))?;
    let gaps = crate::plan::coverage::coverage(&typed).gaps;
    let rules = prose::rules(&p.dir, &settings, &plan);
    let target = guard::target(&settings);
    let value = json!({
        "config": p.shown(&config),
        "target": target.describe(&settings),
        "plugins": plan["plugins"],
        "endpoints": endpoints(&plan),
        "not_tested": not_tested(&plan),
        "coverage_gaps": gaps,
        "prose_rules": rules,
        "overlay": settings.scenarios.as_deref().map(|s| p.shown(s)),
    });
    Ok(value)
}

/// Per endpoint (the declared surface, then any other a scenario names): the scenarios planned.
fn endpoints(plan: &Value) -> Vec<Value> {
    let mut order: Vec<(String, String)> = Vec::new();
    let mut planned: std::collections::BTreeMap<(String, String), Vec<Value>> = Default::default();
    for e in plan["surface"].as_array().into_iter().flatten() {
        let key = (
            e["plugin"].as_str().unwrap_or_default().to_string(),
            e["id"].as_str().unwrap_or_default().to_string(),
        );
        if let std::collections::btree_map::Entry::Vacant(e) = planned.entry(key.clone()) {
            order.push(key);
            e.insert(Vec::new());
        }
    }
    for s in plan["scenarios"].as_array().into_iter().flatten() {
        let key = (
            s["plugin"].as_str().unwrap_or_default().to_string(),
            s["endpoint"].as_str().unwrap_or_default().to_string(),
        );
        let entry = planned.entry(key.clone()).or_insert_with(|| {
            order.push(key.clone());
            Vec::new()
        });
        entry.push(json!({"id": s["id"], "kind": s["kind"]}));
    }
    order
        .into_iter()
        .map(|key| {
            let scenarios = planned.remove(&key).unwrap_or_default();
            json!({"endpoint": key.1, "plugin": key.0, "scenarios": scenarios})
        })
        .collect()
}

/// What the plan says it leaves untested: `not-planned:KIND:REASON` and `skip:REASON` tags.
fn not_tested(plan: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for s in plan["scenarios"].as_array().into_iter().flatten() {
        for tag in s["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            let (kind, reason) = if let Some(rest) = tag.strip_prefix(crate::report::ledger::TAG) {
                match rest.split_once(':') {
                    Some((kind, reason)) => (kind.to_string(), reason.to_string()),
                    None => continue,
                }
            } else if let Some(reason) = tag.strip_prefix("skip:") {
                (s["kind"].as_str().unwrap_or_default().to_string(), format!("planned as skipped: {reason}"))
            } else {
                continue;
            };
            out.push(
                json!({"plugin": s["plugin"], "endpoint": s["endpoint"], "kind": kind, "reason": reason}),
            );
        }
    }
    out
}

async fn plan(p: &Project, config: Option<&str>, filters: &[String]) -> Result<Value, ToolError> {
    let config = p.config(config)?;
    let text = plan_text(p, &config, filters, &[]).await?;
    let plan = parse(&text, "the plan")?;
    let state = p.state_dir("")?;
    child::keep(&state.join("plan.json"), text.as_bytes())?;
    let ids: Vec<&Value> =
        plan["scenarios"].as_array().into_iter().flatten().map(|s| &s["id"]).take(MAX_IDS).collect();
    let value = json!({
        "seeds": plan["seeds"].as_array().map_or(0, Vec::len),
        "scenarios": plan["scenarios"].as_array().map_or(0, Vec::len),
        "ids": ids,
        "plan": if text.len() <= MAX_INLINE_PLAN { plan.clone() } else { Value::Null },
        "resource": "smoke://plan/last",
    });
    Ok(value)
}

/// The arguments `run` passes on to `smoke plan` and `smoke run` alike.
fn selection(p: &Project, args: &Value) -> Result<(Vec<String>, Vec<OsString>), ToolError> {
    let mut extra: Vec<OsString> = Vec::new();
    if let Some(f) = text(args, "scenarios_file") {
        extra.extend(["--scenarios".into(), child::inside(&p.dir, f, true)?.into()]);
    }
    if let Some(f) = text(args, "plan_file") {
        extra.extend(["--plan".into(), child::inside(&p.dir, f, true)?.into()]);
    }
    if let Some(s) = text(args, "shard") {
        extra.push(format!("--shard={s}").into());
    }
    Ok((strings(args, "filter"), extra))
}

/// A whole number argument, written as `5` or `5.0`.
fn number(args: &Value, key: &str) -> Option<u64> {
    let v = &args[key];
    v.as_u64().or_else(|| {
        v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f.min(u64::MAX as f64) as u64)
    })
}

async fn run(p: &Project, args: &Value) -> Result<Value, ToolError> {
    let config = p.config(text(args, "config"))?;
    let settings = settings(&config)?;
    let (filters, extra) = selection(p, args)?;
    let max = number(args, "max_scenarios").map_or(p.max_scenarios, |n| n as usize).min(p.max_scenarios);
    let time =
        number(args, "timeout_seconds").map_or(p.max_run_time, Duration::from_secs).min(p.max_run_time);
    let _one = p.running.lock().await;
    let target = guard::target(&settings);
    // The plan the run will run: counted, and read for writes when the target is not here.
    let planned = match plan_text(p, &config, &filters, &extra).await {
        Ok(text) => Some(text),
        Err(e) if target.local => {
            tracing::warn!("mcp-server: run: planning beforehand failed ({e}); the run says why");
            // Unplanned, the scenario files are read as text for what `admit` refuses.
            let files = extra.iter().skip_while(|a| *a != "--scenarios").nth(1).map(PathBuf::from);
            for file in files.into_iter().chain(settings.scenarios.clone()) {
                let text = crate::files::read_text(&file, 64 << 20, "a scenario file").unwrap_or_default();
                if guard::reads_config(&text) {
                    return fail(format!(
                        "not run: {} uses a plugin's config values ({{{{config.*}}}}), which smoke mcp-server does \
                         not let scenario files read",
                        p.shown(&file)
                    ));
                }
            }
            None
        }
        Err(e) => {
            return fail(format!(
                "not run: what the run would send to {} (not on this machine) cannot be known: {e}",
                target.at
            ));
        }
    };
    if let Some(text) = &planned {
        admit(p, &settings, &config, &target, &parse(text, "the plan")?, max)?;
    }
    let last = p.runs().last().copied().unwrap_or(0);
    let n =
        last.checked_add(1).ok_or_else(|| ToolError(format!("run {last} is the last a number can name")))?;
    let dir = p.state_dir(&format!("runs/{n}"))?;
    let report = dir.join("report.json");
    let mut a: Vec<OsString> =
        vec!["run".into(), "--config".into(), config.clone().into(), "--no-progress".into()];
    a.extend([
        "--report-json".into(),
        report.clone().into(),
        "--artifacts".into(),
        dir.join("artifacts").into(),
    ]);
    a.extend(["--exchanges".into(), "all".into(), "--timeout".into(), format!("{}s", time.as_secs()).into()]);
    match &planned {
        // The run runs exactly the plan that was checked, kept beside its report: an edit to the
        // scenario file meanwhile changes nothing.
        Some(text) => {
            child::keep(&dir.join("plan.json"), text.as_bytes())?;
            a.extend(["--plan".into(), dir.join("plan.json").into()]);
        }
        None => {
            for f in &filters {
                a.push(format!("--filter={f}").into());
            }
            a.extend(extra);
        }
    }
    let out = child::smoke(&a, &p.dir, time + Duration::from_secs(60)).await?;
    let console = format!("{}\n{}", out.stdout, out.stderr);
    let _ = child::keep(&dir.join("console.txt"), console.as_bytes());
    verdict(n, &report, &out)
}

/// Whether the plan a run would run may run: within the scenario limit; no step that writes to a
/// target off this machine unless the config allows it; no scenario of the scenario file reading
/// a plugin's config (a secret, in a form no redactor would know, could reach the results).
fn admit(
    p: &Project,
    settings: &crate::config::Settings,
    config: &Path,
    target: &guard::Target,
    plan: &Value,
    max: usize,
) -> Result<(), ToolError> {
    let count = plan["scenarios"].as_array().map_or(0, Vec::len);
    if count > max {
        return fail(format!(
            "not run: {count} scenarios are selected, over the limit of {max}; narrow the run with `filter` or \
             `shard`, or start the server with a higher --max-scenarios"
        ));
    }
    let reading = guard::reading_config(plan);
    if !reading.is_empty() {
        return fail(format!(
            "not run: scenario(s) of the scenario file use a plugin's config values ({{{{config.*}}}}): {}. Through \
             smoke mcp-server they could carry a secret into the results in a form no redactor knows; `smoke run` \
             runs them, or move them into a plugin.",
            reading.join(", ")
        ));
    }
    let writes = guard::writes(plan);
    if !target.local && !settings.allow_writes && !writes.is_empty() {
        let shown: Vec<&str> = writes.iter().take(5).map(String::as_str).collect();
        return fail(format!(
            "refused: the target {} is not on this machine, and {} step(s) of the selected scenarios may write \
             to it ({}{}). Runs from an agent only read a remote target unless its config allows writes: set \
             `{}` in {}, or select read-only scenarios with `filter`.",
            target.at,
            writes.len(),
            shown.join("; "),
            if writes.len() > shown.len() { "; ..." } else { "" },
            guard::ALLOW_WRITES,
            p.shown(config)
        ));
    }
    Ok(())
}

/// A run's result, from its report (or, when it stopped before writing one, from what it said).
fn verdict(n: u64, report: &Path, out: &child::Output) -> Result<Value, ToolError> {
    let code = out.code.unwrap_or(-1);
    let verdict = match code {
        0 => "PASS",
        1 => "FAIL",
        _ => "ERROR",
    };
    let uri = format!("smoke://runs/{n}/report.json");
    if !report.is_file() {
        let why = if out.timed_out {
            "the run was stopped at its time limit".to_string()
        } else {
            child::said(&out.stderr, 40)
        };
        return Ok(json!({
            "verdict": "ERROR", "exit_code": code, "summary": {}, "failures": [], "triage": [], "not_tested": [],
            "report": null, "run": n.to_string(), "message": why,
        }));
    }
    let text =
        crate::files::read_text(report, MAX_REPORT, "a report").map_err(|e| ToolError(e.to_string()))?;
    let report = parse(&text, "the report")?;
    let failures: Vec<Value> = report["scenarios"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["outcome"] == "failed")
        .take(MAX_FAILURES)
        .map(|s| {
            let step = s["failed_step"].as_u64().and_then(|i| s["steps"].get(i as usize)).cloned().unwrap_or(Value::Null);
            json!({
                "id": s["id"], "endpoint": s["endpoint"], "kind": s["kind"], "reason": s["reason"],
                "failure": s["failure"], "failed_step": s["failed_step"],
                "step": {
                    "name": step["name"], "expected": step["expected"],
                    "request": step["request"].get("method").map(|_| json!({"method": step["request"]["method"], "url": step["request"]["url"]})),
                    "status": step["response"]["status"],
                },
            })
        })
        .collect();
    let mut value = json!({
        "verdict": verdict,
        "exit_code": code,
        "summary": report["summary"],
        "failures": failures,
        "triage": report["triage"],
        "not_tested": report["not_tested"],
        "report": uri,
        "run": n.to_string(),
    });
    if code > 1 {
        value["message"] = Value::String(child::said(&out.stderr, 40));
    }
    Ok(value)
}

async fn scaffold(p: &Project, args: &Value) -> Result<Value, ToolError> {
    let name = text(args, "name").unwrap_or_default();
    let lang = match text(args, "lang") {
        Some("typescript") => "js",
        Some(other) => other,
        None => return fail("`lang` is required"),
    };
    let default = format!("plugins/{name}");
    let dir = child::inside(&p.dir, text(args, "dir").unwrap_or(&default), false);
    // plugins/ may not exist yet: make it, inside the project, for the default place.
    let dir = match dir {
        Ok(dir) => dir,
        Err(_) if text(args, "dir").is_none() => {
            std::fs::create_dir_all(p.dir.join("plugins"))
                .map_err(|e| ToolError(format!("cannot make plugins/: {e}")))?;
            child::inside(&p.dir, &default, false)?
        }
        Err(e) => return Err(e),
    };
    if dir.exists() {
        return fail(format!("{} exists already; name another `dir`", p.shown(&dir)));
    }
    let a: Vec<OsString> = vec![
        "plugin".into(),
        "new".into(),
        name.into(),
        "--lang".into(),
        lang.into(),
        "--dir".into(),
        dir.clone().into(),
    ];
    let out = child::smoke(&a, &p.dir, Duration::from_secs(120)).await?;
    if out.code != Some(0) {
        return fail(format!("smoke plugin new failed:\n{}", child::said(&out.stderr, 40)));
    }
    let mut files = Vec::new();
    list(&dir, &mut files, 200);
    files.sort();
    let shown = p.shown(&dir);
    Ok(json!({
        "dir": shown,
        "files": files.iter().map(|f| p.shown(f)).collect::<Vec<_>>(),
        "next": format!("edit the plugin, then `smoke dev {shown} --config smoke.toml` rebuilds and reruns it at every save"),
    }))
}

/// The files under `dir` (not following links), at most `max`.
fn list(dir: &Path, out: &mut Vec<PathBuf>, max: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        if out.len() >= max {
            return;
        }
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            list(&e.path(), out, max);
        } else if kind.is_file() {
            out.push(e.path());
        }
    }
}

/// The resources listed: schemas and docs, the last plan, and each run's report.
pub(super) fn resources(p: &Project) -> Vec<Value> {
    let mut out: Vec<Value> = catalog::DOCS
        .iter()
        .map(|(uri, name, mime, _)| json!({"uri": uri, "name": name, "mimeType": mime}))
        .collect();
    if p.state("plan.json").is_ok_and(|f| std::fs::symlink_metadata(f).is_ok_and(|m| m.is_file())) {
        out.push(
            json!({"uri": "smoke://plan/last", "name": "the last plan", "mimeType": "application/json"}),
        );
    }
    let reported: Vec<u64> = p.runs().into_iter().filter(|n| p.report(*n).is_some()).collect();
    if let Some(last) = reported.last() {
        out.push(json!({
            "uri": "smoke://runs/last/report.json",
            "name": format!("the last run's report (run {last})"),
            "mimeType": "application/json"
        }));
    }
    for n in reported.iter().rev().take(50) {
        out.push(json!({
            "uri": format!("smoke://runs/{n}/report.json"),
            "name": format!("run {n}'s report"),
            "mimeType": "application/json"
        }));
    }
    out
}

/// A resource's type and text, `None` when there is no such resource. The state folder's files
/// are read only when neither they nor a folder on the way is a link.
pub(super) fn read_resource(p: &Project, uri: &str) -> Option<(&'static str, String)> {
    if let Some((_, _, mime, text)) = catalog::DOCS.iter().find(|d| d.0 == uri) {
        return Some((mime, text.to_string()));
    }
    let relative = if uri == "smoke://plan/last" {
        "plan.json".to_string()
    } else {
        let run = uri.strip_prefix("smoke://runs/")?.strip_suffix("/report.json")?;
        let n = match run {
            "last" => *p.runs().iter().rev().find(|n| p.report(**n).is_some())?,
            n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => n.parse().ok()?,
            _ => return None,
        };
        format!("runs/{n}/report.json")
    };
    let text = p.read_state(&relative, MAX_REPORT).ok()?;
    Some(("application/json", text))
}
