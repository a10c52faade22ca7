use super::*;
use serde_json::json;
use smoke_plugin::{Document, Pair};

fn input(spec: &str, config: &[(&str, &str)]) -> PlanInput {
    PlanInput {
        host: smoke_plugin::testing::host(),
        config: config.iter().map(|(k, v)| Pair { name: k.to_string(), value: v.to_string() }).collect(),
        documents: vec![Document {
            key: "spec".into(),
            source: "spec.json".into(),
            content: spec.as_bytes().to_vec(),
        }],
    }
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../../examples/{name}/openapi.json", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

#[test]
fn every_example_document_plans_deterministically() {
    for name in ["ledger-api", "workflow-api", "shop-api", "clinic-api"] {
        let plan = smoke_plugin::testing::assert_deterministic_plan::<OpenApi>(input(&example(name), &[]));
        assert!(plan.scenarios.len() > 10, "{name}: {} scenarios", plan.scenarios.len());
    }
}

#[test]
fn malformed_documents_fail_naming_the_location() {
    let cases = [
        ("openapi: 3.0.3\npaths: {\n  bad", "spec.json:"),
        (
            r##"{"openapi": "3.0.3", "paths": {"/a": {"get": {"responses": {"200": {"description": "x", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Nope"}}}}}}}}}"##,
            "#/paths/~1a/get",
        ),
        (r#"{"openapi": "4.0.0", "paths": {}}"#, "#/openapi"),
        (r#"{"swagger": "1.2"}"#, "#/swagger"),
        (r#"{"info": {}}"#, "spec.json"),
    ];
    for (spec, at) in cases {
        let e = OpenApi::plan(input(spec, &[])).unwrap_err();
        let location = e.location.clone().unwrap_or_default();
        assert!(location.contains(at), "{spec}: {} at {location:?}", e.message);
    }
}

#[test]
fn swagger_2_and_yaml_documents_are_read() {
    let swagger = r##"
swagger: "2.0"
basePath: /v1
paths:
  /pets:
    post:
      operationId: addPet
      parameters:
        - in: body
          name: pet
          required: true
          schema: {$ref: "#/definitions/Pet"}
      responses:
        "201": {description: created, schema: {$ref: "#/definitions/Pet"}}
        "422": {description: invalid}
  /pets/{petId}:
    get:
      operationId: getPet
      parameters:
        - {in: path, name: petId, required: true, type: integer}
      responses:
        "200": {description: ok, schema: {$ref: "#/definitions/Pet"}}
        "404": {description: missing}
definitions:
  Pet:
    type: object
    required: [name]
    properties:
      id: {type: integer, readOnly: true}
      name: {type: string, minLength: 1, maxLength: 20}
      tag: {type: string, x-nullable: true}
"##;
    let plan = OpenApi::plan(input(swagger, &[])).unwrap();
    let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
    for id in [
        "openapi.addPet.happy",
        "openapi.addPet.invalid.name.missing",
        "openapi.addPet.invalid.name.too-short",
        "openapi.addPet.invalid.name.too-long",
        "openapi.getPet.happy",
        "openapi.getPet.not-found",
    ] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    let get = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.happy").unwrap();
    assert_eq!(get.steps.len(), 2, "a pet is created first");
    assert_eq!(get.steps[1].request().path, "/v1/pets/{{pet_1}}");
    let nf = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.not-found").unwrap();
    assert_eq!(nf.steps.last().unwrap().request().path, "/v1/pets/999999999");
}

#[test]
fn server_variables_and_default_responses_are_understood() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
      "servers": [{"url": "https://{region}.example.com/{base}", "variables": {"region": {"default": "eu"}, "base": {"default": "v2"}}}],
      "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"default": {"description": "any",
        "content": {"application/json": {"schema": {"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}}}}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let happy = &plan.scenarios[0];
    assert_eq!(happy.steps[0].request().path, "/v2/ping");
    assert_eq!(
        happy.steps[0].expectation().status,
        [200, 201, 202, 204].map(smoke_plugin::Status::Code).to_vec()
    );
    assert!(happy.steps[0].expectation().schema.is_some(), "the default response's schema is checked");
}

#[test]
fn undeclared_path_parameters_are_still_filled() {
    let spec = r#"{"swagger": "2.0", "paths": {
      "/pets": {"post": {"operationId": "addPet", "parameters": [{"in": "body", "name": "b", "schema": {"type": "object"}}],
                         "responses": {"201": {"description": "ok", "schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}},
      "/pets/{petId}": {"get": {"operationId": "getPet", "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let get = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.happy").unwrap();
    assert_eq!(get.steps.last().unwrap().request().path, "/pets/{{pet_1}}");
    let nf = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.not-found").unwrap();
    assert_eq!(nf.steps.last().unwrap().request().path, "/pets/smoke-missing-999999");
}

#[test]
fn a_creator_without_a_readable_id_leaves_its_readers_out_with_the_reason() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/pets": {"post": {"operationId": "addPet", "responses": {"201": {"description": "created; see Location"}}}},
      "/pets/{id}": {"get": {"operationId": "getPet", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                             "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}}}}"#;
    let doc = doc::Doc::load(spec.as_bytes(), "spec.json").unwrap();
    let overrides = plan::Overrides::default();
    let generated = plan::Planner::new(&doc, &overrides).generate();
    let ids: Vec<&str> = generated.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert!(!ids.contains(&"openapi.getPet.happy"), "{ids:?}");
    assert!(ids.contains(&"openapi.getPet.not-found"), "{ids:?}");
    let (_, why) = generated.skipped.iter().find(|(e, _)| e == "GET /pets/{id}").unwrap();
    assert!(why.contains("declares no response body"), "{why}");
}

#[test]
fn one_odd_operation_is_left_out_with_its_location_and_the_rest_is_planned() {
    // OpenAPI 3.1 allows an operation without `responses`; a dangling `$ref` (reached through
    // another reference) costs only the operation that uses it.
    let spec = r##"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {
      "/ping": {"get": {"operationId": "ping"}},
      "/pets": {"get": {"operationId": "listPets", "responses": {"200": {"description": "ok",
          "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}}}},
                "post": {"operationId": "addPet", "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Bad"}}}},
                         "responses": {"201": {"description": "ok"}}}}},
      "components": {"schemas": {
        "Pet": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Bad": {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Nope"}}}}}}"##;
    let doc = doc::Doc::load(spec.as_bytes(), "spec.json").unwrap();
    let endpoints: Vec<String> = doc.operations.iter().map(|o| o.endpoint()).collect();
    assert_eq!(endpoints, ["GET /pets", "GET /ping"]);
    assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
    let problem = &doc.problems[0];
    assert_eq!(problem.endpoint, "POST /pets");
    assert_eq!(problem.location, "spec.json#/components/schemas/Bad/properties/owner");
    assert!(problem.message.contains("#/components/schemas/Nope"), "{}", problem.message);

    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let ping = plan.scenarios.iter().find(|s| s.id == "openapi.ping.answers").expect("ping is planned");
    let statuses = &ping.steps[0].expectation().status;
    assert_eq!(statuses, &[2, 3, 4].map(smoke_plugin::Status::Class).to_vec(), "any status but a 5xx");
    assert!(plan.scenarios.iter().any(|s| s.id == "openapi.listPets.happy"));
    assert!(!plan.scenarios.iter().any(|s| s.id.contains("addPet")));
}

#[test]
fn bodies_satisfy_unicode_and_case_insensitive_patterns() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/people": {"post": {"operationId": "addPerson", "requestBody": {"required": true, "content": {"application/json": {"schema": {
        "type": "object", "required": ["name", "code", "ref"],
        "properties": {
          "name": {"type": "string", "pattern": "^\\p{Lu}\\p{L}+(?: \\p{L}+)*$", "minLength": 3},
          "code": {"type": "string", "pattern": "(?i)^ab-[a-f0-9]{4}$"},
          "ref": {"type": "string", "pattern": "^(?:INV|ORD)-\\d{3,}$", "maxLength": 10}}}}}},
        "responses": {"201": {"description": "ok"}, "422": {"description": "invalid"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let happy = plan.scenarios.iter().find(|s| s.id == "openapi.addPerson.happy").unwrap();
    let body = happy.steps[0].request().body.clone().expect("a body");
    let smoke_plugin::Body::Json(text) = body else { panic!("a JSON body") };
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (field, pattern) in [
        ("name", r"^\p{Lu}\p{L}+(?: \p{L}+)*$"),
        ("code", r"(?i)^ab-[a-f0-9]{4}$"),
        ("ref", r"^(?:INV|ORD)-\d{3,}$"),
    ] {
        let value = body[field].as_str().unwrap();
        assert!(regex::Regex::new(pattern).unwrap().is_match(value), "{field}: {value:?} matches {pattern}");
    }
    assert!(body["name"].as_str().unwrap().chars().count() >= 3);
    // The invalid-pattern scenarios send a value the pattern does not match.
    assert!(plan.scenarios.iter().any(|s| s.id == "openapi.addPerson.invalid.code.pattern"));
}

#[test]
fn without_credentials_secured_happy_paths_are_planned_as_skipped_and_the_refusal_is_still_checked() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
      "security": [{"bearer": []}],
      "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
      "paths": {
        "/health": {"get": {"operationId": "health", "security": [], "responses": {"200": {"description": "ok"}}}},
        "/pets": {"post": {"operationId": "addPet", "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
          "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}},
                        "401": {"description": "no"}, "422": {"description": "invalid"}}}},
        "/pets/{id}": {"get": {"operationId": "getPet", "security": [],
          "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}}}}"#;
    let skip = format!("skip:{}", plan::NEEDS_CREDENTIALS);
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let tagged = |id: &str| {
        let s = plan.scenarios.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} is planned"));
        s.tags.contains(&skip)
    };
    assert!(!tagged("openapi.health.happy"), "an open operation runs");
    assert!(tagged("openapi.addPet.happy"), "a secured one needs credentials");
    assert!(tagged("openapi.addPet.invalid.name.missing"));
    // Open itself, but what it reads is created by a secured operation first.
    assert!(tagged("openapi.getPet.happy"));
    assert!(!tagged("openapi.getPet.not-found"), "no secured step: it runs");
    let refusal = plan.scenarios.iter().find(|s| s.id == "openapi.addPet.unauthenticated").unwrap();
    assert!(!refusal.tags.contains(&skip), "the refusal is checked without credentials");
    assert!(!refusal.steps[0].request().headers.iter().any(|h| h.name.eq_ignore_ascii_case("authorization")));

    let with_auth = OpenApi::plan(input(spec, &[("auth", "Authorization: Bearer t")])).unwrap();
    assert!(
        with_auth.scenarios.iter().all(|s| !s.tags.contains(&skip)),
        "credentials configured: nothing skipped"
    );

    // A host without `tag.skip`: left out instead.
    let mut old_host = input(spec, &[]);
    old_host.host.features.retain(|f| f != "tag.skip");
    let plan = OpenApi::plan(old_host).unwrap();
    assert!(!plan.scenarios.iter().any(|s| s.id == "openapi.addPet.happy"));
}

#[test]
fn the_documents_server_path_is_added_only_when_the_base_url_has_none_and_never_doubled() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "servers": [{"url": "https://api.example.com/v2"}],
      "paths": {"/ping": {"get": {"operationId": "ping", "responses": {"200": {"description": "ok"}}}}}}"#;
    let path_with = |base_url: Option<&str>, config: &[(&str, &str)]| {
        let mut i = input(spec, config);
        if let Some(url) = base_url {
            let path =
                url.split_once("://").map(|(_, rest)| rest.find('/').map_or("", |i| &rest[i..])).unwrap();
            i.documents.push(Document {
                key: "target".into(),
                source: "smoke:target".into(),
                content: serde_json::json!({"base_url": url, "base_path": path.trim_end_matches('/')})
                    .to_string()
                    .into_bytes(),
            });
        }
        OpenApi::plan(i).map(|p| p.scenarios[0].steps[0].request().path.clone())
    };
    assert_eq!(path_with(None, &[]).unwrap(), "/v2/ping", "no base URL known: the document's path");
    assert_eq!(path_with(Some("http://127.0.0.1:{port}"), &[]).unwrap(), "/v2/ping");
    assert_eq!(path_with(Some("http://127.0.0.1:8080/"), &[]).unwrap(), "/v2/ping");
    assert_eq!(path_with(Some("http://host/v2"), &[]).unwrap(), "/ping", "never /v2/v2");
    assert_eq!(path_with(Some("http://host/v2/"), &[]).unwrap(), "/ping");
    assert_eq!(path_with(Some("http://host/v2"), &[("base_path", "document")]).unwrap(), "/v2/ping");
    assert_eq!(path_with(Some("http://host:1"), &[("base_path", "none")]).unwrap(), "/ping");
    assert_eq!(path_with(None, &[("base_path", "/api/")]).unwrap(), "/api/ping");
    let e = path_with(None, &[("base_path", "v3")]).unwrap_err();
    assert_eq!(e.location.as_deref(), Some("config.base_path"), "{}", e.message);
}

#[test]
fn swagger_form_data_is_a_form_or_multipart_body_and_produces_is_the_accept_header() {
    let spec = r#"{"swagger": "2.0", "produces": ["application/json"], "paths": {
      "/pets/{petId}/photo": {"post": {"operationId": "uploadPhoto", "consumes": ["multipart/form-data"], "produces": ["image/png", "image/jpeg"],
        "parameters": [{"in": "path", "name": "petId", "required": true, "type": "integer"},
                       {"in": "formData", "name": "caption", "required": true, "type": "string"},
                       {"in": "formData", "name": "file", "required": true, "type": "file"}],
        "responses": {"200": {"description": "ok"}}}},
      "/login": {"post": {"operationId": "login", "consumes": ["application/x-www-form-urlencoded"],
        "parameters": [{"in": "formData", "name": "user", "required": true, "type": "string"}],
        "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[("values", "petId=7")])).unwrap();
    let step = |id: &str| {
        plan.scenarios.iter().find(|s| s.id == id).unwrap().steps.last().unwrap().request().clone()
    };
    let upload = step("openapi.uploadPhoto.happy");
    let Some(smoke_plugin::Body::Multipart(parts)) = &upload.body else {
        panic!("multipart: {:?}", upload.body)
    };
    let names: Vec<(&str, bool)> = parts.iter().map(|p| (p.name.as_str(), p.filename.is_some())).collect();
    assert_eq!(names, [("caption", false), ("file", true)], "the file field is a file upload");
    let accept = upload.headers.iter().find(|h| h.name == "Accept").map(|h| h.value.as_str());
    assert_eq!(accept, Some("image/png, image/jpeg"));
    let login = step("openapi.login.happy");
    assert!(
        matches!(&login.body, Some(smoke_plugin::Body::Form(f)) if f[0].name == "user"),
        "{:?}",
        login.body
    );
    let accept = login.headers.iter().find(|h| h.name == "Accept").map(|h| h.value.as_str());
    assert_eq!(accept, Some("application/json"), "the document-wide produces");
}

#[test]
fn references_resolve_as_the_host_resolves_them() {
    // One table for both sides: tests/fixtures/references.json.
    let table: Vec<(String, String, Option<String>)> = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/references.json"
    )))
    .unwrap();
    for (from, reference, expected) in table {
        assert_eq!(doc::resolve(&from, &reference), expected, "{from} + {reference}");
    }
}

