// The plugin's own tests, run natively with `node --test` once bundled with esbuild, which strips
// the TypeScript types (the Makefile does both).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertDeterministicPlan, checkInput } from 'smoke-plugin/testing';
import { guest } from './plugin.ts';

const order = { rule: 'order-totals', lines: [{ product: 'a', quantity: 3, unitPrice: 250 }] };
const line = { product_id: 'A', quantity: 3, unit_price: 250, line_total: 750 };

test('the plan is deterministic and tags the faults it catches', () => {
  const plan = assertDeterministicPlan(guest);
  assert.deepEqual(plan.scenarios.flatMap((s) => s.tags).sort(), ['fault:stock-not-decremented', 'fault:total-miscalculated']);
});

test('an order that adds up passes', () => {
  const v = guest.check(checkInput({ argument: order, status: 201, body: { total: 750, lines: [line] }, variables: { a: 'A' } }));
  assert.equal(v.pass, true, v.reason);
});

test('a total that is not the sum of its lines fails, naming both', () => {
  const v = guest.check(checkInput({ argument: order, status: 201, body: { total: 250, lines: [line] }, variables: { a: 'A' } }));
  assert.equal(v.pass, false);
  assert.match(v.reason, /total is 250; its lines sum to 750/);
});

test('stock not taken down fails', () => {
  const rule = { rule: 'stock-after-checkout', before: 7, ordered: 3 };
  assert.equal(guest.check(checkInput({ argument: rule, body: { stock: 4 } })).pass, true);
  assert.equal(guest.check(checkInput({ argument: rule, body: { stock: 7 } })).pass, false);
});

test('a check that throws is a fault of the plugin, not a verdict: the call throws', () => {
  const input = checkInput({ argument: { rule: 'order-totals' }, body: { total: 0, lines: [] } });
  assert.throws(() => guest.check(input), TypeError);
});
