//! Valid values from JSON Schemas, shared by smoke's generic plugins (the OpenAPI plugin's
//! request bodies and parameters, the MCP plugin's tool arguments): examples and defaults first,
//! then constraints, and a small generator for the regular expressions `pattern` uses. The same
//! schema always gives the same value, and a value that cannot be shown to meet the whole schema
//! is not given: the caller gets the reason instead (`CannotMake`), to plan around it.

mod pattern;
mod scalar;

pub use pattern::{
    MAX_MADE_LENGTH, pattern_example, pattern_example_sized, pattern_is_readable, pattern_matches,
};
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
    /// A template the host renders to a token new in each run, as long as the template (`{{smoke.run}}`,
    /// host feature `template.run`), appended to a free string where it fits: a unique value must
    /// not collide with what an earlier run against the same service left. `None`: none.
    fn per_run(&self) -> Option<&str> {
        None
    }
}

/// How deeply a made value may nest: deeper is a schema no request needs.
pub const MAX_DEPTH: usize = 32;

/// How many schemas making one value may visit (merging `allOf` parts included): a schema that
/// expands exponentially (each part naming the next twice) stops here, in milliseconds.
pub const MAX_NODES: usize = 10_000;

/// No value could be made that the schema surely accepts: where in the value (a JSON pointer,
/// empty for the value itself), and why. A caller plans what needed the value as skipped, with
/// this as the reason, rather than send a value that may be wrong as a valid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannotMake {
    pub at: String,
    pub why: Why,
}

impl std::fmt::Display for CannotMake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.at.is_empty() { write!(f, "{}", self.why) } else { write!(f, "at {}: {}", self.at, self.why) }
    }
}

impl std::error::Error for CannotMake {}

/// Why no value was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Why {
    #[error("its pattern {pattern:?} is not a regular expression smoke reads, so no value can be checked")]
    PatternUnread { pattern: String },
    #[error("no value smoke made matches its pattern {pattern:?}")]
    PatternUnmatched { pattern: String },
    #[error("no value smoke made matching its pattern {pattern:?} has {}", length(*min, *max))]
    PatternLength { pattern: String, min: usize, max: Option<usize> },
    #[error("no {format} value smoke makes matches its pattern {pattern:?}")]
    FormatPattern { format: String, pattern: String },
    #[error("no {format} value smoke makes has {}", length(*min, *max))]
    FormatLength { format: String, min: usize, max: Option<usize> },
    #[error("its minLength {min} is more than its maxLength {max}")]
    Lengths { min: u64, max: u64 },
    #[error("its minLength {min} is longer than smoke makes a string ({MAX_MADE_LENGTH} characters)")]
    TooLong { min: u64 },
    #[error("no number meets {0}")]
    Number(String),
    #[error("none of the values its enum or const allows meets its other constraints")]
    Enum,
    #[error("its schema refers to itself without end ({reference})")]
    Endless { reference: String },
    #[error("its $ref {reference:?} leads to no schema")]
    Reference { reference: String },
    #[error("it nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("its value would expand past {MAX_NODES} nodes")]
    TooBig,
    #[error("it requires {property:?}, which its additionalProperties: false forbids")]
    Forbidden { property: String },
    #[error("its minProperties {least} is more than it declares properties for")]
    TooFewProperties { least: u64 },
    #[error("it requires more properties than its maxProperties {most}")]
    TooManyProperties { most: u64 },
    #[error("property name {name:?} does not meet its propertyNames")]
    PropertyName { name: String },
    #[error("its minItems {min} is more than it allows (maxItems, or the items of its tuple: {max})")]
    Items { min: u64, max: u64 },
    #[error("its minItems {min} is more than smoke makes (256)")]
    TooManyItems { min: u64 },
    #[error("its items must be unique, and the ones smoke made are not")]
    NotUnique,
    #[error("no value smoke made matches exactly one of its oneOf branches (each it made matches several)")]
    OneOfAmbiguous,
    #[error("its `{0}` is more than smoke can check a value against")]
    Unchecked(&'static str),
    #[error("the value smoke made is one its `not` forbids")]
    NotAllowed,
}

/// `between 3 and 8 characters`, `at least 3 characters`.
fn length(min: usize, max: Option<usize>) -> String {
    match max {
        Some(max) => format!("between {min} and {max} characters"),
        None => format!("at least {min} characters"),
    }
}

