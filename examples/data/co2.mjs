// The Mauna Loa CO2 series (co2-concentration.csv) as the examples use it: parsing, and windows of
// `window` months taken relative to their last value (so a model learns the seasonal shape and the
// trend's slope, not the level), scaled by the training part's month-to-month spread; the target
// is the next month. The last `testFraction` of the windows are held out. Shared by
// examples/node-forecast, examples/browser and examples/edge. No Node or browser APIs here.

/** The CSV text as `{ date, co2 }` rows, oldest first. */
export function parseCo2(csvText) {
  return csvText
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [date, co2] = line.split(',');
      return { date, co2: Number(co2) };
    });
}

/**
 * Every window of `series`: `x[i] = (series[i .. i+window) - series[i+window-1]) / scale` and
 * `y[i] = (series[i+window] - series[i+window-1]) / scale`, for `n = series.length - window`
 * windows, of which the first `nTrain` are for training and the last `nTest` held out.
 */
export function co2Windows(series, window, testFraction = 0.1) {
  const n = series.length - window;
  const nTest = Math.round(n * testFraction);
  const nTrain = n - nTest;
  let scale = 0;
  for (let i = 1; i < nTrain + window; i++) scale += (series[i] - series[i - 1]) ** 2;
  scale = Math.sqrt(scale / (nTrain + window - 1));
  const x = new Float32Array(n * window);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const last = series[i + window - 1];
    for (let t = 0; t < window; t++) x[i * window + t] = (series[i + t] - last) / scale;
    y[i] = (series[i + window] - last) / scale;
  }
  return { x, y, n, nTrain, nTest, scale };
}
