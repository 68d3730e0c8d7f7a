#!/usr/bin/env node
// Replays conformance cases (FORMAT.md) through the PUBLIC recur SDK, in its Node worker (or
// in-process, on this thread, with --mode inprocess).
//
//   node test/conformance/run.mjs [--variant V] [--threads N] [--mode worker|inprocess] [DIR...]
//        (default: test/conformance/vectors (computed by PyTorch), then test/conformance/independent
//        (an independent float64 reference: its README), the variant the SDK detects, its
//        default threads)
//
//   --variant auto|relaxed-threads|threads|relaxed|simd|scalar   force a wasm build
//        (`env.wasm.variant`); the relaxed builds need a node that validates relaxed SIMD
//        (Node 20: `node --experimental-wasm-relaxed-simd test/conformance/run.mjs ...`)
//   --threads N   the compute threads (`env.wasm.numThreads`)
//   --mode M      `worker` (default) or `inprocess` (`createRecur({ mode })`)
//
// Recurrent cases with `lengths` run twice, as given and with NaN, ±Infinity and 3e38 at their
// padded steps, against the same expected values (FORMAT.md: padded values have no effect).
//
// A header line names the build, threads and runtime that ran; then one line per case: `ok NAME`
// or `FAIL NAME: what, max error`; then `N passed, M failed` with the count of each directory.
// Exit 1 on any failure (or a forced
// variant that does not load, or that loaded with fewer threads than asked). An unknown kind,
// cell, field or option is a failure, never a skip.
// Needs the built package: `bash scripts/build-wasm.sh && pnpm --filter recur build`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// The file Node loads for `import 'recur'`: the package's `node` export condition (its bundle).
const pkgUrl = new URL('../../packages/recur/', import.meta.url);
const nodeEntry = JSON.parse(readFileSync(new URL('package.json', pkgUrl), 'utf8')).exports['.'].node;
const sdk = await import(new URL(nodeEntry, pkgUrl).href);

const TOP_FIELDS = {
  recurrent: ['name', 'kind', 'cell', 'activation', 'activation_param', 'num_layers', 'input_size', 'hidden_size', 'seq_len', 'batch', 'bias', 'tbptt',
    'tolerance', 'params', 'x', 'h0', 'c0', 'expected', 'loss_weights', 'expected_grads', 'bidirectional', 'lengths', 'gru_reset_after'],
  clip: ['name', 'kind', 'grads', 'mode', 'max_norm', 'clip_value', 'expected_total_norm', 'expected', 'tolerance'],
  optimizer: ['name', 'kind', 'optimizer', 'hyperparams', 'params', 'grads', 'expected', 'tolerance'],
  training: ['name', 'kind', 'cell', 'input_size', 'hidden_size', 'seq_len', 'batch', 'head', 'output_size', 'loss', 'optimizer', 'hyperparams',
    'clip_norm', 'steps', 'params', 'x', 'y', 'expected_losses', 'expected_params', 'tolerance'],
};
const HYPERPARAMS = ['lr', 'momentum', 'nesterov', 'dampening', 'weight_decay', 'betas', 'eps', 'alpha', 'centered', 'amsgrad'];
const CELLS = { rnn: 'rnn', lstm: 'lstm', lstm_peephole: 'lstm', gru: 'gru' };
const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'leaky_relu', 'elu'];

/** A failure of one case, with what and the max error. */
class CaseFailure extends Error {}

const camel = (k) => k.replace(/_([a-z])/g, (_m, c) => c.toUpperCase());
const shaped = (t) => ({ data: Float32Array.from(t.data), shape: t.shape });

function check(cond, what) {
  if (!cond) throw new CaseFailure(what);
}

/** Compares `got` (array-like) with the tensor or list `want`; records the worst error. */
function compare(report, what, got, want, tol) {
  const w = Array.isArray(want) ? want : want.data;
  if (got === null || got === undefined) throw new CaseFailure(`${what}: missing`);
  if (got.length !== w.length) throw new CaseFailure(`${what}: ${got.length} values, expected ${w.length}`);
  let worst = 0;
  let bad = false;
  for (let i = 0; i < w.length; i++) {
    const err = Math.abs(got[i] - w[i]);
    const limit = tol.atol + tol.rtol * Math.abs(w[i]);
    if (!(err <= limit)) bad = true;
    worst = Math.max(worst, Number.isNaN(err) ? Infinity : err);
  }
  report.maxError = Math.max(report.maxError, worst);
  if (bad) {
    report.failError = worst;
    throw new CaseFailure(`${what} differs`);
  }
}

