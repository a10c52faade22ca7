//! A plugin that misbehaves on request, to prove the sandbox contains it.
//!
//! Config `mode`: `loop-in-check` spins forever in `check`; `grow-in-check` allocates without
//! bound in `check`; `huge-verdict` fails with a 48 MB reason; `trap-in-plan` panics in `plan`; `none` behaves. Its plan has one scenario
//! that asks for `check` and one that does not, so a test can see the run go on.

use smoke_plugin::{
    CheckInput, ConfigKind, Info, Plan, PlanError, PlanInput, Plugin, Scenario, Step, Verdict,
};

struct Misbehave;

impl Plugin for Misbehave {
    fn info() -> Info {
        Info::new("misbehave", "0.1.0", "testing")
            .describe("misbehaves on request to exercise smoke's sandbox")
            .config_key(
                "mode",
                ConfigKind::Text,
                false,
                Some("none"),
                "loop-in-check, grow-in-check, huge-verdict, trap-in-plan or none",
            )
    }

    fn plan(input: PlanInput) -> Result<Plan, PlanError> {
        let mode = input.config("mode").unwrap_or("none").to_string();
        if mode == "trap-in-plan" {
            panic!("misbehave: deliberate panic in plan");
        }
        Ok(Plan::new()
            .scenario(
                Scenario::happy_path("misbehave.judged", "GET /health")
                    .describe("asks the plugin to judge the response")
                    .step(Step::get("/health").expect_status(200).check(mode)),
            )
            .scenario(
                Scenario::happy_path("misbehave.plain", "GET /health")
                    .describe("needs no judgement, so it passes whatever the plugin does")
                    .step(Step::get("/health").expect_status(200).expect_eq("/status", "ok")),
            ))
    }

    fn check(input: CheckInput) -> Verdict {
        let mode: String = match input.argument() {
            Ok(mode) => mode,
            Err(verdict) => return verdict,
        };
        match mode.as_str() {
            "loop-in-check" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "grow-in-check" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            // A 48 MB reason: smoke keeps it once, clipped.
            "huge-verdict" => Verdict::fail("x".repeat(48 << 20)),
            _ => Verdict::pass("behaving"),
        }
    }
}

smoke_plugin::export!(Misbehave);
