#!/usr/bin/env node
// CI check of the edge example (`pnpm run example:ci`): bundles the worker, starts `workerd serve`
// on a free loopback port, asks it for forecasts and compares them with what the same model
// (model.safetensors, loaded by the recur SDK in Node) predicts for the same input here, sends
// bad requests expecting 400 with the SDK's error code, then stops workerd. Bounded in time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRecur } from 'recur';
import { buildWorker, startWorkerd, stopWorkerd } from './build.mjs';
import { forecast } from './src/forecast.js';

const started = Date.now();
const TOLERANCE = 1e-3; // ppm; the same wasm and weights should agree to float32 rounding
let child;
const watchdog = setTimeout(() => {
  console.error('ci.mjs: timed out after 120 s');
  child?.kill('SIGKILL');
  process.exit(1);
}, 120_000);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    child?.kill('SIGKILL');
    process.exit(1);
  });
}

async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

const meta = JSON.parse(readFileSync(new URL('./model.json', import.meta.url), 'utf8'));
const csv = readFileSync(new URL('../data/co2-concentration.csv', import.meta.url), 'utf8').trim().split('\n').slice(1);
const dates = csv.map((l) => l.split(',')[0]);
const series = csv.map((l) => Number(l.split(',')[1]));
const W = meta.window;
const cases = [
  // the last window whose next month is known, one month ahead
  { values: series.slice(-W - 1, -1), horizon: 1, truth: series.at(-1), label: `${dates.at(-W - 1)} .. ${dates.at(-2)} -> ${dates.at(-1)}` },
  // the last 24 months of the data, three months beyond it
  { values: series.slice(-W), horizon: 3, label: `${dates.at(-W)} .. ${dates.at(-1)} -> next 3 months` },
];

// The Node SDK's answers for the same inputs, from the same bytes.
const recur = createRecur();
const nodeModel = await recur.loadModel(new Uint8Array(readFileSync(new URL('./model.safetensors', import.meta.url))));
for (const c of cases) c.node = await forecast(nodeModel, c.values, meta, c.horizon);
await nodeModel.dispose();
await recur.dispose();

const port = await freePort();
const { config, modules } = await buildWorker({ port });
console.log(`bundled src/worker.js with ${modules.join(', ')}; workerd on 127.0.0.1:${port}`);
let failed = false;
try {
  const w = await startWorkerd(config, port, { onSpawn: (c) => (child = c) });
  const base = `http://127.0.0.1:${port}`;
  const post = async (body) => {
    const res = await fetch(`${base}/forecast`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    return { status: res.status, body: await res.json() };
  };
  try {
    console.log(`GET /health: ${JSON.stringify(w.health.recur)}`);
    assert.equal(w.health.ok, true);
    assert.equal(w.health.recur.runtime, 'workerd');
    assert.equal(w.health.model.window, W);

    for (const c of cases) {
      const r = await post({ values: c.values, horizon: c.horizon });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.forecast.length, c.horizon);
      const diff = Math.max(...r.body.forecast.map((v, i) => Math.abs(v - c.node[i])));
      const fmt = (a) => a.map((v) => v.toFixed(3)).join(', ');
      console.log(`POST /forecast ${c.label}: workerd [${fmt(r.body.forecast)}], Node [${fmt(c.node)}]` +
        `${c.truth === undefined ? '' : `, true ${c.truth.toFixed(2)}`}; max |diff| ${diff.toExponential(1)} ppm`);
      assert.ok(diff <= TOLERANCE, `workerd and Node differ by ${diff} ppm`);
      if (c.truth !== undefined) assert.ok(Math.abs(r.body.forecast[0] - c.truth) < 3, 'the forecast is far from the true value');
    }

    const bad = [
      { what: '5 values instead of 24', body: { values: series.slice(-5) }, code: 'ERR_SHAPE' },
      { what: 'a string among the values', body: { values: [...series.slice(-W + 1), 'abc'] }, code: 'ERR_TYPE' },
      { what: 'a value beyond float32 range', body: { values: [...series.slice(-W + 1), 1e39] }, code: 'ERR_NON_FINITE' },
      { what: 'values whose differences overflow', body: { values: [...series.slice(-W + 1), 3e38].map((v, i) => (i === 0 ? -3e38 : v)) }, code: 'ERR_NON_FINITE' },
      { what: 'horizon 99', body: { values: series.slice(-W), horizon: 99 }, code: 'ERR_RANGE' },
      { what: 'a body that is not JSON', body: '{"values": [1, 2', code: 'ERR_TYPE' },
    ];
    for (const b of bad) {
      const r = await post(b.body);
      console.log(`POST /forecast with ${b.what}: ${r.status} ${r.body.code} (${r.body.error})`);
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, b.code);
    }
    const nf = await fetch(`${base}/nope`, { signal: AbortSignal.timeout(5_000) });
    await nf.arrayBuffer();
    assert.equal(nf.status, 404);
  } catch (e) {
    failed = true;
    console.error(`FAILED: ${e.stack ?? e}\nworkerd log:\n${w.log()}`);
  } finally {
    await stopWorkerd(child);
  }
} catch (e) {
  failed = true;
  console.error(`FAILED: ${e.stack ?? e}`);
}
clearTimeout(watchdog);
if (failed) process.exit(1);
console.log(`edge example ok: workerd answered like the Node SDK and rejected bad requests with the SDK's codes (${((Date.now() - started) / 1000).toFixed(1)} s)`);
