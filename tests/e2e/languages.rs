//! Plugins in other languages than Rust: the Python SDK's (and the TypeScript SDK's) builds run
//! like any plugin, pass where they should, fail where they should, and are held to the same
//! sandbox limits, with the limits their SDKs declare.

use crate::support::{Ledger, language_plugin, root, run, shared_cache, smoke};

/// The first fenced block of `lang` in docs/plugin-guide.md.
fn guide_block(lang: &str) -> String {
    let guide = std::fs::read_to_string(root().join("docs/plugin-guide.md")).unwrap();
    let fence = format!("```{lang}\n");
    let start = guide.find(&fence).unwrap_or_else(|| panic!("the guide has a {lang} block")) + fence.len();
    guide[start..start + guide[start..].find("```").unwrap()].to_string()
}

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

#[test]
fn an_exception_in_a_python_check_fails_that_step_naming_it_and_its_line() {
    let r = py_misbehave("raise-in-check", &[]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("PASS  py-misbehave.plain"), "{r}");
    assert!(r.stdout.contains("check raised KeyError: 'no such key' (at misbehave.py:"), "{r}");
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
