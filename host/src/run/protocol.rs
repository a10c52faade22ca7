//! A protocol-check step (`mcp_check`): one of the host's checks of the MCP protocol, run on the
//! run's session and recorded as a tool call is (what was sent, what came back), its failure
//! naming what the specification requires and where.

use super::Context;
use super::results::{Failure, FailureKind, StepResult, ToolCallRecord};
use crate::mcp::conformance::{self, Outcome};
use crate::plan::model::{McpCheck, Step};
use std::time::{Duration, Instant};

/// Run protocol check `check` into `result`.
pub(super) async fn run(ctx: &Context, step: &Step, check: &McpCheck, result: &mut StepResult) {
    result.attempts = 1;
    let Some(session) = ctx.mcp.as_deref() else {
        return result.fail(Failure::new(
            FailureKind::McpProtocol,
            "a protocol check needs an MCP target: set [target.mcp] in smoke.toml, or pass --mcp-url or --mcp-command",
        ));
    };
    let Some(about) = conformance::check(&check.check) else {
        return result.fail(Failure::new(
            FailureKind::Internal,
            format!("smoke has no protocol check {:?}", check.check),
        ));
    };
    // Whatever closed the session is this check's finding; any other check has nothing to send.
    if check.check != "stdout"
        && let Some(problem) = session.stdout_problem()
    {
        return result.fail(Failure::new(FailureKind::McpProtocol, format!("nothing was sent: {problem}")));
    }
    if let Some(status) = ctx.mcp_exited() {
        return result.fail(Failure::new(
            FailureKind::ServiceExited,
            format!("the MCP server exited ({status}); nothing was sent"),
        ));
    }
    let timeout =
        step.timeout_ms.map(|ms| Duration::from_millis(u64::from(ms))).unwrap_or(ctx.request_timeout);
    let started = Instant::now();
    let verdict = conformance::run(session, &check.check, check.file.as_deref(), timeout).await;
    result.tool_call = Some(ToolCallRecord {
        tool: check.check.clone(),
        request: ctx.redactor.text(&verdict.sent),
        result: verdict.answer.map(|a| ctx.redactor.text(&crate::mcp::lint::redact_secrets(&a))),
        error: None,
        latency_ms: started.elapsed().as_millis() as u64,
    });
    let rule = format!("{} ({})", about.requires, about.section);
    let failure = match verdict.outcome {
        Outcome::Holds => return,
        Outcome::Broken(how) if check.check == "baseline" => {
            Failure::new(FailureKind::SurfaceChange, format!("{how}; the baseline requires that {rule}"))
        }
        Outcome::Broken(how) if check.check == "lint" => {
            Failure::new(FailureKind::Lint, format!("{how}; the lint requires that {rule}"))
        }
        Outcome::Broken(how) => {
            Failure::new(FailureKind::McpProtocol, format!("{how}; MCP requires that {rule}"))
        }
        Outcome::NotApplicable(why) => {
            Failure::new(FailureKind::PlannedSkip, format!("does not apply: {why}; the check is that {rule}"))
        }
        Outcome::NoAnswer(crate::mcp::CallError::Timeout(limit)) => Failure::new(
            FailureKind::Timeout,
            format!("no answer within {} ms; the check is that {rule}", limit.as_millis()),
        ),
        Outcome::NoAnswer(e) => {
            Failure::new(FailureKind::McpProtocol, format!("{e}; the check is that {rule}"))
        }
    };
    let message = crate::mcp::lint::redact_secrets(&failure.message);
    result.fail(Failure::new(failure.kind, ctx.redactor.text(&message)));
}
