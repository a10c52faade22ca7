//! Response schemas as plain JSON Schema for the host to validate with; valid values from
//! schemas come from the `schema-values` crate the MCP plugin shares.

use crate::doc::{Doc, Version};
use serde_json::{Map, Value, json};

pub use schema_values::{
    MAX_MADE_LENGTH, MAX_NODES, Resolver, generate, merge_all_of, pattern_example, pattern_is_readable,
    pattern_matches, type_of,
};

impl schema_values::Schemas for Doc {
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        Doc::deref(self, value)
    }
}

/// The response schema for one or several success statuses (any of them) as plain JSON Schema
/// (draft 2020-12 dialect for the host's validator): each referenced schema converted once under
/// `$defs` (so a recursive or much-shared schema stays the size it is in the document),
/// `nullable` as a `null` type, `writeOnly` properties not required, OpenAPI-only keywords and
/// annotations dropped, patterns the validator cannot read left out. `None` for no schema.
pub fn response_schema(doc: &Doc, schemas: &[&Value]) -> Option<Value> {
    let mut defs = Defs::default();
    let mut converted: Vec<Value> = Vec::new();
    for schema in schemas {
        let c = convert(doc, schema, &mut defs, 0);
        if !converted.contains(&c) {
            converted.push(c);
        }
    }
    let mut root = match converted.len() {
        0 => return None,
        1 => converted.pop()?,
        _ => json!({"anyOf": converted}),
    };
    if !defs.converted.is_empty()
        && let Some(map) = root.as_object_mut()
    {
        map.insert("$defs".into(), Value::Object(defs.converted));
    }
    Some(root)
}

/// How many named schemas one response schema carries under `$defs`, at most.
pub const MAX_DEFS: usize = 48;

/// The referenced schemas converted so far: name under `$defs` by reference, and their contents.
#[derive(Default)]
struct Defs {
    names: std::collections::HashMap<String, String>,
    converted: Map<String, Value>,
}

fn convert(doc: &Doc, schema: &Value, defs: &mut Defs, depth: usize) -> Value {
    if depth > 64 {
        return json!({});
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = match defs.names.get(reference) {
            Some(name) => name.clone(),
            // A schema reaching more named schemas than a step should carry (Stripe's reach
            // hundreds): those past the bound are not checked.
            None if defs.names.len() >= MAX_DEFS => return json!({}),
            None => {
                let base: String = reference
                    .rsplit('/')
                    .next()
                    .unwrap_or("schema")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
                    .collect();
                let mut name = base.clone();
                let mut n = 1;
                while defs.converted.contains_key(&name) || defs.names.values().any(|v| v == &name) {
                    n += 1;
                    name = format!("{base}_{n}");
                }
                // Named before it is converted: a reference back to it ends here.
                defs.names.insert(reference.to_string(), name.clone());
                let target = doc.deref(schema);
                let converted = if target.get("$ref").is_some() {
                    json!({})
                } else {
                    convert(doc, target, defs, depth + 1)
                };
                defs.converted.insert(name.clone(), converted);
                name
            }
        };
        return json!({"$ref": format!("#/$defs/{name}")});
    }
    let s = schema;
    let Some(map) = s.as_object() else { return s.clone() };
    let mut out = Map::new();
    let write_only: Vec<String> = map
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| {
            p.iter()
                .filter(|(_, v)| doc.deref(v).get("writeOnly").and_then(Value::as_bool) == Some(true))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    for (k, v) in map {
        match k.as_str() {
            // Annotations: nothing to validate, and in a big document most of its bytes.
            "$ref" | "nullable" | "discriminator" | "xml" | "externalDocs" | "example" | "examples"
            | "readOnly" | "writeOnly" | "deprecated" | "x-nullable" | "description" | "title"
            | "$comment" => {}
            extension if extension.starts_with("x-") => {}
            // A pattern the validator cannot read is no check at all, not a broken plan.
            "pattern" if !v.as_str().is_some_and(pattern_is_readable) => {}
            "properties" | "patternProperties" | "definitions" | "$defs" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .filter(|(name, _)| !write_only.contains(name))
                            .filter(|(name, _)| k != "patternProperties" || pattern_is_readable(name))
                            .map(|(name, sub)| (name.clone(), convert(doc, sub, defs, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                out.insert(
                    k.clone(),
                    if v.is_object() { convert(doc, v, defs, depth + 1) } else { v.clone() },
                );
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                let parts: Vec<Value> = v
                    .as_array()
                    .map(|a| a.iter().map(|p| convert(doc, p, defs, depth + 1)).collect())
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(parts));
            }
            "required" => {
                let req: Vec<Value> = v
                    .as_array()
                    .map(|r| {
                        r.iter()
                            .filter(|n| !write_only.iter().any(|w| Some(w.as_str()) == n.as_str()))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Array(req));
            }
            "exclusiveMinimum" | "exclusiveMaximum" if v.is_boolean() => {
                // OpenAPI 3.0 / draft 4: a flag on minimum/maximum.
                let bound = if k == "exclusiveMinimum" { "minimum" } else { "maximum" };
                if v == &Value::Bool(true)
                    && let Some(b) = map.get(bound)
                {
                    out.insert(k.clone(), b.clone());
                }
            }
            "minimum" | "maximum"
                if map.get(if k == "minimum" { "exclusiveMinimum" } else { "exclusiveMaximum" })
                    == Some(&Value::Bool(true)) => {}
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    let nullable = map.get("nullable").and_then(Value::as_bool) == Some(true)
        || map.get("x-nullable").and_then(Value::as_bool) == Some(true);
    if nullable && doc.version != Version::OpenApi31 {
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert("type".into(), json!([t, "null"]));
            }
            _ => {
                let inner = Value::Object(std::mem::take(&mut out));
                out.insert("anyOf".into(), json!([inner, {"type": "null"}]));
            }
        }
        if let Some(Value::Array(e)) = out.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
    }
    Value::Object(out)
}
