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
    if s.get("allOf").and_then(Value::as_array).is_some() {
        // One schema from all the parts, then one value from it: a `required` in one part
        // applies to properties of another, and scalar parts stay scalar.
        let merged = merge_all_of(doc, s, 0);
        return generate(doc, &merged, name, r, depth + 1);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|c| c.first()) {
            let mut value = generate(doc, first, name, r, depth + 1);
            if let Value::Object(map) = &mut value {
                // What tells this choice from the others: its discriminator, and its properties
                // of one possible value (`type: {enum: [ach]}`), even where optional.
                if let Some(property) = s.pointer("/discriminator/propertyName").and_then(Value::as_str)
                    && !map.contains_key(property)
                    && let Some(tag) = discriminator_value(s, first)
                {
                    map.insert(property.to_string(), Value::String(tag));
                }
                let choice = merge_all_of(doc, doc.deref(first), 0);
                for (prop, sub) in choice.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    let sub = doc.deref(sub);
                    let single = sub.get("const").cloned().or_else(|| {
                        sub.get("enum")
                            .and_then(Value::as_array)
                            .filter(|e| e.len() == 1)
                            .map(|e| e[0].clone())
                    });
                    if let Some(v) = single.filter(|_| !map.contains_key(prop)) {
                        map.insert(prop.clone(), v);
                    }
                }
            }
            return value;
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
                // Unless the object must have more properties than it requires.
                let least = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
                for (prop, sub) in props {
                    if out.len() >= least {
                        break;
                    }
                    if !out.contains_key(prop)
                        && doc.deref(sub).get("readOnly").and_then(Value::as_bool) != Some(true)
                    {
                        out.insert(prop.clone(), generate(doc, sub, prop, r, depth + 1));
                    }
                }
            }
            Value::Object(out)
        }
        Some("array") => {
            let n = s.get("minItems").and_then(Value::as_u64).unwrap_or(1).clamp(1, 256) as usize;
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

/// The parts of an `allOf` (and of theirs) as one schema: properties and `required` joined, the
/// first word of every other keyword kept. An example of a part is kept only for a value that is
/// not an object: one part's example object lacks what the other parts require.
pub fn merge_all_of(doc: &dyn Schemas, schema: &Value, depth: usize) -> Value {
    let s = doc.deref(schema);
    let Some(parts) = s.get("allOf").and_then(Value::as_array).filter(|_| depth < 8) else {
        return s.clone();
    };
    let mut merged = Map::new();
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let own = std::iter::once(s.clone()).map(|mut own| {
        if let Some(o) = own.as_object_mut() {
            o.remove("allOf");
        }
        own
    });
    for part in own.chain(parts.iter().map(|p| merge_all_of(doc, p, depth + 1))) {
        let Value::Object(part) = part else { continue };
        for (k, v) in part {
            match k.as_str() {
                "properties" => {
                    for (name, sub) in v.as_object().into_iter().flatten() {
                        properties.entry(name.clone()).or_insert_with(|| sub.clone());
                    }
                }
                "required" => {
                    for name in v.as_array().into_iter().flatten() {
                        if !required.contains(name) {
                            required.push(name.clone());
                        }
                    }
                }
                _ => {
                    merged.entry(k).or_insert(v);
                }
            }
        }
    }
    if !properties.is_empty() {
        merged.insert("properties".into(), Value::Object(properties));
        merged.entry("type").or_insert_with(|| "object".into());
    }
    if !required.is_empty() {
        merged.insert("required".into(), Value::Array(required));
    }
    if types(&Value::Object(merged.clone())).first() == Some(&"object") {
        for k in ["example", "examples", "default"] {
            merged.remove(k);
        }
    }
    Value::Object(merged)
}

/// The discriminator value of `choice` in `parent`: the mapping's key for its `$ref`, else the
/// `$ref`'s last segment (`#/components/schemas/Cat` is `Cat`).
fn discriminator_value(parent: &Value, choice: &Value) -> Option<String> {
    let target = choice.get("$ref").and_then(Value::as_str)?;
    let mapping = parent.pointer("/discriminator/mapping").and_then(Value::as_object);
    mapping
        .and_then(|m| m.iter().find(|(_, v)| v.as_str() == Some(target)).map(|(k, _)| k.clone()))
        .or_else(|| target.rsplit('/').next().map(String::from))
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
            Some(p) => match pattern_example_sized(p, min, max) {
                // Already as long as it may be: padding could break the match.
                Some(v) => return Value::String(v),
                None => r.unique(name),
            },
            None => r.unique(name),
        },
    };
    let mut text = text;
    let short = min.min(MAX_MADE_LENGTH).saturating_sub(text.chars().count());
    text.extend(std::iter::repeat_n('x', short));
    if let Some(max) = max {
        text = text.chars().take(max).collect();
    }
    Value::String(text)
}