#[test]
fn external_references_are_bundled_with_cycles_ending_and_missing_ones_left_out() {
    let main = r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/pets": {"post": {"operationId": "addPet", "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "schemas/pet.json#/Pet"}}}},
                         "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "schemas/pet.json#/Pet"}}}}}}},
      "/owners": {"get": {"operationId": "listOwners", "responses": {"200": {"$ref": "http://127.0.0.1:9/responses.json#/owners"}}}},
      "/toys": {"get": {"operationId": "listToys", "responses": {"200": {"$ref": "missing.json#/toys"}}}}}}"##;
    // pet.json refers back to itself through a local ref and to a sibling file, which refers back.
    let pet = r##"{"Pet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}, "owner": {"$ref": "owner.json"}, "friend": {"$ref": "#/Pet"}}}}"##;
    let owner = r##"{"type": "object", "properties": {"name": {"type": "string"}, "pets": {"type": "array", "items": {"$ref": "pet.json#/Pet"}}}}"##;
    let responses = r##"{"owners": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}}"##;
    let others: Vec<(&str, &[u8])> = vec![
        ("schemas/pet.json", pet.as_bytes()),
        ("schemas/owner.json", owner.as_bytes()),
        ("http://127.0.0.1:9/responses.json", responses.as_bytes()),
    ];
    let doc = doc::Doc::load_based(main.as_bytes(), "spec.json", None, &others).unwrap();
    let endpoints: Vec<String> = doc.operations.iter().map(|o| o.endpoint()).collect();
    assert_eq!(endpoints, ["GET /owners", "POST /pets"], "{:?}", doc.problems);
    assert_eq!(doc.problems.len(), 1);
    assert_eq!(doc.problems[0].endpoint, "GET /toys");
    assert!(doc.problems[0].message.contains("missing.json#/toys"), "{}", doc.problems[0].message);
    let add = doc.operations.iter().find(|o| o.id == "addPet").unwrap();
    let body = doc.deref(add.body.as_ref().unwrap());
    assert_eq!(body["required"], serde_json::json!(["name"]), "the schema from pet.json: {body}");
    let owner = doc.deref(&body["properties"]["owner"]);
    let pets_item = doc.deref(&owner["properties"]["pets"]["items"]);
    assert_eq!(pets_item, body, "owner.json's reference back to pet.json is the same copy");
    // The whole plan is made from it, as from one file.
    let mut i = input(main, &[]);
    for (source, content) in &others {
        i.documents.push(Document {
            key: "spec".into(),
            source: source.to_string(),
            content: content.to_vec(),
        });
    }
    let plan = OpenApi::plan(i).unwrap();
    assert!(plan.scenarios.iter().any(|s| s.id == "openapi.addPet.invalid.name.missing"));
}

