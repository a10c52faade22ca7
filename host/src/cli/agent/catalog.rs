//! What `smoke mcp-server` offers, as data: its tools (each with input and output schemas and
//! read-only / destructive annotations), its prompts and its fixed resources. Written as the JSON
//! MCP puts on the wire, so the listing is exactly what a client reads.

use serde_json::{Value, json};

/// The argument every tool takes to pick a config: a path inside the project.
fn config_argument() -> Value {
    json!({
        "type": "string",
        "description": "One of the configs the server was started with (--config), relative to the project; default: the first"
    })
}

fn filters() -> Value {
    json!({
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "maxItems": 32,
        "description": "Scenario selectors, as `smoke run --filter` takes them: an id glob (`ecommerce.checkout.*`), `tag:NAME`, `kind:KIND` or `endpoint:GLOB`; a scenario matching any is selected"
    })
}

/// A failure or a problem, as every tool reports one.
fn problem() -> Value {
    json!({
        "type": "object",
        "required": ["pointer", "message", "fix"],
        "properties": {
            "pointer": {"type": "string", "description": "RFC 6901 JSON pointer into what was validated"},
            "message": {"type": "string"},
            "fix": {"type": "string"}
        }
    })
}

/// The tools, in the order `tools/list` gives them.
pub(super) fn tools() -> Vec<Value> {
    vec![describe_target(), plan_tool(), validate_plan(), run(), explain_failure(), scaffold_plugin()]
}

fn describe_target() -> Value {
    json!({
        "name": "describe_target",
        "title": "Describe the target",
        "description": "What smoke knows of the configured target before anything is sent: its endpoints or tools, what the plugins plan for each, what is not tested and why, and the business rules its documents state in prose that no scenario covers yet (quoted, with their JSON pointer). Start here.",
        "inputSchema": {"type": "object", "additionalProperties": false, "properties": {"config": config_argument()}},
        "outputSchema": {
            "type": "object",
            "required": ["target", "endpoints", "not_tested", "coverage_gaps", "prose_rules"],
            "properties": {
                "target": {"type": "object"},
                "plugins": {"type": "array"},
                "endpoints": {"type": "array", "items": {"type": "object"}},
                "not_tested": {"type": "array", "items": {"type": "object"}},
                "coverage_gaps": {"type": "array", "items": {"type": "string"}},
                "prose_rules": {"type": "array", "items": {"type": "object"}},
                "overlay": {"type": ["string", "null"]}
            }
        },
        "annotations": {"title": "Describe the target", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    })
}

fn plan_tool() -> Value {
    json!({"name": "plan",
        "title": "The plugins' plan",
        "description": "The deterministic plan the plugins make for the configured target, as `smoke plan` prints it (with the project's scenario file added, when the config names one). Sends no scenario to the target (a plugin that plans from what the target serves, an OpenAPI document or an MCP tool list, reads that). The whole plan is also the resource smoke://plan/last.",
        "inputSchema": {"type": "object", "additionalProperties": false, "properties": {"config": config_argument(), "filter": filters()}},
        "outputSchema": {
            "type": "object",
            "required": ["seeds", "scenarios", "ids", "resource"],
            "properties": {
                "seeds": {"type": "integer"},
                "scenarios": {"type": "integer"},
                "ids": {"type": "array", "items": {"type": "string"}},
                "plan": {"type": ["object", "null"]},
                "resource": {"type": "string"}
            }
        },
        "annotations": {"title": "The plugins' plan", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    })
}

fn validate_plan() -> Value {
    json!({"name": "validate_plan",
        "title": "Validate a plan or scenarios",
        "description": "Check scenarios to add to the plugins' plan (`scenarios`, the form of a scenario file), a whole plan (`plan`), or such a file in the project (`file`; with none of the three, the config's own scenario file, [run] scenarios) against the plan schema, the target's endpoints and the coverage rules (a happy path expects 200, 201 or 204; a not-found expects 404; a validation error expects 400 or 422). Every error carries its JSON pointer and a fix. Sends no scenario to the target (a plugin that plans from what the target serves, an OpenAPI document or an MCP tool list, reads that).",
        "inputSchema": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "config": config_argument(),
                "scenarios": {"type": "array", "items": {"type": "object"}, "description": "Scenarios as in a plan (smoke://schemas/plan, $defs/scenario), to add to the plugins' plan"},
                "plan": {"type": "object", "description": "A whole plan, as `smoke plan` prints it"},
                "file": {"type": "string", "description": "A scenario file ({\"scenarios\": [...]}) or a plan file inside the project"}
            }
        },
        "outputSchema": {
            "type": "object",
            "required": ["valid", "errors", "warnings", "scenarios"],
            "properties": {
                "valid": {"type": "boolean"},
                "errors": {"type": "array", "items": problem()},
                "warnings": {"type": "array", "items": problem()},
                "scenarios": {"type": "integer"}
            }
        },
        "annotations": {"title": "Validate a plan or scenarios", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    })
}

fn run() -> Value {
    json!({"name": "run",
        "title": "Run the smoke tests",
        "description": "Run the plan (or a filter or shard of it, with the project's scenario file) against the configured target, within limits on the scenario count and the time. Returns the verdict, each failure with its step's detail, triage and the not-tested ledger; the full report stays on disk as the resource smoke://runs/N/report.json. Against a target that is not on this machine, a run whose scenarios write is refused unless the config allows it ([agents] allow-writes = true).",
        "inputSchema": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "config": config_argument(),
                "filter": filters(),
                "shard": {"type": "string", "pattern": "^[1-9][0-9]*/[1-9][0-9]*$", "description": "Run only this part of the plan, I/N"},
                "scenarios_file": {"type": "string", "description": "A scenario file inside the project to add to the plugins' plan (default: the config's [run] scenarios)"},
                "plan_file": {"type": "string", "description": "Run this plan file (inside the project) instead of the plugins' plan"},
                "max_scenarios": {"type": "integer", "minimum": 1, "description": "Refuse the run if more scenarios are selected (at most the server's --max-scenarios)"},
                "timeout_seconds": {"type": "integer", "minimum": 1, "description": "Stop the run after this long (at most the server's --max-run-time)"}
            }
        },
        "outputSchema": {
            "type": "object",
            "required": ["verdict", "exit_code", "summary", "failures", "not_tested", "triage", "report"],
            "properties": {
                "verdict": {"enum": ["PASS", "FAIL", "ERROR"]},
                "exit_code": {"type": "integer"},
                "summary": {"type": "object"},
                "failures": {"type": "array", "items": {"type": "object"}},
                "triage": {"type": "array"},
                "not_tested": {"type": "array"},
                "report": {"type": ["string", "null"]},
                "run": {"type": "string"},
                "message": {"type": "string"}
            }
        },
        "annotations": {"title": "Run the smoke tests", "readOnlyHint": false, "destructiveHint": true, "idempotentHint": false, "openWorldHint": true}
    })
}

