// One benchmark cell in a fresh Node process:
//   node child.mjs <task> <lib> <config> [--budget ms]
// task: train | infer | gemm | peak. Prints one line `RESULT {json}` (and whatever the libraries print).
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIGS, lstmWeights, makeData, measure, memoryPeak, now, outputSize, perStep, randArray, toTimeMajor } from './lib/common.mjs';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const [task, lib, cfgName, ...rest] = process.argv.slice(2);
const opt = (k, d) => {
  const i = rest.indexOf(k);
  return i >= 0 ? Number(rest[i + 1]) : d;
};
const budgetMs = opt('--budget', 3000);
const maxSteps = opt('--max-steps', 50);
const c = CONFIGS[cfgName];
const baselineRss = process.memoryUsage().rss;

function emit(obj) {
  process.stdout.write(`RESULT ${JSON.stringify({ task, lib, config: cfgName, ...obj })}\n`);
}

/**
 * The wasm heap of a recur model: how far the module's linear memory grew from before the model
 * was created to after the timed steps (wasm memory never shrinks: that is its high-water mark).
 */
async function wasmHeap(r) {
  const end = await r.wasmMemory();
  if (r.wasmEmptyBytes === undefined || end === undefined) return {};
  return { wasmEmptyMB: r.wasmEmptyBytes / 2 ** 20, wasmHeapMB: (end - r.wasmEmptyBytes) / 2 ** 20 };
}

function sample(arr, n = 8) {
  return Array.from(arr.slice(0, n), (v) => Number(v));
}

async function train() {
  const data = makeData(c);
  const O = outputSize(c);
  if (lib === 'tfjs-cpu' || lib === 'tfjs-wasm') {
    const { tf, tfl, info } = await (await import('./lib/tfjs.mjs')).loadTf(lib === 'tfjs-cpu' ? 'cpu' : 'wasm');
    const { buildModel } = await import('./lib/tfjs.mjs');
    const model = buildModel(tf, tfl, c);
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'meanSquaredError' });
    const x = tf.tensor3d(data.x, [c.B, c.T, c.I]);
    const y = tf.tensor2d(data.y, [c.B, O]);
    const loss0 = await model.trainOnBatch(x, y);
    const m = await measure(() => model.trainOnBatch(x, y), { budgetMs, maxSteps });
    const loss1 = await model.trainOnBatch(x, y);
    return { ...m, info, loss: [loss0, loss1], tensorsLeft: tf.memory().numTensors };
  }
  if (lib === 'brainjs') {
    const brain = require('brain.js');
    const net = new brain.recurrent.LSTMTimeStep({ inputSize: c.I, hiddenLayers: [c.H], outputSize: c.I, learningRate: 1e-3 });
    // One step = the B sequences of the batch, T+1 vectors each (T predictions, one per step).
    const opts = { iterations: 1, errorThresh: -1, log: false };
    const r0 = net.train(data.seq, opts);
    const m = await measure(() => net.train(data.seq, opts), { budgetMs, maxSteps });
    const r1 = net.train(data.seq, opts);
    return { ...m, loss: [r0.error, r1.error] };
  }
  if (lib.startsWith('recur-bind-')) {
    const { recurBindingsModel } = await import('./lib/recur.mjs');
    const r = await recurBindingsModel(c, lib.slice(11), data);
    const loss0 = r.stepLoss();
    const m = await measure(() => r.step(), { budgetMs, maxSteps });
    const heap = await wasmHeap(r);
    const loss1 = r.stepLoss();
    await r.dispose();
    return { ...m, ...heap, info: r.info, loss: [loss0, loss1] };
  }
  if (lib.startsWith('recur-')) {
    const { recurModel, parseRecurLib } = await import('./lib/recur.mjs');
    const { kind, threads, variant, batches, mode, idleSpinMs } = parseRecurLib(lib);
    const r = await recurModel(c, kind, data, undefined, threads, variant, batches, { mode, idleSpinMs });
    const h0 = await r.step();
    const m = perStep(await measure(() => r.step(), { budgetMs, maxSteps }), batches);
    const heap = await wasmHeap(r);
    const h1 = await r.step();
    await r.dispose();
    const lossOf = (h) => h?.epochs?.[0]?.loss ?? h?.history?.loss?.[0];
    return { ...m, ...heap, info: r.info, loss: [lossOf(h0), lossOf(h1)] };
  }
  throw new Error(`unknown train lib ${lib}`);
}

