//! The generic MCP plugin: a smoke plan for any MCP server from its own description (what
//! `initialize` said and what `tools/list` lists), handed over by the host as the document
//! `mcp:server`. The counterpart of the OpenAPI plugin, sharing its value generator
//! (`schema-values`).
//!
//! Per tool (in name order), unless its annotations say it may destroy data (the MCP default for
//! a tool that is not read-only) and the config does not allow that:
//! - a call with arguments generated from its `inputSchema`, ids in them taken from what the
//!   server's own list or create tools return ([`sources`]), which must get a result: a JSON-RPC
//!   error fails it, an error result is reported as not tested (a generic plugin cannot know
//!   which rule generated data breaks), never as a pass; the host validates a successful
//!   result's `structuredContent` against the tool's `outputSchema`;
//! - a call with invalid arguments (a required property left out, else a property of the wrong
//!   type), which must be refused with a JSON-RPC error or `isError: true`.
//!
//! And one call of a tool that does not exist, which must be refused. When the server offers
//! resources or prompts: they list, the first few listed are read or got, and an unknown one is
//! refused. Deterministic: the same description gives the same plan.

mod sources;

use schema_values::{Resolver, Standalone};
use serde_json::{Map, Value, json};
#[cfg(target_family = "wasm")]
use smoke_plugin::log;
use smoke_plugin::{ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Step, literal};

struct Mcp;

/// The name of a tool no server has.
const NO_SUCH_TOOL: &str = "smoke_no_such_tool_2f1c";
/// The URI of a resource no server has.
const NO_SUCH_RESOURCE: &str = "smoke-missing://resource/2f1c";

/// Generated values: no references to other records, unique strings by place.
struct Values {
    scenario: String,
    n: usize,
}

impl Resolver for Values {
    fn reference(&mut self, _property: &str, _required: bool) -> Option<Value> {
        None
    }

    fn unique(&mut self, hint: &str) -> String {
        self.n += 1;
        let hint: String = hint.chars().filter(char::is_ascii_alphanumeric).take(24).collect();
        format!("smoke-{}-{}-{}", self.scenario, if hint.is_empty() { "value" } else { &hint }, self.n)
    }
}

/// A tool as listed.
struct Tool<'a> {
    name: &'a str,
    schema: &'a Value,
    listed: &'a Value,
}

impl Tool<'_> {
    /// Whether the server says (or, by MCP's defaults, leaves it to be assumed) that calling it
    /// may destroy data: not read-only, and `destructiveHint` not false.
    fn destructive(&self) -> bool {
        let hint = |name: &str| self.listed["annotations"][name].as_bool();
        hint("readOnlyHint") != Some(true) && hint("destructiveHint") != Some(false)
    }

    /// The tool as [`sources`] sees it.
    fn callable(&self) -> sources::Callable<'_> {
        let schemas = Standalone(self.schema);
        let schema = schema_values::Schemas::deref(&schemas, self.schema);
        sources::Callable {
            name: self.name,
            output: &self.listed["outputSchema"],
            read_only: self.listed["annotations"]["readOnlyHint"].as_bool() == Some(true),
            arguments: self.valid_arguments().ok(),
            required: schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| Some(r.as_str()?.to_string()))
                .collect(),
        }
    }

    fn slug(&self) -> String {
        self.name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
            .collect()
    }

    /// Arguments its `inputSchema` accepts, or where and why none could be made valid.
    fn valid_arguments(&self) -> Result<Map<String, Value>, schema_values::CannotMake> {
        let mut values = Values { scenario: self.slug(), n: 0 };
        match schema_values::generate(&Standalone(self.schema), self.schema, "", &mut values)? {
            Value::Object(map) => Ok(map),
            // A schema that says nothing of its properties: call with none.
            _ => Ok(Map::new()),
        }
    }

    /// Arguments the `inputSchema` refuses: `valid` without the first required property, else
    /// with a property of a type it does not allow. `None` when neither can be made.
    fn invalid_arguments(&self, valid: &Map<String, Value>) -> Option<(Value, String)> {
        let schemas = Standalone(self.schema);
        let schema = schema_values::Schemas::deref(&schemas, self.schema);
        if let Some(first) = schema["required"].as_array().and_then(|r| r.first()).and_then(Value::as_str) {
            let mut args = valid.clone();
            args.remove(first);
            return Some((Value::Object(args), format!("without the required argument {first:?}")));
        }
        let properties = schema["properties"].as_object()?;
        for (name, property) in properties {
            let property = schema_values::Schemas::deref(&schemas, property);
            let allowed = schema_values::types(property);
            if allowed.is_empty() {
                continue;
            }
            let wrong = [
                ("object", json!({"smoke": "not this type"})),
                ("string", json!("not this type")),
                ("boolean", json!(true)),
            ]
            .into_iter()
            .find(|(t, _)| !allowed.contains(t));
            if let Some((kind, value)) = wrong {
                let mut args: Map<String, Value> = valid.clone();
                args.insert(name.clone(), value);
                return Some((Value::Object(args), format!("with {name:?} of the wrong type ({kind})")));
            }
        }
        None
    }
}