fn explain_failure() -> Value {
    json!({"name": "explain_failure",
        "title": "Explain a failed scenario",
        "description": "One scenario of a run (the last, unless `run` names another): its request, response and expectation at the failing step, the failure's kind, the triage that names it, the scenarios skipped because of it, and a minimal reproduction with secrets redacted (a bash script of curl commands for HTTP, the JSON-RPC request for a tool call).",
        "inputSchema": {
            "type": "object",
            "additionalProperties": false,
            "required": ["scenario"],
            "properties": {
                "scenario": {"type": "string", "minLength": 1, "description": "The scenario's id"},
                "run": {"type": "string", "pattern": "^[0-9]+$", "description": "The run's number (the N of smoke://runs/N/report.json); default: the last"}
            }
        },
        "outputSchema": {
            "type": "object",
            "required": ["scenario", "outcome", "failures", "skipped", "reproduction"],
            "properties": {
                "scenario": {"type": "string"},
                "outcome": {"type": "string"},
                "failed_step": {"type": ["integer", "null"]},
                "step": {"type": ["object", "null"]},
                "failures": {"type": "array"},
                "triage": {"type": "array"},
                "skipped": {"type": "array", "items": {"type": "string"}},
                "reproduction": {"type": ["object", "null"]}
            }
        },
        "annotations": {"title": "Explain a failed scenario", "readOnlyHint": true, "destructiveHint": false, "idempotentHint": true, "openWorldHint": false}
    })
}

fn scaffold_plugin() -> Value {
    json!({"name": "scaffold_plugin",
        "title": "Create a plugin project",
        "description": "What `smoke plugin new` does: a plugin project in Rust, Python or TypeScript under the project directory (plugins/NAME unless `dir` says where), to move repeated scenarios into a plugin. Then `smoke dev plugins/NAME --config smoke.toml` is the loop.",
        "inputSchema": {
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "lang"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,63}$", "description": "The plugin's name: lowercase letters, digits and '-'"},
                "lang": {"enum": ["rust", "python", "typescript"]},
                "dir": {"type": "string", "description": "Where to create it, inside the project; must not exist yet"}
            }
        },
        "outputSchema": {
            "type": "object",
            "required": ["dir", "files", "next"],
            "properties": {
                "dir": {"type": "string"},
                "files": {"type": "array", "items": {"type": "string"}},
                "next": {"type": "string"}
            }
        },
        "annotations": {"title": "Create a plugin project", "readOnlyHint": false, "destructiveHint": false, "idempotentHint": false, "openWorldHint": false}
    })
}

