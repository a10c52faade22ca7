//! Reading an OpenAPI 3.0/3.1 or Swagger 2.0 document (JSON or YAML) into one list of
//! operations, every local `$ref` checked, every problem named with its location.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Swagger2,
    OpenApi30,
    OpenApi31,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Location {
    Path,
    Query,
    Header,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub schema: Value,
    pub example: Option<Value>,
    /// How an array value is sent: each item as its own `name=item` (`None`, OpenAPI's default
    /// `form` with `explode`, Swagger's `multi`), or joined by this delimiter (`,` for
    /// `explode: false`, a header or Swagger's default `csv`; ` `, `|`, tab).
    pub joined: Option<char>,
    /// What the document says it is.
    pub description: String,
}

/// How a request body is sent: the media type the operation declares for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `multipart/form-data`.
    Multipart,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub method: String,
    /// The path template with the base path (`/api/carts/{id}`).
    pub path: String,
    pub id: String,
    pub params: Vec<Param>,
    /// The request body's schema (an object's, for form and multipart bodies).
    pub body: Option<Value>,
    pub body_kind: BodyKind,
    /// A multipart body's `encoding`: part name to the content type the document gives it.
    pub part_types: Vec<(String, String)>,
    /// The media types its success responses declare (`Accept` sends them).
    pub produces: Vec<String>,
    /// Status (`"201"`, `"4XX"`, `"default"`) to the JSON schema of the body, if any.
    pub responses: Vec<(String, Option<Value>)>,
    pub secured: bool,
    /// OpenAPI links from this operation's success responses: (target operationId, parameter
    /// name to `$response.body#/pointer`).
    pub links: Vec<(String, Vec<(String, String)>)>,
    /// Whether a success response declares a `Location` header (the new member's URL).
    pub location: bool,
    /// What its 4xx responses say they mean: status and description.
    pub refusals: Vec<(u16, String)>,
    /// Why this operation cannot be exercised, if it cannot (e.g. a form body).
    pub unsupported: Option<String>,
}

impl Operation {
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    pub fn path_params(&self) -> Vec<&Param> {
        let mut params: Vec<&Param> = self.params.iter().filter(|p| p.location == Location::Path).collect();
        params.sort_by_key(|p| self.path.find(&format!("{{{}}}", p.name)).unwrap_or(usize::MAX));
        params
    }

    /// What its response with `status` (a 4xx) says it means, if it declares one.
    pub fn said(&self, status: u16) -> Option<&str> {
        self.refusals.iter().find(|(s, _)| *s == status).map(|(_, d)| d.as_str())
    }

    /// Declared statuses, as numbers (`2XX` ranges and `default` left out).
    pub fn statuses(&self) -> Vec<u16> {
        self.responses.iter().filter_map(|(s, _)| s.parse().ok()).collect()
    }

    /// The success statuses: the 2xx declared, else any common 2xx when the document says only
    /// `2XX` or `default`.
    pub fn success(&self) -> Vec<u16> {
        let explicit: Vec<u16> = self.statuses().into_iter().filter(|s| (200..300).contains(s)).collect();
        if !explicit.is_empty() {
            return explicit;
        }
        if self.responses.iter().any(|(s, _)| s == "2XX" || s == "DEFAULT") {
            return vec![200, 201, 202, 204];
        }
        Vec::new()
    }

    /// The response schema for a success status (`2XX` and `default` stand for any).
    pub fn success_schemas(&self) -> Vec<&Value> {
        let success = self.success();
        let exact: Vec<&Value> = self
            .responses
            .iter()
            .filter(|(s, _)| s.parse::<u16>().is_ok_and(|s| success.contains(&s)))
            .filter_map(|(_, schema)| schema.as_ref())
            .collect();
        if !exact.is_empty() || self.statuses().iter().any(|s| (200..300).contains(s)) {
            return exact;
        }
        self.responses
            .iter()
            .filter(|(s, _)| s == "2XX" || s == "DEFAULT")
            .filter_map(|(_, schema)| schema.as_ref())
            .collect()
    }
}