#[test]
fn a_put_that_names_the_id_creates_what_other_operations_need() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/pets/{petId}": {
        "put": {"operationId": "putPet", "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
          "responses": {"200": {"description": "stored"}}},
        "get": {"operationId": "getPet", "parameters": [{"name": "petId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
          "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}},
      "/visits": {"post": {"operationId": "addVisit", "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["pet_id"], "properties": {"pet_id": {"type": "string", "format": "uuid"}}}}}},
        "responses": {"201": {"description": "ok"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let get = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.happy").expect("planned");
    assert_eq!(get.steps.len(), 2, "a pet is put first");
    let put = get.steps[0].request();
    assert_eq!(put.method, smoke_plugin::Method::Put);
    let id = put.path.strip_prefix("/pets/").unwrap();
    assert!(id.starts_with("00000000-0000-4000-8000-") && id.len() == 36, "a deterministic uuid: {id}");
    assert_eq!(get.steps[1].request().path, format!("/pets/{id}"), "the same id is read");
    // A body naming a pet gets the id of one put first.
    let visit = plan.scenarios.iter().find(|s| s.id == "openapi.addVisit.happy").unwrap();
    let put_path = visit.steps[0].request().path.clone();
    let smoke_plugin::Body::Json(body) = visit.steps[1].request().body.clone().unwrap() else { panic!() };
    assert_eq!(
        format!(
            "/pets/{}",
            serde_json::from_str::<serde_json::Value>(&body).unwrap()["pet_id"].as_str().unwrap()
        ),
        put_path
    );
    // Ids differ between scenarios (they may run at once) and not between runs.
    let again = OpenApi::plan(input(spec, &[])).unwrap();
    assert_eq!(again.scenarios[0].steps[0].request().path, plan.scenarios[0].steps[0].request().path);
    assert_ne!(put_path, get.steps[0].request().path);
}

#[test]
fn an_id_only_in_the_location_header_is_taken_from_it() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/pets": {"post": {"operationId": "addPet",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
        "responses": {"201": {"description": "created", "headers": {"location": {"schema": {"type": "string"}}}}}}},
      "/pets/{id}": {"get": {"operationId": "getPet", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}}}}, "404": {"description": "no"}}}},
      "/owners": {"post": {"operationId": "addOwner", "responses": {"201": {"description": "created",
        "links": {"owner": {"operationId": "getOwner", "parameters": {"ownerId": "$response.header.Location"}}}}}}},
      "/people/{ownerId}": {"get": {"operationId": "getOwner", "parameters": [{"name": "ownerId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let header_capture = |step: &smoke_plugin::Step| {
        step.captures.iter().find_map(|c| match &c.source {
            smoke_plugin::CaptureSource::Header(h) if h == "location" => Some(c.name.clone()),
            _ => None,
        })
    };
    // A reader gets the id of a pet made first, from its Location.
    let get = plan.scenarios.iter().find(|s| s.id == "openapi.getPet.happy").expect("planned");
    let var = header_capture(&get.steps[0]).expect("the create captures its Location");
    assert_eq!(get.steps[1].request().path, format!("/pets/{{{{{var}|last-segment}}}}"));
    // So does the read-after-write check.
    let raw = plan.scenarios.iter().find(|s| s.id == "openapi.addPet.read-after-write").expect("planned");
    let var = header_capture(&raw.steps[0]).unwrap();
    assert_eq!(raw.steps[1].request().path, format!("/pets/{{{{{var}|last-segment}}}}"));
    // A link may name the header as where a parameter comes from.
    let owner = plan.scenarios.iter().find(|s| s.id == "openapi.getOwner.happy").expect("planned");
    let var = header_capture(&owner.steps[0]).unwrap();
    assert_eq!(owner.steps[1].request().path, format!("/people/{{{{{var}|last-segment}}}}"));

    // A host that cannot take the id from a Location: the readers are left out, saying why.
    let mut old_host = input(spec, &[]);
    old_host.host.features.retain(|f| f != "template.last-segment");
    let plan = OpenApi::plan(old_host).unwrap();
    let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
    assert!(!ids.contains(&"openapi.getPet.happy") && ids.contains(&"openapi.getPet.not-found"), "{ids:?}");
    let doc = doc::Doc::load(spec.as_bytes(), "spec.json").unwrap();
    let overrides = plan::Overrides::default();
    let generated = plan::Planner::new(&doc, &overrides).generate();
    let (_, why) = generated.skipped.iter().find(|(e, _)| e == "GET /pets/{id}").unwrap();
    assert!(why.contains("Location header would tell") && why.contains("template.last-segment"), "{why}");
}

#[test]
fn repeats_are_checked_where_the_document_says_what_a_repeat_does() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/payments": {"post": {"operationId": "pay",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string", "maxLength": 12}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer"}}}}}},
        "responses": {"201": {"description": "paid", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}},
      "/settings": {"post": {"operationId": "setSetting",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
        "responses": {"200": {"description": "updated"}, "201": {"description": "created",
          "links": {"read": {"operationId": "getSetting", "parameters": {"name": "$response.body#/name"}}}}}}},
      "/settings/{name}": {"get": {"operationId": "getSetting", "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}},
      "/notes": {"post": {"operationId": "addNote", "responses": {"200": {"description": "ok"}, "201": {"description": "made"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let find = |id: &str| plan.scenarios.iter().find(|s| s.id == id);
    let key = |s: &smoke_plugin::Scenario, i: usize| {
        s.steps[i].request().headers.iter().find(|h| h.name == "Idempotency-Key").map(|h| h.value.clone())
    };
    // An optional key is sent anyway, distinct per scenario, within its maxLength.
    let happy = find("openapi.pay.happy").unwrap();
    let replay = find("openapi.pay.idempotent-replay").expect("planned");
    let (a, b) = (key(happy, 0).expect("a key"), key(replay, 0).expect("a key"));
    assert!(a != b && a.len() <= 12, "{a} {b}");
    // The replay sends the same key twice and wants the first id back.
    assert_eq!(key(replay, 1), Some(b));
    let var = &replay.steps[0].captures[0].name;
    let wanted = format!("{:?}", replay.steps[1].expectation().body);
    assert!(wanted.contains("\"/id\"") && wanted.contains(&format!("{{{{{var}}}}}")), "{wanted}");
    // A create-or-update keyed by what is sent: the repeat must not be a 201.
    let upsert = find("openapi.setSetting.upsert").expect("planned");
    let statuses: Vec<_> = upsert.steps[1].expectation().status.clone();
    assert_eq!(statuses, vec![smoke_plugin::Status::Code(200)]);
    // 200 and 201 alone say nothing about a repeat (a create whose id the server makes).
    assert!(find("openapi.addNote.upsert").is_none() && find("openapi.addNote.idempotent-replay").is_none());
}

#[test]
fn path_parameters_only_the_user_can_give_are_planned_as_skipped_saying_which() {
    let spec = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/subscriptions/{subscriptionId}/vaults": {"get": {"operationId": "listVaults",
        "parameters": [{"name": "subscriptionId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}},
      "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}}}}"#;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let list = plan.scenarios.iter().find(|s| s.id == "openapi.listVaults.happy").expect("planned");
    let reason = list.tags.iter().find_map(|t| t.strip_prefix("skip:")).expect("planned as skipped");
    assert!(reason.contains("`subscriptionId`") && reason.contains("values=subscriptionId=..."), "{reason}");
    let health = plan.scenarios.iter().find(|s| s.id == "openapi.health.happy").unwrap();
    assert!(!health.tags.iter().any(|t| t.starts_with("skip:")), "what can run, runs");
    // Given the value, it runs with it.
    let plan = OpenApi::plan(input(spec, &[("values", "subscriptionId=s-1")])).unwrap();
    let list = plan.scenarios.iter().find(|s| s.id == "openapi.listVaults.happy").unwrap();
    assert!(!list.tags.iter().any(|t| t.starts_with("skip:")));
    assert_eq!(list.steps[0].request().path, "/subscriptions/s-1/vaults");
    // A host without `tag.skip`: left out, with the same reason.
    let mut old_host = input(spec, &[]);
    old_host.host.features.retain(|f| f != "tag.skip");
    let plan = OpenApi::plan(old_host).unwrap();
    assert!(plan.scenarios.iter().all(|s| s.id != "openapi.listVaults.happy"));
}

#[test]
fn a_duplicate_is_expected_only_where_409_can_mean_one() {
    let spec = |conflict: &str, key: bool| {
        let key = if key { r#", "idempotency_key": {"type": "string"}"# } else { "" };
        format!(
            r#"{{"openapi": "3.0.3", "info": {{"title": "t", "version": "1"}}, "paths": {{
          "/pets": {{"post": {{"operationId": "addPet",
            "requestBody": {{"required": true, "content": {{"application/json": {{"schema": {{"type": "object", "required": ["name"], "properties": {{"name": {{"type": "string"}}{key}}}}}}}}}}},
            "responses": {{"201": {{"description": "made", "content": {{"application/json": {{"schema": {{"type": "object", "properties": {{"id": {{"type": "string"}}}}}}}}}}}}, "409": {{"description": "{conflict}"}}}}}}}},
          "/pets/{{id}}": {{"get": {{"operationId": "getPet", "parameters": [{{"name": "id", "in": "path", "required": true, "schema": {{"type": "string"}}}}],
            "responses": {{"200": {{"description": "ok"}}, "404": {{"description": "no"}}}}}}}}}}}}"#
        )
    };
    let planned = |conflict: &str, key: bool| {
        OpenApi::plan(input(&spec(conflict, key), &[]))
            .unwrap()
            .scenarios
            .iter()
            .any(|s| s.id == "openapi.addPet.duplicate")
    };
    assert!(planned("Conflict", false));
    assert!(planned("a pet with that name already exists", false));
    assert!(!planned("the pet was modified since (version mismatch)", false), "a version conflict");
    assert!(!planned("Conflict", true), "with an idempotency key a repeat is a replay");
}

/// What a spec-faithful mock server (Prism) showed smoke getting wrong on public documents.
#[test]
fn requests_follow_the_document_where_a_mock_server_found_them_wrong() {
    let spec = r##"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/jobs": {"post": {"operationId": "addJob",
        "parameters": [
          {"name": "Content-Type", "in": "header", "required": true, "schema": {"type": "string"}},
          {"name": "Accept", "in": "header", "required": true, "schema": {"type": "string"}},
          {"name": "Authorization", "in": "header", "required": true, "schema": {"type": "string"}},
          {"name": "ids", "in": "query", "required": true, "schema": {"type": "array", "minItems": 2, "items": {"type": "integer"}}},
          {"name": "tags", "in": "query", "required": true, "explode": false, "schema": {"type": "array", "items": {"type": "string", "enum": ["a"]}}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["job", "who", "party", "method"],
          "properties": {
            "job": {"allOf": [{"required": ["name"]}, {"$ref": "#/components/schemas/Job"}]},
            "party": {"allOf": [{"$ref": "#/components/schemas/Id"}, {"type": "string"}]},
            "who": {"type": "object", "minProperties": 1, "properties": {"email": {"type": "string"}, "phone": {"type": "string"}}},
            "method": {"oneOf": [{"$ref": "#/components/schemas/Ach"}, {"$ref": "#/components/schemas/Sepa"}]}}}}}},
        "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
      "/months/{month}/export/{format}": {"get": {"operationId": "exportMonth", "parameters": [
          {"name": "month", "in": "path", "required": true, "schema": {"type": "string", "format": "date"}},
          {"name": "format", "in": "path", "required": true, "schema": {"type": "string", "enum": ["csv", "json"]}}],
        "responses": {"200": {"description": "ok"}, "404": {"description": "no such month"}}}}},
      "components": {"schemas": {
        "Job": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}},
        "Id": {"type": "string", "example": "p-1"},
        "Ach": {"type": "object", "required": ["account"], "properties": {"account": {"type": "string"}, "type": {"type": "string", "enum": ["ach"]}}},
        "Sepa": {"type": "object", "required": ["account"], "properties": {"account": {"type": "string"}, "type": {"type": "string", "enum": ["sepa"]}}}}}}"##;
    let plan = OpenApi::plan(input(spec, &[("values", "month=2024-01-01")])).unwrap();
    let find =
        |id: &str| plan.scenarios.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} planned"));
    let add = find("openapi.addJob.happy").steps[0].request();
    // Header parameters named Accept, Content-Type or Authorization are ignored, as OpenAPI says.
    let names: Vec<&str> = add.headers.iter().map(|h| h.name.as_str()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.eq_ignore_ascii_case("content-type") || n.eq_ignore_ascii_case("authorization")),
        "{names:?}"
    );
    assert_eq!(add.headers.iter().filter(|h| h.name.eq_ignore_ascii_case("accept")).count(), 1, "{names:?}");
    // Arrays in the query: one `ids=` per item by default, joined with commas for explode: false.
    let query: Vec<(&str, &str)> = add.query.iter().map(|q| (q.name.as_str(), q.value.as_str())).collect();
    assert_eq!(query.iter().filter(|(n, _)| *n == "ids").count(), 2, "{query:?}");
    assert!(query.contains(&("ids", "1")) && query.contains(&("tags", "a")), "{query:?}");
    let smoke_plugin::Body::Json(body) = add.body.clone().unwrap() else { panic!() };
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    // allOf: one schema from the parts; a `required` in one part fills another's property.
    assert!(body["job"]["name"].is_string(), "{body}");
    assert_eq!(body["party"], "p-1", "scalar parts stay scalar: {body}");
    assert_eq!(body["who"].as_object().map(|o| o.len()), Some(1), "minProperties: {body}");
    assert_eq!(body["method"]["type"], "ach", "oneOf: the choice's own enum tells it apart: {body}");
    // Not-found: the missing value goes to the month (a date), not to the enum.
    let nf = find("openapi.exportMonth.not-found").steps[0].request().path.clone();
    assert_eq!(nf, "/months/1900-01-01/export/csv");
    assert_eq!(find("openapi.exportMonth.happy").steps[0].request().path, "/months/2024-01-01/export/csv");

    // A multipart part that is an object goes as JSON, OpenAPI's default for one.
    let multipart = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/podcasts": {"post": {"operationId": "addPodcast", "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["podcast", "title"], "properties": {"title": {"type": "string"},
        "podcast": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}}},
        "responses": {"201": {"description": "ok"}}}}}}"#;
    let plan = OpenApi::plan(input(multipart, &[])).unwrap();
    let add = plan.scenarios.iter().find(|s| s.id == "openapi.addPodcast.happy").unwrap().steps[0].request();
    let Some(smoke_plugin::Body::Multipart(parts)) = add.body.clone() else { panic!("multipart") };
    let podcast = parts.iter().find(|p| p.name == "podcast").unwrap();
    assert_eq!(podcast.content_type.as_deref(), Some("application/json"));
    let title = parts.iter().find(|p| p.name == "title").unwrap();
    assert_eq!(title.content_type, None, "text stays text");
    // The document's `encoding` types a part: a number sent as JSON.
    let encoded = r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/podcasts": {"post": {"operationId": "addPodcast", "requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["podcast", "title"], "properties": {"title": {"type": "integer"},
        "podcast": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}},
        "encoding": {"title": {"contentType": "application/json"}, "podcast": {"contentType": "application/xml"}}}}},
        "responses": {"201": {"description": "ok"}}}}}}"#;
    let plan = OpenApi::plan(input(encoded, &[])).unwrap();
    let add = plan.scenarios.iter().find(|s| s.id == "openapi.addPodcast.happy").unwrap().steps[0].request();
    let Some(smoke_plugin::Body::Multipart(parts)) = add.body.clone() else { panic!("multipart: {encoded}") };
    let part = |name: &str| parts.iter().find(|p| p.name == name).unwrap().clone();
    assert_eq!(part("title").content_type.as_deref(), Some("application/json"), "{encoded}");
    assert_eq!(
        part("podcast").content_type.as_deref(),
        Some("application/json"),
        "an object's text is JSON, whatever else the encoding says"
    );

    // Swagger 2: a `file` response and one that produces only CSV get no JSON schema check.
    let swagger = r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {
      "/report.csv": {"get": {"operationId": "csv", "produces": ["text/csv"], "responses": {"200": {"description": "ok", "schema": {"type": "string"}}}}},
      "/blob": {"get": {"operationId": "blob", "produces": ["application/octet-stream"], "responses": {"200": {"description": "ok", "schema": {"type": "file"}}}}},
      "/list": {"get": {"operationId": "list", "parameters": [{"name": "ids", "in": "query", "required": true, "type": "array", "items": {"type": "string"}, "collectionFormat": "pipes"}],
        "responses": {"200": {"description": "ok", "schema": {"type": "array", "items": {"type": "string"}}}}}}}}"#;
    let plan = OpenApi::plan(input(swagger, &[])).unwrap();
    let step = |id: &str| plan.scenarios.iter().find(|s| s.id == id).unwrap().steps[0].clone();
    assert!(step("openapi.csv.happy").expectation().schema.is_none());
    assert!(step("openapi.blob.happy").expectation().schema.is_none());
    assert!(step("openapi.list.happy").expectation().schema.is_some(), "JSON keeps its check");
    assert_eq!(step("openapi.list.happy").request().query.len(), 1);
}

