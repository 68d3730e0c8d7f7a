/**
 * The public model API in one place: how a model is described, and what a {@link Model} and an
 * {@link Optimizer} can do. The implementation is in `model.ts` (client side) and
 * `worker/models.ts` (inside the worker, next to the wasm).
 *
 * Names follow TF.js/Keras (`fit`, `evaluate`, `predict`, `returnSequences`); semantics follow
 * PyTorch (parameter names and layouts, initializations, optimizers, `clip_grad_norm_`).
 * Sequences are batch-major `[B, T, F]` unless `layout: 'time-major'` is given.
 * @module
 */
import type { Layout, Tensor, TensorLike } from './tensor.js';

// ------------------------------------------------------------------------------------------
// Model description
// ------------------------------------------------------------------------------------------

/** An elementwise activation: a name, or a parameterized one. */
export type Activation =
  | 'linear'
  | 'tanh'
  | 'relu'
  | 'sigmoid'
  | {
      /** Leaky ReLU: `x` for x ≥ 0, `slope · x` below. */
      type: 'leaky_relu' | 'leakyRelu';
      /** Slope for x < 0 (default 0.01). */
      slope?: number;
    }
  | {
      /** ELU: `x` for x > 0, `alpha · (exp(x) − 1)` below. */
      type: 'elu';
      /** Scale of the negative part (default 1). */
      alpha?: number;
    };

/**
 * Name of a parameter initialization (`torch.nn.init`), camelCase or snake_case
 * (`'xavierUniform'` = `'xavier_uniform'`), with `torch.nn.init`'s default parameters. Fans are
 * those of the `[rows, cols]` matrix: `fanIn` = cols, `fanOut` = rows.
 *
 * - `pytorchDefault`: PyTorch's default of the layer, `U(−1/√H, 1/√H)` (recurrent) or
 *   `U(−1/√in, 1/√in)` (dense).
 * - `xavierUniform`: `U(−a, a)`, `a = gain·√(6/(fanIn+fanOut))`; `xavierNormal`:
 *   `N(0, std²)`, `std = gain·√(2/(fanIn+fanOut))` (gain 1).
 * - `kaimingUniform`: `U(−b, b)`, `b = √3·gain/√fan`; `kaimingNormal`: `N(0, (gain/√fan)²)`
 *   (PyTorch's defaults: `fan = fanIn`, `gain = √(2/(1+a²))` with `a = 0`).
 * - `orthogonal`: a (semi-)orthogonal matrix (QR of a normal matrix, signs fixed by `diag(R)`),
 *   times gain 1.
 * - `zeros`; `uniform`: `U(0, 1)`; `normal`: `N(0, 1)`.
 *
 * The matrix kinds (xavier, kaiming, orthogonal) cannot initialize a bias.
 * @inline
 */
type InitName =
  | 'pytorchDefault'
  | 'pytorch_default'
  | 'xavierUniform'
  | 'xavier_uniform'
  | 'xavierNormal'
  | 'xavier_normal'
  | 'kaimingUniform'
  | 'kaiming_uniform'
  | 'kaimingNormal'
  | 'kaiming_normal'
  | 'orthogonal'
  | 'zeros'
  | 'uniform'
  | 'normal';

/**
 * Options of the Kaiming (He) initializations, as in `torch.nn.init.kaiming_*_`.
 * @inline
 */
interface KaimingOptions {
  /** Negative slope of the rectifier, used by `leakyRelu` (default 0). */
  a?: number;
  /** Divide by the fan of the inputs (`'fanIn'`, default) or of the outputs (`'fanOut'`). */
  mode?: 'fanIn' | 'fanOut' | 'fan_in' | 'fan_out';
  /**
   * Whose gain (`calculate_gain`): `linear`/`sigmoid` 1, `tanh` 5/3, `relu` √2,
   * `leakyRelu` √(2/(1+a²)) (default), `selu` 3/4.
   */
  nonlinearity?: 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'leaky_relu' | 'selu';
}

