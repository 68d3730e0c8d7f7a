#!/usr/bin/env node
// example:ci — builds the app, serves the built files on a loopback port (vite preview), and
// drives Debian's Chromium with playwright-core: the gradient view is drawn and shows vanishing
// gradients for the sigmoid RNN but not the LSTM/GRU; Train makes the shown loss fall below half
// of the first epoch's while the page keeps animating; Stop leaves a stopped model; Save downloads
// model.safetensors and Load brings the same forecasts back; a screenshot is kept in
// artifacts/screenshot.png. Exits non-zero with a message on any failure.
//
// Needs: pnpm install; bash scripts/build-wasm.sh (the .wasm files). Builds packages/recur when its
// dist/ is missing or older than its sources. RECUR_CHROMIUM overrides /usr/bin/chromium.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = join(here, '..');
const sdkRoot = join(appRoot, '../../packages/recur');
const artifacts = join(appRoot, 'artifacts');
const chromiumPath = process.env.RECUR_CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];
const MAX_FRAME_GAP_MS = 250;
/** Train at least this long, so that the frame-gap check watches a few seconds of training. */
const MIN_TRAIN_MS = 3_000;
const TOTAL_TIMEOUT_MS = 150_000;

const t0 = Date.now();
const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
const log = (msg) => console.log(`[example:ci ${elapsed()}] ${msg}`);
let passed = 0;
const check = (ok, what, detail = '') => {
  if (!ok) throw new Error(`check failed: ${what}${detail ? ` (${detail})` : ''}`);
  passed++;
  log(`ok  ${what}${detail ? ` (${detail})` : ''}`);
};

const watchdog = setTimeout(() => {
  console.error(`example:ci: FAILED: timed out after ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);
watchdog.unref();

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds packages/recur (tsc) only when its dist is missing or older than its sources. */
function ensureSdkBuilt() {
  for (const variant of ['simd', 'scalar']) {
    const wasm = join(sdkRoot, 'wasm', variant, 'recur_wasm_bg.wasm');
    if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run \`bash scripts/build-wasm.sh\` at the repository root first`);
  }
  const entry = join(sdkRoot, 'dist/entrypoints/browser.js');
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(sdkRoot, 'src'))) {
    log('packages/recur/dist is up to date');
    return;
  }
  log('building packages/recur (pnpm --filter recur build)');
  execFileSync('pnpm', ['--filter', 'recur', 'build'], { cwd: appRoot, stdio: 'inherit' });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const numberAttr = (page, selector, name) => page.$eval(selector, (el, n) => Number(el.getAttribute(n)), name);

