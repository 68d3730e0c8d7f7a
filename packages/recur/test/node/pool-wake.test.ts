// Waking the worker's compute threads from the calling thread (src/worker/pool-wake.ts): the
// words' protocol on a plain SharedArrayBuffer, and the threads build's service handing out words
// that lie in its shared memory, which a helper sleeping on them answers.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { poolWaker, type PoolWakeWords } from '../../src/worker/pool-wake.js';
import { createNodeWorkerEndpoint } from '../../dist/worker/endpoint-node.js';

function words(memory: SharedArrayBuffer, primed = 3, sleepers = 8, wake = 12): PoolWakeWords {
  return { memory, primed, sleepers, wake };
}

describe('poolWaker', () => {
  it('primes, and bumps and notifies the wake word only when helpers sleep', () => {
    const memory = new SharedArrayBuffer(64);
    const i32 = new Int32Array(memory);
    const ring = poolWaker(words(memory))!;
    ring();
    expect(new Uint8Array(memory)[3]).toBe(1);
    expect(i32[3]).toBe(0); // nobody asleep: the wake word is left alone
    i32[2] = 1; // one sleeper
    ring();
    ring();
    expect(i32[3]).toBe(2);
  });

  it('wakes a thread waiting on the wake word', async () => {
    const memory = new SharedArrayBuffer(64);
    const i32 = new Int32Array(memory);
    // A thread that does what a sleeping helper does: count itself in `sleepers`, wait on `wake`.
    const sleeper = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const i32 = new Int32Array(workerData);
       Atomics.add(i32, 2, 1);
       parentPort.postMessage('asleep');
       const r = Atomics.wait(i32, 3, 0, 10000);
       parentPort.postMessage(r);`,
      { eval: true, workerData: memory },
    );
    const messages: unknown[] = [];
    const done = new Promise<void>((resolve) => sleeper.on('message', (m) => (messages.push(m), m !== 'asleep' && resolve())));
    while (Atomics.load(i32, 2) === 0) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, 20)); // let it reach Atomics.wait
    poolWaker(words(memory))!();
    await done;
    await sleeper.terminate();
    // 'ok' (woken by notify) or 'not-equal' (the bump came before its wait): never a timeout.
    expect(['ok', 'not-equal']).toContain(messages[1]);
  });

  it('refuses words outside the buffer or misaligned', () => {
    const memory = new SharedArrayBuffer(16);
    expect(poolWaker(words(memory, 3, 8, 16))).toBeUndefined();
    expect(poolWaker(words(memory, 3, 6, 12))).toBeUndefined();
    expect(poolWaker(words(memory, -1, 8, 12))).toBeUndefined();
    expect(poolWaker({ memory: new ArrayBuffer(16) as unknown as SharedArrayBuffer, primed: 0, sleepers: 4, wake: 8 })).toBeUndefined();
  });
});

describe('the threads build across a worker', () => {
  it("hands out the pool's own wake words in its shared memory", async () => {
    const endpoint = createNodeWorkerEndpoint();
    try {
      const reply = await endpoint.service.init({ variant: 'threads', numThreads: 2 });
      expect(reply.threads).toBe(2);
      const wake = reply.poolWake!;
      expect(wake.memory).toBeInstanceOf(SharedArrayBuffer);
      const ring = poolWaker(wake);
      expect(ring).toBeTypeOf('function');
      // The idle helper goes to sleep on the pool's wake word, counted in its sleepers word...
      const i32 = new Int32Array(wake.memory);
      const deadline = Date.now() + 5000;
      while (Atomics.load(i32, wake.sleepers / 4) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      expect(Atomics.load(i32, wake.sleepers / 4)).toBe(1);
      // ...and a ring from this thread bumps that word and wakes it.
      const bytes = new Uint8Array(wake.memory);
      const before = Atomics.load(i32, wake.wake / 4);
      ring!();
      expect(Atomics.load(i32, wake.wake / 4)).toBe(before + 1);
      // The ring stored 1 at `primed` (the unit tests above); only a helper that goes to sleep
      // clears that byte, so seeing it cleared means the byte is the pool's and the sleeping
      // helper woke (and, finding no work, slept again). Not checked right after the ring: under
      // load this thread may lose its core for longer than the helper's spin.
      const woke = Date.now() + 5000;
      while (Atomics.load(bytes, wake.primed) !== 0 && Date.now() < woke) await new Promise((r) => setTimeout(r, 2));
      expect(Atomics.load(bytes, wake.primed)).toBe(0);
      // The service keeps working.
      const { id } = await endpoint.service.modelCreate(
        JSON.stringify({ input_size: 2, layers: [{ type: 'lstm', hidden_size: 8, return_sequences: false }], seed: 1 }),
      );
      expect(id).toBeTypeOf('number');
    } finally {
      await endpoint.terminate();
    }
  });

  it('hands out no wake words with one thread', async () => {
    const endpoint = createNodeWorkerEndpoint();
    try {
      const reply = await endpoint.service.init({ variant: 'simd' });
      expect(reply.poolWake).toBeUndefined();
    } finally {
      await endpoint.terminate();
    }
  });
});
