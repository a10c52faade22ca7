// Types of smoke-plugin (contract smoke:plugin@0.2.0), for TypeScript authors and editors.

export declare const WIT_VERSION: '0.2.0';

export declare function literal(text: string): string;

export declare const log: {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
};

export declare const ids: { seed(n: number): string; missing(n: number): string };

export type ConfigKind = 'text' | 'document' | 'secret';

export declare class Info {
  constructor(name: string, version: string, domain: string);
  describe(description: string): this;
  configKey(name: string, kind: ConfigKind, options?: { required?: boolean; default?: string; description?: string }): this;
  sensitiveField(name: string): this;
  sensitiveHeader(name: string): this;
  needsMemoryMib(mib: number): this;
  needsCallTimeoutMs(ms: number): this;
}

export type StatusMatch = { tag: 'code'; val: number } | { tag: 'class'; val: number };
export declare const Status: { code(value: number): StatusMatch; class(value: number): StatusMatch };

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  content: { tag: 'text'; val: string } | { tag: 'bytes'; val: Uint8Array };
}
export declare const Part: {
  text(name: string, value: string): MultipartPart;
  file(name: string, filename: string, contentType: string, bytes: ArrayLike<number>): MultipartPart;
};

/** Any value JSON can hold. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export declare class Step {
  constructor(method: string, path: string);
  static get(path: string): Step;
  static post(path: string): Step;
  static put(path: string): Step;
  static patch(path: string): Step;
  static delete(path: string): Step;
  static head(path: string): Step;
  static options(path: string): Step;
  static method(token: string, path: string): Step;
  /** A call of tool `tool` of the run's MCP server with `args`; by default it must succeed. */
  static toolCall(tool: string, args?: Record<string, unknown>): Step;
  /** MCP request `method` ('resources/list', 'prompts/get'...) with `params`; by default it must get a result. */
  static mcpRequest(method: string, params?: Record<string, unknown>): Step;
  /** The tool must report an error (`isError: true`). */
  expectToolError(): this;
  /** The call must be refused (a JSON-RPC error or `isError: true`); sent unchecked. */
  expectRefused(): this;
  /** A JSON-RPC error fails it; a result with isError is reported as not tested (skipped). */
  expectAnswer(): this;
  named(name: string): this;
  json(value: unknown): this;
  text(text: string): this;
  form(fields: [string, string][] | Record<string, string>): this;
  multipart(parts: MultipartPart[]): this;
  bytes(contentType: string, bytes: ArrayLike<number>): this;
  header(name: string, value: string): this;
  bearer(token: string): this;
  query(name: string, value: string): this;
  expectStatus(...codes: number[]): this;
  expectStatusClass(digit: number): this;
  expectEq(pointer: string, value: unknown): this;
  expectExists(pointer: string): this;
  expectAbsent(pointer: string): this;
  expectLen(pointer: string, length: number): this;
  expectHeader(name: string, value?: string): this;
  expectSchema(schema: unknown): this;
  maxLatencyMs(limit: number): this;
  /** Time limit of this step's request, overriding the run's `--request-timeout`. */
  timeoutMs(ms: number): this;
  /** @deprecated Use `timeoutMs`, the name all three SDKs share (plugins/vocabulary.txt); this alias keeps working. */
  timeout(ms: number): this;
  /** Ask `check` to judge, with this argument (serialized to JSON), read back with `input.argument<T>()`. */
  check<T>(argument: T): this;
  capture(name: string, pointer: string): this;
  captureHeader(name: string, header: string): this;
  poll(intervalMs: number, timeoutMs: number): this;
  burst(count: number, concurrency: number): this;
  mix(status: StatusMatch, atLeast?: number, atMost?: number): this;
}

export type ScenarioKind = 'happy-path' | 'not-found' | 'validation-error' | 'business-rule' | 'auth' | 'workflow' | 'load';

