#!/usr/bin/env node
// Regenerates the figures of docs/gradients.md with the recur SDK itself (Node, worker thread).
//
//   pnpm docs:figures          (root package.json; or: node docs/figures/make-figures.mjs)
//
// Needs the built SDK: `bash scripts/build-wasm.sh && pnpm --filter recur build`.
// Writes docs/figures/*.svg (hand-written SVG, log-scale y axes) and docs/figures/figures.json
// (every plotted number), and prints the ratios the guide quotes.
//
// Every experiment is deterministic: model seed 1, data from a fixed LCG seed, one thread.
import { writeFileSync } from 'node:fs';
import { createRecur } from '../../packages/recur/dist/entrypoints/node.js';

const OUT = new URL('./', import.meta.url);
const T = 100; // time steps
const B = 32; // sequences in the gradient batch
const H = 32; // hidden units
const SEED = 1; // model seed (initialization)

// ------------------------------------------------------------------------------------------
// Data
// ------------------------------------------------------------------------------------------

/** A small deterministic generator (LCG + Box-Muller), so the data is the same everywhere. */
function rng(seed) {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return { uniform, gauss };
}

/**
 * The long-dependency task: x_0 = ±1 (the signal), x_1..x_{T-1} ~ 0.5·N(0, 1) (noise); the
 * target is the signal, read from the output of the last step only.
 */
function copyTask(n, seed) {
  const r = rng(seed);
  const x = new Float32Array(n * T);
  const y = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const v = r.uniform() < 0.5 ? -1 : 1;
    y[b] = v;
    for (let t = 0; t < T; t++) x[b * T + t] = t === 0 ? v : 0.5 * r.gauss();
  }
  return { x: { data: x, shape: [n, T, 1] }, y: { data: y, shape: [n, 1] } };
}

/** The clipping task: x_t ~ N(0, 1); the target is x_{T-3} (learnable by a plain RNN). */
function lagTask(n, seed) {
  const r = rng(seed);
  const x = new Float32Array(n * T);
  const y = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    for (let t = 0; t < T; t++) x[b * T + t] = r.gauss();
    y[b] = x[b * T + T - 3];
  }
  return { x: { data: x, shape: [n, T, 1] }, y: { data: y, shape: [n, 1] } };
}

// ------------------------------------------------------------------------------------------
// Measurements through the public SDK
// ------------------------------------------------------------------------------------------

const recur = createRecur();
const info = await recur.init();
console.log(`recur ${info.version} (${info.variant} build, ${info.mode} in ${info.runtime})`);

const copy = copyTask(B, 12345);

/** A one-layer recurrent model + dense head on the last step. */
const makeModel = (layer) =>
  recur.createModel({ inputSize: 1, layers: [{ ...layer, hiddenSize: H, returnSequences: false }, { type: 'dense', units: 1 }], seed: SEED });

/** Multiplies a parameter in place (via getParam/setParam). */
async function scaleParam(model, name, k) {
  const p = await model.getParam(name);
  for (let i = 0; i < p.data.length; i++) p.data[i] *= k;
  await model.setParam(name, p);
}

/** Sets W_hh = k·I. */
async function identityRecurrent(model, name, k) {
  const p = await model.getParam(name);
  p.data.fill(0);
  for (let i = 0; i < H; i++) p.data[i * H + i] = k;
  await model.setParam(name, p);
}

/** Sets gate `gate`'s total bias (b_ih + b_hh, split evenly) to `value`. */
async function gateBias(model, prefix, gate, value) {
  for (const which of ['bias_ih_l0', 'bias_hh_l0']) {
    const p = await model.getParam(`${prefix}.${which}`);
    p.data.fill(value / 2, gate * H, (gate + 1) * H);
    await model.setParam(`${prefix}.${which}`, p);
  }
}

/**
 * One training-mode forward of the copy batch, MSE on the last step, one backward; returns
 * ‖∂L/∂h_t‖ for t = 0..T-1 (the model's `stepGradNorms`).
 */
