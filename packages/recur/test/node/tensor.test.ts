import { describe, expect, it } from 'vitest';
import {
  InputTypeError,
  NonFiniteError,
  ShapeError,
  toSequenceBatch,
  toTensor,
  ValueRangeError,
} from '../../dist/entrypoints/node.js';

/** [B=2, T=3, F=2] with value b*100 + t*10 + f. */
const nested = [0, 1].map((b) => [0, 1, 2].map((t) => [0, 1].map((f) => b * 100 + t * 10 + f)));

describe('toSequenceBatch', () => {
  it('converts batch-major nested arrays to time-major float32, once', () => {
    const s = toSequenceBatch(nested);
    expect([s.batch, s.steps, s.features]).toEqual([2, 3, 2]);
    expect(s.data).toBeInstanceOf(Float32Array);
    // time-major: index (t*B + b)*F + f
    for (let t = 0; t < 3; t++) for (let b = 0; b < 2; b++) for (let f = 0; f < 2; f++) {
      expect(s.data[(t * 2 + b) * 2 + f]).toBe(b * 100 + t * 10 + f);
    }
  });

  it('typed arrays with an explicit shape give the same result (Float32Array and Float64Array)', () => {
    const flat = nested.flat(2);
    const ref = toSequenceBatch(nested).data;
    expect(toSequenceBatch({ data: Float32Array.from(flat), shape: [2, 3, 2] }).data).toEqual(ref);
    expect(toSequenceBatch(Float64Array.from(flat), { shape: [2, 3, 2] }).data).toEqual(ref);
  });

  it('time-major input is kept as it is (a copy)', () => {
    const src = Float32Array.from({ length: 12 }, (_, i) => i);
    const s = toSequenceBatch({ data: src, shape: [3, 2, 2] }, { layout: 'time-major' });
    expect([s.batch, s.steps, s.features]).toEqual([2, 3, 2]);
    expect(Array.from(s.data)).toEqual(Array.from(src));
    expect(s.data).not.toBe(src);
  });

  it('checks the number of features against the model', () => {
    expect(() => toSequenceBatch(nested, { features: 3, name: 'x' })).toThrow(ShapeError);
    expect(() => toSequenceBatch(nested, { features: 3, name: 'x' })).toThrow(/x has 2 features per step, expected 3/);
  });
});

