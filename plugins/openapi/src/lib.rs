//! The OpenAPI plugin: a deterministic smoke plan for any API from its OpenAPI 3.0/3.1 or
//! Swagger 2.0 document (JSON or YAML), read the way a careful tester would: read, don't invent.
//!
//! Every operation gets a happy path (creating first what its path parameters and `*_id` body
//! fields name, when the document has an operation that creates it), checked against the
//! declared response schema; every operation with path parameters a not-found; every request
//! body one validation error per declared constraint (at most three properties per kind of
//! constraint); every secured operation a request without credentials (and, when no credentials
//! are configured, its other scenarios planned as skipped with the reason). What cannot be exercised is logged with the reason, and shows as a coverage gap.
//!
//! Config: `spec` (the document: a path or URL the host reads once), `auth` (a header sent with
//! every request, `Authorization: Bearer ...`; a secret), `skip` (operation ids or `METHOD /path`,
//! comma-separated), `values` (`name=value,...` for parameters and `*_id` fields, e.g. ids known
//! to exist), `base_path` (`auto`: the document's server path unless the run's base URL has a
//! path of its own, so `http://host/v2` never becomes `/v2/v2/...`). The same document, config and
//! base URL always give the same plan.

mod doc;
mod plan;
mod values;

use serde_json::Value;
#[cfg(target_family = "wasm")]
use smoke_plugin::log;
use smoke_plugin::{CheckInput, ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Verdict};

struct OpenApi;

fn overrides(input: &PlanInput) -> Result<plan::Overrides, PlanError> {
    let mut o = plan::Overrides {
        planned_skips: input.host_supports("tag.skip"),
        location_ids: input.host_supports("template.last-segment"),
        run_token: input.host_supports("template.run"),
        ..Default::default()
    };
    if let Some(skip) = input.config("skip") {
        o.skip = skip.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    }
    if let Some(auth) = input.config("auth").filter(|a| !a.is_empty()) {
        let (name, value) = auth.split_once(':').ok_or_else(|| {
            PlanError::new("auth must be a header as `Name: value`, e.g. `Authorization: Bearer TOKEN`")
                .at("config.auth")
        })?;
        o.auth = Some((name.trim().to_string(), value.trim().to_string()));
    }
    if let Some(values) = input.config("values") {
        for pair in values.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                PlanError::new(format!("values: {pair:?} is not name=value")).at("config.values")
            })?;
            o.values.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    o.keep_data = flag(input, "keep_data")?;
    o.destructive = flag(input, "destructive")?;
    Ok(o)
}

/// A `true`/`false` config key (`false` when not given).
fn flag(input: &PlanInput, key: &str) -> Result<bool, PlanError> {
    match input.config(key).unwrap_or("false").trim() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        other => Err(PlanError::new(format!("{key} must be \"true\" or \"false\", not {other:?}"))
            .at(format!("config.{key}"))),
    }
}

/// The path operations start with, from the `base_path` config and the run's base URL; `None`
/// for the document's own server path.
fn base_path(input: &PlanInput) -> Result<Option<String>, PlanError> {
    let setting = input.config("base_path").unwrap_or("auto").trim();
    match setting {
        "auto" | "" => {
            // The base URL's own path (`http://host/v2`) already leads to the API: adding the
            // document's would double it.
            let target: serde_json::Value = input
                .document("target")
                .and_then(|d| serde_json::from_slice(&d.content).ok())
                .unwrap_or_default();
            let own = target.get("base_path").and_then(serde_json::Value::as_str).unwrap_or("");
            Ok((!own.is_empty()).then(String::new))
        }
        "document" => Ok(None),
        "none" => Ok(Some(String::new())),
        path if path.starts_with('/') => Ok(Some(path.to_string())),
        other => Err(PlanError::new(format!(
            "base_path {other:?} is not `auto`, `document`, `none` or a path starting with `/`"
        ))
        .at("config.base_path")),
    }
}

