//! Helpers for a plugin's own unit tests (run natively with `cargo test`).

use crate::{HostInfo, Plan, PlanInput, Plugin};

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
