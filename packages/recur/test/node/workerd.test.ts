// The edge path: the SDK bundled for workerd (the `workerd` export condition), served by the real
// workerd binary on a loopback port, asked once over HTTP, then stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, expect, it } from 'vitest';

const pkg = fileURLToPath(new URL('../../', import.meta.url));
const out = `${pkg}test/workerd/.out/`;
const workerdBin = `${pkg}node_modules/.bin/workerd`;
let child: ChildProcess | undefined;
let port = 0;
let log = '';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return p;
}

beforeAll(async () => {
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [`${pkg}test/workerd/worker.ts`],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker'],
    mainFields: ['module', 'main'],
    external: ['*.wasm'],
    outfile: `${out}worker.js`,
    logLevel: 'silent',
  });
  port = await freePort();
  writeFileSync(
    `${out}config.capnp`,
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .recurWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const recurWorker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "simd.wasm", wasm = embed "../../../wasm/simd/recur_wasm_bg.wasm"),
    (name = "scalar.wasm", wasm = embed "../../../wasm/scalar/recur_wasm_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
`,
  );
  child = spawn(workerdBin, ['serve', `${out}config.capnp`], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  // Wait until it listens (bounded).
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${log}`);
    try {
      await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.arrayBuffer());
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`workerd did not start:\n${log}`);
}, 60_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

it('workerd runs the SDK in-process with a precompiled module: version(), errors, abort', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/`);
  const body = (await res.json()) as Record<string, any>;
  expect(body.failure, log).toBeUndefined();
  expect(body.info).toEqual({ version: __RECUR_CRATE_VERSION__, variant: 'simd', threads: 1, runtime: 'workerd', mode: 'inprocess' });
  expect(body.version).toBe(__RECUR_CRATE_VERSION__);
  expect(body.error).toEqual({ name: 'StateError', code: 'ERR_STATE' });
  expect(body.aborted.completedSteps).toBeGreaterThan(0);
  expect(body.aborted.completedSteps).toBeLessThan(1000);
  expect(body.counter).toBe(body.aborted.completedSteps);
  expect(body.missingModule).toBe('ERR_INIT');
});

it('workerd reuses one runtime across requests', async () => {
  for (let i = 0; i < 3; i++) {
    const body = (await (await fetch(`http://127.0.0.1:${port}/shared`)).json()) as Record<string, unknown>;
    expect(body, log).toEqual({ version: __RECUR_CRATE_VERSION__, outputs: 8 });
  }
});
