import type { Guest, Json } from './index.js';

export declare const FEATURES: string[];
export declare function host(): { version: string; contract: string; features: string[] };
export declare function emptyInput(config?: Record<string, string>, documents?: unknown[]): unknown;
/** @deprecated Use `emptyInput`, the name all three SDKs share (plugins/vocabulary.txt); this alias keeps working. */
export declare function planInput(config?: Record<string, string>, documents?: unknown[]): unknown;
export declare function assertDeterministicPlan(guest: Guest, input?: unknown): any;
export declare function checkInput(options: {
  argument: Json;
  status?: number;
  body?: string | Json;
  requestBody?: string;
  variables?: Record<string, Json>;
  config?: Record<string, string>;
}): unknown;
export declare const FIXTURE_FORMAT: string;
/** A check input smoke recorded (`smoke dev --record DIR`), and the verdict the plugin gave it. */
export declare function recorded(path: string): { input: unknown; verdict: { pass: boolean; reason: string } };
