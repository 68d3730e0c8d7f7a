// Forecasts tomorrow's maximum temperature in Seattle from the last two weeks of weather with a
// GRU trained through the recur SDK in Deno (the SDK's `deno` entry: the training runs in a
// module Worker, the .wasm is read from the package with Deno.readFile).
//
//   deno run --allow-read forecast.ts [--check]     (from examples/deno; see README.md)
//
// Data: examples/data/seattle-weather.csv (NOAA via vega-datasets), daily 2012–2015. Each sample
// is a window of WINDOW days with 6 features per day (max and min temperature, precipitation,
// wind, and the day of the year as sine and cosine); the target is the next day's maximum
// temperature, relative to the last day's (so predicting 0 is the persistence forecast). The
// first 80 % of the windows train (the last 10 % of them validate, for early stopping), the last 20 % — a
// later stretch of time — test. --check exits non-zero unless the GRU's test RMSE is below the
// persistence baseline's and its training loss fell.
import { createRecur } from 'recur';

const check = Deno.args.includes('--check');
const WINDOW = 14;
const EPOCHS = 150;

const csv = (await Deno.readTextFile(new URL('../data/seattle-weather.csv', import.meta.url))).trim().split('\n');
const header = csv[0]!.split(',');
const col = (name: string): number => header.indexOf(name);
const rows = csv.slice(1).map((line) => {
  const f = line.split(',');
  return {
    date: f[col('date')]!,
    tmax: Number(f[col('temp_max')]),
    tmin: Number(f[col('temp_min')]),
    precip: Number(f[col('precipitation')]),
    wind: Number(f[col('wind')]),
  };
});
for (const r of rows) {
  if (![r.tmax, r.tmin, r.precip, r.wind].every(Number.isFinite)) throw new Error(`bad row ${JSON.stringify(r)}`);
}

const n = rows.length - WINDOW; // windows: days i .. i+WINDOW-1 -> day i+WINDOW
const nTest = Math.round(n * 0.2);
const nTrain = n - nTest;
// Scaling from the training days only.
const trainDays = rows.slice(0, nTrain + WINDOW - 1);
const stats = (v: number[]) => {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, sd: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) };
};
const sTmax = stats(trainDays.map((r) => r.tmax));
const sTmin = stats(trainDays.map((r) => r.tmin));
const sPrecip = stats(trainDays.map((r) => Math.log1p(r.precip)));
const sWind = stats(trainDays.map((r) => r.wind));
const dayChanges = trainDays.slice(1).map((r, i) => r.tmax - trainDays[i]!.tmax);
const scale = Math.sqrt(dayChanges.reduce((a, b) => a + b * b, 0) / dayChanges.length); // °C per target unit

const F = 6;
const x = new Float32Array(n * WINDOW * F);
const y = new Float32Array(n);
for (let i = 0; i < n; i++) {
  for (let t = 0; t < WINDOW; t++) {
    const r = rows[i + t]!;
    const doy = (Date.parse(r.date) - Date.parse(`${r.date.slice(0, 4)}-01-01`)) / 86_400_000;
    const o = (i * WINDOW + t) * F;
    x[o] = (r.tmax - sTmax.mean) / sTmax.sd;
    x[o + 1] = (r.tmin - sTmin.mean) / sTmin.sd;
    x[o + 2] = (Math.log1p(r.precip) - sPrecip.mean) / sPrecip.sd;
    x[o + 3] = (r.wind - sWind.mean) / sWind.sd;
    x[o + 4] = Math.sin((2 * Math.PI * doy) / 365.25);
    x[o + 5] = Math.cos((2 * Math.PI * doy) / 365.25);
  }
  y[i] = (rows[i + WINDOW]!.tmax - rows[i + WINDOW - 1]!.tmax) / scale;
}

const recur = createRecur();
const info = await recur.init();
console.log(`recur ${info.version} (${info.variant} build, ${info.mode} in ${info.runtime}, Deno ${Deno.version.deno})`);
console.log(`data: ${rows.length} days ${rows[0]!.date} .. ${rows.at(-1)!.date}; windows of ${WINDOW} days x ${F} features; ` +
  `${nTrain} training windows, ${nTest} test windows (forecasting ${rows[nTrain + WINDOW]!.date} .. ${rows.at(-1)!.date})`);

