// The SDK in a browser page with no bundler and no import map: `index.html` imports
// dist/browser/recur.js by relative path from a plain static server. Run with COOP/COEP
// (cross-origin isolated: the threads build and its helper workers) and without (one thread, and
// why), each twice: same-origin, and cross-origin (the page from one loopback server, the package
// from a second one on another port with CORS headers, as from a CDN: the worker and the thread
// helpers must then start from blob: modules importing the scripts, and the .wasm come from the
// second origin). Debian's Chromium driven by playwright-core; never a downloaded browser. Fails
// on any console error, page error, failed request or HTTP error, and on timeout (browser and
// servers are killed). `node test/nobundler/run.mjs` after `pnpm run build`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { packageRoot, startServer } from './server.mjs';

const CHROMIUM = process.env.RECUR_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
/** Per server mode: page load, init, the in-process checks and a small fit. */
const MODE_TIMEOUT_MS = 90_000;

for (const f of ['dist/browser/recur.js', 'dist/browser/web-worker.js', 'dist/browser/thread-helper-web.js', 'wasm/simd/recur_wasm_bg.wasm']) {
  if (!existsSync(packageRoot + f)) {
    console.error(`missing ${f}: run \`pnpm --filter recur build\` (and scripts/build-wasm.sh) first`);
    process.exit(1);
  }
}

let browserServer;
let server;
let cdnServer;
/** Closes the browser (killed if it does not close within 5 s, or at once with `kill`) and the servers. */
const cleanup = async ({ kill = false } = {}) => {
  const b = browserServer;
  const s = server;
  const c = cdnServer;
  browserServer = server = cdnServer = undefined;
  if (b !== undefined) {
    let timer;
    const closed = kill ? Promise.reject(new Error('kill')) : b.close();
    const late = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('close timed out')), 5_000)));
    await Promise.race([closed, late]).catch(() => b.kill().catch(() => undefined));
    clearTimeout(timer);
  }
  await s?.close();
  await c?.close();
};

/**
 * Loads the page from a server in one mode and returns what it wrote into the DOM, the requests
 * each server served, and the URLs of the workers the page started.
 */
