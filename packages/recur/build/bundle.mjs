// After tsc: self-contained ES module bundles of the entry points that run from a folder of files.
//
//   dist/browser/recur.js              `recur/browser-bundle`: the `browser` entry point, for
//   dist/browser/web-worker.js           pages without a bundler, with comlink inlined, the
//   dist/browser/thread-helper-web.js    module Worker it starts and its helper workers
//
//   dist/node/recur.js                 the package's `node` export, with comlink inlined, the
//   dist/node/node-worker.js             worker_threads Worker it starts and its helper
//   dist/node/thread-helper-node.js      threads
//
// Why Node gets a bundle too: loading tsc's output is about 40 ES modules on the calling thread
// and again in the worker, and Node's module loader costs about 0.5–1 ms per module (resolve,
// read, link): `import('recur')` then `createRecur().init()` in a fresh Node 20 process took
// 85–110 ms unbundled and 55–61 ms bundled (the import 26–36 → 11–14 ms, worker start and init
// 56–73 → 45–49 ms).
//
// Nothing is rewritten: an entry point starts `new URL('./<worker>.js', import.meta.url)`, so the
// bundles keep tsc's file names and sit next to each other; the `.wasm` files are found at
// `new URL('../../wasm/<variant>/recur_wasm_bg.wasm', import.meta.url)`, and dist/browser/ and
// dist/node/ are as deep as dist/loader/, so that is the package's own wasm/ folder. No bare
// specifier is left (import maps do not apply inside module workers; a Node bundle must not
// depend on how the package's own dependencies were installed), which the build checks.
import { writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);

const targets = [
  {
    name: 'browser',
    platform: 'browser',
    entries: { recur: 'entrypoints/browser.js', 'web-worker': 'worker/web-worker.js', 'thread-helper-web': 'worker/thread-helper-web.js' },
    // A page resolves nothing: every import must be inlined.
    allowedImport: () => false,
  },
  {
    name: 'node',
    platform: 'node',
    entries: { recur: 'entrypoints/node.js', 'node-worker': 'worker/node-worker.js', 'thread-helper-node': 'worker/thread-helper-node.js' },
    allowedImport: (path) => path.startsWith('node:'),
    // The `node` export condition's file, typed like tsc's entry point (for tools that pair x.js
    // with x.d.ts; the exports map's `types` condition covers TypeScript itself).
    types: { recur: 'entrypoints/node.js' },
  },
];

for (const target of targets) {
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries(target.entries).map(([out, src]) => [out, new URL(src, dist).pathname])),
    outdir: new URL(`${target.name}/`, dist).pathname,
    bundle: true,
    format: 'esm',
    platform: target.platform,
    target: target.platform === 'node' ? 'node20' : 'es2022',
    // These bundles are self-contained: every side-effect import (comlink's transfer handlers) must
    // stay, whatever package.json's "sideEffects" tells bundlers that tree-shake the package.
    ignoreAnnotations: true,
    sourcemap: 'linked',
    legalComments: 'inline',
    logLevel: 'warning',
    metafile: true,
  });

  // An import left in an output (a dependency, or a chunk) would be a file the bundle's user cannot
  // resolve, or a second copy of a module.
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    const left = output.imports.filter((i) => !target.allowedImport(i.path));
    if (left.length > 0) throw new Error(`${file} still imports ${left.map((i) => i.path).join(', ')}`);
  }
  for (const [out, src] of Object.entries(target.types ?? {})) {
    writeFileSync(new URL(`${target.name}/${out}.d.ts`, dist), `export * from '../${src}';\n`);
  }
  const sizes = Object.entries(result.metafile.outputs)
    .filter(([p]) => p.endsWith('.js'))
    .map(([p, o]) => `${p.split('/').pop()} ${(o.bytes / 1024).toFixed(0)} KiB`);
  console.log(`${target.name} bundle: ${sizes.join(', ')}`);
}
