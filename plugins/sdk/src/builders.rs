//! Builders over the WIT types, so a plan reads like what it tests.
//!
//! Every builder consumes and returns `self`; nothing here has defaults that could make a step
//! pass by accident (a step with no accepted status is rejected by the host's plan validation).

use crate::{
    Action, Body, Burst, Capture, CaptureSource, CheckInput, ConfigKey, ConfigKind, Document, Endpoint,
    Exchange, HttpCall, HttpExchange, HttpExpectation, HttpRequest, Info, JsonAssertion, JsonTest,
    McpRequest, Method, MultipartPart, Needs, Pair, PartContent, Plan, PlanError, PlanInput, Poll, RawBody,
    Response, Scenario, ScenarioKind, Seed, SentRequest, Status, StatusCount, Step, StepMode, ToolCall,
    ToolExchange, ToolExpectation, ToolOutcome, Verdict,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Text sent exactly as written even where it contains `{{`, for services with templates of
/// their own: `literal("{{steps.a.output}}")` reaches the service as `{{steps.a.output}}`.
pub fn literal(text: &str) -> String {
    text.replace("{{", "\\{{")
}

/// Render a JSON value as the JSON text the WIT contract carries.
pub fn json_text(value: impl Into<Value>) -> String {
    value.into().to_string()
}

fn pair(name: impl Into<String>, value: impl Into<String>) -> Pair {
    Pair { name: name.into(), value: value.into() }
}

impl Info {
    /// A plugin named `name`, at `version`, knowing `domain`.
    pub fn new(name: &str, version: &str, domain: &str) -> Self {
        Info {
            name: name.into(),
            version: version.into(),
            domain: domain.into(),
            description: String::new(),
            config: Vec::new(),
            sensitive_fields: Vec::new(),
            sensitive_headers: Vec::new(),
            needs: Needs { memory_mib: None, call_timeout_ms: None },
        }
    }

    /// Declare the memory one call needs, in MiB, when the host's default (64 MiB) is too little
    /// (a plugin carrying an interpreter, a large document). The host caps it.
    pub fn needs_memory_mib(mut self, mib: u32) -> Self {
        self.needs.memory_mib = Some(mib);
        self
    }

    /// Declare the time one call needs, in milliseconds, when the host's default (5 s) is too
    /// little. The host caps it.
    pub fn needs_call_timeout_ms(mut self, ms: u32) -> Self {
        self.needs.call_timeout_ms = Some(ms);
        self
    }

    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    /// Declare a config key. `default` of `None` with `required` makes the host refuse to plan
    /// without it.
    pub fn config_key(
        mut self,
        name: &str,
        kind: ConfigKind,
        required: bool,
        default: Option<&str>,
        description: &str,
    ) -> Self {
        self.config.push(ConfigKey {
            name: name.into(),
            description: description.into(),
            kind,
            required,
            default: default.map(Into::into),
        });
        self
    }

    /// A JSON field whose values must never appear in reports.
    pub fn sensitive_field(mut self, name: &str) -> Self {
        self.sensitive_fields.push(name.into());
        self
    }

    /// A header whose values must never appear in reports.
    pub fn sensitive_header(mut self, name: &str) -> Self {
        self.sensitive_headers.push(name.into());
        self
    }
}

impl PlanInput {
    /// The value of a config key (defaults already applied by the host).
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// The document named by a `document` config key.
    pub fn document(&self, key: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.key == key)
    }

    /// Whether the host supports an optional feature of the contract (`body.multipart`...), so a
    /// plugin can leave out what the host lacks instead of failing.
    pub fn host_supports(&self, feature: &str) -> bool {
        self.host.features.iter().any(|f| f == feature)
    }
}

impl PlanError {
    pub fn new(message: impl Into<String>) -> Self {
        PlanError { message: message.into(), location: None }
    }

    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

// `Plan` is generated from WIT; a derive would have to apply to every generated type.
#[allow(clippy::derivable_impls)]
impl Default for Plan {
    fn default() -> Self {
        Plan { seeds: Vec::new(), scenarios: Vec::new(), surface: Vec::new() }
    }
}

impl Plan {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn seed(mut self, seed: Seed) -> Self {
        self.seeds.push(seed);
        self
    }

    pub fn scenario(mut self, scenario: Scenario) -> Self {
        self.scenarios.push(scenario);
        self
    }