/**
 * How one parameter group is initialized: a kind's name (its default parameters), or an object
 * with one key, the kind, holding its parameters (each optional but `constant`'s `value`).
 * Drawn from the model's `seed`, so a seed fixes the weights.
 * @example
 * ```ts
 * 'orthogonal'
 * { xavierUniform: { gain: 5 / 3 } }
 * { kaimingNormal: { mode: 'fanOut', nonlinearity: 'relu' } }
 * { uniform: { a: -0.05, b: 0.05 } }
 * { normal: { mean: 0, std: 0.02 } }
 * { constant: { value: 0.1 } }
 * ```
 * @inline
 */
type ParamInit =
  | InitName
  | {
      /** Glorot uniform with a gain (default 1). */
      xavierUniform: {
        /** Scale factor. */
        gain?: number;
      };
    }
  | {
      /** Glorot normal with a gain (default 1). */
      xavierNormal: {
        /** Scale factor. */
        gain?: number;
      };
    }
  | {
      /** He uniform. */
      kaimingUniform: KaimingOptions;
    }
  | {
      /** He normal. */
      kaimingNormal: KaimingOptions;
    }
  | {
      /** (Semi-)orthogonal times a gain (default 1). */
      orthogonal: {
        /** Scale factor. */
        gain?: number;
      };
    }
  | {
      /** Every element the same value. */
      constant: {
        /** The value. */
        value: number;
      };
    }
  | {
      /** `U(a, b)`, a ≤ b. */
      uniform: {
        /** Lower bound (default 0). */
        a?: number;
        /** Upper bound (default 1). */
        b?: number;
      };
    }
  | {
      /** `N(mean, std²)`. */
      normal: {
        /** Mean (default 0). */
        mean?: number;
        /** Standard deviation, ≥ 0 (default 1). */
        std?: number;
      };
    };

/** Options shared by `rnn`, `lstm` and `gru` layers (PyTorch's constructor arguments). */
export interface RecurrentLayerOptions {
  /** Hidden features H. */
  hiddenSize: number;
  /** Stacked layers (default 1). */
  numLayers?: number;
  /** Whether the biases exist (default true). */
  bias?: boolean;
  /** Also read the sequence backwards; the output is then 2H wide (default false). */
  bidirectional?: boolean;
  /** Dropout between stacked layers, training only (default 0). */
  dropout?: number;
  /** `true` (default): output every step `[B, T, D·H]`; `false`: only the last `[B, D·H]`. */
  returnSequences?: boolean;
  /** Layer normalization of the gate pre-activations inside the cells (default false). */
  layerNorm?: boolean;
  /**
   * Initialization (default: PyTorch's `U(−1/√H, 1/√H)` for every parameter). The weights are
   * initialized **per gate block**, as in Keras: each `[H, in]` block of `weight_ih` and
   * `[H, H]` block of `weight_hh` is its own matrix for the fans and for orthogonality (so
   * `weightHh: 'orthogonal'` makes every gate's recurrent matrix orthogonal). Peepholes and
   * layer-norm parameters keep their initialization. Example:
   * `{ weightIh: 'xavierUniform', weightHh: 'orthogonal', bias: 'zeros', forgetBias: 1 }`.
   */
  init?: {
    /** The input weights `weight_ih_l{k}`, per gate block (default `'pytorchDefault'`). */
    weightIh?: ParamInit;
    /** The recurrent weights `weight_hh_l{k}`, per gate block (default `'pytorchDefault'`). */
    weightHh?: ParamInit;
    /** Both biases `bias_ih_l{k}` and `bias_hh_l{k}` (default `'pytorchDefault'`). */
    bias?: ParamInit;
    /**
     * LSTM only (an error on other cells and without biases): the forget-gate block of
     * `bias_ih` is set to this value and that of `bias_hh` to 0, so the forget gate starts at
     * `σ(forgetBias)` (1 is the usual choice).
     */
    forgetBias?: number;
  };
  /**
   * Parameter-name prefix (default the layer type, e.g. `lstm.weight_ih_l0`); `''` gives
   * PyTorch's bare names (`weight_ih_l0`), as in a state_dict of a lone `nn.LSTM`.
   */
  name?: string;
}

/** An Elman RNN stack (`nn.RNN`). */
export interface RnnLayerConfig extends RecurrentLayerOptions {
  /** Layer kind. */
  type: 'rnn';
  /** The nonlinearity (default `'tanh'`). */
  activation?: Activation;
}

