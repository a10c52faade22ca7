// smoke-plugin: write smoke plugins in JavaScript or TypeScript.
//
// A plugin plans (seed records and scenarios, as data) and judges (a verdict on one exchange,
// where a step asks for it); the smoke host does everything with side effects. Export
// `guest = definePlugin({ info, plan, check })` from the module you build with
// `smoke-plugin-build`. Builders mirror the Rust SDK's; nothing has a default that could make a
// step pass by accident (a step accepting no status is refused by the host, and the default
// `check` fails).

/** The WIT package version this SDK builds plugins for. */
export const WIT_VERSION = '0.2.0';

const decoder = new TextDecoder();

/** Text sent exactly as written even where it contains `{{`. */
export function literal(text) {
  return text.replaceAll('{{', '\\{{');
}

function jsonText(value) {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`not JSON: ${String(value)}`);
  return text;
}

const pair = (name, value) => ({ name: String(name), value: String(value) });

/** Bytes from a string (UTF-8) or from numbers 0 to 255; anything else is a mistake to report,
 * not to send as zeros. */
function toBytes(value) {
  if (typeof value === 'string') return new TextEncoder().encode(value);
  const bytes = Array.from(value ?? [], (b) => {
    if (!Number.isInteger(b) || b < 0 || b > 255) throw new TypeError(`not a byte: ${String(b)}`);
    return b;
  });
  return Uint8Array.from(bytes);
}

// ---------------------------------------------------------------------------------------------
// Logging: through the host inside a component (the build wires it), to stderr natively.

let hostLog = null;

/** @internal Called by the entry `smoke-plugin-build` generates. */
export function __setHostLog(log) {
  hostLog = log;
}

function emit(level, message) {
  if (hostLog) hostLog(level, String(message));
  else console.error(`[${level}] ${message}`);
}

export const log = {
  debug: (m) => emit('debug', m),
  info: (m) => emit('info', m),
  warn: (m) => emit('warn', m),
  error: (m) => emit('error', m),
};

/** Deterministic ids, the Rust SDK's: a plan must not depend on when it is made. */
export const ids = {
  seed: (n) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  missing: (n) => `99999999-9999-4000-8000-${String(n).padStart(12, '0')}`,
};

// ---------------------------------------------------------------------------------------------
// What a plugin is

const CONFIG_KINDS = ['text', 'document', 'secret'];

export class Info {
  constructor(name, version, domain) {
    this.name = name;
    this.version = version;
    this.domain = domain;
    this.description = '';
    this.config = [];
    this.sensitiveFields = [];
    this.sensitiveHeaders = [];
    // The engine comes with the component: its heap grows with what a plugin builds, so
    // JavaScript plugins declare more memory than the host's default of 64 MiB
    // (docs/plugin-guide.md gives the figures). The host caps what is declared.
    this.needs = { memoryMib: 128, callTimeoutMs: undefined };
  }

  describe(description) {
    this.description = description;
    return this;
  }

  /** Declare a config key: kind 'text', 'document' (a path or URL the host reads) or 'secret'. */
  configKey(name, kind, { required = false, default: fallback, description = '' } = {}) {
    if (!CONFIG_KINDS.includes(kind)) throw new TypeError(`config kind ${kind}: use ${CONFIG_KINDS.join(', ')}`);
    this.config.push({ name, description, kind, required, default: fallback });
    return this;
  }

  sensitiveField(name) {
    this.sensitiveFields.push(name);
    return this;
  }

  sensitiveHeader(name) {
    this.sensitiveHeaders.push(name);
    return this;
  }

  /** Declare what one call needs beyond what this SDK declares. */
  needsMemoryMib(mib) {
    this.needs.memoryMib = mib;
    return this;
  }

  needsCallTimeoutMs(ms) {
    this.needs.callTimeoutMs = ms;
    return this;
  }
}

// ---------------------------------------------------------------------------------------------
// Plans