export declare class Scenario {
  constructor(id: string, kind: ScenarioKind, endpoint: string);
  static happyPath(id: string, endpoint: string): Scenario;
  static notFound(id: string, endpoint: string): Scenario;
  static validationError(id: string, endpoint: string): Scenario;
  static businessRule(id: string, endpoint: string): Scenario;
  static auth(id: string, endpoint: string): Scenario;
  static workflow(id: string, endpoint: string): Scenario;
  static load(id: string, endpoint: string): Scenario;
  describe(description: string): this;
  dependsOn(id: string): this;
  /** @deprecated Use `dependsOn`, the name all three SDKs share (plugins/vocabulary.txt); this alias keeps working. */
  dependsOnScenario(id: string): this;
  tag(tag: string): this;
  step(step: Step): this;
}

export declare class Seed {
  constructor(id: string, step: Step);
  describe(description: string): this;
  dependsOn(id: string): this;
  /** @deprecated Use `dependsOn`, the name all three SDKs share (plugins/vocabulary.txt); this alias keeps working. */
  dependsOnSeed(id: string): this;
}

export declare class Plan {
  seed(seed: Seed): this;
  scenario(scenario: Scenario): this;
  scenarios(scenarios: Iterable<Scenario>): this;
  endpoint(id: string, hasConstrainedBody?: boolean): this;
  upsertEndpoint(id: string, hasConstrainedBody?: boolean): this;
}

export declare class PlanError extends Error {
  constructor(message: string, location?: string);
  location?: string;
}

export interface VerdictValue {
  pass: boolean;
  reason: string;
}
export declare const Verdict: { pass(reason: string): VerdictValue; fail(reason: string): VerdictValue };

export interface Document {
  key: string;
  source: string;
  content: Uint8Array;
}

export declare class PlanInput {
  host: { version: string; contract: string; features: string[] };
  config: Record<string, string>;
  documents: Document[];
  document(key: string): Document | undefined;
  hostSupports(feature: string): boolean;
}

export interface Header {
  name: string;
  value: string;
}

export declare class CheckInput {
  config: Record<string, string>;
  scenarioId: string;
  stepName: string;
  stepIndex: number;
  argumentText: string;
  /** The HTTP request as sent (undefined for a tool call). */
  request?: { method: string; url: string; headers: Header[]; body: Uint8Array };
  /** The HTTP response (undefined for a tool call). */
  response?: { status: number; headers: Header[]; body: Uint8Array; latencyMs: number };
  /** The tool call (undefined for an HTTP step): the result or the JSON-RPC error. */
  toolCall?: {
    tool: string;
    arguments: Json;
    result?: { content?: Json[]; structuredContent?: Json; isError?: boolean; [key: string]: Json | undefined };
    error?: { code: bigint; message: string; data?: Json };
    latencyMs: number;
  };
  /** The MCP request (its method in `tool`, its params in `arguments`), for an MCP-request step. */
  mcpRequest?: CheckInput['toolCall'];
  /** Every variable visible to the step, as JSON: the captures of earlier steps, of the scenarios
   * it depends on and of the seeds, `config.KEY` and `smoke.run`. The argument's own `{{name}}`
   * templates are already resolved from these when `check` sees it. */
  variables: Record<string, Json>;
  /** The step's check argument, as the type the step gave it. */
  argument<T = Json>(): T;
  /** The argument as `{ rule: NAME, ... }`: the rule's name and the whole argument; throws when it names no rule. */
  rule<T = Json>(): [string, T];
  /** A variable visible to the step (`variables` holds them all), or undefined. */
  variable<T = Json>(name: string): T | undefined;
  responseJson<T = Json>(): T | undefined;
  /** A tool call's result JSON: its structuredContent, or the JSON its one text content holds. */
  resultJson<T = Json>(): T | undefined;
  header(name: string): string | undefined;
}

export interface PluginDefinition {
  info(): Info;
  plan(input: PlanInput): Plan;
  check?(input: CheckInput): VerdictValue;
}

/** The WIT `guest` export; opaque to plugin code. */
export interface Guest {
  info(): unknown;
  plan(input: unknown): unknown;
  check(input: unknown): unknown;
}

export declare function definePlugin(plugin: PluginDefinition): Guest;
