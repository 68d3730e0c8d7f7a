// The forecasting logic shared by the worker (src/worker.js, on workerd) and the Node scripts
// (train.mjs, ci.mjs): how a window of monthly CO2 values becomes the model's input, and how the
// model's output becomes a value in ppm. Plain JavaScript importing only 'recur' (its node entry
// in Node, its workerd entry in the bundle), so both sides run the same code.
//
// The model sees the last WINDOW months relative to the last one, divided by `scale` (the spread
// of the month-to-month changes in its training data), and predicts the next month the same way.
// Several months ahead: each forecast is appended to the window and the model asked again.
import { toTensor } from 'recur';

/**
 * Forecasts `horizon` months after `values` (at least `window` finite numbers, oldest first) with
 * `model` (a recur Model). Returns the forecasts in ppm.
 */
export async function forecast(model, values, { window, scale }, horizon = 1) {
  // The SDK's own validation of the raw values: InputTypeError (ERR_TYPE) for anything but
  // numbers, NonFiniteError (ERR_NON_FINITE) for NaN, Infinity or values beyond float32's range.
  // The arithmetic below then uses the original float64 numbers.
  toTensor(values, { name: 'values', rank: 1 });
  const series = values.slice(-window);
  const out = [];
  for (let h = 0; h < horizon; h++) {
    const last = series[series.length - 1];
    // [1, window, 1] as nested arrays: the SDK validates every element (type, finiteness).
    const x = [series.slice(-window).map((v) => [(v - last) / scale])];
    const y = await model.predict(x);
    const next = last + y.data[0] * scale;
    out.push(next);
    series.push(next);
  }
  return out;
}
