// The JavaScript SDK's own tests, natively: `node --test test/` in plugins/sdk-js.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CheckInput, Part, Plan, PlanError, Scenario, Seed, Status, Step, Verdict, definePlugin, ids, literal } from '../src/index.js';
import { assertDeterministicPlan, checkInput, emptyInput, host, planInput } from '../src/testing.js';

const statuses = (step) => step.toWit().action.val.expect.status;

test('builders return new steps, so a base step collects nothing', () => {
  const base = Step.get('/x');
  const ok = base.expectStatus(200);
  const missing = base.expectStatus(404);
  assert.deepEqual(statuses(ok), [Status.code(200)]);
  assert.deepEqual(statuses(missing), [Status.code(404)]);
  assert.deepEqual(statuses(base), []);
  const burst = Step.get('/y').burst(3, 1);
  burst.mix(Status.class(5), undefined, 0);
  assert.deepEqual(burst.toWit().mode.val.mix, []);
});

test('bytes come from text as UTF-8 or from numbers 0 to 255, never silently zeroed', () => {
  assert.deepEqual([...Step.put('/b').bytes('x/y', 'hé').toWit().action.val.request.body.val.content], [104, 195, 169]);
  assert.deepEqual([...Part.file('f', 'a.bin', 'x/y', [0, 255]).content.val], [0, 255]);
  assert.throws(() => Step.put('/b').bytes('x/y', [256]), /not a byte: 256/);
  assert.throws(() => Part.file('f', 'a', 'x', [1.5]), /not a byte/);
});

test('methods beyond the seven are sent as their token, whatever it is called', () => {
  assert.deepEqual(Step.method('PROPFIND', '/d').toWit().action.val.request.method, { tag: 'other', val: 'PROPFIND' });
  assert.deepEqual(Step.method('constructor', '/d').toWit().action.val.request.method, { tag: 'other', val: 'constructor' });
  assert.deepEqual(Step.get('/d').toWit().action.val.request.method, { tag: 'get' });
});

test('plan errors, throws and wrong answers are reported, never a pass', () => {
  const refusing = definePlugin({ info: () => null, plan: () => { throw new PlanError('no spec', 'config key spec'); } });
  assert.throws(() => refusing.plan(planInput()), (e) => e.message === 'no spec' && e.location === 'config key spec');
  const forgetful = definePlugin({ info: () => null, plan: () => undefined });
  assert.throws(() => forgetful.plan(planInput()), (e) => /plan returned nothing, not a Plan/.test(e.message));
  const judge = (check) => definePlugin({ info: () => null, plan: () => new Plan(), check }).check(checkInput({ argument: 1 }));
  assert.equal(judge(undefined).pass, false, 'the default check fails');
  // A check that throws, or answers something else than a verdict, is a fault of the plugin: the
  // call traps (the host reports a plugin fault), never a verdict on the service.
  assert.throws(() => judge(() => ({ pass: 'false', reason: 'x' })), /not a verdict/);
  assert.throws(() => judge(() => { throw new TypeError('boom'); }), /boom/);
  assert.equal(judge(() => Verdict.pass('fine')).pass, true);
});

test('plans are deterministic data, and the testing helpers check it', () => {
  const guest = definePlugin({
    info: () => null,
    plan: () => new Plan().scenario(Scenario.happyPath('a', 'GET /a').step(Step.get('/a').expectStatus(200).check({ n: ids.seed(1) }))),
  });
  const plan = assertDeterministicPlan(guest);
  assert.equal(plan.scenarios[0].steps[0].check, '{"n":"00000000-0000-4000-8000-000000000001"}');
  const noStatus = definePlugin({ info: () => null, plan: () => new Plan().scenario(Scenario.happyPath('a', 'GET /a').step(Step.get('/a'))) });
  assert.throws(() => assertDeterministicPlan(noStatus), /accepts no status/);
  assert.equal(literal('{{x}}'), '\\{{x}}');
});

