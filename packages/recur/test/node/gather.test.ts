// The service's batch gathering (worker/models.ts): a batch of every sequence in order is the data
// itself (no copy); any other selection of time-major data is copied row by row, for short and long
// rows alike; batch-major data stays batch-major (consecutive sequences a view, others whole blocks).
import { describe, expect, it } from 'vitest';
import { gatherSeq, gatherTarget, isIdentity } from '../../dist/worker/models.js';

/** `[T, N, W]` time-major data with value t*1e4 + n*100 + w. */
function timeMajor(steps: number, n: number, w: number): Float32Array {
  return Float32Array.from({ length: steps * n * w }, (_, i) => Math.floor(i / (n * w)) * 1e4 + (Math.floor(i / w) % n) * 100 + (i % w));
}

describe('gatherSeq / gatherTarget', () => {
  it('every sequence in order: the same objects, not copies', () => {
    const seq = { x: timeMajor(3, 4, 2), steps: 3, n: 4, features: 2, lengths: Uint32Array.of(3, 2, 1, 3) };
    expect(isIdentity([0, 1, 2, 3], 4)).toBe(true);
    expect(gatherSeq(seq, [0, 1, 2, 3])).toBe(seq);
    const target = { values: new Float32Array(8), width: 2, sequence: false };
    expect(gatherTarget(target, 3, 4, [0, 1, 2, 3])).toBe(target);
    for (const idx of [[0, 1, 2], [1, 0, 2, 3], [0, 1, 2, 2]]) expect(isIdentity(idx, 4)).toBe(false);
  });

  it.each([2, 100])('a selection copies rows of %i features, time-major', (w) => {
    const steps = 3;
    const n = 5;
    const idx = [4, 1, 1, 3];
    const seq = { x: timeMajor(steps, n, w), tokens: Uint32Array.from({ length: steps * n }, (_, i) => i), steps, n, features: w, lengths: Uint32Array.of(1, 2, 3, 1, 2) };
    const g = gatherSeq(seq, idx);
    expect([g.steps, g.n, g.features]).toEqual([steps, 4, w]);
    for (let t = 0; t < steps; t++) {
      for (let j = 0; j < idx.length; j++) {
        for (let f = 0; f < w; f++) expect(g.x![(t * 4 + j) * w + f]).toBe(t * 1e4 + idx[j]! * 100 + f);
        expect(g.tokens![t * 4 + j]).toBe(t * n + idx[j]!);
      }
    }
    expect(Array.from(g.lengths!)).toEqual([2, 2, 2, 1]);
    expect(g.x).not.toBe(seq.x);

    const perStep = gatherTarget({ values: timeMajor(steps, n, w), width: w, sequence: true }, steps, n, idx);
    expect(perStep.values).toEqual(g.x);
    const last = gatherTarget({ classes: Uint32Array.of(10, 11, 12, 13, 14), width: 1, sequence: false }, steps, n, idx);
    expect(Array.from(last.classes!)).toEqual([14, 11, 11, 13]);
  });

  it('batch-major features stay batch-major: consecutive sequences are a view, others copied whole', () => {
    const [steps, n, w] = [3, 5, 2];
    // [N, T, W] with value n*1e4 + t*100 + w
    const x = Float32Array.from({ length: n * steps * w }, (_, i) => Math.floor(i / (steps * w)) * 1e4 + (Math.floor(i / w) % steps) * 100 + (i % w));
    const seq = { x, batchMajor: true, steps, n, features: w, lengths: Uint32Array.of(1, 2, 3, 1, 2) };
    const expectBlocks = (g: ReturnType<typeof gatherSeq>, idx: number[]): void => {
      expect([g.steps, g.n, g.features, g.batchMajor]).toEqual([steps, idx.length, w, true]);
      idx.forEach((src, j) => {
        for (let t = 0; t < steps; t++) for (let f = 0; f < w; f++) expect(g.x![(j * steps + t) * w + f]).toBe(src * 1e4 + t * 100 + f);
      });
      expect(Array.from(g.lengths!)).toEqual(idx.map((i) => seq.lengths[i]!));
    };
    const view = gatherSeq(seq, [1, 2, 3]);
    expectBlocks(view, [1, 2, 3]);
    expect(view.x!.buffer).toBe(x.buffer);
    const copy = gatherSeq(seq, [4, 0, 0]);
    expectBlocks(copy, [4, 0, 0]);
    expect(copy.x!.buffer).not.toBe(x.buffer);
  });
});
