// One small, fixed training run shared by the Node, Chromium and Deno tests: every runtime trains
// the same model on the same data and must end with bitwise-identical weights (same wasm build).
// Plain JavaScript with no imports, so that Node, Vite (browser) and Deno all load it as is.

/** The model. */
export const FIT_CONFIG = {
  inputSize: 2,
  layers: [
    { type: 'gru', hiddenSize: 12, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 7,
};

/** Deterministic data: N sequences of T steps of (sin, cos) of a phase; target the next sin. */
export function fitData(n = 48, steps = 10) {
  const x = new Float32Array(n * steps * 2);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const phase = (i * 0.37) % (2 * Math.PI);
    for (let t = 0; t < steps; t++) {
      x[(i * steps + t) * 2] = Math.fround(Math.sin(phase + 0.3 * t));
      x[(i * steps + t) * 2 + 1] = Math.fround(Math.cos(phase + 0.3 * t));
    }
    y[i] = Math.fround(Math.sin(phase + 0.3 * steps));
  }
  return { x: { data: x, shape: [n, steps, 2] }, y: { data: y, shape: [n, 1] } };
}

/** The fit options (shuffled with a seed, validation split, clipping). */
export const FIT_OPTIONS = {
  epochs: 4,
  batchSize: 8,
  shuffle: true,
  seed: 3,
  validationSplit: 0.25,
  optimizer: { type: 'adam', lr: 0.01 },
  loss: 'mse',
  clip: { norm: 1 },
};

/** Hex SHA-256 of bytes (Web Crypto: Node 20, Deno and browsers). */
export async function sha256(bytes) {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Trains the shared case on `recur` (a runtime from createRecur) and returns the saved model's hash. */
export async function runFitCase(recur) {
  const model = await recur.createModel(FIT_CONFIG);
  try {
    const { x, y } = fitData();
    const history = await model.fit(x, y, FIT_OPTIONS);
    const bytes = await model.save();
    return { hash: await sha256(bytes), losses: history.history.loss, valLosses: history.history.valLoss };
  } finally {
    await model.dispose();
  }
}