/// The scenario's reason for being planned as skipped, if it is.
fn skip_reason(scenario: &smoke_plugin::Scenario) -> Option<&str> {
    scenario.tags.iter().find_map(|t| t.strip_prefix("skip:"))
}

fn json_body(step: &smoke_plugin::Step) -> serde_json::Value {
    let Some(smoke_plugin::Body::Json(text)) = step.request().body.clone() else { panic!("a JSON body") };
    serde_json::from_str(&text).unwrap()
}

/// A password rule written as look-aheads, as most documents write it: at least eight
/// characters, one of them a capital and one a digit.
const PASSWORD: &str = r"^(?=.*[A-Z])(?=.*\d).{8,}$";

fn users_spec(password_pattern: &str) -> String {
    json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/users": {"post": {"operationId": "register",
        "parameters": [{"name": "invite", "in": "query", "required": true,
                        "schema": {"type": "string", "pattern": password_pattern}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "required": ["username", "password"],
          "properties": {"username": {"type": "string", "maxLength": 20},
                         "password": {"type": "string", "pattern": password_pattern}}}}}},
        "responses": {"201": {"description": "created"}, "400": {"description": "invalid"}}}},
      "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}}}})
    .to_string()
}

#[test]
fn a_password_pattern_written_with_look_aheads_gets_a_value_meeting_each_of_them() {
    let plan = smoke_plugin::testing::assert_deterministic_plan::<OpenApi>(input(&users_spec(PASSWORD), &[]));
    let happy = plan.scenarios.iter().find(|s| s.id == "openapi.register.happy").unwrap();
    assert_eq!(skip_reason(happy), None, "a value was found, so it runs");
    let pattern = plan.scenarios.iter().find(|s| s.id == "openapi.register.invalid.password.pattern");
    assert!(pattern.is_some(), "a value breaking the look-aheads is refused");
    let step = &happy.steps[0];
    let invite = step.request().query.iter().find(|q| q.name == "invite").unwrap().value.clone();
    let password = json_body(step)["password"].as_str().unwrap().to_string();
    for value in [invite, password] {
        // The rule read by a person, not by the generator's own regular expression engine.
        assert!(value.chars().count() >= 8, "{value:?} has eight characters");
        assert!(value.chars().any(|c| c.is_ascii_uppercase()), "{value:?} has a capital");
        assert!(value.chars().any(|c| c.is_ascii_digit()), "{value:?} has a digit");
        assert!(!value.contains('\n'), "{value:?}: `.` is no newline");
    }
}

