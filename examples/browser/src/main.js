import './style.css';
import { createRecur } from 'recur';
import { drawChart } from './charts.js';
import { loadCo2, WINDOW } from './data.js';
import { computeStepGradNorms, T } from './gradients.js';

// ------------------------------------------------------------------------------------------
// Setup
// ------------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const ui = {
  train: $('train'),
  stop: $('stop'),
  save: $('save'),
  loadLabel: $('load-label'),
  loadInput: $('load-input'),
  status: $('status'),
  frameGap: $('frame-gap'),
  spinner: $('spinner'),
  lossPanel: $('loss-panel'),
  lossChart: $('loss-chart'),
  lossReadout: $('loss-readout'),
  predPanel: $('pred-panel'),
  predChart: $('pred-chart'),
  predReadout: $('pred-readout'),
  gradPanel: $('grad-panel'),
  gradChart: $('grad-chart'),
  gradLegend: $('grad-legend'),
};

/** One runtime: one Web Worker holding the wasm core and the models. */
const recur = createRecur();
const data = loadCo2();

const MODEL_CONFIG = {
  inputSize: 1,
  layers: [
    { type: 'lstm', hiddenSize: 32, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 42,
};
const OPTIMIZER = { type: 'adam', lr: 3e-3 };
/** fit runs in segments of this many epochs; the forecasts are redrawn between segments. */
const SEGMENT = 5;
const MAX_EPOCHS = 300; // per press of Train

const state = {
  /** The current model (created at start, replaced by Load). */
  model: null,
  modelSource: 'new',
  training: false,
  busy: false,
  controller: null,
  /** Per completed epoch: { loss, valLoss }. */
  epochs: [],
  steps: 0,
  /** Epochs completed before the running fit segment. */
  segmentStart: 0,
  lastBatch: null,
  /** Test-set forecasts (ppm) and what they came from. */
  forecast: null,
  gradients: null,
};

function setStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
}

function setButtons() {
  const idle = !state.training && !state.busy && state.model !== null;
  ui.train.disabled = !idle;
  ui.stop.disabled = !state.training;
  ui.save.disabled = !idle;
  ui.loadInput.disabled = !idle;
  ui.loadLabel.setAttribute('aria-disabled', String(!idle));
}

// ------------------------------------------------------------------------------------------
// Always animating: a requestAnimationFrame spinner and the longest gap between frames
// ------------------------------------------------------------------------------------------

const frames = { last: 0, longest: 0, sinceTrain: 0, recent: 0, shownAt: 0, trainSeen: false };

function drawSpinner(now) {
  const c = ui.spinner;
  const dpr = window.devicePixelRatio || 1;
  if (c.width !== 44 * dpr) {
    c.width = 44 * dpr;
    c.height = 44 * dpr;
  }
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, 44, 44);
  ctx.lineWidth = 5;
  ctx.strokeStyle = '#e3e6eb';
  ctx.beginPath();
  ctx.arc(22, 22, 16, 0, Math.PI * 2);
  ctx.stroke();
  const a = (now / 1000) * Math.PI * 2 * 0.8;
  ctx.strokeStyle = state.training ? '#1f6feb' : '#8a909b';
  ctx.lineCap = 'round';
  ctx.beginPath();
  ctx.arc(22, 22, 16, a, a + Math.PI * 0.6);
  ctx.stroke();
}

function onFrame(now) {
  if (frames.last !== 0) {
    const gap = now - frames.last;
    frames.recent = gap;
    frames.longest = Math.max(frames.longest, gap);
    if (state.training || frames.trainSeen) frames.sinceTrain = Math.max(frames.sinceTrain, gap);
  }
  frames.last = now;
  drawSpinner(now);
  if (now - frames.shownAt > 250) {
    frames.shownAt = now;
    const since = frames.trainSeen ? `, since Train ${frames.sinceTrain.toFixed(0)} ms` : '';
    ui.frameGap.textContent = `longest frame gap: ${frames.longest.toFixed(0)} ms${since}`;
    ui.frameGap.dataset.longestMs = frames.longest.toFixed(1);
    ui.frameGap.dataset.sinceTrainMs = frames.sinceTrain.toFixed(1);
  }
  requestAnimationFrame(onFrame);
}
// A hidden tab gets no frames; don't count that as a freeze.
document.addEventListener('visibilitychange', () => {
  frames.last = 0;
});
requestAnimationFrame(onFrame);

