//! Honest verdicts (docs/architecture.md, "Honest verdicts"): a green run says what it did not
//! test, a gate can demand what it needs (`--require`), and a guess answered with an error is
//! never a pass.

use crate::hostile::server::{Hostile, Reply};
use crate::support::{self, plugin, run, smoke};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A document as FastAPI generates it: no 404, no 401 or 403, no security scheme; each
/// operation declares its success and 422.
fn fastapi_document() -> Value {
    let error = json!({"description": "Validation Error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}});
    let todo = json!({"description": "Successful Response",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Todo"}}}});
    let id = json!([{"name": "todo_id", "in": "path", "required": true,
        "schema": {"type": "integer", "title": "Todo Id"}}]);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "FastAPI", "version": "0.1.0"},
        "paths": {
            "/todos": {
                "get": {"operationId": "list_todos_todos_get", "responses": {"200": {"description": "Successful Response",
                    "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Todo"}}}}}}},
                "post": {"operationId": "create_todo_todos_post",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TodoIn"}}}},
                    "responses": {"200": todo, "422": error}}
            },
            "/todos/{todo_id}": {
                "get": {"operationId": "get_todo_todos__todo_id__get", "parameters": id, "responses": {"200": todo, "422": error}}
            }
        },
        "components": {"schemas": {
            "TodoIn": {"type": "object", "title": "TodoIn", "required": ["title"],
                "properties": {"title": {"type": "string", "title": "Title"}}},
            "Todo": {"type": "object", "title": "Todo", "required": ["id", "title"],
                "properties": {"id": {"type": "integer", "title": "Id"}, "title": {"type": "string", "title": "Title"}}},
            "HTTPValidationError": {"type": "object", "properties": {"detail": {"type": "array", "items": {"type": "object"}}}}
        }}
    })
}

