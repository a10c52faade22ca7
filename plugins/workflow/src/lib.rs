//! The workflow plugin: smoke scenarios for agent-orchestration APIs (`examples/workflow-api` is
//! the reference service).
//!
//! What it knows: a sequential workflow passes one step's output into the next through
//! templates; an approval step pauses a run until a decision, and the decision resumes (or ends)
//! it; a diamond's steps complete in topological order; a client is rate limited.
//!
//! Every request names its client (`X-Client-Id`, one per scenario), so the rate limit of one
//! scenario never disturbs another. Scenarios meant to catch a class of bug carry `fault:<name>`.

use serde_json::{Value, json};
use smoke_plugin::{
    CheckInput, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Seed, Status, Step, Verdict, ids, literal,
};

struct Workflow;

const POLL_MS: u32 = 50;
const WAIT_MS: u32 = 3_000;

/// A step from `client`, which the service rate-limits on its own.
fn from(client: &str, step: Step) -> Step {
    step.header("x-client-id", client)
}

fn post(client: &str, path: &str, body: Value) -> Step {
    from(client, Step::post(path).json(body))
}

fn get(client: &str, path: &str) -> Step {
    from(client, Step::get(path))
}

fn agent(name: &str, kind: &str, mode: &str) -> Value {
    json!({"name": name, "kind": kind, "mode": mode})
}

/// A workflow step: `(id, agent variable, input, dependencies)`.
fn wf_step(id: &str, agent: &str, input: &str, deps: &[&str]) -> Value {
    json!({"id": id, "agent_id": format!("{{{{{agent}}}}}"), "input": input, "depends_on": deps})
}

fn seeds() -> Vec<Seed> {
    [
        ("echo", "echo", "AUTO"),
        ("upper", "uppercase", "AUTO"),
        ("reverse", "reverse", "AUTO"),
        ("reviewer", "echo", "APPROVAL_REQUIRED"),
    ]
    .into_iter()
    .map(|(key, kind, mode)| {
        Seed::new(
            &format!("agent.{key}"),
            post("seed", "/api/agents", agent(&format!("{key} agent"), kind, mode))
                .expect_status(201)
                .expect_eq("/mode", mode)
                .capture(&format!("{key}_agent_id"), "/id"),
        )
        .describe(&format!("a {mode} agent that does {kind}"))
    })
    .collect()
}

/// Steps that create a workflow, start it and capture `{prefix}_wf_id` and `{prefix}_run_id`.
fn create_and_start(client: &str, prefix: &str, name: &str, steps: Value) -> [Step; 2] {
    [
        post(client, "/api/workflows", json!({"name": name, "steps": steps}))
            .named("create the workflow")
            .expect_status(201)
            .capture(&format!("{prefix}_wf_id"), "/id"),
        from(client, Step::post(&format!("/api/workflows/{{{{{prefix}_wf_id}}}}/runs")))
            .named("start a run")
            .expect_status(202)
            .capture(&format!("{prefix}_run_id"), "/id"),
    ]
}

/// Poll the run until its status is `status`.
fn wait_for(client: &str, prefix: &str, status: &str) -> Step {
    get(client, &format!("/api/runs/{{{{{prefix}_run_id}}}}"))
        .named(&format!("wait for {status}"))
        .expect_status(200)
        .expect_eq("/status", status)
        .poll(POLL_MS, WAIT_MS)
}

