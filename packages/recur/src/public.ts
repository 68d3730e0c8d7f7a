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
export type {
  Activation,
  BackwardOptions,
  BackwardResult,
  BatchLogs,
  BatchNormLayerConfig,
  ClipNormResult,
  DenseLayerConfig,
  DropoutLayerConfig,
  EarlyStoppingOptions,
  EmbeddingLayerConfig,
  EpochLogs,
  EvaluateOptions,
  EvaluateResult,
  FitOptions,
  ForwardOptions,
  ForwardResult,
  GradCheckOptions,
  GradCheckResult,
  GruLayerConfig,
  History,
  LayerConfig,
  LossName,
  LstmLayerConfig,
  MetricName,
  Model,
  ModelConfig,
  Optimizer,
  OptimizerConfig,
  ParamGradCheck,
  ParameterInfo,
  PredictOptions,
  RecurrentLayerOptions,
  RnnLayerConfig,
  SaveOptions,
  SequenceCallOptions,
  StatesInput,
  StepGradNorms,
} from './model-api.js';
export type { AbortOptions, BusyCallOptions, Diagnostics, RecurOptions } from './recur.js';
export type { BusyOptions, ChunkProgress, MemoryInfo, RuntimeInfo } from './worker/protocol.js';
export type { RuntimeName } from './runtime.js';
export { hasRelaxedSimd, hasSimd, hasWebAssembly } from './loader/simd.js';