pub struct Doc {
    pub root: Value,
    pub version: Version,
    pub operations: Vec<Operation>,
    /// Operations left out, each with where and why: one odd operation never costs the rest.
    pub problems: Vec<Problem>,
}

/// Why an operation was left out of the document's operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `METHOD /path`.
    pub endpoint: String,
    /// `spec.json#/paths/~1a/get/...`: where in the document.
    pub location: String,
    pub message: String,
}

/// Parse JSON, else YAML, within a budget of values (a YAML alias bomb is refused, never
/// expanded); the error names the line and column.
fn parse(bytes: &[u8], source: &str) -> Result<Value, (String, String)> {
    documents::parse(bytes, documents::budget(bytes.len())).map_err(|e| {
        let at = e.at().map_or(source.to_string(), |(line, column)| format!("{source}:{line}:{column}"));
        (e.to_string(), at)
    })
}

/// `#/a/b~1c` to the value it names.
fn pointer<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    if fragment.is_empty() {
        return Some(root);
    }
    root.pointer(fragment).or_else(|| root.pointer(&percent_decoded(fragment)?))
}

/// A URI fragment with its `%XX` escapes decoded (`~1companies~1%7BcompanyId%7D`), if it has any
/// and they make UTF-8.
fn percent_decoded(fragment: &str) -> Option<String> {
    if !fragment.contains('%') {
        return None;
    }
    let bytes = fragment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = fragment.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Doc {
    /// Read a document; its operations' paths start with the document's server path.
    #[cfg(test)]
    pub fn load(bytes: &[u8], source: &str) -> Result<Doc, (String, String)> {
        Doc::load_based(bytes, source, None, &[])
    }

    /// Read a document; its operations' paths start with `base` (the document's own server
    /// path when `None`).
    /// `others`: the documents its `$ref`s name, by source as the host resolved them; what they
    /// hold is bundled into this one, so every reference left is local.
    pub fn load_based(
        bytes: &[u8],
        source: &str,
        base: Option<&str>,
        others: &[(&str, &[u8])],
    ) -> Result<Doc, (String, String)> {
        let mut root = parse(bytes, source)?;
        if !others.is_empty() {
            bundle(&mut root, source, others);
        }
        let Some(top) = root.as_object() else {
            return Err(("the document is not an object".into(), source.to_string()));
        };
        let version =
            match (top.get("openapi").and_then(Value::as_str), top.get("swagger").and_then(Value::as_str)) {
                (Some(v), _) if v.starts_with("3.0") => Version::OpenApi30,
                (Some(v), _) if v.starts_with("3.1") => Version::OpenApi31,
                (Some(v), _) => {
                    return Err((
                        format!("OpenAPI version {v:?} is not supported (3.0.x, 3.1.x, or Swagger 2.0)"),
                        format!("{source}#/openapi"),
                    ));
                }
                (None, Some("2.0")) => Version::Swagger2,
                (None, Some(v)) => {
                    return Err((
                        format!("Swagger version {v:?} is not supported (only 2.0)"),
                        format!("{source}#/swagger"),
                    ));
                }
                (None, None) => {
                    return Err((
                        "no `openapi` or `swagger` field: this is not an OpenAPI document".into(),
                        source.to_string(),
                    ));
                }
            };
        // The usual document has no broken reference: one pass says so, and no operation needs
        // its own check.
        let mut broken = None;
        find_broken_ref(&root, &root, "#", &mut |_| false, &mut broken);
        let mut doc = Doc { root, version, operations: Vec::new(), problems: Vec::new() };
        let base = base.map_or_else(|| doc.base_path(), |b| b.trim_end_matches('/').to_string());
        let (operations, problems) = doc.read_operations(source, &base, broken.is_some());
        doc.operations = operations;
        doc.problems = problems;
        Ok(doc)
    }

    /// Follow `$ref`s to the value they name (local references; checked at load).
    pub fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(r) => match pointer(&self.root, r) {
                    Some(v) => value = v,
                    None => return value,
                },
                None => return value,
            }
        }
        value
    }

    /// The server path the document declares (`servers[0].url`'s path, Swagger's `basePath`),
    /// without a trailing `/`.
    pub fn base_path(&self) -> String {
        let raw = match self.version {
            Version::Swagger2 => self.root.get("basePath").and_then(Value::as_str).unwrap_or("").to_string(),
            _ => {
                let mut url =
                    self.root.pointer("/servers/0/url").and_then(Value::as_str).unwrap_or("").to_string();
                // Server variables take their defaults.
                if let Some(vars) = self.root.pointer("/servers/0/variables").and_then(Value::as_object) {
                    for (name, var) in vars {
                        let default = var.get("default").and_then(Value::as_str).unwrap_or("");
                        url = url.replace(&format!("{{{name}}}"), default);
                    }
                }
                let url = url.as_str();
                // Absolute URLs (`https://host/v1`, and `//host/v1` without a scheme) keep only
                // their path.
                let path =
                    match url.split_once("://").map(|(_, rest)| rest).or_else(|| url.strip_prefix("//")) {
                        Some(rest) => rest.find('/').map_or("", |i| &rest[i..]),
                        None => url,
                    };
                path.to_string()
            }
        };
        // A server "path" that is not one (`,`, `api.example.com`) is no base path.
        let path = raw.split(['?', '#']).next().unwrap_or("").trim_end_matches('/');
        if path.starts_with('/') { path.to_string() } else { String::new() }
    }

    /// The first `$ref` an operation reaches (through the references it follows) that names
    /// nothing, as (message, location).
    fn broken_ref_in(&self, values: &[(&Value, String)], source: &str) -> Option<(String, String)> {
        let mut seen = std::collections::HashSet::new();
        let mut broken = None;
        for (value, at) in values {
            find_broken_ref(&self.root, value, at, &mut |r| seen.insert(r.to_string()), &mut broken);
            if broken.is_some() {
                break;
            }
        }
        broken.map(|(message, at)| (message, format!("{source}{at}")))
    }

    fn read_operations(
        &self,
        source: &str,
        base: &str,
        has_broken_refs: bool,
    ) -> (Vec<Operation>, Vec<Problem>) {
        let empty = Map::new();
        let paths = self.root.get("paths").and_then(Value::as_object).unwrap_or(&empty);
        let global_security =
            self.root.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (path, item) in paths {
            let item_at = format!("#/paths/{}", path.replace('~', "~0").replace('/', "~1"));
            let item = self.deref(item);
            let shared = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
                let Some(op) = item.get(method) else { continue };
                let endpoint = format!("{} {path}", method.to_uppercase());
                if has_broken_refs
                    && let Some((message, location)) = self.broken_ref_in(
                        &[
                            (op, format!("{item_at}/{method}")),
                            (item.get("parameters").unwrap_or(&Value::Null), format!("{item_at}/parameters")),
                        ],
                        source,
                    )
                {
                    problems.push(Problem { endpoint, location, message });
                    continue;
                }
                let mut params: Vec<Param> = Vec::new();
                let mut body = None;
                let mut body_kind = BodyKind::Json;
                let mut part_types = Vec::new();
                let mut unsupported = None;
                // Swagger 2.0 form fields, gathered into an object schema.
                let mut form_fields = Map::new();
                let mut form_required: Vec<Value> = Vec::new();
                let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                for raw in shared.iter().chain(own.iter()) {
                    let p = self.deref(raw);
                    let name = p.get("name").and_then(Value::as_str).unwrap_or("").to_string();
                    let location = match p.get("in").and_then(Value::as_str) {
                        Some("path") => Location::Path,
                        Some("query") => Location::Query,
                        Some("header") => Location::Header,
                        Some("body") => {
                            body = p.get("schema").cloned();
                            continue;
                        }
                        Some("formData") => {
                            let mut field = p.clone();
                            if let Some(f) = field.as_object_mut() {
                                for k in ["name", "in", "required", "description"] {
                                    f.remove(k);
                                }
                                if f.get("type").and_then(Value::as_str) == Some("file") {
                                    f.insert("type".into(), "string".into());
                                    f.insert("format".into(), "binary".into());
                                }
                            }
                            if p.get("required").and_then(Value::as_bool) == Some(true) {
                                form_required.push(Value::String(name.clone()));
                            }
                            form_fields.insert(name, field);
                            continue;
                        }
                        _ => continue, // cookies
                    };
                    // OpenAPI: a header parameter named so SHALL be ignored (the media types and
                    // the credentials say these); sending it would replace the real header.
                    if location == Location::Header
                        && ["accept", "content-type", "authorization"]
                            .iter()
                            .any(|h| name.eq_ignore_ascii_case(h))
                    {
                        continue;
                    }
                    let joined = match self.version {
                        Version::Swagger2 => match p.get("collectionFormat").and_then(Value::as_str) {
                            Some("multi") if location == Location::Query => None,
                            Some("ssv") => Some(' '),
                            Some("tsv") => Some('\t'),
                            Some("pipes") => Some('|'),
                            _ => Some(','),
                        },
                        _ => {
                            let style = p.get("style").and_then(Value::as_str);
                            let explode = p.get("explode").and_then(Value::as_bool);
                            match (location, style) {
                                (Location::Query, Some("spaceDelimited")) => Some(' '),
                                (Location::Query, Some("pipeDelimited")) => Some('|'),
                                (Location::Query, None | Some("form")) if explode != Some(false) => None,
                                _ => Some(','),
                            }
                        }
                    };
                    let schema = match self.version {
                        Version::Swagger2 => p.clone(),
                        _ => p.get("schema").cloned().unwrap_or(Value::Object(Map::new())),
                    };
                    let required =
                        p.get("required").and_then(Value::as_bool).unwrap_or(location == Location::Path);
                    let example = p.get("example").cloned();
                    let description =
                        p.get("description").and_then(Value::as_str).unwrap_or_default().to_string();
                    // An operation's own parameter replaces a path-level one of the same name and place.
                    params.retain(|q: &Param| !(q.name == name && q.location == location));
                    params.push(Param { name, location, required, schema, example, joined, description });
                }
                let consumes = op
                    .get("consumes")
                    .or_else(|| self.root.get("consumes"))
                    .and_then(Value::as_array)
                    .map(|c| {
                        c.iter().filter_map(Value::as_str).map(str::to_ascii_lowercase).collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                if !form_fields.is_empty() {
                    let file = form_fields
                        .values()
                        .any(|f| f.get("format").and_then(Value::as_str) == Some("binary"));
                    body_kind = if file || consumes.iter().any(|c| c.starts_with("multipart/form-data")) {
                        BodyKind::Multipart
                    } else {
                        BodyKind::Form
                    };
                    body = Some(serde_json::json!({
                        "type": "object", "properties": form_fields, "required": form_required
                    }));
                }
                if self.version != Version::Swagger2
                    && let Some(rb) = op.get("requestBody")
                {
                    let rb = self.deref(rb);
                    let content = rb.get("content").and_then(Value::as_object);
                    let find = |want: &dyn Fn(&str) -> bool| {
                        content.and_then(|c| c.iter().find(|(t, _)| want(&t.to_ascii_lowercase())))
                    };
                    let chosen = find(&|t| t.starts_with("application/json") || t.contains("+json"))
                        .map(|m| (BodyKind::Json, m))
                        .or_else(|| {
                            find(&|t| t.starts_with("application/x-www-form-urlencoded"))
                                .map(|m| (BodyKind::Form, m))
                        })
                        .or_else(|| {
                            find(&|t| t.starts_with("multipart/form-data")).map(|m| (BodyKind::Multipart, m))
                        });
                    match chosen {
                        Some((kind, (_, media))) => {
                            body_kind = kind;
                            if kind == BodyKind::Multipart
                                && let Some(encoding) = media.get("encoding").and_then(Value::as_object)
                            {
                                part_types = encoding
                                    .iter()
                                    .filter_map(|(name, e)| {
                                        let types = self.deref(e).get("contentType")?.as_str()?;
                                        // A list (`image/png, image/jpeg`): the first is sent.
                                        let first = types.split(',').next()?.trim();
                                        (!first.is_empty()).then(|| (name.clone(), first.to_string()))
                                    })
                                    .collect();
                            }
                            body =
                                Some(media.get("schema").cloned().unwrap_or_else(|| serde_json::json!({})));
                        }
                        None if content.is_some_and(|c| !c.is_empty()) => {
                            let types: Vec<&String> = content.map(|c| c.keys().collect()).unwrap_or_default();
                            unsupported = Some(format!(
                                "its request body is not JSON, a form or multipart ({types:?}), which smoke does not make up"
                            ));
                        }
                        None => {}
                    }
                }
                // A `{name}` in the path that no parameter declares is still a path parameter.
                let mut rest = path.as_str();
                while let Some(open) = rest.find('{') {
                    let Some(close) = rest[open..].find('}') else { break };
                    let name = &rest[open + 1..open + close];
                    if !params.iter().any(|p| p.location == Location::Path && p.name == name) {
                        params.push(Param {
                            name: name.to_string(),
                            location: Location::Path,
                            required: true,
                            schema: Value::Object(Map::new()),
                            example: None,
                            joined: Some(','),
                            description: String::new(),
                        });
                    }
                    rest = &rest[open + close + 1..];
                }
                let mut responses = Vec::new();
                let mut links = Vec::new();
                let mut location = false;
                let mut refusals = Vec::new();
                let mut produces: Vec<String> = match self.version {
                    Version::Swagger2 => op
                        .get("produces")
                        .or_else(|| self.root.get("produces"))
                        .and_then(Value::as_array)
                        .map(|p| p.iter().filter_map(Value::as_str).map(String::from).collect())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                if let Some(rs) = op.get("responses").and_then(Value::as_object) {
                    for (status, r) in rs {
                        let r = self.deref(r);
                        if let Ok(code @ 400..=499) = status.parse::<u16>() {
                            let description =
                                r.get("description").and_then(Value::as_str).unwrap_or_default();
                            refusals.push((code, description.to_string()));
                        }
                        location |= status.starts_with('2')
                            && r.get("headers")
                                .and_then(Value::as_object)
                                .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("location")));
                        if status.starts_with('2')
                            && let Some(ls) = r.get("links").and_then(Value::as_object)
                        {
                            for link in ls.values() {
                                let link = self.deref(link);
                                let Some(target) = link.get("operationId").and_then(Value::as_str) else {
                                    continue;
                                };
                                let params = link
                                    .get("parameters")
                                    .and_then(Value::as_object)
                                    .map(|p| {
                                        p.iter()
                                            .filter_map(|(k, v)| {
                                                Some((
                                                    k.trim_start_matches("path.").to_string(),
                                                    v.as_str()?.to_string(),
                                                ))
                                            })
                                            .collect()
                                    })
                                    .unwrap_or_default();
                                links.push((sanitize(target), params));
                            }
                        }
                        if status.starts_with('2') || status.eq_ignore_ascii_case("default") {
                            for media in
                                r.get("content").and_then(Value::as_object).into_iter().flat_map(|c| c.keys())
                            {
                                if !produces.contains(media) {
                                    produces.push(media.clone());
                                }
                            }
                        }
                        let schema = match self.version {
                            // A JSON schema only for JSON: not a `file`, nor an image or CSV
                            // the operation `produces`.
                            Version::Swagger2 => r
                                .get("schema")
                                .filter(|s| {
                                    (produces.is_empty() || produces.iter().any(|t| t.contains("json")))
                                        && self.deref(s).get("type").and_then(Value::as_str) != Some("file")
                                })
                                .cloned(),
                            _ => r.get("content").and_then(Value::as_object).and_then(|c| {
                                c.iter()
                                    .find(|(t, _)| t.starts_with("application/json") || t.ends_with("+json"))
                                    .and_then(|(_, m)| m.get("schema").cloned())
                            }),
                        };
                        responses.push((status.to_uppercase(), schema));
                    }
                }
                let secured = match op.get("security").and_then(Value::as_array) {
                    Some(s) => !s.is_empty() && !s.iter().all(|r| r.as_object().is_some_and(Map::is_empty)),
                    None => global_security,
                };
                let method_upper = method.to_uppercase();
                // Scenario ids are built from it: keep it to letters, digits, `_` and `-`, and
                // unique even when a document repeats an operationId.
                let mut id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(sanitize)
                    .filter(|o: &String| !o.trim_matches('-').is_empty())
                    .unwrap_or_else(|| slug(&format!("{method} {path}")));
                if out.iter().any(|o: &Operation| o.id == id) {
                    id = format!("{id}-{}", slug(&format!("{method} {path}")));
                }
                out.push(Operation {
                    method: method_upper,
                    path: {
                        let full = format!("{base}/{}", path.trim_start_matches('/'));
                        // One leading `/`: `//api` would name another host.
                        format!("/{}", full.trim_start_matches('/'))
                    },
                    id,
                    params,
                    body,
                    body_kind,
                    part_types,
                    produces,
                    responses,
                    secured,
                    links,
                    location,
                    refusals,
                    unsupported,
                });
            }
        }
        (out, problems)
    }
}

