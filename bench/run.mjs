#!/usr/bin/env node
// The side-by-side benchmark: recur against TF.js (cpu, wasm), brain.js and ONNX Runtime Web.
//   node bench/run.mjs            full run (several minutes; run it on a quiet machine)
//   node bench/run.mjs --quick    one tiny configuration, short budgets (< 1 minute)
// Options: --only train,infer,gemm   --configs small,medium   --out DIR (default bench/)
// Second pass over some libraries into an earlier run (the other cells stay as they are):
//   node bench/run.mjs --libs recur-lstm,recur-bind-lstm --only train --merge bench/results.json
//     [--keep-load: keep the earlier run's load/init rows]  [--why "TEXT": why the pass was made]
// Re-render from a results.json: node bench/run.mjs --render bench/results.json
// Every cell runs in a fresh Node process (child.mjs); peers are interleaved A B C A B C.
// Writes RESULTS.md, results.svg and results.json; prints the tables as it goes.
// Never asserted anywhere: the numbers are for people.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONFIGS, inferFlops, LONG_CONFIGS, SINGLE_CONFIGS, trainFlops } from './lib/common.mjs';
import { renderSvg } from './lib/svg.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (k) => argv.includes(k);
const arg = (k, d) => {
  const i = argv.indexOf(k);
  return i >= 0 ? argv[i + 1] : d;
};
const QUICK = flag('--quick');
const ONLY = new Set(arg('--only', 'train,infer,gemm').split(','));
const CONFIG_NAMES = arg('--configs', QUICK ? 'tiny' : 'small,medium,large').split(',');
// Batch-1 inference (section "one sequence at a time"): with the full run only.
const SINGLE_NAMES = QUICK || arg('--configs') ? [] : SINGLE_CONFIGS;
// Training over long sequences (section "long sequences"): with the full run only, against TF.js
// wasm, the fastest peer (TF.js cpu and brain.js take 5–10 s a step there).
const LONG_NAMES = QUICK || arg('--configs') ? [] : LONG_CONFIGS;
const OUT = path.resolve(arg('--out', here));
const TRAIN_BUDGET = QUICK ? 600 : 3000;
const INFER_BUDGET = QUICK ? 400 : 2000;
const GEMM_BUDGET = QUICK ? 400 : 2000;
const MAX_STEPS = QUICK ? 10 : 50;
const CHILD_TIMEOUT_MS = QUICK ? 60_000 : 420_000;

const LIBS = arg('--libs') ? new Set(arg('--libs').split(',')) : null; // run only these (with --merge)
const keep = (libs) => (LIBS ? libs.filter((l) => LIBS.has(l)) : libs);
const TRAIN_LIBS = keep(['recur-lstm', 'tfjs-cpu', 'tfjs-wasm', 'brainjs', 'recur-lstm-2t', 'recur-bind-lstm', 'recur-lstm-relaxed', 'recur-lstm-2t-relaxed', 'recur-lstm-epoch8']);
const INFER_LIBS = keep(['recur-lstm', 'tfjs-wasm', 'ort-1t', 'ort-2t', 'recur-lstm-2t', 'recur-bind-lstm', 'recur-lstm-2t-inprocess', 'recur-lstm-2t-inprocess-spin5', 'recur-lstm-relaxed', 'recur-lstm-2t-relaxed']);
const RECUR_EXTRA = keep(['recur-gru', 'recur-rnn', 'recur-bind-gru', 'recur-bind-rnn']);
const LONG_LIBS = keep(['recur-lstm', 'tfjs-wasm', 'recur-lstm-2t', 'recur-bind-lstm']);
const LABEL = {
  'recur-lstm': 'recur LSTM',
  'recur-lstm-2t': 'recur LSTM, 2 threads',
  'recur-lstm-2t-inprocess': 'recur LSTM, 2 threads, in-process (calling thread + 1 helper, as ORT Web runs)',
  'recur-lstm-2t-inprocess-spin5': 'recur LSTM, 2 threads, in-process, helper spinning 5 ms between calls (`idleSpinMs: 5`; ORT Web\'s pool spins by default)',
  'recur-lstm-epoch8': 'recur LSTM, one `fit` over 8 batches (ms per batch)',
  'recur-gru': 'recur GRU',
  'recur-rnn': 'recur RNN',
  'recur-bind-lstm': 'recur LSTM (wasm bindings, calling thread)',
  'recur-lstm-relaxed': 'recur LSTM, relaxed-SIMD build (Node 20 needs --experimental-wasm-relaxed-simd)',
  'recur-lstm-2t-relaxed': 'recur LSTM, 2 threads, relaxed-SIMD threads build (Node 20 needs --experimental-wasm-relaxed-simd)',
  'recur-bind-gru': 'recur GRU (wasm bindings, calling thread)',
  'recur-bind-rnn': 'recur RNN (wasm bindings, calling thread)',
  'tfjs-cpu': 'TF.js cpu',
  'tfjs-wasm': 'TF.js wasm',
  brainjs: 'brain.js',
  'ort-1t': 'ORT Web, 1 thread',
  'ort-2t': 'ORT Web, 2 threads',
  recur: 'recur',
};
const NA = 'n/a (API not available)';
const kindOf = (lib) => lib.replace(/^recur-(bind-)?/, '').split('-')[0];
/** Node flags of a cell's child process: the relaxed-SIMD rows need them on Node 20 (V8 11.3). */
const flagsOf = (lib) => (lib.endsWith('-relaxed') ? ['--experimental-wasm-relaxed-simd'] : []);

// ---------------------------------------------------------------------------------------------
function runChild(task, lib, config, { budget, nodeFlags = [] } = {}) {
  return new Promise((resolve) => {
    const args = [...nodeFlags, path.join(here, 'child.mjs'), task, lib, config, '--budget', String(budget), '--max-steps', String(MAX_STEPS)];
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: here });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)));
      const why = signal ? `killed (${signal}) after ${CHILD_TIMEOUT_MS} ms` : `exit ${code}`;
      resolve({ task, lib, config, ok: false, error: `${why}: ${(err.trim().split('\n').pop() || out.trim().split('\n').pop() || '').slice(0, 300)}` });
    });
  });
}