/** A status (`Status.code(404)`) or a class of them (`Status.class(5)`: every 5xx). */
export const Status = {
  code: (value) => ({ tag: 'code', val: value }),
  class: (value) => ({ tag: 'class', val: value }),
};

const METHODS = { GET: 'get', HEAD: 'head', POST: 'post', PUT: 'put', PATCH: 'patch', DELETE: 'delete', OPTIONS: 'options' };

/** One part of a multipart body. */
export const Part = {
  text: (name, value) => ({ name, filename: undefined, contentType: undefined, content: { tag: 'text', val: value } }),
  file: (name, filename, contentType, bytes) => ({
    name,
    filename,
    contentType,
    content: { tag: 'bytes', val: toBytes(bytes) },
  }),
};

/**
 * One HTTP request with what its response must satisfy. Every builder returns a new step and
 * leaves the one it was called on as it was, as the Rust SDK's builders consume theirs: a step
 * kept as a base and extended twice cannot collect both extensions' statuses.
 */
export class Step {
  // Private: `timeoutMs` is the builder's name (plugins/vocabulary.txt).
  #timeoutMs = undefined;

  /** A step sending `method` (its token: 'GET', 'PROPFIND') to `path`. */
  constructor(method, path) {
    const known = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
    this.name = '';
    this.request = {
      method: known ? { tag: known } : { tag: 'other', val: method },
      path,
      query: [],
      headers: [],
      body: undefined,
    };
    this.expect = { status: [], body: [], headers: [], schema: undefined, maxLatencyMs: undefined };
    this.checkArgument = undefined;
    this.captures = [];
    this.mode = { tag: 'once' };
    /** For a tool call: { tool, arguments (JSON text), outcome }. */
    this.toolCall = undefined;
    /** For another MCP request: { method, params (JSON text), outcome }. */
    this.mcpRequest = undefined;
  }

  /** MCP request `method` ('resources/list', 'resources/read', 'prompts/list', 'prompts/get',
   * 'resources/templates/list', 'completion/complete', 'ping') with `params` to the run's MCP
   * server; by default it must get a result, whose JSON the assertions read. */
  static mcpRequest(method, params = {}) {
    const s = new Step('POST', '');
    s.mcpRequest = { method, params: jsonText(params), outcome: 'success' };
    return s;
  }

  /** A step calling tool `tool` of the run's MCP server with `args` (an object; strings that are
   * exactly "{{var}}" take the variable's JSON value). By default the call must succeed; see
   * `expectToolError` and `expectRefused`. */
  static toolCall(tool, args = {}) {
    const s = new Step('POST', '');
    s.toolCall = { tool, arguments: jsonText(args), outcome: 'success' };
    return s;
  }

  static get(path) { return new Step('GET', path); }
  static post(path) { return new Step('POST', path); }
  static put(path) { return new Step('PUT', path); }
  static patch(path) { return new Step('PATCH', path); }
  static delete(path) { return new Step('DELETE', path); }
  static head(path) { return new Step('HEAD', path); }
  static options(path) { return new Step('OPTIONS', path); }
  /** A method beyond the seven, by its token as sent. */
  static method(token, path) { return new Step(token, path); }