const model = await recur.createModel({
  inputSize: F,
  layers: [
    { type: 'gru', hiddenSize: 32, returnSequences: false },
    { type: 'dense', units: 1 },
  ],
  seed: 7,
});

const started = Date.now();
let lastLog = '';
const history = await model.fit({ data: x.slice(0, nTrain * WINDOW * F), shape: [nTrain, WINDOW, F] }, { data: y.slice(0, nTrain), shape: [nTrain, 1] }, {
  epochs: EPOCHS,
  batchSize: 32,
  validationSplit: 0.1,
  optimizer: { type: 'adam', lr: 1e-3 },
  loss: 'mse',
  clip: { norm: 1 },
  earlyStopping: { patience: 30, restoreBestWeights: true },
  onEpochEnd: (e) => {
    lastLog = `epoch ${String(e.epoch + 1).padStart(3)}/${EPOCHS}  loss ${e.loss.toFixed(4)}  val loss ${e.valLoss!.toFixed(4)}  ${((Date.now() - started) / 1000).toFixed(1)} s`;
    if (e.epoch % 10 === 0) console.error(lastLog);
  },
});
console.error(lastLog);
const losses = history.history.loss!;
const best = history.bestEpoch ?? losses.length - 1;
console.log(`trained ${history.steps} steps (${losses.length} epochs${history.stoppedEpoch === undefined ? '' : ', stopped early'}) in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
  `loss ${losses[0]!.toFixed(4)} -> ${losses[best]!.toFixed(4)} (kept epoch ${best + 1}, val loss ${history.history.valLoss![best]!.toFixed(4)})`);

const pred = await model.predict({ data: x.slice(nTrain * WINDOW * F), shape: [nTest, WINDOW, F] }, { batchSize: 256 });
const day = (k: number) => nTrain + k + WINDOW; // the day being forecast
const rmse = (f: (k: number) => number) => {
  let s = 0;
  for (let k = 0; k < nTest; k++) s += (f(k) - rows[day(k)]!.tmax) ** 2;
  return Math.sqrt(s / nTest);
};
const gru = (k: number) => rows[day(k) - 1]!.tmax + pred.data[k]! * scale;
const persistence = (k: number) => rows[day(k) - 1]!.tmax;
const weekMean = (k: number) => {
  let s = 0;
  for (let d = 1; d <= 7; d++) s += rows[day(k) - d]!.tmax;
  return s / 7;
};
const rGru = rmse(gru);
const rPersistence = rmse(persistence);
console.log('\ntest-set next-day max temperature forecast error (RMSE, °C):');
console.log(`  GRU (recur)                    ${rGru.toFixed(3)}`);
console.log(`  persistence (today's maximum)  ${rPersistence.toFixed(3)}`);
console.log(`  mean of the last 7 days        ${rmse(weekMean).toFixed(3)}`);
console.log(`  GRU vs persistence: ${(100 * (1 - rGru / rPersistence)).toFixed(1)} % lower error`);
console.log('\nday           true    GRU   persistence');
for (const k of [0, Math.floor(nTest / 4), Math.floor(nTest / 2), Math.floor((3 * nTest) / 4), nTest - 1]) {
  console.log(`${rows[day(k)]!.date}    ${rows[day(k)]!.tmax.toFixed(1).padStart(5)}  ${gru(k).toFixed(1).padStart(5)}  ${persistence(k).toFixed(1).padStart(5)}`);
}
await model.dispose();
await recur.dispose();

if (check) {
  const failures: string[] = [];
  if (!(rGru < rPersistence)) failures.push(`GRU test RMSE ${rGru.toFixed(3)} °C is not below persistence ${rPersistence.toFixed(3)} °C`);
  if (!(losses[best]! < losses[0]!)) failures.push(`training loss did not fall (${losses[0]!.toFixed(4)} -> ${losses[best]!.toFixed(4)})`);
  if (failures.length > 0) {
    console.error(`\ncheck FAILED:\n  ${failures.join('\n  ')}`);
    Deno.exit(1);
  }
  console.log(`\ncheck ok: GRU ${rGru.toFixed(3)} °C < persistence ${rPersistence.toFixed(3)} °C; training loss fell`);
}
