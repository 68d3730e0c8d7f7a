// Trains one small model with each wasm build given on the command line and prints, as JSON, what
// each loaded and computed: `node [--experimental-wasm-relaxed-simd] variant-fit.mjs VARIANT[:THREADS]...`
// (`auto` = feature detection). Run by variants.test.ts in a child process, because Node 20 loads
// the relaxed builds only with that flag, which must not change the other tests' detection.
import { createRecur, hasRelaxedSimd } from '../../dist/entrypoints/node.js';
import { sha256 } from '../shared/fit-case.mjs';

/**
 * Big enough that the per-step products ([16, 72] · [72, 256]) and the weight gradients are split among
 * threads; then batches of 7, 1 and 3 rows, whose per-step products end in a partial register tile
 * (the simd kernels' row path). The other layers reach the other kernels: the ReLU RNN the activation
 * gradients' ReLU path (the LSTM's output is not all positive) and layer norm (10 units: the norm's
 * four-lane sums have a tail); the peephole LSTM the simd128 backward with peepholes (12 units, a
 * multiple of 4); the GRU the simd128 backward and its scalar tail (22 units).
 */
const CONFIG = {
  inputSize: 8,
  layers: [
    { type: 'lstm', hiddenSize: 64, returnSequences: true },
    { type: 'rnn', hiddenSize: 10, activation: 'relu', layerNorm: true, returnSequences: true },
    { type: 'lstm', hiddenSize: 12, peephole: true, returnSequences: true },
    { type: 'gru', hiddenSize: 22, returnSequences: false },
    { type: 'dense', units: 2 },
  ],
  seed: 11,
};

function data(n = 48, steps = 10, inp = 8) {
  const x = new Float32Array(n * steps * inp);
  for (let i = 0; i < x.length; i++) x[i] = Math.fround(Math.sin(i * 0.013) * Math.cos(i * 0.0071));
  const y = new Float32Array(n * 2);
  for (let i = 0; i < y.length; i++) y[i] = Math.fround(Math.cos(i * 0.31));
  return { x: { data: x, shape: [n, steps, inp] }, y: { data: y, shape: [n, 2] } };
}

const results = [];
for (const arg of process.argv.slice(2)) {
  const [variant, threads] = arg.split(':');
  const wasm = { ...(variant === 'auto' ? {} : { variant }), numThreads: threads === undefined ? 1 : Number(threads) };
  const recur = createRecur({ mode: 'worker', wasm });
  try {
    const info = await recur.init();
    const model = await recur.createModel(CONFIG);
    const { x, y } = data();
    const history = await model.fit(x, y, { epochs: 2, batchSize: 16, shuffle: true, seed: 5, optimizer: { type: 'adam', lr: 0.01 }, loss: 'mse' });
    // Batches of 7 and 1: per-step products with a partial register tile (the kernel's row path).
    const few = (n) => ({ x: { data: x.data.subarray(0, n * 10 * 8), shape: [n, 10, 8] }, y: { data: y.data.subarray(0, n * 2), shape: [n, 2] } });
    for (const n of [7, 1]) await model.fit(few(n).x, few(n).y, { epochs: 1, batchSize: n, shuffle: false, loss: 'mse' });
    const params = { predicted: Array.from((await model.predict(few(3).x)).data) };
    for (const p of model.parameters()) params[p.name] = Array.from((await model.getParam(p.name)).data);
    results.push({ asked: arg, variant: info.variant, threads: info.threads, threadsFallback: info.threadsFallback, losses: history.history.loss, hash: await sha256(await model.save()), params });
    await model.dispose();
  } catch (e) {
    results.push({ asked: arg, error: `${e?.name}: ${e?.message}` });
  } finally {
    await recur.dispose();
  }
}
// Exit once stdout is flushed (a pipe is written asynchronously).
process.stdout.write(`${JSON.stringify({ node: process.version, execArgv: process.execArgv, hasRelaxedSimd: hasRelaxedSimd(), results })}\n`, () => process.exit(0));
