//! Contract 0.1.0 (`wit/v0.1.0`), still bound so that plugins built for it run unchanged: its
//! bindings, and the mapping of its types to and from the next version's, whose conversion into
//! the plan model is the only one.

use super::contract::{self, ConvertError};
use super::v0_2::{self, wit as next};
use crate::plan::model;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "plugin",
});

pub use smoke::plugin::types as wit;

pub const VERSION: &str = "0.1.0";

fn pairs(list: Vec<wit::Pair>) -> Vec<next::Pair> {
    list.into_iter().map(|p| next::Pair { name: p.name, value: p.value }).collect()
}

fn pairs_from(list: &[model::Pair]) -> Vec<wit::Pair> {
    list.iter().map(|p| wit::Pair { name: p.name.clone(), value: p.value.clone() }).collect()
}

fn method(m: wit::Method) -> next::Method {
    match m {
        wit::Method::Get => next::Method::Get,
        wit::Method::Head => next::Method::Head,
        wit::Method::Post => next::Method::Post,
        wit::Method::Put => next::Method::Put,
        wit::Method::Patch => next::Method::Patch,
        wit::Method::Delete => next::Method::Delete,
        wit::Method::Options => next::Method::Options,
    }
}

fn status(s: wit::StatusMatch) -> next::Status {
    match s {
        wit::StatusMatch::Code(code) => next::Status::Code(code),
        wit::StatusMatch::Class(class) => next::Status::Class(class),
    }
}

fn kind(k: wit::ScenarioKind) -> next::ScenarioKind {
    match k {
        wit::ScenarioKind::HappyPath => next::ScenarioKind::HappyPath,
        wit::ScenarioKind::NotFound => next::ScenarioKind::NotFound,
        wit::ScenarioKind::ValidationError => next::ScenarioKind::ValidationError,
        wit::ScenarioKind::BusinessRule => next::ScenarioKind::BusinessRule,
        wit::ScenarioKind::Auth => next::ScenarioKind::Auth,
        wit::ScenarioKind::Workflow => next::ScenarioKind::Workflow,
        wit::ScenarioKind::Load => next::ScenarioKind::Load,
    }
}

/// A 0.1 step is a 0.2 step whose action is an HTTP call, with the check moved from the
/// expectation to the step.
fn step(s: wit::Step) -> next::Step {
    let r = s.request;
    let e = s.expect;
    next::Step {
        name: s.name,
        action: next::Action::Http(next::HttpCall {
            request: next::HttpRequest {
                method: method(r.method),
                path: r.path,
                query: pairs(r.query),
                headers: pairs(r.headers),
                body: r.body.map(|b| match b {
                    wit::Body::Json(text) => next::Body::Json(text),
                    wit::Body::Text(text) => next::Body::Text(text),
                }),
            },
            expect: next::HttpExpectation {
                status: e.status.into_iter().map(next::Status::Code).collect(),
                body: e
                    .body
                    .into_iter()
                    .map(|a| next::JsonAssertion {
                        pointer: a.pointer,
                        test: match a.test {
                            wit::JsonTest::Exists => next::JsonTest::Exists,
                            wit::JsonTest::Absent => next::JsonTest::Absent,
                            wit::JsonTest::Equals(text) => next::JsonTest::Equals(text),
                            wit::JsonTest::Length(n) => next::JsonTest::Length(n),
                        },
                    })
                    .collect(),
                headers: pairs(e.headers),
                schema: e.schema,
                max_latency_ms: e.max_latency_ms,
            },
        }),
        check: e.check,
        captures: s
            .captures
            .into_iter()
            .map(|c| next::Capture {
                name: c.name,
                source: match c.source {
                    wit::CaptureSource::Body(p) => next::CaptureSource::Body(p),
                    wit::CaptureSource::Header(h) => next::CaptureSource::Header(h),
                },
            })
            .collect(),
        mode: match s.mode {
            wit::StepMode::Once => next::StepMode::Once,
            wit::StepMode::Poll(p) => {
                next::StepMode::Poll(next::Poll { interval_ms: p.interval_ms, timeout_ms: p.timeout_ms })
            }
            wit::StepMode::Burst(b) => next::StepMode::Burst(next::Burst {
                count: b.count,
                concurrency: b.concurrency,
                mix: b
                    .mix
                    .into_iter()
                    .map(|c| next::StatusCount {
                        status: status(c.status),
                        at_least: c.at_least,
                        at_most: c.at_most,
                    })
                    .collect(),
            }),
        },
        timeout_ms: s.timeout_ms,
    }
}