/** An LSTM stack (`nn.LSTM`). */
export interface LstmLayerConfig extends RecurrentLayerOptions {
  /** Layer kind. */
  type: 'lstm';
  /** ONNX-style peephole connections (`peephole_{i,f,o}_l{k}`, default false). */
  peephole?: boolean;
}

/** A GRU stack (`nn.GRU`). */
export interface GruLayerConfig extends RecurrentLayerOptions {
  /** Layer kind. */
  type: 'gru';
  /** PyTorch's reset-after form (default true) or the reset-before form (Keras `reset_after=False`). */
  resetAfter?: boolean;
}

/** `nn.BatchNorm1d` over the features of every row (every step of every sequence). */
export interface BatchNormLayerConfig {
  /** Layer kind. */
  type: 'batchNorm';
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1). */
  momentum?: number;
  /** Learn `weight` and `bias` (default true). */
  affine?: boolean;
  /** Parameter-name prefix (default `batch_norm{i}`). */
  name?: string;
}

/** Inverted dropout (`nn.Dropout`), active in training only. */
export interface DropoutLayerConfig {
  /** Layer kind. */
  type: 'dropout';
  /** Probability of zeroing an element. */
  p: number;
}

/** A linear layer (`nn.Linear`) plus activation, applied to every row. */
export interface DenseLayerConfig {
  /** Layer kind. */
  type: 'dense';
  /** Output features. */
  units: number;
  /** Activation after the affine map (default `'linear'`). */
  activation?: Activation;
  /** Whether the bias exists (default true). */
  bias?: boolean;
  /** Parameter-name prefix (default `dense{i}`). */
  name?: string;
  /**
   * Initialization (default: PyTorch's `U(−1/√in, 1/√in)` for both); the weight `[units, in]`
   * is one matrix (`fanIn` = in, `fanOut` = units). Example:
   * `{ weight: 'kaimingUniform', bias: 'zeros' }`.
   */
  init?: {
    /** The weight (default `'pytorchDefault'`). */
    weight?: ParamInit;
    /** The bias (default `'pytorchDefault'`). */
    bias?: ParamInit;
  };
}

/** Token ids → vectors (`nn.Embedding`); first layer only; the model's input is then ids `[B, T]`. */
export interface EmbeddingLayerConfig {
  /** Layer kind. */
  type: 'embedding';
  /** Number of distinct token ids. */
  vocabSize: number;
  /** Width of each vector. */
  dim: number;
  /** Parameter-name prefix (default `embedding`). */
  name?: string;
}

/** One layer of a model. */
export type LayerConfig =
  | RnnLayerConfig
  | LstmLayerConfig
  | GruLayerConfig
  | BatchNormLayerConfig
  | DropoutLayerConfig
  | DenseLayerConfig
  | EmbeddingLayerConfig;

/** A model: the input width and the layers, applied in order. */
export interface ModelConfig {
  /** Features per time step; omit when the first layer is an embedding. */
  inputSize?: number;
  /** The layers. */
  layers: LayerConfig[];
  /** Seed of the initialization (PyTorch's U(−1/√H, 1/√H) etc.) and of dropout (default 0). */
  seed?: number;
}

/** A parameter's PyTorch name and shape. */
export interface ParameterInfo {
  /** E.g. `lstm.weight_ih_l0`. */
  name: string;
  /** E.g. `[4H, F]`. */
  shape: number[];
}

// ------------------------------------------------------------------------------------------
// Training
// ------------------------------------------------------------------------------------------

