/**
 * Which JavaScript runtime this code runs in.
 * @module
 */

/** The runtimes recur knows. */
export type RuntimeName = 'node' | 'deno' | 'browser' | 'workerd' | 'unknown';

/** Detects the current runtime from its globals. */
export function detectRuntime(): RuntimeName {
  const g = globalThis as Record<string, any>;
  if (typeof g.Deno === 'object' && g.Deno !== null && typeof g.Deno.version === 'object') return 'deno';
  if (typeof g.navigator === 'object' && g.navigator?.userAgent === 'Cloudflare-Workers') return 'workerd';
  if (typeof g.process === 'object' && typeof g.process?.versions?.node === 'string') return 'node';
  if (typeof g.window === 'object' || typeof g.WorkerGlobalScope === 'function') {
    return 'browser';
  }
  return 'unknown';
}