async function runMode(isolated, crossOrigin) {
  server = await startServer({ isolated });
  // The "CDN": another port is another origin.
  if (crossOrigin) cdnServer = await startServer({ isolated, cors: true });
  browserServer = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  const browser = await chromium.connect(browserServer.wsEndpoint());
  const problems = [];
  const page = await browser.newPage();
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()} (${req.failure()?.errorText})`));
  page.on('response', (res) => {
    if (res.status() >= 400) problems.push(`HTTP ${res.status()}: ${res.url()}`);
  });
  const workers = [];
  page.on('worker', (w) => {
    workers.push(w.url());
    w.on('console', (msg) => msg.type() === 'error' && problems.push(`worker console error: ${msg.text()}`));
  });
  const query = crossOrigin ? `?cdn=${encodeURIComponent(cdnServer.origin)}` : '';
  await page.goto(`${server.origin}/test/nobundler/index.html${query}`);
  await page.waitForFunction(() => document.body.dataset.status !== 'running', null, { timeout: MODE_TIMEOUT_MS, polling: 100 });
  const status = await page.evaluate(() => document.body.dataset.status);
  const text = await page.evaluate(() => document.getElementById('result').textContent);
  const pageServed = server.requests.slice();
  const cdnOrigin = cdnServer?.origin;
  const served = (cdnServer ?? server).requests.slice();
  await browser.close();
  await cleanup();
  assert.equal(status, 'done', `the page failed:\n${text}`);
  assert.deepEqual(problems, [], 'console or page errors');
  return { result: JSON.parse(text), served, pageServed, workers, cdnOrigin };
}

/** What the page must report in each mode. */
function check(isolated, crossOrigin, { result: r, served, pageServed, workers, cdnOrigin }) {
  const label = `${isolated ? 'COOP/COEP' : 'plain'}${crossOrigin ? ', package from another origin' : ''}`;
  // Only relative files of the package were loaded: the bundles, and the wasm next to the package
  // (in cross-origin mode all from the second server, and nothing of the package from the page's).
  for (const p of ['/dist/browser/recur.js', '/dist/browser/web-worker.js']) {
    assert.ok(served.includes(`200 ${p}`), `${label}: ${p} was not served (${served.join(', ')})`);
  }
  assert.equal(r.crossOriginIsolated, isolated, `${label}: crossOriginIsolated`);
  if (crossOrigin) {
    assert.equal(r.bundle, `${cdnOrigin}/dist/browser/recur.js`, `${label}: the bundle's URL`);
    assert.ok(pageServed.length === 1 && pageServed[0].startsWith('200 /test/nobundler/index.html?cdn='), `${label}: the page's server served ${pageServed.join(', ')}`);
    // The worker started from a same-origin blob: module (a cross-origin script URL is refused).
    assert.ok(workers.length > 0 && workers.every((u) => u.startsWith('blob:')), `${label}: workers ${workers.join(', ')}`);
  } else {
    assert.ok(workers.some((u) => u.endsWith('/dist/browser/web-worker.js')), `${label}: workers ${workers.join(', ')}`);
  }

  // The runtime asked for 2 threads; the default runtime asks for min(hardwareConcurrency, 4).
  const { threadsFallback, version, ...init } = r.init;
  assert.match(version, /^\d+\.\d+\.\d+/);
  const defaultThreads = Math.min(r.hardwareConcurrency, 4);
  // The build the loader prefers (relaxed-SIMD ones where the SDK has them and Chromium validates them).
  const [single, threaded] = r.relaxedSimd ? ['relaxed', 'relaxed-threads'] : ['simd', 'threads'];
  const { threadsFallback: dfb, version: _v, ...d } = r.defaultInit;
  if (isolated) {
    assert.deepEqual(init, { variant: threaded, threads: 2, runtime: 'browser', mode: 'worker' }, `${label}: init()`);
    assert.equal(threadsFallback, undefined);
    assert.ok(served.includes('200 /dist/browser/thread-helper-web.js'), `${label}: the thread helper was not loaded`);
    assert.ok(served.includes(`200 /wasm/${threaded}/recur_wasm_bg.wasm`), `${label}: the ${threaded} build was not loaded`);
    assert.deepEqual(d, { variant: defaultThreads > 1 ? threaded : single, threads: defaultThreads, runtime: 'browser', mode: 'worker' }, `${label}: default init()`);
    assert.equal(dfb, undefined);
  } else {
    assert.deepEqual(init, { variant: single, threads: 1, runtime: 'browser', mode: 'worker' }, `${label}: init()`);
    assert.match(threadsFallback ?? '', /cross-origin isolated/);
    assert.ok(!served.some((s) => s.includes('thread-helper-web.js') || s.includes('threads/')), `${label}: threads files were loaded`);
    assert.deepEqual(d, { variant: single, threads: 1, runtime: 'browser', mode: 'worker' }, `${label}: default init()`);
    if (defaultThreads > 1) assert.match(dfb ?? '', /cross-origin isolated/);
  }
  assert.ok(served.includes(`200 /wasm/${single}/recur_wasm_bg.wasm`), `${label}: the ${single} build was not loaded`);

  // Training in the worker: 6 epochs, loss fell, predictions of the right shape and finite.
  const { losses, predShape, pred, epochsSeen } = r.fit;
  assert.equal(losses.length, 6);
  assert.equal(epochsSeen, 6);
  assert.ok(losses.every(Number.isFinite), `${label}: losses ${losses}`);
  assert.ok(losses.at(-1) < 0.7 * losses[0], `${label}: the loss did not fall: ${losses.join(', ')}`);
  assert.deepEqual(predShape, [4, 1]);
  assert.ok(pred.length === 4 && pred.every(Number.isFinite), `${label}: predictions ${pred}`);
  assert.equal(r.badConfig.isRecurError, true, `${label}: a bad config did not reject with RecurError`);
  assert.match(r.badConfig.code, /^ERR_/);

  // In-process on the page's thread: every yield between steps is a MessageChannel message, never
  // a (4 ms-clamped) setTimeout(0); the page's timer keeps running during the call.
  const ip = r.inprocess;
  assert.equal(ip.mode, 'inprocess');
  assert.equal(ip.completedSteps, 40);
  assert.ok(ip.channels >= 40, `${label}: in-process yields used ${ip.channels} MessageChannels for 40 steps of 10 ms`);
  assert.equal(ip.zeroTimeouts, 0, `${label}: in-process yields used setTimeout(0)`);
  assert.ok(ip.ticks >= 5 && ip.longestGap < 100, `${label}: the page's timer ticked ${ip.ticks} times, longest gap ${ip.longestGap} ms`);
  // Without MessageChannel the fallback is setTimeout(0), and the call still completes.
  const fb = r.inprocessTimeout;
  assert.equal(fb.completedSteps, 40);
  assert.equal(fb.channels, 0);
  assert.ok(fb.zeroTimeouts >= 40, `${label}: the fallback made ${fb.zeroTimeouts} setTimeout(0) calls`);
  assert.ok(fb.ticks >= 5 && fb.longestGap < 100, `${label}: fallback: ${fb.ticks} ticks, longest gap ${fb.longestGap} ms`);

  const f1 = (v) => v.toFixed(1);
  console.log(
    `ok ${label}: init ${r.init.variant}×${r.init.threads}${threadsFallback ? ' (fallback: not isolated)' : ''}, default ${r.defaultInit.variant}×${r.defaultInit.threads}; ` +
      `loss ${losses[0].toFixed(4)} → ${losses.at(-1).toFixed(4)}; in-process 40×10 ms: MessageChannel ${f1(ip.ms)} ms ` +
      `(${ip.channels} yields, ${ip.ticks} ticks), setTimeout fallback ${f1(fb.ms)} ms (${fb.zeroTimeouts} yields)`,
  );
}

/** [isolated, crossOrigin] */
const MODES = [
  [true, false],
  [false, false],
  [true, true],
  [false, true],
];

const watchdog = setTimeout(async () => {
  console.error(`nobundler: timed out after ${(MODES.length * MODE_TIMEOUT_MS + 30_000) / 1000} s; killing the browser and the servers`);
  await Promise.race([cleanup({ kill: true }), new Promise((r) => setTimeout(r, 5_000))]);
  process.exit(1);
}, MODES.length * MODE_TIMEOUT_MS + 30_000);

try {
  for (const [isolated, crossOrigin] of MODES) check(isolated, crossOrigin, await runMode(isolated, crossOrigin));
  console.log(`nobundler: ${MODES.length} passed`);
} catch (e) {
  console.error(`nobundler: FAIL ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  await cleanup();
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
}