/// A name as scenario ids and variable names use it: letters, digits, `_`, and `-` for anything
/// else (`{workspace}` -> `-workspace-`).
pub fn sanitize(operation_id: &str) -> String {
    operation_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect()
}

/// Bring what references to other documents name into `root` (under `x-smoke-bundled`), each
/// referenced value once (cycles end), and point the references at their copies. A reference to
/// a document not handed in, or to nothing in it, is left as it is: the operations using it are
/// left out with the reason.
fn bundle(root: &mut Value, source: &str, others: &[(&str, &[u8])]) {
    struct Bundler<'a> {
        others: &'a [(&'a str, &'a [u8])],
        parsed: std::collections::HashMap<String, Option<Value>>,
        /// (document, pointer) to the local reference of its copy.
        copies: std::collections::HashMap<(String, String), String>,
        bundled: Map<String, Value>,
    }
    impl Bundler<'_> {
        /// Rewrite the references in `value`, which comes from the document `from`.
        fn rewrite(&mut self, value: &mut Value, from: &str, main: bool) {
            match value {
                Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(Value::as_str).map(String::from) {
                        let (document, fragment) = r.split_once('#').unwrap_or((r.as_str(), ""));
                        let target = if document.is_empty() {
                            Some(from.to_string())
                        } else {
                            resolve(from, document)
                        };
                        if !(main && document.is_empty())
                            && let Some(local) = target.and_then(|t| self.copy(&t, fragment))
                        {
                            map.insert("$ref".into(), Value::String(local));
                        }
                    }
                    for (k, v) in map.iter_mut() {
                        if k != "example" && k != "examples" && k != "$ref" {
                            self.rewrite(v, from, main);
                        }
                    }
                }
                Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite(v, from, main)),
                _ => {}
            }
        }

        fn copy(&mut self, document: &str, fragment: &str) -> Option<String> {
            let key = (document.to_string(), fragment.to_string());
            if let Some(local) = self.copies.get(&key) {
                return Some(local.clone());
            }
            if !self.parsed.contains_key(document) {
                let value = self
                    .others
                    .iter()
                    .find(|(s, _)| *s == document)
                    .and_then(|(s, bytes)| parse(bytes, s).ok());
                self.parsed.insert(document.to_string(), value);
            }
            let target = self.parsed.get(document)?.as_ref()?;
            let mut copy = if fragment.is_empty() {
                target.clone()
            } else {
                pointer(target, &format!("#{fragment}"))?.clone()
            };
            let name = format!("{}", self.copies.len());
            let local = format!("#/x-smoke-bundled/{name}");
            // Known before its own references are rewritten: a cycle ends here.
            self.copies.insert(key, local.clone());
            self.rewrite(&mut copy, document, false);
            self.bundled.insert(name, copy);
            Some(local)
        }
    }
    let mut bundler =
        Bundler { others, parsed: Default::default(), copies: Default::default(), bundled: Map::new() };
    bundler.rewrite(root, source, true);
    if let Some(top) = root.as_object_mut()
        && !bundler.bundled.is_empty()
    {
        top.insert("x-smoke-bundled".into(), Value::Object(bundler.bundled));
    }
}

