// Helpers for a plugin's own tests, run natively (`node --test`).

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