/// The prompts, in the order `prompts/list` gives them.
pub(super) fn prompts() -> Vec<Value> {
    vec![
        json!({
            "name": "write-business-rules",
            "title": "Write business-rule scenarios for this API",
            "description": "Turn the rules the API's documents state in prose into scenarios in the project's scenario file, validated and run",
            "arguments": [
                {"name": "focus", "description": "An endpoint, tag or rule to start from (optional)", "required": false}
            ]
        }),
        json!({
            "name": "triage-run",
            "title": "Triage this failed run",
            "description": "Explain each failure of a run, decide whether the service or the test is wrong, and reproduce it",
            "arguments": [
                {"name": "run", "description": "The run's number (default: the last)", "required": false}
            ]
        }),
    ]
}

/// The text of a prompt, given its arguments; `None` for a prompt this server does not have.
pub(super) fn prompt_text(name: &str, argument: impl Fn(&str) -> Option<String>) -> Option<String> {
    match name {
        "write-business-rules" => {
            let focus = argument("focus").map(|f| format!(" Start from: {f}.")).unwrap_or_default();
            Some(format!(
                "You are writing smoke tests for the API that smoke's config in this project describes.{focus}\n\
                 1. Call describe_target. Read `prose_rules`: each quotes a rule the API's document states in words \
                 (\"must\", \"unique\", \"at least\", ...) with its JSON pointer, and says whether a scenario covers it.\n\
                 2. For each uncovered rule, write one scenario that would fail if the service broke the rule: the \
                 requests that set it up, then the request that tests it, with the status and body it must answer \
                 (`expect.status`, `expect.body` assertions; capture ids with `captures`). Tag it \
                 `covers:POINTER` with the rule's pointer, give it an id starting with `rules.`, and kind \
                 `business-rule`. The format is smoke://schemas/plan ($defs/scenario).\n\
                 3. Call validate_plan with the scenarios. Fix every error at its pointer until it says valid.\n\
                 4. Add them to the project's scenario file (the config's [run] scenarios; smoke.scenarios.json by \
                 convention), {{\"scenarios\": [...]}}, so that every later `smoke run` runs them with no model involved.\n\
                 5. Call run with filter [\"tag:overlay\"]. A failure is either the service breaking the rule or the \
                 scenario being wrong: call explain_failure and read the response before deciding which.\n\
                 Never invent a rule the documents do not state; say which rules you could not express."
            ))
        }
        "triage-run" => {
            let run = argument("run").map(|r| format!("run {r}")).unwrap_or_else(|| "the last run".into());
            Some(format!(
                "Triage {run} of smoke in this project.\n\
                 1. Read its report (smoke://runs/last/report.json, or smoke://runs/N/report.json): the verdict, \
                 `triage` (what the failures have in common) and `not_tested`.\n\
                 2. For each failed scenario, call explain_failure: read the request, the response and what was \
                 expected at the failing step, and the scenarios skipped because of it.\n\
                 3. Decide for each whether the service is wrong (a bug to report, with the reproduction) or the \
                 scenario is (fix it in the scenario file, then validate_plan and run again).\n\
                 4. Run the reproduction against the service to confirm it before reporting. Secrets in it are \
                 redacted: put them back from your own environment, never from the report.\n\
                 Report failures that are plugin faults (kind plugin-fault) to the plugin's author, not the service's."
            ))
        }
        _ => None,
    }
}

/// The fixed resources: schemas and docs compiled into this smoke.
pub(super) const DOCS: &[(&str, &str, &str, &str)] = &[
    (
        "smoke://schemas/plan",
        "plan-schema.json",
        "application/schema+json",
        include_str!("../../../../docs/plan-schema.json"),
    ),
    (
        "smoke://schemas/report",
        "report-schema.json",
        "application/schema+json",
        include_str!("../../../../docs/report-schema.json"),
    ),
    ("smoke://docs/agents", "agents.md", "text/markdown", include_str!("../../../../docs/agents.md")),
    ("smoke://docs/runbook", "runbook.md", "text/markdown", include_str!("../../../../docs/runbook.md")),
];
