// The lean channel beside comlink (worker/rpc.ts): one message each way per call, marked buffers
// transferred, errors rebuilt with their class and code; and, through the SDK, the caller's arrays
// are never detached by the calls that copy them.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createRecur, InternalError, ShapeError, type ModelConfig } from '../../dist/entrypoints/node.js';
import { markLend, markTransfer, RpcClient, RPC_METHODS, serveRpc } from '../../dist/worker/rpc.js';
import { recycle, scratchBuffer } from '../../dist/scratch.js';
import type { ServiceApi } from '../../dist/worker/protocol.js';

function rpcPort(port: MessagePort) {
  return { postMessage: (m: unknown, t: Transferable[]) => port.postMessage(m, t as never), listen: (h: (d: unknown) => void) => port.on('message', h) };
}

/** A client and a fake service on the two ends of a MessageChannel. */
function pair(service: Partial<Record<(typeof RPC_METHODS)[number], (...a: any[]) => unknown>>) {
  const { port1, port2 } = new MessageChannel();
  serveRpc(rpcPort(port2), service as unknown as ServiceApi);
  const client = new RpcClient(rpcPort(port1));
  return { client, close: () => (port1.close(), port2.close()) };
}

describe('lean channel', () => {
  it('carries arguments and results; marked buffers are transferred both ways', async () => {
    const { client, close } = pair({
      echo: async (data: Float32Array) => markTransfer(data, [data.buffer]),
      version: () => 'v1',
    });
    try {
      const data = Float32Array.of(1, 2, 3);
      const back = (await client.call('echo', [markTransfer(data, [data.buffer])])) as Float32Array;
      expect(Array.from(back)).toEqual([1, 2, 3]);
      expect(data.buffer.byteLength).toBe(0); // transferred, not copied
      const kept = Float32Array.of(4, 5);
      expect(Array.from((await client.call('echo', [kept])) as Float32Array)).toEqual([4, 5]);
      expect(kept.buffer.byteLength).toBe(8); // not marked: cloned
      expect(await client.call('version', [])).toBe('v1'); // a synchronous method works too
    } finally {
      close();
    }
  });

  it('lent buffers come back after the call, also after an error, to the scratch pool', async () => {
    const { client, close } = pair({
      echo: async (data: Float32Array) => data[0],
      raise: async () => {
        throw new ShapeError('bad shape');
      },
      version: async (data: Float32Array) => markTransfer(data, [data.buffer]),
    });
    // a size no other test uses: the pool holds only what this test lends
    const lendOf = (v: number) => {
      const a = new Float32Array(scratchBuffer(4 * 1013)).fill(v);
      return { a, args: [markLend(a, [a.buffer as ArrayBuffer])] };
    };
    try {
      const first = lendOf(7);
      expect(await client.call('echo', first.args)).toBe(7);
      expect(first.a.buffer.byteLength).toBe(0); // transferred
      const back = new Float32Array(scratchBuffer(4 * 1013));
      expect(back[1012]).toBe(7); // the lent buffer, returned (a new one would hold zeros)
      recycle(back.buffer);
      const failed = lendOf(8);
      await expect(client.call('raise', failed.args)).rejects.toBeInstanceOf(ShapeError);
      expect(new Float32Array(scratchBuffer(4 * 1013))[0]).toBe(8);
      // a lent buffer the service passes on (here: as its result) is the caller's result, not returned
      const passed = lendOf(9);
      const result = (await client.call('version', passed.args)) as Float32Array;
      expect(result[3]).toBe(9);
      expect(new Float32Array(scratchBuffer(4 * 1013))[0]).toBe(0); // a new buffer
    } finally {
      close();
    }
  });

  it('a thrown error, an unknown method and an uncloneable result reject with a RecurError', async () => {
    const { client, close } = pair({
      raise: async () => {
        throw new ShapeError('bad shape', { details: { axis: 2 } });
      },
      version: async () => () => 'a function cannot be cloned',
    });
    try {
      const e = await client.call('raise', []).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ShapeError);
      expect((e as ShapeError).code).toBe('ERR_SHAPE');
      expect((e as ShapeError).details).toEqual({ axis: 2 });
      expect(await client.call('constructor', []).catch((x: unknown) => x)).toBeInstanceOf(InternalError);
      expect(await client.call('version', []).catch((x: unknown) => x)).toBeInstanceOf(InternalError);
    } finally {
      close();
    }
  });
});

