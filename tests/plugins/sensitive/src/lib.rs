//! Declares a sensitive JSON field and header and a secret config key, then sends and expects
//! those values, and fails on purpose so they would appear in every failure detail if redaction
//! let them through. Runs against the ledger example.

use serde_json::json;
use smoke_plugin::{ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Step};

struct Sensitive;

const NAME: &str = "Jane Q. Sensitive";
const HEADER: &str = "hush-hush-123";

impl Plugin for Sensitive {
    fn info() -> Info {
        Info::new("sensitive", "0.1.0", "testing")
            .config_key("token", ConfigKind::Secret, false, Some("smoke-ledger-token"), "bearer token")
            .sensitive_field("name")
            .sensitive_header("x-patient-key")
    }

    fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
        let put = Step::put("/accounts/7777")
            .bearer("{{config.token}}")
            .header("x-patient-key", HEADER)
            .json(json!({"name": NAME, "type": "asset", "currency": "USD"}));
        Ok(Plan::new().scenario(
            Scenario::happy_path("sensitive.echo", "PUT /accounts/{code}")
                .describe("sends and expects sensitive values, then fails on purpose")
                .step(put.expect_status(201).expect_eq("/name", NAME).capture("who", "/name"))
                .step(
                    Step::get("/health")
                        .header("x-patient-key", HEADER)
                        .expect_status(200)
                        .expect_eq("/status", "{{who}}")
                        .named("fail on purpose, quoting the captured name"),
                ),
        ))
    }
}

smoke_plugin::export!(Sensitive);