    pub fn scenarios(mut self, scenarios: impl IntoIterator<Item = Scenario>) -> Self {
        self.scenarios.extend(scenarios);
        self
    }

    /// Declare an endpoint of the covered API surface (`METHOD /path/{param}`).
    pub fn endpoint(mut self, id: &str, has_constrained_body: bool) -> Self {
        self.surface.push(Endpoint {
            id: id.into(),
            has_path_params: id.contains('{'),
            has_constrained_body,
        });
        self
    }

    /// Declare an endpoint that creates what its path names when it does not exist (`PUT
    /// /accounts/{code}`): an unknown key is created, not a 404, so no not-found scenario is
    /// expected of it.
    pub fn upsert_endpoint(mut self, id: &str, has_constrained_body: bool) -> Self {
        self.surface.push(Endpoint { id: id.into(), has_path_params: false, has_constrained_body });
        self
    }
}

impl Seed {
    /// A record created by `step` before any scenario runs; its captures are global variables.
    pub fn new(id: &str, step: Step) -> Self {
        Seed { id: id.into(), description: String::new(), depends_on: Vec::new(), step }
    }

    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    pub fn depends_on(mut self, seed_id: &str) -> Self {
        self.depends_on.push(seed_id.into());
        self
    }
}

impl Scenario {
    pub fn new(id: &str, kind: ScenarioKind, endpoint: &str) -> Self {
        Scenario {
            id: id.into(),
            endpoint: endpoint.into(),
            kind,
            description: String::new(),
            depends_on: Vec::new(),
            tags: Vec::new(),
            steps: Vec::new(),
        }
    }

    pub fn happy_path(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::HappyPath, endpoint)
    }

    pub fn not_found(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::NotFound, endpoint)
    }

    pub fn validation_error(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::ValidationError, endpoint)
    }

    pub fn business_rule(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::BusinessRule, endpoint)
    }

    pub fn auth(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::Auth, endpoint)
    }

    pub fn workflow(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::Workflow, endpoint)
    }

    pub fn load(id: &str, endpoint: &str) -> Self {
        Self::new(id, ScenarioKind::Load, endpoint)
    }

    pub fn describe(mut self, description: &str) -> Self {
        self.description = description.into();
        self
    }

    pub fn depends_on(mut self, scenario_id: &str) -> Self {
        self.depends_on.push(scenario_id.into());
        self
    }

    pub fn tag(mut self, tag: &str) -> Self {
        self.tags.push(tag.into());
        self
    }

    pub fn step(mut self, step: Step) -> Self {
        self.steps.push(step);
        self
    }
}

impl Step {
    /// A step doing `action` once, unnamed, with nothing captured.
    fn with_action(action: Action) -> Self {
        Step {
            name: String::new(),
            action,
            check: None,
            captures: Vec::new(),
            mode: StepMode::Once,
            timeout_ms: None,
        }
    }

    /// A step sending `method` to `path` (relative to the base URL; may hold `{{var}}`).
    pub fn new(method: Method, path: &str) -> Self {
        Step::with_action(Action::Http(HttpCall {
            request: HttpRequest {
                method,
                path: path.into(),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
            },
            expect: HttpExpectation {
                status: Vec::new(),
                body: Vec::new(),
                headers: Vec::new(),
                schema: None,
                max_latency_ms: None,
            },
        }))
    }

    pub fn get(path: &str) -> Self {
        Self::new(Method::Get, path)
    }

    pub fn post(path: &str) -> Self {
        Self::new(Method::Post, path)
    }

    pub fn put(path: &str) -> Self {
        Self::new(Method::Put, path)
    }

    pub fn patch(path: &str) -> Self {
        Self::new(Method::Patch, path)
    }

    pub fn delete(path: &str) -> Self {
        Self::new(Method::Delete, path)
    }

    pub fn head(path: &str) -> Self {
        Self::new(Method::Head, path)
    }

    pub fn options(path: &str) -> Self {
        Self::new(Method::Options, path)
    }

    /// A method beyond the seven, by its token as sent (`PROPFIND`, `QUERY`).
    pub fn method(token: &str, path: &str) -> Self {
        Self::new(Method::Other(token.into()), path)
    }