impl Plugin for Mcp {
    fn info() -> Info {
        Info::new("mcp", env!("CARGO_PKG_VERSION"), "agent-tools")
            .describe("Any MCP server, from its own tool list: valid calls, invalid calls, an unknown tool")
            .config_key(
                "server",
                ConfigKind::Document,
                false,
                Some("mcp:server"),
                "the MCP server's description; `mcp:server` is the run's MCP target's, read by the host",
            )
            .config_key(
                "destructive",
                ConfigKind::Text,
                false,
                Some("false"),
                "`true` to call tools that may destroy data (not read-only, destructiveHint not false)",
            )
            .config_key("skip", ConfigKind::Text, false, Some(""), "tool names to leave out, comma-separated")
            .config_key(
                "keep_data",
                ConfigKind::Text,
                false,
                Some("false"),
                "`true` to keep what calls make (by default a record a create tool made is deleted at the \
                 scenario's end, where the server lists a delete tool for it)",
            )
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        if !input.host_supports("action.tool-call") {
            return Err(PlanError::new("this smoke cannot call MCP tools; upgrade it"));
        }
        let Some(document) = input.document("server") else {
            return Err(PlanError::new("no MCP server description: run with an MCP target (--mcp-url, --mcp-command or [target.mcp])").at("config key \"server\""));
        };
        let description: Value = serde_json::from_slice(&document.content).map_err(|e| {
            PlanError::new(format!("the MCP server description is not JSON: {e}")).at(document.source.clone())
        })?;
        let flag = |key: &str| match input.config(key).unwrap_or("false") {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(PlanError::new(format!("{key} must be \"true\" or \"false\", not {other:?}"))
                .at(format!("config key {key:?}"))),
        };
        let destructive = flag("destructive")?;
        let keep_data = flag("keep_data")?;
        let skip: Vec<&str> =
            input.config("skip").unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
        let mut tools: Vec<Tool> = description["tools"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some(Tool { name: t["name"].as_str()?, schema: &t["inputSchema"], listed: t }))
            .collect();
        tools.sort_by(|a, b| a.name.cmp(b.name));
        // Whether the host reports scenarios tagged `skip:REASON` as skipped (`tag.skip`).
        let skips = input.host_supports("tag.skip");
        let mut plan = Plan::new();
        let mut left_out = Vec::new();
        let mut taken = std::collections::BTreeSet::new();
        // What a valid call's ids may be taken from: the tools it may call.
        let callable: Vec<sources::Callable> = tools
            .iter()
            .filter(|t| !skip.contains(&t.name) && (destructive || !t.destructive()))
            .map(Tool::callable)
            .collect();
        // What may delete a record a scenario made: a delete tool, destructive or not (only
        // ever called on what the scenario made).
        let all: Vec<sources::Callable> =
            tools.iter().filter(|t| !skip.contains(&t.name)).map(Tool::callable).collect();
        for tool in &tools {
            if skip.contains(&tool.name) {
                continue;
            }
            if tool.destructive() && !destructive {
                left_out.push(tool.name);
                continue;
            }
            let endpoint = format!("tool {}", tool.name);
            // Tools whose names differ only in what a slug leaves out get numbered ids.
            let mut id = format!("mcp.{}", tool.slug());
            let mut n = 1;
            while !taken.insert(id.clone()) {
                n += 1;
                id = format!("mcp.{}-{n}", tool.slug());
            }
            // Arguments that cannot be shown to be valid are not sent as valid: both calls are
            // planned as skipped, saying why (the invalid one would break two rules at once).
            let (valid, unmade) = match tool.valid_arguments() {
                Ok(valid) => (valid, None),
                Err(e) => {
                    (Map::new(), Some(format!("no valid arguments can be made from its inputSchema: {e}")))
                }
            };
            if let Some(why) = unmade.as_ref().filter(|_| !skips) {
                warn(&format!("tool {}: left out: {why}", tool.name));
                continue;
            }
            let skipped = |scenario: Scenario| match &unmade {
                Some(why) => scenario.tag(&format!("skip:{why}")),
                None => scenario,
            };
            // Ids the server gave out, where another tool lists or makes what an argument names.
            let mut found = sources::Found::default();
            let (first, arguments) =
                sources::before(&callable, &all, tool.name, Value::Object(valid.clone()), &mut found, 0);
            let mut happy = Scenario::happy_path(&format!("{id}.valid"), &endpoint).describe(
                "a call with arguments its inputSchema accepts (ids the server gave out) gets a result, \
                 not an error (its outputSchema honoured)",
            );
            for step in first {
                happy = happy.step(step);
            }
            let call = Step::tool_call(tool.name, arguments).named("valid arguments").expect_answer();
            happy = happy.step(sources::made_by(&all, tool.name, call, &mut found));
            // What the scenario made goes, the last made first, unless kept.
            for made in found.made.iter().rev().filter(|_| !keep_data) {
                let arguments = json!({ made.argument.as_str(): format!("{{{{{}}}}}", made.var) });
                happy = happy.step(
                    Step::tool_call(&made.deleter, arguments)
                        .named(&format!("clean up: {} what {} made", made.deleter, made.maker)),
                );
            }
            plan = plan.scenario(skipped(happy));
            if let Some((arguments, how)) = tool.invalid_arguments(&valid) {
                plan = plan.scenario(skipped(
                    Scenario::validation_error(&format!("{id}.invalid"), &endpoint)
                        .describe(&format!("a call {how} is refused"))
                        .step(
                            Step::tool_call(tool.name, arguments)
                                .named(&format!("arguments {how}"))
                                .expect_refused(),
                        ),
                ));
            }
        }
        if !left_out.is_empty() {
            warn(&format!(
                "left out {} tool(s) that may destroy data ({}); set destructive = \"true\" to call them",
                left_out.len(),
                left_out.join(", ")
            ));
        }
        let offers = |what: &str| description["capabilities"].get(what).is_some_and(|v| !v.is_null());
        if offers("resources") {
            plan = plan.scenarios(resources(&description["resources"]));
        }
        if offers("prompts") {
            plan = plan.scenarios(prompts(&description["prompts"]));
        }
        plan = plan.scenario(
            Scenario::not_found("mcp.unknown-tool", &format!("tool {NO_SUCH_TOOL}"))
                .describe("a call of a tool the server does not list is refused")
                .step(Step::tool_call(NO_SUCH_TOOL, json!({})).expect_refused()),
        );
        Ok(plan)
    }
}