/// A string that `pattern` matches, from the parsed regular expression (`regex-syntax`: classes
/// including Unicode ones such as `\p{L}`, `(?i)`, anchors, groups, alternation, bounded
/// repetition), checked with the `regex` crate before it is returned. `None` when the pattern is
/// not one the `regex` crate reads (look-around, back-references) or no value could be made.
pub fn pattern_example(pattern: &str) -> Option<String> {
    pattern_example_sized(pattern, 0, None)
}

/// `pattern_example`, trying for a length within `min..=max` characters (repetitions grow until
/// it is long enough); a value of another length if none is found.
pub fn pattern_example_sized(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    // A big document repeats its patterns: each is compiled once.
    /// (pattern, least length, most length) to the value made for them.
    type Made = std::collections::HashMap<(String, usize, Option<usize>), Option<String>>;
    thread_local! {
        static MADE: std::cell::RefCell<Made> = Default::default();
    }
    let key = (pattern.to_string(), min, max);
    if let Some(made) = MADE.with(|m| m.borrow().get(&key).cloned()) {
        return made;
    }
    let made = make_pattern_example(pattern, min, max);
    MADE.with(|m| m.borrow_mut().insert(key, made.clone()));
    made
}

/// A compiled regular expression, once per pattern; `None` when the `regex` crate cannot read it.
fn compiled(pattern: &str) -> Option<regex::Regex> {
    thread_local! {
        static COMPILED: std::cell::RefCell<std::collections::HashMap<String, Option<regex::Regex>>> =
            Default::default();
    }
    COMPILED.with(|c| {
        c.borrow_mut().entry(pattern.to_string()).or_insert_with(|| regex::Regex::new(pattern).ok()).clone()
    })
}

fn make_pattern_example(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    let regex = compiled(pattern)?;
    let mut fallback = None;
    let mut tries = vec![0, 1, 2, 4, 8, 16, 32, 64, 128, u32::try_from(min).unwrap_or(u32::MAX)];
    tries.sort_unstable();
    tries.dedup();
    for extra in tries {
        let mut out = String::new();
        if emit(&hir, extra, &mut out).is_none() || !regex.is_match(&out) {
            continue;
        }
        let len = out.chars().count();
        if len >= min && max.is_none_or(|m| len <= m) {
            return Some(out);
        }
        if max.is_some_and(|m| len > m) {
            break;
        }
        fallback.get_or_insert(out);
    }
    fallback
}

/// Whether `pattern` matches `value`; `None` when the `regex` crate cannot read the pattern.
pub fn pattern_matches(pattern: &str, value: &str) -> Option<bool> {
    compiled(pattern).map(|r| r.is_match(value))
}

/// Whether the `regex` crate reads `pattern` (as the host's schema validator must) within a size
/// a validator compiles: JSON Schema patterns are ECMA-262, and some (`[\w- ]`, `\p{all}`,
/// look-around, `\S{1,8192}`) are not read.
pub fn pattern_is_readable(pattern: &str) -> bool {
    /// Whether a repetition asks for more than a validator compiles (`\S{1,8192}`).
    fn huge(hir: &regex_syntax::hir::Hir) -> bool {
        use regex_syntax::hir::HirKind;
        match hir.kind() {
            HirKind::Repetition(r) => r.min > 1000 || r.max.is_some_and(|m| m > 1000) || huge(&r.sub),
            HirKind::Capture(c) => huge(&c.sub),
            HirKind::Concat(parts) | HirKind::Alternation(parts) => parts.iter().any(huge),
            _ => false,
        }
    }
    compiled(pattern).is_some()
        && regex_syntax::ParserBuilder::new().build().parse(pattern).is_ok_and(|hir| !huge(&hir))
}

/// The longest string made to satisfy `minLength`, and the longest `maxLength` a too-long value
/// is made for: a document declaring 100 MB strings gets no such value.
pub const MAX_MADE_LENGTH: usize = 65_536;

