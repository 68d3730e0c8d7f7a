/**
 * How each runtime gets the bytes (or the compiled module) of a wasm build.
 * @module
 */
import type { WasmVariant } from '../env.js';

/** What a {@link WasmSource} hands to the wasm-bindgen glue. */
export type WasmInput =
  | { kind: 'module'; module: WebAssembly.Module }
  | { kind: 'bytes'; bytes: ArrayBuffer | Uint8Array }
  | { kind: 'response'; response: Response };

/** Options a source receives. */
export interface SourceOptions {
  /** Base URL of the folder holding the builds' folders (`simd/`, …), overriding the package's own. */
  wasmPaths?: string | undefined;
}

/** Fetches or reads the wasm of one build variant. */
export type WasmSource = (variant: WasmVariant, options: SourceOptions) => Promise<WasmInput>;

/**
 * The URL of a build's `.wasm` in this package. The two literal `new URL(…, import.meta.url)`
 * forms are kept as they are so that bundlers (Vite, webpack, esbuild) see and copy the assets.
 */
export function defaultWasmUrl(variant: WasmVariant, options: SourceOptions = {}): URL {
  if (options.wasmPaths !== undefined && options.wasmPaths !== '') {
    const base = options.wasmPaths.endsWith('/') ? options.wasmPaths : `${options.wasmPaths}/`;
    return new URL(`${variant}/recur_wasm_bg.wasm`, new URL(base, String(import.meta.url)));
  }
  switch (variant) {
    case 'simd':
      return new URL('../../wasm/simd/recur_wasm_bg.wasm', import.meta.url);
    case 'threads':
      return new URL('../../wasm/threads/recur_wasm_bg.wasm', import.meta.url);
    case 'relaxed':
      return new URL('../../wasm/relaxed/recur_wasm_bg.wasm', import.meta.url);
    case 'relaxed-threads':
      return new URL('../../wasm/relaxed-threads/recur_wasm_bg.wasm', import.meta.url);
    default:
      return new URL('../../wasm/scalar/recur_wasm_bg.wasm', import.meta.url);
  }
}

/**
 * Browsers and Deno: `fetch` the `.wasm` by URL (streamed compilation where the server sends
 * `application/wasm`). A `file:` URL under Deno is read with `Deno.readFile`.
 */
export const webSource: WasmSource = async (variant, options) => {
  const url = defaultWasmUrl(variant, options);
  const deno = (globalThis as { Deno?: { readFile(u: URL): Promise<Uint8Array> } }).Deno;
  if (url.protocol === 'file:' && deno !== undefined) {
    return { kind: 'bytes', bytes: await deno.readFile(url) };
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`fetching ${url.href} failed: HTTP ${response.status}`);
  return { kind: 'response', response };
};

/** A source that hands out precompiled modules (workerd, or a caller that compiled them). */
export function moduleSource(modules: Partial<Record<WasmVariant, WebAssembly.Module>>): WasmSource {
  return async (variant) => {
    const module = modules[variant];
    if (module === undefined) {
      throw new Error(
        `no precompiled module was given for the ${variant} build ` +
          `(import it, e.g. \`import wasm from 'recur/wasm/${variant}/recur_wasm_bg.wasm'\`, ` +
          `and pass it as createRecur({ wasm: { module: { '${variant}': wasm } } }))`,
      );
    }
    return { kind: 'module', module };
  };
}
