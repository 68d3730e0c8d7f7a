/**
 * Builds an entry point's `createRecur` and default-runtime functions from its {@link Platform}.
 * @module
 */
import { Recur, type Platform, type RecurOptions } from '../recur.js';
import type { RuntimeInfo } from '../worker/protocol.js';

/** The functions every entry point exports besides the shared ones. */
export interface EntryApi {
  /** Creates a runtime (one worker, started on first use). */
  createRecur(options?: RecurOptions): Recur;
  /** Starts the default runtime and loads the wasm. */
  init(): Promise<RuntimeInfo>;
  /** The version of the bundled WebAssembly core, from the default runtime. */
  version(): Promise<string>;
  /** Disposes the default runtime (a later call starts a new one). */
  dispose(): Promise<void>;
}

/** Makes the entry point API for a platform. */
export function makeEntry(platform: Platform): EntryApi {
  let fallback: Recur | undefined;
  const get = (): Recur => (fallback ??= new Recur(platform));
  return {
    createRecur: (options) => new Recur(platform, options),
    init: () => get().init(),
    version: () => get().version(),
    dispose: async () => {
      const r = fallback;
      fallback = undefined;
      await r?.dispose();
    },
  };
}