/// Append what `hir` matches: the first branch of an alternation, each repetition its least
/// count (raised towards `extra` where the repetition allows it), for each class a plain
/// character it holds.
fn emit(hir: &regex_syntax::hir::Hir, extra: u32, out: &mut String) -> Option<()> {
    use regex_syntax::hir::{Class, HirKind};
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.push_str(std::str::from_utf8(&literal.0).ok()?),
        HirKind::Class(Class::Unicode(class)) => {
            let ranges: Vec<(char, char)> = class.ranges().iter().map(|r| (r.start(), r.end())).collect();
            out.push(pick(&ranges)?);
        }
        HirKind::Class(Class::Bytes(class)) => {
            let ranges: Vec<(char, char)> = class
                .ranges()
                .iter()
                .filter(|r| r.start() < 0x80)
                .map(|r| (char::from(r.start()), char::from(r.end().min(0x7f))))
                .collect();
            out.push(pick(&ranges)?);
        }
        HirKind::Repetition(rep) => {
            let count = rep.min.max(extra.min(rep.max.unwrap_or(u32::MAX)));
            // A pattern asking for thousands of repetitions is not worth a value.
            if count > 4096 {
                return None;
            }
            for _ in 0..count {
                emit(&rep.sub, extra, out)?;
            }
        }
        HirKind::Capture(capture) => emit(&capture.sub, extra, out)?,
        HirKind::Concat(parts) => {
            for part in parts {
                emit(part, extra, out)?;
            }
        }
        HirKind::Alternation(branches) => {
            // The first branch that can be written.
            let start = out.len();
            if !branches.iter().any(|b| {
                out.truncate(start);
                emit(b, extra, out).is_some()
            }) {
                return None;
            }
        }
    }
    Some(())
}

/// A plain character from a class: a letter or digit people would type, else the first printable
/// one it holds.
fn pick(ranges: &[(char, char)]) -> Option<char> {
    let holds = |c: char| ranges.iter().any(|&(a, b)| a <= c && c <= b);
    ['a', 'A', '0', 'x', 'Z', '9', '_', '-', '.', ' '].into_iter().find(|&c| holds(c)).or_else(|| {
        ranges.iter().find_map(|&(a, b)| {
            let from = a.max(' ');
            (from <= b).then(|| (from..=b).find(|c| !c.is_control())).flatten()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{pattern_example, pattern_example_sized};

    #[test]
    fn patterns_give_matching_examples() {
        assert_eq!(pattern_example("^[0-9]{3}-[0-9]{2}-[0-9]{4}$").as_deref(), Some("000-00-0000"));
        assert_eq!(pattern_example("^[A-Z]{3}$").as_deref(), Some("AAA"));
        assert_eq!(pattern_example(r"^\d+$").as_deref(), Some("0"));
        assert_eq!(pattern_example("^(ab|cd)x?$").as_deref(), Some("ab"));
        assert_eq!(pattern_example(r"^\*\*\*-\*\*-[0-9]{4}$").as_deref(), Some("***-**-0000"));
    }

    /// What the hand-written walker gave up on, or got wrong: each value is checked here again
    /// with the regex crate, independently of the generator's own check.
    #[test]
    fn unicode_classes_case_insensitive_groups_and_anchors_give_matching_values() {
        for pattern in [
            r"^\p{L}+$",
            r"^\p{Lu}\p{Ll}{2,}$",
            r"(?i)^[a-f]{4}-(?:abc|xyz)$",
            r"(?i)^ORDER-\d{6}$",
            r"^[^\s@]+@[^\s@]+\.[^\s@]+$",
            r"^\+?[1-9]\d{1,14}$",
            r"^[\p{L}\p{M}' -]{2,50}$",
            r"\bword\b",
            r"^(?:[01]\d|2[0-3]):[0-5]\d$",
            r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$",
        ] {
            let value = pattern_example(pattern).unwrap_or_else(|| panic!("a value for {pattern}"));
            let re = regex::Regex::new(pattern).unwrap();
            assert!(re.is_match(&value), "{pattern} matches {value:?}");
        }
        // Look-around is not something the regex crate reads: no value, rather than a wrong one.
        assert_eq!(pattern_example(r"^(?=.*\d)\w+$"), None);
    }

    #[test]
    fn lengths_are_met_by_growing_repetitions() {
        let value = pattern_example_sized(r"^[a-z]+$", 8, Some(20)).unwrap();
        assert!((8..=20).contains(&value.len()) && value.chars().all(|c| c.is_ascii_lowercase()), "{value}");
        let value = pattern_example_sized(r"^\p{L}*$", 3, Some(3)).unwrap();
        assert_eq!(value.chars().count(), 3, "{value}");
    }
}