async function gradNorms(layer, tweak) {
  const model = await makeModel(layer);
  if (tweak) await tweak(model);
  const f = await model.forward({ x: copy.x, training: true });
  const d = new Float32Array(B);
  for (let b = 0; b < B; b++) d[b] = (2 * (f.output.data[b] - copy.y.data[b])) / B; // ∂ mean((ŷ−y)²) / ∂ŷ
  await model.zeroGrad();
  await model.backward({ dOutput: { data: d, shape: [B, 1] } });
  const [first] = await model.stepGradNorms();
  await model.dispose();
  return Array.from(first.norms);
}

const results = { config: { T, B, H, seed: SEED, dataSeed: 12345 }, figures: {} };
const ratio = (n) => n[0] / n[T - 1];

async function gradFigure(key, series) {
  const out = [];
  for (const s of series) {
    const norms = await gradNorms(s.layer, s.tweak);
    out.push({ label: s.label, norms, ratio: ratio(norms), dash: s.dash, color: s.color, opacity: s.opacity });
    console.log(`  ${key}: ${s.label.padEnd(34)} ‖∂L/∂h_0‖ / ‖∂L/∂h_99‖ = ${ratio(norms).toExponential(2)}`);
  }
  results.figures[key] = out.map(({ label, norms, ratio }) => ({ label, ratio, norms }));
  return out;
}

const C = ['#d62728', '#ff7f0e', '#2ca02c', '#17becf', '#9467bd', '#8c564b', '#1f77b4', '#e377c2', '#7f7f7f', '#bcbd22'];

// Figure 1: every cell at PyTorch's default initialization.
const fig1 = await gradFigure('defaultInit', [
  { label: 'RNN, sigmoid', layer: { type: 'rnn', activation: 'sigmoid' }, color: C[0] },
  { label: 'RNN, tanh', layer: { type: 'rnn', activation: 'tanh' }, color: C[1] },
  { label: 'RNN, ReLU', layer: { type: 'rnn', activation: 'relu' }, color: C[2] },
  { label: 'RNN, leaky ReLU (slope 0.1)', layer: { type: 'rnn', activation: { type: 'leaky_relu', slope: 0.1 } }, color: C[3], dash: true },
  { label: 'RNN, ELU', layer: { type: 'rnn', activation: { type: 'elu' } }, color: C[4], dash: true },
  { label: 'RNN, tanh + layer norm', layer: { type: 'rnn', activation: 'tanh', layerNorm: true }, color: C[5] },
  { label: 'LSTM', layer: { type: 'lstm' }, color: C[6] },
  { label: 'GRU', layer: { type: 'gru' }, color: C[7] },
]);

// Figure 2: the gates' biases decide how much of the additive path survives.
const fig2 = await gradFigure('gateBias', [
  ...[0, 1, 3, 5].map((v, i) => ({
    label: `LSTM, forget-gate bias ${v}`,
    layer: { type: 'lstm' },
    tweak: (m) => gateBias(m, 'lstm', 1, v), // gate order i, f, g, o
    color: C[6],
    opacity: 0.35 + 0.65 * (i / 3), // lighter = smaller bias
  })),
  ...[0, 1, 3, 5].map((v, i) => ({
    label: `GRU, update-gate bias ${v}`,
    layer: { type: 'gru' },
    tweak: (m) => gateBias(m, 'gru', 1, v), // gate order r, z, n
    color: C[7],
    dash: true,
    opacity: 0.35 + 0.65 * (i / 3),
  })),
]);

// Figure 3: the size of the recurrent weights (the other factor of every Jacobian).
const fig3 = await gradFigure('recurrentScale', [
  ...[0.9, 1, 1.05, 1.1].map((k, i) => ({
    label: `RNN, ReLU, W_hh = ${k}·I`,
    layer: { type: 'rnn', activation: 'relu' },
    tweak: (m) => identityRecurrent(m, 'rnn.weight_hh_l0', k),
    color: C[2],
    opacity: 0.35 + 0.65 * (i / 3),
  })),
  ...[1, 2, 4].map((k, i) => ({
    label: `RNN, tanh, W_hh × ${k}`,
    layer: { type: 'rnn', activation: 'tanh' },
    tweak: (m) => scaleParam(m, 'rnn.weight_hh_l0', k),
    color: C[1],
    dash: true,
    opacity: 0.35 + 0.65 * (i / 2),
  })),
  ...[1, 4].map((k) => ({
    label: `RNN, tanh + layer norm, W_hh × ${k}`,
    layer: { type: 'rnn', activation: 'tanh', layerNorm: true },
    tweak: (m) => scaleParam(m, 'rnn.weight_hh_l0', k),
    color: C[5],
    dash: k === 4,
  })),
]);