/// The types a schema declares (`null` left out), or the one its keywords imply (`properties`:
/// an object, `items`: an array).
pub fn types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) if t != "null" => vec![t.as_str()],
        Some(Value::String(_)) => vec![],
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

/// The kind of value to make for `s`: its first type, else what its keywords are about (a
/// `pattern` is about strings, a `minimum` about numbers), `null` where that is all it allows.
fn kind(s: &Value) -> Option<&str> {
    if let Some(first) = types(s).first() {
        return Some(*first);
    }
    let has = |keys: &[&str]| keys.iter().any(|k| s.get(*k).is_some());
    if s.get("type") == Some(&json!("null")) {
        Some("null")
    } else if has(&["pattern", "minLength", "maxLength", "format"]) {
        Some("string")
    } else if has(&["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]) {
        Some("number")
    } else if has(&["minItems", "maxItems", "prefixItems", "uniqueItems"]) {
        Some("array")
    } else if has(&["required", "minProperties", "maxProperties", "additionalProperties"]) {
        Some("object")
    } else {
        None
    }
}

/// The first type a schema allows, if it says (in it or its `allOf` parts, each schema looked at
/// once however often it is referred to).
pub fn type_of(doc: &dyn Schemas, schema: &Value) -> Option<String> {
    let mut seen: Vec<*const Value> = Vec::new();
    let mut stack = vec![schema];
    while let Some(next) = stack.pop() {
        let s = doc.deref(next);
        if seen.contains(&(s as *const Value)) || seen.len() > MAX_NODES {
            continue;
        }
        seen.push(s);
        if let Some(t) = types(s).first() {
            return Some(t.to_string());
        }
        stack.extend(s.get("allOf").and_then(Value::as_array).into_iter().flatten().rev());
    }
    None
}

/// A value `schema` accepts, or where and why none could be made. `name` is the property or
/// parameter it is for (`product_id` may name a resource the resolver makes first).
pub fn generate(
    doc: &dyn Schemas,
    schema: &Value,
    name: &str,
    r: &mut dyn Resolver,
) -> Result<Value, CannotMake> {
    Generator { doc, r, nodes: 0, refs: Vec::new(), at: Vec::new() }.value(schema, name, 0)
}

/// The parts of an `allOf` (and of theirs) as one schema: properties and `required` joined, the
/// first word of every other keyword kept. A part referring back to a schema being merged adds
/// nothing; a schema that is nothing but such references has no value (it refers to itself
/// without end). An example of a part is kept only for a value that is not an object: one part's
/// example object lacks what the other parts require.
pub fn merge_all_of(doc: &dyn Schemas, schema: &Value) -> Result<Value, CannotMake> {
    let mut merger = Merger { doc, seen: Vec::new(), nodes: 0, looped: None };
    merger.merged(schema).map_err(|why| CannotMake { at: String::new(), why })
}

/// Merges `allOf` parts, within the node budget, noticing references back.
struct Merger<'a> {
    doc: &'a dyn Schemas,
    /// The references being merged, outermost first.
    seen: Vec<String>,
    nodes: usize,
    /// A reference back that was left out, if any.
    looped: Option<String>,
}

impl Merger<'_> {
    fn merged(&mut self, schema: &Value) -> Result<Value, Why> {
        let merged = self.part(schema, 0)?.unwrap_or_default();
        let says_something = merged.keys().any(|k| !is_annotation(k));
        match self.looped.take() {
            Some(reference) if !says_something => Err(Why::Endless { reference }),
            _ => Ok(Value::Object(merged)),
        }
    }

    /// `schema` with its parts merged; `None` for a reference back to a schema being merged.
    fn part(&mut self, schema: &Value, depth: usize) -> Result<Option<Map<String, Value>>, Why> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(Why::TooBig);
        }
        if depth > MAX_DEPTH {
            return Err(Why::TooDeep);
        }
        let reference = schema.get("$ref").and_then(Value::as_str);
        if let Some(r) = reference {
            if self.seen.iter().any(|s| s == r) {
                self.looped.get_or_insert_with(|| r.to_string());
                return Ok(None);
            }
            self.seen.push(r.to_string());
        }
        let s = self.doc.deref(schema);
        let merged = match s.get("$ref").and_then(Value::as_str) {
            Some(unresolved) => Err(Why::Reference { reference: unresolved.to_string() }),
            None => self.parts_of(s, depth),
        };
        if reference.is_some() {
            self.seen.pop();
        }
        merged.map(Some)
    }

    fn parts_of(&mut self, s: &Value, depth: usize) -> Result<Map<String, Value>, Why> {
        let mut own = s.as_object().cloned().unwrap_or_default();
        let parts = match own.remove("allOf") {
            Some(Value::Array(parts)) => parts,
            _ => return Ok(own),
        };
        let mut merged = Map::new();
        let mut properties = Map::new();
        let mut required: Vec<Value> = Vec::new();
        let mut all = vec![own];
        for part in &parts {
            all.extend(self.part(part, depth + 1)?);
        }
        for part in all {
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
        Ok(merged)
    }
}