test('a fault is described at its place in the source, through the source map the build embeds', () => {
  // One generated line: column 0 maps to plugin.ts line 3 column 5 (mappings "AAEI": 0,0,+2,+4).
  globalThis.__smokeSourceMap = { version: 3, sources: ['plugin.ts'], mappings: 'AAEI' };
  const error = new TypeError('mine.priorty is undefined');
  error.stack = 'check@plugin.js:1:7\nrun@plugin.js:9:1\n';
  const lines = [];
  const saved = console.error;
  console.error = (line) => lines.push(line);
  try {
    const judge = definePlugin({ info: () => null, plan: () => new Plan(), check: () => { throw error; } });
    assert.throws(() => judge.check(checkInput({ argument: 1 })), /priorty/);
  } finally {
    console.error = saved;
    delete globalThis.__smokeSourceMap;
  }
  assert.deepEqual(lines, ['smoke-plugin fault: threw TypeError: mine.priorty is undefined (at plugin.ts:3:5)']);
});

test('the names plugins/vocabulary.txt gave JavaScript do what the names they replace do', () => {
  const base = Step.get('/x');
  assert.deepEqual(base.timeoutMs(500).toWit(), base.timeout(500).toWit());
  assert.equal(base.timeoutMs(500).toWit().timeoutMs, 500);
  assert.equal(base.toWit().timeoutMs, undefined, 'the base step keeps no limit');
  const scenario = () => Scenario.workflow('b', 'GET /b');
  assert.deepEqual(scenario().dependsOn('a').toWit(), scenario().dependsOnScenario('a').toWit());
  assert.deepEqual(scenario().dependsOn('a').toWit().dependsOn, ['a']);
  const seed = () => new Seed('s2', Step.post('/s'));
  assert.deepEqual(seed().dependsOn('s1').toWit(), seed().dependsOnSeed('s1').toWit());
  assert.deepEqual(seed().dependsOn('s1').toWit().dependsOn, ['s1']);
  const [a, b] = [Scenario.happyPath('a', 'GET /a'), Scenario.notFound('b', 'GET /b')];
  assert.deepEqual(new Plan().scenarios([a, b]).toWit(), new Plan().scenario(a).scenario(b).toWit());
  assert.deepEqual(new Plan().scenarios(new Set([a, b])).toWit().scenarios.map((s) => s.id), ['a', 'b']);
  assert.deepEqual(emptyInput({ k: 'v' }), planInput({ k: 'v' }));
  assert.deepEqual(host(), planInput().host);
});

test('a check input reads one variable, whatever its name, and the rule of its argument', () => {
  const input = new CheckInput(checkInput({ argument: { rule: 'r', n: 1 }, variables: { id: 7, 'config.token': 't' } }));
  assert.equal(input.variable('id'), 7);
  assert.equal(input.variable('config.token'), 't');
  assert.equal(input.variable('constructor'), undefined);
  assert.deepEqual(input.rule(), ['r', { rule: 'r', n: 1 }]);
  assert.throws(() => new CheckInput(checkInput({ argument: { n: 1 } })).rule(), /check argument names no rule: \{"n":1\}/);
  assert.throws(() => new CheckInput(checkInput({ argument: null })).rule(), /names no rule/);
});

test('a recorded check reads back as the WIT input the host handed, with the verdict it got', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const { recorded } = await import('../src/testing.js');
  const dir = mkdtempSync(join(tmpdir(), 'smoke-recorded-'));
  const path = join(dir, 's.step1.json');
  const fixture = {
    format: 'smoke-check/1', plugin: 'p', scenario_id: 's', step_name: 'POST /o', step_index: 0,
    config: { token: '[REDACTED]' }, argument: { rule: 'total', limit: 3 }, variables: { order_id: 7 },
    exchange: {
      kind: 'http',
      request: { method: 'POST', url: 'http://h/o', headers: [['content-type', 'x/y']], body: { text: '{}' } },
      response: { status: 201, headers: [], body: { base64: 'eyJ0b3RhbCI6IDd9' }, latency_ms: 4 },
    },
    verdict: { pass: false, reason: 'total 7 over 3' },
  };
  try {
    writeFileSync(path, JSON.stringify(fixture));
    const { input, verdict } = recorded(path);
    const seen = [];
    const guest = definePlugin({
      info: () => null,
      plan: () => new Plan(),
      check: (i) => {
        seen.push([i.argument(), i.response.status, i.responseJson(), i.variables.order_id, i.request.method]);
        return Verdict.fail('total 7 over 3');
      },
    });
    assert.deepEqual(guest.check(input), verdict);
    assert.deepEqual(seen, [[{ rule: 'total', limit: 3 }, 201, { total: 7 }, 7, 'POST']]);
    writeFileSync(path, JSON.stringify({ ...fixture, format: 'other/9' }));
    assert.throws(() => recorded(path), /not a recorded check/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