/// A 0.1 plan as the host's plan model: upgraded to 0.2, then converted as 0.2 plans are, except
/// that check arguments stay free text.
pub fn convert_plan(plugin: &str, plan: wit::Plan) -> Result<model::Part, ConvertError> {
    let upgraded = next::Plan {
        seeds: plan
            .seeds
            .into_iter()
            .map(|s| next::Seed {
                id: s.id,
                description: s.description,
                depends_on: s.depends_on,
                step: step(s.step),
            })
            .collect(),
        scenarios: plan
            .scenarios
            .into_iter()
            .map(|s| next::Scenario {
                id: s.id,
                endpoint: s.endpoint,
                kind: kind(s.kind),
                description: s.description,
                depends_on: s.depends_on,
                tags: s.tags,
                steps: s.steps.into_iter().map(step).collect(),
            })
            .collect(),
        surface: plan
            .surface
            .into_iter()
            .map(|e| next::Endpoint {
                id: e.id,
                has_path_params: e.has_path_params,
                has_constrained_body: e.has_constrained_body,
            })
            .collect(),
    };
    v0_2::convert(plugin, upgraded, false)
}

pub fn info(i: wit::Info) -> contract::Info {
    v0_2::info(next::Info {
        name: i.name,
        version: i.version,
        domain: i.domain,
        description: i.description,
        config: i
            .config
            .into_iter()
            .map(|k| next::ConfigKey {
                name: k.name,
                description: k.description,
                kind: match k.kind {
                    wit::ConfigKind::Text => next::ConfigKind::Text,
                    wit::ConfigKind::Document => next::ConfigKind::Document,
                    wit::ConfigKind::Secret => next::ConfigKind::Secret,
                },
                required: k.required,
                default: k.default,
            })
            .collect(),
        sensitive_fields: i.sensitive_fields,
        sensitive_headers: i.sensitive_headers,
        needs: next::Needs { memory_mib: None, call_timeout_ms: None },
    })
}

pub fn plan_input(input: &contract::PlanInput) -> wit::PlanInput {
    wit::PlanInput {
        config: pairs_from(&input.config),
        documents: input
            .documents
            .iter()
            .map(|d| wit::Document {
                key: d.key.clone(),
                source: d.source.clone(),
                content: d.content.clone(),
            })
            .collect(),
    }
}

pub fn plan_error(e: wit::PlanError) -> contract::PlanError {
    contract::PlanError { message: e.message, location: e.location }
}

/// Why a check cannot be put to a 0.1 plugin.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unsayable {
    #[error("an MCP call cannot be passed to a plugin built for contract 0.1.0")]
    McpCall,
    #[error("method {0} cannot be passed to a plugin built for contract 0.1.0")]
    Method(String),
}

/// The check as a 0.1 plugin takes it; it cannot take a request with a method 0.1 cannot name,
/// nor anything but an HTTP call.
pub fn check_input(input: &contract::CheckInput) -> Result<wit::CheckInput, Unsayable> {
    let contract::Exchange::Http { request: r, response: s } = &input.exchange else {
        return Err(Unsayable::McpCall);
    };
    let method = match &r.method {
        model::Method::Get => wit::Method::Get,
        model::Method::Head => wit::Method::Head,
        model::Method::Post => wit::Method::Post,
        model::Method::Put => wit::Method::Put,
        model::Method::Patch => wit::Method::Patch,
        model::Method::Delete => wit::Method::Delete,
        model::Method::Options => wit::Method::Options,
        model::Method::Other(token) => return Err(Unsayable::Method(token.clone())),
    };
    Ok(wit::CheckInput {
        config: pairs_from(&input.config),
        scenario_id: input.scenario_id.clone(),
        step_name: input.step_name.clone(),
        step_index: input.step_index,
        argument: input.argument.clone(),
        request: wit::SentRequest {
            method,
            url: r.url.clone(),
            headers: pairs_from(&r.headers),
            body: r.body.clone(),
        },
        response: wit::Response {
            status: s.status,
            headers: pairs_from(&s.headers),
            body: s.body.clone(),
            latency_ms: s.latency_ms,
        },
        variables: pairs_from(&input.variables),
    })
}

pub fn verdict(v: wit::Verdict) -> contract::Verdict {
    contract::Verdict { pass: v.pass, reason: v.reason }
}

pub fn level(l: smoke::plugin::host::Level) -> contract::Level {
    use smoke::plugin::host::Level;
    match l {
        Level::Debug => contract::Level::Debug,
        Level::Info => contract::Level::Info,
        Level::Warn => contract::Level::Warn,
        Level::Error => contract::Level::Error,
    }
}
