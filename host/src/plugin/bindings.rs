//! Host bindings generated from `wit/`, and the conversion of a plugin's plan into the host's
//! plan model (parsing JSON texts, so a malformed body is a plan error, not a runtime surprise).

use crate::plan::model;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "plugin",
});

pub use smoke::plugin::types as wit;

/// The WIT package this host implements, as `MAJOR.MINOR.PATCH`.
pub const WIT_VERSION: &str = "0.1.0";
/// The exported interface every plugin must provide, without its version.
pub const GUEST_INTERFACE: &str = "smoke:plugin/guest";

/// A plugin's plan that does not make sense as data.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct ConvertError {
    pub location: String,
    pub message: String,
}

fn parse_json(text: &str, location: impl FnOnce() -> String) -> Result<serde_json::Value, ConvertError> {
    serde_json::from_str(text).map_err(|e| ConvertError {
        location: location(),
        message: format!("not valid JSON ({e}): {}", excerpt(text)),
    })
}

/// An expected value: JSON every number of which a `Value` holds exactly (else it could never be
/// compared exactly, and a near miss would pass).
fn parse_exact(text: &str, location: impl Fn() -> String) -> Result<serde_json::Value, ConvertError> {
    if let Some(number) = crate::plan::exact::first_inexact_number(text) {
        return Err(ConvertError { location: location(), message: model::inexact_message(&number) });
    }
    parse_json(text, location)
}

fn excerpt(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

fn pairs(list: Vec<wit::Pair>) -> Vec<model::Pair> {
    list.into_iter().map(|p| model::Pair { name: p.name, value: p.value }).collect()
}

fn method(m: wit::Method) -> model::Method {
    match m {
        wit::Method::Get => model::Method::Get,
        wit::Method::Head => model::Method::Head,
        wit::Method::Post => model::Method::Post,
        wit::Method::Put => model::Method::Put,
        wit::Method::Patch => model::Method::Patch,
        wit::Method::Delete => model::Method::Delete,
        wit::Method::Options => model::Method::Options,
    }
}

pub fn method_to_wit(m: model::Method) -> wit::Method {
    match m {
        model::Method::Get => wit::Method::Get,
        model::Method::Head => wit::Method::Head,
        model::Method::Post => wit::Method::Post,
        model::Method::Put => wit::Method::Put,
        model::Method::Patch => wit::Method::Patch,
        model::Method::Delete => wit::Method::Delete,
        model::Method::Options => wit::Method::Options,
    }
}

fn kind(k: wit::ScenarioKind) -> model::ScenarioKind {
    match k {
        wit::ScenarioKind::HappyPath => model::ScenarioKind::HappyPath,
        wit::ScenarioKind::NotFound => model::ScenarioKind::NotFound,
        wit::ScenarioKind::ValidationError => model::ScenarioKind::ValidationError,
        wit::ScenarioKind::BusinessRule => model::ScenarioKind::BusinessRule,
        wit::ScenarioKind::Auth => model::ScenarioKind::Auth,
        wit::ScenarioKind::Workflow => model::ScenarioKind::Workflow,
        wit::ScenarioKind::Load => model::ScenarioKind::Load,
    }
}

fn step(s: wit::Step, at: &str) -> Result<model::Step, ConvertError> {
    let name = s.name;
    let at = format!("{at}, step {name:?}");
    let body = match s.request.body {
        None => None,
        Some(wit::Body::Json(text)) => {
            Some(model::Body::Json(parse_json(&text, || format!("{at}: request body"))?))
        }
        Some(wit::Body::Text(text)) => Some(model::Body::Text(text)),
    };
    let mut assertions = Vec::with_capacity(s.expect.body.len());
    for a in s.expect.body {
        let test = match a.test {
            wit::JsonTest::Exists => model::JsonTest::Exists,
            wit::JsonTest::Absent => model::JsonTest::Absent,
            wit::JsonTest::Equals(text) => model::JsonTest::Equals(parse_exact(&text, || {
                format!("{at}: expected value at {:?}", a.pointer)
            })?),
            wit::JsonTest::Length(n) => model::JsonTest::Length(n),
        };
        assertions.push(model::JsonAssertion { pointer: a.pointer, test });
    }
    let schema = match s.expect.schema {
        None => None,
        Some(text) => Some(parse_json(&text, || format!("{at}: response schema"))?),
    };
    let mode = match s.mode {
        wit::StepMode::Once => model::StepMode::Once,
        wit::StepMode::Poll(p) => {
            model::StepMode::Poll { interval_ms: p.interval_ms, timeout_ms: p.timeout_ms }
        }
        wit::StepMode::Burst(b) => model::StepMode::Burst {
            count: b.count,
            concurrency: b.concurrency,
            mix: b
                .mix
                .into_iter()
                .map(|c| model::StatusCount {
                    status: match c.status {
                        wit::StatusMatch::Code(code) => model::StatusMatch::Code(code),
                        wit::StatusMatch::Class(class) => model::StatusMatch::Class(class),
                    },
                    at_least: c.at_least,
                    at_most: c.at_most,
                })
                .collect(),
        },
    };
    Ok(model::Step {
        name,
        request: model::Request {
            method: method(s.request.method),
            path: s.request.path,
            query: pairs(s.request.query),
            headers: pairs(s.request.headers),
            body,
        },
        expect: model::Expectation {
            status: s.expect.status,
            body: assertions,
            headers: pairs(s.expect.headers),
            schema,
            max_latency_ms: s.expect.max_latency_ms,
            check: s.expect.check,
        },
        captures: s
            .captures
            .into_iter()
            .map(|c| model::Capture {
                name: c.name,
                source: match c.source {
                    wit::CaptureSource::Body(p) => model::CaptureSource::Body(p),
                    wit::CaptureSource::Header(h) => model::CaptureSource::Header(h),
                },
            })
            .collect(),
        mode,
        timeout_ms: s.timeout_ms,
    })
}

pub use model::Part as Converted;

pub fn convert_plan(plugin: &str, plan: wit::Plan) -> Result<Converted, ConvertError> {
    let mut seeds = Vec::with_capacity(plan.seeds.len());
    for s in plan.seeds {
        let at = format!("seed {:?}", s.id);
        seeds.push(model::Seed {
            step: step(s.step, &at)?,
            id: s.id,
            plugin: plugin.to_string(),
            description: s.description,
            depends_on: s.depends_on,
        });
    }
    let mut scenarios = Vec::with_capacity(plan.scenarios.len());
    for s in plan.scenarios {
        let at = format!("scenario {:?}", s.id);
        let steps = s.steps.into_iter().map(|st| step(st, &at)).collect::<Result<_, _>>()?;
        scenarios.push(model::Scenario {
            id: s.id,
            plugin: plugin.to_string(),
            endpoint: s.endpoint,
            kind: kind(s.kind),
            description: s.description,
            depends_on: s.depends_on,
            tags: s.tags,
            steps,
            dependency_only: false,
        });
    }
    let surface = plan
        .surface
        .into_iter()
        .map(|e| model::Endpoint {
            id: e.id,
            plugin: plugin.to_string(),
            has_path_params: e.has_path_params,
            has_constrained_body: e.has_constrained_body,
        })
        .collect();
    Ok(Converted { seeds, scenarios, surface })
}