/// How many listed resources are read, and prompts got.
const READS: usize = 3;

/// For a server that offers resources: they list, the first few (by URI) read, and an unknown
/// one is refused.
fn resources(listed: &Value) -> Vec<Scenario> {
    let mut out = vec![
        Scenario::happy_path("mcp.resources.list", "resources/list")
            .describe("the server offers resources, so they list")
            .step(Step::mcp_request("resources/list", json!({})).expect_exists("/resources")),
    ];
    let mut uris: Vec<&str> =
        listed.as_array().into_iter().flatten().filter_map(|r| r["uri"].as_str()).collect();
    uris.sort();
    uris.dedup();
    for (i, uri) in uris.iter().take(READS).enumerate() {
        out.push(
            Scenario::happy_path(&format!("mcp.resources.read.{}", i + 1), "resources/read")
                .describe(&format!("listed resource {uri} reads"))
                .step(
                    Step::mcp_request("resources/read", json!({"uri": literal(uri)}))
                        .named(&format!("read {uri}"))
                        .expect_exists("/contents/0"),
                ),
        );
    }
    out.push(
        Scenario::not_found("mcp.resources.read.unknown", "resources/read")
            .describe("reading a resource the server does not have is refused")
            .step(Step::mcp_request("resources/read", json!({"uri": NO_SUCH_RESOURCE})).expect_refused()),
    );
    out
}

