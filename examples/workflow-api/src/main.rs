//! workflow-api: an example agent-orchestration API for smoke's workflow plugin.
//!
//! Clients register agents (AUTO or APPROVAL_REQUIRED), create workflows as DAGs of agent steps
//! whose inputs may use `{{steps.ID.output}}` templates of earlier steps' outputs, and run them.
//! Steps run in dependency order; an APPROVAL_REQUIRED step pauses the run at
//! `WAITING_APPROVAL` until `POST /api/approvals/{id}/decision`. Each client (`X-Client-Id`) may
//! make 100 requests per minute (`--rate-limit N`); beyond that, 429 with `Retry-After`.
//!
//! Usage: `workflow-api [--port N] [--rate-limit N] [--list-faults]`; faults from `FAULTS`.

mod engine;
mod store;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use example_support::{
    ApiError, ApiResult, Faults, RateLimiter, client_id, invalid, not_found, object, reply, text,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const FAULTS: &[(&str, &str)] = &[
    ("template-not-resolved", "step inputs are passed on with their {{templates}} unresolved"),
    ("approval-skipped", "APPROVAL_REQUIRED steps run without waiting for a decision"),
    ("diamond-order-broken", "steps run in reverse declaration order, ignoring dependencies"),
    ("rate-limit-off", "no client is ever rate limited"),
    ("decision-ignored", "approval decisions are acknowledged but never resume the run"),
];

pub struct App {
    pub store: store::Store,
    pub faults: Faults,
    limiter: RateLimiter,
    /// Wakes runs waiting on an approval, by approval id.
    pub decisions: Mutex<HashMap<String, Arc<tokio::sync::Notify>>>,
}

type Shared = Arc<App>;

#[tokio::main]
async fn main() {
    let cli = example_support::Cli::parse("workflow-api", FAULTS, &[("--rate-limit", 100)]);
    let limit = cli.option("--rate-limit");
    let faults = Faults::from_env("workflow-api", FAULTS);
    let store = match store::Store::open() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("workflow-api: cannot open the database: {e}");
            std::process::exit(1);
        }
    };
    let limiter = RateLimiter::new(limit);
    let app = Arc::new(App { store, faults, limiter, decisions: Mutex::default() });
    let banner = format!(" (rate limit {limit}/min per client)");
    example_support::serve("workflow-api", cli.port, router(app), &banner).await;
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route("/api/agents", post(create_agent).get(list_agents))
        .route("/api/agents/{id}", get(get_agent))
        .route("/api/workflows", post(create_workflow))
        .route("/api/workflows/{id}", get(get_workflow))
        .route("/api/workflows/{id}/runs", post(start_run))
        .route("/api/runs/{id}", get(get_run))
        .route("/api/approvals/{id}", get(get_approval))
        .route("/api/approvals/{id}/decision", post(decide))
        .route_layer(middleware::from_fn_with_state(app.clone(), rate_limit));
    example_support::around(api, include_str!("../openapi.json")).with_state(app)
}

/// Each client's requests count against the rate limit.
async fn rate_limit(State(app): State<Shared>, request: Request, next: Next) -> Response {
    if app.faults.on("rate-limit-off") {
        return next.run(request).await;
    }
    match app.limiter.admit(client_id(request.headers())) {
        None => next.run(request).await,
        Some(too_many) => too_many,
    }
}

fn stored(app: &App, table: &str, id: &str, what: &str) -> Result<Value, ApiError> {
    app.store.get(table, id).ok_or_else(|| not_found(what, id))
}

async fn create_agent(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let name = text(&body, "name")?;
    let kind = text(&body, "kind")?;
    if !engine::KINDS.contains(&kind) {
        return Err(invalid(format!("kind must be one of {}; got {kind:?}", engine::KINDS.join(", "))));
    }
    let mode = match body.get("mode") {
        None => "AUTO",
        Some(Value::String(m)) if m == "AUTO" || m == "APPROVAL_REQUIRED" => m.as_str(),
        Some(other) => return Err(invalid(format!("mode must be AUTO or APPROVAL_REQUIRED; got {other}"))),
    };
    let id = uuid::Uuid::new_v4().to_string();
    let agent = json!({"id": id, "name": name, "kind": kind, "mode": mode});
    app.store.put("agents", &id, &agent);
    reply(StatusCode::CREATED, agent)
}

