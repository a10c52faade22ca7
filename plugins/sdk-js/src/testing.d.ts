import type { Guest, Json } from './index.js';

export declare const FEATURES: string[];
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
