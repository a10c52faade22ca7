// Helpers for a plugin's own tests, run natively (`node --test`).

import { readFileSync } from 'node:fs';
import { WIT_VERSION } from './index.js';

export const FEATURES = ['method.other', 'body.form', 'body.multipart', 'body.bytes', 'status.class', 'mode.poll', 'mode.burst', 'needs'];

/** The host as a test sees it: this SDK's contract and every optional feature of it. */
export function host() {
  return { version: 'test', contract: WIT_VERSION, features: [...FEATURES] };
}

/** The WIT `plan-input` a host would pass: `host()`, with this config and these documents. */
export function emptyInput(config = {}, documents = []) {
  return {
    host: host(),
    config: Object.entries(config).map(([name, value]) => ({ name, value: String(value) })),
    documents,
  };
}

/** Deprecated alias of `emptyInput`, the name the other SDKs use (plugins/vocabulary.txt); kept so
 * tests written with it still run. */
export function planInput(config = {}, documents = []) {
  return emptyInput(config, documents);
}

/** Plan twice through the export and check what the host requires: the same plan both times,
 * no scenario id twice, every step accepting some status. Returns the plan (WIT shape). */
export function assertDeterministicPlan(guest, input = emptyInput()) {
  const a = guest.plan(input);
  const b = guest.plan(input);
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('two plans from the same input differ');
  const seen = new Set();
  for (const s of a.scenarios) {
    if (seen.has(s.id)) throw new Error(`scenario id ${s.id} is used twice`);
    seen.add(s.id);
    for (const step of s.steps) {
      if (step.action.val.expect.status.length === 0) throw new Error(`scenario ${s.id}: a step accepts no status`);
    }
  }
  return a;
}

/** A WIT `check-input` for an HTTP exchange, for testing `check`. */
export function checkInput({ argument, status = 200, body = '', requestBody = '', variables = {}, config = {} }) {
  const bytes = (text) => (typeof text === 'string' ? new TextEncoder().encode(text) : Uint8Array.from(text));
  return {
    config: Object.entries(config).map(([name, value]) => ({ name, value })),
    scenarioId: 'test',
    stepName: 'test',
    stepIndex: 0,
    argument: JSON.stringify(argument),
    exchange: {
      tag: 'http',
      val: {
        request: { method: { tag: 'get' }, url: 'http://127.0.0.1/test', headers: [], body: bytes(requestBody) },
        response: { status, headers: [], body: bytes(typeof body === 'string' ? body : JSON.stringify(body)), latencyMs: 1 },
      },
    },
    variables: Object.entries(variables).map(([name, value]) => ({ name, value: JSON.stringify(value) })),
  };
}

export const FIXTURE_FORMAT = 'smoke-check/1';

/** A check input smoke recorded (`smoke dev --record DIR`, `smoke run --record-checks DIR`), as
 * the WIT `check-input` the export takes, and the verdict the plugin gave it then: test `check` on
 * a real exchange without the service, e.g.
 * `const { input, verdict } = recorded('fixtures/orders.create.step2.json');
 *  assert.deepEqual(guest.check(input), verdict);` */
export function recorded(path) {
  const fixture = JSON.parse(readFileSync(path, 'utf8'));
  if (fixture.format !== FIXTURE_FORMAT) {
    throw new Error(`${path}: not a recorded check (${FIXTURE_FORMAT}); it says ${JSON.stringify(fixture.format)}`);
  }
  const body = (b) => (b.base64 !== undefined ? Uint8Array.from(Buffer.from(b.base64, 'base64')) : new TextEncoder().encode(b.text ?? ''));
  const pairs = (list) => list.map(([name, value]) => ({ name, value }));
  const method = (m) => (['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].includes(m) ? { tag: m.toLowerCase() } : { tag: 'other', val: m });
  const x = fixture.exchange;
  let exchange;
  if (x.kind === 'http') {
    const { request: r, response: s } = x;
    exchange = {
      tag: 'http',
      val: {
        request: { method: method(r.method), url: r.url, headers: pairs(r.headers), body: body(r.body) },
        response: { status: s.status, headers: pairs(s.headers), body: body(s.body), latencyMs: s.latency_ms },
      },
    };
  } else {
    const text = (v) => (v === null || v === undefined ? undefined : JSON.stringify(v));
    exchange = {
      tag: x.kind,
      val: {
        tool: x.tool,
        arguments: JSON.stringify(x.arguments),
        result: text(x.result),
        error: x.error ? { code: x.error.code, message: x.error.message, data: text(x.error.data) } : undefined,
        latencyMs: x.latency_ms,
      },
    };
  }
  const input = {
    config: Object.entries(fixture.config).map(([name, value]) => ({ name, value })),
    scenarioId: fixture.scenario_id,
    stepName: fixture.step_name,
    stepIndex: fixture.step_index,
    argument: JSON.stringify(fixture.argument),
    exchange,
    variables: Object.entries(fixture.variables).map(([name, value]) => ({ name, value: JSON.stringify(value) })),
  };
  return { input, verdict: { pass: Boolean(fixture.verdict.pass), reason: String(fixture.verdict.reason) } };
}