    /// A step calling tool `tool` of the run's MCP server with `arguments` (a JSON object;
    /// strings that are exactly `"{{var}}"` take the variable's JSON value). By default the call
    /// must succeed; see [`Step::expect_tool_error`] and [`Step::expect_refused`].
    pub fn tool_call(tool: &str, arguments: impl Into<Value>) -> Self {
        Step::with_action(Action::ToolCall(ToolCall {
            tool: tool.into(),
            arguments: json_text(arguments),
            expect: success(),
        }))
    }

    /// The HTTP call this step makes.
    ///
    /// # Panics
    /// When the step is a tool call: HTTP builders on a tool call are a bug in the plan.
    pub fn http(&self) -> &HttpCall {
        match &self.action {
            Action::Http(call) => call,
            Action::ToolCall(call) => {
                panic!("step {:?} calls tool {:?}; it has no HTTP request", self.name, call.tool)
            }
            Action::McpRequest(r) => {
                panic!("step {:?} sends MCP {}; it has no HTTP request", self.name, r.method)
            }
        }
    }

    /// The HTTP call this step makes, to change.
    ///
    /// # Panics
    /// When the step is a tool call: HTTP builders on a tool call are a bug in the plan.
    pub fn http_mut(&mut self) -> &mut HttpCall {
        match &mut self.action {
            Action::Http(call) => call,
            Action::ToolCall(call) => panic!(
                "step {:?} calls tool {:?}: headers, query, bodies and statuses are for HTTP steps",
                self.name, call.tool
            ),
            Action::McpRequest(r) => panic!(
                "step {:?} sends MCP {}: headers, query, bodies and statuses are for HTTP steps",
                self.name, r.method
            ),
        }
    }

    /// The tool call this step makes, if it is one.
    pub fn tool(&self) -> Option<&ToolCall> {
        match &self.action {
            Action::ToolCall(call) => Some(call),
            Action::Http(_) | Action::McpRequest(_) => None,
        }
    }

    /// A step sending MCP request `method` (`resources/list`, `resources/read`, `prompts/list`,
    /// `prompts/get`, `resources/templates/list`, `completion/complete`, `ping`) with `params` (a
    /// JSON object, templated like a JSON body) to the run's MCP server. By default it must get
    /// a result, whose JSON the assertions read; see [`Step::expect_refused`].
    pub fn mcp_request(method: &str, params: impl Into<Value>) -> Self {
        Step::with_action(Action::McpRequest(McpRequest {
            method: method.into(),
            params: json_text(params),
            expect: success(),
        }))
    }

    fn mcp_expect_mut(&mut self, what: &str, requests: bool) -> &mut ToolExpectation {
        if let (Action::McpRequest(r), false) = (&self.action, requests) {
            panic!("step {:?} sends MCP {}: {what} is for tool calls", self.name, r.method);
        }
        match &mut self.action {
            Action::ToolCall(call) => &mut call.expect,
            Action::McpRequest(r) => &mut r.expect,
            Action::Http(call) => {
                panic!(
                    "step {:?} is an HTTP call to {}: {what} is for MCP calls",
                    self.name, call.request.path
                )
            }
        }
    }

    /// The tool must report an error (`isError: true`): the tool ran and refused, as a broken
    /// business rule should be.
    pub fn expect_tool_error(mut self) -> Self {
        self.mcp_expect_mut("expect_tool_error", false).outcome = ToolOutcome::ToolError;
        self
    }

    /// For valid calls whose business outcome the plan cannot know (a generic plugin's): a
    /// JSON-RPC error fails it; a result with `isError` is no pass either: the scenario is
    /// reported as skipped, not tested, with the tool's message (a run whose every happy path
    /// ended so does not pass).
    pub fn expect_answer(mut self) -> Self {
        self.mcp_expect_mut("expect_answer", false).outcome = ToolOutcome::Answered;
        self
    }

    /// The call must be refused, by a JSON-RPC error or `isError: true`: for calls meant to be
    /// wrong (invalid arguments, an unknown tool), which the host then sends unchecked. For an
    /// MCP request, a JSON-RPC error.
    pub fn expect_refused(mut self) -> Self {
        self.mcp_expect_mut("expect_refused", true).outcome = ToolOutcome::Refused;
        self
    }

    /// The request this step sends.
    pub fn request(&self) -> &HttpRequest {
        &self.http().request
    }

    /// What the response must satisfy.
    pub fn expectation(&self) -> &HttpExpectation {
        &self.http().expect
    }