/// A reference's document resolved against the source of the document naming it, as the host
/// resolved it when it read the document: a URL joined to a URL, a relative path to the naming
/// file's folder, lexically (`a/../b` is `b`).
pub fn resolve(from: &str, reference: &str) -> Option<String> {
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return Some(reference.to_string());
    }
    if reference.contains("://") {
        return None;
    }
    if let Some(scheme_end) = from.find("://").filter(|_| from.starts_with("http")) {
        let rest = &from[scheme_end + 3..];
        let (host, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        let path = path.split(['?', '#']).next().unwrap_or("/");
        let joined = if reference.starts_with('/') {
            reference.to_string()
        } else {
            format!("{}{reference}", &path[..=path.rfind('/').unwrap_or(0)])
        };
        return Some(format!("{}://{host}{}", &from[..scheme_end], normal(&joined)));
    }
    let dir = from.rfind('/').map_or("", |i| &from[..=i]);
    Some(normal(&format!("{dir}{reference}")))
}

/// `a/./b/../c` as `a/c` (a leading `/` kept; `..` past the start kept).
fn normal(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." => {}
            "" if !parts.is_empty() => {}
            ".." if parts.last().is_some_and(|p| !p.is_empty() && *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// `get /carts/{id}` -> `get-carts-id`.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Walk `value` (at `at`) for a `$ref` that points outside the document or names nothing, and
/// into the values the references name when `follow` says to (it sees each reference once);
/// the first found goes to `broken` as (message, location).
fn find_broken_ref(
    root: &Value,
    value: &Value,
    at: &str,
    follow: &mut dyn FnMut(&str) -> bool,
    broken: &mut Option<(String, String)>,
) {
    if broken.is_some() {
        return;
    }
    match value {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                let target = if r.starts_with('#') { pointer(root, r) } else { None };
                match target {
                    None if !r.starts_with('#') => {
                        *broken =
                            Some((format!("$ref {r:?} points to a document that was not read"), at.into()));
                        return;
                    }
                    None => {
                        *broken = Some((format!("$ref {r:?} names nothing in the document"), at.into()));
                        return;
                    }
                    Some(t) if follow(r) => find_broken_ref(root, t, r, follow, broken),
                    Some(_) => {}
                }
            }
            for (k, v) in map {
                // `examples` hold data, not schemas.
                if k == "example" || k == "examples" || k == "$ref" {
                    continue;
                }
                let at = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                find_broken_ref(root, v, &at, follow, broken);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                find_broken_ref(root, v, &format!("{at}/{i}"), follow, broken);
            }
        }
        _ => {}
    }
}