/** An optimizer with PyTorch's hyperparameter names (camelCase) and defaults. */
export type OptimizerConfig =
  | {
      /** `torch.optim.SGD`. */
      type: 'sgd';
      /** Learning rate (default 1e-3). */
      lr?: number;
      /** Momentum factor (default 0); its buffer is saved as `momentum_buffer`. */
      momentum?: number;
      /** Dampening of the momentum (default 0). */
      dampening?: number;
      /** L2 penalty added to the gradient (default 0). */
      weightDecay?: number;
      /** Nesterov momentum (default false; needs a momentum and zero dampening). */
      nesterov?: boolean;
    }
  | {
      /** `torch.optim.Adam`, or `torch.optim.AdamW` (decoupled weight decay). */
      type: 'adam' | 'adamw';
      /** Learning rate (default 1e-3). */
      lr?: number;
      /** Decay rates of the first and second moment estimates (default `[0.9, 0.999]`). */
      betas?: [number, number];
      /** Added to the denominator (default 1e-8). */
      eps?: number;
      /** Adam: L2 penalty added to the gradient (default 0); AdamW: decoupled decay `p *= 1 − lr·wd` (default 1e-2). */
      weightDecay?: number;
      /** The AMSGrad variant (default false; keeps `max_exp_avg_sq`). */
      amsgrad?: boolean;
    }
  | {
      /** `torch.optim.RMSprop`. */
      type: 'rmsprop';
      /** Learning rate (default 1e-2). */
      lr?: number;
      /** Smoothing constant of the squared-gradient average (default 0.99). */
      alpha?: number;
      /** Added to the denominator (default 1e-8). */
      eps?: number;
      /** L2 penalty added to the gradient (default 0). */
      weightDecay?: number;
      /** Momentum factor (default 0). */
      momentum?: number;
      /** Normalize by the estimated variance of the gradient (default false). */
      centered?: boolean;
    };

/** A loss: mean squared error, softmax cross-entropy from logits with class ids, or BCE with logits. */
export type LossName = 'mse' | 'crossEntropy' | 'bce';

/** Metrics computed in inference mode: `accuracy` (crossEntropy: argmax; bce: logit > 0), `mae`, `rmse`. */
export type MetricName = 'accuracy' | 'mae' | 'rmse';

/** Options of the sequence inputs of a call. */
export interface SequenceCallOptions {
  /** Layout of `x` (and of sequence targets and outputs): `'batch-major'` (default) or `'time-major'`. */
  layout?: Layout;
  /**
   * Valid steps of every sequence `[B]` (1..T); later steps are padding and have no effect,
   * whatever they hold: values there (in `x` and in per-step targets) are not validated, so
   * NaN, ±Infinity or an out-of-range id is accepted.
   */
  lengths?: ArrayLike<number>;
}

/** What one batch reported (throttled: see {@link FitOptions.onBatchEnd}). */
export interface BatchLogs {
  /** Epoch, from 0. */
  epoch: number;
  /** Batch within the epoch, from 0. */
  batch: number;
  /** Batches per epoch. */
  batches: number;
  /** Optimizer steps completed since `fit` started. */
  step: number;
  /** Loss of this batch (before its update). */
  loss: number;
  /** Global L2 norm of the gradients before clipping (NaN/∞ when not finite). */
  gradNorm: number;
  /** True when the update was skipped (`clip.nonFinite: 'skip'`). */
  skipped: boolean;
}

/** What one epoch reported. */
export interface EpochLogs {
  /** Epoch, from 0. */
  epoch: number;
  /** Mean training loss of the epoch (batches weighted by their counted rows). */
  loss: number;
  /** Validation loss (inference mode), when there is validation data. */
  valLoss?: number;
  /** Requested metrics, on training data (`accuracy`) and on validation data (`valAccuracy`). */
  metrics: Record<string, number>;
  /** Gradient norms of the epoch (before clipping): mean and max over batches, and of the last batch per parameter. */
  gradNorm: {
    /** Mean over the epoch's batches of the global gradient norm. */
    mean: number;
    /** Largest global gradient norm of a batch. */
    max: number;
    /** Per-parameter gradient norms of the last batch, by PyTorch name. */
    perParam: Record<string, number>;
  };
  /** Batches whose update was skipped because a gradient was not finite. */
  skippedBatches: number;
  /** Milliseconds the epoch took. */
  durationMs: number;
}

/** Early stopping on `valLoss` (or `loss` without validation data), as Keras' callback. */
export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** Smallest decrease that counts as an improvement (default 0). */
  minDelta?: number;
  /** Put back the weights of the best epoch when the run ends on a worse one (default false). */
  restoreBestWeights?: boolean;
  /** What to watch (default `'valLoss'` when there is validation data, else `'loss'`). */
  monitor?: 'loss' | 'valLoss';
}

