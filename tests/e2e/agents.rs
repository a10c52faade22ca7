//! `smoke mcp-server`, driven over stdio by a scripted MCP client (no model): the whole loop on the
//! shop example with a fault switched on (describe, write a business rule, validate with a
//! mistake located, run, explain with a reproduction that reproduces), dogfooding (smoke's own
//! generic MCP plugin and protocol checks against the server), the MCP Inspector's CLI, and the
//! write guard on a target off this machine.

use crate::support::{Example, alive, plugin, root, run, shared_cache, smoke, wait_gone};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// The longest any one answer may take (a run starts the shop and runs it).
const ANSWER_WITHIN: Duration = Duration::from_secs(240);

/// A JSON-RPC client of a `smoke mcp-server` child, line by line, every wait bounded.
struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next: u64,
    /// Every line the server wrote, to look for what must never be in one.
    seen: Vec<String>,
}

impl Client {
    fn start(project: &Path, faults: &str) -> Client {
        Client::start_with(project, &[("FAULTS", faults)])
    }

    fn start_with(project: &Path, env: &[(&str, &str)]) -> Client {
        let mut c = smoke(shared_cache());
        c.args(["mcp-server", "--project"]).arg(project);
        c.env("SHOP_KEY", SECRET)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().expect("smoke mcp-server starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut client = Client { child, stdin, lines, next: 1, seen: Vec::new() };
        let init = client.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "scripted", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "smoke", "{init}");
        client.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        client
    }

    fn send(&mut self, message: Value) {
        writeln!(self.stdin, "{message}").unwrap();
        self.stdin.flush().unwrap();
    }

