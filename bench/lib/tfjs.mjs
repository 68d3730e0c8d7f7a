// TF.js 4.22 (@tensorflow/tfjs, cpu backend, and @tensorflow/tfjs-backend-wasm) for the benchmark,
// from bench/peers (installed apart from the workspace: see bench/peers/package.json).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputSize } from './common.mjs';

const require = createRequire(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'peers', 'package.json'));

export async function loadTf(backend) {
  // tfjs-core prints a hint to install tfjs-node when it sees Node: silence it.
  const log = console.log;
  console.log = () => {};
  const tf = require('@tensorflow/tfjs');
  const tfl = tf;
  let info = {};
  let wasm;
  if (backend === 'wasm') {
    wasm = require('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    // Node: the single-threaded SIMD build (threads = 1), .wasm read from node_modules.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setWasmPaths(path.join(dir, 'dist') + path.sep);
    wasm.setThreadsCount?.(1);
  }
  const ok = await tf.setBackend(backend);
  await tf.ready();
  console.log = log;
  if (!ok || tf.getBackend() !== backend) throw new Error(`TF.js backend ${backend} did not load (got ${tf.getBackend()})`);
  if (backend === 'wasm') info = { simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'), threads: wasm.getThreadsCount?.() };
  return { tf, tfl, info };
}

/** The benchmark model: LSTM(H, last step only) → Dense(O), standard sigmoid gates. */
export function buildModel(tf, tfl, c, { kind = 'lstm', weights } = {}) {
  const { T, I, H } = c;
  const O = outputSize(c);
  const model = tfl.sequential();
  const common = { units: H, inputShape: [T, I], returnSequences: false };
  if (kind === 'lstm') model.add(tfl.layers.lstm({ ...common, recurrentActivation: 'sigmoid' }));
  else if (kind === 'gru') model.add(tfl.layers.gru({ ...common, recurrentActivation: 'sigmoid' }));
  else model.add(tfl.layers.simpleRNN(common));
  model.add(tfl.layers.dense({ units: O }));
  if (weights) {
    model.setWeights([
      tf.tensor2d(weights.kernel, [I, 4 * H]),
      tf.tensor2d(weights.recurrent, [H, 4 * H]),
      tf.tensor1d(weights.bias),
      tf.tensor2d(weights.headW, [H, O]),
      tf.tensor1d(weights.headB),
    ]);
  }
  return model;
}
