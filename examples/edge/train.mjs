#!/usr/bin/env node
// Trains the small CO2 forecaster that the edge worker serves, with the recur SDK in Node, and
// writes model.safetensors (model.save(): config and weights) and model.json (the window and the
// scale the worker needs to prepare its input). Both files are committed; rerun to regenerate:
//
//   node examples/edge/train.mjs
//
// Data: examples/data/co2-concentration.csv (monthly Mauna Loa CO2), windows of 24 months -> the
// next month, relative to the window's last value (as examples/node-forecast does). The last 10 %
// of the windows are held out and the model's error there is printed against the last-value
// baseline.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRecur } from 'recur';
import { co2Windows, parseCo2 } from '../data/co2.mjs';
import { forecast } from './src/forecast.js';

const WINDOW = 24;
const rows = parseCo2(readFileSync(new URL('../data/co2-concentration.csv', import.meta.url), 'utf8'));
const series = rows.map((r) => r.co2);
const windows = co2Windows(series, WINDOW);
const { nTrain, nTest, scale } = windows;
const x = windows.x.slice(0, nTrain * WINDOW);
const y = windows.y.slice(0, nTrain);

const recur = createRecur();
const info = await recur.init();
console.log(`recur ${info.version} (${info.variant} build, ${info.mode} in ${info.runtime})`);
const model = await recur.createModel({
  inputSize: 1,
  layers: [
    { type: 'lstm', hiddenSize: 16, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 42,
});
const started = Date.now();
const history = await model.fit({ data: x, shape: [nTrain, WINDOW, 1] }, { data: y, shape: [nTrain, 1] }, {
  epochs: 150,
  batchSize: 32,
  validationSplit: 0.1,
  optimizer: { type: 'adam', lr: 3e-3 },
  loss: 'mse',
  clip: { norm: 1 },
  earlyStopping: { patience: 20, restoreBestWeights: true },
});
const best = history.bestEpoch ?? history.epochs.length - 1;
console.log(`trained ${history.steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; kept epoch ${best + 1}: ` +
  `loss ${history.history.loss[best].toFixed(4)}, val loss ${history.history.valLoss[best].toFixed(4)}`);

const meta = { window: WINDOW, scale, unit: 'ppm', series: 'monthly mean CO2 at Mauna Loa', trainedThrough: rows[nTrain + WINDOW - 2].date };
let sModel = 0;
let sLast = 0;
for (let k = 0; k < nTest; k++) {
  const i = nTrain + k;
  const [f] = await forecast(model, series.slice(i, i + WINDOW), meta);
  sModel += (f - series[i + WINDOW]) ** 2;
  sLast += (series[i + WINDOW - 1] - series[i + WINDOW]) ** 2;
}
console.log(`held-out one-month-ahead RMSE: LSTM ${Math.sqrt(sModel / nTest).toFixed(3)} ppm, last value ${Math.sqrt(sLast / nTest).toFixed(3)} ppm`);

const bytes = await model.save();
writeFileSync(new URL('./model.safetensors', import.meta.url), bytes);
writeFileSync(new URL('./model.json', import.meta.url), `${JSON.stringify(meta, null, 2)}\n`);
console.log(`wrote examples/edge/model.safetensors (${bytes.length} bytes) and examples/edge/model.json`);
await model.dispose();
await recur.dispose();