const CONFIG: ModelConfig = { inputSize: 2, layers: [{ type: 'lstm', hiddenSize: 4, returnSequences: true }, { type: 'dense', units: 1 }], seed: 3 };

describe.each(['worker', 'inprocess'] as const)('the caller keeps its arrays (%s)', (mode) => {
  it('predict, fit, evaluate, forward, backward and setParam copy their inputs: nothing is detached or changed', async () => {
    const recur = createRecur({ mode });
    try {
      const model = await recur.createModel(CONFIG);
      const x = { data: Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => Math.sin(i)), shape: [4, 3, 2] };
      const y = { data: Float32Array.from({ length: 4 * 3 }, (_, i) => Math.cos(i)), shape: [4, 3, 1] };
      const xCopy = x.data.slice();
      const yCopy = y.data.slice();
      const out = await model.predict(x, { batchSize: 4 });
      const outCopy = out.data.slice();
      await model.predict(x, { batchSize: 3 });
      await model.fit(x, y, { epochs: 2, batchSize: 4, shuffle: false });
      await model.fit(x, y, { epochs: 1, batchSize: 2 });
      await model.evaluate(x, y);
      const f = await model.forward({ x, training: true });
      await model.backward({ dOutput: f.output });
      const name = model.parameters()[0]!.name;
      const w = (await model.getParam(name)).data;
      const wCopy = w.slice();
      await model.setParam(name, w);
      // (the later calls reused the buffers lent to the first: its result is still its own)
      for (const [a, b] of [[x.data, xCopy], [y.data, yCopy], [w, wCopy], [f.output.data, f.output.data.slice()], [out.data, outCopy]] as const) {
        expect(a.buffer.byteLength).toBe(b.byteLength);
        expect(a).toEqual(b);
      }
      expect(out.shape).toEqual([4, 3, 1]);
      // results are new arrays the caller owns
      expect(out.data.buffer.byteLength).toBe(4 * 3 * 4);
    } finally {
      await recur.dispose();
    }
  });

  it('disposing a runtime drops the input buffers kept for the next call', async () => {
    const recur = createRecur({ mode });
    const model = await recur.createModel(CONFIG);
    // a size no other test uses: [7, 3, 2]
    await model.predict({ data: new Float32Array(7 * 3 * 2).fill(0.25), shape: [7, 3, 2] });
    const kept = new Float32Array(scratchBuffer(7 * 3 * 2 * 4));
    expect(kept[0]).toBe(0.25); // lent, and handed back once the call has settled
    recycle(kept.buffer);
    await recur.dispose();
    expect(new Float32Array(scratchBuffer(7 * 3 * 2 * 4))[0]).toBe(0);
  });

  it('inputs converted into reused buffers carry nothing over from an earlier call', async () => {
    const recur = createRecur({ mode });
    try {
      const model = await recur.createModel(CONFIG);
      const data = (k: number) => ({ data: Float32Array.from({ length: 4 * 3 * 2 }, (_, i) => Math.sin(i * k)), shape: [4, 3, 2] });
      const timeMajor = (k: number) => ({ ...data(k), shape: [3, 4, 2] });
      const first = await model.predict(data(1));
      const firstTm = await model.predict(timeMajor(1), { layout: 'time-major' });
      for (let k = 2; k < 5; k++) {
        await model.predict(data(k));
        await model.predict(timeMajor(k), { layout: 'time-major' });
      }
      expect(await model.predict(data(1))).toEqual(first);
      expect(await model.predict(timeMajor(1), { layout: 'time-major' })).toEqual(firstTm);
      const y = { data: Float32Array.from({ length: 4 * 3 }, (_, i) => Math.cos(i)), shape: [4, 3, 1] };
      const before = await model.evaluate(data(1), y);
      await model.evaluate(data(2), { data: new Float32Array(12).fill(5), shape: [4, 3, 1] });
      expect(await model.evaluate(data(1), y)).toEqual(before);
    } finally {
      await recur.dispose();
    }
  });
});