impl Plugin for OpenApi {
    fn info() -> Info {
        Info::new("openapi", env!("CARGO_PKG_VERSION"), "any HTTP API")
            .describe("Smoke plans from an OpenAPI 3.x or Swagger 2.0 document")
            .config_key(
                "spec",
                ConfigKind::Document,
                true,
                None,
                "the OpenAPI document: a path, an http(s) URL, or a path on the service (`/openapi.json`)",
            )
            .config_key(
                "base_path",
                ConfigKind::Text,
                false,
                Some("auto"),
                "the path every request starts with: `auto` (the document's server path, unless the base URL \
                 has a path of its own), `document` (always the document's), `none`, or a path such as `/v2`",
            )
            .config_key(
                "target",
                ConfigKind::Document,
                false,
                Some("smoke:target"),
                "where the API is served; smoke hands it in (leave as is)",
            )
            .config_key(
                "auth",
                ConfigKind::Secret,
                false,
                Some(""),
                "a header for every request, `Name: value` (e.g. `Authorization: Bearer TOKEN`)",
            )
            .config_key(
                "skip",
                ConfigKind::Text,
                false,
                Some(""),
                "operation ids or `METHOD /path` not to exercise",
            )
            .config_key(
                "destructive",
                ConfigKind::Text,
                false,
                Some("false"),
                "`true` to send DELETEs that may destroy what the run did not create (a collection, a record named in `values`)",
            )
            .config_key(
                "keep_data",
                ConfigKind::Text,
                false,
                Some("false"),
                "`true` to keep what scenarios make (by default each deletes it at its end, where the document has a DELETE)",
            )
            .config_key(
                "values",
                ConfigKind::Text,
                false,
                Some(""),
                "`name=value,...` for parameters and *_id fields",
            )
    }

    fn check(input: CheckInput) -> Verdict {
        let (rule, argument) = match input.rule() {
            Ok(r) => r,
            Err(verdict) => return verdict,
        };
        match rule.as_str() {
            REFUSED_FOR => judge_refusal(&argument, input.response_json()),
            LISTED => {
                let id = argument["variable"].as_str().and_then(|name| input.variable(name));
                judge_listed(&argument, id, input.response_json())
            }
            other => Verdict::fail(format!("unknown check rule {other:?}")),
        }
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        let document = input
            .document("spec")
            .ok_or_else(|| PlanError::new("no `spec` document was given").at("config.spec"))?;
        let base = base_path(&input)?;
        // The documents its `$ref`s name, which the host read after it.
        let others: Vec<(&str, &[u8])> = input
            .documents
            .iter()
            .filter(|d| d.key == "spec" && d.source != document.source)
            .map(|d| (d.source.as_str(), d.content.as_slice()))
            .collect();
        let doc = doc::Doc::load_based(&document.content, &document.source, base.as_deref(), &others)
            .map_err(|(message, location)| PlanError::new(message).at(location))?;
        for problem in &doc.problems {
            warn(&format!("{}: left out: {} (at {})", problem.endpoint, problem.message, problem.location));
        }
        if doc.operations.is_empty()
            && let Some(first) = doc.problems.first()
        {
            return Err(PlanError::new(format!(
                "no operation of the document can be planned; the first problem: {}: {}",
                first.endpoint, first.message
            ))
            .at(&first.location));
        }
        let overrides = overrides(&input)?;
        let generated = plan::Planner::new(&doc, &overrides).generate();
        for (endpoint, why) in &generated.skipped {
            warn(&format!("{endpoint}: {why}"));
        }
        let mut plan = Plan::new().scenarios(generated.scenarios);
        for op in &doc.operations {
            let constrained = op.body.is_some();
            plan = if op.path_params().is_empty() || op.statuses().contains(&404) {
                plan.endpoint(&op.endpoint(), constrained)
            } else {
                // No 404 is declared: a not-found is not expected of it.
                plan.upsert_endpoint(&op.endpoint(), constrained)
            };
        }
        Ok(plan)
    }
}

/// The `check` rule of a list read after a create: the new member is in it.
pub(crate) const LISTED: &str = "listed";