#[test]
fn a_pattern_no_value_can_be_found_for_plans_what_needs_it_as_skipped_naming_the_pattern() {
    // A capital is required and forbidden: nothing matches. And one no engine reads.
    for pattern in [r"^(?=.*[A-Z])(?!.*[A-Z]).{8,}$", r"^(ab$"] {
        let plan = OpenApi::plan(input(&users_spec(pattern), &[])).unwrap();
        let happy = plan.scenarios.iter().find(|s| s.id == "openapi.register.happy").expect("planned");
        let reason = skip_reason(happy).unwrap_or_else(|| panic!("{pattern}: planned as skipped"));
        assert!(reason.contains(pattern), "{reason}");
        assert!(reason.contains("query parameter `invite`"), "names where: {reason}");
        assert!(reason.contains("no valid request body can be made: at /password: "), "{reason}");
        for scenario in plan.scenarios.iter().filter(|s| s.id.starts_with("openapi.register.")) {
            assert!(skip_reason(scenario).is_some(), "{}: no unproven value is sent", scenario.id);
        }
        let health = plan.scenarios.iter().find(|s| s.id == "openapi.health.happy").unwrap();
        assert_eq!(skip_reason(health), None, "the rest runs");
    }
    // A host without planned skips: left out, saying why.
    let mut old_host = input(&users_spec(r"^(ab$"), &[]);
    old_host.host.features.retain(|f| f != "tag.skip");
    let plan = OpenApi::plan(old_host).unwrap();
    assert!(plan.scenarios.iter().all(|s| !s.id.starts_with("openapi.register.")));
    assert!(plan.scenarios.iter().any(|s| s.id == "openapi.health.happy"));
}