// ------------------------------------------------------------------------------------------
// Charts
// ------------------------------------------------------------------------------------------

function drawLoss() {
  const e = state.epochs;
  const train = e.map((v, i) => [i + 1, v.loss]);
  const val = e.map((v, i) => [i + 1, v.valLoss]).filter((p) => Number.isFinite(p[1]));
  drawChart(ui.lossChart, {
    series: [
      { color: '#1f77b4', points: train, dots: e.length < 40 },
      { color: '#ff7f0e', points: val, dots: e.length < 40 },
    ],
    xLabel: 'epoch',
    yLabel: 'MSE (log scale)',
    yLog: true,
    xRange: [1, Math.max(10, e.length)],
    empty: 'press Train',
  });
  ui.lossPanel.dataset.epochs = String(e.length);
  const b = state.lastBatch;
  if (e.length === 0 && b === null) {
    ui.lossReadout.textContent = '–';
    return;
  }
  const last = e.at(-1);
  const parts = [];
  if (last) parts.push(`epoch ${e.length}: loss ${last.loss.toFixed(4)}, validation ${last.valLoss?.toFixed(4) ?? '–'}`);
  if (e.length > 1) parts.push(`first epoch ${e[0].loss.toFixed(4)}`);
  if (state.training && b) parts.push(`batch ${b.batch + 1}/${b.batches} of epoch ${state.segmentStart + b.epoch + 1}: ${b.loss.toFixed(4)}`);
  ui.lossReadout.textContent = parts.join(' · ');
  ui.lossReadout.dataset.firstLoss = e.length ? String(e[0].loss) : '';
  ui.lossReadout.dataset.lastLoss = last ? String(last.loss) : '';
}

const monthLabel = (i) => data.rows[Math.round(i)]?.date.slice(0, 7) ?? '';

function drawForecast() {
  const first = data.monthOf(0);
  const context = 36; // months of training data shown before the held-out tail
  const truth = [];
  for (let i = first - context; i < data.series.length; i++) truth.push([i, data.series[i]]);
  const series = [{ color: '#2b2f36', points: truth, width: 1.5 }];
  if (state.forecast) series.push({ color: '#d62728', points: state.forecast.ppm.map((v, k) => [data.monthOf(k), v]), width: 2, dots: true });
  // Ticks every 2 years on January.
  const xTicks = [];
  for (let i = first - context; i < data.series.length; i++) if (data.rows[i].date.endsWith('-01-01') && Number(data.rows[i].date.slice(0, 4)) % 2 === 0) xTicks.push(i);
  drawChart(ui.predChart, {
    series,
    xLabel: 'month',
    yLabel: 'CO2 (ppm)',
    xRange: [first - context, data.series.length - 1],
    xTicks,
    xFormat: (i) => monthLabel(i).slice(0, 4),
    marker: { x: first - 0.5, label: 'held out →' },
  });
  ui.predPanel.dataset.draws = String(Number(ui.predPanel.dataset.draws) + 1);
}

function drawGradients() {
  const g = state.gradients;
  if (!g) {
    drawChart(ui.gradChart, { series: [], xLabel: 'time step t', yLabel: '‖∂L/∂hₜ‖', empty: 'computing…' });
    return;
  }
  const positive = g.flatMap((c) => c.norms).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...positive)));
  const hi = Math.ceil(Math.log10(Math.max(...positive)));
  drawChart(ui.gradChart, {
    series: g.map((c) => ({ color: c.color, dash: c.dash, points: c.norms.map((v, t) => [t, v]) })),
    xLabel: 'time step t (the loss is on the last step, t = 59)',
    yLabel: '‖∂L/∂hₜ‖ (log scale)',
    yLog: true,
    xRange: [0, T - 1],
    yRange: [lo - 1, hi],
    floorLabel: 'exactly 0 (float32 underflow) drawn on the bottom edge',
  });
}

