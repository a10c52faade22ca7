//! Contract 0.2.0 (`wit/v0.2.0`): its bindings, and the conversion of its types into the host's
//! (the plan model and `contract`). Older versions upgrade their plans into this version's types
//! (`v0_1`), so this is the one conversion into the plan model; JSON texts are parsed here, so a
//! malformed one is a plan error, not a run-time surprise.

use super::contract::{self, ConvertError, parse_exact, parse_json};
use crate::plan::model;

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "plugin",
});

pub use smoke::plugin::types as wit;

pub const VERSION: &str = "0.2.0";

pub(super) fn method(m: wit::Method) -> model::Method {
    match m {
        wit::Method::Get => model::Method::Get,
        wit::Method::Head => model::Method::Head,
        wit::Method::Post => model::Method::Post,
        wit::Method::Put => model::Method::Put,
        wit::Method::Patch => model::Method::Patch,
        wit::Method::Delete => model::Method::Delete,
        wit::Method::Options => model::Method::Options,
        // `other("GET")` is GET.
        wit::Method::Other(token) => model::Method::from(token),
    }
}

pub(super) fn method_to_wit(m: &model::Method) -> wit::Method {
    match m {
        model::Method::Get => wit::Method::Get,
        model::Method::Head => wit::Method::Head,
        model::Method::Post => wit::Method::Post,
        model::Method::Put => wit::Method::Put,
        model::Method::Patch => wit::Method::Patch,
        model::Method::Delete => wit::Method::Delete,
        model::Method::Options => wit::Method::Options,
        model::Method::Other(token) => wit::Method::Other(token.clone()),
    }
}

fn pairs(list: Vec<wit::Pair>) -> Vec<model::Pair> {
    list.into_iter().map(|p| model::Pair { name: p.name, value: p.value }).collect()
}

