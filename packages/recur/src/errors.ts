/**
 * The SDK's error classes.
 *
 * Every error the SDK throws or rejects with is a {@link RecurError} carrying a stable
 * {@link RecurError.code | code} string. Codes that start in the Rust core (`ERR_SHAPE`,
 * `ERR_NON_FINITE`, `ERR_RANGE`, `ERR_UNSUPPORTED`, `ERR_STATE`, `ERR_FORMAT`) and the SDK's own
 * codes (`ERR_INIT`, `ERR_ABORTED`, `ERR_DISPOSED`, `ERR_TYPE`, `ERR_WORKER`, `ERR_INTERNAL`) each
 * have a subclass, so both `err instanceof ShapeError` and `err.code === 'ERR_SHAPE'` work, on
 * either side of the worker boundary.
 *
 * This module has no dependencies: the comlink transfer handlers that carry these errors across
 * the worker boundary live in `worker/transfer-handlers.ts`.
 * @module
 */

/** Every error code the SDK produces. Stable: code can depend on these strings. */
export type ErrorCode =
  | 'ERR_SHAPE'
  | 'ERR_NON_FINITE'
  | 'ERR_RANGE'
  | 'ERR_UNSUPPORTED'
  | 'ERR_STATE'
  | 'ERR_FORMAT'
  | 'ERR_INIT'
  | 'ERR_ABORTED'
  | 'ERR_DISPOSED'
  | 'ERR_TYPE'
  | 'ERR_WORKER'
  | 'ERR_INTERNAL';

/**
 * Structured, machine-readable facts about an error (the offending index, the expected shape...).
 * Values are plain data (numbers, strings, arrays, plain objects) so they survive `postMessage`.
 */
export type ErrorDetails = Record<string, unknown>;

/** Options accepted by every {@link RecurError} constructor. */
export interface RecurErrorOptions {
  /** Structured facts about the error. */
  details?: ErrorDetails;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Base class of every error thrown by recur. */
export class RecurError extends Error {
  /** Stable, machine-readable error code, e.g. `'ERR_SHAPE'`. */
  readonly code: ErrorCode;
  /** Structured facts about the error, if any. */
  readonly details: ErrorDetails | undefined;

  /**
   * @param code - the stable error code.
   * @param message - a human-readable message.
   * @param options - details and cause.
   */
  constructor(code: ErrorCode, message: string, options: RecurErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RecurError';
    this.code = code;
    this.details = options.details;
  }
}

/** A tensor or parameter has the wrong shape, or shapes disagree (`ERR_SHAPE`). */
export class ShapeError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_SHAPE', message, options);
    this.name = 'ShapeError';
  }
}

/** An input, a loss or a gradient contains NaN or ±Infinity (`ERR_NON_FINITE`). */
export class NonFiniteError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_NON_FINITE', message, options);
    this.name = 'NonFiniteError';
  }
}

/** A number is outside its allowed range: a size, a rate, an index (`ERR_RANGE`). */
export class ValueRangeError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_RANGE', message, options);
    this.name = 'ValueRangeError';
  }
}

/** An option or combination of options that recur does not support (`ERR_UNSUPPORTED`). */
export class UnsupportedError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_UNSUPPORTED', message, options);
    this.name = 'UnsupportedError';
  }
}

/** An operation that is not valid in the current state, e.g. backward before forward (`ERR_STATE`). */
export class StateError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_STATE', message, options);
    this.name = 'StateError';
  }
}

/** Saved bytes or a config that cannot be read (`ERR_FORMAT`). */
export class FormatError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_FORMAT', message, options);
    this.name = 'FormatError';
  }
}

/** The WebAssembly module could not be loaded or instantiated (`ERR_INIT`). */
export class InitError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_INIT', message, options);
    this.name = 'InitError';
  }
}

/**
 * A call was cancelled through its `AbortSignal` (`ERR_ABORTED`). Its `name` is `'AbortError'`,
 * like the DOM's, so `err.name === 'AbortError'` checks work.
 */
export class AbortError extends RecurError {
  /** @param message - what was aborted. @param options - details and cause (the signal's reason). */
  constructor(message = 'The operation was aborted', options?: RecurErrorOptions) {
    super('ERR_ABORTED', message, options);
    this.name = 'AbortError';
  }
}

/** The object (or its runtime) was disposed before or during the call (`ERR_DISPOSED`). */
export class DisposedError extends RecurError {
  /** @param message - what was disposed. @param options - details and cause. */
  constructor(message = 'This recur runtime has been disposed', options?: RecurErrorOptions) {
    super('ERR_DISPOSED', message, options);
    this.name = 'DisposedError';
  }
}