/// The service `doc` describes, keeping todos in memory; with `token`, every request but the
/// document's without `Authorization: Bearer TOKEN` is refused with 401.
fn fastapi_service(doc: Value, token: Option<&'static str>) -> Hostile {
    let doc = doc.to_string();
    let todos: Arc<Mutex<Vec<Value>>> = Arc::default();
    Hostile::start(move |seen| {
        let mut todos = todos.lock().unwrap();
        let path = seen.target.split('?').next().unwrap_or_default();
        let invalid = || Reply::json(422, r#"{"detail":[{"loc":["body","title"],"msg":"Field required"}]}"#);
        let bearer = token.map(|t| format!("Bearer {t}"));
        if path != "/openapi.json" && bearer.is_some() && seen.header("authorization") != bearer.as_deref() {
            return Reply::json(401, r#"{"detail":"Not authenticated"}"#);
        }
        match (seen.method.as_str(), path) {
            ("GET", "/openapi.json") => Reply::json(200, &doc),
            ("GET", "/todos") => Reply::json(200, &Value::Array(todos.clone()).to_string()),
            ("POST", "/todos") => {
                let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
                let Some(title) = body["title"].as_str() else { return invalid() };
                let todo = json!({"id": todos.len() + 1, "title": title});
                todos.push(todo.clone());
                Reply::json(200, &todo.to_string())
            }
            ("GET", p) if p.starts_with("/todos/") => match p["/todos/".len()..].parse::<usize>() {
                Ok(n) if n >= 1 && n <= todos.len() => Reply::json(200, &todos[n - 1].to_string()),
                Ok(_) => Reply::json(404, r#"{"detail":"Not Found"}"#),
                Err(_) => Reply::json(422, r#"{"detail":[{"loc":["path","todo_id"]}]}"#),
            },
            _ => Reply::json(404, r#"{"detail":"Not Found"}"#),
        }
    })
}

fn openapi_run(dir: &std::path::Path, url: &str, extra: &[&str]) -> (support::Run, Value) {
    let json = dir.join("report.json");
    let mut c = smoke(dir);
    c.arg("run").arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={url}/openapi.json"), "--base-url", url]);
    c.args(extra).arg("--report-json").arg(&json);
    let r = run(c);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| panic!("no report ({e}):\n{r}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    support::assert_valid_report(&report);
    (r, report)
}

fn kinds_of(report: &Value, endpoint: &str) -> Vec<String> {
    report["not_tested"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["endpoint"] == endpoint)
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_document_without_404_or_401_says_what_was_not_tested_and_require_makes_it_fail() {
    let service = fastapi_service(fastapi_document(), None);
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = openapi_run(dir.path(), &service.url, &[]);
    assert_eq!(r.code, 0, "the service is correct for what was tested:\n{r}");
    // Per operation: no not-found where a path names a record and no 404 is declared, no auth
    // check where no security is declared.
    assert_eq!(kinds_of(&report, "GET /todos/{todo_id}"), ["auth", "not-found"], "{report}");
    assert_eq!(kinds_of(&report, "GET /todos"), ["auth"], "{report}");
    assert_eq!(kinds_of(&report, "POST /todos"), ["auth"], "{report}");
    let entry = report["not_tested"].as_array().unwrap().iter().find(|e| e["kind"] == "not-found").unwrap();
    assert!(entry["reason"].as_str().unwrap().contains("declares no 404"), "{entry}");
    // The console ends with a short account of it.
    assert!(r.stdout.contains("Not tested: 4 check(s) on 3 endpoint(s)"), "{r}");
    assert!(r.stdout.contains("not-found         GET /todos/{todo_id}: it declares no 404"), "{r}");

    // A gate that needs not-found checks fails, naming what is missing.
    let (r, _) = openapi_run(dir.path(), &service.url, &["--require", "not-found"]);
    assert_eq!(r.code, 1, "{r}");
    assert!(r.stdout.contains("--require not-found: 1 check(s) missing, so the run does not pass"), "{r}");
    assert!(r.stdout.contains("GET /todos/{todo_id} (openapi): no not-found: it declares no 404"), "{r}");
    // One asking for what was tested passes; a kind smoke does not know is refused.
    let (r, _) = openapi_run(dir.path(), &service.url, &["--require", "happy-path,validation-error"]);
    assert_eq!(r.code, 0, "{r}");
    let mut c = smoke(dir.path());
    c.args(["run", "--require", "notfound", "--base-url", &service.url]);
    let r = run(c);
    assert_eq!(r.code, 2, "{r}");
    assert!(
        r.stderr.contains("\"notfound\" is not a kind of check; the kinds are happy-path, not-found"),
        "{r}"
    );
}

#[test]
fn a_secured_operation_is_probed_without_credentials_though_its_document_lists_no_401() {
    let mut doc = fastapi_document();
    doc["components"]["securitySchemes"] = json!({"HTTPBearer": {"type": "http", "scheme": "bearer"}});
    doc["security"] = json!([{"HTTPBearer": []}]);
    // Correct: every request without the token is refused.
    let service = fastapi_service(doc.clone(), Some("t0ken-1"));
    let dir = tempfile::tempdir().unwrap();
    let auth = ["--plugin-config", "auth=Authorization: Bearer t0ken-1"];
    let (r, report) = openapi_run(dir.path(), &service.url, &auth);
    let probes: Vec<&Value> =
        report["scenarios"].as_array().unwrap().iter().filter(|s| s["kind"] == "auth").collect();
    assert_eq!(r.code, 0, "{r}");
    assert_eq!(probes.len(), 6, "no token, and a wrong one, per operation:\n{r}");
    assert!(probes.iter().all(|s| s["outcome"] == "passed"), "{r}");
    assert!(kinds_of(&report, "GET /todos").is_empty(), "{report}");
    // The same service with its check of the token gone: the probes fail.
    let open = fastapi_service(doc, None);
    let (r, report) = openapi_run(dir.path(), &open.url, &auth);
    assert_eq!(r.code, 1, "{r}");
    let failed: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "failed")
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(!failed.is_empty() && failed.iter().all(|k| *k == "auth"), "{failed:?}\n{r}");
}

#[test]
fn the_html_report_opens_on_its_verdict_and_shows_what_was_not_tested() {
    let service = fastapi_service(fastapi_document(), None);
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let (r, _) = openapi_run(dir.path(), &service.url, &["--report-html", page.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r}");
    let (dom, log) = crate::reports::chromium_dom(&page, &dir.path().join("profile"));
    assert!(!log.contains("Uncaught") && !log.contains("Refused to"), "{log}");
    // The first thing under the header: the verdict.
    let header_end = dom.find("</header>").expect("a header");
    assert!(
        dom[header_end..].starts_with("</header><div id=\"verdict\" class=\"verdict passed\">PASSED"),
        "{}",
        &dom[header_end..(header_end + 300).min(dom.len())]
    );
    assert!(dom.contains("4 check(s) not tested (below)"), "{dom}");
    // No failure: its count is neutral, not red.
    assert!(dom.contains("<span class=\"zero\">0 failed</span>"), "{dom}");
    // The ledger, before the coverage table and the pictures.
    let ledger = dom.find("<section id=\"not-tested\">").expect("a not-tested section");
    let section = &dom[ledger..dom[ledger..].find("</section>").map_or(dom.len(), |e| ledger + e)];
    assert!(
        section.contains("<td>GET /todos/{todo_id}</td><td>not-found</td><td>it declares no 404"),
        "{section}"
    );
    assert!(section.contains("<td>POST /todos</td><td>auth</td>"), "{section}");
    if let Some(coverage) = dom.find("Coverage") {
        assert!(ledger < coverage, "not tested comes before coverage");
    }

    // A failing run's page says so first.
    let mut doc = fastapi_document();
    doc["components"]["securitySchemes"] = json!({"HTTPBearer": {"type": "http", "scheme": "bearer"}});
    doc["security"] = json!([{"HTTPBearer": []}]);
    let open = fastapi_service(doc, None);
    let page = dir.path().join("failed.html");
    let (r, _) = openapi_run(
        dir.path(),
        &open.url,
        &["--plugin-config", "auth=Authorization: Bearer t0ken-1", "--report-html", page.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{r}");
    let (dom, _) = crate::reports::chromium_dom(&page, &dir.path().join("profile2"));
    assert!(
        dom.contains("<div id=\"verdict\" class=\"verdict failed\">FAILED<span>6 scenario(s) failed"),
        "{dom}"
    );
    let (verdict, failed) =
        (dom.find("id=\"verdict\"").unwrap(), dom.find("<details class=\"scenario failed\"").unwrap());
    assert!(verdict < failed, "the verdict comes before the failures");
}

#[test]
fn a_service_smoke_starts_serves_its_own_document_to_the_plugin() {
    // No document file anywhere: `spec = "/openapi.json"` is a path on the service, read once
    // it is healthy.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("smoke.toml");
    let text = format!(
        "[target]\ncommand = {:?}\nargs = [\"--port\", \"{{port}}\"]\nport = \"auto\"\nhealth = \"/health\"\n\n\
         [[plugins]]\npath = {:?}\n\n[plugins.config]\nspec = \"/openapi.json\"\n",
        support::example("iot-api").display().to_string(),
        plugin("openapi").display().to_string()
    );
    std::fs::write(&config, text).unwrap();
    assert!(!dir.path().join("openapi.json").exists());
    let mut c = smoke(dir.path());
    c.arg("run").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("28 passed, 0 failed, 0 skipped"), "{r}");

    // `smoke plan` cannot start the service: it says where the plan will come from.
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--config").arg(&config);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.is_empty(), "{r}");
    assert!(
        r.stderr.contains("plan: made from the document the service serves (spec = \"/openapi.json\")"),
        "{r}"
    );
    // Given a running one, it plans from that one's document.
    let iot = support::Example::start("iot-api", "");
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--config").arg(&config).args(["--base-url", &iot.url]);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let plan: Value = serde_json::from_str(&r.stdout).expect("a plan");
    assert_eq!(plan["scenarios"].as_array().map(Vec::len), Some(28), "{r}");
}

#[test]
fn a_document_url_answering_a_web_page_says_so() {
    let login = Hostile::start(|_| Reply::Send {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: b"<!DOCTYPE html><html><body><form>Sign in</form></body></html>".to_vec(),
    });
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("plan").arg("--plugin").arg(plugin("openapi"));
    c.args(["--plugin-config", &format!("spec={}/openapi.json", login.url)]);
    let r = run(c);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("answered an HTML page, not a document: a sign-in page?"), "{r}");
    assert!(!r.stderr.contains("YAML"), "not a parse error of the page: {r}");
}

/// A storage service as real ones are: every answer in a `data` envelope, buckets keyed by their
/// `name`, a collection-wide DELETE, a bearer token whose 401 the document does not list.
fn buckets_document() -> Value {
    let bucket = json!({"type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9-]{2,40}$"},
        "description": {"type": "string"}}});
    let one = json!({"type": "object", "properties": {"data": {"$ref": "#/components/schemas/Bucket"}}});
    let answer = |status: &str, schema: Value| json!({status: {"description": "ok", "content": {"application/json": {"schema": schema}}}});
    let mut created = answer("201", one.clone());
    created["409"] = json!({"description": "a bucket of that name exists"});
    let mut found = answer("200", one.clone());
    found["404"] = json!({"description": "no such bucket"});
    let name = json!([{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}]);
    let body = |schema: Value| json!({"required": true, "content": {"application/json": {"schema": schema}}});
    json!({
        "openapi": "3.0.3",
        "info": {"title": "buckets", "version": "1"},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/buckets": {
                "get": {"operationId": "listBuckets", "responses": answer("200", json!({"type": "object",
                    "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Bucket"}}}}))},
                "post": {"operationId": "createBucket", "requestBody": body(json!({"$ref": "#/components/schemas/Bucket"})),
                    "responses": created},
                "delete": {"operationId": "deleteAllBuckets", "description": "Delete every bucket.",
                    "responses": {"204": {"description": "all gone"}}}
            },
            "/v1/buckets/{name}": {
                "parameters": name,
                "get": {"operationId": "getBucket", "responses": found.clone()},
                "put": {"operationId": "updateBucket", "requestBody": body(json!({"type": "object",
                    "properties": {"description": {"type": "string"}}})), "responses": found},
                "delete": {"operationId": "deleteBucket", "responses": {"204": {"description": "gone"},
                    "404": {"description": "no such bucket"}}}
            }
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Bucket": bucket}
        }
    })
}

