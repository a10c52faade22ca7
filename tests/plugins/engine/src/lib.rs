//! Poll and burst steps against any service with `GET /health` answering `{"status": "ok"}`:
//! two scenarios that must pass and two that must fail, so the test suite sees both verdicts.

use smoke_plugin::{Info, Plan, PlanError, PlanInput, Plugin, Scenario, Status, Step};

struct Engine;

impl Plugin for Engine {
    fn info() -> Info {
        Info::new("engine", "0.1.0", "testing").describe("exercises smoke's poll and burst steps")
    }

    fn plan(_input: PlanInput) -> Result<Plan, PlanError> {
        let health = || Step::get("/health").expect_status(200);
        Ok(Plan::new()
            .scenario(
                Scenario::load("engine.burst.healthy", "GET /health")
                    .describe("40 requests, 8 in flight: all 200, none 5xx")
                    .step(health().burst(40, 8).mix(Status::Code(200), Some(40), None).mix(
                        Status::Class(5),
                        None,
                        Some(0),
                    )),
            )
            .scenario(
                Scenario::load("engine.burst.expects-rate-limit", "GET /health")
                    .describe("expects a rate limit the service does not have: must fail")
                    .step(health().expect_status(429).burst(20, 4).mix(Status::Code(429), Some(1), None)),
            )
            .scenario(
                Scenario::workflow("engine.poll.holds", "GET /health")
                    .describe("a poll whose expectation holds at once")
                    .step(health().expect_eq("/status", "ok").poll(50, 1_000)),
            )
            .scenario(
                Scenario::workflow("engine.poll.never", "GET /health")
                    .describe("a poll whose expectation never holds: must fail at its timeout")
                    .step(health().expect_eq("/status", "degraded").poll(100, 500)),
            ))
    }
}

smoke_plugin::export!(Engine);
