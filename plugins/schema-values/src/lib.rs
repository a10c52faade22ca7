//! Valid values from JSON Schemas, shared by smoke's generic plugins (the OpenAPI plugin's
//! request bodies and parameters, the MCP plugin's tool arguments): examples and defaults first,
//! then constraints, and a small generator for the regular expressions `pattern` uses. The same
//! schema always gives the same value.

use serde_json::{Map, Value, json};

/// Where a schema's `$ref`s resolve: an OpenAPI document, or one tool's input schema.
pub trait Schemas {
    /// The schema a `$ref` points at (followed until it is not a reference), or `value` itself.
    fn deref<'a>(&'a self, value: &'a Value) -> &'a Value;
}

/// A standalone JSON Schema (an MCP tool's `inputSchema`): `$ref`s are JSON pointers into it
/// (`#/$defs/Posting`).
pub struct Standalone<'a>(pub &'a Value);

impl Schemas for Standalone<'_> {
    fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
                Some(pointer) => match self.0.pointer(pointer) {
                    Some(v) => value = v,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }
}

/// What generation asks of its caller: a value for a property that names another resource
/// (`product_id`), which the caller may create first. `None`: generate from the schema.
pub trait Resolver {
    /// `required`: a generated value would not do, so failing to create the resource fails the
    /// scenario; otherwise (an example's value) it is kept.
    fn reference(&mut self, property: &str, required: bool) -> Option<Value>;
    /// A string unique to this scenario and place, for names, codes and SKUs.
    fn unique(&mut self, hint: &str) -> String;
}

pub fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").collect(),
        _ => {
            if schema.get("properties").is_some() {
                vec!["object"]
            } else if schema.get("items").is_some() {
                vec!["array"]
            } else {
                vec![]
            }
        }
    }
}

/// The first type a schema allows, if it says.
pub fn type_of(doc: &dyn Schemas, schema: &Value) -> Option<String> {
    let s = doc.deref(schema);
    types(s).first().map(|t| t.to_string()).or_else(|| {
        s.get("allOf").and_then(Value::as_array).and_then(|all| all.iter().find_map(|p| type_of(doc, p)))
    })
}