fn buckets_service() -> Hostile {
    let doc = buckets_document().to_string();
    let store: Arc<Mutex<std::collections::BTreeMap<String, Value>>> = Arc::default();
    store
        .lock()
        .unwrap()
        .insert("precious".into(), json!({"name": "precious", "description": "the user's own"}));
    Hostile::start(move |seen| {
        let path = seen.target.split('?').next().unwrap_or_default().to_string();
        if path == "/openapi.json" {
            return Reply::json(200, &doc);
        }
        if seen.header("authorization") != Some("Bearer t0ken-1") {
            return Reply::json(401, r#"{"error":"unauthorized"}"#);
        }
        let mut store = store.lock().unwrap();
        let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
        let data = |v: &Value| json!({"data": v}).to_string();
        let none = || Reply::Send { status: 204, content_type: "application/json", body: Vec::new() };
        match (seen.method.as_str(), path.strip_prefix("/v1/buckets")) {
            ("GET", Some("")) => {
                Reply::json(200, &json!({"data": store.values().collect::<Vec<_>>()}).to_string())
            }
            ("POST", Some("")) => {
                let named = |n: &&str| {
                    n.len() >= 3
                        && n.len() <= 41
                        && n.starts_with(|c: char| c.is_ascii_lowercase())
                        && n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                };
                let Some(name) = body["name"].as_str().filter(named) else {
                    return Reply::json(422, r#"{"error":"name: 3-41 of a-z, 0-9 and -, a letter first"}"#);
                };
                if !(body["description"].is_null() || body["description"].is_string()) {
                    return Reply::json(422, r#"{"error":"description must be text"}"#);
                }
                if store.contains_key(name) {
                    return Reply::json(409, r#"{"error":"exists"}"#);
                }
                let mut bucket = json!({"name": name});
                if let Some(d) = body["description"].as_str() {
                    bucket["description"] = json!(d);
                }
                store.insert(name.to_string(), bucket.clone());
                Reply::json(201, &data(&bucket))
            }
            ("DELETE", Some("")) => {
                store.clear();
                none()
            }
            (method, Some(rest)) if rest.starts_with('/') => {
                let name = &rest[1..];
                match (method, store.get(name).cloned()) {
                    (_, None) => Reply::json(404, r#"{"error":"no such bucket"}"#),
                    ("GET", Some(b)) => Reply::json(200, &data(&b)),
                    ("PUT", Some(mut b)) => {
                        match &body["description"] {
                            Value::Null => {}
                            Value::String(d) => b["description"] = json!(d),
                            _ => return Reply::json(422, r#"{"error":"description must be text"}"#),
                        }
                        store.insert(name.to_string(), b.clone());
                        Reply::json(200, &data(&b))
                    }
                    ("DELETE", Some(_)) => {
                        store.remove(name);
                        none()
                    }
                    _ => Reply::json(405, "{}"),
                }
            }
            _ => Reply::json(404, "{}"),
        }
    })
}

/// `GET path` with these headers, the body read to its Content-Length (the test server keeps
/// connections open).
fn get_framed(port: u16, path: &str, headers: &[(&str, &str)]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n").unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed early");
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
                })
                .expect("a Content-Length");
            if body.len() >= length {
                return body[..length].to_string();
            }
        }
    }
}

#[test]
fn nothing_the_run_did_not_create_is_deleted_and_an_enveloped_name_keyed_resource_gets_its_whole_plan() {
    let service = buckets_service();
    let auth = [("authorization", "Bearer t0ken-1")];
    let names = || {
        let body = get_framed(service.port, "/v1/buckets", &auth);
        let list: Value = serde_json::from_str(&body).unwrap();
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(), ["precious"]);
    let dir = tempfile::tempdir().unwrap();
    let (r, report) =
        openapi_run(dir.path(), &service.url, &["--plugin-config", "auth=Authorization: Bearer t0ken-1"]);
    assert_eq!(r.code, 0, "{r}");
    // The user's bucket is there, and nothing the run made is left: each scenario deleted what
    // it made.
    assert_eq!(names(), ["precious"], "{r}");
    assert!(
        r.stdout.contains("clean up: delete the bucket it made")
            || report.to_string().contains("clean up: delete the bucket it made")
    );
    let outcome = |id: &str| {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id);
        s.unwrap_or_else(|| panic!("no {id}:\n{r}"))["outcome"].as_str().unwrap().to_string()
    };
    // The collection-wide DELETE is not sent, and the report says why.
    assert_eq!(outcome("openapi.deleteAllBuckets.happy"), "skipped");
    let ledger = report["not_tested"].as_array().unwrap();
    let entry = ledger.iter().find(|e| e["endpoint"] == "DELETE /v1/buckets").expect("in the ledger");
    assert!(entry["reason"].as_str().unwrap().contains("destructive=true"), "{entry}");
    // The enveloped, name-keyed bucket: created, read, updated, deleted, read back as gone.
    for id in [
        "openapi.createBucket.happy",
        "openapi.getBucket.happy",
        "openapi.updateBucket.happy",
        "openapi.deleteBucket.happy",
        "openapi.getBucket.not-found",
        "openapi.createBucket.read-after-write",
    ] {
        assert_eq!(outcome(id), "passed", "{id}:\n{r}");
    }
    // Refused without a token and with a wrong one, though no 401 is listed.
    for op in ["listBuckets", "createBucket", "getBucket", "updateBucket", "deleteBucket"] {
        assert_eq!(outcome(&format!("openapi.{op}.unauthenticated")), "passed", "{op}:\n{r}");
        assert_eq!(outcome(&format!("openapi.{op}.wrong-token")), "passed", "{op}:\n{r}");
    }

    // So a second run right after the first finds what the first found, and passes.
    let (again, _) =
        openapi_run(dir.path(), &service.url, &["--plugin-config", "auth=Authorization: Bearer t0ken-1"]);
    assert_eq!(again.code, 0, "{again}");
    assert_eq!(names(), ["precious"]);
    // Allowed to destroy, it tests the collection's DELETE too.
    let (r, report) = openapi_run(
        dir.path(),
        &service.url,
        &["--plugin-config", "auth=Authorization: Bearer t0ken-1", "--plugin-config", "destructive=true"],
    );
    let s =
        report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == "openapi.deleteAllBuckets.happy");
    assert_eq!(s.map(|s| s["outcome"].clone()), Some(json!("passed")), "{r}");
    // It ran after everything that reads the buckets, so nothing else lost its bucket to it.
    assert_eq!(r.code, 0, "{r}");
    assert!(names().is_empty(), "it deleted every bucket");

    // Asked to keep what it makes (`--keep-data`, which sets the plugin's `keep_data`), it does.
    let (kept, _) = openapi_run(
        dir.path(),
        &service.url,
        &["--plugin-config", "auth=Authorization: Bearer t0ken-1", "--keep-data"],
    );
    assert_eq!(kept.code, 0, "{kept}");
    assert!(!names().is_empty(), "--keep-data keeps the buckets made");
}