    /// The name shown in reports (defaults to `METHOD path` when empty).
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    fn body(mut self, body: Body) -> Self {
        self.http_mut().request.body = Some(body);
        self
    }

    /// A JSON body. Strings that are exactly `"{{var}}"` take the variable's JSON value.
    pub fn json(self, body: impl Into<Value>) -> Self {
        self.body(Body::Json(json_text(body)))
    }

    /// A raw text body, e.g. deliberately malformed JSON. Set the content type with `header`.
    pub fn text(self, body: &str) -> Self {
        self.body(Body::Text(body.into()))
    }

    /// Form fields, sent as `application/x-www-form-urlencoded`; values may be `{{var}}` templates.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        self.body(Body::Form(fields.iter().map(|(n, v)| pair(*n, *v)).collect()))
    }

    /// A `multipart/form-data` body; build its parts with [`MultipartPart::text`] and
    /// [`MultipartPart::file`].
    pub fn multipart(self, parts: Vec<MultipartPart>) -> Self {
        self.body(Body::Multipart(parts))
    }

    /// Bytes sent as they are, with their content type.
    pub fn bytes(self, content_type: &str, content: impl Into<Vec<u8>>) -> Self {
        self.body(Body::Bytes(RawBody { content_type: content_type.into(), content: content.into() }))
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.http_mut().request.headers.push(pair(name, value));
        self
    }

    /// `Authorization: Bearer <token>`; the token may be a `{{var}}` template.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.http_mut().request.query.push(pair(name, value));
        self
    }

    fn accept(mut self, status: Status) -> Self {
        let accepted = &mut self.http_mut().expect.status;
        if !accepted.contains(&status) {
            accepted.push(status);
        }
        self
    }

    /// Accept this status (call again to accept several).
    pub fn expect_status(self, status: u16) -> Self {
        self.accept(Status::Code(status))
    }

    /// Accept every status of a class by its first digit: `expect_status_class(2)` is any 2xx.
    pub fn expect_status_class(self, class: u8) -> Self {
        self.accept(Status::Class(class))
    }

    fn assert_body(mut self, pointer: &str, test: JsonTest) -> Self {
        let assertion = JsonAssertion { pointer: pointer.into(), test };
        match &mut self.action {
            Action::Http(call) => call.expect.body.push(assertion),
            Action::ToolCall(call) => call.expect.result.push(assertion),
            Action::McpRequest(r) => r.expect.result.push(assertion),
        }
        self
    }

    /// The value at `pointer` must equal `value` (strings may be `"{{var}}"` templates).
    pub fn expect_eq(self, pointer: &str, value: impl Into<Value>) -> Self {
        self.assert_body(pointer, JsonTest::Equals(json_text(value)))
    }

    pub fn expect_exists(self, pointer: &str) -> Self {
        self.assert_body(pointer, JsonTest::Exists)
    }

    pub fn expect_absent(self, pointer: &str) -> Self {
        self.assert_body(pointer, JsonTest::Absent)
    }

    /// The value at `pointer` must be an array of exactly `length` items.
    pub fn expect_len(self, pointer: &str, length: u32) -> Self {
        self.assert_body(pointer, JsonTest::Length(length))
    }

    /// The response must carry this header; an empty `value` accepts any value.
    pub fn expect_header(mut self, name: &str, value: &str) -> Self {
        self.http_mut().expect.headers.push(pair(name, value));
        self
    }

    /// The body (for a tool call, the result's JSON) must validate against this JSON Schema.
    pub fn expect_schema(mut self, schema: impl Into<Value>) -> Self {
        let schema = Some(json_text(schema));
        match &mut self.action {
            Action::Http(call) => call.expect.schema = schema,
            Action::ToolCall(call) => call.expect.schema = schema,
            Action::McpRequest(r) => r.expect.schema = schema,
        }
        self
    }

    pub fn max_latency_ms(mut self, limit: u32) -> Self {
        match &mut self.action {
            Action::Http(call) => call.expect.max_latency_ms = Some(limit),
            Action::ToolCall(call) => call.expect.max_latency_ms = Some(limit),
            Action::McpRequest(r) => r.expect.max_latency_ms = Some(limit),
        }
        self
    }

    /// Time limit of this step's request, overriding the run's `--request-timeout`.
    pub fn timeout_ms(mut self, limit: u32) -> Self {
        self.timeout_ms = Some(limit);
        self
    }

    /// Ask the plugin's `check` to judge the response, passing `argument`: any value that
    /// serializes to JSON (a `serde_json::json!` value or your own `#[derive(Serialize)]` type),
    /// read back in `check` with [`CheckInput::argument`].
    ///
    /// # Panics
    /// When the argument cannot be serialized to JSON (a map with non-string keys): a bug in the
    /// plan, found the first time it is built.
    pub fn check(mut self, argument: impl Serialize) -> Self {
        let text = serde_json::to_string(&argument).expect("a check argument serializes to JSON");
        self.check = Some(text);
        self
    }

    /// Capture the value at a JSON pointer of the body as `{{name}}`.
    pub fn capture(mut self, name: &str, pointer: &str) -> Self {
        self.captures.push(Capture { name: name.into(), source: CaptureSource::Body(pointer.into()) });
        self
    }

    /// Capture a response header as `{{name}}`.
    pub fn capture_header(mut self, name: &str, header: &str) -> Self {
        self.captures.push(Capture { name: name.into(), source: CaptureSource::Header(header.into()) });
        self
    }

    /// Re-send until the expectation holds, every `interval_ms`, for at most `timeout_ms`.
    pub fn poll(mut self, interval_ms: u32, timeout_ms: u32) -> Self {
        self.mode = StepMode::Poll(Poll { interval_ms, timeout_ms });
        self
    }

    /// Send `count` copies with `concurrency` in flight.
    pub fn burst(mut self, count: u32, concurrency: u32) -> Self {
        self.mode = StepMode::Burst(Burst { count, concurrency, mix: Vec::new() });
        self
    }

    /// In a burst: bound how many responses have `status`.
    pub fn mix(mut self, status: Status, at_least: Option<u32>, at_most: Option<u32>) -> Self {
        if let StepMode::Burst(burst) = &mut self.mode {
            burst.mix.push(StatusCount { status, at_least, at_most });
        }
        self
    }
}