function mergeRuns(runs) {
  const ok = runs.filter((r) => r.ok);
  if (ok.length === 0) return runs[runs.length - 1];
  const times = ok.flatMap((r) => r.times ?? []);
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return {
    ...ok[0],
    median,
    min: s[0],
    max: s[s.length - 1],
    n: s.length,
    processes: ok.length,
    maxStallMs: Math.max(...ok.map((r) => r.maxStallMs)),
    stallMedianMs: (() => {
      const st = ok.flatMap((r) => r.stalls ?? []).sort((a, b) => a - b);
      return st.length ? st[st.length >> 1] : undefined;
    })(),
    peakRssMB: Math.max(...ok.map((r) => r.peakRssMB)),
    baselineRssMB: Math.min(...ok.map((r) => r.baselineRssMB)),
    // process CPU over the timed loops (gaps included), summed over the processes
    ...(ok.every((r) => Number.isFinite(r.cpuMs) && Number.isFinite(r.loopMs))
      ? { cpuMs: ok.reduce((a, r) => a + r.cpuMs, 0), loopMs: ok.reduce((a, r) => a + r.loopMs, 0), cpuSteps: ok.reduce((a, r) => a + (r.times?.length ?? 0) * (r.stepsPerCall ?? 1), 0) }
      : {}),
    ...(ok.every((r) => Number.isFinite(r.wasmHeapMB))
      ? { wasmHeapMB: Math.max(...ok.map((r) => r.wasmHeapMB)), wasmEmptyMB: Math.min(...ok.map((r) => r.wasmEmptyMB)) }
      : {}),
  };
}

/** Runs every lib on every config, interleaved: per config, rounds of A B C …; returns cells[config][lib]. */
async function interleaved(task, libs, budget, onCell, configs = CONFIG_NAMES) {
  const cells = {};
  for (const cfg of configs) {
    cells[cfg] = {};
    // Inference cells are short: three rounds at every size, so a burst of load from the host
    // falls on every library's share alike rather than on one cell (training: two, one at large).
    const rounds = QUICK ? 1 : task === 'infer' ? 3 : cfg === 'large' ? 1 : 2;
    const runs = Object.fromEntries(libs.map((l) => [l, []]));
    for (let r = 0; r < rounds; r++) {
      for (const lib of libs) {
        // a lib that is not available answers at once: do not ask it again
        if (r > 0 && runs[lib].length && runs[lib].every((x) => !x.ok)) continue;
        runs[lib].push(await runChild(task, lib, cfg, { budget: budget / rounds, nodeFlags: flagsOf(lib) }));
      }
    }
    for (const lib of libs) {
      cells[cfg][lib] = mergeRuns(runs[lib]);
      onCell?.(cfg, lib, cells[cfg][lib]);
    }
  }
  return cells;
}

// ---------------------------------------------------------------------------------------------
const f = (x, d = 1) => (x === undefined || x === null || !Number.isFinite(x) ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(d));
const fms = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const cfgLabel = (n) => {
  const c = CONFIGS[n];
  return `${n} (${c.B}, ${c.T}, ${c.I}, ${c.H})`;
};
let PEAK = null; // simd128 GFLOP/s reference

function failText(r) {
  if (r.na) return `${NA}: ${r.error}`;
  return `failed: ${r.error}`;
}

/** A table row; `heap`: the training tables' extra column, the wasm heap of recur's rows. */
function stepRow(cfg, lib, r, flops, heap = false) {
  const c = CONFIGS[cfg];
  if (!r.ok) return `| ${cfgLabel(cfg)} | ${LABEL[lib]} | ${failText(r)} | | | | | | |${heap ? ' |' : ''}`;
  const g = flops / (r.median * 1e6);
  const frac = PEAK ? `${((100 * g) / PEAK).toFixed(1)} %` : '–';
  return `| ${cfgLabel(cfg)} | ${LABEL[lib]}${r.supplement ? ' ²' : ''} | ${fms(r.median)} (${fms(r.min)}–${fms(r.max)}, n=${r.n}) | ${f((c.B * 1000) / r.median, 0)} | ${f(g, g < 0.1 ? 4 : 2)} | ${frac} | ${f(r.peakRssMB, 0)} (+${f(r.peakRssMB - r.baselineRssMB, 0)}) | ${fms(r.maxStallMs)} (${r.stallMedianMs === undefined ? '–' : fms(r.stallMedianMs)}) | ${cpuText(r)} |${heap ? ` ${Number.isFinite(r.wasmHeapMB) ? r.wasmHeapMB.toFixed(2) : '–'} |` : ''}`;
}
/** Process CPU per step (ms) and the cores it kept busy over the timed loop, 2 ms gaps included. */
const cpuText = (r) => (Number.isFinite(r.cpuMs) && r.cpuSteps > 0 && r.loopMs > 0 ? `${fms(r.cpuMs / r.cpuSteps)} (${(r.cpuMs / r.loopMs).toFixed(2)})` : '–');
const STEP_HEADER = [
  '| config (B, T, I, H) | library | ms per step: median (min–max, n) | sequences/s | GFLOP/s | of simd128 peak | peak RSS MB (+ over start) | longest stall of the calling thread, ms: max (median over steps) | process CPU per step, ms (cores busy, gaps included) |',
  '|---|---|---|---|---|---|---|---|---|',
];
/** The training tables: one more column, the wasm heap of recur's rows. */
const TRAIN_HEADER = [
  `${STEP_HEADER[0]} wasm heap MB (over the empty module) |`,
  `${STEP_HEADER[1]}---|`,
];

function gemmRows(cells) {
  const lines = [
    '| config | shape | M × K × N | TF.js wasm matMul: ms (median) | TF.js GFLOP/s best (median) | recur GEMM GFLOP/s best (median) | of simd128 peak: TF.js / recur (best) |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const cfg of Object.keys(cells)) {
    const t = cells[cfg]['tfjs-wasm'];
    const rr = cells[cfg].recur;
    const shapes = t.ok ? t.rows : rr.ok ? rr.rows : [];
    if (shapes.length === 0) lines.push(`| ${cfgLabel(cfg)} | | | ${failText(t)} | | ${failText(rr)} | |`);
    shapes.forEach((s, i) => {
      const tr = t.ok ? t.rows[i] : null;
      const rc = rr.ok ? rr.rows[i] : null;
      lines.push(
        `| ${cfgLabel(cfg)}${t.supplement || rr.supplement ? ' ²' : ''} | ${s.name} | ${s.M} × ${s.K} × ${s.N} | ${tr ? fms(tr.msMedian) : failText(t)} | ${tr ? `${f(tr.gflops, 2)} (${f(tr.gflopsMedian, 2)})` : ''} | ${rc ? `${f(rc.gflops, 2)} (${f(rc.gflopsMedian, 2)})` : failText(rr)} | ${PEAK ? `${tr ? `${((100 * tr.gflops) / PEAK).toFixed(0)} %` : '–'} / ${rc ? `${((100 * rc.gflops) / PEAK).toFixed(0)} %` : '–'}` : '–'} |`,
      );
    });
  }
  return lines;
}