function renderGradLegend() {
  ui.gradLegend.replaceChildren(
    ...state.gradients.map((c) => {
      const span = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = c.color;
      swatch.style.color = c.color;
      if (c.dash) swatch.className = 'dashed';
      const ratio = c.ratio === 0 ? '0' : c.ratio.toExponential(1);
      span.append(swatch, `${c.label}: ‖∂L/∂h₀‖ / ‖∂L/∂h₅₉‖ = ${ratio}`);
      return span;
    }),
  );
  ui.gradPanel.dataset.ready = 'true';
  for (const c of state.gradients) ui.gradPanel.dataset[`ratio${c.key.replace(/(^|-)(\w)/g, (_, __, ch) => ch.toUpperCase())}`] = String(c.ratio);
}

window.addEventListener('resize', () => {
  drawLoss();
  drawForecast();
  drawGradients();
});

// ------------------------------------------------------------------------------------------
// Model work
// ------------------------------------------------------------------------------------------

/** Forecasts the held-out tail with the current model and redraws. */
async function refreshForecast(label) {
  const model = state.model;
  const pred = await model.predict(data.test(), { batchSize: 128 });
  if (model !== state.model) return;
  const ppm = Array.from(pred.data, (v, k) => data.toPpm(k, v));
  let se = 0;
  for (let k = 0; k < ppm.length; k++) se += (ppm[k] - data.series[data.monthOf(k)]) ** 2;
  const rmse = Math.sqrt(se / ppm.length);
  state.forecast = { ppm, rmse, label };
  ui.predPanel.dataset.rmse = String(rmse);
  ui.predPanel.dataset.source = state.modelSource;
  ui.predReadout.textContent = `${ppm.length} months ${monthLabel(data.monthOf(0))} … ${monthLabel(data.monthOf(ppm.length - 1))}: RMSE ${rmse.toFixed(3)} ppm (${label})`;
  drawForecast();
}

async function train() {
  const model = state.model;
  const controller = new AbortController();
  state.controller = controller;
  state.training = true;
  frames.trainSeen = true;
  frames.sinceTrain = 0;
  setButtons();
  setStatus('training', `Training in the worker… epoch ${state.epochs.length + 1}`);
  let segmentSteps = 0;
  const target = state.epochs.length + MAX_EPOCHS; // every press of Train runs up to MAX_EPOCHS more
  try {
    while (state.epochs.length < target) {
      const { x, y } = data.train();
      const start = state.epochs.length;
      state.segmentStart = start;
      state.lastBatch = null;
      segmentSteps = 0;
      const history = await model.fit(x, y, {
        epochs: Math.min(SEGMENT, target - start),
        batchSize: 32,
        validationSplit: 0.1,
        optimizer: OPTIMIZER, // the same config every segment: Adam's state carries over
        loss: 'mse',
        clip: { norm: 1 },
        seed: 1000 + start, // a new shuffle order in every segment
        signal: controller.signal,
        onBatchEnd: (b) => {
          state.lastBatch = b;
          segmentSteps = b.step + 1;
          drawLoss();
        },
        onEpochEnd: (e) => {
          state.epochs.push({ loss: e.loss, valLoss: e.valLoss });
          setStatus('training', `Training in the worker… epoch ${state.epochs.length} done (${e.durationMs.toFixed(0)} ms)`);
          drawLoss();
        },
      });
      state.steps += history.steps;
      segmentSteps = 0;
      await refreshForecast(`after epoch ${state.epochs.length}`);
      if (controller.signal.aborted) throw Object.assign(new Error('aborted'), { name: 'AbortError' });
    }
    state.training = false;
    setStatus('done', `Trained ${state.epochs.length} epochs (${state.steps} steps).`);
  } catch (e) {
    state.training = false;
    if (e?.name === 'AbortError') {
      const done = e.details?.completedSteps ?? segmentSteps;
      state.steps += done;
      setStatus('stopped', `Stopped. The model keeps its last completed step: ${state.steps} optimizer steps, ${state.epochs.length} full epochs.`);
    } else {
      console.error(e);
      setStatus('error', `Training failed: ${e?.message ?? e}`);
    }
  } finally {
    state.training = false;
    state.controller = null;
    drawLoss();
    state.busy = true;
    setButtons();
    try {
      if (state.model === model) await refreshForecast(`${ui.status.dataset.state === 'stopped' ? 'stopped' : 'trained'} after ${state.steps} steps`);
    } finally {
      state.busy = false;
      setButtons();
    }
  }
}