/** Options of {@link Model.fit}. */
export interface FitOptions extends SequenceCallOptions {
  /** Passes over the data (default 1). */
  epochs?: number;
  /** Sequences per optimizer step (default 32; the last batch may be smaller). */
  batchSize?: number;
  /** Shuffle the training samples every epoch, deterministically from `seed` (default true). */
  shuffle?: boolean;
  /** Seed of the shuffling (default the model's seed). */
  seed?: number;
  /** Fraction of the samples, taken from the end before shuffling, kept for validation (Keras). */
  validationSplit?: number;
  /** Validation data `[x, y]` (or `[x, y, lengths]`), in the same layout as `x`. */
  validationData?: [TensorLike, TensorLike] | [TensorLike, TensorLike, ArrayLike<number>];
  /**
   * The optimizer. Omitted: the one already installed (by `setOptimizer`, an earlier `fit`, or
   * loaded with the model), else Adam with lr 1e-3. Given: its state carries over between `fit`
   * calls while the config is the same; a different config starts a new optimizer.
   */
  optimizer?: OptimizerConfig;
  /** The loss (default `'mse'`). */
  loss?: LossName;
  /** Metrics reported per epoch (default none). */
  metrics?: MetricName[];
  /** Gradient clipping: elementwise `value` first, then global L2 `norm`; `nonFinite` (default `'error'`) or skip the step. */
  clip?: {
    /** Clamp every gradient element to `[-value, value]` (`clip_grad_value_`). */
    value?: number;
    /** Rescale all gradients so their global L2 norm is at most `norm` (`clip_grad_norm_`). */
    norm?: number;
    /** A NaN/∞ gradient: `'error'` (default) rejects with `NonFiniteError`; `'skip'` drops that update and counts it. */
    nonFinite?: 'error' | 'skip';
  };
  /** Truncated BPTT every `truncate` steps; `stateful` carries states across batches (no shuffle, equal batches). */
  bptt?: {
    /**
     * Steps per truncation window: no gradient flows back across a window border (default: full BPTT).
     * The borders are at steps `k, 2k, …` of the sequence for every direction, so a bidirectional
     * layer's reverse direction starts with a window of the last `T mod k` steps when `k` does not divide `T`.
     * With `lengths`, padded steps carry the state unchanged, so a border inside a sequence's padding
     * also cuts the gradient of its final state (`h_n`, and what a last-step head reads).
     */
    truncate?: number;
    /** Carry the final states of a batch into the next one (default false). */
    stateful?: boolean;
  };
  /** Called with the latest batch at most every `progressIntervalMs`, and after every epoch's last batch. */
  onBatchEnd?: (logs: BatchLogs) => void;
  /** Called after every epoch; `fit` resolves only after the last call returned. */
  onEpochEnd?: (logs: EpochLogs) => void | Promise<void>;
  /** Minimum milliseconds between `onBatchEnd` calls (default 50). */
  progressIntervalMs?: number;
  /** Stops between batches: `fit` rejects with `AbortError`; the model keeps its last completed step. */
  signal?: AbortSignal;
  /** Stop when the monitored loss stops improving. */
  earlyStopping?: EarlyStoppingOptions;
}

/** What {@link Model.fit} resolves with. */
export interface History {
  /** Per-epoch values, Keras-style: `loss`, `valLoss`, and every metric. */
  history: Record<string, number[]>;
  /** The full logs of every epoch. */
  epochs: EpochLogs[];
  /** Optimizer steps taken. */
  steps: number;
  /** The epoch early stopping stopped after, if it did. */
  stoppedEpoch?: number;
  /** The best epoch seen by early stopping, if enabled. */
  bestEpoch?: number;
}

/** Options of {@link Model.evaluate}. */
export interface EvaluateOptions extends SequenceCallOptions {
  /** The loss (default `'mse'`). */
  loss?: LossName;
  /** Sequences per batch (default 32). */
  batchSize?: number;
  /** Metrics to compute. */
  metrics?: MetricName[];
  /** Stops between batches. */
  signal?: AbortSignal;
}

/** What {@link Model.evaluate} resolves with. */
export interface EvaluateResult {
  /** Mean loss (inference mode). */
  loss: number;
  /** Requested metrics. */
  metrics: Record<string, number>;
}

/** Options of {@link Model.predict}. */
export interface PredictOptions extends SequenceCallOptions {
  /** Sequences per batch (default 32). */
  batchSize?: number;
  /** Stops between batches. */
  signal?: AbortSignal;
}

// ------------------------------------------------------------------------------------------
// Low level
// ------------------------------------------------------------------------------------------

