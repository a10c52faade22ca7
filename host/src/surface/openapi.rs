//! An OpenAPI document's surface: each operation (`GET /things/{id}`) as what a client sends (its
//! parameters and body, as one object schema: `path.id`, `query.limit`, `header.X-Key`, `body`)
//! and what it gets back (the schema of its first success response), with every local `$ref`
//! resolved, so [`super::diff`] holds two versions of an API to the rules it holds MCP servers to.

use super::{Change, Operation, Surface};
use serde_json::{Map, Value, json};

/// The methods an OpenAPI path item holds operations under.
const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The most nodes `$ref`s are expanded into, over a whole document: past it a `$ref` is compared
/// as written (a document whose references fan out without end is not expanded without end).
const MAX_EXPANDED: usize = 500_000;

/// The most `$ref`s followed one inside another: past it one is compared as written.
const MAX_DEPTH: usize = 64;

/// The operations of an OpenAPI 3 document (or a Swagger 2 one: its `in: body` parameter is the
/// body, and a parameter's own type its schema).
pub fn of_openapi(doc: &Value) -> Surface {
    let mut refs = Refs { doc, expanded: 0 };
    let mut surface = Surface::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return surface };
    for (path, item) in paths {
        let item = refs.resolve(item, &mut Vec::new());
        let shared = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let text = |key: &str| op.get(key).and_then(Value::as_str).map(str::to_string);
            let operation = Operation {
                description: text("description").or_else(|| text("summary")),
                input: Some(refs.input(op, &shared)),
                output: refs.output(op),
                read_only: matches!(method, "get" | "head" | "options" | "trace"),
                destructive: method == "delete",
            };
            surface
                .insert(("operation".into(), format!("{} {path}", method.to_ascii_uppercase())), operation);
        }
    }
    surface
}

/// The changes as an API's reader says them: a request and a response, parameters, not an MCP
/// tool's input and output schemas and arguments.
pub fn in_api_words(changes: Vec<Change>) -> Vec<Change> {
    let words = |text: &str| {
        text.replace(" inputSchema", " request")
            .replace(" outputSchema", " response")
            .replace("outputSchema", "response schema")
            .replace("argument", "parameter")
            .replace("in the result", "in the response")
            .replace("to the result", "to the response")
            .replace("a result may", "a response may")
            .replace("a result is", "a response is")
            .replace("its results are", "its responses are")
    };
    changes
        .into_iter()
        .map(|c| Change { severity: c.severity, at: words(&c.at), what: words(&c.what) })
        .collect()
}

struct Refs<'a> {
    doc: &'a Value,
    expanded: usize,
}

