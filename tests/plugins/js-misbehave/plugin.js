// A JavaScript plugin that misbehaves on request (config `mode`), to prove the host's limits
// hold for a plugin carrying its engine: a loop or a growing heap in `check` fails that step
// only; a throw in `plan` is a plan error.
import { Info, Plan, PlanError, Scenario, Step, Verdict, definePlugin } from 'smoke-plugin';

export const guest = definePlugin({
  info: () => new Info('js-misbehave', '0.1.0', 'test').configKey('mode', 'text', { default: 'behave' }),
  plan(input) {
    const mode = input.config.mode;
    if (mode === 'refuse-plan') throw new PlanError('refusing on request', 'config key mode');
    if (mode === 'throw-in-plan') null.boom();
    return new Plan()
      .scenario(Scenario.happyPath('js-misbehave.plain', 'GET /health').step(Step.get('/health').expectStatus(200)))
      .scenario(Scenario.happyPath('js-misbehave.judged', 'GET /health').step(Step.get('/health').expectStatus(200).check({ mode })));
  },
  check(input) {
    const { mode } = input.argument();
    if (mode === 'loop-in-check') {
      for (;;) {}
    }
    if (mode === 'grow-in-check') {
      const hoard = [];
      for (;;) hoard.push(new Uint8Array(1 << 20).fill(1));
    }
    if (mode === 'throw-in-check') {
      return input.argument().missing.deeper; // throw-in-check: this line
    }
    return Verdict.pass('behaving');
  },
});
