// Token ids and class indices are range-checked as the caller gave them (model.ts `toIdTensor`):
// an id above 2^24 must not round through float32 to a neighbouring id before the check.
import { describe, expect, it } from 'vitest';
import { toIdTensor } from '../../dist/model.js';
import { ValueRangeError } from '../../dist/entrypoints/node.js';

const BIG = 2 ** 24 + 1; // not representable in float32: it would round to 2^24

describe('toIdTensor', () => {
  it('keeps ids above 2^24 exact, from number arrays and integer typed arrays', () => {
    for (const input of [[BIG, 3], Uint32Array.of(BIG, 3), Int32Array.of(BIG, 3), { data: [BIG, 3], shape: [2] }]) {
      const t = toIdTensor(input as never, 'ids', 1, BIG + 1);
      expect(Array.from(t.data)).toEqual([BIG, 3]);
    }
  });

  it('an id just past the vocabulary is refused, not rounded into it', () => {
    expect(() => toIdTensor([BIG], 'ids', 1, BIG)).toThrow(ValueRangeError);
    expect(() => toIdTensor([1.5], 'ids', 1, 4)).toThrow(/expected an integer/);
  });
});