/// A document with one odd request body (`schema`) beside an ordinary operation.
fn odd_body_spec(schema: serde_json::Value, schemas: serde_json::Value) -> String {
    json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
      "/odd": {"post": {"operationId": "odd",
        "requestBody": {"required": true, "content": {"application/json": {"schema": schema}}},
        "responses": {"201": {"description": "ok", "content": {"application/json": {"schema": schema}}},
                      "400": {"description": "invalid"}}}},
      "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok",
        "content": {"application/json": {"schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}}}}}}}}},
      "components": {"schemas": schemas}})
    .to_string()
}

/// Components `a0`..`a30`, each an object of two required properties that are both the next:
/// written out, a value would have two thousand million leaves.
fn billion_laughs() -> serde_json::Value {
    let mut schemas = serde_json::Map::new();
    for i in 0..30 {
        let next = json!({"$ref": format!("#/components/schemas/a{}", i + 1)});
        schemas.insert(
            format!("a{i}"),
            json!({"type": "object", "required": ["l", "r"], "properties": {"l": next, "r": next}}),
        );
    }
    schemas.insert("a30".into(), json!({"type": "string"}));
    serde_json::Value::Object(schemas)
}

#[test]
fn a_request_body_that_refers_to_itself_without_end_costs_only_its_operation() {
    let looping = json!({"Loop": {"allOf": [{"$ref": "#/components/schemas/Loop"}]}});
    let spec = odd_body_spec(json!({"$ref": "#/components/schemas/Loop"}), looping);
    let plan = smoke_plugin::testing::assert_deterministic_plan::<OpenApi>(input(&spec, &[]));
    let health = plan.scenarios.iter().find(|s| s.id == "openapi.health.happy").expect("the rest is planned");
    assert_eq!(skip_reason(health), None);
    let odd = plan.scenarios.iter().find(|s| s.id == "openapi.odd.happy").expect("planned, as skipped");
    let reason = skip_reason(odd).expect("planned as skipped");
    assert!(reason.contains("refers to itself"), "{reason}");
}

#[test]
fn a_request_body_that_expands_exponentially_costs_only_its_operation_and_a_bounded_plan() {
    let spec = odd_body_spec(json!({"$ref": "#/components/schemas/a0"}), billion_laughs());
    let started = std::time::Instant::now();
    let plan = smoke_plugin::testing::assert_deterministic_plan::<OpenApi>(input(&spec, &[]));
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(plan.scenarios.iter().any(|s| s.id == "openapi.health.happy" && skip_reason(s).is_none()));
    let odd = plan.scenarios.iter().find(|s| s.id == "openapi.odd.happy").expect("planned, as skipped");
    let reason = skip_reason(odd).expect("planned as skipped");
    assert!(reason.contains("expand past"), "{reason}");
    // The response schema keeps its references: 31 named schemas, not 2^31 copies.
    let schema = odd.steps[0].expectation().schema.clone().expect("the response is still checked");
    let schema: serde_json::Value = serde_json::from_str(&schema).unwrap();
    assert_eq!(schema["$defs"].as_object().map(|d| d.len()), Some(31), "{schema}");
    let size = format!("{:?}", plan.scenarios).len();
    assert!(size < 400_000, "the plan is {size} bytes");
}

