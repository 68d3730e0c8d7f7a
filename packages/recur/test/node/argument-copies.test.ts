// The guard around the glue's copies of call arguments into wasm memory (`loader/argument-copies`):
// a call whose arrays the module cannot allocate is refused with ERR_RANGE before the glue copies
// anything (where its failed allocation would trap), and everything else is passed on as it was.
import { describe, expect, it } from 'vitest';
import { guardArgumentCopies, PROBE_BYTES } from '../../dist/loader/argument-copies.js';
import { RecurError } from '../../dist/entrypoints/node.js';

/** A stand-in for the bindings: a module that can allocate `free` more bytes, and what it was asked. */
function fakeApi(free: number) {
  const calls: string[] = [];
  const probes: number[] = [];
  class Model {
    constructor(readonly data: Float32Array) {
      calls.push(`new Model(${data.length})`);
    }
    forward(x: Float32Array, tokens: Uint32Array, steps: number): number {
      calls.push(`forward(${x.length}, ${tokens.length}, ${steps})`);
      return x.length + tokens.length;
    }
    static load(bytes: Uint8Array): Model {
      calls.push(`load(${bytes.length})`);
      return new Model(new Float32Array(1));
    }
  }
  const api = {
    Model,
    scale(x: Float32Array, by: number): number {
      calls.push(`scale(${x.length})`);
      return x.length * by;
    },
    parse(json: string, x: Float32Array): number {
      calls.push(`parse(${json.length}, ${x.length})`);
      return json.length + x.length;
    },
    canAllocate(bytes: number): boolean {
      probes.push(bytes);
      return bytes <= free;
    },
    wasmMemoryBytes: (): number => 65536,
    limit: 7,
  };
  return { api, calls, probes };
}

async function rejection(f: () => unknown): Promise<RecurError> {
  try {
    f();
  } catch (e) {
    return e as RecurError;
  }
  throw new Error('expected a rejection');
}

describe('guardArgumentCopies', () => {
  const big = PROBE_BYTES / 4; // floats of PROBE_BYTES bytes

  it('passes small calls on without probing, with their results and `this`', () => {
    const { api, calls, probes } = fakeApi(0);
    const g = guardArgumentCopies(api);
    const m = new g.Model(new Float32Array(3));
    expect(m).toBeInstanceOf(api.Model);
    expect(m).toBeInstanceOf(g.Model);
    expect(m.forward(new Float32Array(5), new Uint32Array(2), 4)).toBe(7);
    expect(g.scale(new Float32Array(4), 2)).toBe(8);
    expect(g.Model.load(new Uint8Array(9))).toBeInstanceOf(api.Model);
    expect(g.limit).toBe(7);
    expect(calls).toEqual(['new Model(3)', 'forward(5, 2, 4)', 'scale(4)', 'load(9)', 'new Model(1)']);
    expect(probes).toEqual([]);
  });

  it('probes the total bytes of the arrays of a large call, and runs it when they fit', () => {
    const { api, calls, probes } = fakeApi(Number.MAX_SAFE_INTEGER);
    const g = guardArgumentCopies(api);
    const m = new g.Model(new Float32Array(1));
    expect(m.forward(new Float32Array(big), new Uint32Array(big), 1)).toBe(2 * big);
    expect(probes).toEqual([2 * PROBE_BYTES]);
    expect(calls.at(-1)).toBe(`forward(${big}, ${big}, 1)`);
  });

  it('refuses a large call that does not fit with ERR_RANGE, for methods, statics, constructors and functions, before calling', async () => {
    const { api, calls } = fakeApi(PROBE_BYTES);
    const g = guardArgumentCopies(api);
    const m = new g.Model(new Float32Array(1));
    calls.length = 0;
    const cases: [string, () => unknown][] = [
      ['Model.forward', () => m.forward(new Float32Array(big), new Uint32Array(1), 1)],
      ['Model.load', () => g.Model.load(new Uint8Array(PROBE_BYTES + 1))],
      ['new Model', () => new g.Model(new Float32Array(big + 1))],
      ['scale', () => g.scale(new Float32Array(big + 1), 1)],
    ];
    for (const [name, call] of cases) {
      const e = await rejection(call);
      expect(e, name).toBeInstanceOf(RecurError);
      expect(e.code).toBe('ERR_RANGE');
      expect(e.message).toContain(`${name}: its arguments`);
      expect(e.details).toMatchObject({ call: name, wasmMemoryBytes: 65536 });
    }
    expect(calls).toEqual([]);
    // one that fits exactly still runs
    expect(g.scale(new Float32Array(big), 1)).toBe(big);
  });

  it('counts a string argument at 3 bytes per UTF-16 unit, with the arrays', async () => {
    const { api, calls, probes } = fakeApi(PROBE_BYTES);
    const g = guardArgumentCopies(api);
    // a string of at least PROBE_BYTES bytes at 3 a unit, and one float: more than fits
    const units = Math.ceil(PROBE_BYTES / 3);
    const bytes = 3 * units + 4;
    const e = await rejection(() => g.parse('x'.repeat(units), new Float32Array(1)));
    expect(e.code).toBe('ERR_RANGE');
    expect(e.details).toMatchObject({ call: 'parse', bytes });
    expect(calls).toEqual([]);
    // short strings are passed on without a probe
    expect(g.parse('{"a":1}', new Float32Array(2))).toBe(9);
    expect(probes).toEqual([bytes]);
  });

  it('wraps a class once, however many times a glue is guarded', () => {
    const { api, probes } = fakeApi(0);
    guardArgumentCopies(api);
    const g = guardArgumentCopies(api);
    expect(() => new g.Model(new Float32Array(1)).forward(new Float32Array(big), new Uint32Array(0), 1)).toThrow(RecurError);
    expect(probes).toEqual([PROBE_BYTES]);
  });
});
