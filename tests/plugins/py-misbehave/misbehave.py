"""A Python plugin that misbehaves in `check` on request (config `mode`), to prove the host's
limits hold for a plugin carrying an interpreter: a loop or a growing heap fails that step only;
an exception is a fault of the plugin; the check argument arrives with its templates resolved."""

from smoke_plugin import Info, Plan, Plugin, Scenario, Step, Verdict, export


class Misbehave(Plugin):
    def info(self):
        return Info("py-misbehave", "0.1.0", "test").config_key("mode", "text", default="behave")

    def plan(self, input):
        mode = input.config.get("mode", "behave")
        judged = Step.get("/health").expect_status(200).capture("status", "/status").check(
            {"mode": mode, "seen": "{{status}}"})
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
            return {}["no such key"]  # raise-in-check: this line
        if mode == "echo-argument":
            return Verdict.fail(f"argument {input.argument_text}")
        return Verdict.pass_("behaving")


Guest = export(Misbehave)
