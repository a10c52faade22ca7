//! Helpers for a plugin's own unit tests (run natively with `cargo test`).

use crate::{
    CheckInput, Exchange, HostInfo, HttpExchange, Method, Plan, PlanInput, Plugin, Response, SentRequest,
};
use serde::Serialize;

/// Plan twice with `input` and assert what every plugin owes the host: the same plan both times
/// (no clock, no randomness), and no scenario id used twice. Returns the plan for further checks.
pub fn assert_deterministic_plan<P: Plugin>(input: PlanInput) -> Plan {
    let a = match P::plan(input.clone()) {
        Ok(plan) => plan,
        Err(e) => panic!("planning failed: {} (at {:?})", e.message, e.location),
    };
    let b = P::plan(input).unwrap_or_else(|e| panic!("planning failed the second time: {}", e.message));
    assert_eq!(a, b, "two plans from the same input differ");
    let mut seen = std::collections::BTreeSet::new();
    for s in &a.scenarios {
        assert!(seen.insert(s.id.as_str()), "scenario id {:?} is used twice", s.id);
    }
    a
}

/// The host as a test sees it: this SDK's contract version and every optional feature of it.
pub fn host() -> HostInfo {
    HostInfo {
        version: "test".into(),
        contract: crate::WIT_VERSION.into(),
        features: [
            "method.other",
            "body.form",
            "body.multipart",
            "body.bytes",
            "status.class",
            "mode.poll",
            "mode.burst",
            "needs",
            "action.tool-call",
            "action.mcp-request",
            "tag.skip",
            "tag.not-planned",
            "tag.seeded",
            "template.last-segment",
            "template.run",
        ]
        .map(String::from)
        .to_vec(),
    }
}

/// No config and no documents.
pub fn empty_input() -> PlanInput {
    PlanInput { host: host(), config: vec![], documents: vec![] }
}

/// A check input for an HTTP exchange, to test `check` natively: the step's `argument`, and a
/// `GET` answered with `status` and `body`. Its fields are the contract's, so a test adds what it
/// needs to `variables` (values as JSON text), `config` or the response's headers.
///
/// # Panics
/// When the argument cannot be serialized to JSON, as [`crate::Step::check`] does.
pub fn check_input(argument: impl Serialize, status: u16, body: &str) -> CheckInput {
    CheckInput {
        config: vec![],
        scenario_id: "test".into(),
        step_name: "test".into(),
        step_index: 0,
        argument: serde_json::to_string(&argument).expect("a check argument serializes to JSON"),
        exchange: Exchange::Http(HttpExchange {
            request: SentRequest {
                method: Method::Get,
                url: "http://127.0.0.1/test".into(),
                headers: vec![],
                body: vec![],
            },
            response: Response { status, headers: vec![], body: body.as_bytes().to_vec(), latency_ms: 1 },
        }),
        variables: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::check_input;
    use serde_json::json;

    #[test]
    fn a_check_input_reads_back_as_the_step_gave_it() {
        let input = check_input(json!({"rule": "total", "limit": 3}), 201, r#"{"total": 7}"#);
        let (rule, argument) = input.rule().expect("the argument names a rule");
        assert_eq!((rule.as_str(), &argument["limit"]), ("total", &json!(3)));
        assert_eq!(input.response().status, 201);
        assert_eq!(input.response_json(), Some(json!({"total": 7})));
    }
}
