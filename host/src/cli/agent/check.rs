//! `validate_plan`: scenarios to add to the plugins' plan (a scenario file's form), or a whole
//! plan, checked as `smoke run` would check them and more, every problem located by a JSON
//! pointer into what was given and paired with a fix:
//! 1. the plan schema (docs/plan-schema.json), a step's errors taken from the form it has;
//! 2. the checks every plan gets (`plan::validate`): ids, dependencies, cycles, statuses...;
//! 3. a step asking a plugin to judge names one that is loaded;
//! 4. each HTTP request names an endpoint the target declares;
//! 5. the coverage rules: a happy path expects 200, 201 or 204 (or 2xx), a not-found 404, a
//!    validation error 400 or 422; and the whole plan's gaps, as warnings.

use super::child::{self, Project, ToolError, fail};
use crate::plan::Plan;
use crate::plan::model::{Action, Scenario, ScenarioKind, StatusMatch};
use jsonschema::error::ValidationErrorKind;
use serde_json::{Value, json};

/// The most problems reported of each sort.
const MAX_PROBLEMS: usize = 100;

/// A problem: where (a JSON pointer into what was given), what, and how to fix it.
fn problem(pointer: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) -> Value {
    let message = crate::http::clip_text(message.into(), 600);
    json!({"pointer": pointer.into(), "message": message, "fix": fix.into()})
}

#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// `{"scenarios": [...]}`: scenarios to add to the plugins' plan.
    Scenarios,
    /// A whole plan.
    Plan,
}

pub(super) async fn validate(p: &Project, args: &Value) -> Result<Value, ToolError> {
    let given: Vec<&str> =
        ["scenarios", "plan", "file"].into_iter().filter(|k| args.get(*k).is_some()).collect();
    if given.len() > 1 {
        return fail(format!("give one of `scenarios`, `plan` or `file`, not {}", given.join(" and ")));
    }
    let config = match args.get("config").and_then(Value::as_str) {
        Some(c) => Some(p.config(Some(c))?),
        None => p.config(None).ok(),
    };
    // Nothing given: the scenario file the config names ([run] scenarios).
    let named = match (given.first(), &config) {
        (Some(_), _) => None,
        (None, Some(c)) => child::settings(c)?.scenarios.map(|f| p.shown(&f)),
        (None, None) => None,
    };
    if given.is_empty() && named.is_none() {
        return fail(
            "give `scenarios`, `plan` or `file`; with none, the config's scenario file is validated, and the \
             config names none ([run] scenarios)",
        );
    }
    let (shape, value) = match given.first().copied() {
        Some("scenarios") => (Shape::Scenarios, json!({ "scenarios": args["scenarios"] })),
        Some("plan") => (Shape::Plan, args["plan"].clone()),
        _ => {
            let name = args["file"].as_str().or(named.as_deref()).unwrap_or_default();
            let path = child::inside(&p.dir, name, true)?;
            let text = crate::files::read_text(&path, 64 << 20, "a scenario file")
                .map_err(|e| ToolError(e.to_string()))?;
            let value: Value = match serde_json::from_str(&text) {
                Ok(v) => v,
                Err(e) => {
                    let at = format!("{name}:{}:{}: not JSON: {e}", e.line(), e.column());
                    return Ok(answer(vec![problem("", at, "write the file as JSON")], vec![], 0));
                }
            };
            // The config's own scenario file is one; another file is a plan when it has what only
            // a plan has.
            let plan_keys = ["seeds", "plugins", "surface"];
            let shape = match value.as_object() {
                Some(o) if named.is_none() && o.keys().any(|k| plan_keys.contains(&k.as_str())) => {
                    Shape::Plan
                }
                _ => Shape::Scenarios,
            };
            // Read as `smoke run` reads it, which also refuses what a JSON value forgets (a key
            // given twice).
            if let Err(e) = typed_text(shape, &text) {
                let at = format!("{name}:{}:{}: {e}", e.line(), e.column());
                return Ok(answer(
                    vec![problem("", at, "give each key once, as smoke://schemas/plan says")],
                    vec![],
                    0,
                ));
            }
            (shape, value)
        }
    };
    let count = value["scenarios"].as_array().map_or(0, Vec::len);
    let errors = schema_errors(shape, &value);
    let mut result = if !errors.is_empty() {
        answer(errors, vec![], count)
    } else {
        let base = match (&config, shape) {
            (Some(c), Shape::Scenarios) => Some(plugins_plan(p, c).await?),
            _ => None,
        };
        checked(shape, value, base)
    };
    result["read_as"] = json!(match shape {
        Shape::Scenarios => "scenarios to add to the plugins' plan",
        Shape::Plan => "a whole plan",
    });
    Ok(result)
}

