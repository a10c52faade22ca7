//! The plan as plain data: what `smoke plan` prints and what the runner executes.
//!
//! Mirrors the WIT types with JSON bodies parsed, so a plan can be validated, printed
//! byte-identically and read back from a file (`smoke run --plan`, schema in
//! docs/plan-schema.json). Field order is output order; empty lists may be omitted in a file.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The variables a plugin's config gives its own steps: `config.KEY` for each key, and, for a
/// value shaped as a header (`Name: value`, as the OpenAPI plugin's `auth`), `config.KEY.value`
/// for the part after the name.
pub fn config_variables<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in pairs {
        out.push((format!("config.{key}"), value.to_string()));
        if let Some((name, rest)) = value.split_once(':')
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !rest.trim().is_empty()
        {
            out.push((format!("config.{key}.value"), rest.trim().to_string()));
        }
    }
    out
}

/// One plugin's contribution to a plan, before merging: its pieces, tagged with its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub seeds: Vec<Seed>,
    pub scenarios: Vec<Scenario>,
    pub surface: Vec<Endpoint>,
}

impl Part {
    /// Replace every occurrence of each secret value in the part's requests and expectations
    /// with a reference to the config key holding it (`{{config.KEY}}`), resolved only when a
    /// request is sent: so `smoke plan` and every report show the reference, never the secret.
    pub fn reference_secrets(&mut self, secrets: &[(String, String)]) {
        let variables = config_variables(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut secrets: Vec<(&str, String)> = variables
            .iter()
            .filter(|(_, value)| value.len() >= 4 && !value.contains("{{"))
            .map(|(name, value)| (value.as_str(), format!("{{{{{name}}}}}")))
            .collect();
        // The whole value before its parts, so `Name: value` is never half-replaced.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
        if secrets.is_empty() {
            return;
        }
        let swap = |text: &mut String| {
            for (value, reference) in &secrets {
                if text.contains(value) {
                    *text = text.replace(value, reference);
                }
            }
        };
        fn json(v: &mut Value, swap: &dyn Fn(&mut String)) {
            match v {
                Value::String(s) => swap(s),
                Value::Array(items) => items.iter_mut().for_each(|i| json(i, swap)),
                Value::Object(map) => map.values_mut().for_each(|i| json(i, swap)),
                _ => {}
            }
        }
        let steps = self
            .seeds
            .iter_mut()
            .map(|s| &mut s.step)
            .chain(self.scenarios.iter_mut().flat_map(|s| s.steps.iter_mut()));
        for step in steps {
            let call = match &mut step.action {
                Action::Http(call) => call,
                Action::ToolCall(ToolCall { arguments, expect, .. })
                | Action::McpRequest(McpRequest { params: arguments, expect, .. }) => {
                    json(arguments, &swap);
                    for a in &mut expect.result {
                        if let JsonTest::Equals(v) = &mut a.test {
                            json(v, &swap);
                        }
                    }
                    continue;
                }
                Action::McpCheck(_) => continue,
            };
            let r = &mut call.request;
            swap(&mut r.path);
            for p in r.query.iter_mut().chain(r.headers.iter_mut()).chain(call.expect.headers.iter_mut()) {
                swap(&mut p.name);
                swap(&mut p.value);
            }
            match &mut r.body {
                Some(Body::Json(v)) => json(v, &swap),
                Some(Body::Text(t)) => swap(t),
                Some(Body::Form(fields)) => fields.iter_mut().for_each(|f| {
                    swap(&mut f.name);
                    swap(&mut f.value);
                }),
                Some(Body::Multipart(parts)) => {
                    for part in parts {
                        swap(&mut part.name);
                        if let Some(filename) = &mut part.filename {
                            swap(filename);
                        }
                        if let PartContent::Text(t) = &mut part.content {
                            swap(t);
                        }
                    }
                }
                Some(Body::Bytes(_)) | None => {}
            }
            for a in &mut call.expect.body {
                if let JsonTest::Equals(v) = &mut a.test {
                    json(v, &swap);
                }
            }
        }
    }
}

/// Which plugin contributed to the plan, pinned by digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRef {
    pub name: String,
    pub version: String,
    pub domain: String,
    pub sha256: String,
    pub wit: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    pub id: String,
    #[serde(default)]
    pub plugin: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    pub step: Step,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    HappyPath,
    NotFound,
    ValidationError,
    BusinessRule,
    Auth,
    Workflow,
    Load,
    /// A check of the MCP protocol itself, planned by the host (`mcp_check`), not by a plugin.
    Protocol,
}

