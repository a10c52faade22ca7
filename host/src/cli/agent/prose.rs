//! The business rules a target's documents state in words: each sentence of a `description` or
//! `summary` that says what must, must not, is unique, at least, at most... quoted with its JSON
//! pointer and what it describes, and whether a scenario covers it. A scenario covers a rule when
//! it is tagged `covers:POINTER` (or `covers:FILE#POINTER`): an explicit mark, never a guess.
//!
//! The documents are those the config's plugins name (a `.json`, `.yaml` or `.yml` file beside the
//! config) and inside the project; each is parsed within the budget every document gets.

use serde_json::{Value, json};
use std::path::Path;

/// The most rules listed, and the longest quote.
const MAX_RULES: usize = 500;
const MAX_QUOTE: usize = 400;
/// The largest document read.
const MAX_DOCUMENT: u64 = 32 << 20;

/// Words that make a sentence a rule.
fn rule_words() -> &'static regex::Regex {
    static WORDS: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    WORDS.get_or_init(|| {
        regex::Regex::new(
            r"(?i)\b(must|must not|shall|should|unique|at least|at most|no more than|no less than|greater than|less than|more than|never|cannot|can not|may not|only|exactly|equals?|the sum of)\b",
        )
        .expect("a valid pattern")
    })
}

pub(super) fn rules(project: &Path, settings: &crate::config::Settings, plan: &Value) -> Vec<Value> {
    let covered = covering(plan);
    let mut out = Vec::new();
    for (name, path) in documents(project, settings) {
        let Ok(bytes) = crate::files::read(&path, MAX_DOCUMENT, "a document") else { continue };
        let Ok(document) = documents::parse(&bytes, documents::budget(bytes.len())) else { continue };
        let mut found = Vec::new();
        walk(&document, &mut String::new(), &mut found);
        for (pointer, sentence) in found {
            if out.len() >= MAX_RULES {
                return out;
            }
            let place = pointer.rsplit_once('/').map_or("", |(parent, _)| parent);
            let keys = [pointer.clone(), format!("{name}#{pointer}")];
            let by: Vec<&String> = keys.iter().filter_map(|k| covered.get(k)).flatten().collect();
            let mut rule = json!({
                "rule": crate::http::clip_text(sentence, MAX_QUOTE),
                "document": name,
                "pointer": pointer,
                "about": about(&document, place),
                "covered_by": by,
            });
            if let Some(says) = constraints(&document, place) {
                rule["schema_says"] = says;
            }
            out.push(rule);
        }
    }
    out
}

/// The documents the config's plugins name, inside the project: (as named, the file).
fn documents(project: &Path, settings: &crate::config::Settings) -> Vec<(String, std::path::PathBuf)> {
    let mut out = Vec::new();
    for spec in &settings.plugins {
        for value in spec.config.values() {
            let lower = value.to_ascii_lowercase();
            if !(lower.ends_with(".json") || lower.ends_with(".yaml") || lower.ends_with(".yml")) {
                continue;
            }
            let Ok(file) = settings.base_dir.join(value).canonicalize() else { continue };
            if file.starts_with(project) && file.is_file() && !out.iter().any(|(_, f)| f == &file) {
                out.push((value.clone(), file));
            }
        }
    }
    out
}

