//! Plan validation: refuse plans that cannot mean what they say before anything is sent.
//!
//! Unique ids, dependencies that exist, no cycles, a non-empty status set on every step, valid
//! capture names, and nothing this host cannot yet execute.

use super::Plan;
use super::graph::Graph;
use super::model::{
    Action, Body, HttpCall, MCP_REQUEST_METHODS, McpRequest, Method, StatusMatch, Step, StepMode, ToolCall,
    ToolOutcome,
};
use crate::text::escape_line;

/// Every problem found, each naming where it is. Empty means the plan is valid.
pub fn validate(plan: &Plan) -> Vec<String> {
    let mut errors = Vec::new();
    for s in &plan.seeds {
        check_step(&format!("seed {:?}", s.id), &s.step, &mut errors);
    }
    let seed = |i: usize| {
        let s = &plan.seeds[i];
        Node { id: &s.id, plugin: &s.plugin, deps: &s.depends_on }
    };
    check_graph("seed", plan.seeds.len(), seed, &mut errors);

    for s in plan.scenarios.iter() {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                errors.push(format!("a scenario cannot be read back: {e}"));
                continue;
            }
        };
        if s.steps.is_empty() {
            errors.push(format!("scenario {:?} has no steps", s.id));
        }
        for (i, step) in s.steps.iter().enumerate() {
            check_step(&StepAt { scenario: &s.id, index: i, step }, step, &mut errors);
        }
    }
    let all = &plan.scenarios;
    let scenario = |i: usize| Node { id: all.id(i), plugin: all.plugin(i), deps: all.depends_on(i) };
    check_graph("scenario", all.len(), scenario, &mut errors);
    errors
}

/// Where a step is, for messages: written only when there is a problem to name.
struct StepAt<'a> {
    scenario: &'a str,
    index: usize,
    step: &'a Step,
}

impl std::fmt::Display for StepAt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.step.display_name();
        let name = escape_line(&name);
        write!(f, "scenario {:?}, step {} ({name})", self.scenario, self.index + 1)
    }
}

/// A seed or a scenario, as far as the dependency graph is concerned.
struct Node<'a> {
    id: &'a str,
    plugin: &'a str,
    deps: &'a [String],
}

/// Ids non-empty and unique, dependencies known, no cycle, over `n` nodes read by position.
fn check_graph<'a>(kind: &str, n: usize, node: impl Fn(usize) -> Node<'a>, errors: &mut Vec<String>) {
    for i in 0..n {
        let node = node(i);
        if node.id.is_empty() {
            errors.push(format!("a {kind} of plugin {} has an empty id", escape_line(node.plugin)));
        }
    }
    let graph = Graph::new((0..n).map(|i| {
        let node = node(i);
        (node.id, node.deps.iter())
    }));
    for &(i, first) in &graph.duplicates {
        let (n, other) = (node(i), node(first));
        let (first, then) = (escape_line(other.plugin), escape_line(n.plugin));
        errors.push(format!("{kind} id {:?} is used twice (plugins {first} and {then})", n.id));
    }
    for (i, d) in &graph.unknown {
        errors.push(format!("{kind} {:?} depends on {d:?}, which is not a {kind} in the plan", node(*i).id));
    }
    if let Some(cycle) = graph.find_cycle() {
        let ids: Vec<_> = cycle.iter().map(|&i| escape_line(node(i).id)).collect();
        errors.push(format!("{kind} dependencies form a cycle: {}", ids.join(" -> ")));
    }
}