async function infer() {
  const data = makeData(c);
  const w = lstmWeights(c);
  if (lib === 'tfjs-wasm' || lib === 'tfjs-cpu') {
    const { loadTf, buildModel } = await import('./lib/tfjs.mjs');
    const { tf, tfl, info } = await loadTf(lib === 'tfjs-cpu' ? 'cpu' : 'wasm');
    const model = buildModel(tf, tfl, c, { weights: w });
    const x = tf.tensor3d(data.x, [c.B, c.T, c.I]);
    // (tf.tidy walks whatever its callback returns: return nothing, keep the output aside)
    let last;
    const run = () => {
      tf.tidy(() => {
        last = model.predict(x).dataSync();
      });
      return last;
    };
    const out = run();
    const m = await measure(run, { budgetMs, maxSteps: maxSteps * 4 });
    return { ...m, info, out: sample(out) };
  }
  if (lib === 'ort-1t' || lib === 'ort-2t') {
    const threads = lib === 'ort-1t' ? 1 : 2;
    const ortPath = path.join(here, 'peers', 'node_modules', 'onnxruntime-web');
    let ort;
    try {
      ort = await import(path.join(ortPath, 'dist', 'ort.node.min.mjs'));
    } catch (e) {
      throw new Error(`onnxruntime-web not installed in bench/peers (run scripts/bench.sh, which installs it): ${e.message}`);
    }
    ort.env.wasm.numThreads = threads;
    const { buildLstmOnnx } = await import('./lib/onnx.mjs');
    const bytes = buildLstmOnnx(c, w);
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const X = new ort.Tensor('float32', toTimeMajor(data.x, c), [c.T, c.B, c.I]);
    const run = async () => (await session.run({ X })).Y.data;
    const out = await run();
    const m = await measure(run, { budgetMs, maxSteps: maxSteps * 4 });
    await session.release();
    return { ...m, info: { threads, ort: ort.env.versions?.web ?? ort.env.versions?.common }, out: sample(out) };
  }
  if (lib.startsWith('recur-bind-')) {
    const { recurBindingsModel } = await import('./lib/recur.mjs');
    const r = await recurBindingsModel(c, lib.slice(11), data, w);
    const out = r.predict();
    const m = await measure(() => r.predict(), { budgetMs, maxSteps: maxSteps * 4 });
    await r.dispose();
    // only comparable with the others when the shared weights could be set
    return { ...m, info: r.info, ...(r.info.weightsSet ? { out: sample(out) } : {}) };
  }
  if (lib.startsWith('recur-')) {
    const { recurModel, parseRecurLib } = await import('./lib/recur.mjs');
    const { kind, threads, variant, mode, idleSpinMs } = parseRecurLib(lib);
    const r = await recurModel(c, kind, data, w, threads, variant, 1, { mode, idleSpinMs });
    const out = await r.predict();
    const m = await measure(() => r.predict(), { budgetMs, maxSteps: maxSteps * 4 });
    await r.dispose();
    return { ...m, info: r.info, ...(r.info.weightsSet ? { out: sample(out) } : {}) };
  }
  throw new Error(`unknown infer lib ${lib}`);
}

/** The LSTM's GEMM shapes [M, K, N] (C[M,N] = A[M,K] · B[K,N]). */
export function gemmShapes(c) {
  const { B, T, I, H } = c;
  return [
    { name: 'step: (B×(I+H))·((I+H)×4H)', M: B, K: I + H, N: 4 * H },
    { name: 'input: (T·B×I)·(I×4H)', M: T * B, K: I, N: 4 * H },
    { name: 'recurrent: (B×H)·(H×4H)', M: B, K: H, N: 4 * H },
    { name: 'weight grad: (4H×T·B)·(T·B×H)', M: 4 * H, K: T * B, N: H },
  ];
}