describe('validation', () => {
  const expectError = (f: () => unknown, cls: new (...a: any[]) => Error, code: string, pattern?: RegExp) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(cls);
    expect((caught as { code: string }).code).toBe(code);
    if (pattern) expect((caught as Error).message).toMatch(pattern);
    return caught as { details: Record<string, unknown> };
  };

  it('ragged nested arrays are a ShapeError naming the index', () => {
    const e = expectError(() => toSequenceBatch([[[1, 2], [3]]]), ShapeError, 'ERR_SHAPE', /input\[0\]\[1\] has length 1, expected 2/);
    expect(e.details.index).toEqual([0, 1]);
  });

  it('wrong rank, or a shape that does not match the data, is a ShapeError', () => {
    expectError(() => toSequenceBatch([[1, 2]]), ShapeError, 'ERR_SHAPE', /rank 3/);
    expectError(() => toSequenceBatch({ data: new Float32Array(11), shape: [2, 3, 2] }), ShapeError, 'ERR_SHAPE', /11 values/);
    expectError(() => toSequenceBatch(new Float32Array(12)), ShapeError, 'ERR_SHAPE', /give its shape/);
    expectError(() => toSequenceBatch(nested, { shape: [3, 2, 2] }), ShapeError, 'ERR_SHAPE', /\[2, 3, 2\]/);
    expectError(() => toSequenceBatch({ data: new Float32Array(0), shape: [0, 3, 2] }), ShapeError, 'ERR_SHAPE', /positive integer/);
    expectError(() => toTensor({ data: new Float32Array(4), shape: [2, 2.5] }), ShapeError, 'ERR_SHAPE');
  });

  it('NaN, Infinity and float32 overflow are a NonFiniteError with the index', () => {
    const e = expectError(() => toSequenceBatch([[[1], [NaN]]]), NonFiniteError, 'ERR_NON_FINITE', /input\[0\]\[1\]\[0\] is NaN/);
    expect(e.details.index).toEqual([0, 1, 0]);
    expectError(() => toSequenceBatch({ data: Float32Array.of(1, Infinity), shape: [1, 2, 1] }), NonFiniteError, 'ERR_NON_FINITE', /\[0\]\[1\]\[0\] is Infinity/);
    expectError(() => toTensor(Float64Array.of(1e39)), NonFiniteError, 'ERR_NON_FINITE', /overflows float32/);
    expect(toTensor([NaN], { allowNonFinite: true }).data[0]).toBeNaN();
  });

  it('typed arrays: every non-finite value is found with its index, in either layout', () => {
    // batch-major [B=2, T=3, F=2]: the index is [b, t, f] of the caller's layout
    const bm = (i: number, v: number, C: Float32ArrayConstructor | Float64ArrayConstructor = Float32Array) =>
      toSequenceBatch({ data: C.from({ length: 12 }, (_, k) => (k === i ? v : k)), shape: [2, 3, 2] }, { name: 'x' });
    for (const [i, v, text] of [[0, NaN, 'NaN'], [7, -Infinity, '-Infinity'], [11, Infinity, 'Infinity']] as const) {
      const e = expectError(() => bm(i, v), NonFiniteError, 'ERR_NON_FINITE', new RegExp(`is ${text}$`));
      expect(e.details.index).toEqual([Math.floor(i / 6), Math.floor(i / 2) % 3, i % 2]);
    }
    const o = expectError(() => bm(9, -1e39, Float64Array), NonFiniteError, 'ERR_NON_FINITE', /x\[1\]\[1\]\[1\] = -1e\+39 overflows float32/);
    expect(o.details.index).toEqual([1, 1, 1]);
    // time-major: the flat index, as for any tensor
    const t = expectError(
      () => toSequenceBatch({ data: Float64Array.from({ length: 12 }, (_, k) => (k === 5 ? 4e38 : k)), shape: [3, 2, 2] }, { layout: 'time-major' }),
      NonFiniteError,
      'ERR_NON_FINITE',
      /input\[5\] = 4e\+38 overflows float32/,
    );
    expect(t.details.index).toEqual([5]);
    // the largest float32 values are finite; allowNonFinite passes everything through
    const max = 3.4028234663852886e38;
    expect(Array.from(bm(3, -max, Float64Array).data).filter((v) => v === -max)).toHaveLength(1);
    const kept = toSequenceBatch({ data: Float32Array.of(NaN, Infinity), shape: [2, 1, 1] }, { allowNonFinite: true }).data;
    expect(kept[0]).toBeNaN();
    expect(kept[1]).toBe(Infinity);
  });

  it('float32 input: the first non-finite value is reported wherever it is (the branch-free scans)', () => {
    for (const n of [1, 2, 7, 8]) {
      for (let i = 0; i < n; i++) {
        // a second bad value after the first: the first one is reported
        const data = Float32Array.from({ length: n }, (_, k) => (k === i ? NaN : k === n - 1 ? -Infinity : k));
        expect(expectError(() => toTensor(data), NonFiniteError, 'ERR_NON_FINITE').details.index).toEqual([i]);
        expect(expectError(() => toSequenceBatch({ data, shape: [n, 1, 1] }, { layout: 'time-major' }), NonFiniteError, 'ERR_NON_FINITE').details.index).toEqual([i]);
      }
    }
    // batch-major [2, 2, 2]: bad values at [1][0][1] and [0][1][0]; the first in [b, t, f] order wins
    const bm = Float32Array.of(0, 1, Infinity, 3, 4, NaN, 6, 7);
    expect(expectError(() => toSequenceBatch({ data: bm, shape: [2, 2, 2] }), NonFiniteError, 'ERR_NON_FINITE').details.index).toEqual([0, 1, 0]);
    // -0 and the extremes of float32 are finite
    const edge = Float32Array.of(-0, 3.4028234663852886e38, -3.4028234663852886e38, 2 ** -149);
    expect(Array.from(toSequenceBatch({ data: edge, shape: [2, 2, 1] }).data)).toEqual([-0, -3.4028234663852886e38, 3.4028234663852886e38, 2 ** -149]);
  });

  it('wrong JS types are an InputTypeError', () => {
    expectError(() => toSequenceBatch('abc' as never), InputTypeError, 'ERR_TYPE', /string/);
    expectError(() => toSequenceBatch(new Int32Array(8) as never, { shape: [2, 2, 2] }), InputTypeError, 'ERR_TYPE', /Int32Array/);
    expectError(() => toSequenceBatch([[[1, '2' as never]]]), InputTypeError, 'ERR_TYPE', /input\[0\]\[0\]\[1\] must be a number/);
    expectError(() => toSequenceBatch(nested, { layout: 'batch-first' as never }), InputTypeError, 'ERR_TYPE', /layout/);
    expectError(() => toTensor(null as never), InputTypeError, 'ERR_TYPE');
  });

  it('absurd sizes are refused before any allocation', () => {
    const e = expectError(
      () => toSequenceBatch({ data: new Float32Array(8), shape: [100000, 100000, 100] }),
      ValueRangeError,
      'ERR_RANGE',
      /more than the limit/,
    );
    expect(e.details.elements).toBe(1e12);
    expectError(() => toTensor(new Float32Array(10), { maxElements: 5 }), ValueRangeError, 'ERR_RANGE');
  });
});

describe('the finiteness check deferred to the service', () => {
  it('the calling thread copies a batch-major Float32Array unscanned; the check made later throws what the calling thread would have', async () => {
    const { toSequenceBatchAsGiven, checkDeferred } = await import('../../dist/tensor.js');
    const data = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    data[(1 * 3 + 2) * 2 + 0] = Number.NaN;
    const alloc = (n: number) => new Float32Array(n);
    const deferred = toSequenceBatchAsGiven({ data, shape: [2, 3, 2] }, { name: 'x', deferFiniteCheck: true }, alloc);
    expect(deferred.unchecked).toBe(true);
    expect(Array.from(deferred.data)).toEqual(Array.from(data));
    const direct = (() => {
      try {
        toSequenceBatchAsGiven({ data, shape: [2, 3, 2] }, { name: 'x' }, alloc);
      } catch (e) {
        return e;
      }
    })() as NonFiniteError;
    expect(direct).toBeInstanceOf(NonFiniteError);
    expect(() => checkDeferred(deferred.data, 2, 3, 2, 'x')).toThrow(direct.message);
    try {
      checkDeferred(deferred.data, 2, 3, 2, 'x');
    } catch (e) {
      expect(e).toBeInstanceOf(NonFiniteError);
      expect((e as NonFiniteError).details).toEqual(direct.details);
    }
    // finite data passes; lengths (non-finite values allowed at padded steps) keep the check here
    expect(() => checkDeferred(Float32Array.from({ length: 12 }, (_, i) => i), 2, 3, 2, 'x')).not.toThrow();
    const withLengths = toSequenceBatchAsGiven({ data, shape: [2, 3, 2] }, { name: 'x', deferFiniteCheck: true, lengthsFor: () => Uint32Array.of(3, 2) }, alloc);
    expect(withLengths.unchecked).toBeUndefined();
  });
});
