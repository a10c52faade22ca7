//! Response schemas as plain JSON Schema for the host to validate with; valid values from
//! schemas come from the `schema-values` crate the MCP plugin shares.

use crate::doc::{Doc, Version};
use serde_json::{Map, Value, json};

pub use schema_values::{Resolver, generate, pattern_example, pattern_matches, type_of};

impl schema_values::Schemas for Doc {
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value {
        Doc::deref(self, value)
    }
}

/// A response schema as plain JSON Schema (draft 2020-12 dialect for the host's validator):
/// references inlined, `nullable` as a `null` type, `writeOnly` properties not required,
/// OpenAPI-only keywords dropped.
pub fn response_schema(doc: &Doc, schema: &Value) -> Value {
    convert(doc, schema, 0)
}

fn convert(doc: &Doc, schema: &Value, depth: usize) -> Value {
    if depth > 12 {
        return json!({});
    }
    let s = doc.deref(schema);
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
            "properties" | "patternProperties" | "definitions" | "$defs" => {
                let props: Map<String, Value> = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .filter(|(name, _)| !write_only.contains(name))
                            .map(|(name, sub)| (name.clone(), convert(doc, sub, depth + 1)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::Object(props));
            }
            "items" | "additionalProperties" | "not" | "contains" | "propertyNames" => {
                out.insert(k.clone(), if v.is_object() { convert(doc, v, depth + 1) } else { v.clone() });
            }
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                let parts: Vec<Value> = v
                    .as_array()
                    .map(|a| a.iter().map(|p| convert(doc, p, depth + 1)).collect())
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