fn check_step(at: &dyn std::fmt::Display, step: &Step, errors: &mut Vec<String>) {
    let (assertions, schema) = match &step.action {
        Action::Http(call) => {
            check_http(at, call, errors);
            (&call.expect.body, &call.expect.schema)
        }
        Action::ToolCall(call) => {
            check_tool_call(at, step, call, errors);
            (&call.expect.result, &call.expect.schema)
        }
        Action::McpRequest(r) => {
            check_mcp_request(at, step, r, errors);
            (&r.expect.result, &r.expect.schema)
        }
        Action::McpCheck(c) => {
            if super::protocol::check(&c.check).is_none() {
                let known: Vec<&str> = super::protocol::CHECKS.iter().map(|c| c.name).collect();
                errors.push(format!(
                    "{at}: smoke has no protocol check {:?} (one of: {})",
                    c.check,
                    known.join(", ")
                ));
            }
            if !step.captures.is_empty() || step.mode != StepMode::Once {
                errors.push(format!("{at}: a protocol check (`mcp_check`) runs once and captures nothing"));
            }
            return;
        }
    };
    if step.timeout_ms == Some(0) {
        errors.push(format!(
            "{at}: timeout_ms is 0, which no request can meet; leave it out for the run's timeout"
        ));
    }
    let pointers =
        assertions.iter().map(|a| &a.pointer).chain(step.captures.iter().filter_map(|c| match &c.source {
            crate::plan::model::CaptureSource::Body(p) => Some(p),
            crate::plan::model::CaptureSource::Header(_) => None,
        }));
    for pointer in pointers {
        if !pointer.is_empty() && !pointer.starts_with('/') {
            errors.push(format!(
                "{at}: {pointer:?} is not a JSON pointer: it must be empty (the whole body) or start with '/', e.g. \"/{pointer}\""
            ));
        }
    }
    for c in &step.captures {
        let valid = !c.name.is_empty()
            && c.name.chars().all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | '-'));
        if !valid {
            errors.push(format!(
                "{at}: capture name {:?} may only hold letters, digits, '_', '.' and '-'",
                c.name
            ));
        }
        if c.name.starts_with("config.") {
            errors.push(format!(
                "{at}: capture name {:?} is reserved: `config.*` names the plugin's config",
                c.name
            ));
        }
        if c.name.starts_with("smoke.") {
            errors.push(format!(
                "{at}: capture name {:?} is reserved: `smoke.*` names what the host gives every step \
                 (`smoke.run`)",
                c.name
            ));
        }
    }
    if let Some(schema) = schema
        && let Err(e) = jsonschema::validator_for(schema)
    {
        errors.push(format!("{at}: the response schema is not a valid JSON Schema: {e}"));
    }
    match &step.mode {
        StepMode::Once => {}
        StepMode::Poll { interval_ms, timeout_ms } => {
            if *interval_ms == 0 || *timeout_ms < *interval_ms {
                errors.push(format!(
                    "{at}: a poll needs an interval above 0 and a timeout of at least one interval \
                     (interval {interval_ms} ms, timeout {timeout_ms} ms)"
                ));
            }
        }
        StepMode::Burst { count, concurrency, mix } => {
            if step.is_mcp() {
                errors.push(format!("{at}: a burst sends HTTP requests; an MCP call cannot be a burst"));
            }
            if *count == 0 || *concurrency == 0 || *count > 100_000 || *concurrency > 1_000 {
                errors.push(format!(
                    "{at}: a burst needs 1 to 100000 requests and a concurrency of 1 to 1000 (count {count}, \
                     concurrency {concurrency})"
                ));
            }
            for bound in mix {
                check_status(at, bound.status, errors);
            }
        }
    }
}

fn check_http(at: &dyn std::fmt::Display, call: &HttpCall, errors: &mut Vec<String>) {
    let (request, expect) = (&call.request, &call.expect);
    if expect.status.is_empty() {
        errors
            .push(format!("{at}: the expectation accepts no status; list the statuses that count as a pass"));
    }
    for status in &expect.status {
        check_status(at, *status, errors);
    }
    if let Some(Body::Multipart(parts)) = &request.body {
        if parts.is_empty() {
            errors.push(format!("{at}: a multipart body needs at least one part"));
        }
        if request.headers.iter().any(|h| h.name.eq_ignore_ascii_case("content-type")) {
            errors.push(format!(
                "{at}: a multipart body sets its own content type (with the boundary); leave the \
                 content-type header out"
            ));
        }
    }
    if let Method::Other(token) = &request.method
        && let Some(problem) = bad_method(token)
    {
        errors.push(format!("{at}: method {token:?} {problem}"));
    }
    if let Some(reason) = off_target_template(&request.path) {
        errors.push(format!("{at}: the path {:?} {reason}", request.path));
    }
    for h in &request.headers {
        if let Some(reason) = off_target_header(&h.name) {
            errors.push(format!("{at}: the header {:?} {reason}", h.name));
        }
    }
}

