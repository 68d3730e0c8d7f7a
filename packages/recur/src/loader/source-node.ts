/**
 * Node: read the `.wasm` from the package folder.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { defaultWasmUrl, webSource, type WasmSource } from './sources.js';

/** Reads the build's `.wasm` with `fs.readFile` (or fetches it when `wasmPaths` is an http URL). */
export const nodeSource: WasmSource = async (variant, options) => {
  const url = defaultWasmUrl(variant, options);
  if (url.protocol !== 'file:') return webSource(variant, options);
  return { kind: 'bytes', bytes: await readFile(fileURLToPath(url)) };
};