/// Scenario ids by the rule (pointer, or `FILE#pointer`) their `covers:` tags name.
fn covering(plan: &Value) -> std::collections::HashMap<String, Vec<String>> {
    let mut by: std::collections::HashMap<String, Vec<String>> = Default::default();
    for s in plan["scenarios"].as_array().into_iter().flatten() {
        for tag in s["tags"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if let Some(rule) = tag.strip_prefix("covers:") {
                by.entry(rule.to_string())
                    .or_default()
                    .push(s["id"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    by
}

/// Every rule sentence of every `description` and `summary`, with the string's pointer.
fn walk(v: &Value, at: &mut String, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(map) => {
            for (key, value) in map {
                let len = at.len();
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                match value {
                    Value::String(text) if key == "description" || key == "summary" => {
                        for sentence in sentences(text) {
                            if rule_words().is_match(&sentence) {
                                out.push((at.clone(), sentence));
                            }
                        }
                    }
                    _ => walk(value, at, out),
                }
                at.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, value) in items.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                walk(value, at, out);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// A text's sentences, trimmed: cut after `.`, `!` or `?` before a space, and at line breaks.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            out.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            out.push(std::mem::take(&mut current));
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

/// What the object at `place` is, in words: an operation, a parameter, a schema's property.
fn about(document: &Value, place: &str) -> String {
    let parts: Vec<String> =
        place.split('/').skip(1).map(|p| p.replace("~1", "/").replace("~0", "~")).collect();
    let methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
    match parts.as_slice() {
        [paths, path, method, rest @ ..] if paths == "paths" && methods.contains(&method.as_str()) => {
            let operation = format!("{} {path}", method.to_ascii_uppercase());
            match rest {
                [] => operation,
                [p, i, ..] if p == "parameters" => {
                    let at: Vec<String> =
                        parts[..5].iter().map(|s| s.replace('~', "~0").replace('/', "~1")).collect();
                    let name =
                        document.pointer(&format!("/{}", at.join("/"))).and_then(|o| o.get("name")?.as_str());
                    format!("{operation}, parameter {}", name.unwrap_or(i))
                }
                [r, ..] if r == "requestBody" => format!("{operation}, request body"),
                [r, code, ..] if r == "responses" => format!("{operation}, response {code}"),
                _ => operation,
            }
        }
        [c, s, name, rest @ ..] if c == "components" && s == "schemas" => {
            let properties: Vec<&String> =
                rest.windows(2).filter(|w| w[0] == "properties").map(|w| &w[1]).collect();
            match properties.last() {
                Some(p) => format!("schema {name}, property {p}"),
                None => format!("schema {name}"),
            }
        }
        [] => "the document".to_string(),
        _ => place.to_string(),
    }
}

/// The machine-readable constraints beside a description, when it has any.
fn constraints(document: &Value, place: &str) -> Option<Value> {
    const KEYS: [&str; 12] = [
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "enum",
        "minItems",
        "maxItems",
        "uniqueItems",
        "format",
    ];
    let object = document.pointer(place)?.as_object()?;
    let said: serde_json::Map<String, Value> =
        KEYS.iter().filter_map(|k| Some((k.to_string(), object.get(*k)?.clone()))).collect();
    (!said.is_empty()).then_some(Value::Object(said))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_sentences_are_found_with_their_pointer_and_place() {
        let doc = json!({
            "paths": {"/products": {"post": {
                "description": "Creates a product. The SKU must be unique across products.",
                "parameters": [{"name": "dry", "in": "query", "description": "at most one per minute"}]
            }}},
            "components": {"schemas": {"Product": {"properties": {"price": {
                "type": "integer", "minimum": 1, "description": "Price in cents; must be greater than 0"
            }}}}}
        });
        let mut found = Vec::new();
        walk(&doc, &mut String::new(), &mut found);
        let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/components/schemas/Product/properties/price/description",
                "/paths/~1products/post/description",
                "/paths/~1products/post/parameters/0/description"
            ]
        );
        assert_eq!(found[1].1, "The SKU must be unique across products.", "only the rule's sentence");
        assert_eq!(about(&doc, "/paths/~1products/post"), "POST /products");
        assert_eq!(about(&doc, "/paths/~1products/post/parameters/0"), "POST /products, parameter dry");
        assert_eq!(
            about(&doc, "/components/schemas/Product/properties/price"),
            "schema Product, property price"
        );
        assert_eq!(
            constraints(&doc, "/components/schemas/Product/properties/price"),
            Some(json!({"minimum": 1}))
        );
    }

    #[test]
    fn plain_descriptions_are_not_rules() {
        let mut found = Vec::new();
        walk(&json!({"description": "Every product. The cart's id."}), &mut String::new(), &mut found);
        assert!(found.is_empty(), "{found:?}");
    }
}
