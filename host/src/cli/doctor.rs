//! `smoke doctor`: check that a run could start (config, plugins, plan, commands, port) without
//! running a scenario.

use super::options::{DoctorArgs, Selection, overrides};
use super::plan_cmd::build_plan;
use super::plugins::load_plugins;
use super::{Failure, exit};
use crate::config::{self, Overrides};
use std::time::Duration;

/// Each check of `smoke doctor`, printed as it completes; the first failure decides the code.
pub(super) async fn doctor(args: DoctorArgs, matches: &clap::ArgMatches) -> Result<i32, Failure> {
    let mut code = exit::PASSED;
    // What a plugin or a service said is one line here, whatever it holds.
    let mut report = |ok: Result<String, (i32, String)>| match ok {
        Ok(what) => crate::say!("ok    {}", crate::http::escape_line(&what)),
        Err((c, what)) => {
            crate::say!("FAIL  {}", crate::http::escape_line(&what));
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
    report(Ok(format!("smoke {}", super::supported())));
    report(Ok(format!("config: {source}")));
    // The environment's values in the config are secrets here too: nothing printed holds them.
    let mut redactor = super::secrets(&settings);
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
            report(plan_check(&loaded).await);
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
                Ok(status) => {
                    Ok(format!("service: {} answers (status {status})", crate::http::shown_url(url)))
                }
                Err(e) => Err((
                    exit::TARGET,
                    format!(
                        "service: {} does not answer: {}",
                        crate::http::shown_url(url),
                        crate::http::shown_url(&e)
                    ),
                )),
            });
        }
        (None, Some(target)) => {
            if let Some(command) = &target.command {
                report(
                    crate::service::locate(command, &target.dir)
                        .map(|p| format!("target: start command {}", p.display()))
                        .map_err(|e| (exit::TARGET, format!("target: start command: {e}"))),
                );
            }
            if let Some(crate::config::Mcp {
                transport: crate::config::McpTransport::Stdio { command, dir, .. },
                ..
            }) = &settings.mcp
            {
                report(
                    crate::service::locate(command, dir)
                        .map(|p| format!("target: MCP server command {}", p.display()))
                        .map_err(|e| (exit::TARGET, format!("target: MCP server command: {e}"))),
                );
            }
            for hook in &target.hooks {
                let when = if hook.before_start { "before start" } else { "after healthy" };
                report(
                    crate::service::locate(&hook.command, &target.dir)
                        .map(|p| format!("{}: {} ({when})", hook.name, p.display()))
                        .map_err(|e| (exit::SEED, format!("{}: {e}", hook.name))),
                );
            }
            report(
                crate::service::choose_port(target)
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

/// Whether the plugins plan a valid plan, or when they will: once the service serves its
/// document, once the MCP server lists its tools.
async fn plan_check(loaded: &[super::plugins::Loaded]) -> Result<String, (i32, String)> {
    if super::plugins::wants_service_documents(loaded) {
        return Ok(
            "plan: made from the document the service serves once `smoke run` has started it".to_string()
        );
    }
    if super::plugins::wants_mcp_server(loaded) {
        return Ok("plan: made from the MCP server's tool list once `smoke run` connects".to_string());
    }
    match build_plan(loaded, &Selection::default(), None).await {
        Ok(plan) => {
            Ok(format!("plan: {} seed(s), {} scenario(s), valid", plan.seeds.len(), plan.scenarios.len()))
        }
        Err(f) => Err((f.code, f.message)),
    }
}
