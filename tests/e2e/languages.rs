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