// Issue 5's "wasm ≤ 300 KB" in its stricter reading: KB = 1000 bytes.
const WASM_LIMIT_BYTES = 300_000;
const bytesText = (n) => `${n.toLocaleString('en-US')} bytes`;

/** Fresh processes that measure the SDK's load and init: one sample is at the mercy of the host. */
const LOAD_RUNS = 5;

/**
 * Runs the `load` child `n` times (fresh processes, one after the other) and returns the run whose
 * SDK init time is the median, with every run's time in `sdkInitMsAll` (a failed run: the failure).
 */
async function loadRuns(n) {
  const runs = [];
  for (let i = 0; i < n; i++) {
    const r = await runChild('load', 'recur', 'tiny', { budget: 0 });
    if (!r.ok || !Number.isFinite(r.sdk?.initMs)) return r;
    runs.push(r);
  }
  const byInit = [...runs].sort((a, b) => a.sdk.initMs - b.sdk.initMs);
  return { ...byInit[(n - 1) >> 1], sdkInitMsAll: runs.map((r) => r.sdk.initMs) };
}

function loadRows(r) {
  const lines = ['| what | size | load + init |', '|---|---|---|'];
  if (!r?.ok) return [...lines, `| recur | | ${failText(r ?? { error: 'not run' })} |`];
  const all = r.sdkInitMsAll;
  const spread = all?.length > 1 ? `; median of ${all.length} fresh processes, range ${fms(Math.min(...all))}–${fms(Math.max(...all))}` : '';
  lines.push(`| SDK, \`createRecur({mode: 'worker'}).init()\` in a fresh Node process (worker start + wasm compile + init) | | ${r.sdk?.initMs ? `${fms(r.sdk.initMs)} ms (${r.sdk.info?.variant ?? '?'} variant${spread})` : `n/a: ${r.sdk?.error}`} |`);
  for (const v of r.variants) lines.push(`| wasm bindings, ${v.variant} variant (read + compile + initSync, calling thread) | ${bytesText(v.bytes)} | ${v.valid ? `${fms(v.initMs)} ms` : 'not valid on this runtime'} |`);
  return lines;
}

/**
 * Appends a section of one table to `L`: its title, what it measures, a row per cell of `cells`
 * (`flopsOf(cfg)` per step; `heap`: the training tables' wasm heap column) and `summary`.
 */
function pushSection(L, title, about, cells, flopsOf, heap, summary) {
  L.push(title, about, '', ...(heap ? TRAIN_HEADER : STEP_HEADER));
  for (const cfg of Object.keys(cells)) for (const lib of Object.keys(cells[cfg])) L.push(stepRow(cfg, lib, cells[cfg][lib], flopsOf(cfg), heap));
  L.push('', ...summary, '');
}

/**
 * One line per configuration of a section without a target: recur's rows against a peer's
 * (`pairs`: [recur lib, peer lib, how]), as the peer's time over ours.
 */
function ratioLines(cells, pairs, peerName, digits) {
  const lines = [];
  for (const cfg of Object.keys(cells)) {
    const parts = [];
    for (const [lib, peer, how] of pairs) {
      const r = ratio(cells[cfg][lib], cells[cfg][peer]);
      if (r) parts.push(`${how} ${r.toFixed(digits)}×`);
    }
    if (parts.length) lines.push(`- ${cfgLabel(cfg)}: recur against ${peerName} (its time / ours): ${parts.join(', ')}`);
  }
  return lines;
}

/** recur against TF.js wasm over long sequences. */
function longSummary(cells) {
  const pairs = [['recur-lstm', 'tfjs-wasm', 'SDK, 1 thread'], ['recur-bind-lstm', 'tfjs-wasm', 'bindings, 1 thread'], ['recur-lstm-2t', 'tfjs-wasm', 'SDK, 2 threads']];
  return ratioLines(cells, pairs, 'TF.js wasm', 1);
}

/** recur against ORT Web at batch 1, one thread against one and two against two, and the outputs' agreement. */
function singleSummary(cells) {
  const pairs = [
    ['recur-lstm', 'ort-1t', 'SDK, 1 thread vs 1'],
    ['recur-bind-lstm', 'ort-1t', 'bindings, 1 thread vs 1'],
    ['recur-lstm-2t', 'ort-2t', 'SDK, 2 threads vs 2'],
    ['recur-lstm-2t-inprocess', 'ort-2t', 'SDK in-process, 2 threads vs 2'],
    ['recur-lstm-2t-inprocess-spin5', 'ort-2t', 'SDK in-process, helper spinning, 2 threads vs 2'],
  ];
  const checks = Object.keys(cells).map((cfg) => outputCheck(cells, cfg)).filter((line) => line);
  return [...ratioLines(cells, pairs, 'ORT Web', 2), ...checks.map((line) => `- ${line}`)];
}

function outputCheck(cells, cfg) {
  const ref = cells[cfg]['tfjs-wasm'];
  if (!ref?.ok || !ref.out) return '';
  const parts = [];
  for (const [lib, r] of Object.entries(cells[cfg])) {
    if (lib === 'tfjs-wasm' || !r.ok || !r.out) continue;
    const d = Math.max(...r.out.map((v, i) => Math.abs(v - ref.out[i])));
    parts.push(`${LABEL[lib]} ${d.toExponential(1)}`);
  }
  return parts.length ? `${cfg}: max |Δ| of the first outputs against TF.js wasm: ${parts.join(', ')}` : '';
}

function print(lines) {
  process.stdout.write(`${lines.join('\n')}\n`);
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/model name\s*:\s*(.*)/) || [])[1] ?? os.cpus()[0]?.model;
  const flags = (cpuinfo.match(/flags\s*:\s*(.*)/) || [])[1] ?? '';
  const isa = ['avx2', 'fma', 'avx512f'].filter((x) => flags.split(' ').includes(x)).join(', ');
  return { cpu: model, isa, cores: os.availableParallelism?.() ?? os.cpus().length, node: process.version, v8: process.versions.v8, date: new Date().toISOString(), load: os.loadavg() };
}