function checkFields(c) {
  const known = TOP_FIELDS[c.kind];
  if (known === undefined) throw new CaseFailure(`unknown kind ${JSON.stringify(c.kind)}`);
  for (const k of Object.keys(c)) if (!known.includes(k)) throw new CaseFailure(`unknown field '${k}'`);
  check(c.tolerance && typeof c.tolerance.rtol === 'number' && typeof c.tolerance.atol === 'number', 'tolerance must have rtol and atol');
  for (const k of Object.keys(c.tolerance)) if (k !== 'rtol' && k !== 'atol') throw new CaseFailure(`unknown tolerance field '${k}'`);
}

function optimizerConfig(name, hyper) {
  check(['sgd', 'adam', 'adamw', 'rmsprop'].includes(name), `unknown optimizer ${JSON.stringify(name)}`);
  const cfg = { type: name };
  for (const [k, v] of Object.entries(hyper ?? {})) {
    if (!HYPERPARAMS.includes(k)) throw new CaseFailure(`unknown hyperparameter '${k}'`);
    cfg[camel(k)] = v;
  }
  return cfg;
}

function recurrentLayer(c, extra = {}) {
  const type = CELLS[c.cell];
  if (type === undefined) throw new CaseFailure(`unknown cell ${JSON.stringify(c.cell)}`);
  const layer = { type, name: '', hiddenSize: c.hidden_size, ...extra };
  if (c.num_layers !== undefined) layer.numLayers = c.num_layers;
  if (c.bias !== undefined) layer.bias = c.bias;
  if (c.bidirectional !== undefined) layer.bidirectional = c.bidirectional;
  if (c.cell === 'lstm_peephole') layer.peephole = true;
  if (c.gru_reset_after !== undefined) {
    check(type === 'gru', 'gru_reset_after on a non-GRU cell');
    layer.resetAfter = c.gru_reset_after;
  }
  if (type === 'rnn' && c.activation !== undefined && c.activation !== null) {
    if (!ACTIVATIONS.includes(c.activation)) throw new CaseFailure(`unknown activation ${JSON.stringify(c.activation)}`);
    if (c.activation === 'leaky_relu') layer.activation = { type: 'leaky_relu', slope: c.activation_param ?? 0.01 };
    else if (c.activation === 'elu') layer.activation = { type: 'elu', alpha: c.activation_param ?? 1 };
    else layer.activation = c.activation;
  } else if (c.activation !== undefined && c.activation !== null) {
    throw new CaseFailure(`activation '${c.activation}' on a ${c.cell} cell`);
  }
  return layer;
}

async function setParams(model, params) {
  const known = new Map(model.parameters().map((p) => [p.name, p.shape]));
  for (const name of Object.keys(params)) check(known.has(name), `the model has no parameter '${name}'`);
  for (const name of known.keys()) check(name in params, `the case gives no value for parameter '${name}'`);
  for (const [name, t] of Object.entries(params)) await model.setParam(name, shaped(t));
}

async function runRecurrent(recur, c, report) {
  check(c.tbptt === null || c.tbptt === undefined || (Number.isInteger(c.tbptt) && c.tbptt > 0), `bad tbptt ${c.tbptt}`);
  await recurrentPass(recur, c, report, shaped(c.x), '');
  // FORMAT.md: "x holds arbitrary values at padded steps: they must have no effect". Whatever a
  // case's padding holds, the same run with NaN, ±Infinity and 3e38 there must match too.
  if (c.lengths) await recurrentPass(recur, c, report, withGarbagePadding(c), ' (NaN/±∞ padding)');
}

const GARBAGE = [NaN, Infinity, -Infinity, 3e38];

/** The case's time-major x `[T, B, I]` with every value at a padded step (t >= lengths[b]) replaced. */
function withGarbagePadding(c) {
  const x = shaped(c.x);
  const [, batch, width] = x.shape;
  x.data.forEach((_, i) => {
    const row = Math.floor(i / width);
    if (Math.floor(row / batch) >= c.lengths[row % batch]) x.data[i] = GARBAGE[i % GARBAGE.length];
  });
  return x;
}