fn check_mcp_request(at: &dyn std::fmt::Display, step: &Step, r: &McpRequest, errors: &mut Vec<String>) {
    if r.method == "tools/call" {
        errors.push(format!("{at}: `tools/call` is a tool call: write it as `tool_call`, which the host checks against the tool list"));
    } else if !MCP_REQUEST_METHODS.contains(&r.method.as_str()) {
        errors.push(format!(
            "{at}: MCP method {:?} cannot be sent as a request (one of: {})",
            r.method,
            MCP_REQUEST_METHODS.join(", ")
        ));
    }
    if !matches!(r.expect.outcome, ToolOutcome::Success | ToolOutcome::Refused) {
        errors.push(format!(
            "{at}: an MCP request succeeds (a result) or is refused (a JSON-RPC error); outcome {:?} is for tool calls",
            r.expect.outcome.as_str()
        ));
    }
    if !r.params.is_object() {
        errors.push(format!("{at}: the params of {:?} must be a JSON object", r.method));
    }
    for c in &step.captures {
        if let crate::plan::model::CaptureSource::Header(h) = &c.source {
            errors.push(format!(
                "{at}: capture {:?} reads header {h:?}, but an MCP result has no headers",
                c.name
            ));
        }
    }
}

fn check_tool_call(at: &dyn std::fmt::Display, step: &Step, call: &ToolCall, errors: &mut Vec<String>) {
    if call.tool.is_empty() && call.expect.outcome != ToolOutcome::Refused {
        errors.push(format!("{at}: the tool call names no tool"));
    }
    if !call.arguments.is_object() {
        errors.push(format!(
            "{at}: the arguments of tool {:?} must be a JSON object (MCP passes arguments by name), not {}",
            call.tool,
            crate::plan::model::json_type_name(&call.arguments)
        ));
    }
    for c in &step.captures {
        if let crate::plan::model::CaptureSource::Header(h) = &c.source {
            errors.push(format!(
                "{at}: capture {:?} reads header {h:?}, but a tool call's result has no headers; capture from the \
                 result's JSON instead",
                c.name
            ));
        }
    }
}

fn check_status(at: &dyn std::fmt::Display, status: StatusMatch, errors: &mut Vec<String>) {
    match status {
        StatusMatch::Class(class) if !(1..=5).contains(&class) => {
            errors.push(format!("{at}: status class {class} does not exist (1 to 5)"));
        }
        StatusMatch::Code(code) if !(100..=599).contains(&code) => {
            errors.push(format!("{at}: status {code} does not exist (HTTP statuses are 100 to 599)"));
        }
        _ => {}
    }
}

/// Why a method token other than the seven cannot be sent, if it cannot: RFC 9110 section 9
/// methods are tokens (letters, digits and ``!#$%&'*+-.^_`|~``), case-sensitive.
fn bad_method(token: &str) -> Option<&'static str> {
    if token.is_empty() {
        return Some("is empty");
    }
    if !token.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
        return Some("is not an HTTP method token (letters, digits and !#$%&'*+-.^_`|~ only)");
    }
    if ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]
        .iter()
        .any(|known| known.eq_ignore_ascii_case(token) && *known != token)
    {
        return Some(
            "is a standard method spelled in another case; methods are case-sensitive, write it in capitals",
        );
    }
    if token == "CONNECT" {
        return Some("opens a tunnel, which smoke does not test");
    }
    None
}

/// Why a request path (a template, before variables are filled in) could leave the base URL's
/// origin or base path, or `None` when it cannot. Values filled in later are percent-encoded as
/// one segment, so only the template's own text matters. The host refuses such a path twice: here,
/// before anything is sent, and again when the URL is built.
pub fn off_target(path: &str) -> Option<&'static str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Some("must start with '/'");
    }
    if bytes.get(1) == Some(&b'/') {
        return Some("starts with '//', which names another host; a path must stay on the base URL");
    }
    // One pass over the bytes; the reasons in the order they are told.
    let (mut backslash, mut absolute, mut control) = (false, false, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\\' => backslash = true,
            b':' if bytes[i + 1..].starts_with(b"//") => absolute = true,
            b' ' | 0x7f | 0..0x20 => control = true,
            _ => {}
        }
    }
    // Beyond ASCII, the control characters of Unicode (U+0080 to U+009F) count too.
    if !control && !path.is_ascii() {
        control = path.chars().any(char::is_control);
    }
    if backslash {
        return Some("holds a backslash, which URL parsers read as '/'; a path must stay on the base URL");
    }
    if absolute {
        return Some("holds an absolute URL ('://'); a path must stay on the base URL");
    }
    if control {
        return Some("holds a space or a control character; percent-encode it");
    }
    // `.` and `..` as servers may read them: percent-decoded, and cut at `;` (`..;` is `..` to
    // servers that drop path parameters first).
    let dot = |segment: &str| {
        let decoded = match segment.contains('%') {
            true => percent_encoding::percent_decode_str(segment).decode_utf8_lossy(),
            false => std::borrow::Cow::Borrowed(segment),
        };
        let bare = decoded.split(';').next().unwrap_or("");
        bare == "." || bare == ".."
    };
    if path.split('/').any(dot) {
        return Some("holds a '.' or '..' segment, which could climb out of the base path");
    }
    None
}