#[test]
fn a_not_found_probe_takes_a_403_the_document_says_is_for_what_does_not_exist() {
    let doc = |forbidden: &str| {
        json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
          "paths": {
            "/things": {"post": {"operationId": "addThing", "responses": {"201": {"description": "ok",
                "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}},
            "/things/{id}": {"get": {"operationId": "getThing", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
              "responses": {"200": {"description": "ok"}, "404": {"description": "no such thing"},
                            "403": {"description": forbidden}}}}}})
        .to_string()
    };
    let statuses = |forbidden: &str| {
        let plan = OpenApi::plan(input(&doc(forbidden), &[])).unwrap();
        let nf = plan.scenarios.iter().find(|s| s.id == "openapi.getThing.not-found").unwrap();
        nf.steps.last().unwrap().expectation().status.clone()
    };
    use smoke_plugin::Status::Code;
    assert_eq!(statuses("The thing does not exist or is not accessible to you"), [Code(404), Code(403)]);
    assert_eq!(
        statuses("You may not read it"),
        [Code(404)],
        "a 403 about permissions only is no answer for missing"
    );
}

#[test]
fn operations_that_declare_only_error_responses_get_their_error_scenarios() {
    let spec = json!({"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
      "paths": {
        "/things": {"post": {"operationId": "addThing",
          "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
            "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 5}}}}}},
          "responses": {"400": {"description": "bad input"}}}},
        "/things/{id}": {"get": {"operationId": "getThing",
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
          "responses": {"404": {"description": "no such thing"}}}}}})
    .to_string();
    let plan = OpenApi::plan(input(&spec, &[])).unwrap();
    let ids: Vec<&str> = plan.scenarios.iter().map(|s| s.id.as_str()).collect();
    for id in [
        "openapi.addThing.invalid.name.missing",
        "openapi.addThing.invalid.name.too-long",
        "openapi.getThing.not-found",
    ] {
        assert!(ids.contains(&id), "{id}: {ids:?}");
    }
    // And say what they do not get.
    let first = plan.scenarios.iter().find(|s| s.id == "openapi.addThing.invalid.name.missing").unwrap();
    assert!(
        first.tags.iter().any(|t| t.starts_with("not-planned:happy-path:") && t.contains("no 2xx")),
        "{:?}",
        first.tags
    );
}

#[test]
fn a_refusal_is_judged_by_the_fields_it_names() {
    use serde_json::Value;
    let judge = |body: Value| crate::judge_refusal(&json!({"field": "title"}), Some(body)).pass;
    // FastAPI, RFC 9457, errors keyed by field, errors with a pointer.
    assert!(judge(json!({"detail": [{"loc": ["body", "title"], "msg": "Field required"}]})));
    assert!(!judge(json!({"detail": [{"loc": ["body", "done"], "msg": "bad"}]})));
    assert!(judge(json!({"type": "about:blank", "invalid-params": [{"name": "title", "reason": "x"}]})));
    assert!(!judge(json!({"errors": {"owner": ["is required"]}})));
    assert!(judge(json!({"errors": [{"pointer": "#/title", "detail": "x"}]})));
    // An answer that names no field is judged by its status alone.
    assert!(judge(json!({"error": "invalid", "message": "title is required"})));
}

#[test]
fn a_create_is_looked_for_in_the_list_its_own_path_or_its_link_names() {
    let spec = r##"{"openapi": "3.0.3", "paths": {
      "/devices": {"post": {"operationId": "addDevice",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}},
        "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}}}}},
      "/devices/{id}": {"get": {"operationId": "getDevice", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}}}}},
      "/devices/{id}/readings": {
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "post": {"operationId": "addReading",
          "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["value"], "properties": {"value": {"type": "number"}}}}}},
          "responses": {"201": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Made"}}}}}},
        "get": {"operationId": "listReadings",
          "responses": {"200": {"description": "them", "content": {"application/json": {"schema": {"type": "object", "properties": {"count": {"type": "integer"}, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Made"}}}}}}}}}},
      "/record_snapshot": {"post": {"operationId": "recordSnapshot",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["device_id"], "properties": {"device_id": {"type": "string"}}}}}},
        "responses": {"201": {"description": "recorded", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}, "device_id": {"type": "string"}}}}},
          "links": {"snapshots": {"operationId": "listSnapshots", "parameters": {"id": "$response.body#/device_id"}}}}}}},
      "/devices/{id}/snapshots": {"get": {"operationId": "listSnapshots", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "them", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Made"}}}}}}}}},
      "components": {"schemas": {"Made": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}}}}"##;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let paths = |id: &str| {
        let s = plan.scenarios.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} planned"));
        s.steps
            .iter()
            .map(|st| format!("{:?} {}", st.request().method, st.request().path))
            .collect::<Vec<_>>()
    };
    let check = |id: &str| {
        let s = plan.scenarios.iter().find(|s| s.id == id).unwrap();
        serde_json::from_str::<serde_json::Value>(s.steps.last().unwrap().check.as_deref().unwrap()).unwrap()
    };
    // Its own path: the readings of the device the scenario made.
    assert_eq!(
        paths("openapi.addReading.listed"),
        [
            "Method::Post /devices",
            "Method::Post /devices/{{device_1}}/readings",
            "Method::Get /devices/{{device_1}}/readings"
        ]
    );
    assert_eq!(check("openapi.addReading.listed")["list"], "/items");
    // A link: the list named by what the create answered (an array answer: the list is its top).
    let linked = paths("openapi.recordSnapshot.listed");
    assert_eq!(linked.last().unwrap(), "Method::Get /devices/{{device_1}}/snapshots", "{linked:?}");
    assert_eq!(check("openapi.recordSnapshot.listed")["list"], "");
    // A whole collection's list may be paged: not looked in.
    assert!(plan.scenarios.iter().all(|s| s.id != "openapi.addDevice.listed"));
}

#[test]
fn a_list_passes_only_with_the_new_member_in_it() {
    let argument = json!({"rule": "listed", "list": "/items", "field": "id", "variable": "listed_reading"});
    let judge = |id: Option<serde_json::Value>, body: serde_json::Value| {
        crate::judge_listed(&argument, id, Some(body))
    };
    let two = json!({"items": [{"id": "a"}, {"id": "b"}]});
    assert!(judge(Some(json!("b")), two.clone()).pass);
    let missing = judge(Some(json!("c")), two.clone());
    assert!(!missing.pass && missing.reason.contains("not in the list: 2 member(s)"), "{}", missing.reason);
    // An id answered as a number and listed as text is the same member.
    assert!(judge(Some(json!(7)), json!({"items": [{"id": "7"}]})).pass);
    assert!(!judge(Some(json!("a")), json!({"items": {"id": "a"}})).pass, "not a list");
    assert!(!judge(None, two).pass, "no id was captured");
}

#[test]
fn a_date_said_to_lie_ahead_or_behind_is_probed_from_the_other_side() {
    let spec = r##"{"openapi": "3.0.3", "paths": {"/visits": {"post": {"operationId": "book",
      "requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["at", "born"], "properties": {
        "at": {"type": "string", "format": "date-time", "description": "UTC, in the future"},
        "born": {"type": "string", "format": "date", "description": "not in the future"},
        "seen": {"type": "string", "format": "date", "description": "in the past or the future"},
        "note": {"type": "string", "description": "in the future"}}}}}},
      "responses": {"201": {"description": "booked"}, "422": {"description": "invalid"}}}}}}"##;
    let plan = OpenApi::plan(input(spec, &[])).unwrap();
    let sent = |id: &str, field: &str| {
        let s = plan.scenarios.iter().find(|s| s.id == id).unwrap_or_else(|| panic!("{id} planned"));
        json_body(s.steps.last().unwrap())[field].clone()
    };
    assert_eq!(sent("openapi.book.invalid.at.in-the-past", "at"), "2001-02-03T04:05:06Z");
    assert_eq!(sent("openapi.book.invalid.born.in-the-future", "born"), "2999-02-03");
    // Negations other than the plain ones say nothing sure.
    for unsure in
        ["Must not be in the future", "cannot be in the past", "past due date", "in the past or the future"]
    {
        assert_eq!(crate::plan::must_lie(unsure), None, "{unsure}");
    }
    assert_eq!(crate::plan::must_lie("UTC, in the future"), Some(true));
    assert_eq!(crate::plan::must_lie("not in the future"), Some(false));
    assert_eq!(crate::plan::must_lie("A future date."), Some(true));
    // Both sides said, or no date: nothing to probe.
    let probed: Vec<&str> =
        plan.scenarios.iter().map(|s| s.id.as_str()).filter(|id| id.contains(".in-the-")).collect();
    assert_eq!(probed.len(), 2, "{probed:?}");
}

#[test]
fn an_action_the_document_says_refuses_an_empty_record_is_sent_on_a_fresh_one() {
    let spec = |creator_body: &str| {
        format!(
            r##"{{"openapi": "3.0.3", "paths": {{
          "/carts": {{"post": {{"operationId": "openCart", {creator_body}
            "responses": {{"201": {{"description": "made", "content": {{"application/json": {{"schema": {{"type": "object", "properties": {{"id": {{"type": "string"}}}}}}}}}}}}}}}}}},
          "/carts/{{id}}": {{"get": {{"operationId": "getCart", "parameters": [{{"name": "id", "in": "path", "required": true, "schema": {{"type": "string"}}}}],
            "responses": {{"200": {{"description": "it"}}, "404": {{"description": "none"}}}}}}}},
          "/carts/{{id}}/checkout": {{"post": {{"operationId": "checkout", "parameters": [{{"name": "id", "in": "path", "required": true, "schema": {{"type": "string"}}}}],
            "responses": {{"201": {{"description": "ordered"}}, "422": {{"description": "the cart is empty"}}}}}}}}}}}}"##
        )
    };
    let plan = OpenApi::plan(input(&spec(""), &[])).unwrap();
    let empty = plan.scenarios.iter().find(|s| s.id == "openapi.checkout.empty").expect("planned");
    let last = empty.steps.last().unwrap();
    assert_eq!(last.request().path, "/carts/{{cart_1}}/checkout");
    assert_eq!(last.expectation().status, [smoke_plugin::Status::Code(422)]);
    assert_eq!(empty.steps.len(), 2, "the cart made, then the checkout: nothing put in it");
    // A creator that takes a body may fill what it makes: no such probe.
    let filled = spec(
        r#""requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"items": {"type": "array"}}}}}},"#,
    );
    let plan = OpenApi::plan(input(&filled, &[])).unwrap();
    assert!(plan.scenarios.iter().all(|s| s.id != "openapi.checkout.empty"));
    // "Empty" about something else than the record (a body, a field) is no such refusal.
    let about_the_body = spec("").replace("the cart is empty", "the request body is empty");
    let plan = OpenApi::plan(input(&about_the_body, &[])).unwrap();
    assert!(plan.scenarios.iter().all(|s| s.id != "openapi.checkout.empty"));
}