/** One forward and backward of a recurrent case on input `x`, checked against its expected values. */
async function recurrentPass(recur, c, report, x, label) {
  const tol = c.tolerance;
  const model = await recur.createModel({ inputSize: c.input_size, layers: [recurrentLayer(c)], seed: 0 });
  try {
    await setParams(model, c.params);
    const isLstm = c.cell === 'lstm' || c.cell === 'lstm_peephole';
    const fwd = await model.forward({
      x,
      layout: 'time-major',
      training: true,
      ...(c.h0 ? { h0: shaped(c.h0) } : {}),
      ...(c.c0 ? { c0: shaped(c.c0) } : {}),
      ...(c.lengths ? { lengths: c.lengths } : {}),
    });
    for (const k of Object.keys(c.expected)) if (!['output', 'h_n', 'c_n'].includes(k)) throw new CaseFailure(`unknown expected field '${k}'`);
    compare(report, `output${label}`, fwd.output.data, c.expected.output, tol);
    compare(report, `h_n${label}`, fwd.hN[0].data, c.expected.h_n, tol);
    if (c.expected.c_n) compare(report, `c_n${label}`, fwd.cN[0]?.data, c.expected.c_n, tol);
    else check(!isLstm, 'an LSTM case without expected c_n');
    for (const k of Object.keys(c.loss_weights)) if (!['output', 'h_n', 'c_n'].includes(k)) throw new CaseFailure(`unknown loss_weights field '${k}'`);
    const back = await model.backward({
      dOutput: shaped(c.loss_weights.output),
      ...(c.loss_weights.h_n ? { dHn: shaped(c.loss_weights.h_n) } : {}),
      ...(c.loss_weights.c_n ? { dCn: shaped(c.loss_weights.c_n) } : {}),
      ...(c.tbptt ? { tbptt: c.tbptt } : {}),
    });
    for (const [name, want] of Object.entries(c.expected_grads)) {
      if (name === 'x') compare(report, `grad x${label}`, back.x?.data, want, tol);
      else if (name === 'h0') compare(report, `grad h0${label}`, back.h0[0].data, want, tol);
      else if (name === 'c0') compare(report, `grad c0${label}`, back.c0[0]?.data, want, tol);
      else if (name in back.grads) compare(report, `grad ${name}${label}`, back.grads[name].data, want, tol);
      else throw new CaseFailure(`unknown expected_grads field '${name}'`);
    }
    for (const name of Object.keys(back.grads)) check(name in c.expected_grads, `no expected gradient for parameter '${name}'`);
  } finally {
    await model.dispose();
  }
}

async function runClip(recur, c, report) {
  const tol = c.tolerance;
  const grads = c.grads.map(shaped);
  if (c.mode === 'norm') {
    check(c.clip_value === undefined, "field 'clip_value' in a norm case");
    const r = await recur.clipGradNorm(grads, c.max_norm);
    compare(report, 'total_norm', [r.totalNorm], [c.expected_total_norm], tol);
    c.expected.forEach((want, i) => compare(report, `grads[${i}]`, r.grads[i].data, want, tol));
  } else if (c.mode === 'value') {
    check(c.max_norm === undefined && c.expected_total_norm === undefined, 'norm fields in a value case');
    const r = await recur.clipGradValue(grads, c.clip_value);
    c.expected.forEach((want, i) => compare(report, `grads[${i}]`, r[i].data, want, tol));
  } else {
    throw new CaseFailure(`unknown clip mode ${JSON.stringify(c.mode)}`);
  }
}

async function runOptimizer(recur, c, report) {
  const tol = c.tolerance;
  const opt = await recur.createOptimizer(optimizerConfig(c.optimizer, c.hyperparams), c.params.map(shaped));
  try {
    check(c.grads.length === c.expected.length, 'grads and expected differ in length');
    for (let s = 0; s < c.grads.length; s++) {
      const values = await opt.step(c.grads[s].map(shaped));
      c.expected[s].forEach((want, i) => compare(report, `step ${s} param ${i}`, values[i].data, want, tol));
    }
  } finally {
    await opt.dispose();
  }
}

async function runTraining(recur, c, report) {
  const tol = c.tolerance;
  check(c.head === 'sequence' || c.head === 'last', `unknown head ${JSON.stringify(c.head)}`);
  const lossName = { mse: 'mse', bce: 'bce', cross_entropy: 'crossEntropy' }[c.loss];
  check(lossName !== undefined, `unknown loss ${JSON.stringify(c.loss)}`);
  const layers = [recurrentLayer(c, { returnSequences: c.head === 'sequence' }), { type: 'dense', name: 'head', units: c.output_size }];
  const model = await recur.createModel({ inputSize: c.input_size, layers, seed: 0 });
  try {
    await setParams(model, c.params);
    const losses = [];
    const history = await model.fit(shaped(c.x), shaped(c.y), {
      layout: 'time-major',
      epochs: c.steps,
      batchSize: c.batch,
      shuffle: false,
      loss: lossName,
      optimizer: optimizerConfig(c.optimizer, c.hyperparams),
      ...(c.clip_norm === null || c.clip_norm === undefined ? {} : { clip: { norm: c.clip_norm } }),
      onBatchEnd: (b) => losses.push(b.loss),
    });
    check(history.steps === c.steps, `${history.steps} optimizer steps, expected ${c.steps}`);
    check(losses.length === c.steps, `${losses.length} batch reports, expected ${c.steps}`);
    compare(report, 'losses', losses, c.expected_losses, tol);
    for (const [name, want] of Object.entries(c.expected_params)) {
      compare(report, `param ${name}`, (await model.getParam(name)).data, want, tol);
    }
  } finally {
    await model.dispose();
  }
}