/// For a server that offers prompts: they list, the first few (by name) that need no argument
/// are got, and an unknown one is refused.
fn prompts(listed: &Value) -> Vec<Scenario> {
    let mut out = vec![
        Scenario::happy_path("mcp.prompts.list", "prompts/list")
            .describe("the server offers prompts, so they list")
            .step(Step::mcp_request("prompts/list", json!({})).expect_exists("/prompts")),
    ];
    // Only prompts every argument of which is optional: a required one's valid values are for
    // its description to tell a person, and a guess would be a false failure.
    let takes_no_guess = |p: &&Value| {
        p["arguments"].as_array().into_iter().flatten().all(|a| a["required"].as_bool() != Some(true))
    };
    let mut prompts: Vec<&Value> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"].is_string())
        .filter(takes_no_guess)
        .collect();
    prompts.sort_by_key(|p| p["name"].as_str());
    for (i, prompt) in prompts.iter().take(READS).enumerate() {
        let name = prompt["name"].as_str().unwrap_or_default();
        out.push(
            Scenario::happy_path(&format!("mcp.prompts.get.{}", i + 1), "prompts/get")
                .describe(&format!("listed prompt {name}, which needs no argument, is got"))
                .step(
                    Step::mcp_request("prompts/get", json!({"name": literal(name)}))
                        .named(&format!("get {name}"))
                        .expect_exists("/messages"),
                ),
        );
    }
    out.push(
        Scenario::not_found("mcp.prompts.get.unknown", "prompts/get")
            .describe("getting a prompt the server does not have is refused")
            .step(Step::mcp_request("prompts/get", json!({"name": NO_SUCH_TOOL})).expect_refused()),
    );
    out
}

/// A log line for the operator (the host's log import exists only on wasm).
fn warn(message: &str) {
    #[cfg(target_family = "wasm")]
    log::warn(message);
    #[cfg(not(target_family = "wasm"))]
    let _ = message;
}

smoke_plugin::export!(Mcp);

#[cfg(test)]
mod tests {
    use super::*;
    use smoke_plugin::{Action, testing};

    fn input(description: Value, config: &[(&str, &str)]) -> PlanInput {
        let mut input = testing::empty_input();
        input.documents.push(smoke_plugin::Document {
            key: "server".into(),
            source: "mcp:server".into(),
            content: description.to_string().into_bytes(),
        });
        for (k, v) in config {
            input.config.push(smoke_plugin::Pair { name: k.to_string(), value: v.to_string() });
        }
        input
    }

    fn description() -> Value {
        json!({"tools": [
            {"name": "get_thing", "annotations": {"readOnlyHint": true},
             "inputSchema": {"type": "object", "properties": {"id": {"type": "string", "minLength": 3}}, "required": ["id"]}},
            {"name": "set_flag", "annotations": {"readOnlyHint": false, "destructiveHint": false},
             "inputSchema": {"type": "object", "properties": {"on": {"type": "boolean"}}}},
            {"name": "drop_all", "inputSchema": {"type": "object"}},
        ]})
    }

