// The `memory` diagnostic: the size of the service's wasm linear memory, which never shrinks, so
// it grows once a larger model is created and trained (activations of every step, gradients,
// optimizer state all live in it).
import { describe, expect, it } from 'vitest';
import { createRecur, type ExecutionMode } from '../../dist/entrypoints/node.js';

/** LSTM(256) over 32 steps of batch 64: about 8 MB of gate activations alone for BPTT. */
const B = 64;
const T = 32;
const I = 16;

function data(): { x: { data: Float32Array; shape: number[] }; y: { data: Float32Array; shape: number[] } } {
  const x = new Float32Array(B * T * I);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 0.011));
  const y = new Float32Array(B);
  for (let i = 0; i < y.length; i++) y[i] = Math.fround(Math.cos(i * 0.3));
  return { x: { data: x, shape: [B, T, I] }, y: { data: y, shape: [B, 1] } };
}

describe('diagnostics.memory', () => {
  for (const mode of ['worker', 'inprocess'] as ExecutionMode[]) {
    it(`reports the wasm memory, which grows after training a larger model (${mode})`, async () => {
      const recur = createRecur({ mode });
      try {
        const before = await recur.diagnostics.memory();
        expect(Object.keys(before)).toEqual(['wasmBytes']);
        expect(Number.isSafeInteger(before.wasmBytes)).toBe(true);
        expect(before.wasmBytes).toBeGreaterThan(0);
        expect(before.wasmBytes % 65536).toBe(0);

        const model = await recur.createModel({
          inputSize: I,
          layers: [
            { type: 'lstm', hiddenSize: 256, returnSequences: false },
            { type: 'dense', units: 1 },
          ],
          seed: 3,
        });
        const { x, y } = data();
        await model.fit(x, y, { epochs: 1, batchSize: B, optimizer: { type: 'adam', lr: 0.001 }, loss: 'mse' });
        const after = await recur.diagnostics.memory();
        expect(after.wasmBytes % 65536).toBe(0);
        // At least the gate activations of every step: T · B · 4H floats.
        expect(after.wasmBytes - before.wasmBytes).toBeGreaterThanOrEqual(T * B * 4 * 256 * 4);

        // Wasm memory never shrinks: disposing the model leaves the high-water mark.
        await model.dispose();
        expect((await recur.diagnostics.memory()).wasmBytes).toBe(after.wasmBytes);
      } finally {
        await recur.dispose();
      }
    });
  }
});