/// Keywords that say nothing of which values are valid.
fn is_annotation(keyword: &str) -> bool {
    matches!(
        keyword,
        "description"
            | "title"
            | "$comment"
            | "example"
            | "examples"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "nullable"
            | "discriminator"
            | "xml"
            | "externalDocs"
            | "$schema"
            | "$id"
            | "$anchor"
    ) || keyword.starts_with("x-")
}

/// One value being made: the budget it has used, the references it is inside (one met again is a
/// value that would contain itself), and where it is (for the reason, when it cannot be made).
struct Generator<'a> {
    doc: &'a dyn Schemas,
    r: &'a mut dyn Resolver,
    nodes: usize,
    refs: Vec<String>,
    at: Vec<String>,
}

impl Generator<'_> {
    fn fail(&self, why: Why) -> CannotMake {
        // The place the budget ran out is only where the count happened to end: the value as a
        // whole is too big.
        if why == Why::TooBig {
            return CannotMake { at: String::new(), why };
        }
        let at = self.at.iter().map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect();
        CannotMake { at, why }
    }

    /// The value at `segment` (a property name or an index) below this one.
    fn below(
        &mut self,
        segment: String,
        schema: &Value,
        name: &str,
        depth: usize,
    ) -> Result<Value, CannotMake> {
        self.at.push(segment);
        let made = self.value(schema, name, depth + 1);
        self.at.pop();
        made
    }

    fn value(&mut self, schema: &Value, name: &str, depth: usize) -> Result<Value, CannotMake> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(self.fail(Why::TooBig));
        }
        if depth > MAX_DEPTH {
            return Err(self.fail(Why::TooDeep));
        }
        let reference = schema.get("$ref").and_then(Value::as_str);
        if let Some(r) = reference {
            if self.refs.iter().any(|seen| seen == r) {
                return Err(self.fail(Why::Endless { reference: r.to_string() }));
            }
            self.refs.push(r.to_string());
        }
        let doc = self.doc;
        let s = doc.deref(schema);
        let made = match s.get("$ref").and_then(Value::as_str) {
            Some(unresolved) => Err(self.fail(Why::Reference { reference: unresolved.to_string() })),
            None => self.named(s, name, depth),
        };
        if reference.is_some() {
            self.refs.pop();
        }
        made
    }

    /// A value for the property `name`: the resource it names when the resolver has one, else
    /// one from the schema.
    fn named(&mut self, s: &Value, name: &str, depth: usize) -> Result<Value, CannotMake> {
        if !name.is_empty()
            && let Some(v) = self.r.reference(name, true)
        {
            return Ok(v);
        }
        self.documented(s, name, depth)
    }

    /// The document's own value where it meets the schema, else one made from the constraints.
    fn documented(&mut self, s: &Value, name: &str, depth: usize) -> Result<Value, CannotMake> {
        let examples = s.get("examples").and_then(Value::as_array).and_then(|e| e.first());
        for v in [s.get("example"), s.get("default"), examples].into_iter().flatten() {
            // Objects and arrays as written (a whole example body is the document's word);
            // scalars only where they meet the schema (an example breaking its own pattern is
            // a typo the server refuses).
            if v.is_object() || v.is_array() || scalar::holds(s, v) {
                return Ok(substitute(v, self.r));
            }
        }
        self.constrained(s, name, depth)
    }

    fn constrained(&mut self, s: &Value, name: &str, depth: usize) -> Result<Value, CannotMake> {
        if let Some(v) = s.get("const") {
            return if scalar::holds(s, v) { Ok(v.clone()) } else { Err(self.fail(Why::Enum)) };
        }
        if let Some(listed) = s.get("enum").and_then(Value::as_array) {
            let (values, nulls): (Vec<&Value>, Vec<&Value>) = listed.iter().partition(|v| !v.is_null());
            let found = values.into_iter().chain(nulls).find(|v| scalar::holds(s, v));
            return found.cloned().ok_or_else(|| self.fail(Why::Enum));
        }
        if s.get("allOf").is_some_and(Value::is_array) {
            // One schema from all the parts, then one value from it: a `required` in one part
            // applies to properties of another, and scalar parts stay scalar.
            let mut merger = Merger { doc: self.doc, seen: self.refs.clone(), nodes: 0, looped: None };
            let merged = merger.merged(s).map_err(|why| self.fail(why))?;
            self.nodes += merger.nodes;
            if self.nodes > MAX_NODES {
                return Err(self.fail(Why::TooBig));
            }
            return self.documented(&merged, name, depth + 1);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(choices) = s.get(key).and_then(Value::as_array).filter(|c| !c.is_empty()) {
                return self.choice(s, key, choices, name, depth);
            }
        }
        let value = match kind(s) {
            Some("object") => self.object(s, depth)?,
            Some("array") => self.array(s, name, depth)?,
            Some("integer" | "number") => scalar::number(s).map_err(|why| self.fail(why))?,
            Some("boolean") => Value::Bool(true),
            Some("string") => Value::String(scalar::string(s, name, self.r).map_err(|why| self.fail(why))?),
            Some("null") => Value::Null,
            // Any value will do.
            _ => Value::String(self.r.unique(name)),
        };
        self.unchecked(s, &value).map_err(|why| self.fail(why))?;
        Ok(value)
    }

    /// A `oneOf` or `anyOf`: the first choice a value can be made for, with the schema's own
    /// keywords beside it, and what tells it from the others: its discriminator, and its
    /// properties of one possible value (`type: {enum: [ach]}`), even where optional.
    fn choice(
        &mut self,
        s: &Value,
        key: &str,
        choices: &[Value],
        name: &str,
        depth: usize,
    ) -> Result<Value, CannotMake> {
        let mut own = s.clone();
        if let Some(o) = own.as_object_mut() {
            o.remove(key);
            o.remove("discriminator");
        }
        let mut first_failure = None;
        let mut ambiguous = false;
        for (at, choice) in choices.iter().enumerate() {
            let with_own = json!({"allOf": [own, choice]});
            let mut value = match self.value(&with_own, name, depth + 1) {
                Ok(value) => value,
                Err(e) => {
                    first_failure.get_or_insert(e);
                    continue;
                }
            };
            if let Value::Object(map) = &mut value {
                // The branch's tag, even over a value made for a required property of that name.
                if let Some(property) = s.pointer("/discriminator/propertyName").and_then(Value::as_str)
                    && let Some(tag) = discriminator_value(s, choice)
                {
                    map.insert(property.to_string(), Value::String(tag));
                }
                let chosen = merge_all_of(self.doc, choice).unwrap_or_default();
                for (prop, sub) in chosen.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    let sub = self.doc.deref(sub);
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
            // A `oneOf` value matches exactly one branch: one that several take is refused by a
            // strict server. Made to name what only its branch declares, else the next branch.
            // (A discriminator tells the branches apart by itself.)
            if key == "oneOf" && s.get("discriminator").is_none() && self.matching(choices, &value) > 1 {
                if let Some(distinct) = self.distinguished(choices, at, value, depth) {
                    return Ok(distinct);
                }
                ambiguous = true;
                continue;
            }
            return Ok(value);
        }
        if ambiguous {
            return Err(self.fail(Why::OneOfAmbiguous));
        }
        Err(first_failure.unwrap_or_else(|| self.fail(Why::Enum)))
    }

    /// How many of `choices` an object `value` meets, as far as its shape tells: every property
    /// the branch requires present, every present one the branch declares holding to it (its
    /// type, enum, const, bounds), none it forbids (`additionalProperties: false`). A value that
    /// is not an object is counted against scalar branches by [`scalar::holds`].
    fn matching(&self, choices: &[Value], value: &Value) -> usize {
        choices.iter().filter(|c| self.shallow_match(c, value)).count()
    }

    fn shallow_match(&self, choice: &Value, value: &Value) -> bool {
        let Ok(branch) = merge_all_of(self.doc, choice) else { return true };
        let Value::Object(map) = value else { return scalar::holds(&branch, value) };
        if !types(&branch).is_empty() && !types(&branch).contains(&"object") {
            return false;
        }
        let props = branch.get("properties").and_then(Value::as_object);
        let required = branch.get("required").and_then(Value::as_array).into_iter().flatten();
        if required.filter_map(Value::as_str).any(|r| !map.contains_key(r)) {
            return false;
        }
        for (k, v) in map {
            match props.and_then(|p| p.get(k)) {
                Some(sub) if !v.is_object() && !v.is_array() && !scalar::holds(self.doc.deref(sub), v) => {
                    return false;
                }
                Some(_) => {}
                None if branch.get("additionalProperties") == Some(&json!(false)) => return false,
                None => {}
            }
        }
        true
    }

    /// `value`, made for branch `at`, with a property only that branch declares added (made from
    /// its schema), when that makes it match that branch alone.
    fn distinguished(&mut self, choices: &[Value], at: usize, value: Value, depth: usize) -> Option<Value> {
        let Value::Object(map) = &value else { return None };
        let mine = merge_all_of(self.doc, &choices[at]).ok()?;
        let declared = |c: &Value| -> Vec<String> {
            merge_all_of(self.doc, c)
                .ok()
                .and_then(|b| {
                    b.get("properties").and_then(Value::as_object).map(|p| p.keys().cloned().collect())
                })
                .unwrap_or_default()
        };
        let others: Vec<String> =
            choices.iter().enumerate().filter(|(i, _)| *i != at).flat_map(|(_, c)| declared(c)).collect();
        let props = mine.get("properties").and_then(Value::as_object)?.clone();
        for (prop, sub) in props.iter().filter(|(p, _)| !map.contains_key(*p) && !others.contains(p)) {
            let Ok(made) = self.value(sub, prop, depth + 1) else { continue };
            let mut more = map.clone();
            more.insert(prop.clone(), made);
            let more = Value::Object(more);
            if self.matching(choices, &more) == 1 && self.shallow_match(&choices[at], &more) {
                return Some(more);
            }
        }
        None
    }

    /// An object of the required properties (`readOnly` ones left out), more while it has fewer
    /// than its `minProperties`, and what those present make `dependentRequired`.
    fn object(&mut self, s: &Value, depth: usize) -> Result<Value, CannotMake> {
        let empty = Map::new();
        let props = s.get("properties").and_then(Value::as_object).unwrap_or(&empty);
        let mut wanted: Vec<String> = Vec::new();
        let listed: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Declared ones in the document's order of names, then any required but not declared.
        wanted.extend(props.keys().filter(|p| listed.contains(&p.as_str())).cloned());
        wanted.extend(listed.iter().filter(|p| !props.contains_key(**p)).map(|p| p.to_string()));
        let doc = self.doc;
        let read_only = |sub: &Value| doc.deref(sub).get("readOnly").and_then(Value::as_bool) == Some(true);
        // Unless the object must have more properties than it requires.
        let least = s.get("minProperties").and_then(Value::as_u64).unwrap_or(0);
        let optional = props.iter().filter(|(p, sub)| !wanted.contains(p) && !read_only(sub)).map(|(p, _)| p);
        let short = (least as usize).saturating_sub(wanted.len());
        let extra: Vec<String> = optional.take(short).cloned().collect();
        if wanted.len() + extra.len() < least as usize {
            return Err(self.fail(Why::TooFewProperties { least }));
        }
        wanted.extend(extra);
        let mut out = Map::new();
        let mut i = 0;
        while i < wanted.len() {
            let prop = wanted[i].clone();
            i += 1;
            if out.contains_key(&prop) {
                continue;
            }
            let sub = match props.get(&prop) {
                Some(sub) if read_only(sub) => continue,
                Some(sub) => sub.clone(),
                None => match s.get("additionalProperties") {
                    Some(Value::Bool(false)) => return Err(self.fail(Why::Forbidden { property: prop })),
                    Some(schema @ Value::Object(_)) => schema.clone(),
                    _ => json!({}),
                },
            };
            let value = self.below(prop.clone(), &sub, &prop, depth)?;
            out.insert(prop.clone(), value);
            // What a present property makes required (`dependentRequired`, draft 4's array form).
            for key in ["dependentRequired", "dependencies"] {
                let needs = s.get(key).and_then(|d| d.get(&prop)).and_then(Value::as_array);
                wanted.extend(needs.into_iter().flatten().filter_map(Value::as_str).map(String::from));
            }
        }
        if let Some(most) = s.get("maxProperties").and_then(Value::as_u64).filter(|m| out.len() as u64 > *m) {
            return Err(self.fail(Why::TooManyProperties { most }));
        }
        if let Some(names) = s.get("propertyNames") {
            let names = self.doc.deref(names);
            if let Some(name) = out.keys().find(|k| !scalar::holds(names, &json!(k))) {
                return Err(self.fail(Why::PropertyName { name: name.clone() }));
            }
        }
        Ok(Value::Object(out))
    }

    /// An array of `minItems` items (one by default, none when one cannot be made and none are
    /// required), its tuple's items first.
    fn array(&mut self, s: &Value, name: &str, depth: usize) -> Result<Value, CannotMake> {
        let least = s.get("minItems").and_then(Value::as_u64);
        let most = s.get("maxItems").and_then(Value::as_u64).unwrap_or(u64::MAX);
        let min = least.unwrap_or(0);
        if min > 256 {
            return Err(self.fail(Why::TooManyItems { min }));
        }
        // A tuple: `prefixItems` (or draft 4's `items` list), then `items` (`additionalItems`).
        let by_items = s.get("prefixItems").is_none() && s.get("items").is_some_and(Value::is_array);
        let prefix: &[Value] = match s.get(if by_items { "items" } else { "prefixItems" }) {
            Some(Value::Array(p)) => p,
            _ => &[],
        };
        let (rest, closed) = match s.get(if by_items { "additionalItems" } else { "items" }) {
            Some(items @ Value::Object(_)) => (items.clone(), false),
            Some(Value::Bool(false)) => (json!({}), true),
            _ => (json!({}), false),
        };
        let most = if closed { most.min(prefix.len() as u64) } else { most };
        if min > most {
            return Err(self.fail(Why::Items { min, max: most }));
        }
        // One item where none are required: an empty list shows little.
        let n = least.unwrap_or(1).max(1).min(most) as usize;
        let singular = name.strip_suffix('s').unwrap_or(name);
        let mut items = Vec::with_capacity(n);
        for i in 0..n {
            let item = prefix.get(i).unwrap_or(&rest);
            match self.below(i.to_string(), item, singular, depth) {
                Ok(v) => items.push(v),
                // An empty array is valid, where one item cannot be made (a tree's children).
                Err(_) if min == 0 && i == 0 => return Ok(Value::Array(Vec::new())),
                Err(e) => return Err(e),
            }
        }
        if s.get("uniqueItems") == Some(&json!(true))
            && items.iter().enumerate().any(|(i, v)| items[..i].contains(v))
        {
            return Err(self.fail(Why::NotUnique));
        }
        Ok(Value::Array(items))
    }

    /// Keywords a made value is not made to meet: checked where that is simple (`not` of a type,
    /// an enum, a pattern, `required`), otherwise the value is not given.
    fn unchecked(&self, s: &Value, value: &Value) -> Result<(), Why> {
        for keyword in ["if", "contains"] {
            if s.get(keyword).is_some() {
                return Err(Why::Unchecked(keyword));
            }
        }
        // A schema a present property brings in (`dependentSchemas`, draft 4's object form).
        for key in ["dependentSchemas", "dependencies"] {
            let brought = s.get(key).and_then(Value::as_object).into_iter().flatten();
            if brought.filter(|(_, d)| d.is_object()).any(|(p, _)| value.get(p).is_some()) {
                return Err(Why::Unchecked("dependentSchemas"));
            }
        }
        // A property whose name a `patternProperties` pattern matches is held to that schema too.
        if let (Some(patterns), Some(object)) =
            (s.get("patternProperties").and_then(Value::as_object), value.as_object())
            && object.keys().any(|k| patterns.keys().any(|p| pattern_matches(p, k) != Some(false)))
        {
            return Err(Why::Unchecked("patternProperties"));
        }
        if let Some(not) = s.get("not") {
            let not = self.doc.deref(not);
            let simple = not.as_object().is_some_and(|o| {
                o.keys().all(|k| {
                    is_annotation(k)
                        || matches!(
                            k.as_str(),
                            "type"
                                | "enum"
                                | "const"
                                | "pattern"
                                | "minLength"
                                | "maxLength"
                                | "format"
                                | "minimum"
                                | "maximum"
                                | "exclusiveMinimum"
                                | "exclusiveMaximum"
                                | "multipleOf"
                                | "required"
                        )
                })
            });
            let required = not.get("required").and_then(Value::as_array);
            let has_required =
                required.is_none_or(|r| r.iter().filter_map(Value::as_str).all(|p| value.get(p).is_some()));
            if !simple {
                return Err(Why::Unchecked("not"));
            }
            if scalar::holds(not, value) && has_required {
                return Err(Why::NotAllowed);
            }
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests;
