/**
 * comlink transfer handlers that carry {@link RecurError}s across the worker boundary with their
 * class, `name`, `message`, `code`, `details` and remote stack. comlink's own `throw` handler
 * keeps only `name`, `message` and `stack`; this module replaces it. Imported for its effect by
 * both sides (the client bridge and the worker entries).
 * @module
 */
import { transferHandlers, type TransferHandler } from 'comlink/dist/esm/comlink.mjs';
import { RecurError, deserializeError, serializeError, type SerializedError } from '../errors.js';

const builtinThrow = transferHandlers.get('throw');

if (builtinThrow !== undefined && !(builtinThrow as { recur?: boolean }).recur) {
  const handler: TransferHandler<{ value: unknown }, SerializedError> & { recur: true } = {
    recur: true,
    // comlink marks thrown values with a private symbol: reuse its own test for it.
    canHandle: builtinThrow.canHandle as (v: unknown) => v is { value: unknown },
    serialize: ({ value }) => [serializeError(value), []],
    deserialize: (serialized) => {
      throw deserializeError(serialized);
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}

/** Errors passed as values (not thrown), e.g. inside a progress event. */
transferHandlers.set('recur-error', {
  canHandle: (v: unknown): v is RecurError => v instanceof RecurError,
  serialize: (err: RecurError) => [serializeError(err), []],
  deserialize: (s: SerializedError) => deserializeError(s),
} as TransferHandler<unknown, unknown>);

/** True once the handlers are installed (they are, on import). */
export const errorHandlersInstalled = true;