fn agents() -> Vec<Scenario> {
    let c = "agents";
    vec![
        Scenario::happy_path("workflow.agents.create", "POST /api/agents")
            .describe("an agent is registered, AUTO by default, and reads back")
            .step(
                post(c, "/api/agents", json!({"name": "summarizer", "kind": "count"}))
                    .expect_status(201)
                    .expect_eq("/mode", "AUTO")
                    .capture("summarizer_id", "/id"),
            )
            .step(
                get(c, "/api/agents/{{summarizer_id}}")
                    .named("read it back")
                    .expect_status(200)
                    .expect_eq("/kind", "count"),
            ),
        Scenario::happy_path("workflow.agents.list", "GET /api/agents")
            .describe("agents list as a collection")
            // It reads what the seeds made (`--read-only` creates none).
            .tag("seeded")
            .step(get(c, "/api/agents").expect_status(200).expect_exists("/items/3/id")),
        Scenario::happy_path("workflow.agents.get", "GET /api/agents/{id}")
            .describe("a seeded agent reads back by id")
            .step(
                get(c, "/api/agents/{{reviewer_agent_id}}")
                    .expect_status(200)
                    .expect_eq("/mode", "APPROVAL_REQUIRED"),
            ),
        Scenario::not_found("workflow.agents.get.not-found", "GET /api/agents/{id}")
            .describe("an unknown agent is a 404")
            .step(get(c, &format!("/api/agents/{}", ids::missing(1))).expect_status(404)),
        Scenario::validation_error("workflow.agents.create.invalid-mode", "POST /api/agents")
            .describe("a mode other than AUTO or APPROVAL_REQUIRED is refused")
            .step(
                post(c, "/api/agents", agent("odd", "echo", "SOMETIMES"))
                    .expect_status(422)
                    .expect_eq("/error", "validation_error"),
            ),
        Scenario::validation_error("workflow.agents.create.missing-name", "POST /api/agents")
            .describe("an agent needs a name")
            .step(
                post(c, "/api/agents", json!({"kind": "echo"}))
                    .expect_status(422)
                    .expect_eq("/message", "name is required"),
            ),
    ]
}

fn workflows() -> Vec<Scenario> {
    let c = "workflows";
    vec![
        Scenario::happy_path("workflow.workflows.create", "POST /api/workflows")
            .describe("a workflow of two steps is stored as sent")
            .step(
                post(
                    c,
                    "/api/workflows",
                    json!({"name": "pair", "steps": [
                        wf_step("a", "echo_agent_id", "one", &[]),
                        wf_step("b", "upper_agent_id", "two", &["a"]),
                    ]}),
                )
                .expect_status(201)
                .expect_len("/steps", 2)
                .expect_eq("/steps/1/depends_on/0", "a")
                .capture("pair_wf_id", "/id"),
            ),
        Scenario::happy_path("workflow.workflows.get", "GET /api/workflows/{id}")
            .describe("a stored workflow reads back by id")
            .depends_on("workflow.workflows.create")
            .step(get(c, "/api/workflows/{{pair_wf_id}}").expect_status(200).expect_eq("/name", "pair")),
        Scenario::not_found("workflow.workflows.get.not-found", "GET /api/workflows/{id}")
            .describe("an unknown workflow is a 404")
            .step(get(c, &format!("/api/workflows/{}", ids::missing(2))).expect_status(404)),
        Scenario::validation_error("workflow.workflows.create.unknown-agent", "POST /api/workflows")
            .describe("a step naming an agent that does not exist is refused")
            .step(
                post(
                    c,
                    "/api/workflows",
                    json!({"name": "ghost", "steps": [
                        {"id": "a", "agent_id": ids::missing(3), "input": "x"},
                    ]}),
                )
                .expect_status(422)
                .expect_eq("/error", "unknown_agent"),
            ),
        Scenario::validation_error("workflow.workflows.create.cycle", "POST /api/workflows")
            .describe("steps that depend on each other in a circle are refused")
            .step(
                post(
                    c,
                    "/api/workflows",
                    json!({"name": "loop", "steps": [
                        wf_step("a", "echo_agent_id", "x", &["b"]),
                        wf_step("b", "echo_agent_id", "y", &["a"]),
                    ]}),
                )
                .expect_status(422)
                .expect_eq("/error", "invalid_graph"),
            ),
        Scenario::validation_error("workflow.workflows.create.empty", "POST /api/workflows")
            .describe("a workflow without steps is refused")
            .step(post(c, "/api/workflows", json!({"name": "nothing", "steps": []})).expect_status(422)),
    ]
}