/// An MCP call's expectation before any builder: a success, nothing asserted.
fn success() -> ToolExpectation {
    ToolExpectation { outcome: ToolOutcome::Success, result: Vec::new(), schema: None, max_latency_ms: None }
}

impl MultipartPart {
    /// A text field; the value may hold `{{var}}` templates.
    pub fn text(name: &str, value: &str) -> Self {
        MultipartPart {
            name: name.into(),
            filename: None,
            content_type: None,
            content: PartContent::Text(value.into()),
        }
    }

    /// A file upload: bytes with a file name and a content type.
    pub fn file(name: &str, filename: &str, content_type: &str, content: impl Into<Vec<u8>>) -> Self {
        MultipartPart {
            name: name.into(),
            filename: Some(filename.into()),
            content_type: Some(content_type.into()),
            content: PartContent::Bytes(content.into()),
        }
    }
}

impl Status {
    /// Exactly this status: `Status::code(429)`, as `Status::Code(429)`, spelled as the Python
    /// and TypeScript SDKs spell it.
    pub fn code(status: u16) -> Self {
        Status::Code(status)
    }

    /// Every status of a class, by its first digit: `Status::class(5)` is any 5xx.
    pub fn class(digit: u8) -> Self {
        Status::Class(digit)
    }
}

impl Verdict {
    pub fn pass(reason: impl Into<String>) -> Self {
        Verdict { pass: true, reason: reason.into() }
    }

    pub fn fail(reason: impl Into<String>) -> Self {
        Verdict { pass: false, reason: reason.into() }
    }
}