/**
 * Initial or final states of the recurrent layers: one tensor `[L·D, B, H]` for a model with one
 * recurrent layer, or an array with one entry per recurrent layer (`null`: zeros / none).
 */
export type StatesInput =
  | TensorLike
  | {
      /** One entry per recurrent layer, in order (`null`: zeros / none). */
      perLayer: (TensorLike | null)[];
    };

/** Options of {@link Model.forward}. */
export interface ForwardOptions extends SequenceCallOptions {
  /** The input `[B, T, F]` (or token ids `[B, T]` for an embedding model). */
  x: TensorLike;
  /** Initial hidden states (default zeros). */
  h0?: StatesInput;
  /** Initial cell states of LSTM layers (default zeros). */
  c0?: StatesInput;
  /** Training mode (dropout, batch statistics, and what backward needs; default false). */
  training?: boolean;
  /** Start from the states carried by the previous stateful call and carry the final ones on. */
  stateful?: boolean;
}

/** What {@link Model.forward} resolves with. */
export interface ForwardResult {
  /** `[B, T, W]` (`[T, B, W]` time-major) for sequence outputs, `[B, W]` otherwise. */
  output: Tensor;
  /** Final hidden states of every recurrent layer, `[L·D, B, H]` each. */
  hN: Tensor[];
  /** Final cell states of every recurrent layer (`null` for RNN and GRU). */
  cN: (Tensor | null)[];
}

/** Options of {@link Model.backward}. */
export interface BackwardOptions {
  /** ∂L/∂output, shaped (and laid out) like the last forward's output. */
  dOutput: TensorLike;
  /** ∂L/∂h_n (default zero). */
  dHn?: StatesInput;
  /** ∂L/∂c_n (default zero). */
  dCn?: StatesInput;
  /** Truncated BPTT: no gradient crosses the borders at steps `k, 2k, …` (both directions; default: full BPTT). */
  tbptt?: number;
}

/** What {@link Model.backward} resolves with. */
export interface BackwardResult {
  /** Every parameter's accumulated gradient, by PyTorch name. */
  grads: Record<string, Tensor>;
  /** ∂L/∂x in the forward's layout (`null` for token inputs). */
  x: Tensor | null;
  /** ∂L/∂h0 per recurrent layer. */
  h0: Tensor[];
  /** ∂L/∂c0 per recurrent layer (`null` for RNN and GRU). */
  c0: (Tensor | null)[];
}

/** `‖∂L/∂h_t‖` per step of one recurrent layer and direction, e.g. `lstm.l0_reverse`. */
export interface StepGradNorms {
  /** Layer, stacked index and direction. */
  name: string;
  /** One norm per time step. */
  norms: number[];
}

/** Options of {@link Model.gradCheck}. */
export interface GradCheckOptions extends SequenceCallOptions {
  /** The input batch. */
  x: TensorLike;
  /** Finite-difference step (default 1e-2: float32 arithmetic). */
  eps?: number;
  /** Elements checked per parameter, spread evenly (default 16; `Infinity` = all). */
  samples?: number;
  /** Only these parameters (default all). */
  params?: string[];
  /** Errors above this fail the check (default 2e-2). */
  tolerance?: number;
  /** Seed of the random loss weights (default 1). */
  seed?: number;
}

/** The result for one parameter of {@link Model.gradCheck}. */
export interface ParamGradCheck {
  /** Elements checked. */
  checked: number;
  /** max |analytic − numeric| / max(|analytic|, |numeric|, 1e-3). */
  maxRelError: number;
  /** max |analytic − numeric|. */
  maxAbsError: number;
}

/** What {@link Model.gradCheck} resolves with. */
export interface GradCheckResult {
  /** True when every parameter's `maxRelError` is within the tolerance. */
  ok: boolean;
  /** The largest relative error over all parameters. */
  maxRelError: number;
  /** Per parameter. */
  params: Record<string, ParamGradCheck>;
}

/** Options of {@link Model.save}. */
export interface SaveOptions {
  /** Also save the optimizer's state (default false). */
  includeOptimizer?: boolean;
}

// ------------------------------------------------------------------------------------------
// Handles
// ------------------------------------------------------------------------------------------

/**
 * A model. The handle lives on the calling thread; the weights live in the worker (or
 * in-process service), and every method is a queued async call to it.
 */
