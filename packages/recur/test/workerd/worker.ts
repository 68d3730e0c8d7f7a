// A Cloudflare-style module worker using the public SDK by its package name; bundled by esbuild
// with the `workerd` condition (as wrangler does), the .wasm files kept as workerd wasm modules.
import { AbortError, createRecur, RecurError } from 'recur';
// @ts-expect-error: a workerd wasm module (a precompiled WebAssembly.Module), declared in config.capnp
import simd from './simd.wasm';
// @ts-expect-error: likewise
import scalar from './scalar.wasm';

/** One runtime kept across requests, as an edge function caches its model per isolate. */
let shared: ReturnType<typeof createRecur> | undefined;
let sharedModel: Awaited<ReturnType<ReturnType<typeof createRecur>['createModel']>> | undefined;

export default {
  async fetch(request: Request): Promise<Response> {
    // The test polls /health until workerd listens; only / and /shared touch the SDK.
    const path = new URL(request.url).pathname;
    if (path === '/health') return new Response('ok');
    if (path === '/shared') {
      // Every request reuses the runtime and model made by the first one: no call may wait on
      // a promise that an earlier (ended) request created.
      shared ??= createRecur({ wasm: { module: { simd, scalar } } });
      try {
        sharedModel ??= await shared.createModel({ inputSize: 1, layers: [{ type: 'gru', hiddenSize: 4 }], seed: 1 });
        const y = await sharedModel.predict([[[0.5], [0.25]]]);
        return Response.json({ version: await shared.version(), outputs: Array.from(y.data).length });
      } catch (e) {
        return Response.json({ failure: String(e) });
      }
    }
    const out: Record<string, unknown> = {};
    // First, before any wasm is loaded in this isolate: without a module, init fails clearly.
    const missing = await createRecur().init().catch((e: unknown) => e);
    out.missingModule = missing instanceof RecurError ? missing.code : String(missing);
    const recur = createRecur({ wasm: { module: { simd, scalar } } });
    try {
      out.info = await recur.init();
      out.version = await recur.version();
      const err = await recur.diagnostics.raise('ERR_STATE', 'not now').catch((e: unknown) => e);
      out.error = err instanceof RecurError ? { name: err.name, code: err.code } : String(err);
      const controller = new AbortController();
      const call = recur.diagnostics.busy({ steps: 1000, stepMs: 2, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const aborted = await call.catch((e: unknown) => e);
      out.aborted = aborted instanceof AbortError ? aborted.details : String(aborted);
      out.counter = await recur.diagnostics.busyCounter();
    } catch (e) {
      out.failure = String(e);
    } finally {
      await recur.dispose();
    }
    return new Response(JSON.stringify(out), { headers: { 'content-type': 'application/json' } });
  },
};