impl CheckInput {
    /// The value of a config key.
    pub fn config(&self, name: &str) -> Option<&str> {
        self.config.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    /// A variable visible to the step, as JSON. `variables` holds them all (values as JSON
    /// text): the captures of earlier steps, of the scenarios it depends on and of the seeds,
    /// `config.KEY` and `smoke.run`. The argument's own `{{name}}` templates are already resolved
    /// from these when `check` sees it.
    pub fn variable(&self, name: &str) -> Option<Value> {
        let pair = self.variables.iter().find(|p| p.name == name)?;
        serde_json::from_str(&pair.value).ok()
    }

    /// The HTTP exchange judged.
    ///
    /// # Panics
    /// When the step was a tool call (read it with [`CheckInput::tool_call`]).
    pub fn http(&self) -> &HttpExchange {
        match &self.exchange {
            Exchange::Http(exchange) => exchange,
            Exchange::ToolCall(t) => {
                panic!("check was given a call of tool {:?}, not an HTTP exchange", t.tool)
            }
            Exchange::McpRequest(t) => panic!("check was given MCP {}, not an HTTP exchange", t.tool),
        }
    }

    /// The tool call judged, if the step was one.
    pub fn tool_call(&self) -> Option<&ToolExchange> {
        match &self.exchange {
            Exchange::ToolCall(exchange) => Some(exchange),
            Exchange::Http(_) | Exchange::McpRequest(_) => None,
        }
    }

    /// The MCP request judged, if the step was one: its method in `tool`, its params in
    /// `arguments`.
    pub fn mcp_request(&self) -> Option<&ToolExchange> {
        match &self.exchange {
            Exchange::McpRequest(exchange) => Some(exchange),
            Exchange::Http(_) | Exchange::ToolCall(_) => None,
        }
    }

    /// A tool call's result JSON: its `structuredContent`, or the JSON its one text content holds.
    pub fn result_json(&self) -> Option<Value> {
        let result: Value = serde_json::from_str(self.tool_call()?.result.as_deref()?).ok()?;
        if let Some(structured) = result.get("structuredContent") {
            return Some(structured.clone());
        }
        let texts: Vec<&str> = result["content"]
            .as_array()?
            .iter()
            .filter(|c| c["type"] == "text")
            .filter_map(|c| c["text"].as_str())
            .collect();
        match texts.as_slice() {
            [one] => serde_json::from_str(one).ok(),
            _ => None,
        }
    }

    /// The request as sent.
    pub fn request(&self) -> &SentRequest {
        &self.http().request
    }

    /// The response as received.
    pub fn response(&self) -> &Response {
        &self.http().response
    }

    /// A response header by its name in any case, if the exchange was HTTP and has it.
    pub fn header(&self, name: &str) -> Option<&str> {
        let Exchange::Http(exchange) = &self.exchange else { return None };
        let headers = &exchange.response.headers;
        headers.iter().find(|h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value.as_str())
    }

    /// The response body parsed as JSON, if it is JSON.
    pub fn response_json(&self) -> Option<Value> {
        serde_json::from_slice(&self.response().body).ok()
    }

    /// The step's check argument read into your type (anything `Deserialize`, or
    /// `serde_json::Value`), or the failing verdict to return when it does not fit.
    pub fn argument<T: DeserializeOwned>(&self) -> Result<T, Verdict> {
        serde_json::from_str(&self.argument).map_err(|e| {
            Verdict::fail(format!("check argument {} does not fit what check expects: {e}", self.argument))
        })
    }

    /// The argument as `{"rule": NAME, ...}`: the rule's name and the whole argument, or the
    /// failing verdict to return when it is not that.
    pub fn rule(&self) -> Result<(String, Value), Verdict> {
        let argument: Value = self.argument()?;
        match argument["rule"].as_str() {
            Some(rule) => Ok((rule.to_string(), argument)),
            None => Err(Verdict::fail(format!("check argument names no rule: {}", self.argument))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::testing::check_input;
    use crate::{CheckInput, Exchange, MultipartPart, Pair, Part, Status, ToolExchange};

    #[test]
    fn status_constructors_are_the_variants() {
        assert_eq!(Status::code(429), Status::Code(429));
        assert_eq!(Status::class(5), Status::Class(5));
    }

    #[test]
    fn part_is_the_multipart_part() {
        assert_eq!(Part::text("a", "b"), MultipartPart::text("a", "b"));
        assert_eq!(
            Part::file("f", "x.bin", "x/y", [0, 255]),
            MultipartPart::file("f", "x.bin", "x/y", [0, 255])
        );
    }

    #[test]
    fn a_response_header_is_found_by_its_name_in_any_case_and_only_in_http() {
        let mut input = check_input(1, 200, "");
        if let Exchange::Http(exchange) = &mut input.exchange {
            exchange.response.headers.push(Pair { name: "Location".into(), value: "/things/42".into() });
        }
        assert_eq!(input.header("location"), Some("/things/42"));
        assert_eq!(input.header("etag"), None);
        let tool = ToolExchange {
            tool: "t".into(),
            arguments: "{}".into(),
            result: None,
            error: None,
            latency_ms: 1,
        };
        let called = CheckInput { exchange: Exchange::ToolCall(tool), ..input };
        assert_eq!(called.header("location"), None);
    }
}