/// [`off_target`] for a path as a plan writes it, before values are filled in: also no encoded
/// slash or backslash (`%2f`, `%5c`), which servers that decode before routing read as
/// separators. (A filled-in value may hold them: it is one segment, encoded by smoke.)
pub fn off_target_template(path: &str) -> Option<&'static str> {
    if let Some(reason) = off_target(path) {
        return Some(reason);
    }
    let path = path.split_once('?').map_or(path, |(p, _)| p).as_bytes();
    let encoded_separator = path
        .windows(3)
        .any(|w| w[0] == b'%' && matches!((w[1], w[2].to_ascii_lowercase()), (b'2', b'f') | (b'5', b'c')));
    if encoded_separator {
        return Some("holds an encoded '/' or '\\' (%2F, %5C), which servers may read as a separator");
    }
    None
}

/// Why a request header would send the request to another host than the base URL's.
pub fn off_target_header(name: &str) -> Option<&'static str> {
    ["host", "forwarded", "x-forwarded-host", ":authority"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        .then_some("names the host; a plan may not choose it (the base URL does)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_leave_the_target_are_named() {
        for bad in [
            "//evil/x",
            "/\\\\evil/x",
            "/http://other:8080/x",
            "/a/../admin",
            "/a/%2E%2e/b",
            "x",
            "/a b",
            "/..;/admin",
        ] {
            assert!(off_target(bad).is_some(), "{bad}");
        }
        for bad in ["/%2e%2e%2fadmin", "/a%5c..", "/a/%2F"] {
            assert!(off_target_template(bad).is_some(), "{bad}");
        }
        assert!(off_target_header("HOST").is_some() && off_target_header("x-forwarded-host").is_some());
        assert!(off_target_header("x-request-id").is_none());
        for good in ["/users:search", "/v1/things/{{id}}", "/a?x=1", "/", "/a..b/c"] {
            assert_eq!(off_target(good), None, "{good}");
        }
    }

    #[test]
    fn steps_using_contract_0_2_escape_hatches_are_checked() {
        use crate::plan::model::{
            Body, Expectation, Method, MultipartPart, Pair, PartContent, Request, StatusMatch,
        };
        let step = |method: Method, body: Option<Body>, headers: Vec<Pair>, status: Vec<StatusMatch>| Step {
            name: String::new(),
            action: Action::Http(HttpCall {
                request: Request { method, path: "/x".into(), query: vec![], headers, body },
                expect: Expectation {
                    status,
                    body: vec![],
                    headers: vec![],
                    schema: None,
                    max_latency_ms: None,
                    check: None,
                },
            }),
            captures: vec![],
            mode: StepMode::Once,
            timeout_ms: None,
        };
        let errors = |s: Step| {
            let mut errors = Vec::new();
            check_step(&"here", &s, &mut errors);
            errors
        };
        let ok = vec![StatusMatch::Class(2)];
        assert!(errors(step(Method::Other("PROPFIND".into()), None, vec![], ok.clone())).is_empty());
        let part = MultipartPart {
            name: "a".into(),
            filename: None,
            content_type: None,
            content: PartContent::Text("b".into()),
        };
        assert!(
            errors(step(Method::Post, Some(Body::Multipart(vec![part.clone()])), vec![], ok.clone()))
                .is_empty()
        );

        let bad = errors(step(Method::Other("get".into()), None, vec![], vec![StatusMatch::Class(7)]));
        assert!(bad.iter().any(|e| e.contains("status class 7 does not exist")), "{bad:?}");
        assert!(bad.iter().any(|e| e.contains("methods are case-sensitive")), "{bad:?}");
        assert!(
            errors(step(Method::Other("GE T".into()), None, vec![], ok.clone()))[0]
                .contains("not an HTTP method token")
        );
        let empty = errors(step(Method::Post, Some(Body::Multipart(vec![])), vec![], ok.clone()));
        assert!(empty[0].contains("at least one part"), "{empty:?}");
        let typed = vec![Pair { name: "Content-Type".into(), value: "multipart/form-data".into() }];
        let clash = errors(step(Method::Post, Some(Body::Multipart(vec![part])), typed, ok));
        assert!(clash[0].contains("leave the content-type header out"), "{clash:?}");
    }
}