fn runs() -> Vec<Scenario> {
    let mut sequential = Scenario::workflow("workflow.run.sequential", "POST /api/workflows/{id}/runs")
        .describe("a two-agent workflow passes the first step's output into the second through a template")
        .tag("fault:template-not-resolved");
    for s in create_and_start(
        "sequential",
        "seq",
        "greeting",
        json!([
            wf_step("a", "echo_agent_id", "hello", &[]),
            wf_step("b", "upper_agent_id", &literal("{{steps.a.output}} world"), &["a"]),
        ]),
    ) {
        sequential = sequential.step(s);
    }
    sequential = sequential.step(
        wait_for("sequential", "seq", "COMPLETED")
            .expect_eq("/steps/1/output", "HELLO WORLD")
            .expect_eq("/completion_order", json!(["a", "b"])),
    );

    let mut approval = Scenario::workflow("workflow.run.approval", "POST /api/workflows/{id}/runs")
        .describe("an approval step pauses the run until it is approved, then the run completes")
        .tag("fault:approval-skipped")
        .tag("fault:decision-ignored");
    for s in create_and_start(
        "approval",
        "appr",
        "reviewed",
        json!([
            wf_step("draft", "echo_agent_id", "draft", &[]),
            wf_step("review", "reviewer_agent_id", &literal("{{steps.draft.output}} reviewed"), &["draft"]),
        ]),
    ) {
        approval = approval.step(s);
    }
    approval = approval
        .step(
            wait_for("approval", "appr", "WAITING_APPROVAL")
                .expect_eq("/steps/1/status", "WAITING_APPROVAL")
                .capture("appr_approval_id", "/approval_id"),
        )
        .step(
            post("approval", "/api/approvals/{{appr_approval_id}}/decision", json!({"decision": "approve"}))
                .named("approve")
                .expect_status(200)
                .expect_eq("/status", "APPROVED"),
        )
        .step(wait_for("approval", "appr", "COMPLETED").expect_eq("/steps/1/output", "draft reviewed"));

    let mut reject = Scenario::business_rule("workflow.run.reject", "POST /api/approvals/{id}/decision")
        .describe("a rejected approval ends the run as REJECTED, and a decision cannot be taken twice")
        .tag("fault:decision-ignored");
    for s in create_and_start(
        "reject",
        "rej",
        "rejected",
        json!([wf_step("review", "reviewer_agent_id", "proposal", &[])]),
    ) {
        reject = reject.step(s);
    }
    reject = reject
        .step(wait_for("reject", "rej", "WAITING_APPROVAL").capture("rej_approval_id", "/approval_id"))
        .step(
            post("reject", "/api/approvals/{{rej_approval_id}}/decision", json!({"decision": "reject"}))
                .named("reject")
                .expect_status(200),
        )
        .step(wait_for("reject", "rej", "REJECTED").expect_eq("/steps/0/status", "REJECTED"))
        .step(
            post("reject", "/api/approvals/{{rej_approval_id}}/decision", json!({"decision": "approve"}))
                .named("decide again")
                .expect_status(409)
                .expect_eq("/error", "already_decided"),
        );

    // Declared in an order that is not topological, so an engine that ignores dependencies shows.
    let diamond_graph = json!({"top": [], "left": ["top"], "right": ["top"], "bottom": ["left", "right"]});
    let mut diamond = Scenario::workflow("workflow.run.diamond", "POST /api/workflows/{id}/runs")
        .describe("a four-node diamond completes in topological order: the bottom only after both sides")
        .tag("fault:diamond-order-broken");
    for s in create_and_start(
        "diamond",
        "dia",
        "diamond",
        json!([
            wf_step("top", "echo_agent_id", "top", &[]),
            wf_step("left", "upper_agent_id", "left", &["top"]),
            wf_step("right", "reverse_agent_id", "right", &["top"]),
            wf_step("bottom", "echo_agent_id", "bottom", &["left", "right"]),
        ]),
    ) {
        diamond = diamond.step(s);
    }
    diamond = diamond.step(
        wait_for("diamond", "dia", "COMPLETED")
            .expect_len("/completion_order", 4)
            .check(json!({"rule": "topological", "graph": diamond_graph})),
    );

    vec![
        sequential,
        approval,
        reject,
        diamond,
        Scenario::happy_path("workflow.runs.start", "POST /api/workflows/{id}/runs")
            .describe("starting a run is accepted and reports it running")
            .depends_on("workflow.workflows.create")
            .step(
                from("runs", Step::post("/api/workflows/{{pair_wf_id}}/runs"))
                    .expect_status(202)
                    .expect_eq("/status", "RUNNING"),
            ),
        Scenario::happy_path("workflow.runs.get", "GET /api/runs/{id}")
            .describe("a finished run reads back with every step's output")
            .depends_on("workflow.run.sequential")
            .step(
                get("runs", "/api/runs/{{seq_run_id}}")
                    .expect_status(200)
                    .expect_eq("/steps/0/output", "hello"),
            ),
        Scenario::not_found("workflow.runs.get.not-found", "GET /api/runs/{id}")
            .describe("an unknown run is a 404")
            .step(get("runs", &format!("/api/runs/{}", ids::missing(4))).expect_status(404)),
        Scenario::not_found("workflow.runs.start.not-found", "POST /api/workflows/{id}/runs")
            .describe("starting an unknown workflow is a 404")
            .step(
                from("runs", Step::post(&format!("/api/workflows/{}/runs", ids::missing(5))))
                    .expect_status(404),
            ),
    ]
}