    #[test]
    fn each_tool_gets_a_valid_and_an_invalid_call_and_destructive_ones_wait_for_permission() {
        let plan = testing::assert_deterministic_plan::<Mcp>(input(description(), &[]));
        let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "mcp.get_thing.valid",
                "mcp.get_thing.invalid",
                "mcp.set_flag.valid",
                "mcp.set_flag.invalid",
                "mcp.unknown-tool"
            ]
        );
        let args = |i: usize| -> Value {
            serde_json::from_str(&plan.scenarios[i].steps[0].tool().unwrap().arguments).unwrap()
        };
        assert!(args(0)["id"].as_str().is_some_and(|s| s.len() >= 3), "{}", args(0));
        assert_eq!(args(1), json!({}), "the required id is left out");
        assert_eq!(args(3)["on"], json!({"smoke": "not this type"}), "a boolean gets an object");
        let plan = Mcp::plan(input(description(), &[("destructive", "true"), ("skip", "set_flag")])).unwrap();
        let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            ["mcp.drop_all.valid", "mcp.get_thing.valid", "mcp.get_thing.invalid", "mcp.unknown-tool"]
        );
    }

    #[test]
    fn offered_resources_and_prompts_are_listed_read_and_an_unknown_one_refused() {
        let mut d = description();
        d["capabilities"] = json!({"tools": {}, "resources": {}, "prompts": {}});
        d["resources"] = json!([{"uri": "b://two", "name": "b"}, {"uri": "a://one", "name": "a"}]);
        d["prompts"] = json!([
            {"name": "needs-city", "arguments": [{"name": "city", "required": true}]},
            {"name": "greet", "arguments": [{"name": "style", "required": false}]},
        ]);
        let plan = testing::assert_deterministic_plan::<Mcp>(input(d, &[]));
        let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
        for id in [
            "mcp.resources.list",
            "mcp.resources.read.1",
            "mcp.resources.read.2",
            "mcp.resources.read.unknown",
            "mcp.prompts.list",
            "mcp.prompts.get.1",
            "mcp.prompts.get.unknown",
        ] {
            assert!(ids.contains(&id), "{id}: {ids:?}");
        }
        assert!(!ids.contains(&"mcp.prompts.get.2"), "a prompt with a required argument is not guessed at");
        let first = plan.scenarios.iter().find(|s| s.id == "mcp.resources.read.1").unwrap();
        let Action::McpRequest(r) = &first.steps[0].action else { panic!("an MCP request") };
        assert_eq!((r.method.as_str(), r.params.as_str()), ("resources/read", r#"{"uri":"a://one"}"#));
    }

    fn arguments(scenario: &Scenario) -> Value {
        serde_json::from_str(&scenario.steps[0].tool().expect("a tool call").arguments).unwrap()
    }

    fn skip_reason(scenario: &Scenario) -> Option<&str> {
        scenario.tags.iter().find_map(|t| t.strip_prefix("skip:"))
    }

    fn one_tool(input_schema: Value) -> Value {
        json!({"tools": [{"name": "sign_up", "annotations": {"readOnlyHint": true}, "inputSchema": input_schema}]})
    }

    #[test]
    fn a_password_pattern_written_with_look_aheads_gets_arguments_meeting_each_of_them() {
        let schema = json!({"type": "object", "required": ["password"], "properties": {
            "password": {"type": "string", "pattern": r"^(?=.*[A-Z])(?=.*\d).{8,}$"}}});
        let plan = testing::assert_deterministic_plan::<Mcp>(input(one_tool(schema), &[]));
        let valid = plan.scenarios.iter().find(|s| s.id == "mcp.sign_up.valid").unwrap();
        assert_eq!(skip_reason(valid), None);
        let password = arguments(valid)["password"].as_str().unwrap().to_string();
        assert!(password.chars().count() >= 8, "{password:?}");
        assert!(password.chars().any(|c| c.is_ascii_uppercase()), "{password:?} has a capital");
        assert!(password.chars().any(|c| c.is_ascii_digit()), "{password:?} has a digit");
    }

    #[test]
    fn a_tool_whose_arguments_cannot_be_made_valid_is_planned_as_skipped_naming_why() {
        let pattern = r"^(?=.*[A-Z])(?!.*[A-Z]).+$";
        let schema = json!({"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string", "pattern": pattern}}});
        let plan = testing::assert_deterministic_plan::<Mcp>(input(one_tool(schema.clone()), &[]));
        for id in ["mcp.sign_up.valid", "mcp.sign_up.invalid"] {
            let scenario = plan.scenarios.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id}"));
            let reason = skip_reason(scenario).unwrap_or_else(|| panic!("{id} planned as skipped"));
            assert!(reason.contains(pattern) && reason.contains("/code"), "{reason}");
        }
        assert!(plan.scenarios.iter().any(|s| s.id == "mcp.unknown-tool" && skip_reason(s).is_none()));
        // A host without planned skips: left out.
        let mut old_host = input(one_tool(schema), &[]);
        old_host.host.features.retain(|f| f != "tag.skip");
        let plan = Mcp::plan(old_host).unwrap();
        assert!(plan.scenarios.iter().all(|s| !s.id.starts_with("mcp.sign_up.")));
    }

    #[test]
    fn a_self_reference_in_all_of_adds_no_constraint_and_the_required_argument_is_sent() {
        let schema = json!({"type": "object", "properties": {"text": {"type": "string"}},
            "required": ["text"], "allOf": [{"$ref": "#"}]});
        let plan = testing::assert_deterministic_plan::<Mcp>(input(one_tool(schema), &[]));
        let valid = plan.scenarios.iter().find(|s| s.id == "mcp.sign_up.valid").unwrap();
        assert_eq!(skip_reason(valid), None);
        assert!(arguments(valid)["text"].is_string(), "{}", arguments(valid));
        let invalid = plan.scenarios.iter().find(|s| s.id == "mcp.sign_up.invalid").unwrap();
        assert_eq!(arguments(invalid), json!({}), "the invalid call leaves out the required text");
    }

    #[test]
    fn without_a_description_the_plan_says_what_to_do() {
        let e = Mcp::plan(testing::empty_input()).unwrap_err();
        assert!(e.message.contains("--mcp-url"), "{}", e.message);
    }
}