  /** A copy whose lists and records can change without touching this step. */
  #copy() {
    const s = new Step('GET', this.request.path); // constructed, so its private methods work
    s.name = this.name;
    s.request = { ...this.request, query: [...this.request.query], headers: [...this.request.headers] };
    s.expect = {
      ...this.expect,
      status: [...this.expect.status],
      body: [...this.expect.body],
      headers: [...this.expect.headers],
    };
    s.checkArgument = this.checkArgument;
    s.captures = [...this.captures];
    s.mode = this.mode.tag === 'burst' ? { tag: 'burst', val: { ...this.mode.val, mix: [...this.mode.val.mix] } } : this.mode;
    s.#timeoutMs = this.#timeoutMs;
    s.toolCall = this.toolCall && { ...this.toolCall };
    s.mcpRequest = this.mcpRequest && { ...this.mcpRequest };
    return s;
  }

  /** A copy changed by `change`. */
  #with(change) {
    const s = this.#copy();
    change(s);
    return s;
  }

  named(name) { return this.#with((s) => { s.name = name; }); }

  /** A JSON body; a string that is exactly "{{var}}" takes the variable's JSON value. */
  json(value) { return this.#with((s) => { s.request.body = { tag: 'json', val: jsonText(value) }; }); }
  text(text) { return this.#with((s) => { s.request.body = { tag: 'text', val: String(text) }; }); }
  /** Form fields, as [[name, value], ...] or an object. */
  form(fields) {
    const entries = Array.isArray(fields) ? fields : Object.entries(fields);
    return this.#with((s) => { s.request.body = { tag: 'form', val: entries.map(([n, v]) => pair(n, v)) }; });
  }
  multipart(parts) { return this.#with((s) => { s.request.body = { tag: 'multipart', val: [...parts] }; }); }
  /** Bytes sent as they are: a string (sent as UTF-8) or numbers 0 to 255. */
  bytes(contentType, bytes) {
    return this.#with((s) => { s.request.body = { tag: 'bytes', val: { contentType, content: toBytes(bytes) } }; });
  }

  header(name, value) { return this.#with((s) => { s.request.headers.push(pair(name, value)); }); }
  bearer(token) { return this.header('authorization', `Bearer ${token}`); }
  query(name, value) { return this.#with((s) => { s.request.query.push(pair(name, value)); }); }

  #accept(status) {
    return this.#with((s) => {
      if (!s.expect.status.some((x) => x.tag === status.tag && x.val === status.val)) s.expect.status.push(status);
    });
  }

  /** Accept these statuses (call again to accept more). */
  expectStatus(...codes) { return codes.reduce((s, c) => s.#accept(Status.code(c)), this.#copy()); }
  /** Accept every status of a class: expectStatusClass(2) is any 2xx. */
  expectStatusClass(digit) { return this.#accept(Status.class(digit)); }
  #assert(pointer, test) { return this.#with((s) => { s.expect.body.push({ pointer, test }); }); }
  expectEq(pointer, value) { return this.#assert(pointer, { tag: 'equals', val: jsonText(value) }); }
  expectExists(pointer) { return this.#assert(pointer, { tag: 'exists' }); }
  expectAbsent(pointer) { return this.#assert(pointer, { tag: 'absent' }); }
  expectLen(pointer, length) { return this.#assert(pointer, { tag: 'length', val: length }); }
  expectHeader(name, value = '') { return this.#with((s) => { s.expect.headers.push(pair(name, value)); }); }
  expectSchema(schema) { return this.#with((s) => { s.expect.schema = jsonText(schema); }); }
  maxLatencyMs(limit) { return this.#with((s) => { s.expect.maxLatencyMs = limit; }); }
  /** Time limit of this step's request, overriding the run's `--request-timeout`. */
  timeoutMs(ms) { return this.#with((s) => { s.#timeoutMs = ms; }); }
  /** Deprecated alias of `timeoutMs`, the name the other SDKs use (plugins/vocabulary.txt); kept
   * so plugins written with it still build. */
  timeout(ms) { return this.timeoutMs(ms); }
  #outcome(outcome) {
    if (this.mcpRequest && outcome === 'refused') return this.#with((s) => { s.mcpRequest.outcome = outcome; });
    if (!this.toolCall) throw new Error(`step ${this.name || this.request.path}: expecting a tool outcome is for tool calls`);
    return this.#with((s) => { s.toolCall.outcome = outcome; });
  }
  /** The tool must report an error (`isError: true`), as a broken business rule should. */
  expectToolError() { return this.#outcome('tool-error'); }
  /** The call must be refused (a JSON-RPC error or `isError: true`): for calls meant to be wrong,
   * which the host then sends unchecked. */
  expectRefused() { return this.#outcome('refused'); }
  /** For a call whose business outcome the plan cannot know: a JSON-RPC error fails it; a result
   * with `isError` is reported as not tested (skipped, with the tool's message). */
  expectAnswer() { return this.#outcome('answered'); }

  /** Ask the plugin's `check` to judge, with this argument (any JSON value), read back with
   * `input.argument()`. */
  check(argument) { return this.#with((s) => { s.checkArgument = jsonText(argument); }); }

  capture(name, pointer) { return this.#with((s) => { s.captures.push({ name, source: { tag: 'body', val: pointer } }); }); }
  captureHeader(name, header) {
    return this.#with((s) => { s.captures.push({ name, source: { tag: 'header', val: header } }); });
  }
  poll(intervalMs, timeoutMs) { return this.#with((s) => { s.mode = { tag: 'poll', val: { intervalMs, timeoutMs } }; }); }
  burst(count, concurrency) { return this.#with((s) => { s.mode = { tag: 'burst', val: { count, concurrency, mix: [] } }; }); }
  mix(status, atLeast, atMost) {
    return this.#with((s) => {
      if (s.mode.tag === 'burst') s.mode.val.mix.push({ status, atLeast, atMost });
    });
  }

  /** @internal The WIT `step`. */
  toWit() {
    return {
      name: this.name,
      action: this.toolCall || this.mcpRequest ? this.#toolCallWit() : { tag: 'http', val: { request: this.request, expect: this.expect } },
      check: this.checkArgument,
      captures: this.captures,
      mode: this.mode,
      timeoutMs: this.#timeoutMs,
    };
  }

  #toolCallWit() {
    const r = this.request;
    const e = this.expect;
    const what = this.toolCall ? `tool ${this.toolCall.tool}` : this.mcpRequest.method;
    if (r.query.length || r.headers.length || r.body || e.status.length || e.headers.length) {
      throw new Error(`step ${this.name || what}: calls ${what} over MCP; headers, query, bodies and statuses are for HTTP steps`);
    }
    if (this.mcpRequest) {
      const { method, params, outcome } = this.mcpRequest;
      return {
        tag: 'mcp-request',
        val: { method, params, expect: { outcome, result: e.body, schema: e.schema, maxLatencyMs: e.maxLatencyMs } },
      };
    }
    const { tool, arguments: args, outcome } = this.toolCall;
    return {
      tag: 'tool-call',
      val: { tool, arguments: args, expect: { outcome, result: e.body, schema: e.schema, maxLatencyMs: e.maxLatencyMs } },
    };
  }
}

const KINDS = ['happy-path', 'not-found', 'validation-error', 'business-rule', 'auth', 'workflow', 'load'];

export class Scenario {
  // Private: `dependsOn` is the builder's name (plugins/vocabulary.txt).
  #dependsOn = [];

  constructor(id, kind, endpoint) {
    if (!KINDS.includes(kind)) throw new TypeError(`scenario kind ${kind}: one of ${KINDS.join(', ')}`);
    Object.assign(this, { id, kind, endpoint, description: '', tags: [], steps: [] });
  }

  static happyPath(id, endpoint) { return new Scenario(id, 'happy-path', endpoint); }
  static notFound(id, endpoint) { return new Scenario(id, 'not-found', endpoint); }
  static validationError(id, endpoint) { return new Scenario(id, 'validation-error', endpoint); }
  static businessRule(id, endpoint) { return new Scenario(id, 'business-rule', endpoint); }
  static auth(id, endpoint) { return new Scenario(id, 'auth', endpoint); }
  static workflow(id, endpoint) { return new Scenario(id, 'workflow', endpoint); }
  static load(id, endpoint) { return new Scenario(id, 'load', endpoint); }

  describe(description) { this.description = description; return this; }
  /** Run after scenario `id` passes; skipped, with the reason, when it fails. */
  dependsOn(id) { this.#dependsOn.push(id); return this; }
  /** Deprecated alias of `dependsOn`, the name the other SDKs use (plugins/vocabulary.txt); kept
   * so plugins written with it still build. */
  dependsOnScenario(id) { return this.dependsOn(id); }
  tag(tag) { this.tags.push(tag); return this; }
  step(step) { this.steps.push(step); return this; }

  /** @internal */
  toWit() {
    const { id, endpoint, kind, description, tags } = this;
    return { id, endpoint, kind, description, dependsOn: this.#dependsOn, tags, steps: this.steps.map((s) => s.toWit()) };
  }
}

/** A record created through the API before any scenario; its captures are global variables. */
export class Seed {
  // Private: `dependsOn` is the builder's name (plugins/vocabulary.txt).
  #dependsOn = [];

  constructor(id, step) {
    Object.assign(this, { id, step, description: '' });
  }

  describe(description) { this.description = description; return this; }
  /** Create this seed after seed `id`. */
  dependsOn(id) { this.#dependsOn.push(id); return this; }
  /** Deprecated alias of `dependsOn`, the name the other SDKs use (plugins/vocabulary.txt); kept
   * so plugins written with it still build. */
  dependsOnSeed(id) { return this.dependsOn(id); }

  /** @internal */
  toWit() {
    return { id: this.id, description: this.description, dependsOn: this.#dependsOn, step: this.step.toWit() };
  }
}

export class Plan {
  // Private: `scenarios` is the builder's name (plugins/vocabulary.txt).
  #scenarios = [];

  constructor() {
    this.seeds = [];
    this.surface = [];
  }

  seed(seed) { this.seeds.push(seed); return this; }
  scenario(scenario) { this.#scenarios.push(scenario); return this; }
  /** Every scenario of an iterable, in its order. */
  scenarios(scenarios) {
    for (const s of scenarios) this.scenario(s);
    return this;
  }
  /** Declare an endpoint of the covered surface (`METHOD /path/{param}`). */
  endpoint(id, hasConstrainedBody = false) {
    this.surface.push({ id, hasPathParams: id.includes('{'), hasConstrainedBody });
    return this;
  }
  /** An endpoint that creates what its path names: no not-found scenario is expected. */
  upsertEndpoint(id, hasConstrainedBody = false) {
    this.surface.push({ id, hasPathParams: false, hasConstrainedBody });
    return this;
  }

  /** @internal */
  toWit() {
    return {
      seeds: this.seeds.map((s) => s.toWit()),
      scenarios: this.#scenarios.map((s) => s.toWit()),
      surface: this.surface,
    };
  }
}

/** Throw from `plan` to refuse planning: `throw new PlanError('no spec', 'config key spec')`. */
export class PlanError extends Error {
  constructor(message, location) {
    super(message);
    this.location = location;
  }
}

export const Verdict = {
  pass: (reason) => ({ pass: true, reason: String(reason) }),
  fail: (reason) => ({ pass: false, reason: String(reason) }),
};

// ---------------------------------------------------------------------------------------------
// Inputs

/** The input to `plan`, read from the WIT record. */
export class PlanInput {
  constructor(wit) {
    this.host = wit.host;
    this.config = Object.fromEntries(wit.config.map((p) => [p.name, p.value]));
    this.documents = wit.documents;
  }

  document(key) { return this.documents.find((d) => d.key === key); }
  hostSupports(feature) { return this.host.features.includes(feature); }
}

/** The input to `check`, read from the WIT record. */
export class CheckInput {
  constructor(wit) {
    this.config = Object.fromEntries(wit.config.map((p) => [p.name, p.value]));
    this.scenarioId = wit.scenarioId;
    this.stepName = wit.stepName;
    this.stepIndex = wit.stepIndex;
    this.argumentText = wit.argument;
    if (wit.exchange.tag === 'tool-call' || wit.exchange.tag === 'mcp-request') {
      const t = wit.exchange.val;
      /** The tool call (or, as `mcpRequest`, the MCP request: its method in `tool`) judged:
       * { tool, arguments, result, error, latencyMs }, JSON parsed. */
      this[wit.exchange.tag === 'tool-call' ? 'toolCall' : 'mcpRequest'] = {
        tool: t.tool,
        arguments: JSON.parse(t.arguments),
        result: t.result === undefined ? undefined : JSON.parse(t.result),
        error: t.error && { ...t.error, data: t.error.data === undefined ? undefined : JSON.parse(t.error.data) },
        latencyMs: t.latencyMs,
      };
    } else {
      const { request, response } = wit.exchange.val;
      this.request = { ...request, method: request.method.tag === 'other' ? request.method.val : request.method.tag.toUpperCase() };
      this.response = response;
    }
    this.variables = Object.fromEntries(wit.variables.map((p) => [p.name, JSON.parse(p.value)]));
  }

  /** The step's check argument: the value given to `Step.check`. */
  argument() { return JSON.parse(this.argumentText); }
  /** The argument as `{ rule: NAME, ... }`: [the rule's name, the whole argument]. Throws a
   * TypeError when it names no rule: the plan and `check` disagree. */
  rule() {
    const argument = this.argument();
    if (typeof argument?.rule !== 'string') throw new TypeError(`check argument names no rule: ${this.argumentText}`);
    return [argument.rule, argument];
  }
  /** A variable visible to the step (`variables` holds them all); undefined when there is none of
   * that name, whatever the name (`constructor` included). */
  variable(name) { return Object.hasOwn(this.variables, name) ? this.variables[name] : undefined; }
  /** The response body parsed as JSON, or undefined when it is not JSON. */
  responseJson() {
    if (!this.response) return undefined;
    try {
      return JSON.parse(decoder.decode(this.response.body));
    } catch {
      return undefined;
    }
  }
  /** A tool call's result JSON: its structuredContent, or the JSON its one text content holds. */
  resultJson() {
    const result = this.toolCall?.result;
    if (!result) return undefined;
    if (Object.hasOwn(result, 'structuredContent')) return result.structuredContent;
    const texts = (result.content ?? []).filter((c) => c.type === 'text').map((c) => c.text);
    if (texts.length !== 1) return undefined;
    try {
      return JSON.parse(texts[0]);
    } catch {
      return undefined;
    }
  }
  /** A response header by case-insensitive name. */
  header(name) {
    return this.response?.headers.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  }
}

/** Whether the engine ran out of memory (the sandbox's limit): not the plugin's to catch, so the
 * host reports the limit. */
function outOfMemory(error) {
  return String(error?.message ?? error).includes('out of memory');
}

// ---------------------------------------------------------------------------------------------
// Faults: an exception in the plugin's own code is a bug in the plugin, never a verdict on the
// service. It is written to stderr as one line the host reads (`smoke-plugin fault: ...`), then
// rethrown, which traps the call: the host reports a plugin fault, not a failure of the API.

/** The prefix of the line the host reads a fault's description from. */
const FAULT = 'smoke-plugin fault: ';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The segments of a source map's `mappings`, per generated line: [column, source, line, column]
 * with every field absolute (the format stores differences). */
function decodeMappings(mappings) {
  const lines = [];
  let source = 0;
  let line = 0;
  let column = 0;
  for (const text of mappings.split(';')) {
    const segments = [];
    let generated = 0;
    for (const segment of text.split(',')) {
      if (!segment) continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = BASE64.indexOf(ch);
        if (digit < 0) return lines;
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      generated += fields[0] ?? 0;
      if (fields.length >= 4) {
        source += fields[1];
        line += fields[2];
        column += fields[3];
        segments.push([generated, source, line, column]);
      }
    }
    lines.push(segments);
  }
  return lines;
}

let decoded = null;
let decodedFrom = null;

/** `plugin.ts:14:20` for a 1-based line and column of the bundle, through the source map the
 * build embeds (`globalThis.__smokeSourceMap`), if there is one and it covers the place. */
function original(line, column) {
  const map = globalThis.__smokeSourceMap;
  if (!map || typeof map.mappings !== 'string') return null;
  if (decodedFrom !== map) {
    decoded = decodeMappings(map.mappings);
    decodedFrom = map;
  }
  const segments = decoded[line - 1] ?? [];
  let best = null;
  for (const s of segments) {
    if (s[0] <= column - 1) best = s;
    else break;
  }
  if (!best) return null;
  return `${map.sources?.[best[1]] ?? '?'}:${best[2] + 1}:${best[3] + 1}`;
}

/** `TypeError: x is undefined (at plugin.ts:12:5)`: an error as one line, where it was thrown
 * (the first frame with a place, mapped back to the source when the build left a map). */
function described(error) {
  if (!(error instanceof Error)) {
    let shown;
    try {
      shown = JSON.stringify(error) ?? String(error);
    } catch {
      shown = String(error);
    }
    return `${error === null ? 'null' : typeof error} thrown, not an Error: ${shown}`;
  }
  const frames = (error.stack ?? '').split('\n');
  let at = '';
  for (const frame of frames) {
    const place = /:(\d+):(\d+)\)?\s*$/.exec(frame);
    if (!place) continue;
    const mapped = original(Number(place[1]), Number(place[2]));
    at = mapped ?? frame.replace(/^\s*(at\s+)?[^@(]*[@(]?/, '').replace(/\)$/, '').split('/').pop();
    break;
  }
  return `${error.name}: ${error.message}${at ? ` (at ${at})` : ''}`;
}

/** Report a fault in `call` and rethrow it, so the call traps. */
function fault(call, error) {
  const line = `threw ${described(error)}`.replaceAll('\n', ' ');
  console.error(`${FAULT}${line}`);
  throw error;
}

/**
 * The `guest` export: `export const guest = definePlugin({ info, plan, check })`. `info` returns
 * an `Info`, `plan(input)` a `Plan`, `check(input)` a `Verdict` (optional: the default fails).
 */
export function definePlugin({ info, plan, check }) {
  if (typeof info !== 'function' || typeof plan !== 'function') {
    throw new TypeError('definePlugin needs info() and plan(input)');
  }
  return {
    info() {
      try {
        return info();
      } catch (e) {
        if (outOfMemory(e)) throw e;
        return fault('info', e);
      }
    },
    plan(input) {
      try {
        const result = plan(new PlanInput(input));
        if (!(result instanceof Plan)) {
          throw new TypeError(`plan returned ${result === undefined ? 'nothing' : String(result)}, not a Plan`);
        }
        return result.toWit();
      } catch (e) {
        if (outOfMemory(e)) throw e;
        if (e instanceof PlanError) throw { message: e.message, location: e.location };
        throw { message: `plan threw ${described(e)}`, location: undefined };
      }
    },
    check(input) {
      const checkInput = new CheckInput(input);
      if (!check) {
        return Verdict.fail(`plugin does not implement check (asked to judge ${checkInput.argumentText} in scenario ${checkInput.scenarioId})`);
      }
      let verdict;
      try {
        verdict = check(checkInput);
      } catch (e) {
        if (outOfMemory(e)) throw e;
        return fault('check', e);
      }
      if (typeof verdict?.pass !== 'boolean') {
        return fault('check', new TypeError(`check returned ${JSON.stringify(verdict)}, not a verdict (Verdict.pass or Verdict.fail)`));
      }
      return { pass: verdict.pass, reason: String(verdict.reason) };
    },
  };
}

