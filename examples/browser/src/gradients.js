// The gradient view: ‖∂L/∂h_t‖ for every step t of a length-60 sequence whose first element
// (±1) is the target, with the loss (MSE) on the last step only. Computed with the real library:
// one training-mode forward, one backward of ∂L/∂output, then `model.stepGradNorms()`.

export const T = 60;
const B = 64;
const H = 32;

/** The cells compared; `chrono` opens the gates that keep memory (see `chronoInit`). */
export const CELLS = [
  { key: 'rnn-sigmoid', label: 'RNN, sigmoid', color: '#d62728', layer: { type: 'rnn', activation: 'sigmoid' } },
  { key: 'rnn-tanh', label: 'RNN, tanh', color: '#ff7f0e', layer: { type: 'rnn', activation: 'tanh' } },
  { key: 'lstm', label: 'LSTM (chrono init)', color: '#1f77b4', layer: { type: 'lstm' }, chrono: true },
  { key: 'gru', label: 'GRU (chrono init)', color: '#2ca02c', layer: { type: 'gru' }, chrono: true },
  { key: 'lstm-default', label: 'LSTM (default init: forget gate ≈ ½)', color: '#7f9fc4', layer: { type: 'lstm' }, dash: [5, 4] },
];

function lcg(seed) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** B sequences: x_0 = ±1 (the target), then uniform noise in [-0.5, 0.5]. */
function task(seed) {
  const rnd = lcg(seed);
  const x = new Float32Array(B * T);
  const y = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const first = rnd() < 0.5 ? -1 : 1;
    x[b * T] = first;
    y[b] = first;
    for (let t = 1; t < T; t++) x[b * T + t] = rnd() - 0.5;
  }
  return { x, y };
}

/**
 * Chrono initialization (Tallec & Ollivier, 2018): gate biases log(u), u ~ U(1, T−1), so that
 * the cells start out keeping memory over about T steps. LSTM (PyTorch gate order i, f, g, o):
 * forget bias +log u, input bias −log u. GRU (order r, z, n; h' = (1−z)·n + z·h): update bias +log u.
 */
async function chronoInit(model, type) {
  const name = `${type}.bias_ih_l0`;
  const p = await model.getParam(name);
  const d = Float32Array.from(p.data);
  const rnd = lcg(99);
  for (let j = 0; j < H; j++) {
    const b = Math.log(1 + rnd() * (T - 2));
    d[H + j] = b;
    if (type === 'lstm') d[j] = -b;
  }
  await model.setParam(name, { data: d, shape: p.shape });
}

/** Per cell: the norms per step, and first/last (how much of the gradient reaches step 0). */
export async function computeStepGradNorms(recur) {
  const { x, y } = task(7);
  const results = [];
  for (const cell of CELLS) {
    const model = await recur.createModel({
      inputSize: 1,
      layers: [{ ...cell.layer, hiddenSize: H, returnSequences: false }, { type: 'dense', units: 1 }],
      seed: 1,
    });
    try {
      if (cell.chrono) await chronoInit(model, cell.layer.type);
      const { output } = await model.forward({ x: { data: x.slice(), shape: [B, T, 1] }, training: true });
      // ∂/∂output of the mean squared error over the batch.
      const dOut = new Float32Array(B);
      for (let b = 0; b < B; b++) dOut[b] = (2 * (output.data[b] - y[b])) / B;
      await model.zeroGrad();
      await model.backward({ dOutput: { data: dOut, shape: [B, 1] } });
      const [layer] = await model.stepGradNorms();
      const norms = Array.from(layer.norms);
      results.push({ ...cell, name: layer.name, norms, ratio: norms[0] / norms[T - 1] });
    } finally {
      await model.dispose();
    }
  }
  return results;
}
