#!/usr/bin/env node
// Bundles the worker and serves it with workerd on 127.0.0.1 (PORT, default 8787) until Ctrl-C.
//
//   node examples/edge/serve.mjs
import { buildWorker, startWorkerd, stopWorkerd } from './build.mjs';

const port = Number(process.env.PORT ?? 8787);
const { config, modules } = await buildWorker({ port });
console.log(`bundled src/worker.js with ${modules.join(', ')} -> examples/edge/.out/`);
const { child, health } = await startWorkerd(config, port, { stdio: 'inherit' });
console.log(`workerd serves the CO2 forecaster on http://127.0.0.1:${port} (recur ${health.recur.version}, ${health.recur.variant}, ${health.recur.mode})

  curl http://127.0.0.1:${port}/health
  curl -X POST http://127.0.0.1:${port}/forecast -H 'content-type: application/json' \\
    -d '{"values":[411.30,410.88,408.90,407.10,405.59,405.99,408.12,409.23,410.92,411.66,412.00,413.52,414.83,413.96,411.85,410.08,408.55,408.43,410.29,411.85,413.37,414.09,414.51,416.18],"horizon":3}'

Ctrl-C stops it.`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await stopWorkerd(child);
    process.exit(0);
  });
}
child.once('exit', (code) => process.exit(code ?? 1));
