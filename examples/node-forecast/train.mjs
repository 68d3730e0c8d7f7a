#!/usr/bin/env node
// Forecasts monthly Mauna Loa CO2 (examples/data/co2-concentration.csv) one month ahead with an
// LSTM trained through the recur SDK in Node (the training runs in recur's worker thread).
//
//   node examples/node-forecast/train.mjs          (after `bash scripts/demo.sh` built everything)
//
// Each sample is a window of 24 months; the target is the next month. Windows are taken relative
// to their last value (so the model learns the seasonal shape and the trend's slope, not the
// level) and scaled by the training set's spread. The last 10 % of the windows are held out as
// the test set; the forecast error on it is compared with two naive baselines.
import { readFileSync } from 'node:fs';
import { createRecur } from '../../packages/recur/dist/entrypoints/node.js';
import { co2Windows, parseCo2 } from '../data/co2.mjs';

const WINDOW = 24;
const EPOCHS = Number(process.env.EPOCHS ?? 150);
const rows = parseCo2(readFileSync(new URL('../data/co2-concentration.csv', import.meta.url), 'utf8'));
const series = rows.map((r) => r.co2);

// Windows: x = series[i .. i+24) - series[i+23], y = series[i+24] - series[i+23], scaled.
const { x, y, nTrain, nTest, scale } = co2Windows(series, WINDOW);
const train = { x: { data: x.slice(0, nTrain * WINDOW), shape: [nTrain, WINDOW, 1] }, y: { data: y.slice(0, nTrain), shape: [nTrain, 1] } };
const test = { x: { data: x.slice(nTrain * WINDOW), shape: [nTest, WINDOW, 1] } };

const recur = createRecur();
const info = await recur.init();
console.log(`recur ${info.version} (${info.variant} build, ${info.mode} in ${info.runtime})`);
console.log(`data: ${series.length} months ${rows[0].date} .. ${rows.at(-1).date}; ${nTrain} training windows, ${nTest} test windows (from ${rows[nTrain + WINDOW].date})`);

const model = await recur.createModel({
  inputSize: 1,
  layers: [
    { type: 'lstm', hiddenSize: 32, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 42,
});

const started = Date.now();
const tty = process.stderr.isTTY === true;
let lastEpoch = { loss: NaN, valLoss: NaN };
// One progress line on stderr: the bar advances per batch; loss and val loss of the last epoch.
const draw = (progress, epoch) => {
  const width = 30;
  const done = Math.min(width, Math.floor(progress * width));
  const text = `[${'#'.repeat(done)}${'.'.repeat(width - done)}] epoch ${String(epoch).padStart(3)}/${EPOCHS}` +
    `  loss ${lastEpoch.loss.toFixed(4)}  val loss ${lastEpoch.valLoss.toFixed(4)}  ${((Date.now() - started) / 1000).toFixed(1)} s`;
  if (tty) process.stderr.write(`\r${text} `);
  else if (epoch % 20 === 0 || epoch === EPOCHS) process.stderr.write(`${text}\n`);
};
const history = await model.fit(train.x, train.y, {
  epochs: EPOCHS,
  batchSize: 32,
  validationSplit: 0.1,
  optimizer: { type: 'adam', lr: 3e-3 },
  loss: 'mse',
  clip: { norm: 1 },
  earlyStopping: { patience: 20, restoreBestWeights: true },
  onBatchEnd: (b) => {
    if (tty && b.batch < b.batches - 1) draw((b.epoch + (b.batch + 1) / b.batches) / EPOCHS, b.epoch);
  },
  onEpochEnd: (logs) => {
    lastEpoch = { loss: logs.loss, valLoss: logs.valLoss };
    draw((logs.epoch + 1) / EPOCHS, logs.epoch + 1);
  },
});
if (tty) process.stderr.write('\n');
else if (history.epochs.length % 20 !== 0) process.stderr.write(`stopped after epoch ${history.epochs.length}\n`);
const best = history.bestEpoch ?? history.epochs.length - 1;
console.log(`trained ${history.steps} steps (${history.epochs.length} epochs${history.stoppedEpoch === undefined ? '' : ', stopped early'}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
  `kept epoch ${best + 1}: loss ${history.history.loss[best].toFixed(4)}, val loss ${history.history.valLoss[best].toFixed(4)}`);

const pred = await model.predict(test.x, { batchSize: 128 });
const rmse = (f) => {
  let s = 0;
  for (let k = 0; k < nTest; k++) s += (f(k) - series[nTrain + k + WINDOW]) ** 2;
  return Math.sqrt(s / nTest);
};
const idx = (k) => nTrain + k + WINDOW; // the month being forecast
const lstm = (k) => series[idx(k) - 1] + pred.data[k] * scale;
const seasonal = (k) => series[idx(k) - 12];
const lastValue = (k) => series[idx(k) - 1];
console.log('\ntest-set one-month-ahead forecast error (RMSE, ppm):');
console.log(`  LSTM (recur)                      ${rmse(lstm).toFixed(3)}`);
console.log(`  seasonal naive (12 months before) ${rmse(seasonal).toFixed(3)}`);
console.log(`  last value                        ${rmse(lastValue).toFixed(3)}`);
console.log('\nmonth        true    LSTM   seasonal  last');
for (const k of [0, Math.floor(nTest / 4), Math.floor(nTest / 2), Math.floor((3 * nTest) / 4), nTest - 1]) {
  const r = rows[idx(k)];
  console.log(`${r.date.slice(0, 7)}    ${series[idx(k)].toFixed(2)}  ${lstm(k).toFixed(2)}  ${seasonal(k).toFixed(2)}    ${lastValue(k).toFixed(2)}`);
}
await model.dispose();
await recur.dispose();