impl ScenarioKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScenarioKind::HappyPath => "happy-path",
            ScenarioKind::NotFound => "not-found",
            ScenarioKind::ValidationError => "validation-error",
            ScenarioKind::BusinessRule => "business-rule",
            ScenarioKind::Auth => "auth",
            ScenarioKind::Workflow => "workflow",
            ScenarioKind::Load => "load",
            ScenarioKind::Protocol => "protocol",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub id: String,
    #[serde(default)]
    pub plugin: String,
    pub endpoint: String,
    pub kind: ScenarioKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(deserialize_with = "tight")]
    pub steps: Vec<Step>,
    /// Not selected by `--filter` itself, but needed by a selected scenario.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dependency_only: bool,
}

impl Scenario {
    /// A scenario with no steps, description, tags or dependencies: what a result needs of one
    /// that did not run (and what tests need).
    pub fn bare(id: &str, plugin: &str, endpoint: &str, kind: ScenarioKind) -> Scenario {
        Scenario {
            id: id.to_string(),
            plugin: plugin.to_string(),
            endpoint: endpoint.to_string(),
            kind,
            description: String::new(),
            depends_on: Vec::new(),
            tags: Vec::new(),
            steps: Vec::new(),
            dependency_only: false,
        }
    }
}

/// One action of a scenario with what must hold of its outcome. In a plan file an HTTP step
/// has `request` and `expect`; a tool call has `tool_call`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StepFile", into = "StepFile")]
pub struct Step {
    pub name: String,
    pub action: Action,
    pub captures: Vec<Capture>,
    pub mode: StepMode,
    /// Overrides the run's request timeout for this step.
    pub timeout_ms: Option<u32>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Http(HttpCall),
    ToolCall(ToolCall),
    McpRequest(McpRequest),
    McpCheck(McpCheck),
}

/// One of the host's checks of the MCP protocol (docs/mcp.md, "Protocol checks"), by name: what
/// it sends and what it requires are the host's, not the plan's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpCheck {
    pub check: String,
    /// The file the check reads: the surface record of `baseline`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// An MCP request other than a tool call (`resources/list`, `prompts/get`...). Its expectation's
/// outcome is `success` (a result) or `refused` (a JSON-RPC error); assertions read the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpRequest {
    pub method: String,
    /// A JSON object; string leaves may hold `{{var}}` templates.
    pub params: Value,
    pub expect: ToolExpectation,
}

/// The MCP methods a plan may send as requests: reads and checks, nothing that changes the
/// session (`initialize`, notifications) and not `tools/call` (a tool call's own action).
pub const MCP_REQUEST_METHODS: &[&str] = &[
    "ping",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "prompts/list",
    "prompts/get",
    "completion/complete",
];

/// An HTTP request and what its response must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub request: Request,
    pub expect: Expectation,
}

/// A call of a tool of the run's MCP server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub tool: String,
    /// A JSON object; string leaves may hold `{{var}}` templates.
    pub arguments: Value,
    pub expect: ToolExpectation,
}

/// What a tool call must come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolOutcome {
    /// A result without `isError`.
    Success,
    /// A result with `isError: true`.
    ToolError,
    /// A JSON-RPC error or a result with `isError: true`; the call is meant to be wrong, so the
    /// host does not check it against the server's tool list first.
    Refused,
    /// A result whose business outcome the plan cannot know: a JSON-RPC error fails; a result
    /// with `isError` is no pass either: the scenario is skipped as not tested, with the tool's
    /// message.
    Answered,
}

impl ToolOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolOutcome::Success => "success",
            ToolOutcome::ToolError => "a tool error (isError)",
            ToolOutcome::Refused => "a refusal (a JSON-RPC error or isError)",
            ToolOutcome::Answered => "a result (isError: not tested), no JSON-RPC error",
        }
    }
}