// ---------------------------------------------------------------------------------------------
/** --render FILE: writes RESULTS.md and results.svg again from a results.json (e.g. after editing NOTES.md). */
function rerender(file) {
  const R = JSON.parse(fs.readFileSync(file, 'utf8'));
  PEAK = Math.max(R.peakStart?.simd128?.gflops ?? 0, R.peakEnd?.simd128?.gflops ?? 0) || null;
  const suffix = R.quick ? '.quick' : '';
  fs.writeFileSync(path.join(OUT, `RESULTS${suffix}.md`), renderMarkdown(R));
  fs.writeFileSync(path.join(OUT, `results${suffix}.svg`), renderSvg(R, { LABEL, CONFIGS, trainFlops, inferFlops }));
  print([`wrote ${path.join(OUT, `RESULTS${suffix}.md`)} and results${suffix}.svg from ${file}`]);
}

async function main() {
  if (arg('--render')) return rerender(path.resolve(arg('--render')));
  const t0 = Date.now();
  const m = machine();
  print([`# recur benchmark${QUICK ? ' (--quick)' : ''}`, `${m.cpu} (${m.isa}), ${m.cores} cores, Node ${m.node} (V8 ${m.v8}), ${m.date}, load average at start ${m.load.map((x) => x.toFixed(2)).join(' ')}`, '']);
  const results = { machine: m, quick: QUICK, configs: CONFIG_NAMES };
  const mergeInto = arg('--merge') ? JSON.parse(fs.readFileSync(path.resolve(arg('--merge')), 'utf8')) : null;

  // 1. the wasm simd128 peak, in a fresh process with relaxed SIMD enabled where Node needs a flag
  const peakFlags = ['--experimental-wasm-relaxed-simd'];
  let peak0 = await runChild('peak', 'wasm', 'tiny', { budget: QUICK ? 300 : 1500, nodeFlags: peakFlags });
  if (!peak0.ok) peak0 = await runChild('peak', 'wasm', 'tiny', { budget: QUICK ? 300 : 1500 });
  results.peakStart = peak0;
  PEAK = peak0.ok && peak0.simd128?.available ? peak0.simd128.gflops : null;
  print([
    '## wasm simd128 peak (one core)',
    `f32x4.mul + f32x4.add chains: ${f(peak0.simd128?.gflops, 1)} GFLOP/s; f32x4.relaxed_madd: ${peak0.relaxed?.available ? `${f(peak0.relaxed.gflops, 1)} GFLOP/s` : 'not available'}`,
    '',
  ]);

  // recur's load and init (fresh processes: LOAD_RUNS of them, the median reported)
  if (!mergeInto || (LIBS.has('recur-lstm') && !flag('--keep-load'))) {
    results.load = await loadRuns(LOAD_RUNS);
    print(['## recur: wasm size and load/init', ...loadRows(results.load), '']);
  }

  if (ONLY.has('train')) {
    print(['## Training step (LSTM + dense head, MSE, Adam; BPTT)', ...TRAIN_HEADER]);
    results.train = await interleaved('train', TRAIN_LIBS, TRAIN_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, trainFlops(CONFIGS[cfg]), true)]));
    print(['', '## recur: GRU and RNN training', ...TRAIN_HEADER]);
    results.trainRecur = await interleaved('train', RECUR_EXTRA, TRAIN_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, trainFlops(CONFIGS[cfg], kindOf(lib)), true)]));
    print(['']);
    if (LONG_NAMES.length) {
      print(['## Training over long sequences', ...TRAIN_HEADER]);
      results.trainLong = await interleaved('train', LONG_LIBS, TRAIN_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, trainFlops(CONFIGS[cfg]), true)]), LONG_NAMES);
      print([...longSummary(results.trainLong), '']);
    }
  }
  if (ONLY.has('infer')) {
    print(['## Inference (forward only, one batch, same weights)', ...STEP_HEADER]);
    results.infer = await interleaved('infer', INFER_LIBS, INFER_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, inferFlops(CONFIGS[cfg]))]));
    for (const cfg of CONFIG_NAMES) {
      const line = outputCheck(results.infer, cfg);
      if (line) print([line]);
    }
    print(['', '## recur: GRU and RNN inference', ...STEP_HEADER]);
    results.inferRecur = await interleaved('infer', RECUR_EXTRA, INFER_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, inferFlops(CONFIGS[cfg], kindOf(lib)))]));
    print(['']);
    if (SINGLE_NAMES.length) {
      print(['## Inference of one sequence at a time (batch 1)', ...STEP_HEADER]);
      results.inferSingle = await interleaved('infer', INFER_LIBS, INFER_BUDGET, (cfg, lib, r) => print([stepRow(cfg, lib, r, inferFlops(CONFIGS[cfg]))]), SINGLE_NAMES);
      print([...singleSummary(results.inferSingle), '']);
    }
  }
  if (ONLY.has('gemm')) {
    results.gemm = await interleaved('gemm', ['recur', 'tfjs-wasm'], GEMM_BUDGET);
    print(['## GEMM on the LSTM shapes', ...gemmRows(results.gemm), '']);
  }

  // the peak again at the end: the machine may have changed under the run
  let peak1 = await runChild('peak', 'wasm', 'tiny', { budget: QUICK ? 300 : 1500, nodeFlags: peakFlags });
  if (!peak1.ok) peak1 = await runChild('peak', 'wasm', 'tiny', { budget: QUICK ? 300 : 1500 });
  results.peakEnd = peak1;
  results.machine.loadEnd = os.loadavg();
  results.wallS = (Date.now() - t0) / 1000;
  print([`simd128 peak at the end: ${f(peak1.simd128?.gflops, 1)} GFLOP/s (relaxed madd ${f(peak1.relaxed?.gflops, 1)}); wall time ${results.wallS.toFixed(0)} s; load average at end ${results.machine.loadEnd.map((x) => x.toFixed(2)).join(' ')}`]);

  if (mergeInto) {
    // a second pass over some libraries: its cells replace those of the first run, the rest stays
    const R = mergeInto;
    for (const key of ['train', 'trainRecur', 'trainLong', 'infer', 'inferRecur', 'inferSingle', 'gemm']) {
      for (const [cfg, cells] of Object.entries(results[key] ?? {})) {
        R[key] ??= {};
        R[key][cfg] ??= {};
        for (const [lib, cell] of Object.entries(cells)) {
          // the first pass's figures stay on record (RESULTS.md lists them beside the new ones)
          const old = R[key][cfg][lib];
          const replaced = old?.ok ? replacedFigures(old) : undefined;
          R[key][cfg][lib] = { ...cell, supplement: true, ...(replaced ? { replaced } : {}) };
        }
      }
    }
    if (results.load) R.load = results.load;
    (R.supplements ??= []).push({ libs: [...LIBS], date: m.date, load: m.load, loadEnd: os.loadavg(), peak: peak1.simd128?.gflops, ...(arg('--why') ? { why: arg('--why') } : {}) });
    Object.assign(results, R, { supplements: R.supplements });
  }
  // the reference for RESULTS.md: the better of the two peak measurements (contention only lowers it)
  const best = Math.max(results.peakStart?.simd128?.gflops ?? 0, results.peakEnd?.simd128?.gflops ?? 0);
  if (best > 0) PEAK = best;
  const suffix = QUICK ? '.quick' : '';
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, `results${suffix}.json`), `${JSON.stringify(results, null, 1)}\n`);
  fs.writeFileSync(path.join(OUT, `RESULTS${suffix}.md`), renderMarkdown(results));
  fs.writeFileSync(path.join(OUT, `results${suffix}.svg`), renderSvg(results, { LABEL, CONFIGS, trainFlops, inferFlops }));
  print([`wrote ${path.join(OUT, `RESULTS${suffix}.md`)}, results${suffix}.svg, results${suffix}.json`]);
}

