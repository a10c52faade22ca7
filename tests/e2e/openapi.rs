//! The generic OpenAPI plugin against every example's own document: zero failures on the correct
//! services, and the faults a spec-only tool can catch, caught.

use crate::support::{self, Example, plugin, run, smoke};
use std::collections::BTreeSet;

/// Per example, the faults the OpenAPI plugin catches from the document alone (the rest need
/// domain knowledge; docs/fault-matrix.md lists both).
const CATCHES: &[(&str, &[&str])] = &[
    ("ledger-api", &["auth-not-enforced", "crash-on-snapshot", "obligations-hang"]),
    ("workflow-api", &[]),
    ("shop-api", &["negative-price-accepted", "not-found-returns-200"]),
    ("clinic-api", &["ssn-unvalidated", "ssn-unmasked", "approval-skipped"]),
];

#[test]
fn the_openapi_plugin_passes_on_every_example_and_catches_what_a_document_can_tell() {
    for (example, expected) in CATCHES {
        let config = format!("examples/{example}/openapi.smoke.toml");
        let dir = tempfile::tempdir().unwrap();
        // Coverage gaps are allowed where the document cannot tell how to reach an operation
        // (smoke warns about each, with the reason); failures are not.
        let mut c = smoke(dir.path());
        c.args(["run", "--config", &config, "-q"]);
        let r = run(c);
        assert_eq!(r.code, 0, "{example}: the correct service must pass:\n{r}");
        let mut list = std::process::Command::new(support::example(example));
        list.arg("--list-faults");
        let faults = run(list);
        let mut caught = BTreeSet::new();
        for fault in faults.stdout.lines() {
            let mut c = smoke(dir.path());
            c.args(["run", "--config", &config, "-q"]).env("FAULTS", fault);
            let r = run(c);
            assert!(r.code == 0 || r.code == 1, "{example} {fault}: {r}");
            if r.code == 1 {
                caught.insert(fault.to_string());
            }
        }
        let expected: BTreeSet<String> = expected.iter().map(|f| f.to_string()).collect();
        assert_eq!(caught, expected, "{example}: faults the OpenAPI plugin catches");
    }
}

#[test]
fn a_url_spec_needs_no_config_file_and_plans_are_byte_identical() {
    let shop = Example::start("shop-api", "");
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("spec={}/openapi.json", shop.url);
    let openapi = plugin("openapi");
    let plan = || {
        let mut c = smoke(dir.path());
        c.arg("plan").arg("--plugin").arg(&openapi).args(["--plugin-config", &spec]);
        run(c)
    };
    let (a, b) = (plan(), plan());
    assert_eq!(a.code, 0, "{a}");
    assert_eq!(a.stdout, b.stdout, "two plans of one document differ");
    let mut c = smoke(dir.path());
    c.arg("--plugin").arg(&openapi).args(["--plugin-config", &spec, "--base-url", &shop.url, "-q"]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("36 passed, 0 failed"), "{r}");
}

#[test]
fn malformed_documents_fail_planning_with_exit_4_naming_the_location() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("bad.yaml", "openapi: 3.0.3\npaths:\n  /a: [unclosed\n", "bad.yaml:"),
        (
            "dangling.json",
            r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Missing"}}}}}}}}}"##,
            "dangling.json#/paths/~1a/get/responses/200/content/application~1json/schema",
        ),
        ("future.json", r#"{"openapi": "4.0.0", "paths": {}}"#, "future.json#/openapi"),
    ];
    for (name, text, location) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let mut c = smoke(dir.path());
        c.arg("plan")
            .arg("--plugin")
            .arg(plugin("openapi"))
            .arg("--plugin-config")
            .arg(format!("spec={}", path.display()));
        let r = run(c);
        assert_eq!(r.code, 4, "{name}: {r}");
        assert!(r.stderr.contains(location), "{name}: the error names {location}:\n{r}");
    }
}