async fn list_agents(State(app): State<Shared>) -> ApiResult {
    let items = app.store.list("agents");
    reply(StatusCode::OK, json!({"count": items.len(), "items": items}))
}

async fn get_agent(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    reply(StatusCode::OK, stored(&app, "agents", &id, "agent")?)
}

/// Validate a workflow: named, non-empty, unique step ids, known agents and dependencies, no
/// cycle.
async fn create_workflow(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> ApiResult {
    let body = object(&headers, &body)?;
    let name = text(&body, "name")?;
    let Some(Value::Array(raw)) = body.get("steps") else {
        return Err(invalid("steps is required: a list of {id, agent_id, input, depends_on}"));
    };
    if raw.is_empty() {
        return Err(invalid("a workflow needs at least one step"));
    }
    let mut steps = Vec::new();
    for (i, step) in raw.iter().enumerate() {
        let Value::Object(step) = step else { return Err(invalid(format!("steps[{i}] must be an object"))) };
        let at = |e: ApiError| invalid(format!("steps[{i}]: {}", e.2));
        let id = text(step, "id").map_err(at)?;
        let agent = text(step, "agent_id").map_err(at)?;
        let input = match step.get("input") {
            None => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(invalid(format!("steps[{i}].input must be a string"))),
        };
        let depends_on: Vec<String> = match step.get("depends_on") {
            None => Vec::new(),
            Some(Value::Array(d)) if d.iter().all(Value::is_string) => {
                d.iter().filter_map(|v| v.as_str().map(String::from)).collect()
            }
            Some(_) => return Err(invalid(format!("steps[{i}].depends_on must be a list of step ids"))),
        };
        if app.store.get("agents", agent).is_none() {
            return Err(ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_agent",
                format!("steps[{i}].agent_id {agent:?} is not an agent"),
            ));
        }
        steps.push(json!({"id": id, "agent_id": agent, "input": input, "depends_on": depends_on}));
    }
    if let Err(problem) = engine::check_graph(&steps) {
        return Err(ApiError(StatusCode::UNPROCESSABLE_ENTITY, "invalid_graph", problem));
    }
    let id = uuid::Uuid::new_v4().to_string();
    let workflow = json!({"id": id, "name": name, "steps": steps});
    app.store.put("workflows", &id, &workflow);
    reply(StatusCode::CREATED, workflow)
}

async fn get_workflow(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    reply(StatusCode::OK, stored(&app, "workflows", &id, "workflow")?)
}

async fn start_run(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    let workflow = stored(&app, "workflows", &id, "workflow")?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let steps: Vec<Value> = workflow["steps"]
        .as_array()
        .map(|s| s.iter().map(|st| json!({"id": st["id"], "status": "PENDING", "output": null})).collect())
        .unwrap_or_default();
    let run = json!({
        "id": run_id, "workflow_id": id, "status": "RUNNING", "approval_id": null,
        "completion_order": [], "steps": steps,
    });
    app.store.put("runs", &run_id, &run);
    tokio::spawn(engine::execute(app.clone(), run_id, workflow));
    reply(StatusCode::ACCEPTED, run)
}

async fn get_run(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    reply(StatusCode::OK, stored(&app, "runs", &id, "run")?)
}

async fn get_approval(State(app): State<Shared>, Path(id): Path<String>) -> ApiResult {
    reply(StatusCode::OK, stored(&app, "approvals", &id, "approval")?)
}

async fn decide(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let body = object(&headers, &body)?;
    let mut approval = stored(&app, "approvals", &id, "approval")?;
    let status = match text(&body, "decision")? {
        "approve" => "APPROVED",
        "reject" => "REJECTED",
        other => return Err(invalid(format!("decision must be \"approve\" or \"reject\"; got {other:?}"))),
    };
    if approval["status"] != "PENDING" {
        return Err(ApiError(
            StatusCode::CONFLICT,
            "already_decided",
            format!("approval {id} was already {}", approval["status"]),
        ));
    }
    approval["status"] = json!(status);
    app.store.put("approvals", &id, &approval);
    if !app.faults.on("decision-ignored") {
        let waiter = example_support::lock(&app.decisions).get(&id).cloned();
        if let Some(w) = waiter {
            w.notify_one();
        }
    }
    reply(StatusCode::OK, approval)
}