/** A value of the wrong JavaScript type was passed (`ERR_TYPE`). */
export class InputTypeError extends RecurError {
  /** @param message - what is wrong. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_TYPE', message, options);
    this.name = 'InputTypeError';
  }
}

/** The worker crashed or could not be started (`ERR_WORKER`). */
export class WorkerError extends RecurError {
  /** @param message - what happened. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_WORKER', message, options);
    this.name = 'WorkerError';
  }
}

/** A bug in recur: an error that no other class describes (`ERR_INTERNAL`). */
export class InternalError extends RecurError {
  /** @param message - what happened. @param options - details and cause. */
  constructor(message: string, options?: RecurErrorOptions) {
    super('ERR_INTERNAL', message, options);
    this.name = 'InternalError';
  }
}

type ErrorClass = new (message: string, options?: RecurErrorOptions) => RecurError;

const CLASSES: Record<ErrorCode, ErrorClass> = {
  ERR_SHAPE: ShapeError,
  ERR_NON_FINITE: NonFiniteError,
  ERR_RANGE: ValueRangeError,
  ERR_UNSUPPORTED: UnsupportedError,
  ERR_STATE: StateError,
  ERR_FORMAT: FormatError,
  ERR_INIT: InitError,
  ERR_ABORTED: AbortError,
  ERR_DISPOSED: DisposedError,
  ERR_TYPE: InputTypeError,
  ERR_WORKER: WorkerError,
  ERR_INTERNAL: InternalError,
};

/** All error codes, in a stable order. */
export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(CLASSES) as ErrorCode[]);

/** True when `code` is one of recur's {@link ErrorCode}s. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(CLASSES, code);
}

/**
 * Builds the subclass of {@link RecurError} that belongs to `code`. An unknown code gives an
 * {@link InternalError} whose details keep the original code as `originalCode`.
 */
export function errorFromCode(code: string, message: string, options: RecurErrorOptions = {}): RecurError {
  if (isErrorCode(code)) return new CLASSES[code](message, options);
  return new InternalError(message, { ...options, details: { ...options.details, originalCode: code } });
}

/**
 * Turns anything thrown into a {@link RecurError}: a `RecurError` is returned as it is; an error
 * thrown by the wasm bindings (a JS `Error` or plain object with a `code` and a `message`) becomes
 * the subclass of its code; an `AbortError` DOMException becomes {@link AbortError}; anything else
 * becomes an {@link InternalError} with the original as `cause`.
 */
export function toRecurError(thrown: unknown): RecurError {
  if (thrown instanceof RecurError) return thrown;
  if (typeof thrown === 'object' && thrown !== null) {
    const t = thrown as { code?: unknown; message?: unknown; name?: unknown; details?: unknown };
    const message = typeof t.message === 'string' ? t.message : String(thrown);
    if (typeof t.code === 'string' && t.code.startsWith('ERR_')) {
      const details = isPlainObject(t.details) ? t.details : undefined;
      return errorFromCode(t.code, message, { details, cause: thrown });
    }
    if (t.name === 'AbortError') return new AbortError(message, { cause: thrown });
    return new InternalError(message, { cause: thrown });
  }
  return new InternalError(String(thrown), { cause: thrown });
}

/** The plain-data form of a {@link RecurError}, as it crosses a worker boundary. */
export interface SerializedError {
  /** The class name, e.g. `'ShapeError'`. */
  name: string;
  /** The message. */
  message: string;
  /** The stable code. */
  code: string;
  /** Structured details (plain data only). */
  details?: ErrorDetails;
  /** The stack where the error was made, if known. */
  stack?: string;
}

/** Converts any thrown value to its {@link SerializedError} form (via {@link toRecurError}). */
export function serializeError(thrown: unknown): SerializedError {
  const err = toRecurError(thrown);
  const out: SerializedError = { name: err.name, message: err.message, code: err.code };
  if (err.details !== undefined) out.details = plainData(err.details) as ErrorDetails;
  if (err.stack !== undefined) out.stack = err.stack;
  return out;
}

/**
 * Rebuilds a {@link RecurError} subclass from its {@link SerializedError} form. The remote stack
 * is kept below the local one, after a `--- remote ---` line.
 */
export function deserializeError(s: SerializedError): RecurError {
  const err = errorFromCode(s.code, s.message, s.details === undefined ? {} : { details: s.details });
  if (s.name && err.name !== s.name && !isErrorCode(s.code)) err.name = s.name;
  if (s.stack) err.stack = `${err.stack ?? `${err.name}: ${err.message}`}\n--- remote ---\n${s.stack}`;
  return err;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Keeps only what structured clone and JSON both accept (drops functions, class instances' methods). */
function plainData(v: unknown): unknown {
  try {
    return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
  } catch {
    return { unserializable: String(v) };
  }
}
