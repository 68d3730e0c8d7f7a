// After tsc: self-contained ES module bundles for browsers without a bundler (`recur/browser-bundle`).
//
//   dist/browser/recur.js              the `browser` entry point, with comlink inlined
//   dist/browser/web-worker.js         the module Worker it starts
//   dist/browser/thread-helper-web.js  the helper workers of the threads build
//
// Nothing is rewritten: the entry point starts `new URL('./web-worker.js', import.meta.url)` and the
// worker starts `new URL('./thread-helper-web.js', import.meta.url)`, so the bundles keep tsc's
// file names and sit next to each other; the `.wasm` files are found at
// `new URL('../../wasm/<variant>/recur_wasm_bg.wasm', import.meta.url)`, and dist/browser/ is as
// deep as dist/loader/, so that is the package's own wasm/ folder. No bare specifier is left (import
// maps do not apply inside module workers), which the build checks.
import { build } from 'esbuild';

const dist = new URL('../dist/', import.meta.url);
const entries = {
  recur: 'entrypoints/browser.js',
  'web-worker': 'worker/web-worker.js',
  'thread-helper-web': 'worker/thread-helper-web.js',
};

const result = await build({
  entryPoints: Object.fromEntries(Object.entries(entries).map(([out, src]) => [out, new URL(src, dist).pathname])),
  outdir: new URL('browser/', dist).pathname,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  // These bundles are self-contained: every side-effect import (comlink's transfer handlers) must
  // stay, whatever package.json's "sideEffects" tells bundlers that tree-shake the package.
  ignoreAnnotations: true,
  sourcemap: 'linked',
  legalComments: 'inline',
  logLevel: 'warning',
  metafile: true,
});

// Everything is inlined: an import left in an output (external, or a chunk) would be a bare or
// extra file the page cannot resolve without a bundler.
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (output.imports.length > 0) throw new Error(`${file} still imports ${output.imports.map((i) => i.path).join(', ')}`);
}
const sizes = Object.entries(result.metafile.outputs)
  .filter(([p]) => p.endsWith('.js'))
  .map(([p, o]) => `${p.split('/').pop()} ${(o.bytes / 1024).toFixed(0)} KiB`);
console.log(`browser bundle: ${sizes.join(', ')}`);
