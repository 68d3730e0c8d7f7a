// The Mauna Loa CO2 series (examples/data/co2-concentration.csv), windowed exactly as
// examples/node-forecast/train.mjs does: each sample is 24 months taken relative to its last
// value and scaled by the training set's month-to-month spread; the target is the next month.
// The last 10 % of the windows are the held-out tail.
import csv from '../../data/co2-concentration.csv?raw';
import { co2Windows, parseCo2 } from '../../data/co2.mjs';

export const WINDOW = 24;

export function loadCo2() {
  const rows = parseCo2(csv);
  const series = rows.map((r) => r.co2);
  const { x, y, nTrain, nTest, scale } = co2Windows(series, WINDOW);
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