// Figure 4: loss curves on an exploding configuration, with and without clipping.
const LAG_N = 256;
const CLIP_EPOCHS = 60;
const CLIP_LR = 0.1;
const CLIP_Y_MAX_EXP = 3; // the clip chart's top: 10^3 (the unclipped run leaves it)
const lag = lagTask(LAG_N, 54321);
const clipRuns = [
  { label: 'no clipping', clip: { nonFinite: 'skip' }, color: C[0] },
  { label: 'clip by value 0.1', clip: { value: 0.1, nonFinite: 'skip' }, color: C[6] },
  { label: 'clip by global norm 1', clip: { norm: 1, nonFinite: 'skip' }, color: C[2] },
];
results.figures.clipping = [];
for (const run of clipRuns) {
  const model = await makeModel({ type: 'rnn', activation: 'tanh' });
  await scaleParam(model, 'rnn.weight_hh_l0', 4);
  const h = await model.fit(lag.x, lag.y, {
    epochs: CLIP_EPOCHS,
    batchSize: 32,
    shuffle: true,
    seed: SEED,
    optimizer: { type: 'sgd', lr: CLIP_LR },
    loss: 'mse',
    clip: run.clip,
  });
  await model.dispose();
  run.loss = h.epochs.map((e) => e.loss);
  run.gradNormMax = h.epochs.map((e) => e.gradNorm.max);
  run.skipped = h.epochs.reduce((a, e) => a + e.skippedBatches, 0);
  const firstNaN = run.loss.findIndex((v) => !Number.isFinite(v));
  run.firstNonFinite = firstNaN < 0 ? null : firstNaN;
  const finite = run.loss.filter(Number.isFinite);
  console.log(
    `  clipping: ${run.label.padEnd(22)} loss epoch 1 ${run.loss[0].toPrecision(3)}, last finite ${finite.at(-1).toPrecision(3)}, ` +
      `min ${Math.min(...finite).toPrecision(3)}, max ${Math.max(...finite).toPrecision(3)}` +
      `${firstNaN < 0 ? '' : `, not finite from epoch ${firstNaN + 1}`}, skipped batches ${run.skipped}`,
  );
  results.figures.clipping.push({ label: run.label, clip: run.clip, loss: run.loss, gradNormMax: run.gradNormMax, skippedBatches: run.skipped, firstNonFiniteEpoch: run.firstNonFinite });
}
results.config.clipping = { task: 'target x_{T-3}, x_t ~ N(0,1)', N: LAG_N, batchSize: 32, epochs: CLIP_EPOCHS, optimizer: { type: 'sgd', lr: CLIP_LR }, cell: 'rnn tanh, W_hh × 4', dataSeed: 54321 };

await recur.dispose();

// ------------------------------------------------------------------------------------------
// SVG
// ------------------------------------------------------------------------------------------

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmtPow = (e) => `10${String(e).replace('-', '⁻').replace(/\d/g, (d) => '⁰¹²³⁴⁵⁶⁷⁸⁹'[d])}`;

/**
 * A line chart with a linear x axis and a log10 y axis. Values ≤ 0 or not finite are clipped to
 * the bottom of the axis (`floorLabel` explains it) or dropped (`dropNonFinite`).
 */