fn approvals() -> Vec<Scenario> {
    let c = "approvals";
    vec![
        Scenario::happy_path("workflow.approvals.get", "GET /api/approvals/{id}")
            .describe("a decided approval reads back with its decision")
            .depends_on("workflow.run.approval")
            .step(
                get(c, "/api/approvals/{{appr_approval_id}}")
                    .expect_status(200)
                    .expect_eq("/status", "APPROVED")
                    .expect_eq("/step_id", "review"),
            ),
        Scenario::happy_path("workflow.approvals.decide", "POST /api/approvals/{id}/decision")
            .describe("an approval of a pending step is accepted")
            .step(
                post(
                    c,
                    "/api/workflows",
                    json!({"name": "gate", "steps": [wf_step("gate", "reviewer_agent_id", "x", &[])]}),
                )
                .named("create a one-step approval workflow")
                .expect_status(201)
                .capture("gate_wf_id", "/id"),
            )
            .step(
                from(c, Step::post("/api/workflows/{{gate_wf_id}}/runs"))
                    .named("start it")
                    .expect_status(202)
                    .capture("gate_run_id", "/id"),
            )
            .step(wait_for(c, "gate", "WAITING_APPROVAL").capture("gate_approval_id", "/approval_id"))
            .step(
                post(c, "/api/approvals/{{gate_approval_id}}/decision", json!({"decision": "approve"}))
                    .expect_status(200)
                    .expect_eq("/status", "APPROVED"),
            ),
        Scenario::validation_error("workflow.approvals.decide.invalid", "POST /api/approvals/{id}/decision")
            .describe("a decision other than approve or reject is refused")
            .depends_on("workflow.run.approval")
            .step(
                post(c, "/api/approvals/{{appr_approval_id}}/decision", json!({"decision": "maybe"}))
                    .expect_status(422)
                    .expect_eq("/error", "validation_error"),
            ),
        Scenario::not_found("workflow.approvals.get.not-found", "GET /api/approvals/{id}")
            .describe("an unknown approval is a 404")
            .step(get(c, &format!("/api/approvals/{}", ids::missing(6))).expect_status(404)),
        Scenario::not_found("workflow.approvals.decide.not-found", "POST /api/approvals/{id}/decision")
            .describe("deciding an unknown approval is a 404")
            .step(
                post(
                    c,
                    &format!("/api/approvals/{}/decision", ids::missing(7)),
                    json!({"decision": "approve"}),
                )
                .expect_status(404),
            ),
    ]
}

