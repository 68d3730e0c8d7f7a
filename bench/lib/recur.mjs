// recur through its public SDK (package `recur`, Node entry point, worker mode).
// The model API is being built while this benchmark is written: this adapter looks for it and
// throws NotAvailable (reported as "n/a (API not available)") when it is not there. It never
// makes numbers up.
import { outputSize, toTimeMajor } from './common.mjs';

export class NotAvailable extends Error {}

/**
 * 'recur-lstm' → { kind: 'lstm', threads: 1, variant: undefined, batches: 1 }; 'recur-lstm-2t' →
 * threads 2; 'recur-lstm-relaxed' → the build the SDK must have picked is 'relaxed' (run.mjs
 * starts that child with Node 20's --experimental-wasm-relaxed-simd), 'relaxed-threads' with
 * 2 threads ('recur-lstm-2t-relaxed'); 'recur-lstm-epoch8' → one
 * step of the cell is a `fit` over 8 batches (8 optimizer steps: the benchmark's batch 8 times).
 */
export function parseRecurLib(lib) {
  const m = /^recur-(lstm|gru|rnn)(?:-(\d+)t)?(-relaxed)?(-inprocess)?(?:-spin(\d+))?(?:-epoch(\d+))?$/.exec(lib);
  if (!m) throw new Error(`unknown recur lib ${lib}`);
  return {
    kind: m[1],
    threads: m[2] ? Number(m[2]) : 1,
    variant: m[3] ? (m[2] && Number(m[2]) > 1 ? 'relaxed-threads' : 'relaxed') : undefined,
    // `-inprocess`: the SDK on the calling thread (`mode: 'inprocess'`), as ORT Web runs
    mode: m[4] ? 'inprocess' : 'worker',
    // `-spinN`: helpers spin N ms between calls (`wasm.idleSpinMs`)
    idleSpinMs: m[5] ? Number(m[5]) : undefined,
    batches: m[6] ? Number(m[6]) : 1,
  };
}

export async function loadRecur(numThreads = 1, { mode = 'worker', idleSpinMs } = {}) {
  let sdk;
  try {
    sdk = await import('recur');
  } catch (e) {
    // a load failure is not a missing API: report it as a failure, with its message
    throw new Error(`the recur SDK did not load: ${e.message}`);
  }
  if (typeof sdk.createRecur !== 'function') throw new NotAvailable('the recur SDK has no createRecur');
  // numThreads: the compute threads (1: the single-thread builds)
  const runtime = sdk.createRecur({ mode, wasm: { numThreads, ...(idleSpinMs === undefined ? {} : { idleSpinMs }) } });
  if (typeof runtime.createModel !== 'function') {
    await runtime.dispose?.();
    throw new NotAvailable('the recur SDK has no createModel yet');
  }
  const t0 = performance.now();
  const info = await runtime.init();
  return { sdk, runtime, info: { ...info, initMs: performance.now() - t0 } };
}

/** The model config of the SDK (packages/recur/src/model-api.ts). */
export function sdkConfig(c, kind) {
  return {
    inputSize: c.I,
    seed: 1,
    layers: [
      { type: kind, hiddenSize: c.H, returnSequences: false },
      { type: 'dense', units: outputSize(c) },
    ],
  };
}

/** The model config of recur-core (crates/recur-core/src/model/config.rs), for the bindings. */
export function recurConfig(c, kind) {
  return {
    input_size: c.I,
    seed: 1,
    layers: [
      { type: kind, hidden_size: c.H, return_sequences: false },
      { type: 'dense', units: outputSize(c) },
    ],
  };
}

/**
 * The public SDK in worker mode: one training step = `model.fit(x, y, {epochs: 1, batchSize: B})`
 * on the fixed batch (one batch, so one step), Adam installed once with `setOptimizer`;
 * inference = `model.predict(x, {batchSize: B})`. With `batches` > 1, `step` is one `fit` over
 * that many copies of the batch (as many optimizer steps, in order: `shuffle: false`). Returns
 * { step, predict, dispose, info }.
 */