// ---------------------------------------------------------------------------------------------
function ratio(a, b) {
  return a?.ok && b?.ok ? b.median / a.median : null;
}

/** How a ratio's cells were measured, when recur's came from a second pass (empty otherwise);
 * `via` names recur's path first ("SDK, "). */
function passNote(recurCell, peerCell, via = '') {
  if (!recurCell?.supplement) return '';
  return peerCell?.supplement ? ` (${via}second pass ², interleaved with the peer there)` : ` (${via}second pass ²; the peer from the first pass)`;
}

/** What BPTT must keep for one LSTM step, in bytes: per time step the four gates, c, tanh(c) and
 * h of every row plus the input; the parameters (two biases, as PyTorch), their gradients and
 * Adam's two moments. */
function bpttBytes(c) {
  const O = c.I;
  const P = 4 * c.H * (c.I + c.H) + 8 * c.H + c.H * O + O;
  return 4 * (c.T * c.B * (7 * c.H + c.I) + 4 * P);
}

/** The inference speed-up over ORT Web issue 5 asks for at `cfg`: 1× at small (and tiny), 1.5× above. */
const inferenceWant = (cfg) => (cfg === 'small' || cfg === 'tiny' ? 1 : 1.5);

function targets(R) {
  const lines = ['| target | measured | status |', '|---|---|---|'];
  const pick = (cells) => (cells?.['recur-lstm']?.ok ? [cells['recur-lstm'], cells['recur-lstm'].supplement ? ' (SDK, second pass ²)' : ' (SDK)'] : cells?.['recur-bind-lstm']?.ok ? [cells['recur-bind-lstm'], ' (wasm bindings on the calling thread: the SDK path is not available)'] : [cells?.['recur-lstm'], '']);
  const recurTrain = (cfg) => pick(R.train?.[cfg])[0];
  const via = (cells) => pick(cells)[1];
  const add = (t, v, s) => lines.push(`| ${t} | ${v} | ${s} |`);
  for (const cfg of ['medium', 'large']) {
    const r = ratio(recurTrain(cfg), R.train?.[cfg]?.['tfjs-wasm']);
    add(`training ≥ 15× TF.js wasm, ${cfg}, 1 thread`, r ? `${r.toFixed(1)}×${via(R.train?.[cfg])}` : NA, r ? (r >= 15 ? 'met' : 'not met') : 'n/a');
  }
  // the bindings rows ran interleaved with the peers in the same pass: the same targets on them
  for (const cfg of ['medium', 'large']) {
    const r = ratio(R.train?.[cfg]?.['recur-bind-lstm'], R.train?.[cfg]?.['tfjs-wasm']);
    if (r) add(`training ≥ 15× TF.js wasm, ${cfg}, 1 thread — recur wasm bindings, interleaved with the peers`, `${r.toFixed(1)}×`, r >= 15 ? 'met' : 'not met');
  }
  for (const cfg of Object.keys(R.infer ?? {})) {
    const o1 = ratio(R.infer[cfg]['recur-bind-lstm'], R.infer[cfg]['ort-1t']);
    const want = inferenceWant(cfg);
    if (o1) add(`inference ≥ ${want}× ORT Web (1 thread vs 1), ${cfg} — recur wasm bindings, interleaved with the peers`, `${o1.toFixed(2)}×${passNote(R.infer[cfg]['recur-bind-lstm'], R.infer[cfg]['ort-1t'])}`, o1 >= want ? 'met' : 'not met');
  }
  // the relaxed-SIMD builds (what Chrome ≥ 114, Node ≥ 22 and Deno 2 pick; Node 20 only with a
  // flag), also interleaved with the peers: the same targets, reported apart from the rows above
  const RELAXED = ' — relaxed-SIMD build (Node 20 with --experimental-wasm-relaxed-simd)';
  for (const cfg of ['medium', 'large']) {
    for (const [lib, want, how] of [['recur-lstm-relaxed', 15, '1 thread'], ['recur-lstm-2t-relaxed', 30, '2 threads on 2 cores']]) {
      const r = ratio(R.train?.[cfg]?.[lib], R.train?.[cfg]?.['tfjs-wasm']);
      if (r) add(`training ≥ ${want}× TF.js wasm, ${cfg}, ${how}${RELAXED}`, `${r.toFixed(1)}×${passNote(R.train[cfg][lib], R.train[cfg]['tfjs-wasm'])}`, r >= want ? 'met' : 'not met');
    }
  }
  for (const cfg of Object.keys(R.infer ?? {})) {
    const want = inferenceWant(cfg);
    for (const [lib, ort, how] of [['recur-lstm-relaxed', 'ort-1t', '1 thread vs 1'], ['recur-lstm-2t-relaxed', 'ort-2t', '2 threads vs 2']]) {
      const o = ratio(R.infer[cfg][lib], R.infer[cfg][ort]);
      if (o) add(`inference ≥ ${want}× ORT Web (${how}), ${cfg}${RELAXED}`, `${o.toFixed(2)}×${passNote(R.infer[cfg][lib], R.infer[cfg][ort])}`, o >= want ? 'met' : 'not met');
    }
  }
  for (const cfg of ['medium', 'large']) {
    const r = ratio(R.train?.[cfg]?.['recur-lstm-2t'], R.train?.[cfg]?.['tfjs-wasm']);
    add(`training ≥ 30× TF.js wasm with 2 threads on 2 cores, ${cfg}`, r ? `${r.toFixed(1)}×${passNote(R.train[cfg]['recur-lstm-2t'], R.train[cfg]['tfjs-wasm'])}` : failText(R.train?.[cfg]?.['recur-lstm-2t'] ?? { error: 'not run' }), r ? (r >= 30 ? 'met' : 'not met') : 'n/a');
  }
  const rl = recurTrain('large');
  if (rl?.ok && PEAK) {
    const g = trainFlops(CONFIGS.large) / (rl.median * 1e6);
    add('≥ 50 % of simd128 peak, large, 1 thread', `${((100 * g) / PEAK).toFixed(1)} %${via(R.train?.large)}`, g / PEAK >= 0.5 ? 'met' : 'not met');
  } else add('≥ 50 % of simd128 peak, large, 1 thread', NA, 'n/a');
  if (R.gemm && Object.values(R.gemm).some((c) => c.recur?.ok)) {
    let wins = 0;
    let all = 0;
    for (const c of Object.values(R.gemm)) {
      if (!c.recur?.ok || !c['tfjs-wasm']?.ok) continue;
      c.recur.rows.forEach((r, i) => {
        all++;
        if (r.gflops >= c['tfjs-wasm'].rows[i].gflops) wins++;
      });
    }
    add('GEMM ≥ TF.js XNNPACK matMul on every LSTM shape', `recur at least as fast on ${wins} of ${all} shapes (best of N)`, all && wins === all ? 'met' : 'not met');
  } else add('GEMM ≥ TF.js XNNPACK matMul on every LSTM shape', 'n/a (no GEMM benchmark export in the recur wasm build)', 'n/a');
  for (const cfg of Object.keys(R.infer ?? {})) {
    const rr = pick(R.infer[cfg])[0];
    const o1 = ratio(rr, R.infer[cfg]['ort-1t']);
    const want = inferenceWant(cfg);
    add(`inference ≥ ${want}× ORT Web (1 thread vs 1), ${cfg}`, o1 ? `${o1.toFixed(2)}×${rr?.supplement ? passNote(rr, R.infer[cfg]['ort-1t'], rr === R.infer[cfg]['recur-lstm'] ? 'SDK, ' : 'bindings, ') : via(R.infer[cfg])}` : NA, o1 ? (o1 >= want ? 'met' : 'not met') : 'n/a');
  }
  for (const cfg of Object.keys(R.infer ?? {})) {
    const o2 = ratio(R.infer[cfg]['recur-lstm-2t'], R.infer[cfg]['ort-2t']);
    const want = inferenceWant(cfg);
    add(`inference ≥ ${want}× ORT Web (2 threads vs 2), ${cfg}`, o2 ? `${o2.toFixed(2)}×${passNote(R.infer[cfg]['recur-lstm-2t'], R.infer[cfg]['ort-2t'])}` : failText(R.infer[cfg]['recur-lstm-2t'] ?? { error: 'not run' }), o2 ? (o2 >= want ? 'met' : 'not met') : 'n/a');
  }
  // The same target with recur placed as ORT Web runs in Node: on the calling thread with one
  // helper, in-process; with its helper sleeping between calls (recur's default), and spinning
  // through the benchmark's 2 ms gaps as ORT Web's pool does (the CPU column shows the cost).
  for (const cfg of Object.keys(R.infer ?? {})) {
    const want = inferenceWant(cfg);
    for (const [lib, how] of [['recur-lstm-2t-inprocess', 'in-process on the calling thread, as ORT Web'], ['recur-lstm-2t-inprocess-spin5', 'in-process, helper spinning between calls, as ORT Web\'s']]) {
      const o = ratio(R.infer[cfg][lib], R.infer[cfg]['ort-2t']);
      if (o) add(`inference ≥ ${want}× ORT Web (2 threads vs 2), ${cfg} — recur ${how}`, `${o.toFixed(2)}×${passNote(R.infer[cfg][lib], R.infer[cfg]['ort-2t'])}`, o >= want ? 'met' : 'not met');
    }
  }
  if (R.load?.ok) {
    for (const v of R.load.variants) add(`wasm ≤ 300 KB (${bytesText(WASM_LIMIT_BYTES)}), ${v.variant} variant`, bytesText(v.bytes), v.bytes <= WASM_LIMIT_BYTES ? 'met' : 'not met');
    if (R.load.sdk?.initMs) add('load and init in a Node worker < 100 ms', `${fms(R.load.sdk.initMs)} ms${R.load.sdkInitMsAll?.length > 1 ? ` (median of ${R.load.sdkInitMsAll.length})` : ''}`, R.load.sdk.initMs < 100 ? 'met' : 'not met');
  }
  // peak memory: the growth of recur's wasm linear memory from before the model was created to
  // after the timed steps (it never shrinks, so that is the step's high-water mark) against 2× the
  // estimate; the process RSS (JIT, worker, the module itself) is given for reference only
  for (const cfg of Object.keys(R.train ?? {})) {
    const [r, how] = pick(R.train?.[cfg]);
    const need = bpttBytes(CONFIGS[cfg]) / 2 ** 20;
    const bind = R.train?.[cfg]?.['recur-bind-lstm'];
    const heap = r?.ok && Number.isFinite(r.wasmHeapMB) ? r.wasmHeapMB : null;
    const others = [
      bind !== r && Number.isFinite(bind?.wasmHeapMB) ? `wasm bindings ${bind.wasmHeapMB.toFixed(2)} MB (${(bind.wasmHeapMB / need).toFixed(2)}×)` : null,
      r?.ok ? `peak RSS +${f(r.peakRssMB - r.baselineRssMB, 0)} MB over process start, process-wide` : null,
    ].filter(Boolean);
    add(
      `peak memory ≤ 2× what BPTT must keep, ${cfg} (≈ ${need.toFixed(2)} MB: activations, parameters, gradients, Adam state; limit ${(2 * need).toFixed(2)} MB)`,
      heap !== null ? `wasm heap +${heap.toFixed(2)} MB over the empty module = ${(heap / need).toFixed(2)}× the estimate${how}${others.length ? `; ${others.join('; ')}` : ''}` : r?.ok ? `no wasm heap figure (build without \`wasmMemoryBytes\`); peak RSS +${f(r.peakRssMB - r.baselineRssMB, 0)} MB over process start, process-wide` : NA,
      heap !== null ? (heap <= 2 * need ? 'met' : 'not met') : r?.ok ? 'not shown' : 'n/a',
    );
  }
  return lines;
}

