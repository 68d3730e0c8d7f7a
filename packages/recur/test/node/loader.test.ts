import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createRecur, hasSimd, hasWebAssembly, InitError, version, dispose } from '../../dist/entrypoints/node.js';
import { chooseVariant } from '../../dist/loader/wasm.js';

describe('feature detection', () => {
  it('Node 20 validates the SIMD probe, so the simd build is chosen by default', () => {
    expect(hasWebAssembly()).toBe(true);
    expect(hasSimd()).toBe(true);
    expect(chooseVariant(undefined)).toBe('simd');
    expect(chooseVariant(false)).toBe('scalar');
    expect(chooseVariant(true)).toBe('simd');
  });
});

describe.each(['worker', 'inprocess'] as const)('loading the real wasm (%s)', (mode) => {
  it('init() reports the runtime and version() returns the crate version', async () => {
    const recur = createRecur({ mode });
    try {
      const info = await recur.init();
      // A worker runs min(cores, 4) threads on the threads build (threads.test.ts); in-process, one.
      const threads = mode === 'worker' ? Math.min(availableParallelism(), 4) : 1;
      const variant = threads > 1 ? 'threads' : 'simd';
      expect(info).toEqual({ version: __RECUR_CRATE_VERSION__, variant, threads, runtime: 'node', mode });
      expect(await recur.version()).toBe(__RECUR_CRATE_VERSION__);
    } finally {
      await recur.dispose();
    }
  });

  it('wasm.simd = false forces the scalar build', async () => {
    const recur = createRecur({ mode, wasm: { simd: false } });
    try {
      const info = await recur.init();
      expect(info.variant).toBe('scalar');
      expect(await recur.version()).toBe(__RECUR_CRATE_VERSION__);
    } finally {
      await recur.dispose();
    }
  });
});

// In-process, the wasm instance belongs to the realm: a failure is tested in its own file
// (loader-failure.test.ts), which vitest runs in a fresh realm.
describe('init failure (worker)', () => {
  it('a failed init rejects with InitError, and every later call rethrows it', async () => {
    const recur = createRecur({ mode: 'worker', wasm: { wasmPaths: new URL('./no-such-folder/', import.meta.url) } });
    try {
      const first = await recur.init().catch((e: unknown) => e);
      expect(first).toBeInstanceOf(InitError);
      expect((first as InitError).code).toBe('ERR_INIT');
      expect((first as InitError).message).toMatch(/no-such-folder/);
      const second = await recur.version().catch((e: unknown) => e);
      expect(second).toBe(first);
      const third = await recur.init().catch((e: unknown) => e);
      expect(third).toBe(first);
    } finally {
      await recur.dispose();
    }
  });
});

describe('the default runtime', () => {
  it('version() starts a worker lazily and dispose() stops it', async () => {
    expect(await version()).toBe(__RECUR_CRATE_VERSION__);
    await dispose();
    // A new default runtime starts on the next call.
    expect(await version()).toBe(__RECUR_CRATE_VERSION__);
    await dispose();
  });
});