#[test]
fn keep_data_tells_a_plugin_that_cannot_keep_or_delete_so() {
    // The ledger plugin reads no `keep_data`: the flag changes nothing for it, and says so.
    let dir = tempfile::tempdir().unwrap();
    let mut c = smoke(dir.path());
    c.arg("plan")
        .arg("--config")
        .arg(support::root().join("examples/ledger-api/smoke.toml"))
        .arg("--keep-data");
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stderr.contains("--keep-data: plugin ledger reads no `keep_data` config key"), "{r}");
    // The OpenAPI plugin's plan keeps its clean-up steps out with it, and has them without.
    let steps = |extra: &[&str]| {
        let mut c = smoke(dir.path());
        c.arg("plan")
            .arg("--config")
            .arg(support::root().join("examples/shop-api/openapi.smoke.toml"))
            .args(extra);
        let r = run(c);
        assert_eq!(r.code, 0, "{r}");
        r.stdout.matches("clean up").count()
    };
    assert!(steps(&[]) > 0);
    assert_eq!(steps(&["--keep-data"]), 0);
}

#[test]
fn read_only_sends_no_write_to_any_example_and_still_passes() {
    let dir = tempfile::tempdir().unwrap();
    for example in ["ledger-api", "workflow-api", "shop-api", "clinic-api", "iot-api"] {
        for config in ["smoke.toml", "openapi.smoke.toml"] {
            let log = dir.path().join(format!("{example}-{config}.log"));
            let mut c = smoke(dir.path());
            c.args(["run", "--read-only", "-q", "--config", &format!("examples/{example}/{config}")]);
            c.env("EXAMPLE_REQUEST_LOG", &log);
            let r = run(c);
            assert_eq!(r.code, 0, "{example} {config}: read-only still passes:\n{r}");
            let sent = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(!sent.is_empty(), "{example} {config}: something was sent");
            for line in sent.lines() {
                let method = line.split(' ').next().unwrap_or_default();
                assert!(["GET", "HEAD", "OPTIONS"].contains(&method), "{example} {config} sent {line:?}");
            }
        }
    }
    // Over MCP: only the tools the server marks read-only are called; the others are named.
    let json = dir.path().join("mcp.json");
    let mut c = smoke(dir.path());
    c.args(["run", "--read-only", "-q", "--config", "examples/ledger-api/mcp.smoke.toml", "--report-json"])
        .arg(&json);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let reasons: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["outcome"] == "skipped")
        .filter_map(|s| s["reason"].as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r
                .contains("call tool record_transaction_bundle, which the server does not mark read-only")),
        "{reasons:?}"
    );
}