async function main() {
  ensureSdkBuilt();
  mkdirSync(artifacts, { recursive: true });

  const { build, preview } = await import('vite');
  log('vite build');
  await build({ root: appRoot, logLevel: 'warn', configFile: join(appRoot, 'vite.config.js') });

  const port = await freePort();
  const server = await preview({
    root: appRoot,
    configFile: join(appRoot, 'vite.config.js'),
    logLevel: 'warn',
    preview: { host: '127.0.0.1', port, strictPort: true, open: false },
  });
  const url = `http://127.0.0.1:${port}/`;
  log(`serving dist/ at ${url}`);

  const { chromium } = await import('playwright-core');
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} not found: install Debian's chromium (apt-get install chromium)`);
  const browser = await chromium.launch({ executablePath: chromiumPath, args: FLAGS, headless: true });
  const problems = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));

    await page.goto(url);
    // Start: worker + wasm, model created, gradient view computed.
    await page.waitForFunction(() => ['ready', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 30_000 });
    const status = await page.textContent('#status');
    check((await page.getAttribute('#status', 'data-state')) === 'ready', 'the page started (worker, wasm, gradient view)', status.trim());
    check(/in a Web Worker/.test(status), 'recur runs in a Web Worker', status.match(/recur [^)]*\)/)?.[0]);

    // Gradient view: read the ratios ‖∂L/∂h_0‖ / ‖∂L/∂h_59‖ from the data attributes.
    check((await page.getAttribute('#grad-panel', 'data-ready')) === 'true', 'the gradient view was drawn');
    const ratios = {};
    for (const key of ['rnn-sigmoid', 'rnn-tanh', 'lstm', 'gru', 'lstm-default']) ratios[key] = await numberAttr(page, '#grad-panel', `data-ratio-${key}`);
    const fmt = (v) => v.toExponential(2);
    check(ratios['rnn-sigmoid'] < 1e-20, 'sigmoid RNN: the gradient vanishes before reaching t = 0', `ratio ${fmt(ratios['rnn-sigmoid'])}`);
    check(ratios['rnn-tanh'] < 1e-6, 'tanh RNN: the gradient vanishes', `ratio ${fmt(ratios['rnn-tanh'])}`);
    check(ratios.lstm > 1e-5 && ratios.gru > 1e-5, 'LSTM and GRU: the gradient survives 60 steps', `LSTM ${fmt(ratios.lstm)}, GRU ${fmt(ratios.gru)}`);
    check(ratios['rnn-sigmoid'] < ratios.lstm * 1e-10 && ratios['rnn-tanh'] < ratios.lstm * 1e-3, 'vanishing ratio far smaller for the plain RNNs than for the LSTM');

    // Train until the displayed loss is below half of the first epoch's.
    await page.click('#train');
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'training', null, { timeout: 5_000 });
    log('training…');
    await page.waitForFunction(
      ({ started, minMs }) => {
        const el = document.getElementById('loss-readout');
        const first = Number(el.dataset.firstLoss);
        const last = Number(el.dataset.lastLoss);
        const epochs = Number(document.getElementById('loss-panel').dataset.epochs);
        return epochs >= 2 && last < first / 2 && performance.now() - started >= minMs;
      },
      { started: await page.evaluate(() => performance.now()), minMs: MIN_TRAIN_MS },
      { timeout: 60_000, polling: 200 },
    ).catch(async (e) => {
      throw new Error(`the loss did not fall below half of the first epoch's within 60 s: ${await page.textContent('#loss-readout')} (${e.message.split('\n')[0]})`);
    });
    const first = await numberAttr(page, '#loss-readout', 'data-first-loss');
    const last = await numberAttr(page, '#loss-readout', 'data-last-loss');
    const epochs = await numberAttr(page, '#loss-panel', 'data-epochs');
    check(last < first / 2, 'the displayed loss fell below half of the first epoch\'s', `${first.toFixed(4)} → ${last.toFixed(4)} after ${epochs} epochs`);
    // Let the frame monitor publish (it writes its attributes every 250 ms).
    await page.waitForTimeout(400);
    const gap = await numberAttr(page, '#frame-gap', 'data-since-train-ms');
    check(gap > 0 && gap < MAX_FRAME_GAP_MS, `the page kept animating: longest frame gap while training < ${MAX_FRAME_GAP_MS} ms`, `${gap.toFixed(1)} ms`);
    const midDraws = await numberAttr(page, '#pred-panel', 'data-draws');

    // Stop.
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status').dataset.state === 'stopped', null, { timeout: 15_000 }).catch(async () => {
      throw new Error(`Stop did not lead to the stopped state: ${await page.textContent('#status')}`);
    });
    await page.waitForFunction(() => !document.getElementById('train').disabled, null, { timeout: 15_000 });
    check(true, 'Stop aborted the fit', (await page.textContent('#status')).trim());
    check(await page.isDisabled('#stop'), 'Stop is disabled and Train enabled after stopping');
    const draws = await numberAttr(page, '#pred-panel', 'data-draws');
    const rmse = await numberAttr(page, '#pred-panel', 'data-rmse');
    check(draws > midDraws && Number.isFinite(rmse) && rmse < 3, 'forecasts redrawn after stopping', `RMSE ${rmse.toFixed(3)} ppm on the held-out tail`);
    const epochsAtStop = await numberAttr(page, '#loss-panel', 'data-epochs');
    await page.waitForTimeout(500);
    check((await numberAttr(page, '#loss-panel', 'data-epochs')) === epochsAtStop, 'no epoch completes after Stop');

    // The screenshot (the state after Stop: loss curve, forecasts, gradient view).
    await page.waitForTimeout(300);
    const shot = join(artifacts, 'screenshot.png');
    await page.screenshot({ path: shot, fullPage: true });
    check(statSync(shot).size > 10_000, 'screenshot saved', shot);

    // Save → download → Load → same forecasts.
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 15_000 }), page.click('#save')]);
    const savedPath = join(artifacts, 'model.safetensors');
    await download.saveAs(savedPath);
    const bytes = readFileSync(savedPath);
    const headerLen = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLen).toString('utf8'));
    check(download.suggestedFilename() === 'model.safetensors' && Object.keys(header).length > 2, 'Save downloaded model.safetensors', `${bytes.length} bytes, ${Object.keys(header).length} header entries`);
    await page.setInputFiles('#load-input', savedPath);
    await page.waitForFunction(() => ['loaded', 'error'].includes(document.getElementById('status').dataset.state), null, { timeout: 15_000 });
    check((await page.getAttribute('#status', 'data-state')) === 'loaded', 'Load rebuilt the model from the file', (await page.textContent('#status')).trim());
    check((await page.getAttribute('#pred-panel', 'data-source')) === 'loaded', 'forecasts redrawn from the loaded model');
    const rmseLoaded = await numberAttr(page, '#pred-panel', 'data-rmse');
    check(rmseLoaded === rmse, 'the loaded model forecasts exactly as the saved one', `RMSE ${rmseLoaded.toFixed(6)} vs ${rmse.toFixed(6)} ppm`);

    check(problems.length === 0, 'no page errors, console errors or failed requests', problems.join('; '));
  } finally {
    await browser.close();
    await new Promise((resolve) => server.httpServer.close(resolve));
  }
}

main().then(
  () => {
    console.log(`example:ci: ${passed} passed, 0 failed (${elapsed()})`);
    process.exit(0);
  },
  (e) => {
    console.error(`example:ci: FAILED after ${elapsed()}: ${e?.stack ?? e}`);
    console.log(`example:ci: ${passed} passed, 1 failed`);
    process.exit(1);
  },
);