impl Refs<'_> {
    /// `value` with every local `$ref` in it replaced by what it names (siblings of a `$ref` kept
    /// beside it); a reference to itself, or past the budget, is left as written.
    fn resolve(&mut self, value: &Value, stack: &mut Vec<String>) -> Value {
        self.expanded += 1;
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && let Some(pointer) = reference.strip_prefix('#')
                    && !stack.contains(reference)
                    && stack.len() < MAX_DEPTH
                    && self.expanded < MAX_EXPANDED
                    && let Some(target) = self.doc.pointer(pointer)
                {
                    stack.push(reference.clone());
                    let mut resolved = self.resolve(target, stack);
                    stack.pop();
                    if let Value::Object(out) = &mut resolved {
                        for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                            let v = self.resolve(v, stack);
                            out.insert(k.clone(), v);
                        }
                    }
                    return resolved;
                }
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.resolve(v, stack))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v, stack)).collect()),
            other => other.clone(),
        }
    }

    /// What a client sends, as one object schema: each parameter by where it goes and its name,
    /// the body as `body`; required ones required.
    fn input(&mut self, op: &Value, shared: &[Value]) -> Value {
        let mut properties = Map::new();
        let mut required = Vec::new();
        let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
        // An operation's parameter replaces the path item's of the same name and place.
        for p in shared.iter().chain(own.iter()) {
            let p = self.resolve(p, &mut Vec::new());
            let (Some(name), Some(place)) = (p["name"].as_str(), p["in"].as_str()) else { continue };
            let key = if place == "body" { "body".to_string() } else { format!("{place}.{name}") };
            let mut schema = match p.get("schema") {
                Some(s) => s.clone(),
                // Swagger 2: the parameter is its own schema.
                None => Value::Object(
                    p.as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| !matches!(k.as_str(), "name" | "in" | "required" | "description"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
            };
            if let (Some(d), Value::Object(s)) = (p.get("description"), &mut schema) {
                s.entry("description").or_insert_with(|| d.clone());
            }
            required.retain(|r| r != &key);
            if p["required"].as_bool() == Some(true) || place == "path" {
                required.push(key.clone());
            }
            properties.insert(key, schema);
        }
        if let Some(body) = op.get("requestBody") {
            let body = self.resolve(body, &mut Vec::new());
            if let Some(schema) = json_schema(&body["content"]) {
                properties.insert("body".into(), schema);
                if body["required"].as_bool() == Some(true) {
                    required.push("body".into());
                }
            }
        }
        json!({"type": "object", "properties": properties, "required": required})
    }

    /// The schema of the first success response (by status) that has one.
    fn output(&mut self, op: &Value) -> Option<Value> {
        let responses = op.get("responses")?.as_object()?;
        let mut codes: Vec<&String> = responses.keys().filter(|c| c.starts_with('2')).collect();
        codes.sort();
        codes.into_iter().find_map(|code| {
            let response = self.resolve(&responses[code], &mut Vec::new());
            // OpenAPI 3: under content; Swagger 2: the response's own schema.
            json_schema(&response["content"]).or_else(|| response.get("schema").cloned())
        })
    }
}

/// The JSON schema of a `content` map: its `application/json` (or another JSON) media type's.
fn json_schema(content: &Value) -> Option<Value> {
    let content = content.as_object()?;
    let json = content
        .iter()
        .find(|(t, _)| t.starts_with("application/json"))
        .or_else(|| content.iter().find(|(t, _)| t.contains("+json") || t.contains("/json")))?;
    json.1.get("schema").cloned()
}

#[cfg(test)]
mod tests {
    use super::super::{Severity, diff};
    use super::*;

    fn api(limit_required: bool, name_max: u32, response_required: &[&str]) -> Value {
        json!({"openapi": "3.0.3", "paths": {
            "/things": {
                "get": {"parameters": [{"name": "limit", "in": "query", "required": limit_required,
                                        "schema": {"type": "integer"}}],
                        "responses": {"200": {"description": "ok", "content": {"application/json": {
                            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Thing"}}}}}}},
                "post": {"requestBody": {"required": true, "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/Thing"}}}},
                         "responses": {"201": {"$ref": "#/components/responses/Made"}}}
            },
            "/things/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                             "get": {"responses": {"200": {"$ref": "#/components/responses/Made"}}}}
        }, "components": {
            "schemas": {"Thing": {"type": "object", "required": response_required,
                                  "properties": {"id": {"type": "string"}, "name": {"type": "string", "maxLength": name_max},
                                                 "parent": {"$ref": "#/components/schemas/Thing"}}}},
            "responses": {"Made": {"description": "made", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Thing"}}}}}
        }})
    }

    fn breaking(old: &Value, new: &Value) -> Vec<String> {
        in_api_words(diff(&of_openapi(old), &of_openapi(new)))
            .into_iter()
            .filter(|c| c.severity == Severity::Breaking)
            .map(|c| format!("{}: {}", c.at, c.what))
            .collect()
    }

    #[test]
    fn operations_are_read_with_their_references_resolved_and_compared() {
        let base = api(false, 100, &["id", "name"]);
        let surface = of_openapi(&base);
        let names: Vec<&str> = surface.keys().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["GET /things", "GET /things/{id}", "POST /things"]);
        let post = &surface[&("operation".to_string(), "POST /things".to_string())];
        assert_eq!(
            post.input.as_ref().unwrap()["properties"]["body"]["properties"]["name"]["maxLength"],
            100
        );
        assert_eq!(post.input.as_ref().unwrap()["required"], json!(["body"]));
        // A schema that refers to itself is expanded once, then left as written.
        let parent = &post.output.as_ref().unwrap()["properties"]["parent"];
        assert_eq!(parent["properties"]["parent"]["$ref"], "#/components/schemas/Thing");
        assert!(breaking(&base, &base).is_empty());

        assert_eq!(
            breaking(&base, &api(true, 100, &["id", "name"])),
            ["operation \"GET /things\" request: required parameter \"query.limit\" added"]
        );
        let tightened = breaking(&base, &api(false, 50, &["id", "name"]));
        assert!(
            tightened.contains(
                &"operation \"POST /things\" request /properties/body/properties/name: maxLength tightened from 100 to 50"
                    .to_string()
            ),
            "{tightened:?}"
        );
        let narrowed = breaking(&base, &api(false, 100, &["id"]));
        assert!(
            narrowed.contains(
                &"operation \"GET /things/{id}\" response: \"name\" is no longer required in the response: it may be missing"
                    .to_string()
            ),
            "{narrowed:?}"
        );
        let mut removed = base.clone();
        removed["paths"]["/things"].as_object_mut().unwrap().remove("post");
        assert_eq!(breaking(&base, &removed), ["operation \"POST /things\": the operation was removed"]);
    }
}