/// The list at `list` (a JSON pointer) of the answer, `body`, holds a member whose `field` is
/// `id`: the value of the argument's `variable`, the id the create answered.
fn judge_listed(argument: &Value, id: Option<Value>, body: Option<Value>) -> Verdict {
    let (Some(at), Some(field), Some(variable)) =
        (argument["list"].as_str(), argument["field"].as_str(), argument["variable"].as_str())
    else {
        return Verdict::fail("check argument lacks the list, the field or the variable");
    };
    let Some(id) = id else {
        return Verdict::fail(format!(
            "the create's answer gave no {field} (variable {variable} is not set)"
        ));
    };
    let Some(body) = body else { return Verdict::fail("the list's answer is not JSON") };
    let Some(members) = body.pointer(at).and_then(Value::as_array) else {
        let place = if at.is_empty() { "the answer".to_string() } else { format!("the answer's {at}") };
        return Verdict::fail(format!("{place} is not a list"));
    };
    let same = |v: &Value| v == &id || (as_text(v).is_some() && as_text(v) == as_text(&id));
    match members.iter().position(|m| m.get(field).is_some_and(same)) {
        Some(i) => Verdict::pass(format!("{field} {id} is member {} of {}", i + 1, members.len())),
        None => Verdict::fail(format!(
            "the new member ({field} {id}) is not in the list: {} member(s), none with that {field} \
             (acknowledged but not stored?)",
            members.len()
        )),
    }
}

/// A string or number as text (an id may be answered as one and listed as the other).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The `check` rule of a validation scenario: the refusal names the field it broke, where it
/// names fields at all.
pub(crate) const REFUSED_FOR: &str = "refused-for";

/// The fields an error answer names, in the forms services use: FastAPI's and pydantic's
/// `detail[].loc`, RFC 9457's `invalid-params[].name` and `errors[].pointer`, `errors[]` with a
/// `field`, `name`, `path`, `property` or `param`, and `errors` (or `fields`) keyed by field.
/// Empty when it names none (the answer says only a message).
fn fields_named(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let last = |text: &str| text.rsplit(['/', '.', '#']).find(|s| !s.is_empty()).unwrap_or(text).to_string();
    for key in ["detail", "errors", "invalid-params", "invalid_params", "violations", "fields"] {
        match body.get(key) {
            Some(Value::Array(items)) => {
                for item in items {
                    if let Some(loc) = item.get("loc").and_then(Value::as_array) {
                        // Without where it was (`body`, `query`...): the field itself.
                        let places = ["body", "query", "path", "header", "cookie"];
                        out.extend(
                            loc.iter()
                                .filter_map(Value::as_str)
                                .filter(|s| !places.contains(s))
                                .map(String::from),
                        );
                    }
                    for k in ["field", "name", "path", "property", "param", "pointer", "propertyPath"] {
                        if let Some(v) = item.get(k).and_then(Value::as_str) {
                            // Whole too: a name may hold a dot (`created.gte`).
                            out.push(v.to_string());
                            out.push(last(v));
                        }
                    }
                }
            }
            Some(Value::Object(map)) if key == "errors" || key == "fields" => out.extend(map.keys().cloned()),
            _ => {}
        }
    }
    out
}

/// A refusal of a body with `field` broken names `field`, when it names fields at all.
fn judge_refusal(argument: &Value, body: Option<Value>) -> Verdict {
    let Some(field) = argument.get("field").and_then(Value::as_str) else {
        return Verdict::fail("check argument lacks the field");
    };
    let named = body.as_ref().map(fields_named).unwrap_or_default();
    if named.is_empty() {
        return Verdict::pass("the refusal names no field; its status is what counts");
    }
    if named.iter().any(|n| n == field) {
        return Verdict::pass(format!("the refusal names {field}"));
    }
    Verdict::fail(format!(
        "refused for another reason: the answer names {} but not {field}, the field this scenario broke \
         (the service may check fields in another order; the request had only this one wrong)",
        named.join(", ")
    ))
}

/// A log line for the operator (the host's log import exists only on wasm).
fn warn(message: &str) {
    #[cfg(target_family = "wasm")]
    log::warn(message);
    #[cfg(not(target_family = "wasm"))]
    let _ = message;
}

smoke_plugin::export!(OpenApi);

#[cfg(test)]
mod tests;