fn pairs_to_wit(list: &[model::Pair]) -> Vec<wit::Pair> {
    list.iter().map(|p| wit::Pair { name: p.name.clone(), value: p.value.clone() }).collect()
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

fn status(s: wit::Status) -> model::StatusMatch {
    match s {
        wit::Status::Code(code) => model::StatusMatch::Code(code),
        wit::Status::Class(class) => model::StatusMatch::Class(class),
    }
}

fn body(b: wit::Body, at: &str) -> Result<model::Body, ConvertError> {
    Ok(match b {
        wit::Body::Json(text) => model::Body::Json(parse_json(&text, || format!("{at}: request body"))?),
        wit::Body::Text(text) => model::Body::Text(text),
        wit::Body::Form(fields) => model::Body::Form(pairs(fields)),
        wit::Body::Multipart(parts) => model::Body::Multipart(
            parts
                .into_iter()
                .map(|p| model::MultipartPart {
                    name: p.name,
                    filename: p.filename,
                    content_type: p.content_type,
                    content: match p.content {
                        wit::PartContent::Text(text) => model::PartContent::Text(text),
                        wit::PartContent::Bytes(bytes) => model::PartContent::Bytes(bytes),
                    },
                })
                .collect(),
        ),
        wit::Body::Bytes(raw) => {
            model::Body::Bytes(model::RawBody { content_type: raw.content_type, content: raw.content })
        }
    })
}

fn assertions(list: Vec<wit::JsonAssertion>, at: &str) -> Result<Vec<model::JsonAssertion>, ConvertError> {
    let mut out = Vec::with_capacity(list.len());
    for a in list {
        let test = match a.test {
            wit::JsonTest::Exists => model::JsonTest::Exists,
            wit::JsonTest::Absent => model::JsonTest::Absent,
            wit::JsonTest::Equals(text) => model::JsonTest::Equals(parse_exact(&text, || {
                format!("{at}: expected value at {:?}", a.pointer)
            })?),
            wit::JsonTest::Length(n) => model::JsonTest::Length(n),
        };
        out.push(model::JsonAssertion { pointer: a.pointer, test });
    }
    Ok(out)
}

fn http_call(call: wit::HttpCall, check: Option<String>, at: &str) -> Result<model::HttpCall, ConvertError> {
    let (request, expect) = (call.request, call.expect);
    let body = request.body.map(|b| body(b, at)).transpose()?;
    let schema = match expect.schema {
        None => None,
        Some(text) => Some(parse_json(&text, || format!("{at}: response schema"))?),
    };
    Ok(model::HttpCall {
        request: model::Request {
            method: method(request.method),
            path: request.path,
            query: pairs(request.query),
            headers: pairs(request.headers),
            body,
        },
        expect: model::Expectation {
            status: expect.status.into_iter().map(status).collect(),
            body: assertions(expect.body, at)?,
            headers: pairs(expect.headers),
            schema,
            max_latency_ms: expect.max_latency_ms,
            check,
        },
    })
}

fn tool_call(call: wit::ToolCall, check: Option<String>, at: &str) -> Result<model::ToolCall, ConvertError> {
    let expect = call.expect;
    let schema = match expect.schema {
        None => None,
        Some(text) => Some(parse_json(&text, || format!("{at}: result schema"))?),
    };
    Ok(model::ToolCall {
        arguments: parse_json(&call.arguments, || format!("{at}: arguments of tool {:?}", call.tool))?,
        tool: call.tool,
        expect: model::ToolExpectation {
            outcome: match expect.outcome {
                wit::ToolOutcome::Success => model::ToolOutcome::Success,
                wit::ToolOutcome::ToolError => model::ToolOutcome::ToolError,
                wit::ToolOutcome::Refused => model::ToolOutcome::Refused,
                wit::ToolOutcome::Answered => model::ToolOutcome::Answered,
            },
            result: assertions(expect.result, at)?,
            schema,
            max_latency_ms: expect.max_latency_ms,
            check,
        },
    })
}

fn step(s: wit::Step, at: &str, index: usize, json_check: bool) -> Result<model::Step, ConvertError> {
    let name = s.name;
    // Steps are named in messages as validation names them: by position, and by name or call.
    let shown = match &s.action {
        _ if !name.is_empty() => name.clone(),
        wit::Action::Http(call) => {
            format!("{} {}", method(call.request.method.clone()).as_str(), call.request.path)
        }
        wit::Action::ToolCall(call) => format!("tool {}", call.tool),
        wit::Action::McpRequest(r) => r.method.clone(),
    };
    let at = format!("{at}, step {} ({})", index + 1, crate::http::escape_line(&shown));
    // The argument is handed back to the plugin as it was written; it must be JSON the SDKs can
    // read into the plugin's own type.
    if let Some(argument) = s.check.as_ref().filter(|_| json_check) {
        parse_json(argument, || format!("{at}: check argument"))?;
    }
    let action = match s.action {
        wit::Action::Http(call) => model::Action::Http(http_call(call, s.check, &at)?),
        wit::Action::ToolCall(call) => model::Action::ToolCall(tool_call(call, s.check, &at)?),
        wit::Action::McpRequest(r) => {
            // The same shape as a tool call: the method in the tool's place, params as arguments.
            let call = tool_call(
                wit::ToolCall { tool: r.method, arguments: r.params, expect: r.expect },
                s.check,
                &at,
            )?;
            model::Action::McpRequest(model::McpRequest {
                method: call.tool,
                params: call.arguments,
                expect: call.expect,
            })
        }
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
                    status: status(c.status),
                    at_least: c.at_least,
                    at_most: c.at_most,
                })
                .collect(),
        },
    };
    Ok(model::Step {
        name,
        action,
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

/// A 0.2 plan as the host's plan model, each piece tagged with the plugin's name.
pub fn convert_plan(plugin: &str, plan: wit::Plan) -> Result<model::Part, ConvertError> {
    convert(plugin, plan, true)
}

/// `json_check`: whether check arguments must be JSON (from 0.2 on; 0.1's were free text, handed
/// back as written).
pub(super) fn convert(plugin: &str, plan: wit::Plan, json_check: bool) -> Result<model::Part, ConvertError> {
    let mut seeds = Vec::with_capacity(plan.seeds.len());
    for s in plan.seeds {
        let at = format!("seed {:?}", s.id);
        seeds.push(model::Seed {
            step: step(s.step, &at, 0, json_check)?,
            id: s.id,
            plugin: plugin.to_string(),
            description: s.description,
            depends_on: s.depends_on,
        });
    }
    let mut scenarios = Vec::with_capacity(plan.scenarios.len());
    for s in plan.scenarios {
        let at = format!("scenario {:?}", s.id);
        let steps = s
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, st)| step(st, &at, i, json_check))
            .collect::<Result<_, _>>()?;
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
    Ok(model::Part { seeds, scenarios, surface })
}

pub fn info(i: wit::Info) -> contract::Info {
    contract::Info {
        name: i.name,
        version: i.version,
        domain: i.domain,
        description: i.description,
        config: i
            .config
            .into_iter()
            .map(|k| contract::ConfigKey {
                name: k.name,
                description: k.description,
                kind: match k.kind {
                    wit::ConfigKind::Text => contract::ConfigKind::Text,
                    wit::ConfigKind::Document => contract::ConfigKind::Document,
                    wit::ConfigKind::Secret => contract::ConfigKind::Secret,
                },
                required: k.required,
                default: k.default,
            })
            .collect(),
        sensitive_fields: i.sensitive_fields,
        sensitive_headers: i.sensitive_headers,
        needs: contract::Needs { memory_mib: i.needs.memory_mib, call_timeout_ms: i.needs.call_timeout_ms },
    }
}

pub fn plan_input(input: &contract::PlanInput) -> wit::PlanInput {
    wit::PlanInput {
        host: wit::HostInfo {
            version: env!("CARGO_PKG_VERSION").to_string(),
            contract: VERSION.to_string(),
            features: contract::FEATURES.iter().map(|f| f.to_string()).collect(),
        },
        config: pairs_to_wit(&input.config),
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

fn tool_exchange(t: &contract::ToolExchange) -> wit::ToolExchange {
    wit::ToolExchange {
        tool: t.tool.clone(),
        arguments: t.arguments.clone(),
        result: t.result.clone(),
        error: t.error.as_ref().map(|e| wit::RpcError {
            code: e.code,
            message: e.message.clone(),
            data: e.data.clone(),
        }),
        latency_ms: t.latency_ms,
    }
}

pub fn check_input(input: &contract::CheckInput) -> wit::CheckInput {
    let exchange = match &input.exchange {
        contract::Exchange::Http { request: r, response: s } => wit::Exchange::Http(wit::HttpExchange {
            request: wit::SentRequest {
                method: method_to_wit(&r.method),
                url: r.url.clone(),
                headers: pairs_to_wit(&r.headers),
                body: r.body.clone(),
            },
            response: wit::Response {
                status: s.status,
                headers: pairs_to_wit(&s.headers),
                body: s.body.clone(),
                latency_ms: s.latency_ms,
            },
        }),
        contract::Exchange::ToolCall(t) => wit::Exchange::ToolCall(tool_exchange(t)),
        contract::Exchange::McpRequest(t) => wit::Exchange::McpRequest(tool_exchange(t)),
    };
    wit::CheckInput {
        config: pairs_to_wit(&input.config),
        scenario_id: input.scenario_id.clone(),
        step_name: input.step_name.clone(),
        step_index: input.step_index,
        argument: input.argument.clone(),
        exchange,
        variables: pairs_to_wit(&input.variables),
    }
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
