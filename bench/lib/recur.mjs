// recur through its public SDK (package `recur`, Node entry point, worker mode).
// The model API is being built while this benchmark is written: this adapter looks for it and
// throws NotAvailable (reported as "n/a (API not available)") when it is not there. It never
// makes numbers up.
import { outputSize, toTimeMajor } from './common.mjs';

export class NotAvailable extends Error {}

export async function loadRecur() {
  let sdk;
  try {
    sdk = await import('recur');
  } catch (e) {
    throw new NotAvailable(`the recur SDK did not load: ${e.message}`);
  }
  const create = sdk.createRecur ?? sdk.default?.createRecur;
  const createModelTop = sdk.createModel;
  let runtime;
  if (typeof create === 'function') runtime = create({ mode: 'worker' });
  const createModel = runtime && typeof runtime.createModel === 'function' ? runtime.createModel.bind(runtime) : createModelTop;
  if (typeof createModel !== 'function') {
    await runtime?.dispose?.();
    throw new NotAvailable('the recur SDK has no createModel yet');
  }
  const info = runtime?.init ? await runtime.init() : undefined;
  return { sdk, runtime, createModel, info };
}

/** The model config of recur-core (crates/recur-core/src/model/config.rs). */
export function recurConfig(c, kind) {
  return {
    input_size: c.I,
    seed: 1,
    layers: [
      { type: kind, hidden_size: c.H, return_sequences: false },
      { type: 'dense', units: outputSize(c) },
    ],
  };
}

/** Returns { step, predict, dispose } or throws NotAvailable. */
export async function recurModel(c, kind, data) {
  const r = await loadRecur();
  const model = await r.createModel(recurConfig(c, kind), { optimizer: { type: 'adam', lr: 1e-3 }, loss: 'mse' });
  const xT = toTimeMajor(data.x, c); // recur-core's recurrent layers are time-major [T, B, I]
  const x = { data: xT, shape: [c.T, c.B, c.I] };
  const y = { data: data.y, shape: [c.B, outputSize(c)] };
  const train = model.trainStep ?? model.trainBatch ?? model.fit;
  if (typeof train !== 'function') throw new NotAvailable('the recur model has no trainStep/fit yet');
  if (typeof model.predict !== 'function') throw new NotAvailable('the recur model has no predict yet');
  return {
    info: r.info,
    step: () => (model.trainStep ?? model.trainBatch) ? train.call(model, x, y) : train.call(model, x, y, { epochs: 1, batchSize: c.B }),
    predict: () => model.predict(x),
    dispose: async () => {
      await model.dispose?.();
      await r.runtime?.dispose?.();
    },
  };
}
