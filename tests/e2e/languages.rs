//! Plugins in other languages than Rust: the Python SDK's (and the TypeScript SDK's) builds run
//! like any plugin, pass where they should, fail where they should, and are held to the same
//! sandbox limits, with the limits their SDKs declare.

use crate::support::{Ledger, guide_block, language_plugin, root, run, shared_cache, smoke};

#[test]
fn the_guides_python_plugin_builds_from_the_page_and_passes() {
    let code = guide_block("python");
    assert!(code.lines().count() <= 20, "the minimal plugin must fit in 20 lines:\n{code}");
    let built = std::fs::read_to_string(root().join("target/python/guide/app.py")).unwrap();
    assert_eq!(built, code, "the built plugin is the guide's, verbatim");
    let ledger = Ledger::start("");
    let mut c = smoke(shared_cache());
    c.arg("--plugin").arg(language_plugin("python", "guide")).args(["--base-url", &ledger.url]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("PASS  hello.health"), "{r}");
}

fn py_misbehave(mode: &str, extra: &[&str]) -> crate::support::Run {
    let ledger = Ledger::start("");
    let mut c = smoke(shared_cache());
    c.arg("--plugin").arg(language_plugin("python", "misbehave"));
    c.args(["--plugin-config", &format!("mode={mode}"), "--base-url", &ledger.url]).args(extra);
    run(c)
}