/// What a tool's result must satisfy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolExpectation {
    pub outcome: ToolOutcome,
    /// Assertions on the result's JSON (`structuredContent`, or the JSON of its one text content).
    #[serde(default)]
    pub result: Vec<JsonAssertion>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub max_latency_ms: Option<u32>,
    #[serde(default)]
    pub check: Option<String>,
}

/// A step as a plan file spells it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    #[serde(default)]
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<Request>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expect: Option<Expectation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tool_call: Option<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mcp_request: Option<McpRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mcp_check: Option<McpCheck>,
    #[serde(default)]
    captures: Vec<Capture>,
    #[serde(default)]
    mode: StepMode,
    #[serde(default)]
    timeout_ms: Option<u32>,
}

/// A step in a plan file that is not one action.
#[derive(Debug, Clone, Copy, thiserror::Error)]
pub enum StepShape {
    #[error("an HTTP step needs `expect` beside `request`")]
    NoExpect,
    #[error("an HTTP step needs `request` beside `expect`")]
    NoRequest,
    #[error("a step needs an action: `request` and `expect`, `tool_call`, `mcp_request` or `mcp_check`")]
    NoAction,
    #[error(
        "a step is one action: an HTTP call (`request`, `expect`), a tool call (`tool_call`), an MCP \
         request (`mcp_request`) or a protocol check (`mcp_check`)"
    )]
    Several,
}

impl TryFrom<StepFile> for Step {
    type Error = StepShape;

    fn try_from(f: StepFile) -> Result<Step, StepShape> {
        let action = match (f.request, f.expect, f.tool_call, f.mcp_request, f.mcp_check) {
            (Some(request), Some(expect), None, None, None) => Action::Http(HttpCall { request, expect }),
            (None, None, Some(call), None, None) => Action::ToolCall(call),
            (None, None, None, Some(request), None) => Action::McpRequest(request),
            (None, None, None, None, Some(check)) => Action::McpCheck(check),
            (Some(_), None, None, None, None) => return Err(StepShape::NoExpect),
            (None, Some(_), None, None, None) => return Err(StepShape::NoRequest),
            (None, None, None, None, None) => return Err(StepShape::NoAction),
            _ => return Err(StepShape::Several),
        };
        Ok(Step { name: f.name, action, captures: f.captures, mode: f.mode, timeout_ms: f.timeout_ms })
    }
}

impl From<Step> for StepFile {
    fn from(s: Step) -> StepFile {
        let (mut request, mut expect, mut tool_call, mut mcp_request, mut mcp_check) =
            (None, None, None, None, None);
        match s.action {
            Action::Http(call) => (request, expect) = (Some(call.request), Some(call.expect)),
            Action::ToolCall(call) => tool_call = Some(call),
            Action::McpRequest(r) => mcp_request = Some(r),
            Action::McpCheck(c) => mcp_check = Some(c),
        }
        StepFile {
            name: s.name,
            request,
            expect,
            tool_call,
            mcp_request,
            mcp_check,
            captures: s.captures,
            mode: s.mode,
            timeout_ms: s.timeout_ms,
        }
    }
}

/// An HTTP method. In a plan file, its token as sent (`GET`, `PROPFIND`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    /// Any other method, by its token (validated as an RFC 9110 token when the plan is checked).
    Other(String),
}

impl Method {
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(token) => token,
        }
    }

    /// Idempotent methods (RFC 9110, section 9.2.2): sending one twice means what sending it once
    /// does, so a request lost to a closed connection may be sent again. A method smoke does not
    /// know is never assumed to be.
    pub fn is_idempotent(&self) -> bool {
        !matches!(self, Method::Post | Method::Patch | Method::Other(_))
    }
}

impl From<String> for Method {
    /// The seven by their names (methods are case-sensitive: `get` is another method), anything
    /// else as itself.
    fn from(token: String) -> Method {
        match token.as_str() {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => Method::Other(token),
        }
    }
}

impl From<Method> for String {
    fn from(m: Method) -> String {
        match m {
            Method::Other(token) => token,
            known => known.as_str().to_string(),
        }
    }
}