export async function recurModel(c, kind, data, weights, threads = 1, variant = undefined, batches = 1, placement = {}) {
  const r = await loadRecur(threads, placement);
  if (variant && r.info.variant !== variant) {
    await r.runtime.dispose();
    throw new Error(`the SDK picked the ${r.info.variant} build, not ${variant} (does this Node validate relaxed SIMD?)`);
  }
  // the worker's wasm memory with the module loaded and no model yet (recur.diagnostics.memory())
  const wasmMemory = async () => (typeof r.runtime.diagnostics?.memory === 'function' ? (await r.runtime.diagnostics.memory()).wasmBytes : undefined);
  const wasmEmptyBytes = await wasmMemory();
  const model = await r.runtime.createModel(sdkConfig(c, kind));
  await model.setOptimizer({ type: 'adam', lr: 1e-3 });
  const copies = (a) => {
    const out = new Float32Array(a.length * batches);
    for (let i = 0; i < batches; i++) out.set(a, i * a.length);
    return out;
  };
  const x = { data: data.x, shape: [c.B, c.T, c.I] }; // batch-major, the SDK's default layout
  const y = { data: data.y, shape: [c.B, outputSize(c)] };
  const xs = batches > 1 ? { data: copies(data.x), shape: [c.B * batches, c.T, c.I] } : x;
  const ys = batches > 1 ? { data: copies(data.y), shape: [c.B * batches, outputSize(c)] } : y;
  let weightsSet = false;
  if (weights && kind === 'lstm') {
    const params = await model.parameters();
    weightsSet = await setSharedWeights(
      params.map((p) => p.name),
      async (n) => (await model.getParam(n)).data.length,
      (n, d) => model.setParam(n, { data: d }),
      c,
      weights,
    );
  }
  return {
    info: { ...r.info, weightsSet },
    wasmEmptyBytes,
    wasmMemory,
    step: () => model.fit(xs, ys, { epochs: 1, batchSize: c.B, shuffle: false, loss: 'mse' }),
    predict: async () => (await model.predict(x, { batchSize: c.B })).data,
    dispose: async () => {
      await model.dispose?.();
      await r.runtime.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// recur through its wasm bindings directly (packages/recur/wasm/<variant>/recur_wasm.js), on the
// calling thread: the kernels' speed without the worker hop. Reported as separate rows
// ("recur bindings"), never in place of the SDK's.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// RECUR_BENCH_WASM_DIR points at another build (a directory with <variant>/recur_wasm.js).
const wasmDir = process.env.RECUR_BENCH_WASM_DIR ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'recur', 'wasm');

export async function loadBindings(variant = 'simd') {
  const js = path.join(wasmDir, variant, 'recur_wasm.js');
  const bin = path.join(wasmDir, variant, 'recur_wasm_bg.wasm');
  if (!fs.existsSync(js) || !fs.existsSync(bin)) throw new NotAvailable(`no recur wasm build in packages/recur/wasm/${variant}`);
  const b = await import(pathToFileURL(js).href);
  b.initSync({ module: fs.readFileSync(bin) });
  return { b, wasmBytes: fs.statSync(bin).size };
}

const EMPTY_U32 = new Uint32Array(0);
const EMPTY_F32 = new Float32Array(0);

function transpose(m, rows, cols) {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = m[r * cols + c];
  return out;
}

/**
 * Sets the shared Keras-layout LSTM weights (`lstmWeights`) by PyTorch name: weight_ih [4H, I]
 * and weight_hh [4H, H] in gate order (i, f, g, o) = Keras's (i, f, c, o) transposed; the
 * Keras bias goes to bias_ih, bias_hh is 0; the head's weight is [O, H]. Returns false (and
 * sets nothing) when the names or sizes are not the expected ones.
 */
async function setSharedWeights(names, sizeOf, set, c, w) {
  const find = (suffix) => names.find((n) => n.endsWith(suffix));
  const O = outputSize(c);
  const dense = names.filter((n) => !n.includes('_l0'));
  const plan = [
    [find('weight_ih_l0'), transpose(w.kernel, c.I, 4 * c.H)],
    [find('weight_hh_l0'), transpose(w.recurrent, c.H, 4 * c.H)],
    [find('bias_ih_l0'), w.bias],
    [find('bias_hh_l0'), new Float32Array(4 * c.H)],
    [dense.find((n) => n.endsWith('weight')), transpose(w.headW, c.H, O)],
    [dense.find((n) => n.endsWith('bias')), w.headB],
  ];
  for (const [name, data] of plan) {
    if (!name) return false;
    if ((await sizeOf(name)) !== data.length) return false;
  }
  for (const [name, data] of plan) await set(name, data);
  return true;
}

/** Returns { step, predict, dispose, info } or throws NotAvailable. */
export async function recurBindingsModel(c, kind, data, weights) {
  const { b, wasmBytes } = await loadBindings();
  if (typeof b.Model !== 'function') throw new NotAvailable('the recur wasm build has no Model export yet');
  const wasmMemory = () => b.wasmMemoryBytes?.();
  const wasmEmptyBytes = wasmMemory();
  const model = new b.Model(JSON.stringify(recurConfig(c, kind)));
  model.setOptimizer(JSON.stringify({ type: 'adam', lr: 1e-3 }));
  const x = toTimeMajor(data.x, c);
  const opts = JSON.stringify({ loss: 'mse' });
  let weightsSet = false;
  if (weights && kind === 'lstm') {
    const names = JSON.parse(model.paramsJson()).map((p) => (typeof p === 'string' ? p : p.name));
    weightsSet = await setSharedWeights(names, (n) => model.getParam(n).length, (n, d) => model.setParam(n, d), c, weights);
  }
  const step = () => model.trainStep(x, EMPTY_U32, c.T, c.B, EMPTY_U32, data.y, EMPTY_U32, opts);
  return {
    info: { variant: 'simd', wasmBytes, kernels: b.compiledKernels?.(), weightsSet },
    wasmEmptyBytes,
    wasmMemory,
    step,
    /** One step, returning its loss: the report is `[loss, grad_norm, skipped]` (the JSON text
     * `{"loss": ...}` in builds before 1bf1c49, which RECUR_BENCH_WASM_DIR may point at). */
    stepLoss: () => {
      const report = step();
      return typeof report === 'string' ? JSON.parse(report).loss : report[0];
    },
    predict: () => model.forward(x, EMPTY_U32, c.T, c.B, EMPTY_U32, EMPTY_F32, EMPTY_F32, false, false),
    dispose: async () => model.free?.(),
  };
}