#[test]
fn a_rate_limit_is_probed_once_per_budget_from_a_client_of_its_own() {
    let op = |id: &str, client: bool| {
        let header = if client {
            r#"{"name": "X-Client-Id", "in": "header", "schema": {"type": "string"}}"#
        } else {
            r#"{"name": "X-Trace", "in": "header", "schema": {"type": "string"}}"#
        };
        format!(
            r#"{{"operationId": "{id}", "parameters": [{header}],
              "responses": {{"200": {{"description": "ok"}}, "429": {{"description": "more than the client's requests this minute"}}}}}}"#
        )
    };
    let spec = |client: bool| {
        format!(
            r#"{{"openapi": "3.0.3", "paths": {{"/a": {{"get": {}, "post": {}}}, "/b": {{"get": {}}}}}}}"#,
            op("listA", client),
            op("makeA", client),
            op("listB", client)
        )
    };
    let plan = OpenApi::plan(input(&spec(true), &[])).unwrap();
    let probes: Vec<&smoke_plugin::Scenario> =
        plan.scenarios.iter().filter(|s| s.id.ends_with(".rate-limited")).collect();
    assert_eq!(probes.len(), 1, "one budget, one probe");
    let step = probes[0].steps.last().unwrap();
    assert_eq!(step.request().method, smoke_plugin::Method::Get, "on a read");
    assert_eq!(step.expectation().status, [smoke_plugin::Status::Code(429)]);
    assert!(matches!(step.mode, smoke_plugin::StepMode::Poll(_)), "repeated until limited, bounded");
    let client = step.request().headers.iter().find(|h| h.name == "X-Client-Id").expect("its own client");
    assert!(client.value.starts_with("smoke-rate-limit-probe-"), "{}", client.value);
    // No header naming the client: every client at this address would be limited. Not sent, said.
    let plan = OpenApi::plan(input(&spec(false), &[])).unwrap();
    assert!(plan.scenarios.iter().all(|s| !s.id.ends_with(".rate-limited")));
    let said = plan.scenarios.iter().flat_map(|s| &s.tags).find(|t| t.starts_with("not-planned:load:"));
    assert!(said.is_some_and(|t| t.contains("no header naming the client")), "{said:?}");
}

#[test]
fn the_new_probes_hold_back_where_a_correct_server_may_answer_otherwise() {
    let ids = |spec: &str| -> Vec<String> {
        OpenApi::plan(input(spec, &[])).unwrap().scenarios.into_iter().map(|s| s.id).collect()
    };
    // A list keyed by the new record itself, or filtered by a required query, is not where a
    // create is looked for.
    let orders = r##"{"openapi": "3.0.3", "paths": {
      "/orders": {"post": {"operationId": "addOrder", "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"note": {"type": "string"}}}}}},
        "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
          "links": {"items": {"operationId": "orderItems", "parameters": {"orderId": "$response.body#/id"}}}}}}},
      "/orders/{orderId}/items": {"get": {"operationId": "orderItems", "parameters": [{"name": "orderId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "them", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}}}},
        "post": {"operationId": "addItem", "parameters": [{"name": "orderId", "in": "path", "required": true, "schema": {"type": "string"}}],
          "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {"sku": {"type": "string"}}}}}},
          "responses": {"201": {"description": "added", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}}}}},
      "components": {"schemas": {"Item": {"type": "object", "properties": {"id": {"type": "string"}}}}}}"##;
    let planned = ids(orders);
    assert!(!planned.contains(&"openapi.addOrder.listed".to_string()), "{planned:?}");
    assert!(planned.contains(&"openapi.addItem.listed".to_string()), "{planned:?}");
    let filtered = orders.replace(
        r#""parameters": [{"name": "orderId", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200""#,
        r#""parameters": [{"name": "orderId", "in": "path", "required": true, "schema": {"type": "string"}}, {"name": "since", "in": "query", "required": true, "schema": {"type": "string"}}],
        "responses": {"200""#,
    );
    assert_ne!(filtered, orders);
    assert!(!ids(&filtered).contains(&"openapi.addItem.listed".to_string()));

    // A query parameter that also takes text, or an operation that declares no refusal, gets no
    // probe; 3.1's numeric exclusiveMinimum does.
    let query = |schema: &str, refusal: &str| {
        format!(
            r#"{{"openapi": "3.1.0", "paths": {{"/a": {{"get": {{"operationId": "list", "parameters": [{{"name": "level", "in": "query", "schema": {schema}}}],
              "responses": {{"200": {{"description": "ok"}}{refusal}}}}}}}}}}}"#
        )
    };
    let refused = r#", "422": {"description": "invalid"}"#;
    assert!(
        ids(&query(r#"{"type": ["integer", "string"]}"#, refused))
            .iter()
            .all(|id| !id.contains(".invalid.query."))
    );
    assert!(ids(&query(r#"{"type": "integer"}"#, "")).iter().all(|id| !id.contains(".invalid.query.")));
    let bounded = ids(&query(r#"{"type": "integer", "exclusiveMinimum": 0}"#, refused));
    assert!(bounded.contains(&"openapi.list.invalid.query.level.below-minimum".to_string()), "{bounded:?}");

    // "Not empty" is no refusal of an empty record.
    let queue = r##"{"openapi": "3.0.3", "paths": {
      "/queues": {"post": {"operationId": "openQueue", "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}},
      "/queues/{id}/close": {"post": {"operationId": "close", "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "closed"}, "409": {"description": "the queue is not empty"}}}}}}"##;
    assert!(!ids(queue).contains(&"openapi.close.empty".to_string()));

    // A rate limit is never probed through a credential, nor by repeating a create.
    let limited = |header: &str, method: &str| {
        format!(
            r#"{{"openapi": "3.0.3", "paths": {{"/a": {{"{method}": {{"operationId": "op", "parameters": [{{"name": "{header}", "in": "header", "description": "rate limited per key", "schema": {{"type": "string"}}}}],
              "responses": {{"200": {{"description": "ok"}}, "429": {{"description": "slow down"}}}}}}}}}}}}"#
        )
    };
    assert!(ids(&limited("X-Api-Key", "get")).iter().all(|id| !id.ends_with(".rate-limited")));
    assert!(ids(&limited("X-Client", "get")).contains(&"openapi.op.rate-limited".to_string()));
    let plan = OpenApi::plan(input(&limited("X-Client", "post"), &[])).unwrap();
    assert!(plan.scenarios.iter().all(|s| !s.id.ends_with(".rate-limited")));
    let said = plan.scenarios.iter().flat_map(|s| &s.tags).find(|t| t.starts_with("not-planned:load:"));
    assert!(said.is_some_and(|t| t.contains("could make a record each time")), "{said:?}");
}