/** What a second pass keeps of a cell it replaces: a step cell's median and range, a GEMM cell's
 * GFLOP/s per shape. */
function replacedFigures(cell) {
  if (cell.rows) return { rows: cell.rows.map(({ name, M, K, N, gflops, gflopsMedian }) => ({ name, M, K, N, gflops, gflopsMedian })) };
  return { median: cell.median, min: cell.min, max: cell.max, n: cell.n };
}

/** `"<label>, <config>: <first pass> → <second pass>"` for each cell (GEMM: each shape) a second
 * pass replaced: `steps` in ms per step, `gemm` in GFLOP/s. */
function replacedCells(R, sup) {
  const steps = [];
  const gemm = [];
  const fmt = (r) => `${fms(r.median)} (${fms(r.min)}–${fms(r.max)}, n=${r.n})`;
  const fmtGemm = (row) => `${f(row.gflops, 2)} (${f(row.gflopsMedian, 2)})`;
  for (const [key, what] of [['train', 'training'], ['trainRecur', 'training'], ['trainLong', 'training'], ['infer', 'inference'], ['inferRecur', 'inference'], ['inferSingle', 'inference'], ['gemm', 'GEMM']]) {
    for (const [cfg, cells] of Object.entries(R[key] ?? {})) {
      for (const [lib, cell] of Object.entries(cells)) {
        if (!cell.replaced || !sup.libs.includes(lib)) continue;
        if (key !== 'gemm') steps.push(`${what}, ${LABEL[lib] ?? lib}, ${cfg}: ${fmt(cell.replaced)} → ${fmt(cell)}`);
        else for (const [i, row] of (cell.replaced.rows ?? []).entries()) if (cell.rows?.[i]) gemm.push(`${LABEL[lib] ?? lib}, ${cfg} ${row.M} × ${row.K} × ${row.N}: ${fmtGemm(row)} → ${fmtGemm(cell.rows[i])}`);
      }
    }
  }
  return { steps, gemm };
}

