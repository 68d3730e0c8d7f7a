// The Mauna Loa CO2 series (examples/data/co2-concentration.csv), windowed exactly as
// examples/node-forecast/train.mjs does: each sample is 24 months taken relative to its last
// value and scaled by the training set's month-to-month spread; the target is the next month.
// The last 10 % of the windows are the held-out tail.
import csv from '../../data/co2-concentration.csv?raw';

export const WINDOW = 24;

export function loadCo2() {
  const rows = csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [date, co2] = line.split(',');
      return { date, co2: Number(co2) };
    });
  const series = rows.map((r) => r.co2);
  const n = series.length - WINDOW;
  const nTest = Math.round(n * 0.1);
  const nTrain = n - nTest;
  let scale = 0;
  for (let i = 1; i < nTrain + WINDOW; i++) scale += (series[i] - series[i - 1]) ** 2;
  scale = Math.sqrt(scale / (nTrain + WINDOW - 1));
  const x = new Float32Array(n * WINDOW);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const last = series[i + WINDOW - 1];
    for (let t = 0; t < WINDOW; t++) x[i * WINDOW + t] = (series[i + t] - last) / scale;
    y[i] = (series[i + WINDOW] - last) / scale;
  }
  return {
    rows,
    series,
    scale,
    nTrain,
    nTest,
    // Fresh copies for every call: recur transfers (detaches) the arrays it is given.
    train: () => ({
      x: { data: x.slice(0, nTrain * WINDOW), shape: [nTrain, WINDOW, 1] },
      y: { data: y.slice(0, nTrain), shape: [nTrain, 1] },
    }),
    test: () => ({ data: x.slice(nTrain * WINDOW), shape: [nTest, WINDOW, 1] }),
    /** Index in `series` of the month forecast by test window k. */
    monthOf: (k) => nTrain + k + WINDOW,
    /** A prediction (normalized delta) of test window k back in ppm. */
    toPpm: (k, v) => series[nTrain + k + WINDOW - 1] + v * scale,
  };
}