#[test]
fn a_python_plugin_looping_forever_in_check_fails_only_that_step_at_the_default_limit() {
    let r = py_misbehave("loop-in-check", &[]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  py-misbehave.plain"), "{r}");
    assert!(r.stdout.contains("FAIL  py-misbehave.judged"), "{r}");
    assert!(r.stdout.contains("`check` exceeded its time limit of 5s"), "{r}");
}

#[test]
fn a_python_plugin_growing_memory_in_check_fails_only_that_step_at_its_declared_limit() {
    let r = py_misbehave("grow-in-check", &[]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  py-misbehave.plain"), "{r}");
    // The Python SDK declares 128 MiB; the host granted that, and no more.
    assert!(r.stdout.contains("`check` exceeded its memory limit of 128 MiB"), "{r}");
}

#[test]
fn a_python_plugin_whose_limit_the_user_pins_gets_that_limit() {
    let r = py_misbehave("grow-in-check", &["--plugin-memory-mib", "48"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("`check` exceeded its memory limit of 48 MiB"), "{r}");
}

/// The line of `file` (from the repository's root) that holds `marker`, counted from 1.
fn line_of(file: &str, marker: &str) -> usize {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    1 + text.lines().position(|l| l.contains(marker)).unwrap_or_else(|| panic!("{file} has no {marker:?}"))
}

/// The failure of scenario `id` in a run's report.json: its kind and message.
fn failure_of(report: &std::path::Path, id: &str) -> (String, String) {
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let scenario = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    let failure = &scenario["failure"];
    (failure["kind"].as_str().unwrap_or("").into(), failure["message"].as_str().unwrap_or("").into())
}

#[test]
fn an_exception_in_a_python_check_is_a_plugin_fault_naming_its_source_line() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let r = py_misbehave("raise-in-check", &["--report-json", report.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  py-misbehave.plain"), "{r}");
    let line = line_of("tests/plugins/py-misbehave/misbehave.py", "raise-in-check: this line");
    let (kind, message) = failure_of(&report, "py-misbehave.judged");
    assert_eq!(kind, "plugin-fault", "an exception is the plugin's fault, not a verdict on the service: {r}");
    assert!(
        message.contains(&format!("`check` raised KeyError: 'no such key' (at misbehave.py:{line})")),
        "{message}"
    );
    assert!(message.contains("not in the service: fix the plugin"), "{message}");
    assert!(
        r.stdout.contains("failed inside the code of plugin py-misbehave, not in the service"),
        "the triage says whose fault it is: {r}"
    );
}

#[test]
fn a_check_argument_arrives_with_its_templates_resolved() {
    let r = py_misbehave("echo-argument", &[]);
    assert_eq!(r.code, 1, "{r}");
    // `{{status}}`, captured from the same step's response, is what check was handed.
    assert!(r.stdout.contains(r#"argument {"mode":"echo-argument","seen":"ok"}"#), "{r}");
}

#[test]
fn the_rust_sdk_ships_the_contract_it_names() {
    // The crate carries its own copy (cargo package includes only the crate's directory).
    let shipped = std::fs::read(root().join("plugins/sdk/wit/plugin.wit")).unwrap();
    let released = std::fs::read(root().join("wit/v0.2.0/plugin.wit")).unwrap();
    assert!(shipped == released, "plugins/sdk/wit/plugin.wit differs from wit/v0.2.0");
}

#[test]
fn the_python_sdk_ships_the_contract_it_names() {
    let shipped = std::fs::read(root().join("plugins/sdk-python/smoke_plugin/wit/plugin.wit")).unwrap();
    let released = std::fs::read(root().join("wit/v0.2.0/plugin.wit")).unwrap();
    assert!(shipped == released, "plugins/sdk-python/smoke_plugin/wit/plugin.wit differs from wit/v0.2.0");
    let sdk = std::fs::read_to_string(root().join("plugins/sdk-python/smoke_plugin/__init__.py")).unwrap();
    assert!(sdk.contains("WIT_VERSION = \"0.2.0\""), "the Python SDK names another version");
}

#[test]
fn the_guides_typescript_plugin_builds_from_the_page_and_passes() {
    let code = guide_block("typescript");
    assert!(code.lines().count() <= 20, "the minimal plugin must fit in 20 lines:\n{code}");
    let built = std::fs::read_to_string(root().join("target/typescript/guide/plugin.ts")).unwrap();
    assert_eq!(built, code, "the built plugin is the guide's, verbatim");
    let ledger = Ledger::start("");
    let mut c = smoke(shared_cache());
    c.arg("--plugin").arg(language_plugin("typescript", "guide")).args(["--base-url", &ledger.url]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("PASS  hello.health"), "{r}");
}

fn js_misbehave(mode: &str) -> crate::support::Run {
    let ledger = Ledger::start("");
    let mut c = smoke(shared_cache());
    c.arg("--plugin").arg(language_plugin("typescript", "misbehave"));
    c.args(["--plugin-config", &format!("mode={mode}"), "--base-url", &ledger.url]);
    run(c)
}

#[test]
fn a_javascript_plugin_looping_forever_in_check_fails_only_that_step_at_the_default_limit() {
    let r = js_misbehave("loop-in-check");
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  js-misbehave.plain"), "{r}");
    assert!(r.stdout.contains("`check` exceeded its time limit of 5s"), "{r}");
}

#[test]
fn a_javascript_plugin_growing_memory_in_check_fails_only_that_step_at_its_declared_limit() {
    let r = js_misbehave("grow-in-check");
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  js-misbehave.plain"), "{r}");
    assert!(r.stdout.contains("`check` exceeded its memory limit of 128 MiB"), "{r}");
}

#[test]
fn a_throw_in_a_javascript_check_is_a_plugin_fault_at_its_source_line_through_the_source_map() {
    let ledger = Ledger::start("");
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut c = smoke(shared_cache());
    c.arg("--plugin").arg(language_plugin("typescript", "misbehave"));
    c.args(["--plugin-config", "mode=throw-in-check", "--base-url", &ledger.url, "--report-json"])
        .arg(&report);
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
    let line = line_of("tests/plugins/js-misbehave/plugin.js", "throw-in-check: this line");
    let (kind, message) = failure_of(&report, "js-misbehave.judged");
    assert_eq!(kind, "plugin-fault", "{r}");
    // The bundle's own line is in the hundreds: this is the source's, through the map.
    assert!(message.contains("`check` threw TypeError: "), "{message}");
    assert!(message.contains(&format!("(at plugin.js:{line}:")), "{message}");
}

#[test]
fn a_javascript_plugin_refusing_or_throwing_in_plan_exits_4_saying_why() {
    let r = js_misbehave("refuse-plan");
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("planning failed (at config key mode): refusing on request"), "{r}");
    let r = js_misbehave("throw-in-plan");
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("plan threw TypeError"), "{r}");
}

#[test]
fn the_typescript_shop_audit_plugin_passes_and_catches_its_faults_through_check() {
    let audit = language_plugin("typescript", "shop-audit");
    let shop = |faults: &str| {
        let mut c = smoke(shared_cache());
        c.args(["run", "--config", "examples/shop-api/smoke.toml", "--plugin"]).arg(&audit);
        if !faults.is_empty() {
            c.env("FAULTS", faults);
        }
        run(c)
    };
    let r = shop("");
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("2 passed, 0 failed, 0 skipped"), "{r}");
    for (fault, scenario, reason) in [
        ("total-miscalculated", "audit.checkout.totals", "the order total is 2249; its lines sum to 4748"),
        ("stock-not-decremented", "audit.checkout.stock", "stock is 7 after selling 3 of 7; it should be 4"),
    ] {
        let r = shop(fault);
        assert_eq!(r.code, 1, "{fault}: {r}");
        assert!(r.stdout.contains(&format!("FAIL  {scenario}")), "{fault}: {r}");
        assert!(
            r.stdout.contains(&format!("plugin shop-audit judged it a failure: {reason}")),
            "{fault}: {r}"
        );
        assert!(r.stdout.contains("1 passed, 1 failed"), "only the scenario tagged for {fault} fails: {r}");
    }
}

#[test]
fn the_javascript_sdk_ships_the_contract_it_names() {
    let shipped = std::fs::read(root().join("plugins/sdk-js/wit/plugin.wit")).unwrap();
    let released = std::fs::read(root().join("wit/v0.2.0/plugin.wit")).unwrap();
    assert!(shipped == released, "plugins/sdk-js/wit/plugin.wit differs from wit/v0.2.0");
    let sdk = std::fs::read_to_string(root().join("plugins/sdk-js/src/index.js")).unwrap();
    assert!(sdk.contains("export const WIT_VERSION = '0.2.0';"), "the JavaScript SDK names another version");
    let build = std::fs::read_to_string(root().join("plugins/sdk-js/bin/build.js")).unwrap();
    assert!(build.contains("'smoke:plugin/host@0.2.0'"), "the build wires another version's host");
}

/// How a scaffold test runs its commands: the `smoke` to use, and what every command (smoke, the
/// project's build and test) gets besides (a fresh HOME, a PATH).
pub struct Toolchain<'a> {
    pub smoke: &'a dyn Fn() -> std::process::Command,
    pub prepare: &'a dyn Fn(&mut std::process::Command),
}

/// `smoke plugin new` for `lang` with the SDK packages of `dist/` (`--sdk-from`), then the
/// project's own build and test commands, then the plugin against the ledger example (passes) and
/// against a server answering 200 to everything (fails: a scaffold's scenarios can fail).
pub fn scaffold_builds_tests_and_runs(lang: &str, tools: &Toolchain<'_>) {
    use crate::hostile::server::{Hostile, Reply};
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("demo");
    let name = format!("demo-{lang}");
    let mut c = (tools.smoke)();
    (tools.prepare)(&mut c);
    c.args(["plugin", "new", &name, "--lang", lang, "--sdk-from"])
        .arg(root().join("dist"))
        .arg("--dir")
        .arg(&project);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains(&format!("created {}", project.display())), "{r}");

    let shell = |program: &str, args: &[&str]| {
        let mut c = std::process::Command::new(program);
        (tools.prepare)(&mut c);
        c.args(args).current_dir(&project);
        // Rust scaffolds share one target directory across runs, so only the first builds the
        // SDK's dependencies.
        if lang == "rust" {
            c.env("CARGO_TARGET_DIR", root().join("target/scaffold"));
        }
        let r = run(c);
        assert_eq!(r.code, 0, "{lang}: `{program} {}` in the new project:\n{r}", args.join(" "));
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let component = if lang == "rust" {
        shell(&cargo, &["build", "--release", "--target", "wasm32-wasip2"]);
        shell(&cargo, &["test", "--release"]);
        root().join(format!("target/scaffold/wasm32-wasip2/release/{}.wasm", name.replace('-', "_")))
    } else {
        shell("make", &[]);
        shell("make", &["test"]);
        project.join(format!("{name}.wasm"))
    };
    assert!(component.is_file(), "{} was not built", component.display());

    let ledger = Ledger::start("");
    let mut c = (tools.smoke)();
    (tools.prepare)(&mut c);
    c.arg("--plugin").arg(&component).args(["--base-url", &ledger.url]);
    let r = run(c);
    assert_eq!(r.code, 0, "{lang}: {r}");
    assert!(r.stdout.contains("2 passed, 0 failed"), "{lang}: {r}");

    let yes_man = Hostile::start(|_| Reply::json(200, "{}"));
    let mut c = (tools.smoke)();
    (tools.prepare)(&mut c);
    c.arg("--plugin").arg(&component).args(["--base-url", &yes_man.url]);
    let r = run(c);
    assert_eq!(r.code, 1, "{lang}: a service answering 200 {{}} to everything must fail: {r}");
    assert!(r.stdout.contains("0 passed, 2 failed"), "{lang}: {r}");
}

/// A Rust scaffold with the crate from dist/ (Python and TypeScript are built from an installed
/// smoke in a fresh HOME: tests/e2e/dist.rs).
#[test]
fn a_rust_plugin_from_smoke_plugin_new_builds_tests_and_passes() {
    let smoke = || smoke(shared_cache());
    scaffold_builds_tests_and_runs("rust", &Toolchain { smoke: &smoke, prepare: &|_| {} });
}

#[test]
fn smoke_plugin_new_refuses_a_bad_name_or_an_existing_directory_writing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(shared_cache());
    c.args(["plugin", "new", "Bad_Name", "--lang", "python", "--dir"]).arg(dir.path().join("x"));
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("plugin name \"Bad_Name\" must start with a lowercase letter"), "{r}");
    assert!(!dir.path().join("x").exists());
    let mut c = smoke(shared_cache());
    c.args(["plugin", "new", "fine", "--lang", "rust", "--dir"]).arg(dir.path());
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("already exists; nothing was written"), "{r}");
}

/// `smoke-plugin-build`, the build `make` runs, type-checks a TypeScript entry before bundling: a
/// typo fails it with the compiler's message, and writes no component.
#[test]
fn a_typescript_typo_fails_the_plugin_build_with_tscs_message() {
    let dir = tempfile::tempdir().unwrap();
    let guide = std::fs::read_to_string(root().join("target/typescript/guide/plugin.ts")).unwrap();
    assert!(guide.contains(".expectStatus(200)"), "{guide}");
    std::fs::write(
        dir.path().join("plugin.ts"),
        guide.replacen(".expectStatus(200)", ".expectStatuss(200)", 1),
    )
    .unwrap();
    let out = std::process::Command::new("node")
        .arg(root().join("plugins/sdk-js/bin/build.js"))
        .args(["plugin.ts", "-o", "plugin.wasm"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("plugin.ts does not type-check (tsc)"), "{stderr}");
    assert!(
        stderr.contains("error TS2551: Property 'expectStatuss' does not exist on type 'Step'"),
        "{stderr}"
    );
    assert!(!dir.path().join("plugin.wasm").exists(), "nothing is built from code that does not type-check");
}