async function gemm() {
  const shapes = gemmShapes(c);
  if (lib === 'tfjs-wasm') {
    const { loadTf } = await import('./lib/tfjs.mjs');
    const { tf, info } = await loadTf('wasm');
    const rows = [];
    for (const s of shapes) {
      const a = tf.tensor2d(randArray(s.M * s.K, 3), [s.M, s.K]);
      const b = tf.tensor2d(randArray(s.K * s.N, 4), [s.K, s.N]);
      const flop = 2 * s.M * s.N * s.K;
      // repeat inside one timed call so that tiny GEMMs are not dominated by the timer
      const reps = Math.max(1, Math.round(2e7 / flop));
      const run = () => {
        // the wasm backend runs a kernel synchronously: no read-back needed
        for (let r = 0; r < reps; r++) tf.matMul(a, b).dispose();
      };
      const m = await measure(run, { budgetMs: budgetMs / shapes.length, maxSteps: 200, minSteps: 5, probeStalls: false });
      rows.push({ ...s, msMedian: m.median / reps, gflops: flop / ((m.min / reps) * 1e6), gflopsMedian: flop / ((m.median / reps) * 1e6) });
      a.dispose();
      b.dispose();
    }
    return { rows, info };
  }
  if (lib === 'recur') {
    // the bindings' benchmark export: gemmRepeat(m, k, n, bTransposed, iterations) runs C = A·B
    // `iterations` times with the default kernel; A and B are kept between calls of the same shape
    const { loadBindings, NotAvailable } = await import('./lib/recur.mjs');
    const { b } = await loadBindings();
    if (typeof b.gemmRepeat !== 'function') throw new NotAvailable('the recur wasm build has no gemmRepeat benchmark export yet');
    const rows = [];
    for (const s of shapes) {
      const flop = 2 * s.M * s.N * s.K;
      const reps = Math.max(1, Math.round(2e7 / flop));
      const m = await measure(() => b.gemmRepeat(s.M, s.K, s.N, false, reps), { budgetMs: budgetMs / shapes.length, maxSteps: 200, minSteps: 5, probeStalls: false });
      rows.push({ ...s, msMedian: m.median / reps, gflops: flop / ((m.min / reps) * 1e6), gflopsMedian: flop / ((m.median / reps) * 1e6) });
    }
    return { rows, info: { kernels: b.compiledKernels?.() } };
  }
  throw new Error(`unknown gemm lib ${lib}`);
}

/** Wasm size per variant; load + init of the SDK in a Node worker, and of the bindings in-process. */
async function load() {
  const fs = await import('node:fs');
  const out = { sdk: null, variants: [] };
  const { loadRecur, loadBindings } = await import('./lib/recur.mjs');
  try {
    const t0 = now();
    const r = await loadRecur();
    out.sdk = { initMs: now() - t0, info: r.info };
    await r.runtime.dispose();
  } catch (e) {
    out.sdk = { error: String(e.message ?? e) };
  }
  const dir = process.env.RECUR_BENCH_WASM_DIR ?? path.join(here, '..', 'packages', 'recur', 'wasm');
  for (const v of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    const bin = path.join(dir, v, 'recur_wasm_bg.wasm');
    if (!fs.existsSync(bin)) continue;
    const bytes = fs.statSync(bin).size;
    const valid = WebAssembly.validate(fs.readFileSync(bin));
    let initMs = null;
    if (valid) {
      const t0 = now();
      await loadBindings(v);
      initMs = now() - t0;
    }
    out.variants.push({ variant: v, bytes, valid, initMs });
  }
  return out;
}

async function main() {
  const t0 = now();
  let result;
  try {
    if (task === 'peak') {
      const { peak } = await import('./lib/peak.mjs');
      result = await peak({ budgetMs });
    } else if (task === 'train') result = await train();
    else if (task === 'infer') result = await infer();
    else if (task === 'gemm') result = await gemm();
    else if (task === 'load') result = await load();
    else throw new Error(`unknown task ${task}`);
    emit({ ok: true, ...result, ...memoryPeak(baselineRss), wallMs: now() - t0 });
  } catch (e) {
    const { NotAvailable } = await import('./lib/recur.mjs');
    emit({ ok: false, na: e instanceof NotAvailable, error: String(e?.message ?? e).split('\n')[0].slice(0, 400) });
  }
  // the TF.js/ORT backends and the recur worker may keep the loop alive
  process.exit(0);
}

main();