/// A name/value pair, kept in order (headers and query parameters may repeat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type", content = "value")]
pub enum Body {
    /// Parsed JSON; string leaves may hold `{{var}}` templates.
    Json(Value),
    Text(String),
    /// Form fields (`application/x-www-form-urlencoded`); names and values templated.
    Form(Vec<Pair>),
    /// `multipart/form-data` parts.
    Multipart(Vec<MultipartPart>),
    /// Bytes as they are, with their content type.
    Bytes(RawBody),
}

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartPart {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    pub content: PartContent,
}

/// A multipart part's content: templated text, or bytes (base64 in a plan file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PartContent {
    Text(String),
    Bytes(#[serde(with = "base64_bytes")] Vec<u8>),
}

/// Bytes with their content type (the bytes base64 in a plan file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBody {
    pub content_type: String,
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
}

/// Bytes as standard base64 text, so a plan file stays JSON.
mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub method: Method,
    pub path: String,
    #[serde(default)]
    pub query: Vec<Pair>,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub body: Option<Body>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "test", content = "value")]
pub enum JsonTest {
    Exists,
    Absent,
    Equals(Value),
    Length(u32),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "AssertionFile")]
pub struct JsonAssertion {
    pub pointer: String,
    #[serde(flatten)]
    pub test: JsonTest,
}

/// A body assertion as a plan file spells it; unknown fields are errors (`flatten` cannot say so).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionFile {
    pointer: String,
    test: String,
    #[serde(default)]
    value: Option<Box<serde_json::value::RawValue>>,
}

/// Whether a JSON value holds a number anywhere.
fn has_number(v: &Value) -> bool {
    match v {
        Value::Number(_) => true,
        Value::Array(items) => items.iter().any(has_number),
        Value::Object(map) => map.values().any(has_number),
        _ => false,
    }
}

/// A JSON value's type in words, for messages.
pub fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Why an expected number is refused: no `Value` holds it exactly.
pub fn inexact_message(number: &str) -> String {
    format!(
        "the expected number {number} cannot be held exactly (it is beyond 64-bit integers or double \
         precision), so it could never be compared exactly; judge it in the plugin's check instead"
    )
}

/// A body assertion in a plan file that does not say a test smoke knows.
#[derive(Debug, thiserror::Error)]
#[error("assertion at {pointer:?}: {problem}")]
pub struct AssertionError {
    pointer: String,
    problem: String,
}

impl TryFrom<AssertionFile> for JsonAssertion {
    type Error = AssertionError;

    fn try_from(a: AssertionFile) -> Result<Self, AssertionError> {
        let fail = |problem: String| AssertionError { pointer: a.pointer.clone(), problem };
        // Read once; only a value holding numbers (or one that does not read) is read again
        // exactly, to refuse a number a `Value` would round.
        let value = match &a.value {
            Some(raw) => {
                let parsed = serde_json::from_str::<Value>(raw.get());
                let numbers = parsed.as_ref().map_or(true, has_number);
                if numbers && let Some(number) = crate::plan::exact::first_inexact_number(raw.get()) {
                    return Err(fail(inexact_message(&number)));
                }
                Some(parsed.map_err(|e| fail(e.to_string()))?)
            }
            None => None,
        };
        let test = match (a.test.as_str(), value) {
            ("exists", None) => JsonTest::Exists,
            ("absent", None) => JsonTest::Absent,
            ("equals", Some(v)) => JsonTest::Equals(v),
            ("length", Some(v)) => JsonTest::Length(
                v.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| fail("`length` needs a whole number".into()))?,
            ),
            (test @ ("exists" | "absent"), Some(_)) => return Err(fail(format!("`{test}` takes no value"))),
            (test @ ("equals" | "length"), None) => return Err(fail(format!("`{test}` needs a value"))),
            (other, _) => {
                return Err(fail(format!("unknown test {other:?} (exists, absent, equals or length)")));
            }
        };
        Ok(JsonAssertion { pointer: a.pointer, test })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// Accepted statuses: in a plan file a number (`404`) or a class (`"4xx"`).
    #[serde(with = "status_list")]
    pub status: Vec<StatusMatch>,
    #[serde(default, deserialize_with = "tight")]
    pub body: Vec<JsonAssertion>,
    #[serde(default)]
    pub headers: Vec<Pair>,
    #[serde(default)]
    pub schema: Option<Value>,
    #[serde(default)]
    pub max_latency_ms: Option<u32>,
    #[serde(default)]
    pub check: Option<String>,
}