/// The text of a file read into the types `smoke run` reads it into; the error, with its line
/// and column, when it does not go.
fn typed_text(shape: Shape, text: &str) -> Result<(), serde_json::Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(rename = "$schema")]
        _schema: Option<String>,
        #[serde(rename = "description")]
        _description: Option<String>,
        #[serde(rename = "scenarios")]
        _scenarios: Vec<Scenario>,
    }
    match shape {
        Shape::Scenarios => serde_json::from_str::<File>(text).map(drop),
        Shape::Plan => serde_json::from_str::<Plan>(text).map(drop),
    }
}

/// The scenarios given, typed; what the schema could not see (a status of 200.0) located at the
/// scenario, and the step, that does not read.
fn typed(value: &Value) -> Result<Vec<Scenario>, Vec<Value>> {
    let list = value["scenarios"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, s) in list.iter().enumerate() {
        match serde_json::from_value::<Scenario>(s.clone()) {
            Ok(s) => out.push(s),
            Err(e) => {
                let step = s["steps"].as_array().into_iter().flatten().position(|step| {
                    serde_json::from_value::<crate::plan::model::Step>(step.clone()).is_err()
                });
                let pointer = step.map_or(format!("/scenarios/{i}"), |j| format!("/scenarios/{i}/steps/{j}"));
                problems.push(problem(
                    pointer,
                    e.to_string(),
                    "make it match smoke://schemas/plan at this place",
                ));
            }
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

fn answer(errors: Vec<Value>, warnings: Vec<Value>, scenarios: usize) -> Value {
    json!({"valid": errors.is_empty(), "errors": errors, "warnings": warnings, "scenarios": scenarios})
}

/// The plugins' plan for a config, without the scenarios a scenario file added (those are what is
/// being validated, perhaps in a new version).
async fn plugins_plan(p: &Project, config: &std::path::Path) -> Result<Value, ToolError> {
    let text = child::plan_text(p, config, &[], &[]).await?;
    let mut plan: Value =
        serde_json::from_str(&text).map_err(|e| ToolError(format!("the plan is not JSON: {e}")))?;
    if let Some(list) = plan["scenarios"].as_array_mut() {
        list.retain(|s| !s["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == "overlay")));
    }
    Ok(plan)
}

/// The schema for the shape given: the plan's, or a scenario file's (its scenarios as a plan's).
fn schema_for(shape: Shape) -> Value {
    let plan: Value = serde_json::from_str(super::catalog::DOCS[0].3).expect("the plan schema is JSON");
    match shape {
        Shape::Plan => plan,
        Shape::Scenarios => json!({
            "$schema": plan["$schema"],
            "$defs": plan["$defs"],
            "type": "object",
            "required": ["scenarios"],
            "additionalProperties": false,
            "properties": {
                "$schema": {"type": "string"},
                "description": {"type": "string"},
                "scenarios": {"type": "array", "items": {"$ref": "#/$defs/scenario"}}
            }
        }),
    }
}

fn schema_errors(shape: Shape, value: &Value) -> Vec<Value> {
    let validator = jsonschema::validator_for(&schema_for(shape)).expect("the plan schema compiles");
    let mut out = Vec::new();
    for e in validator.iter_errors(value) {
        located(&e, value, &mut out);
        if out.len() >= MAX_PROBLEMS {
            break;
        }
    }
    out
}

/// Which form a step has: the index of its branch in the schema's `oneOf`.
fn form(step: &Value) -> Option<usize> {
    ["request", "tool_call", "mcp_request", "mcp_check"].iter().position(|k| step.get(*k).is_some())
}

/// An error as problems: a step matching none of its forms is judged by the form it has, so the
/// pointer reaches the property at fault.
fn located(e: &jsonschema::ValidationError<'_>, value: &Value, out: &mut Vec<Value>) {
    let at = e.instance_path().to_string();
    if let ValidationErrorKind::OneOfNotValid { context } = e.kind()
        && let Some(step) = value.pointer(&at)
        && let Some(errors) = form(step).and_then(|i| context.get(i))
        && !errors.is_empty()
    {
        for inner in errors {
            located(inner, value, out);
        }
        return;
    }
    let fix = match e.kind() {
        ValidationErrorKind::Required { property } => format!("add {property} here"),
        ValidationErrorKind::AdditionalProperties { unexpected } => format!(
            "remove {} (or correct its spelling): this object takes only what smoke://schemas/plan lists",
            unexpected.join(", ")
        ),
        ValidationErrorKind::Enum { options } => format!("use one of {options}"),
        ValidationErrorKind::OneOfNotValid { .. }
            if value
                .pointer(&at)
                .is_some_and(|v| v.get("steps").is_none() && form(v).is_none() && at.contains("/steps/")) =>
        {
            "a step has `request` and `expect` (HTTP), or `tool_call`, or `mcp_request`, or `mcp_check`"
                .to_string()
        }
        _ => "make it match smoke://schemas/plan at this place".to_string(),
    };
    let message = e.to_string();
    if !out.iter().any(|p| p["pointer"] == at.as_str() && p["message"] == message.as_str()) {
        out.push(problem(at, message, fix));
    }
}

/// Stages 2 to 5, on a value the schema accepts.
fn checked(shape: Shape, value: Value, base: Option<Value>) -> Value {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let submitted = match typed(&value) {
        Ok(s) => s,
        Err(problems) => return answer(problems, vec![], value["scenarios"].as_array().map_or(0, Vec::len)),
    };
    let count = submitted.len();
    // The plan the scenarios join: the plugins' (for a scenario file), else the one given.
    let plan_value = match shape {
        Shape::Scenarios => {
            if base.is_none() {
                warnings.push(problem(
                    "",
                    "no config: the scenarios were not checked against the target's endpoints or the plugins' plan",
                    "start the server in a project with a smoke.toml, or give `config`",
                ));
            }
            base.clone().unwrap_or_else(|| json!({"scenarios": []}))
        }
        Shape::Plan => value.clone(),
    };
    let judges: Vec<String> = plan_value["plugins"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    let mut plan: Plan = match serde_json::from_value(plan_value.clone()) {
        Ok(plan) => plan,
        Err(e) => {
            return answer(
                vec![problem("", format!("not a plan: {e}"), "make it match smoke://schemas/plan")],
                warnings,
                count,
            );
        }
    };
    let mut submitted = submitted;
    if shape == Shape::Scenarios {
        for s in &mut submitted {
            if s.plugin.is_empty() {
                s.plugin = "overlay".into();
            }
            if !s.tags.iter().any(|t| t == "overlay") {
                s.tags.push("overlay".into());
            }
            plan.scenarios.push(s.clone());
        }
    }
    for (i, s) in submitted.iter().enumerate() {
        for (j, step) in s.steps.iter().enumerate() {
            if step.check().is_some() && shape == Shape::Scenarios && !judges.contains(&s.plugin) {
                errors.push(problem(
                    format!("/scenarios/{i}/steps/{j}/expect/check"),
                    format!("asks plugin {:?} to judge, but no plugin of that name is loaded", s.plugin),
                    format!(
                        "set the scenario's \"plugin\" to one that is ({}), or judge with `expect` alone",
                        if judges.is_empty() { "none is".to_string() } else { judges.join(", ") }
                    ),
                ));
            }
        }
        if shape == Shape::Scenarios
            && super::guard::reads_config(&serde_json::to_string(&s.steps).unwrap_or_default())
        {
            errors.push(problem(
                format!("/scenarios/{i}/steps"),
                "uses a plugin's config value ({{config.*}}): smoke mcp-server runs no such scenario, since a secret \
                 could reach its results in a form no redactor knows",
                "leave the config's values to the plugins' own scenarios (a plugin project: scaffold_plugin)",
            ));
        }
        errors.extend(own_problems(i, s));
        // The rules bind scenarios being added; a whole plan's plugins may have chosen otherwise
        // (a delete whose happy path also accepts 404): there they are warnings.
        match shape {
            Shape::Scenarios => errors.extend(coverage_rules(i, s)),
            Shape::Plan => warnings.extend(coverage_rules(i, s)),
        }
    }
    errors.extend(plan_problems(&plan, &submitted));
    let surface: Vec<(String, String)> = plan
        .surface
        .iter()
        .filter_map(|e| e.id.split_once(' ').map(|(m, p)| (m.to_string(), p.to_string())))
        .filter(|(_, p)| p.starts_with('/'))
        .collect();
    if !surface.is_empty() {
        for (i, s) in submitted.iter().enumerate() {
            errors.extend(endpoint_problems(i, s, &surface));
        }
    }
    for gap in crate::plan::coverage::coverage(&plan).gaps.into_iter().take(MAX_PROBLEMS) {
        warnings.push(problem(
            "",
            format!("coverage: {gap}"),
            "add a scenario of the kind it lacks for that endpoint",
        ));
    }
    errors.truncate(MAX_PROBLEMS);
    answer(errors, warnings, count)
}

/// What `plan::validate` says of one scenario alone (its steps), located.
fn own_problems(i: usize, s: &Scenario) -> Vec<Value> {
    own_messages(s)
        .into_iter()
        .map(|message| {
            let pointer = step_of(&message, &s.id)
                .map_or(format!("/scenarios/{i}"), |j| format!("/scenarios/{i}/steps/{j}"));
            let fix = fix_for(&message);
            problem(pointer, message, fix)
        })
        .collect()
}

fn own_messages(s: &Scenario) -> Vec<String> {
    let mut alone = Plan::default();
    let mut s = s.clone();
    s.depends_on.clear();
    alone.scenarios.push(s);
    crate::plan::validate::validate(&alone)
}

/// The step a message of `plan::validate` about scenario `id` names (`scenario "ID", step N (`),
/// 0-based; read after the id, whatever the id holds.
fn step_of(message: &str, id: &str) -> Option<usize> {
    let head = format!("scenario {id:?}, step ");
    let rest = message.strip_prefix(&head)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse::<usize>().ok()?.checked_sub(1)
}

fn fix_for(message: &str) -> String {
    if message.contains("used twice") {
        "give the scenario an id no other has (prefix yours, e.g. `rules.`)".into()
    } else if message.contains("depends on") {
        "name in depends_on only ids of scenarios in the plan, or remove it".into()
    } else if message.contains("cycle") {
        "remove one of the dependencies of the cycle".into()
    } else if message.contains("no steps") {
        "add at least one step".into()
    } else if message.contains("status") {
        "list in expect.status the statuses that count as a pass (numbers 100 to 599, or classes such as \"2xx\")".into()
    } else {
        "correct the step as the message says (smoke://schemas/plan)".into()
    }
}

/// What `plan::validate` says of the whole plan that the scenarios alone did not (ids,
/// dependencies, cycles, seeds), located at the seed or scenario it names.
fn plan_problems(plan: &Plan, submitted: &[Scenario]) -> Vec<Value> {
    let own: std::collections::HashSet<String> = submitted.iter().flat_map(own_messages).collect();
    let mut out = Vec::new();
    for message in crate::plan::validate::validate(plan) {
        if own.contains(&message) {
            continue;
        }
        let cycle: Vec<&str> =
            message.split_once("form a cycle: ").map_or(vec![], |(_, c)| c.split(" -> ").collect());
        let pointer = if message.starts_with("seed") {
            let named = if cycle.is_empty() {
                plan.seeds.iter().rposition(|s| message.contains(&format!("{:?}", s.id)))
            } else {
                plan.seeds.iter().position(|s| cycle.contains(&crate::text::escape_line(&s.id).as_ref()))
            };
            match named {
                Some(k) if message.contains("used twice") => format!("/seeds/{k}/id"),
                Some(k) if message.contains("depends on") || message.contains("cycle") => {
                    format!("/seeds/{k}/depends_on")
                }
                Some(k) => format!("/seeds/{k}/step"),
                None => String::new(),
            }
        } else {
            scenario_pointer(&message, &cycle, submitted).unwrap_or_default()
        };
        let fix = fix_for(&message);
        out.push(problem(pointer, message, fix));
    }
    out
}

/// Where among `scenarios` a message of `plan::validate` is about: a step, an id used twice, a
/// dependency, a cycle (`cycle`: the ids it names), or the scenario.
fn scenario_pointer(message: &str, cycle: &[&str], scenarios: &[Scenario]) -> Option<String> {
    if !cycle.is_empty() {
        // The cycle names its ids as printed (escaped, unquoted).
        let i = scenarios.iter().position(|s| cycle.contains(&crate::text::escape_line(&s.id).as_ref()))?;
        return Some(format!("/scenarios/{i}/depends_on"));
    }
    for (i, s) in scenarios.iter().enumerate().rev() {
        if let Some(j) = step_of(message, &s.id) {
            return Some(format!("/scenarios/{i}/steps/{j}"));
        }
    }
    let i = scenarios.iter().rposition(|s| message.contains(&format!("{:?}", s.id)))?;
    Some(if message.contains("used twice") {
        format!("/scenarios/{i}/id")
    } else if message.contains("depends on") {
        format!("/scenarios/{i}/depends_on")
    } else {
        format!("/scenarios/{i}")
    })
}

/// `plan::validate`'s messages about a plan that holds the scenarios of a scenario file
/// (`overlay`, in the file's order), each about one of them led by its place in the file:
/// `FILE: /scenarios/0/steps/1: ...`. What `smoke run --scenarios` says.
pub(in crate::cli) fn pointed(
    messages: Vec<String>,
    overlay: &[Scenario],
    file: &std::path::Path,
) -> Vec<String> {
    messages
        .into_iter()
        .map(|message| {
            let cycle: Vec<&str> =
                message.split_once("form a cycle: ").map_or(vec![], |(_, c)| c.split(" -> ").collect());
            match scenario_pointer(&message, &cycle, overlay) {
                Some(pointer) if !message.starts_with("seed") => {
                    format!("{}: {pointer}: {message}", file.display())
                }
                _ => message,
            }
        })
        .collect()
}

/// The statuses a step accepts, as written.
fn statuses(expected: &[StatusMatch]) -> Vec<String> {
    expected
        .iter()
        .map(|s| match s {
            StatusMatch::Code(c) => c.to_string(),
            StatusMatch::Class(c) => format!("{c}xx"),
        })
        .collect()
}

/// The coverage rules of one scenario's last HTTP step, by its kind.
fn coverage_rules(i: usize, s: &Scenario) -> Vec<Value> {
    let Some((j, call)) = s.steps.iter().enumerate().rev().find_map(|(j, step)| match &step.action {
        Action::Http(call) => Some((j, call)),
        _ => None,
    }) else {
        return vec![];
    };
    let given = statuses(&call.expect.status);
    let (allowed, rule): (&[&str], &str) = match s.kind {
        ScenarioKind::HappyPath => {
            (&["200", "201", "204", "2xx"], "a happy path expects 200, 201 or 204 (or 2xx)")
        }
        ScenarioKind::NotFound => (&["404"], "a not-found scenario expects 404"),
        ScenarioKind::ValidationError => (&["400", "422"], "a validation-error scenario expects 400 or 422"),
        _ => return vec![],
    };
    if given.iter().all(|g| allowed.contains(&g.as_str())) {
        return vec![];
    }
    vec![problem(
        format!("/scenarios/{i}/steps/{j}/expect/status"),
        format!("{rule}; its last request expects {}", given.join(", ")),
        format!("expect only {}, or give the scenario the kind its expectation is", allowed.join(" or ")),
    )]
}

/// Whether a request path (which may hold `{{var}}`) can be the declared path (which may hold
/// `{param}`).
fn path_matches(request: &str, declared: &str) -> bool {
    let request = request.split(['?', '#']).next().unwrap_or_default();
    let (a, b): (Vec<&str>, Vec<&str>) = (
        request.trim_end_matches('/').split('/').collect(),
        declared.trim_end_matches('/').split('/').collect(),
    );
    a.len() == b.len()
        && a.iter().zip(&b).all(|(r, d)| {
            r == d || r.contains("{{") || (d.starts_with('{') && d.ends_with('}') && !r.is_empty())
        })
}

/// Each HTTP request of a scenario against the endpoints the target declares.
fn endpoint_problems(i: usize, s: &Scenario, surface: &[(String, String)]) -> Vec<Value> {
    let mut out = Vec::new();
    for (j, step) in s.steps.iter().enumerate() {
        let Action::Http(call) = &step.action else { continue };
        let method = call.request.method.as_str().to_string();
        let path = &call.request.path;
        // HEAD is GET without the body (RFC 9110, 9.3.2): a GET endpoint takes it.
        let same =
            |m: &str| m.eq_ignore_ascii_case(&method) || (method == "HEAD" && m.eq_ignore_ascii_case("GET"));
        if surface.iter().any(|(m, d)| same(m) && path_matches(path, d)) {
            continue;
        }
        let same_path: Vec<&str> =
            surface.iter().filter(|(_, d)| path_matches(path, d)).map(|(m, _)| m.as_str()).collect();
        let (pointer, fix) = if !same_path.is_empty() {
            (
                format!("/scenarios/{i}/steps/{j}/request/method"),
                format!("the target declares {} for this path", same_path.join(", ")),
            )
        } else {
            let mut near: Vec<&(String, String)> = surface.iter().collect();
            near.sort_by_key(|(_, d)| distance(path, d));
            let near: Vec<String> = near.iter().take(3).map(|(m, d)| format!("{m} {d}")).collect();
            (
                format!("/scenarios/{i}/steps/{j}/request/path"),
                format!("use a declared endpoint; the nearest: {}", near.join(", ")),
            )
        };
        out.push(problem(pointer, format!("{method} {path} is not an endpoint the target declares"), fix));
    }
    out
}

/// Levenshtein distance, for suggesting the nearest endpoint.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut last = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(last + usize::from(ca != *cb));
            last = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenarios(list: Value) -> Value {
        checked(Shape::Scenarios, json!({ "scenarios": list }), Some(base()))
    }

    fn base() -> Value {
        json!({
            "plugins": [{"name": "shop", "version": "1", "domain": "d", "sha256": "x", "wit": "0.2.0"}],
            "scenarios": [],
            "surface": [{"id": "POST /products", "plugin": "shop"}, {"id": "GET /products/{id}", "plugin": "shop", "has_path_params": true}]
        })
    }

    fn pointers(answer: &Value) -> Vec<&str> {
        answer["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect()
    }

    #[test]
    fn a_step_of_the_wrong_shape_is_located_at_the_property_at_fault() {
        let value = json!({"scenarios": [{"id": "a", "endpoint": "x", "kind": "happy-path", "steps": [
            {"request": {"method": "GET", "path": "/products/1"}, "expect": {"status": ["abc"]}}
        ]}]});
        let errors = schema_errors(Shape::Scenarios, &value);
        let at: Vec<&str> = errors.iter().map(|e| e["pointer"].as_str().unwrap()).collect();
        assert_eq!(at, ["/scenarios/0/steps/0/expect/status/0"], "{errors:?}");
        let value = json!({"scenarios": [{"id": "a", "endpoint": "x", "kind": "happy-path", "steps": [
            {"request": {"method": "GET", "path": "/products/1", "bodyy": 1}, "expect": {"status": [200]}}
        ]}]});
        let errors = schema_errors(Shape::Scenarios, &value);
        assert_eq!(errors[0]["pointer"], "/scenarios/0/steps/0/request", "{errors:?}");
        assert!(errors[0]["fix"].as_str().unwrap().contains("bodyy"), "{errors:?}");
    }

    #[test]
    fn coverage_rules_endpoints_and_ids_are_located() {
        let answer = scenarios(json!([
            {"id": "ok", "endpoint": "GET /products/{id}", "kind": "not-found", "steps": [
                {"request": {"method": "GET", "path": "/products/{{missing}}"}, "expect": {"status": [404]}}]},
            {"id": "wrong-kind", "endpoint": "GET /products/{id}", "kind": "not-found", "steps": [
                {"request": {"method": "GET", "path": "/products/x"}, "expect": {"status": [200]}}]},
            {"id": "typo", "endpoint": "POST /products", "kind": "business-rule", "steps": [
                {"request": {"method": "POST", "path": "/prodcts"}, "expect": {"status": [201]}}]},
            {"id": "ok", "endpoint": "POST /products", "kind": "business-rule", "depends_on": ["nowhere"], "steps": [
                {"request": {"method": "PUT", "path": "/products"}, "expect": {"status": [201]}}]}
        ]));
        assert_eq!(answer["valid"], false);
        let at = pointers(&answer);
        for want in [
            "/scenarios/1/steps/0/expect/status",
            "/scenarios/2/steps/0/request/path",
            "/scenarios/3/steps/0/request/method",
            "/scenarios/3/id",
            "/scenarios/3/depends_on",
        ] {
            assert!(at.contains(&want), "{want} in {at:?}: {answer}");
        }
        assert!(!at.iter().any(|p| p.starts_with("/scenarios/0")), "the first is right: {answer}");
        let typo = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["pointer"] == "/scenarios/2/steps/0/request/path")
            .unwrap();
        assert!(typo["fix"].as_str().unwrap().contains("POST /products"), "{typo}");
    }

    #[test]
    fn a_right_scenario_is_valid() {
        let answer = scenarios(
            json!([{"id": "rules.a", "endpoint": "POST /products", "kind": "validation-error", "steps": [
            {"request": {"method": "POST", "path": "/products", "body": {"type": "json", "value": {"price": 0}}}, "expect": {"status": [422]}}]}]),
        );
        assert_eq!(
            (answer["valid"].as_bool(), answer["errors"].as_array().unwrap().len()),
            (Some(true), 0),
            "{answer}"
        );
    }

    #[test]
    fn cycles_odd_ids_seeds_and_what_only_serde_sees_are_located_too() {
        let http = |status: Value| json!({"request": {"method": "GET", "path": "/products/1"}, "expect": {"status": status}});
        let answer = scenarios(json!([
            {"id": "r.a", "endpoint": "GET /products/{id}", "kind": "business-rule", "depends_on": ["r.b"], "steps": [http(json!([200]))]},
            {"id": "r.b", "endpoint": "GET /products/{id}", "kind": "business-rule", "depends_on": ["r.a"], "steps": [http(json!([200]))]},
            {"id": "r.x, step 9 (a)", "endpoint": "GET /products/{id}", "kind": "business-rule",
             "steps": [http(json!([200])), {"request": {"method": "GET", "path": "/products/1"}, "expect": {"status": []}}]}
        ]));
        let at = pointers(&answer);
        assert!(at.contains(&"/scenarios/0/depends_on"), "the cycle: {answer}");
        assert!(at.contains(&"/scenarios/2/steps/1"), "read after the id: {answer}");
        assert!(!at.contains(&""), "{answer}");

        let answer = scenarios(
            json!([{"id": "f", "endpoint": "x", "kind": "business-rule", "steps": [http(json!([200])), http(json!([200.0]))]}]),
        );
        assert_eq!(pointers(&answer), ["/scenarios/0/steps/1"], "{answer}");

        let plan = json!({"seeds": [{"id": "s", "depends_on": ["nowhere"], "step": http(json!([200]))}], "scenarios": [
            {"id": "ok", "endpoint": "x", "kind": "happy-path", "steps": [http(json!([200, 404]))]}]});
        let answer = checked(Shape::Plan, plan, None);
        assert_eq!(pointers(&answer), ["/seeds/0/depends_on"], "{answer}");
        let warned: Vec<&str> =
            answer["warnings"].as_array().unwrap().iter().map(|w| w["pointer"].as_str().unwrap()).collect();
        assert!(
            warned.contains(&"/scenarios/0/steps/0/expect/status"),
            "a whole plan's choice is a warning: {answer}"
        );
    }

    #[test]
    fn a_seed_cycle_is_located_at_a_seed() {
        let step = json!({"request": {"method": "POST", "path": "/p"}, "expect": {"status": [201]}});
        let plan = json!({"seeds": [
            {"id": "a", "depends_on": ["b"], "step": step}, {"id": "b", "depends_on": ["a"], "step": step}
        ], "scenarios": [{"id": "ok", "endpoint": "x", "kind": "auth", "steps": [step]}]});
        let answer = checked(Shape::Plan, plan, None);
        assert_eq!(pointers(&answer), ["/seeds/0/depends_on"], "{answer}");
    }

    #[test]
    fn a_file_is_read_as_smoke_run_reads_it() {
        let text = r#"{"scenarios": [{"id": "a", "id": "b", "endpoint": "x", "kind": "auth", "steps": []}]}"#;
        let e = typed_text(Shape::Scenarios, text).unwrap_err();
        assert!(e.to_string().contains("duplicate field `id`"), "{e}");
    }
}