export interface Model {
  /** The configuration, with every default filled in. */
  readonly config: ModelConfig;
  /** Every parameter's PyTorch name and shape, in PyTorch's order. */
  parameters(): ParameterInfo[];
  /** What the model outputs: a sequence `[B, T, width]` or one row per sequence `[B, width]`. */
  readonly output: {
    /** True when the model outputs every step. */
    sequence: boolean;
    /** Features per output row. */
    width: number;
  };

  /** Trains on `x` (`[B, T, F]`) and `y` (`[B, T, out]`/`[B, out]`, class ids `[B, T]`/`[B]` for crossEntropy). */
  fit(x: TensorLike, y: TensorLike, options?: FitOptions): Promise<History>;
  /** The loss (and metrics) on data, in inference mode. */
  evaluate(x: TensorLike, y: TensorLike, options?: EvaluateOptions): Promise<EvaluateResult>;
  /** Outputs in inference mode, in batches. */
  predict(x: TensorLike, options?: PredictOptions): Promise<Tensor>;
  /** One step for generation: `xStep` `[B, F]` (or ids `[B]`) → `[B, width]`; states carry on until {@link resetStates}. */
  predictStep(xStep: TensorLike): Promise<Tensor>;
  /** Forgets the states carried by `predictStep` and stateful calls. */
  resetStates(): Promise<void>;

  /** A copy of a parameter's values. */
  getParam(name: string): Promise<Tensor>;
  /** Replaces a parameter's values (same number of elements, finite). */
  setParam(name: string, data: TensorLike): Promise<void>;
  /** A copy of a parameter's accumulated gradient. */
  getGrad(name: string): Promise<Tensor>;
  /** Sets every gradient to zero (backward accumulates, as in PyTorch). */
  zeroGrad(): Promise<void>;
  /** Runs the model with initial states and lengths; returns the output and final states. */
  forward(options: ForwardOptions): Promise<ForwardResult>;
  /**
   * Backpropagates through the last training-mode forward; accumulates and returns gradients.
   * One backward per forward, as in PyTorch (backward overwrites what the forward kept): a
   * second one rejects with a `StateError` until the next `forward({ training: true })`.
   */
  backward(options: BackwardOptions): Promise<BackwardResult>;
  /** Clips the gradients by global L2 norm (PyTorch's `clip_grad_norm_`); resolves with the norm before clipping. */
  clipGradNorm(maxNorm: number): Promise<number>;
  /** Clamps every gradient element to `[-value, value]`. */
  clipGradValue(value: number): Promise<void>;
  /** Installs (or replaces) the optimizer used by `optimizerStep` and `fit`. */
  setOptimizer(config: OptimizerConfig): Promise<void>;
  /** Changes the installed optimizer's learning rate. */
  setLearningRate(lr: number): Promise<void>;
  /** One optimizer step with the current gradients. */
  optimizerStep(): Promise<void>;
  /** `‖∂L/∂h_t‖` per step, per recurrent layer and direction, after the last backward. */
  stepGradNorms(): Promise<StepGradNorms[]>;
  /** Gradient L2 norm per parameter. */
  paramGradNorms(): Promise<Record<string, number>>;
  /** Central finite differences against backward, on a copy of the model (the model is not changed). */
  gradCheck(options: GradCheckOptions): Promise<GradCheckResult>;

  /** The model as safetensors bytes: config, weights, buffers (and optimizer state). */
  save(options?: SaveOptions): Promise<Uint8Array>;
  /** Loads weights by PyTorch name from safetensors bytes (e.g. a PyTorch state_dict); strict. */
  loadWeights(bytes: Uint8Array): Promise<void>;
  /** Frees the model; later calls reject with `DisposedError`. */
  dispose(): Promise<void>;
}

/** A standalone optimizer over a fixed list of tensors (`torch.optim.*`). */
export interface Optimizer {
  /** Applies one step with `grads` (same shapes as the tensors); resolves with the new values. */
  step(grads: TensorLike[]): Promise<Tensor[]>;
  /** Frees the optimizer. */
  dispose(): Promise<void>;
}

/** What the standalone {@link Recur.clipGradNorm} resolves with. */
export interface ClipNormResult {
  /** The clipped tensors (new arrays; the inputs are not changed). */
  grads: Tensor[];
  /** Global L2 norm before clipping. */
  totalNorm: number;
}
