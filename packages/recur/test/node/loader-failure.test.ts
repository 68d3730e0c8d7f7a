import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createRecur, InitError } from '../../dist/entrypoints/node.js';
import { loadState } from '../../dist/loader/wasm.js';

// Runs in its own realm (vitest isolates test files): no wasm is loaded here before this test.
describe('init failure (inprocess)', () => {
  it('rejects with InitError, rethrows it on later calls, and a new runtime may load afterwards', async () => {
    const broken = createRecur({ mode: 'inprocess', wasm: { wasmPaths: new URL('./no-such-folder/', import.meta.url) } });
    const first = await broken.init().catch((e: unknown) => e);
    expect(first).toBeInstanceOf(InitError);
    expect((first as InitError).code).toBe('ERR_INIT');
    expect((first as InitError).message).toMatch(/no-such-folder/);
    expect(loadState('simd')).toBe('failed');
    expect(await broken.version().catch((e: unknown) => e)).toBe(first);
    expect(await broken.init().catch((e: unknown) => e)).toBe(first);

    const fixed = createRecur({ mode: 'inprocess' });
    expect(await fixed.version()).toBe(__RECUR_CRATE_VERSION__);
    expect(loadState('simd')).toBe('ready');
    // The broken runtime keeps its failure: it does not silently start working.
    expect(await broken.version().catch((e: unknown) => e)).toBe(first);
  });

  it('a load that hangs ends with an InitError after initTimeout', async () => {
    // A loopback server that accepts the request and never answers.
    const server = createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const slow = createRecur({ mode: 'inprocess', wasm: { simd: false, initTimeout: 300, wasmPaths: `http://127.0.0.1:${port}/wasm/` } });
      const started = Date.now();
      const err = await slow.init().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InitError);
      expect((err as InitError).message).toMatch(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