function renderMarkdown(R) {
  const m = R.machine;
  const L = [];
  const p0 = R.peakStart;
  const p1 = R.peakEnd;
  L.push(`# recur benchmark results${R.quick ? ' (--quick smoke run: not meaningful numbers)' : ''}`);
  L.push('');
  L.push('Generated by `bash scripts/bench.sh` (`pnpm --filter @recur/bench bench`, `node bench/run.mjs`). Never asserted in tests.');
  L.push('');
  L.push('## Machine');
  L.push(`- CPU: ${m.cpu} (${m.isa || 'no AVX2/FMA flag seen'}), ${m.cores} cores`);
  L.push(`- Node ${m.node} (V8 ${m.v8})`);
  L.push(`- Date: ${m.date}; wall time of the run ${R.wallS.toFixed(0)} s`);
  L.push(`- Load average at start ${m.load.map((x) => x.toFixed(2)).join(' ')}, at end ${m.loadEnd.map((x) => x.toFixed(2)).join(' ')}` + (Math.max(...m.load, ...m.loadEnd) > 1.5 ? ' — **other work (other engineers\' builds) ran on this 2-core machine during the run: the numbers are noisy**, medians more reliable than means, and the ranges wide.' : ''));
  L.push('');
  for (const sup of R.supplements ?? []) {
    L.push(`**Second pass:** the rows of ${sup.libs.map((l) => LABEL[l] ?? l).join(', ')} (marked ² in the tables) were measured again at ${sup.date} (load average ${sup.load.map((x) => x.toFixed(2)).join(' ')} → ${sup.loadEnd.map((x) => x.toFixed(2)).join(' ')}), in fresh processes, interleaved with each other but not with the libraries not listed, ${sup.why ?? 'because the recur SDK was rebuilt by another engineer during the first pass (its rows there failed to load: see below)'}. simd128 peak at the end of that pass: ${f(sup.peak, 1)} GFLOP/s.`);
    const replaced = replacedCells(R, sup);
    if (replaced.steps.length) L.push('', `What the first pass measured for the cells it replaced (ms per step, median (min–max, n)): ${replaced.steps.join('; ')}.`);
    if (replaced.gemm.length) L.push('', `What the first pass measured for the GEMM shapes it replaced (GFLOP/s, best (median)): ${replaced.gemm.join('; ')}.`);
    L.push('');
  }
  L.push('## wasm simd128 peak (one core, measured in this run)');
  L.push('A WAT module assembled at run time with `wabt`: 12 independent chains `acc = acc·m + c` on f32x4, 4× unrolled.');
  L.push('');
  L.push('| kernel | start of run | end of run |');
  L.push('|---|---|---|');
  L.push(`| f32x4.mul + f32x4.add | ${f(p0.simd128?.gflops, 1)} GFLOP/s | ${f(p1.simd128?.gflops, 1)} GFLOP/s |`);
  L.push(`| f32x4.relaxed_madd (Node 20: --experimental-wasm-relaxed-simd) | ${p0.relaxed?.available ? `${f(p0.relaxed.gflops, 1)} GFLOP/s` : 'not available'} | ${p1.relaxed?.available ? `${f(p1.relaxed.gflops, 1)} GFLOP/s` : 'not available'} |`);
  L.push('');
  L.push(`"of simd128 peak" below is against the better of the two mul+add figures (${f(PEAK, 1)} GFLOP/s; the tables printed during the run used the start-of-run figure). GFLOP/s of a training step is counted as \`3 · T · 2 · B · 4H · (I + H)\` (LSTM; 3H for GRU, H for RNN), of a forward pass as one third of that.`);
  L.push('');
  if (R.train) {
    L.push('## Training step');
    L.push('One step: forward over T steps, LSTM + dense head (O = I outputs) on the last step, MSE, Adam (lr 1e-3), BPTT, update, on a fixed batch. Each cell is its own Node process; peers ran interleaved (per configuration: recur, TF.js cpu, TF.js wasm, brain.js, then again for a second round at small and medium). Warm-up: up to 3 steps; then N steps, N chosen so a cell runs about 3 s, at least 3 (2 when a step takes over 8 s) and at most 50. The timed steps are 2 ms apart. "Process CPU per step" is the CPU time of the cell\'s whole process (every thread: the calling thread, a worker, helper threads, a peer\'s thread pool) over the timed loop, gaps included, per step; in parentheses that time over the loop\'s wall time, the cores kept busy: what a library costs the machine beside how fast it answers.');
    L.push('');
    L.push(...TRAIN_HEADER);
    for (const cfg of Object.keys(R.train)) for (const lib of Object.keys(R.train[cfg])) L.push(stepRow(cfg, lib, R.train[cfg][lib], trainFlops(CONFIGS[cfg]), true));
    L.push('');
    L.push('### recur GRU and RNN training (same task, GRU / Elman RNN cell)');
    L.push('');
    L.push(...TRAIN_HEADER);
    for (const cfg of Object.keys(R.trainRecur)) for (const lib of Object.keys(R.trainRecur[cfg])) L.push(stepRow(cfg, lib, R.trainRecur[cfg][lib], trainFlops(CONFIGS[cfg], kindOf(lib)), true));
    L.push('');
  }
  if (R.trainLong) {
    const about = "Not a configuration of issue 5's targets: medium's batch and layers over 256 steps instead of 64, the same task, against TF.js wasm (TF.js cpu and brain.js take 5–10 s a step here). Four times the arithmetic of medium: a library whose time per step grows faster than the sequence has a cost per step that rises with its length (recur's did before 6f6718d: gradients that became subnormal over the early steps).";
    pushSection(L, '### Training over long sequences', about, R.trainLong, (cfg) => trainFlops(CONFIGS[cfg]), true, longSummary(R.trainLong));
  }
  if (R.infer) {
    L.push('## Inference (forward only, one batch)');
    L.push('The same weights everywhere (deterministic, generated by the benchmark): recur through the SDK (`model.predict(x, {batchSize: B})`, worker) and through its bindings (`Model.forward`); TF.js wasm `model.predict` + `dataSync`; ONNX Runtime Web 1.30 (wasm backend in Node, `numThreads` 1 and 2) on an ONNX graph the benchmark writes itself (`LSTM` opset 14 → `Reshape` → `Gemm`, protobufjs with the needed subset of onnx.proto), input time-major. The first outputs of each engine are compared with TF.js\'s below the table. ORT Web in Node runs on the calling thread, and with 2 threads its pool\'s helper spins between calls (ORT\'s default), which the CPU column shows; the two in-process rows of recur place it the same way (`mode: \'inprocess\'`: the calling thread and one helper), with its default (the helper sleeps about 40 µs after a call) and with `idleSpinMs: 5` (the helper spins through the 2 ms gaps, as ORT\'s does).');
    L.push('');
    L.push(...STEP_HEADER);
    for (const cfg of Object.keys(R.infer)) for (const lib of Object.keys(R.infer[cfg])) L.push(stepRow(cfg, lib, R.infer[cfg][lib], inferFlops(CONFIGS[cfg])));
    L.push('');
    for (const cfg of Object.keys(R.infer)) {
      const line = outputCheck(R.infer, cfg);
      if (line) L.push(`- ${line}`);
    }
    L.push('');
    L.push('### recur GRU and RNN inference');
    L.push('');
    L.push(...STEP_HEADER);
    for (const cfg of Object.keys(R.inferRecur)) for (const lib of Object.keys(R.inferRecur[cfg])) L.push(stepRow(cfg, lib, R.inferRecur[cfg][lib], inferFlops(CONFIGS[cfg], kindOf(lib))));
    L.push('');
  }
  if (R.inferSingle) {
    const about = "Not a configuration of issue 5's targets: a live stream (a sensor, a user's input) is predicted one sequence at a time. The same libraries, weights and task as the table above, with B = 1 and the layers of medium (`one`) and large (`one-large`). A step of one row is a matrix-vector product: every weight is read once per step, so the time follows the memory traffic more than the arithmetic.";
    pushSection(L, '### Inference of one sequence at a time (batch 1)', about, R.inferSingle, (cfg) => inferFlops(CONFIGS[cfg]), false, singleSummary(R.inferSingle));
  }
  if (R.gemm) {
    L.push('## GEMM on the LSTM shapes');
    L.push('TF.js wasm (XNNPACK, simd128, 1 thread): `tf.matMul(a, b).dispose()` (the wasm backend runs the kernel synchronously; no read-back). recur: the bindings\' benchmark export `gemmRepeat(m, k, n, false, iterations)` (C = A·B with the default kernel, `gemm_nn`; A and B are made once per shape and kept between calls, as TF.js keeps its tensors `a` and `b`; every product writes all of C, and a call returns a checksum of C: all of it up to 2^18 elements, else every 16th row; summed by a vectorized loop since 2026-11-27, when the loop before, compiled for size, was found to cost 9 % of a timed call at the small input projection, which the TF.js side, reading nothing back, did not pay). Both repeated inside one timed call for the small shapes. GFLOP/s = 2·M·N·K / time, best (median) over the timed calls. The weight-gradient shape is timed as a plain A·B; in BPTT it is a transposed product.');
    L.push('');
    L.push(...gemmRows(R.gemm));
    L.push('');
  }
  L.push('## recur: wasm size and load/init');
  L.push('');
  L.push(...loadRows(R.load));
  L.push('');
  L.push(`Sizes are exact byte counts of the optimized \`.wasm\` files. The size target reads KB as 1000 bytes, the stricter reading: each build must be at most ${bytesText(WASM_LIMIT_BYTES)} (300 KiB would allow ${bytesText(300 * 1024)}).`);
  L.push('');
  L.push('## Targets of issue 5');
  L.push('');
  if (R.supplements?.length) {
    L.push('Rows marked ² were measured in a second pass. Where the peer of a ratio was measured again in that pass, the ratio compares cells of one pass; where it was not, the second pass may have had a lighter load than the peer\'s, and the ratio then flatters recur. The rows marked "interleaved" compare cells of the same pass.');
    L.push('');
  }
  L.push(...targets(R));
  L.push('');
  const empty = Object.values(R.train ?? {}).flatMap((cells) => Object.values(cells).map((r) => r.wasmEmptyMB).filter(Number.isFinite));
  L.push(`Peak memory: the wasm heap (how far the module's linear memory grew, in 64 KiB pages, from before the model was created to after the timed steps; wasm memory never shrinks, so that is the high-water mark of everything the model, its batch and its training step allocated${empty.length ? `; the empty module's own ${f(Math.min(...empty), 2)}–${f(Math.max(...empty), 2)} MB, stacks and static data, is not counted` : ''}) is compared with 2× the estimate of what BPTT must keep, \`4 bytes · (T·B·(7H + I) + 4·P)\` (gates, c, tanh c and h of every step plus the input; parameters, gradients and Adam's two moments).`);
  L.push('');
  L.push(fs.readFileSync(path.join(here, 'NOTES.md'), 'utf8'));
  return `${L.join('\n')}\n`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