async function save() {
  state.busy = true;
  setButtons();
  try {
    const bytes = await state.model.save({ includeOptimizer: true });
    const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'model.safetensors';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setStatus(ui.status.dataset.state === 'error' ? 'idle' : ui.status.dataset.state, `Saved model.safetensors (${(bytes.length / 1024).toFixed(1)} KiB: config, weights, optimizer state).`);
  } catch (e) {
    setStatus('error', `Save failed: ${e?.message ?? e}`);
  } finally {
    state.busy = false;
    setButtons();
  }
}

async function load(file) {
  state.busy = true;
  setButtons();
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const model = await recur.loadModel(bytes);
    if (model.config.inputSize !== 1 || model.output.sequence || model.output.width !== 1) {
      await model.dispose();
      throw new Error('this page needs a model with 1 input feature and 1 output per sequence (as saved by Save)');
    }
    const old = state.model;
    state.model = model;
    state.modelSource = 'loaded';
    await old?.dispose();
    state.epochs = [];
    state.steps = 0;
    state.lastBatch = null;
    drawLoss();
    await refreshForecast(`loaded from ${file.name}`);
    setStatus('loaded', `Loaded ${file.name}: ${model.parameters().length} parameter tensors; forecasts redrawn. Train continues from it.`);
  } catch (e) {
    console.error(e);
    setStatus('error', `Load failed: ${e?.message ?? e}`);
  } finally {
    state.busy = false;
    setButtons();
  }
}

ui.train.addEventListener('click', () => void train());
ui.stop.addEventListener('click', () => {
  state.controller?.abort();
  setStatus('stopping', 'Stopping at the next step boundary…');
});
ui.save.addEventListener('click', () => void save());
ui.loadInput.addEventListener('change', () => {
  const file = ui.loadInput.files?.[0];
  ui.loadInput.value = '';
  if (file) void load(file);
});

// ------------------------------------------------------------------------------------------
// Start
// ------------------------------------------------------------------------------------------

async function start() {
  drawLoss();
  drawForecast();
  drawGradients();
  try {
    const info = await recur.init();
    state.model = await recur.createModel(MODEL_CONFIG);
    const intro =
      `recur ${info.version} (${info.variant} build, in a ${info.mode === 'worker' ? 'Web Worker' : info.mode}). ` +
      `${data.series.length} months ${monthLabel(0)} … ${monthLabel(data.series.length - 1)}, windows of ${WINDOW} months: ` +
      `${data.nTrain} for training, the last ${data.nTest} held out.`;
    setStatus('starting', `${intro} Computing the gradient view…`);
    state.gradients = await computeStepGradNorms(recur);
    renderGradLegend();
    drawGradients();
    setStatus('ready', `${intro} Press Train.`);
  } catch (e) {
    console.error(e);
    setStatus('error', `Could not start: ${e?.message ?? e}`);
  }
  setButtons();
}

void start();
