// The JavaScript SDK's own tests, natively: `node --test test/` in plugins/sdk-js.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Part, Plan, PlanError, Scenario, Status, Step, Verdict, definePlugin, ids, literal } from '../src/index.js';
import { assertDeterministicPlan, checkInput, planInput } from '../src/testing.js';

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
  assert.equal(judge(() => ({ pass: 'false', reason: 'x' })).pass, false, 'a truthy non-boolean is not a pass');
  assert.match(judge(() => { throw new TypeError('boom'); }).reason, /check threw TypeError: boom/);
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
