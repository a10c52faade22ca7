"""A Python plugin that misbehaves in `check` on request (config `mode`), to prove the host's
limits hold for a plugin carrying an interpreter: a loop or a growing heap fails that step only."""

from smoke_plugin import Info, Plan, Plugin, Scenario, Step, Verdict, export


class Misbehave(Plugin):
    def info(self):
        return Info("py-misbehave", "0.1.0", "test").config_key("mode", "text", default="behave")

    def plan(self, input):
        judged = Step.get("/health").expect_status(200).check({"mode": input.config.get("mode", "behave")})
        return (Plan()
                .scenario(Scenario.happy_path("py-misbehave.plain", "GET /health")
                          .step(Step.get("/health").expect_status(200)))
                .scenario(Scenario.happy_path("py-misbehave.judged", "GET /health").step(judged)))

    def check(self, input):
        mode = input.argument["mode"]
        if mode == "loop-in-check":
            n = 0
            while True:
                n += 1
        if mode == "grow-in-check":
            hoard = []
            while True:
                hoard.append(bytearray(1 << 20))
        if mode == "raise-in-check":
            return {}["no such key"]
        return Verdict.pass_("behaving")


Guest = export(Misbehave)