/// A list read with room for its items and no more (serde's own grows to room for four as it
/// reads; a plan of a million one-step scenarios would hold three million steps of nothing).
fn tight<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    struct Tight<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Tight<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out: Vec<T> = Vec::new();
            while let Some(item) = seq.next_element()? {
                if out.len() == out.capacity() {
                    out.reserve_exact(out.len().max(1));
                }
                out.push(item);
            }
            out.shrink_to_fit();
            Ok(out)
        }
    }
    d.deserialize_seq(Tight(std::marker::PhantomData))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "from", content = "path")]
pub enum CaptureSource {
    Body(String),
    Header(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Capture {
    pub name: String,
    pub source: CaptureSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "value")]
pub enum StatusMatch {
    Code(u16),
    Class(u8),
}

impl StatusMatch {
    pub fn matches(self, status: u16) -> bool {
        match self {
            StatusMatch::Code(code) => code == status,
            StatusMatch::Class(class) => status / 100 == u16::from(class),
        }
    }
}

impl std::fmt::Display for StatusMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StatusMatch::Code(code) => write!(f, "{code}"),
            StatusMatch::Class(class) => write!(f, "{class}xx"),
        }
    }
}

/// An expectation's statuses as a plan file spells them: `[200, "2xx"]`.
mod status_list {
    use super::StatusMatch;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    #[serde(untagged)]
    enum Spelled {
        Code(u16),
        Class(String),
    }

    pub fn serialize<S: Serializer>(list: &[StatusMatch], s: S) -> Result<S::Ok, S::Error> {
        let spelled: Vec<Spelled> = list
            .iter()
            .map(|m| match m {
                StatusMatch::Code(code) => Spelled::Code(*code),
                class => Spelled::Class(class.to_string()),
            })
            .collect();
        spelled.serialize(s)
    }