    /// The whole answer (`result` or `error`) to one request.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next;
        self.next += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = std::time::Instant::now() + ANSWER_WITHIN;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no answer to {method} within {ANSWER_WITHIN:?}"));
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout holds only JSON-RPC: {e}: {line}"));
            if message["id"] == id {
                return message;
            }
        }
    }

    /// A tool's result: (isError, structuredContent, the text of its first content block).
    fn tool(&mut self, name: &str, arguments: Value) -> (bool, Value, String) {
        let answer = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        let result = &answer["result"];
        assert!(result.is_object(), "{name}: {answer}");
        let text = result["content"][0]["text"].as_str().unwrap_or_default().to_string();
        (result["isError"] == true, result["structuredContent"].clone(), text)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project holding the shop's OpenAPI config (paths made absolute) and its document, with
/// `extra` appended to the config.
fn shop_project(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(root().join("examples/shop-api/openapi.smoke.toml")).unwrap();
    let config = config.replace("../../target/", &format!("{}/target/", root().display()));
    std::fs::write(dir.path().join("smoke.toml"), format!("{config}{extra}")).unwrap();
    std::fs::copy(root().join("examples/shop-api/openapi.json"), dir.path().join("openapi.json")).unwrap();
    dir
}

/// A credential the config takes from the environment (the OpenAPI plugin sends it on every
/// request): no tool result may hold it.
const SECRET: &str = "shop-key-5e1f9a77";
const WITH_KEY: &str = "auth = \"X-Shop-Key: ${SHOP_KEY}\"\n";

const TOTAL_RULE: &str = "/components/schemas/Order/properties/total/description";

/// The business rule an agent writes from the shop document's prose: an order's total is the sum
/// of price times quantity. `status` is the add-item step's expected status (a mistake, given
/// as a string).
fn order_total(add_status: Value, path: &str) -> Value {
    json!([{
        "id": "rules.order-total",
        "endpoint": "POST /api/carts/{id}/checkout",
        "kind": "business-rule",
        "description": "an order's total is the sum of each line's price times its quantity",
        "tags": [format!("covers:{TOTAL_RULE}")],
        "steps": [
            {"name": "a product at 250", "request": {"method": "POST", "path": path, "body": {"type": "json",
                "value": {"name": "Mug", "sku": "RULE-TOTAL-1", "price": 250, "stock": 10}}},
             "expect": {"status": [201]}, "captures": [{"name": "product", "source": {"from": "body", "path": "/id"}}]},
            {"name": "a cart", "request": {"method": "POST", "path": "/api/carts"}, "expect": {"status": [201]},
             "captures": [{"name": "cart", "source": {"from": "body", "path": "/id"}}]},
            {"name": "3 of the product", "request": {"method": "POST", "path": "/api/carts/{{cart}}/items", "body": {"type": "json",
                "value": {"product_id": "{{product}}", "quantity": 3}}}, "expect": {"status": [add_status]}},
            {"name": "check out", "request": {"method": "POST", "path": "/api/carts/{{cart}}/checkout"},
             "expect": {"status": [201], "body": [{"pointer": "/total", "test": "equals", "value": 750}]}}
        ]
    }])
}

#[test]
fn an_agent_describes_writes_validates_runs_and_explains_a_business_rule_on_the_shop() {
    let project = shop_project(WITH_KEY);
    let mut mcp = Client::start(project.path(), "total-miscalculated");
    let tools = mcp.request("tools/list", json!({}));
    let names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["describe_target", "plan", "validate_plan", "run", "explain_failure", "scaffold_plugin"]
    );
    for t in tools["result"]["tools"].as_array().unwrap() {
        assert!(
            t["inputSchema"].is_object() && t["outputSchema"].is_object() && t["annotations"].is_object(),
            "{t}"
        );
    }

    // Describe: the prose rules, none covered yet; the endpoints with what is planned.
    let (error, described, text) = mcp.tool("describe_target", json!({}));
    assert!(!error, "{text}");
    let rules = described["prose_rules"].as_array().unwrap();
    let total = rules.iter().find(|r| r["pointer"] == TOTAL_RULE).unwrap_or_else(|| panic!("{described}"));
    assert_eq!(total["about"], "schema Order, property total");
    assert_eq!(total["covered_by"], json!([]));
    assert!(total["rule"].as_str().unwrap().contains("must equal the sum"), "{total}");
    assert!(rules.iter().any(|r| r["about"] == "POST /api/carts/{id}/checkout"), "{rules:?}");
    assert_eq!(described["target"]["local"], true);
    assert!(
        described["endpoints"].as_array().unwrap().iter().any(|e| e["endpoint"] == "POST /api/products"),
        "{described}"
    );

    // Validate: two deliberate mistakes, each located by its pointer with a fix.
    let (error, checked, text) =
        mcp.tool("validate_plan", json!({"scenarios": order_total(json!("200"), "/api/products")}));
    assert!(!error, "{text}");
    assert_eq!(checked["valid"], false);
    assert_eq!(checked["errors"][0]["pointer"], "/scenarios/0/steps/2/expect/status/0", "{checked}");
    let (_, checked, _) =
        mcp.tool("validate_plan", json!({"scenarios": order_total(json!(200), "/api/prodcts")}));
    assert_eq!(checked["errors"][0]["pointer"], "/scenarios/0/steps/0/request/path", "{checked}");
    assert!(checked["errors"][0]["fix"].as_str().unwrap().contains("POST /api/products"), "{checked}");
    let (_, checked, _) =
        mcp.tool("validate_plan", json!({"scenarios": order_total(json!(200), "/api/products")}));
    assert_eq!((&checked["valid"], &checked["errors"]), (&json!(true), &json!([])), "{checked}");

    // Committed beside the plugins' plan, as the agent would write it; validated from the file.
    let file = json!({"scenarios": order_total(json!(200), "/api/products")});
    std::fs::write(project.path().join("smoke.scenarios.json"), serde_json::to_string_pretty(&file).unwrap())
        .unwrap();
    let mut config = std::fs::read_to_string(project.path().join("smoke.toml")).unwrap();
    config.push_str("\n[run]\nscenarios = \"smoke.scenarios.json\"\n");
    std::fs::write(project.path().join("smoke.toml"), config).unwrap();
    let (_, checked, _) = mcp.tool("validate_plan", json!({"file": "smoke.scenarios.json"}));
    assert_eq!(checked["valid"], true, "{checked}");
    let (_, described, _) = mcp.tool("describe_target", json!({}));
    let total =
        described["prose_rules"].as_array().unwrap().iter().find(|r| r["pointer"] == TOTAL_RULE).unwrap();
    assert_eq!(total["covered_by"], json!(["rules.order-total"]), "now covered");

    // Run: the fault breaks the rule, and only the rule's scenario was selected.
    let (error, ran, text) = mcp.tool("run", json!({"filter": ["tag:overlay"]}));
    assert!(!error, "{text}");
    assert_eq!((&ran["verdict"], &ran["summary"]["failed"]), (&json!("FAIL"), &json!(1)), "{ran}");
    assert_eq!(ran["failures"][0]["id"], "rules.order-total", "{ran}");
    assert_eq!(ran["failures"][0]["failed_step"], 3, "{ran}");
    let report = mcp.request("resources/read", json!({"uri": "smoke://runs/last/report.json"}));
    let report: Value =
        serde_json::from_str(report["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(report["summary"]["failed"], 1, "the report is on disk, as a resource");

    // Explain: the step's exchange, and a reproduction that reproduces.
    let (error, explained, text) = mcp.tool("explain_failure", json!({"scenario": "rules.order-total"}));
    assert!(!error, "{text}");
    assert_eq!(explained["step"]["response"]["status"], 201, "{explained}");
    assert!(explained["step"]["response"]["body"].as_str().unwrap().contains("\"total\":250"), "{explained}");
    let script = explained["reproduction"]["script"].as_str().unwrap_or_else(|| panic!("{explained}"));
    let path = project.path().join("repro.sh");
    std::fs::write(&path, script).unwrap();
    let reproduce = |faults: &str| {
        let shop = Example::start("shop-api", faults);
        let out = Command::new("bash").arg(&path).env("BASE_URL", &shop.url).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (code, said) = reproduce("total-miscalculated");
    assert_eq!(code, Some(1), "{said}\n{script}");
    assert!(said.contains("reproduced: step 4 expected 750 at /total, got 250"), "{said}");
    let (code, said) = reproduce("");
    assert_eq!(code, Some(0), "a correct shop does not reproduce it: {said}\n{script}");

    // The whole plan, which sends the key on every request, and its report: redacted.
    let (error, ran, text) = mcp.tool("run", json!({}));
    assert!(!error, "{text}");
    assert_eq!(ran["failures"].as_array().unwrap().len(), 1, "the fault breaks only the rule: {ran}");
    assert!(ran["summary"]["passed"].as_u64().unwrap() > 20, "{ran}");
    let (_, planned, _) = mcp.tool("plan", json!({}));
    assert!(planned["plan"].to_string().contains("{{config.auth"), "a reference, never the value: {planned}");
    let report = mcp.request("resources/read", json!({"uri": "smoke://runs/last/report.json"}));
    assert!(
        report.to_string().to_ascii_lowercase().contains("x-shop-key"),
        "the key was sent, and reported redacted"
    );

    // Against the correct shop, the rule passes.
    let mut correct = Client::start(project.path(), "");
    let (_, ran, _) = correct.tool("run", json!({"filter": ["tag:overlay"]}));
    assert_eq!((&ran["verdict"], &ran["summary"]["passed"]), (&json!("PASS"), &json!(1)), "{ran}");

    // The prompts an agent starts from.
    let prompt = mcp.request("prompts/get", json!({"name": "write-business-rules"}));
    assert!(
        prompt["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains("describe_target"),
        "{prompt}"
    );
    let unknown = mcp.request("prompts/get", json!({"name": "nope"}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    // A line that is not JSON is answered, as JSON-RPC says, and the session goes on.
    writeln!(mcp.stdin, "{{not json").unwrap();
    mcp.stdin.flush().unwrap();
    let line = mcp.lines.recv_timeout(ANSWER_WITHIN).expect("an answer to a line that is not JSON");
    let answer: Value = serde_json::from_str(&line).unwrap();
    assert_eq!((&answer["id"], &answer["error"]["code"]), (&Value::Null, &json!(-32700)), "{answer}");
    assert!(mcp.request("ping", json!({}))["result"].is_object());
    for line in mcp.seen.iter().chain(&correct.seen) {
        assert!(!line.contains(SECRET), "a tool result holds the secret: {line}");
    }
}

#[test]
fn a_run_that_writes_to_a_target_off_this_machine_is_refused_naming_the_key_that_allows_it() {
    // TEST-NET-1: not this machine; nothing is ever sent there.
    let project = shop_project("\n[run]\nbase-url = \"http://192.0.2.1:9\"\n");
    let config = std::fs::read_to_string(project.path().join("smoke.toml")).unwrap();
    let config = config.replace("[target]", "[ignored]");
    let config = config
        .lines()
        .filter(|l| {
            !l.starts_with("command")
                && !l.starts_with("args")
                && !l.starts_with("port")
                && !l.starts_with("health")
                && !l.starts_with("startup")
                && !l.starts_with("[ignored]")
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(project.path().join("smoke.toml"), config + "\n").unwrap();
    let mut mcp = Client::start(project.path(), "");
    let (_, described, text) = mcp.tool("describe_target", json!({}));
    assert_eq!(
        (&described["target"]["local"], &described["target"]["writes_allowed"]),
        (&json!(false), &json!(false)),
        "{text}"
    );
    let (error, _, text) = mcp.tool("run", json!({}));
    assert!(error, "{text}");
    assert!(text.contains("refused: the target http://192.0.2.1:9 is not on this machine"), "{text}");
    assert!(text.contains("allow-writes = true under [agents]"), "names the key: {text}");
    assert!(!project.path().join(".smoke/mcp-server/runs").exists(), "nothing ran");

    // A service smoke would start, but reached at a URL off this machine, is off this machine.
    let project = shop_project("");
    let config = std::fs::read_to_string(project.path().join("smoke.toml")).unwrap();
    let config = config.replace("[target]\n", "[target]\nbase-url = \"http://192.0.2.1:9\"\n");
    std::fs::write(project.path().join("smoke.toml"), config).unwrap();
    let mut mcp = Client::start(project.path(), "");
    let (error, _, text) = mcp.tool("run", json!({}));
    assert!(error && text.contains("allow-writes = true under [agents]"), "{text}");

    // An MCP server smoke starts here does not make a remote base URL beside it local.
    let project =
        shop_project("\n[run]\nbase-url = \"http://192.0.2.1:9\"\n\n[target.mcp]\ncommand = \"/bin/true\"\n");
    let mut mcp = Client::start(project.path(), "");
    let (error, _, text) = mcp.tool("run", json!({}));
    assert!(error && text.contains("allow-writes = true under [agents]"), "{text}");
}

#[test]
fn the_server_keeps_to_its_configs_and_its_project_and_redacts_its_errors() {
    let project = shop_project("");
    // A config the user did not give the server, though inside the project.
    std::fs::copy(project.path().join("smoke.toml"), project.path().join("other.toml")).unwrap();
    let mut mcp = Client::start(project.path(), "");
    let (error, _, text) = mcp.tool("describe_target", json!({"config": "other.toml"}));
    assert!(error && text.contains("not a config this server was given"), "{text}");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("rules.json"), r#"{"scenarios": []}"#).unwrap();
    std::os::unix::fs::symlink(outside.path().join("rules.json"), project.path().join("rules.json")).unwrap();
    let (error, _, text) = mcp.tool("validate_plan", json!({"file": "rules.json"}));
    assert!(error && text.contains("outside the project directory"), "a link out is refused: {text}");
    std::fs::remove_file(outside.path().join("rules.json")).unwrap();

    // Its state folder planted as a link out of the project: nothing goes through it.
    std::os::unix::fs::symlink(outside.path(), project.path().join(".smoke")).unwrap();
    let (error, _, text) = mcp.tool("plan", json!({}));
    assert!(error && text.contains(".smoke is a link"), "{text}");
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0, "nothing written out of the project");
    drop(mcp);

    // A scenario of the scenario file may not read the plugins' config values (a secret could
    // reach a result in a form no redactor knows): refused when validated, and when run.
    let mut mcp = Client::start(project.path(), "");
    let mut leaky = order_total(json!(200), "/api/products");
    leaky[0]["plugin"] = json!("openapi");
    leaky[0]["steps"][0]["request"]["path"] = json!("/api/products/{{config.auth|last-segment}}");
    let (_, checked, _) = mcp.tool("validate_plan", json!({"scenarios": leaky}));
    assert_eq!(checked["errors"][0]["pointer"], "/scenarios/0/steps", "{checked}");
    std::fs::write(project.path().join("leaky.json"), json!({"scenarios": leaky}).to_string()).unwrap();
    let (error, _, text) = mcp.tool("run", json!({"scenarios_file": "leaky.json"}));
    assert!(
        error && text.contains("scenario(s) of the scenario file use a plugin's config values"),
        "{text}"
    );
    drop(mcp);

    // A config that does not load says why without the value the environment gave it.
    let config = std::fs::read_to_string(project.path().join("smoke.toml")).unwrap();
    let config = config.replace("health = \"/health\"", "health = \"${HEALTH_CHECK}\"");
    std::fs::write(project.path().join("smoke.toml"), config).unwrap();
    std::fs::remove_file(project.path().join(".smoke")).unwrap();
    let mut mcp = Client::start_with(project.path(), &[("HEALTH_CHECK", "hc-secret-4821")]);
    let (error, _, text) = mcp.tool("describe_target", json!({}));
    assert!(error && text.contains("target.health"), "{text}");
    for line in &mcp.seen {
        assert!(!line.contains("hc-secret-4821"), "{line}");
    }
}

/// The project's own MCP server, as a command line for `--mcp-command`.
fn server_command(project: &Path) -> String {
    let binary =
        std::env::var("SMOKE_UNDER_TEST").unwrap_or_else(|_| env!("CARGO_BIN_EXE_smoke").to_string());
    format!("{binary} mcp-server --project {}", project.display())
}

#[test]
fn smokes_own_mcp_plugin_and_protocol_checks_pass_against_smoke_mcp_server() {
    // With a scenario file, which validate_plan checks when given nothing else.
    let project = shop_project("\n[run]\nscenarios = \"smoke.scenarios.json\"\n");
    let rules = json!({"scenarios": order_total(json!(200), "/api/products")});
    std::fs::write(project.path().join("smoke.scenarios.json"), rules.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let mut c = smoke(shared_cache());
    // Every tool called, `run` too (a run of the shop it starts itself).
    c.args(["run", "--plugin"]).arg(plugin("mcp")).args(["--plugin-config", "destructive=true"]);
    c.args(["--mcp-command", &server_command(project.path())]);
    c.arg("--report-json").arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ids: Vec<&str> =
        report["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    let passed: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "passed")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [
        "mcp.describe_target.valid",
        "mcp.validate_plan.valid",
        "mcp.validate_plan.invalid",
        "mcp.run.valid",
        "mcp.unknown-tool",
        "mcp.protocol.stdout",
        "mcp.protocol.invalid-params",
    ] {
        assert!(passed.contains(&id), "{id} passed, of {ids:?}");
    }
    assert_eq!(report["mcp"]["name"], "smoke", "{report}");
    // Over the older handshake too.
    let mut c = smoke(shared_cache());
    c.args(["run", "--plugin"]).arg(plugin("mcp")).args(["--mcp-command", &server_command(project.path())]);
    c.args(["--mcp-protocol", "2025-11-25"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
}

fn inspector() -> PathBuf {
    let cli = root().join("target/mcp-reference/node_modules/.bin/mcp-inspector-cli");
    assert!(cli.is_file(), "{} is missing: run `make test-deps`", cli.display());
    cli
}

#[test]
fn the_mcp_inspectors_cli_lists_the_tools_and_calls_validate_plan() {
    let project = shop_project("");
    let binary =
        std::env::var("SMOKE_UNDER_TEST").unwrap_or_else(|_| env!("CARGO_BIN_EXE_smoke").to_string());
    let inspect = |args: &[&str]| {
        let cli = inspector();
        let mut c = Command::new(&cli);
        c.args(["--cli", &binary, "mcp-server", "--project"]).arg(project.path()).args(args);
        // inspector-cli 1.0.3 reads its own package.json by a path it checks against the working
        // directory but imports from its module's: run it where both are the same file.
        c.current_dir(
            root().join("target/mcp-reference/node_modules/@modelcontextprotocol/inspector-cli/build"),
        );
        c.env("SMOKE_CACHE_DIR", shared_cache()).env_remove("FAULTS");
        let out = c.output().expect("the inspector runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_str::<Value>(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let listed = inspect(&["--method", "tools/list"]);
    let names: Vec<&str> =
        listed["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"validate_plan") && names.contains(&"run"), "{listed}");
    let scenarios = order_total(json!(200), "/api/products").to_string();
    let called = inspect(&[
        "--method",
        "tools/call",
        "--tool-name",
        "validate_plan",
        "--tool-arg",
        &format!("scenarios={scenarios}"),
    ]);
    assert_eq!(called["structuredContent"]["valid"], true, "{called}");
}

#[test]
fn an_mcp_server_the_config_names_is_described_from_its_own_tool_list() {
    let project = tempfile::tempdir().unwrap();
    let config = format!(
        "[target.mcp]\ncommand = \"{}\"\nargs = [\"mcp\", \"--db\", \"ledger.db\"]\n\n[[plugins]]\npath = \"{}\"\n",
        crate::support::ledger_api().display(),
        plugin("mcp").display()
    );
    std::fs::write(project.path().join("smoke.toml"), config).unwrap();
    // The database the server needs, made as the ledger's own config makes it (hooks are a run's).
    for step in ["migrate", "seed-chart"] {
        let made = Command::new(crate::support::ledger_api())
            .args([step, "--db", "ledger.db"])
            .current_dir(project.path())
            .output()
            .unwrap();
        assert!(made.status.success(), "{step}: {made:?}");
    }
    let mut mcp = Client::start(project.path(), "");
    let (error, described, text) = mcp.tool("describe_target", json!({}));
    assert!(!error, "{text}");
    assert_eq!(described["target"]["local"], true, "{described}");
    let endpoints: Vec<&str> =
        described["endpoints"].as_array().unwrap().iter().filter_map(|e| e["endpoint"].as_str()).collect();
    assert!(endpoints.iter().any(|e| e.contains("record_transaction_bundle")), "{endpoints:?}");
}

/// The processes whose environment holds `mark`: what one server started, among other tests'.
fn marked(mark: &str) -> Vec<u32> {
    let needle = format!("SMOKE_TEST_MARK={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
        })
        .collect()
}

#[test]
fn a_server_told_to_stop_mid_run_leaves_no_run_and_no_service_behind() {
    // A scenario that polls for a status the shop never gives: the run lasts until stopped.
    let project = shop_project("\n[run]\nscenarios = \"smoke.scenarios.json\"\n");
    let rules = json!({"scenarios": [{"id": "rules.forever", "endpoint": "GET /health", "kind": "business-rule", "steps": [
        {"request": {"method": "GET", "path": "/health"}, "expect": {"status": [418]},
         "mode": {"mode": "poll", "interval_ms": 100, "timeout_ms": 120000}}
    ]}]});
    std::fs::write(project.path().join("smoke.scenarios.json"), rules.to_string()).unwrap();
    let mark = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    let mut mcp = Client::start_with(project.path(), &[("SMOKE_TEST_MARK", mark.as_str())]);
    mcp.send(json!({"jsonrpc": "2.0", "id": 99, "method": "tools/call",
        "params": {"name": "run", "arguments": {"filter": ["tag:overlay"]}}}));
    // The server, its smoke run and the shop that run started.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let started = loop {
        let pids = marked(&mark);
        if pids.len() >= 3 {
            break pids;
        }
        assert!(std::time::Instant::now() < deadline, "the run and its shop did not start: {pids:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    let server = mcp.child.id();
    assert!(started.contains(&server) && alive(server));
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(server as i32), nix::sys::signal::Signal::SIGTERM)
        .unwrap();
    assert_eq!(mcp.child.wait().unwrap().code(), Some(143), "the exit code of SIGTERM");
    let left = wait_gone(&started, Duration::from_secs(30));
    assert!(left.is_empty(), "still running after the server stopped: {left:?}");
}
