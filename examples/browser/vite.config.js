import { defineConfig } from 'vite';
import wasm from 'vite-plugin-wasm';

// recur's browser entry starts its Web Worker with `new URL('./web-worker.js', import.meta.url)`
// and fetches its `.wasm` with `new URL('../../wasm/simd/recur_wasm_bg.wasm', import.meta.url)`:
// Vite bundles the worker and copies both `.wasm` builds (SIMD and scalar) by itself.
// vite-plugin-wasm adds WebAssembly ESM integration (`import * as m from './x.wasm'`) on the page
// and in workers, for any wasm-pack module you add next to recur; recur does not need it.
// Top-level await is left to the browser (build.target es2022), so vite-plugin-top-level-await
// is not needed.
export default defineConfig({
  plugins: [wasm()],
  worker: {
    format: 'es',
    plugins: () => [wasm()],
  },
  build: {
    target: 'es2022',
    // recur's wasm builds are about half a megabyte each: no warning about them.
    chunkSizeWarningLimit: 1024,
  },
  // The workspace package is linked, not pre-bundled: its `new URL(..., import.meta.url)` stay intact.
  optimizeDeps: { exclude: ['recur'] },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