    /// Each status read as it comes (a number or a class), not buffered to try one reading and
    /// then the other.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<StatusMatch>, D::Error> {
        struct One;
        impl<'de> serde::de::Visitor<'de> for One {
            type Value = StatusMatch;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a status: a whole number from 100 to 599, or a class such as \"4xx\"")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<StatusMatch, E> {
                u16::try_from(n).map(StatusMatch::Code).map_err(|_| {
                    E::custom(format!(
                        "status {n} is neither a whole number from 100 to 599 nor a class such as \"4xx\""
                    ))
                })
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<StatusMatch, E> {
                Err(E::custom(format!(
                    "status {n} is neither a whole number from 100 to 599 nor a class such as \"4xx\""
                )))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<StatusMatch, E> {
                Err(E::custom(format!(
                    "status {n} is neither a whole number from 100 to 599 nor a class such as \"4xx\""
                )))
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<StatusMatch, E> {
                match text.as_bytes() {
                    [d @ b'1'..=b'5', b'x' | b'X', b'x' | b'X'] => Ok(StatusMatch::Class(d - b'0')),
                    _ => Err(E::custom(format!(
                        "status {text:?} is neither a number nor a class such as \"4xx\""
                    ))),
                }
            }
            fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<StatusMatch, E> {
                Err(E::custom(format!(
                    "status {b} is neither a whole number from 100 to 599 nor a class such as \"4xx\""
                )))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<StatusMatch, E> {
                Err(E::custom(
                    "status null is neither a whole number from 100 to 599 nor a class such as \"4xx\"",
                ))
            }
        }
        struct Status(StatusMatch);
        impl<'de> Deserialize<'de> for Status {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Status, D::Error> {
                d.deserialize_any(One).map(Status)
            }
        }
        struct List;
        impl<'de> serde::de::Visitor<'de> for List {
            type Value = Vec<StatusMatch>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of statuses")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<StatusMatch>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
                while let Some(Status(s)) = seq.next_element()? {
                    out.push(s);
                }
                out.shrink_to_fit();
                Ok(out)
            }
        }
        d.deserialize_seq(List)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCount {
    pub status: StatusMatch,
    pub at_least: Option<u32>,
    pub at_most: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "mode", deny_unknown_fields)]
pub enum StepMode {
    #[default]
    Once,
    Poll {
        interval_ms: u32,
        timeout_ms: u32,
    },
    Burst {
        count: u32,
        concurrency: u32,
        #[serde(default)]
        mix: Vec<StatusCount>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    pub id: String,
    #[serde(default)]
    pub plugin: String,
    #[serde(default)]
    pub has_path_params: bool,
    #[serde(default)]
    pub has_constrained_body: bool,
}

impl Step {
    /// The name shown in reports: the plugin's, else `METHOD path` or `tool NAME`.
    pub fn display_name(&self) -> String {
        match &self.action {
            _ if !self.name.is_empty() => self.name.clone(),
            Action::Http(call) => format!("{} {}", call.request.method.as_str(), call.request.path),
            Action::ToolCall(call) => format!("tool {}", call.tool),
            Action::McpRequest(r) => r.method.clone(),
            Action::McpCheck(c) => format!("protocol check {}", c.check),
        }
    }

    /// The HTTP call, if this step is one.
    pub fn http(&self) -> Option<&HttpCall> {
        match &self.action {
            Action::Http(call) => Some(call),
            Action::ToolCall(_) | Action::McpRequest(_) | Action::McpCheck(_) => None,
        }
    }

    /// The tool call, if this step is one.
    pub fn tool_call(&self) -> Option<&ToolCall> {
        match &self.action {
            Action::ToolCall(call) => Some(call),
            Action::Http(_) | Action::McpRequest(_) | Action::McpCheck(_) => None,
        }
    }

    /// Whether the step talks to the MCP server (a tool call or another MCP request).
    pub fn is_mcp(&self) -> bool {
        !matches!(self.action, Action::Http(_))
    }

    /// The argument of the plugin's `check`, if the step asks for one.
    pub fn check(&self) -> Option<&str> {
        match &self.action {
            Action::Http(call) => call.expect.check.as_deref(),
            Action::ToolCall(call) => call.expect.check.as_deref(),
            Action::McpRequest(r) => r.expect.check.as_deref(),
            Action::McpCheck(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_file_step_is_one_action_and_reads_back_as_written() {
        let tool = serde_json::json!({"name": "t", "tool_call": {"tool": "echo", "arguments": {"text": "{{x}}"},
            "expect": {"outcome": "tool-error", "result": [{"pointer": "/e", "test": "equals", "value": 1}]}}});
        let step: Step = serde_json::from_value(tool.clone()).unwrap();
        assert!(
            matches!(&step.action, Action::ToolCall(c) if c.tool == "echo" && c.expect.outcome == ToolOutcome::ToolError)
        );
        let back = serde_json::to_value(&step).unwrap();
        assert_eq!(serde_json::from_value::<Step>(back.clone()).unwrap(), step, "{back}");
        assert_eq!(back["tool_call"]["arguments"], tool["tool_call"]["arguments"]);
        assert!(back.get("request").is_none() && back.get("mcp_request").is_none(), "{back}");
        let request: Step =
            serde_json::from_value(serde_json::json!({"mcp_request": {"method": "resources/list",
            "params": {}, "expect": {"outcome": "success"}}}))
            .unwrap();
        assert_eq!(request.display_name(), "resources/list");
        assert!(request.is_mcp() && request.tool_call().is_none() && request.http().is_none());
        let both = serde_json::json!({"request": {"method": "GET", "path": "/"}, "expect": {"status": [200]},
            "tool_call": tool["tool_call"]});
        let e = serde_json::from_value::<Step>(both).unwrap_err().to_string();
        assert!(e.contains("a step is one action"), "{e}");
        let e = serde_json::from_value::<Step>(serde_json::json!({"name": "x"})).unwrap_err().to_string();
        assert!(e.contains("a step needs an action"), "{e}");
    }
}