fn rate_limit() -> Vec<Scenario> {
    let client = "burst-client";
    vec![
        Scenario::load("workflow.rate-limit.burst", "GET /api/agents")
            .describe("120 rapid requests from one client: some accepted, the rest 429, none 5xx")
            .tag("fault:rate-limit-off")
            .step(
                get(client, "/api/agents")
                    .expect_status(200)
                    .expect_status(429)
                    .burst(120, 8)
                    .mix(Status::Code(200), Some(1), Some(100))
                    .mix(Status::Code(429), Some(1), None)
                    .mix(Status::Class(5), None, Some(0)),
            ),
        Scenario::business_rule("workflow.rate-limit.retry-after", "GET /api/agents")
            .describe("a rate-limited client is told when to retry")
            .tag("fault:rate-limit-off")
            .depends_on("workflow.rate-limit.burst")
            .step(
                get(client, "/api/agents")
                    .expect_status(429)
                    .expect_eq("/error", "rate_limited")
                    .expect_header("retry-after", ""),
            ),
    ]
}

impl Plugin for Workflow {
    fn info() -> Info {
        Info::new("workflow", env!("CARGO_PKG_VERSION"), "agent orchestration").describe(
            "Agent-orchestration APIs: agents, workflow DAGs with templates, approvals, rate limits",
        )
    }

    fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
        let mut plan = Plan::new();
        for seed in seeds() {
            plan = plan.seed(seed);
        }
        Ok(plan
            .scenarios(agents())
            .scenarios(workflows())
            .scenarios(runs())
            .scenarios(approvals())
            .scenarios(rate_limit())
            .endpoint("POST /api/agents", true)
            .endpoint("GET /api/agents", false)
            .endpoint("GET /api/agents/{id}", false)
            .endpoint("POST /api/workflows", true)
            .endpoint("GET /api/workflows/{id}", false)
            .endpoint("POST /api/workflows/{id}/runs", false)
            .endpoint("GET /api/runs/{id}", false)
            .endpoint("GET /api/approvals/{id}", false)
            .endpoint("POST /api/approvals/{id}/decision", true))
    }

    fn check(input: CheckInput) -> Verdict {
        let (rule, argument) = match input.rule() {
            Ok(r) => r,
            Err(verdict) => return verdict,
        };
        match rule.as_str() {
            "topological" => topological(&argument["graph"], input.response_json()),
            other => Verdict::fail(format!("unknown check rule {other:?}")),
        }
    }
}

/// Every step completed, each after all of its dependencies.
fn topological(graph: &Value, run: Option<Value>) -> Verdict {
    let Some(run) = run else { return Verdict::fail("the run is not JSON") };
    let Some(order) = run["completion_order"].as_array() else {
        return Verdict::fail(format!("the run has no completion_order: {run}"));
    };
    let order: Vec<&str> = order.iter().filter_map(Value::as_str).collect();
    let Some(graph) = graph.as_object() else { return Verdict::fail("check argument lacks the graph") };
    for (step, deps) in graph {
        let Some(at) = order.iter().position(|s| s == step) else {
            return Verdict::fail(format!("step {step} never completed (completion order: {order:?})"));
        };
        for dep in deps.as_array().into_iter().flatten().filter_map(Value::as_str) {
            match order.iter().position(|s| *s == dep) {
                Some(d) if d < at => {}
                _ => {
                    return Verdict::fail(format!(
                        "step {step} completed before its dependency {dep} (completion order: {order:?})"
                    ));
                }
            }
        }
    }
    Verdict::pass(format!("completion order {order:?} respects every dependency"))
}

smoke_plugin::export!(Workflow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topological_order_is_judged_against_the_graph() {
        let graph = json!({"top": [], "left": ["top"], "right": ["top"], "bottom": ["left", "right"]});
        let run = |order: Value| Some(json!({"completion_order": order}));
        assert!(topological(&graph, run(json!(["top", "right", "left", "bottom"]))).pass);
        assert!(!topological(&graph, run(json!(["bottom", "right", "left", "top"]))).pass);
        assert!(!topological(&graph, run(json!(["top", "left", "bottom"]))).pass);
    }

    #[test]
    fn the_plan_is_deterministic_with_unique_ids() {
        smoke_plugin::testing::assert_deterministic_plan::<Workflow>(smoke_plugin::testing::empty_input());
    }
}
