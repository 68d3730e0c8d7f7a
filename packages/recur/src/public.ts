/**
 * Everything every entry point exports, whatever the runtime.
 * @module
 */
export { env } from './env.js';
export type { Env, ExecutionMode, WasmFlags, WasmModuleInput, WasmVariant, WorkerFlags } from './env.js';
export {
  AbortError,
  DisposedError,
  ERROR_CODES,
  FormatError,
  InitError,
  InputTypeError,
  InternalError,
  NonFiniteError,
  RecurError,
  ShapeError,
  StateError,
  UnsupportedError,
  ValueRangeError,
  WorkerError,
  errorFromCode,
  isErrorCode,
} from './errors.js';
export type { ErrorCode, ErrorDetails, RecurErrorOptions, SerializedError } from './errors.js';
export { DEFAULT_MAX_ELEMENTS, toSequenceBatch, toTensor } from './tensor.js';
export type {
  Layout,
  NestedArray,
  SequenceBatch,
  SequenceOptions,
  ShapedData,
  Tensor,
  TensorData,
  TensorLike,
  TensorOptions,
} from './tensor.js';
export { Recur } from './recur.js';
export type { AbortOptions, BusyCallOptions, Diagnostics, RecurOptions } from './recur.js';
export type { BusyOptions, ChunkProgress, RuntimeInfo } from './worker/protocol.js';
export type { RuntimeName } from './runtime.js';
export { hasSimd, hasWebAssembly } from './loader/simd.js';