function lineChart({ title, subtitle, xLabel, yLabel, series, xMax, yMinExp, yMaxExp, floorLabel, xStart = 0, legendCols = 1 }) {
  const W = 760;
  const legendRows = Math.ceil(series.length / legendCols);
  const plot = { left: 74, top: 58, width: 640, height: 330 };
  const Ht = plot.top + plot.height + 56 + legendRows * 18 + 12;
  const xs = (x) => plot.left + ((x - xStart) / (xMax - xStart)) * plot.width;
  const ys = (v) => {
    const e = Math.log10(v);
    const c = Math.min(yMaxExp, Math.max(yMinExp, e));
    return plot.top + ((yMaxExp - c) / (yMaxExp - yMinExp)) * plot.height;
  };
  const o = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${Ht}" viewBox="0 0 ${W} ${Ht}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`);
  o.push(`<rect width="${W}" height="${Ht}" fill="#ffffff"/>`);
  o.push(`<text x="${plot.left}" y="22" font-size="15" font-weight="600">${esc(title)}</text>`);
  if (subtitle) o.push(`<text x="${plot.left}" y="40" fill="#555">${esc(subtitle)}</text>`);
  // y grid: decades, labelled every `step` decades
  const span = yMaxExp - yMinExp;
  const step = span > 24 ? 5 : span > 12 ? 2 : 1;
  for (let e = yMinExp; e <= yMaxExp; e++) {
    const y = ys(10 ** e).toFixed(1);
    const major = e % step === 0;
    o.push(`<line x1="${plot.left}" x2="${plot.left + plot.width}" y1="${y}" y2="${y}" stroke="${major ? '#d9d9d9' : '#f0f0f0'}"/>`);
    if (major) o.push(`<text x="${plot.left - 6}" y="${Number(y) + 4}" text-anchor="end" fill="#333">${fmtPow(e)}</text>`);
  }
  // x grid
  const xStep = xMax - xStart > 80 ? 10 : 5;
  for (let x = Math.ceil(xStart / xStep) * xStep; x <= xMax; x += xStep) {
    const px = xs(x).toFixed(1);
    o.push(`<line x1="${px}" x2="${px}" y1="${plot.top}" y2="${plot.top + plot.height}" stroke="#f0f0f0"/>`);
    o.push(`<text x="${px}" y="${plot.top + plot.height + 16}" text-anchor="middle" fill="#333">${x}</text>`);
  }
  o.push(`<rect x="${plot.left}" y="${plot.top}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#888"/>`);
  o.push(`<text x="${plot.left + plot.width / 2}" y="${plot.top + plot.height + 36}" text-anchor="middle">${esc(xLabel)}</text>`);
  o.push(`<text transform="translate(18 ${plot.top + plot.height / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  if (floorLabel) o.push(`<text x="${plot.left + plot.width - 4}" y="${plot.top + plot.height - 5}" text-anchor="end" fill="#777" font-size="11">${esc(floorLabel)}</text>`);
  // series
  o.push(`<g fill="none" stroke-width="2" stroke-linejoin="round" stroke-linecap="round">`);
  for (const s of series) {
    let d = '';
    let pen = false;
    let gone = false; // left through the top of the chart: not drawn again
    s.points.forEach(([x, v]) => {
      if (gone || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      if (Math.log10(v) > yMaxExp) gone = true; // this segment ends on the top edge
      const px = xs(x).toFixed(1);
      const py = ys(v > 0 ? v : 10 ** yMinExp).toFixed(1);
      d += `${pen ? 'L' : 'M'}${px} ${py}`;
      pen = true;
    });
    const dash = s.dash ? ' stroke-dasharray="6 4"' : '';
    const op = s.opacity !== undefined && s.opacity < 1 ? ` stroke-opacity="${s.opacity.toFixed(2)}"` : '';
    o.push(`<path d="${d}" stroke="${s.color}"${dash}${op}/>`);
    if (s.endMark) {
      const [x, v] = s.endMark;
      o.push(`<text x="${(xs(x) + 6).toFixed(1)}" y="${(ys(v) + 14).toFixed(1)}" fill="${s.color}" stroke="none" font-size="11">${esc(s.endMarkLabel)}</text>`);
    }
  }
  o.push(`</g>`);
  // legend
  const colW = (W - plot.left) / legendCols;
  series.forEach((s, i) => {
    const col = i % legendCols;
    const row = Math.floor(i / legendCols);
    const x = plot.left + col * colW;
    const y = plot.top + plot.height + 58 + row * 18;
    const dash = s.dash ? ' stroke-dasharray="6 4"' : '';
    const op = s.opacity !== undefined && s.opacity < 1 ? ` stroke-opacity="${s.opacity.toFixed(2)}"` : '';
    o.push(`<line x1="${x}" x2="${x + 26}" y1="${y - 4}" y2="${y - 4}" stroke="${s.color}" stroke-width="2.5"${dash}${op}/>`);
    o.push(`<text x="${x + 32}" y="${y}">${esc(s.legend ?? s.label)}</text>`);
  });
  o.push(`</svg>`);
  return o.join('\n') + '\n';
}

/** Decade range covering the positive finite values. */
function decades(values, floorExp) {
  const pos = values.filter((v) => Number.isFinite(v) && v > 0);
  let lo = Math.floor(Math.log10(Math.min(...pos)));
  const hi = Math.ceil(Math.log10(Math.max(...pos)));
  if (floorExp !== undefined) lo = Math.max(lo, floorExp);
  return [lo, Math.max(hi, lo + 1)];
}

function gradChart(file, title, series, legendCols) {
  const rel = series.map((s) => ({ ...s, points: s.norms.map((n, t) => [t, n / s.norms[T - 1]]), legend: `${s.label}  (t=0: ${s.ratio === 0 ? '0' : s.ratio.toExponential(1)})` }));
  const all = rel.flatMap((s) => s.points.map((p) => p[1]));
  const [lo, hi] = decades(all, -40);
  const hasFloor = all.some((v) => !(v > 10 ** lo));
  const svg = lineChart({
    title,
    subtitle: `‖∂L/∂h_t‖ / ‖∂L/∂h_${T - 1}‖ from model.stepGradNorms(); T = ${T}, B = ${B}, H = ${H}, seed ${SEED}; loss on the last step only`,
    xLabel: 'time step t (the loss is read at t = 99)',
    yLabel: 'gradient norm relative to the last step (log)',
    series: rel,
    xMax: T - 1,
    yMinExp: lo,
    yMaxExp: hi,
    floorLabel: hasFloor ? `values below 10^${lo} (incl. exact 0 after float32 underflow) drawn on the bottom line` : undefined,
    legendCols,
  });
  writeFileSync(new URL(file, OUT), svg);
  console.log(`wrote docs/figures/${file}`);
}

gradChart('grad-default-init.svg', 'Vanishing gradients at PyTorch’s default initialization', fig1, 2);
gradChart('grad-gate-bias.svg', 'LSTM and GRU: the gate bias sets what the additive path carries', fig2, 2);
gradChart('grad-recurrent-scale.svg', 'The size of W_hh: ReLU RNN with W_hh = k·I, tanh RNN with W_hh scaled', fig3, 2);

{
  const series = clipRuns.map((r) => {
    const points = r.loss.map((v, i) => [i + 1, v]);
    const s = { label: r.label, color: r.color, points, legend: `${r.label}: clip ${JSON.stringify(r.clip).replace(/"/g, '')}` };
    const finite = r.loss.filter(Number.isFinite);
    const worst = Math.max(...finite);
    if (worst > 10 ** CLIP_Y_MAX_EXP || r.firstNonFinite !== null) {
      const leaves = points.find((p) => p[1] > 10 ** CLIP_Y_MAX_EXP) ?? points[r.firstNonFinite - 1];
      s.endMark = [leaves[0], 10 ** CLIP_Y_MAX_EXP];
      s.endMarkLabel = `off the chart: up to ${worst.toExponential(0)}` + (r.firstNonFinite === null ? '' : `, NaN from epoch ${r.firstNonFinite + 1}`);
    }
    return s;
  });
  const lo = decades(series.flatMap((s) => s.points.map((p) => p[1])))[0];
  const hi = CLIP_Y_MAX_EXP;
  const svg = lineChart({
    title: 'Exploding gradients: training loss with and without clipping',
    subtitle: `tanh RNN (H = ${H}, W_hh × 4), T = ${T}, target x_(T−3), SGD lr ${CLIP_LR}, batch 32 of ${LAG_N}, seed ${SEED}; model.fit()`,
    xLabel: 'epoch',
    yLabel: 'training loss (MSE, log)',
    series,
    xMax: CLIP_EPOCHS,
    xStart: 1,
    yMinExp: lo,
    yMaxExp: hi,
    legendCols: 1,
  });
  writeFileSync(new URL('clip-loss.svg', OUT), svg);
  console.log('wrote docs/figures/clip-loss.svg');
}

writeFileSync(new URL('figures.json', OUT), JSON.stringify(results, null, 1) + '\n');
console.log('wrote docs/figures/figures.json');
