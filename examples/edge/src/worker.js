// A Cloudflare-style module worker that serves CO2 forecasts from a model trained in Node
// (../train.mjs). Bundled by build.mjs with esbuild (the `workerd` export condition, as wrangler
// does); the .wasm files and the model bytes stay separate workerd modules: a .wasm import is a
// precompiled WebAssembly.Module, a .safetensors import an ArrayBuffer (config.capnp declares
// them). recur runs in-process here (workerd has no workers), in steps that yield.
//
//   GET  /health    -> 200 {"ok":true,"recur":{version,variant,runtime,mode},"model":{...}}
//   POST /forecast  {"values":[24 monthly values, oldest first], "horizon":1..12 (default 1)}
//                   -> 200 {"forecast":[ppm, ...],"horizon":n}
//   bad input       -> 400 {"error":message,"code":"ERR_...","details":{...}} (the SDK's error code)
import { createRecur, InputTypeError, RecurError, ShapeError, ValueRangeError } from 'recur';
import simd from 'recur/wasm/simd/recur_wasm_bg.wasm';
import scalar from 'recur/wasm/scalar/recur_wasm_bg.wasm';
import modelBytes from '../model.safetensors';
import meta from '../model.json';
import { forecast } from './forecast.js';

const MAX_HORIZON = 12;
// Codes that describe the request rather than the server.
const CLIENT_CODES = new Set(['ERR_SHAPE', 'ERR_NON_FINITE', 'ERR_RANGE', 'ERR_TYPE', 'ERR_FORMAT', 'ERR_UNSUPPORTED']);

// The wasm and the model are loaded for each request and freed at its end. (Keeping one runtime
// per isolate would save that — instantiating the precompiled module and reading 6 KB of weights
// take a few milliseconds — but recur 0.1.0 cannot be shared across requests on workerd: its
// call queue awaits a promise created by the request that started the runtime, and workerd
// fails the first call of a later request with "This promise was created by a request that has
// since ended". See README.md.)
async function withModel(use) {
  const recur = createRecur({ wasm: { module: { simd, scalar } } });
  try {
    const info = await recur.init();
    const model = await recur.loadModel(new Uint8Array(modelBytes));
    return await use({ info, model });
  } finally {
    await recur.dispose();
  }
}

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

async function parseForecastRequest(request) {
  let body;
  try {
    body = await request.json();
  } catch {
    throw new InputTypeError('the body must be JSON: {"values": [...], "horizon": 1}', { details: { what: 'body' } });
  }
  if (body === null || typeof body !== 'object' || !Array.isArray(body.values)) {
    throw new InputTypeError('the body must be an object with an array "values"', { details: { what: 'values' } });
  }
  if (body.values.length !== meta.window) {
    throw new ShapeError(`"values" must hold the last ${meta.window} monthly values, got ${body.values.length}`, {
      details: { what: 'values', expected: [meta.window], got: [body.values.length] },
    });
  }
  const horizon = body.horizon ?? 1;
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > MAX_HORIZON) {
    throw new ValueRangeError(`"horizon" must be an integer from 1 to ${MAX_HORIZON}`, { details: { what: 'horizon', got: horizon } });
  }
  // Element types and finiteness are left to the SDK, which checks every element of its input.
  return { values: body.values, horizon };
}

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/health' && request.method === 'GET') {
        return await withModel(({ info }) => json({ ok: true, recur: info, model: meta }));
      }
      if (url.pathname === '/forecast') {
        if (request.method !== 'POST') return json({ error: 'use POST', code: 'METHOD_NOT_ALLOWED' }, 405);
        const { values, horizon } = await parseForecastRequest(request);
        const out = await withModel(({ model }) => forecast(model, values, meta, horizon));
        return json({ forecast: out, horizon, unit: meta.unit });
      }
      return json({ error: 'not found: GET /health, POST /forecast', code: 'NOT_FOUND' }, 404);
    } catch (e) {
      if (e instanceof RecurError) {
        return json({ error: e.message, code: e.code, details: e.details }, CLIENT_CODES.has(e.code) ? 400 : 500);
      }
      return json({ error: String(e), code: 'INTERNAL' }, 500);
    }
  },
};