/// A value `schema` accepts. `for_request`: leave out `readOnly` properties; otherwise leave out
/// `writeOnly` ones.
pub fn generate(doc: &dyn Schemas, schema: &Value, name: &str, r: &mut dyn Resolver, depth: usize) -> Value {
    let s = doc.deref(schema);
    if depth > 8 {
        return Value::Null;
    }
    if !name.is_empty()
        && let Some(v) = r.reference(name, true)
    {
        return v;
    }
    if let Some(v) = s.get("example").or_else(|| s.get("default")) {
        return substitute(v, r);
    }
    if let Some(v) = s.get("examples").and_then(Value::as_array).and_then(|e| e.first()) {
        return substitute(v, r);
    }
    if let Some(v) = s.get("const") {
        return v.clone();
    }
    if let Some(v) = s.get("enum").and_then(Value::as_array).and_then(|e| e.iter().find(|v| !v.is_null())) {
        return v.clone();
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in all {
            match generate(doc, part, name, r, depth + 1) {
                Value::Object(m) => merged.extend(m),
                other if all.len() == 1 => return other,
                _ => {}
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|c| c.first()) {
            return generate(doc, first, name, r, depth + 1);
        }
    }
    match types(s).first().copied() {
        Some("object") => {
            let required: Vec<&str> = s
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut out = Map::new();
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (prop, sub) in props {
                    let sub_resolved = doc.deref(sub);
                    if sub_resolved.get("readOnly").and_then(Value::as_bool) == Some(true) {
                        continue;
                    }
                    // Only what is required: optional fields are where APIs differ most.
                    if required.contains(&prop.as_str()) {
                        out.insert(prop.clone(), generate(doc, sub, prop, r, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = s.get("minItems").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
            let item = s.get("items").cloned().unwrap_or(json!({}));
            let singular = name.strip_suffix('s').unwrap_or(name);
            (0..n).map(|_| generate(doc, &item, singular, r, depth + 1)).collect()
        }
        Some("integer") | Some("number") => number(s),
        Some("boolean") => Value::Bool(true),
        Some("string") => string(s, name, r),
        _ => Value::String(r.unique(name)),
    }
}

/// An example as written, except the ids in it (`account_id`...): those name records of the
/// document author's server, so the caller's own records take their place.
fn substitute(example: &Value, r: &mut dyn Resolver) -> Value {
    match example {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let replaced = if v.is_string() || v.is_number() { r.reference(k, false) } else { None };
                    (k.clone(), replaced.unwrap_or_else(|| substitute(v, r)))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| substitute(v, r)).collect()),
        other => other.clone(),
    }
}

fn number(s: &Value) -> Value {
    let integer = types(s).first() == Some(&"integer");
    let mut low = s.get("minimum").and_then(Value::as_f64);
    if let Some(e) = s.get("exclusiveMinimum") {
        match e {
            Value::Bool(true) => low = low.map(|l| l + 1.0),
            Value::Number(n) => low = n.as_f64().map(|l| l + 1.0),
            _ => {}
        }
    }
    let high = s.get("maximum").and_then(Value::as_f64);
    // A small positive value inside the bounds: quantities and prices are rarely zero.
    let mut v = low.map_or(1.0, |l| l.max(1.0));
    if let Some(h) = high
        && v > h
    {
        v = low.unwrap_or(h);
    }
    if integer { json!(v as i64) } else { json!(v) }
}

fn string(s: &Value, name: &str, r: &mut dyn Resolver) -> Value {
    let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
    let max = s.get("maxLength").and_then(Value::as_u64).map(|m| m as usize);
    let format = s.get("format").and_then(Value::as_str).unwrap_or("");
    let text = match format {
        "uuid" => format!("00000000-0000-4000-8000-{:012}", 1),
        "date" => "2000-01-01".to_string(),
        "date-time" => "2000-01-01T00:00:00Z".to_string(),
        "email" => format!("{}@example.com", r.unique("user")),
        "uri" | "url" => "https://example.com/".to_string(),
        "ipv4" => "192.0.2.1".to_string(),
        _ => match s.get("pattern").and_then(Value::as_str) {
            Some(p) => pattern_example(p).unwrap_or_else(|| r.unique(name)),
            None => r.unique(name),
        },
    };
    let mut text = text;
    while text.chars().count() < min {
        text.push('x');
    }
    if let Some(max) = max {
        text = text.chars().take(max).collect();
    }
    Value::String(text)
}

/// A string matching a simple regular expression: anchors, literals, escapes (`\d \w \s` and
/// escaped punctuation), character classes with ranges, groups without alternation, and the
/// quantifiers `? * + {n} {n,} {n,m}` (taking the least they allow, at least one where `+`).
pub fn pattern_example(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    // (start of the last atom in `out`, its text)
    let mut last: Option<String> = None;
    while i < chars.len() {
        let c = chars[i];
        let atom: Option<String> = match c {
            '^' | '$' => {
                i += 1;
                None
            }
            '\\' => {
                let e = *chars.get(i + 1)?;
                i += 2;
                Some(match e {
                    'd' => "0".into(),
                    'w' => "a".into(),
                    's' => " ".into(),
                    'D' | 'W' | 'S' => "-".into(),
                    other if other.is_ascii_alphanumeric() => return None,
                    other => other.to_string(),
                })
            }
            '[' => {
                let end = (i + 1..chars.len()).find(|&j| chars[j] == ']' && j > i + 1)?;
                let class = &chars[i + 1..end];
                i = end + 1;
                if class.first() == Some(&'^') {
                    // Any character outside the class; pick one not in it.
                    let inside: String = class[1..].iter().collect();
                    Some(['a', 'Z', '0', '-', '_'].iter().find(|c| !inside.contains(**c))?.to_string())
                } else if class.first() == Some(&'\\') {
                    Some(match class.get(1)? {
                        'd' => "0".into(),
                        'w' => "a".into(),
                        other => other.to_string(),
                    })
                } else {
                    Some(class[0].to_string())
                }
            }
            '(' => {
                let mut level = 0;
                let end = (i..chars.len()).find(|&j| {
                    match chars[j] {
                        '(' => level += 1,
                        ')' => level -= 1,
                        _ => {}
                    }
                    level == 0
                })?;
                let inner: String = chars[i + 1..end].iter().collect();
                if inner.contains('|') {
                    let first = inner.trim_start_matches("?:").split('|').next()?.to_string();
                    i = end + 1;
                    Some(pattern_example(&first)?)
                } else {
                    i = end + 1;
                    Some(pattern_example(inner.trim_start_matches("?:"))?)
                }
            }
            '.' => {
                i += 1;
                Some("a".into())
            }
            '?' | '*' => {
                // The previous atom is optional: drop it.
                if let Some(prev) = last.take() {
                    out.truncate(out.len() - prev.len());
                }
                i += 1;
                None
            }
            '+' => {
                i += 1;
                None
            }
            '{' => {
                let end = (i..chars.len()).find(|&j| chars[j] == '}')?;
                let spec: String = chars[i + 1..end].iter().collect();
                let n: usize = spec.split(',').next()?.trim().parse().ok()?;
                i = end + 1;
                let prev = last.take()?;
                out.truncate(out.len() - prev.len());
                out.push_str(&prev.repeat(n));
                None
            }
            '|' => return Some(out),
            other => {
                i += 1;
                Some(other.to_string())
            }
        };
        if let Some(a) = atom {
            out.push_str(&a);
            last = Some(a);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::pattern_example;

    #[test]
    fn patterns_give_matching_examples() {
        assert_eq!(pattern_example("^[0-9]{3}-[0-9]{2}-[0-9]{4}$").as_deref(), Some("000-00-0000"));
        assert_eq!(pattern_example("^[A-Z]{3}$").as_deref(), Some("AAA"));
        assert_eq!(pattern_example(r"^\d+$").as_deref(), Some("0"));
        assert_eq!(pattern_example("^(ab|cd)x?$").as_deref(), Some("ab"));
        assert_eq!(pattern_example(r"^\*\*\*-\*\*-[0-9]{4}$").as_deref(), Some("***-**-0000"));
    }
}