const RUNNERS = { recurrent: runRecurrent, clip: runClip, optimizer: runOptimizer, training: runTraining };

/** The case files of `dirs` (a file stands for itself), each with the directory it came from. */
function listCases(dirs) {
  const files = [];
  for (const d of dirs) {
    const st = statSync(d);
    if (st.isFile()) files.push({ file: d, dir: d });
    else for (const f of readdirSync(d).sort()) if (f.endsWith('.json')) files.push({ file: join(d, f), dir: d });
  }
  return files;
}

const VARIANTS = ['auto', 'relaxed-threads', 'threads', 'relaxed', 'simd', 'scalar'];
function parseArgs(argv) {
  const out = { variant: 'auto', threads: undefined, mode: 'worker', dirs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--variant' || a.startsWith('--variant=')) {
      out.variant = value();
      if (!VARIANTS.includes(out.variant)) throw new Error(`--variant must be one of ${VARIANTS.join(', ')}, got ${out.variant}`);
    } else if (a === '--threads' || a.startsWith('--threads=')) {
      const v = value();
      out.threads = Number(v);
      if (!Number.isSafeInteger(out.threads) || out.threads < 1) throw new Error(`--threads must be an integer >= 1, got ${v}`);
    } else if (a === '--mode' || a.startsWith('--mode=')) {
      out.mode = value();
      if (out.mode !== 'worker' && out.mode !== 'inprocess') throw new Error(`--mode must be worker or inprocess, got ${out.mode}`);
    } else if (a.startsWith('--')) {
      throw new Error(`unknown option ${a}`);
    } else {
      out.dirs.push(resolve(a));
    }
  }
  return out;
}

const args = parseArgs(process.argv.slice(2));
const dirs = args.dirs.length > 0 ? args.dirs : [join(here, 'vectors'), join(here, 'independent')];
// A forced single-thread build runs one thread unless --threads says otherwise.
const single = args.variant !== 'auto' && !args.variant.endsWith('threads');
const numThreads = args.threads ?? (single ? 1 : undefined);
const wasm = {
  ...(args.variant === 'auto' ? {} : { variant: args.variant }),
  ...(numThreads === undefined ? {} : { numThreads }),
};
const recur = sdk.createRecur({ mode: args.mode, wasm });
let passed = 0;
let failed = 0;
/** Passed and run cases per directory, for the summary. */
const perDir = new Map(dirs.map((d) => [d, { passed: 0, run: 0 }]));
try {
  const info = await recur.init();
  console.log(
    `conformance: variant ${info.variant}${args.variant === 'auto' ? ' (detected)' : ' (forced)'}, ${info.threads} thread(s)` +
      `${info.threadsFallback ? ` (fallback: ${info.threadsFallback})` : ''}, ${info.runtime} ${process.version} ${info.mode}, wasm ${info.version}`,
  );
  if (info.mode !== args.mode) throw new Error(`expected mode ${args.mode}, got ${info.mode}`);
  if (args.variant !== 'auto' && info.variant !== args.variant) throw new Error(`asked for the ${args.variant} build, got ${info.variant}`);
  if (args.threads !== undefined && info.threads !== args.threads) throw new Error(`asked for ${args.threads} threads, got ${info.threads}`);
  for (const { file, dir } of listCases(dirs)) {
    const count = perDir.get(dir);
    count.run++;
    let name = basename(file, '.json');
    const report = { maxError: 0 };
    try {
      const c = JSON.parse(readFileSync(file, 'utf8'));
      if (typeof c.name === 'string') name = c.name;
      checkFields(c);
      await RUNNERS[c.kind](recur, c, report);
      console.log(`ok ${name} (max error ${report.maxError.toExponential(2)})`);
      passed++;
      count.passed++;
    } catch (e) {
      const what = e instanceof CaseFailure ? e.message : `${e?.name ?? 'Error'}${e?.code ? ` ${e.code}` : ''}: ${e?.message ?? e}`;
      console.log(`FAIL ${name}: ${what}, max error ${(report.failError ?? report.maxError).toExponential(3)}`);
      failed++;
    }
  }
} finally {
  await recur.dispose();
}
const byDir = [...perDir].map(([d, c]) => `${basename(d)} ${c.passed}/${c.run}`).join(', ');
console.log(`${passed} passed, ${failed} failed (${byDir})`);
process.exit(failed > 0 ? 1 : 0);