#[test]
fn the_html_report_of_an_mcp_run_names_the_server_and_the_tools_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    let mut c = smoke(dir.path());
    c.args(["run", "-q", "--config", "examples/ledger-api/mcp.smoke.toml", "--plugin"]).arg(plugin("mcp"));
    c.args(["--plugin-config", "skip=get_account", "--report-html"]).arg(&page);
    let r = run(c);
    assert_eq!(r.code, 0, "{r}");
    let html = std::fs::read_to_string(&page).unwrap();
    let server = html.find("<div id=mcp-server>MCP server ").expect("the server is named");
    let line = &html[server..html[server..].find("</div>").map_or(html.len(), |e| server + e)];
    assert!(line.contains("protocol 20") && line.contains("over http at http://127.0.0.1:"), "{line}");
    assert!(html.contains("<div id=tools-left-out>tools no scenario called: get_account</div>"), "{html}");
}

#[test]
fn a_validation_refusal_that_names_another_field_is_not_a_pass() {
    let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/things": {"post": {"operationId": "addThing",
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
                "required": ["owner", "size"],
                "properties": {"owner": {"type": "string"}, "size": {"type": "integer"}}}}}},
            "responses": {"201": {"description": "made"}, "422": {"description": "invalid"}}}}}})
    .to_string();
    // It refuses every bad body, always blaming `owner` (as a service that checks one field and
    // reports a stale error would).
    let service = Hostile::start(move |seen| {
        if seen.target == "/openapi.json" {
            return Reply::json(200, &doc);
        }
        let body: Value = serde_json::from_slice(&seen.body).unwrap_or(Value::Null);
        match (body["owner"].as_str(), body["size"].as_i64()) {
            (Some(_), Some(_)) => Reply::json(201, "{}"),
            _ => Reply::json(422, r#"{"detail": [{"loc": ["body", "owner"], "msg": "Field required"}]}"#),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let (r, report) = openapi_run(dir.path(), &service.url, &[]);
    assert_eq!(r.code, 1, "{r}");
    let outcome = |id: &str| {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id);
        s.unwrap_or_else(|| panic!("no {id}:\n{r}")).clone()
    };
    assert_eq!(outcome("openapi.addThing.invalid.owner.missing")["outcome"], "passed", "{r}");
    let wrong = outcome("openapi.addThing.invalid.size.missing");
    assert_eq!(wrong["outcome"], "failed", "{r}");
    assert!(
        wrong["reason"]
            .as_str()
            .unwrap()
            .contains("refused for another reason: the answer names owner but not size"),
        "{wrong}"
    );
}

#[test]
fn a_document_behind_the_users_token_is_fetched_with_it_on_the_targets_origin_only() {
    let doc = fastapi_document().to_string();
    // The document needs the token; without it, the sign-in page.
    let service = Hostile::start(move |seen| match seen.header("authorization") {
        Some("Bearer t0ken-1") => Reply::json(200, &doc),
        _ => Reply::Send { status: 200, content_type: "text/html", body: b"<html>Sign in</html>".to_vec() },
    });
    let dir = tempfile::tempdir().unwrap();
    let plan = |spec: &str, base: &str| {
        let mut c = smoke(dir.path());
        c.arg("plan").arg("--plugin").arg(plugin("openapi")).args(["--base-url", base]);
        c.args([
            "--plugin-config",
            &format!("spec={spec}"),
            "--plugin-config",
            "auth=Authorization: Bearer t0ken-1",
        ]);
        run(c)
    };
    let r = plan(&format!("{}/openapi.json", service.url), &service.url);
    assert_eq!(r.code, 0, "{r}");
    assert!(r.stdout.contains("openapi.create_todo_todos_post.happy"), "{r}");
    // The same document on another origin than the target's: the token does not go there.
    let elsewhere = Hostile::start(|_| Reply::Send {
        status: 200,
        content_type: "text/html",
        body: b"<html>Sign in</html>".to_vec(),
    });
    let r = plan(&format!("{}/openapi.json", elsewhere.url), &service.url);
    assert_eq!(r.code, 4, "{r}");
    assert!(r.stderr.contains("answered an HTML page"), "{r}");
    assert!(elsewhere.seen().iter().all(|s| s.header("authorization").is_none()), "the token went elsewhere");
}

#[test]
fn text_where_a_path_takes_an_integer_is_refused_not_crashed_on() {
    let dir = tempfile::tempdir().unwrap();
    let id = "openapi.get_todo_todos__todo_id__get.invalid.todo_id.not-a-number";
    // The FastAPI-style service refuses it (422).
    let service = fastapi_service(fastapi_document(), None);
    let (r, report) = openapi_run(dir.path(), &service.url, &[]);
    assert_eq!(r.code, 0, "{r}");
    let probe = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).cloned();
    assert_eq!(probe.map(|s| s["outcome"].clone()), Some(json!("passed")), "{r}");
    // One that crashes on it fails the probe.
    let doc = fastapi_document().to_string();
    let crashing = Hostile::start(move |seen| match seen.target.as_str() {
        "/openapi.json" => Reply::json(200, &doc),
        "/todos/not-a-number" => Reply::json(500, r#"{"detail":"ValueError: invalid literal for int()"}"#),
        "/todos" if seen.method == "GET" => Reply::json(200, "[]"),
        "/todos" => Reply::json(200, r#"{"id": 1, "title": "a"}"#),
        _ => Reply::json(200, r#"{"id": 1, "title": "a"}"#),
    });
    let (r, report) = openapi_run(dir.path(), &crashing.url, &[]);
    assert_eq!(r.code, 1, "{r}");
    let probe = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap().clone();
    assert_eq!(probe["outcome"], "failed", "{probe}");
    assert!(probe["reason"].as_str().unwrap().contains("status 500"), "{probe}");
}

#[test]
fn query_parameters_are_probed_from_their_schemas_and_a_server_that_ignores_them_fails() {
    let doc = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
        "paths": {"/things": {"get": {"operationId": "listThings",
            "parameters": [
                {"name": "level", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 50}},
                {"name": "order", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}],
            "responses": {"200": {"description": "them", "content": {"application/json": {"schema": {"type": "array"}}}},
                          "422": {"description": "invalid"}}}}}})
    .to_string();
    let serve = |strict: bool| {
        let doc = doc.clone();
        Hostile::start(move |seen| {
            if seen.target == "/openapi.json" {
                return Reply::json(200, &doc);
            }
            let query = seen.target.split_once('?').map_or("", |(_, q)| q);
            for (name, value) in query.split('&').filter_map(|kv| kv.split_once('=')) {
                let bad = match name {
                    "level" => value.parse::<i64>().map_or(true, |n| !(1..=50).contains(&n)),
                    "order" => !["asc", "desc"].contains(&value),
                    // A page size is clamped, as servers do: only text is refused.
                    "limit" => value.parse::<i64>().is_err(),
                    _ => false,
                };
                if strict && bad {
                    return Reply::json(
                        422,
                        &format!(r#"{{"detail": [{{"loc": ["query", "{name}"], "msg": "bad"}}]}}"#),
                    );
                }
            }
            Reply::json(200, "[]")
        })
    };
    let probes = [
        "openapi.listThings.invalid.query.level.wrong-type",
        "openapi.listThings.invalid.query.level.below-minimum",
        "openapi.listThings.invalid.query.level.above-maximum",
        "openapi.listThings.invalid.query.order.not-in-enum",
        "openapi.listThings.invalid.query.limit.wrong-type",
    ];
    let dir = tempfile::tempdir().unwrap();
    let strict = serve(true);
    let (r, report) = openapi_run(dir.path(), &strict.url, &[]);
    assert_eq!(r.code, 0, "{r}");
    let ids: Vec<&str> =
        report["scenarios"].as_array().unwrap().iter().filter_map(|s| s["id"].as_str()).collect();
    for id in probes {
        assert!(ids.contains(&id), "{id} planned: {ids:?}");
    }
    assert!(
        !ids.iter().any(|id| id.contains("query.limit.above-maximum")),
        "a page size may be clamped: {ids:?}"
    );
    // A server that reads none of them serves every probe: each fails.
    let lax = serve(false);
    let (r, report) = openapi_run(dir.path(), &lax.url, &[]);
    assert_eq!(r.code, 1, "{r}");
    for id in probes {
        let s = report["scenarios"].as_array().unwrap().iter().find(|s| s["id"] == id).unwrap();
        assert_eq!(s["outcome"], "failed", "{id}: {r}");
    }
}

#[test]
fn a_second_run_against_the_same_service_passes_as_the_first_did() {
    // The records a first run leaves (where the document has no DELETE) must not make the next
    // run's creates duplicates: free strings and idempotency keys end with the run's token.
    let dir = tempfile::tempdir().unwrap();
    for example in ["ledger-api", "workflow-api", "shop-api", "clinic-api", "iot-api"] {
        let service = support::Example::start(example, "");
        let config = support::root().join(format!("examples/{example}/openapi.smoke.toml"));
        for nth in ["first", "second"] {
            let mut c = smoke(dir.path());
            c.arg("run").arg("--config").arg(&config).args(["--base-url", &service.url, "-q"]);
            let r = run(c);
            assert_eq!(r.code, 0, "{example}, {nth} run: {r}");
            assert!(r.stdout.contains(" passed, 0 failed, 0 skipped") || example == "workflow-api", "{r}");
        }
    }
}
