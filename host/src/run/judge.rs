//! Judging by the plugin: hand an exchange to the plugin's `check` (on a blocking thread, within
//! its limits) and turn its verdict, or its failure, into the step's failures.

use super::Context;
use super::results::{Failure, FailureKind, VerdictRecord};
use super::template::Vars;
use crate::plan::model::{Pair, Step};
use crate::plugin::contract;

/// Ask the plugin's `check` for a verdict on an exchange: the failures it means, and the verdict
/// to record.
#[allow(clippy::too_many_arguments)]
pub(super) async fn judge_by_plugin(
    ctx: &Context,
    plugin: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    argument: &str,
    exchange: contract::Exchange,
    vars: &Vars,
) -> (Vec<Failure>, Option<VerdictRecord>) {
    match check(ctx, plugin, scenario_id, index, step, argument, exchange, vars).await {
        Ok(mut v) => {
            // What the plugin said, kept once at a bounded size (with room for the failure's words).
            v.reason = crate::http::clip_text(v.reason, crate::http::MAX_MESSAGE_BYTES / 2);
            let mut failures = Vec::new();
            if !v.pass {
                failures.push(Failure::new(
                    FailureKind::PluginVerdict,
                    format!("plugin {plugin} judged it a failure: {}", ctx.redactor.text(&v.reason)),
                ));
            }
            (failures, Some(VerdictRecord { pass: v.pass, reason: ctx.redactor.text(&v.reason) }))
        }
        Err(e) => (vec![e], None),
    }
}

#[allow(clippy::too_many_arguments)]
async fn check(
    ctx: &Context,
    plugin_name: &str,
    scenario_id: &str,
    index: usize,
    step: &Step,
    argument: &str,
    exchange: contract::Exchange,
    vars: &Vars,
) -> Result<contract::Verdict, Failure> {
    let Some(plugin) = ctx.plugins.get(plugin_name).cloned() else {
        return Err(Failure::new(
            FailureKind::PluginError,
            format!("the step asks plugin {plugin_name:?} to judge, but no such plugin is loaded"),
        ));
    };
    let argument = templated(ctx, scenario_id, argument, vars)?;
    let pair = |name: &str, value: &str| Pair { name: name.to_string(), value: value.to_string() };
    let input = contract::CheckInput {
        config: ctx.plugin_config.get(plugin_name).cloned().unwrap_or_default(),
        scenario_id: scenario_id.to_string(),
        step_name: step.display_name(),
        step_index: index as u32,
        argument,
        exchange,
        variables: vars.iter().map(|(k, v)| pair(k, &v.to_string())).collect(),
    };
    let recorded = ctx.record_checks.as_ref().map(|dir| (dir.clone(), input.clone()));
    let verdict = tokio::task::spawn_blocking(move || plugin.check(&input))
        .await
        .map_err(|e| {
            Failure::new(FailureKind::Internal, format!("plugin {plugin_name}: check did not complete: {e}"))
        })?
        .map_err(|e| {
            use crate::plugin::{CallFailure, PluginError};
            match &e {
                PluginError::Call {
                    failure: CallFailure::Timeout(_) | CallFailure::Memory { .. }, ..
                } => Failure::new(FailureKind::PluginLimit, e.to_string()),
                PluginError::Call { failure: CallFailure::Fault(_) | CallFailure::Trap(_), .. } => {
                    Failure::new(
                        FailureKind::PluginFault,
                        format!("{e} (a fault in the plugin's code, not in the service: fix the plugin)"),
                    )
                }
                _ => Failure::new(FailureKind::PluginError, e.to_string()),
            }
        })?;
    if let Some((dir, input)) = recorded {
        super::fixture::record(ctx, &dir, plugin_name, &input, &verdict);
    }
    Ok(verdict)
}

/// The check argument with its templates resolved as a body's are (`{{todo_id}}` becomes the
/// captured value, a string that is exactly one template keeps the value's JSON type), so
/// `check` sees what the step sent, not the placeholder.
fn templated(ctx: &Context, scenario_id: &str, argument: &str, vars: &Vars) -> Result<String, Failure> {
    use super::template::{TemplateError, has_templates, render_json};
    let Ok(value) = serde_json::from_str::<serde_json::Value>(argument) else {
        return Ok(argument.to_string());
    };
    if !has_templates(&value) {
        return Ok(argument.to_string());
    }
    render_json(&value, vars).map(|v| v.to_string()).map_err(|e| {
        let why = match &e {
            TemplateError::Undefined { name } => ctx.explain_undefined(name, scenario_id),
            _ => e.to_string(),
        };
        Failure::new(FailureKind::Template, format!("the check argument cannot be built: {why}"))
    })
}
