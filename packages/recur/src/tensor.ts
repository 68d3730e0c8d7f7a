/**
 * Input handling: typed arrays or nested arrays, an explicit or inferred shape, validated before
 * any work starts, converted once to the flat float32 layout the core wants.
 *
 * Sequences are batch-major `[B, T, F]` by default (what users expect); pass
 * `layout: 'time-major'` for `[T, B, F]`. The core works time-major, so {@link toSequenceBatch}
 * writes a new time-major `Float32Array` in one pass.
 * @module
 */
import { InputTypeError, NonFiniteError, ShapeError, ValueRangeError } from './errors.js';

/** Numbers nested to any depth: `number[]`, `number[][]`, `number[][][]`... */
export type NestedArray = number[] | readonly NestedArray[] | readonly number[];

/** Data accepted by the SDK. */
export type TensorData = Float32Array | Float64Array | NestedArray;

/** A tensor given with its shape (required for flat typed arrays of rank > 1). */
export interface ShapedData {
  /** The values, row-major. */
  data: TensorData;
  /** The shape; checked against the data. */
  shape?: readonly number[];
}

/** Input accepted where a tensor is expected: the data alone, or data with a shape. */
export type TensorLike = TensorData | ShapedData;

/** Order of the first two axes of a sequence batch. */
export type Layout = 'batch-major' | 'time-major';

/** A validated tensor: flat float32 data and its shape. */
export interface Tensor {
  /** Row-major values, a new array owned by the SDK. */
  data: Float32Array;
  /** The shape. */
  shape: number[];
}

/** A validated sequence batch, time-major. */
export interface SequenceBatch {
  /** `[T, B, F]` row-major, a new array owned by the SDK. */
  data: Float32Array;
  /** Batch size B. */
  batch: number;
  /** Steps T. */
  steps: number;
  /** Features F. */
  features: number;
}

/** Options of {@link toTensor}. */
export interface TensorOptions {
  /** Name used in error messages (default `'input'`). */
  name?: string;
  /** The shape, if the input does not carry one. */
  shape?: readonly number[];
  /** Required rank, if any. */
  rank?: number;
  /** Accept NaN and ±Infinity (default false). */
  allowNonFinite?: boolean;
  /** Largest number of elements accepted (default 2^28, i.e. 1 GiB of float32). */
  maxElements?: number;
}

/** Options of {@link toSequenceBatch}. */
export interface SequenceOptions extends Omit<TensorOptions, 'rank'> {
  /** `'batch-major'` (`[B, T, F]`, default) or `'time-major'` (`[T, B, F]`). */
  layout?: Layout;
  /** Required number of features, if known (the model's input size). */
  features?: number;
  /**
   * Per-sequence lengths for the batch size and steps read from the input: called before any
   * value is checked (it validates the lengths and may throw). Values at padded steps
   * (`t >= lengths[b]`) are not checked and may come out as 0 (a model never reads them): NaN,
   * ±Infinity or anything else there is accepted.
   */
  lengthsFor?: (batch: number, steps: number) => Uint32Array | undefined;
  /**
   * @internal A batch-major `Float32Array` without lengths is copied without the finiteness scan
   * ({@link toSequenceBatchAsGiven} returns `unchecked: true`): the service checks it
   * ({@link checkDeferred}), so that the calling thread makes one pass over the data, the copy.
   */
  deferFiniteCheck?: boolean;
}

/** Default limit on the number of elements of one input. */
export const DEFAULT_MAX_ELEMENTS = 2 ** 28;

const F32_MAX = 3.4028234663852886e38;

/**
 * Validates any accepted input and returns its float32 data (a new array) and shape.
 * @throws InputTypeError for wrong JS types, ShapeError for inconsistent or missing shapes,
 *   NonFiniteError for NaN/Infinity (or float64 values that overflow float32), ValueRangeError
 *   for sizes above `maxElements`.
 */
export function toTensor(input: TensorLike, options: TensorOptions = {}): Tensor {
  return readInto(input, options, (n) => new Float32Array(n));
}

/**
 * @internal {@link toTensor} writing into `alloc(n)`, which may hold old values (every element is
 * written).
 */
export function toTensorWith(input: TensorLike, options: TensorOptions, alloc: (n: number) => Float32Array): Tensor {
  return readInto(input, options, alloc);
}

/**
 * Like {@link toTensor}, but keeps the values as float64: for integer data (token ids, class
 * indices) that must not round through float32 before it is range-checked.
 */
export function toExactTensor(input: TensorLike, options: TensorOptions = {}): { data: Float64Array; shape: number[] } {
  return readInto(input, options, (n) => new Float64Array(n));
}

function readInto<A extends Float32Array | Float64Array>(input: TensorLike, options: TensorOptions, alloc: (n: number) => A): { data: A; shape: number[] } {
  const { data, shape } = prepare(input, options);
  const out = alloc(shape.reduce((a, b) => a * b, 1));
  if (isTypedData(data)) {
    copyChecked(data, out, options);
  } else {
    let k = 0;
    const name = options.name ?? 'input';
    walk(data, shape, 0, [], (v, path) => {
      out[k] = checkValue(v, path, name, options);
      k++;
    });
  }
  return { data: out, shape };
}

/**
 * Validates a sequence batch and returns it time-major (`[T, B, F]`), converted in one pass.
 * Accepts rank 3 only; `features` (if given) must match the last axis.
 */
export function toSequenceBatch(input: TensorLike, options: SequenceOptions = {}): SequenceBatch {
  return toSequenceBatchWith(input, options, (n) => new Float32Array(n));
}

/**
 * @internal {@link toSequenceBatch} writing into `alloc(n)`, which may hold old values (every
 * element is written).
 */
export function toSequenceBatchWith(input: TensorLike, options: SequenceOptions, alloc: (n: number) => Float32Array): SequenceBatch {
  const layout = options.layout ?? 'batch-major';
  if (layout !== 'batch-major' && layout !== 'time-major') {
    throw new InputTypeError(`layout must be 'batch-major' or 'time-major', got ${describe(layout)}`, { details: { layout: String(layout) } });
  }
  const name = options.name ?? 'input';
  const { data, shape } = prepare(input, { ...options, rank: 3 });
  const [d0, d1, features] = shape as [number, number, number];
  const [batch, steps] = layout === 'batch-major' ? [d0, d1] : [d1, d0];
  if (options.features !== undefined && features !== options.features) {
    throw new ShapeError(`${name} has ${features} features per step, expected ${options.features}`, {
      details: { name, shape, expectedFeatures: options.features },
    });
  }
  const lengths = options.lengthsFor?.(batch, steps);
  const padded = (b: number, t: number): boolean => lengths !== undefined && t >= lengths[b]!;
  const out = alloc(batch * steps * features);
  if (layout === 'time-major') {
    if (isTypedData(data)) {
      if (lengths === undefined) copyChecked(data, out, options);
      else copyValidSteps(data, out, false, batch, steps, features, lengths, name, options);
    } else {
      let k = 0;
      walk(data, shape, 0, [], (v, path) => {
        out[k++] = padded(path[1]!, path[0]!) ? 0 : checkValue(v, path, name, options);
      });
    }
  } else if (data instanceof Float32Array && transposeF32(data, out, batch, steps, features)) {
    // every value finite: done
  } else if (isTypedData(data)) {
    // [B, T, F] -> [T, B, F], checking every value on the way (and throwing at the first bad one)
    const check = !options.allowNonFinite;
    for (let b = 0; b < batch; b++) {
      for (let t = 0; t < steps; t++) {
        const src = (b * steps + t) * features;
        const dst = (t * batch + b) * features;
        if (padded(b, t)) {
          out.fill(0, dst, dst + features);
          continue;
        }
        for (let f = 0; f < features; f++) {
          const v = data[src + f]!;
          if (check && !(v <= F32_MAX && v >= -F32_MAX)) checkValue(v, [b, t, f], name, options);
          out[dst + f] = v;
        }
      }
    }
  } else {
    walk(data, shape, 0, [], (v, path) => {
      const [b, t, f] = path as [number, number, number];
      out[(t * batch + b) * features + f] = padded(b, t) ? 0 : checkValue(v, path, name, options);
    });
  }
  return { data: out, batch, steps, features };
}

/**
 * @internal {@link toSequenceBatchWith}, except that a finite batch-major `Float32Array` stays
 * batch-major (`batchMajor: true`, `data` is `[B, T, F]`, copied as it is): the wasm bindings
 * reorder it, so the calling thread makes no pass over it but the check and one copy. With
 * `deferFiniteCheck` and no lengths, not even the check (`unchecked: true`: the caller has it
 * made elsewhere, {@link checkDeferred}). Anything else (time-major, nested arrays, float64, a
 * non-finite value: its error) goes through {@link toSequenceBatchWith}.
 */
export function toSequenceBatchAsGiven(
  input: TensorLike,
  options: SequenceOptions,
  alloc: (n: number) => Float32Array,
): SequenceBatch & { batchMajor: boolean; unchecked?: true } {
  if ((options.layout ?? 'batch-major') === 'batch-major') {
    const { data, shape } = prepare(input, { ...options, rank: 3 });
    const [batch, steps, features] = shape as [number, number, number];
    if (data instanceof Float32Array && (options.features === undefined || features === options.features)) {
      const lengths = options.lengthsFor?.(batch, steps);
      if (options.deferFiniteCheck && !options.allowNonFinite && lengths === undefined) {
        const out = alloc(data.length);
        out.set(data);
        return { data: out, batch, steps, features, batchMajor: true, unchecked: true };
      }
      if (options.allowNonFinite || allFiniteF32(data)) {
        const out = alloc(data.length);
        out.set(data);
        return { data: out, batch, steps, features, batchMajor: true };
      }
      if (lengths !== undefined) {
        // not every value is finite: those at valid steps are an error, the padded steps become 0
        const out = alloc(data.length);
        copyValidSteps(data, out, true, batch, steps, features, lengths, options.name ?? 'input', options);
        return { data: out, batch, steps, features, batchMajor: true };
      }
    }
  }
  return { ...toSequenceBatchWith(input, options, alloc), batchMajor: false };
}

/**
 * Copies sequence data into `out` in its own layout (`[B, T, F]` when `batchMajor`, else
 * `[T, B, F]`), checking the values of valid steps (throwing at the first bad one, named by its
 * `[b, t, f]` or `[t, b, f]` index) and writing 0 at padded steps (`t >= lengths[b]`).
 */
function copyValidSteps(
  src: Float32Array | Float64Array,
  out: Float32Array,
  batchMajor: boolean,
  batch: number,
  steps: number,
  features: number,
  lengths: Uint32Array,
  name: string,
  options: TensorOptions,
): void {
  const check = !options.allowNonFinite;
  for (let row = 0; row < batch * steps; row++) {
    const b = batchMajor ? Math.floor(row / steps) : row % batch;
    const t = batchMajor ? row % steps : Math.floor(row / batch);
    const o = row * features;
    if (t >= lengths[b]!) {
      out.fill(0, o, o + features);
      continue;
    }
    for (let f = 0; f < features; f++) {
      const v = src[o + f]!;
      if (check && !(v <= F32_MAX && v >= -F32_MAX)) checkValue(v, batchMajor ? [b, t, f] : [t, b, f], name, options);
      out[o + f] = v;
    }
  }
}

/** Reads the shape from the input (or the options) and checks it against the data. */
function prepare(input: TensorLike, options: TensorOptions): { data: TensorData; shape: number[] } {
  const name = options.name ?? 'input';
  let data: unknown = input;
  let shape: readonly number[] | undefined = options.shape;
  if (isShaped(input)) {
    data = input.data;
    if (input.shape !== undefined) {
      if (shape !== undefined && !sameShape(shape, input.shape)) {
        throw new ShapeError(`${name}: two different shapes were given`, { details: { name, shapes: [shape, input.shape] } });
      }
      shape = input.shape;
    }
  }
  if (shape !== undefined) checkShape(shape, name, options);
  let actual: number[];
  if (isTypedData(data)) {
    if (shape === undefined) {
      if (options.rank !== undefined && options.rank !== 1) {
        throw new ShapeError(`${name} is a flat ${data.constructor.name}: give its shape (e.g. { data, shape: [B, T, F] })`, {
          details: { name, length: data.length, rank: options.rank },
        });
      }
      actual = [data.length];
    } else {
      const n = shape.reduce((a, b) => a * b, 1);
      if (n !== data.length) {
        throw new ShapeError(`${name} has ${data.length} values but shape [${shape.join(', ')}] needs ${n}`, {
          details: { name, shape: [...shape], length: data.length },
        });
      }
      actual = [...shape];
    }
  } else if (Array.isArray(data)) {
    actual = inferShape(data, name);
    if (shape !== undefined && !sameShape(shape, actual)) {
      throw new ShapeError(`${name} has shape [${actual.join(', ')}] but shape [${shape.join(', ')}] was given`, {
        details: { name, shape: [...shape], actual },
      });
    }
  } else {
    throw new InputTypeError(
      `${name} must be a Float32Array, a Float64Array or a (nested) array of numbers, got ${describe(data)}`,
      { details: { name, type: describe(data) } },
    );
  }
  if (options.rank !== undefined && actual.length !== options.rank) {
    throw new ShapeError(`${name} must have rank ${options.rank}, got shape [${actual.join(', ')}]`, {
      details: { name, shape: actual, rank: options.rank },
    });
  }
  checkShape(actual, name, options);
  return { data: data as TensorData, shape: actual };
}

function checkShape(shape: readonly number[], name: string, options: TensorOptions): void {
  if (!Array.isArray(shape)) {
    throw new InputTypeError(`${name}: shape must be an array of integers`, { details: { name } });
  }
  let n = 1;
  for (const [i, d] of shape.entries()) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 1) {
      throw new ShapeError(`${name}: shape[${i}] must be a positive integer, got ${describe(d)}`, {
        details: { name, shape: [...shape].map(String), axis: i },
      });
    }
    n *= d;
  }
  const max = options.maxElements ?? DEFAULT_MAX_ELEMENTS;
  if (n > max) {
    throw new ValueRangeError(`${name} has ${n} elements, more than the limit of ${max}`, {
      details: { name, shape: [...shape], elements: n, maxElements: max },
    });
  }
}

/** The shape of a nested array, checking that it is rectangular and contains numbers only. */
function inferShape(data: readonly unknown[], name: string): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  // Check every element against the shape of the first path.
  const visit = (node: unknown, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        throw new InputTypeError(`${name}${fmtPath(path)} must be a number, got ${describe(node)}`, {
          details: { name, index: path, type: describe(node) },
        });
      }
      return;
    }
    if (!Array.isArray(node)) {
      throw new ShapeError(`${name}${fmtPath(path)} must be an array of length ${shape[depth]} (ragged input), got ${describe(node)}`, {
        details: { name, index: path, expectedShape: shape },
      });
    }
    if (node.length !== shape[depth]) {
      throw new ShapeError(`${name}${fmtPath(path)} has length ${node.length}, expected ${shape[depth]} (ragged input)`, {
        details: { name, index: path, length: node.length, expected: shape[depth] },
      });
    }
    for (let i = 0; i < node.length; i++) visit(node[i], depth + 1, [...path, i]);
  };
  visit(data, 0, []);
  return shape;
}

function walk(node: NestedArray, shape: readonly number[], depth: number, path: number[], f: (v: number, path: number[]) => void): void {
  if (depth === shape.length - 1) {
    for (let i = 0; i < node.length; i++) {
      path[depth] = i;
      f(node[i] as number, path);
    }
    return;
  }
  for (let i = 0; i < node.length; i++) {
    path[depth] = i;
    walk(node[i] as NestedArray, shape, depth + 1, path, f);
  }
}

/**
 * `[B, T, F]` float32 → `[T, B, F]` into `out`. Returns whether every value is finite: a float32
 * is finite exactly when `v * 0` is 0, so the check is a sum that any NaN or ±Infinity turns to
 * NaN, with no branch per value (the caller finds the bad value's index on its slow path).
 */
function transposeF32(src: Float32Array, out: Float32Array, batch: number, steps: number, features: number): boolean {
  let poison = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < steps; t++) {
      const s = (b * steps + t) * features;
      const d = (t * batch + b) * features;
      for (let f = 0; f < features; f++) {
        const v = src[s + f]!;
        poison += v * 0;
        out[d + f] = v;
      }
    }
  }
  return poison === 0;
}

/**
 * @internal `[A, B, W]` → `[B, A, W]` into `make(n)`; short rows element by element (a
 * `subarray` per row costs more). The client reorders inputs with it, the worker outputs.
 */
export function swap01<A extends Float32Array | Uint32Array>(src: A, a: number, b: number, w: number, make: (n: number) => A): A {
  const out = make(src.length);
  for (let i = 0; i < a; i++) {
    for (let j = 0; j < b; j++) {
      const s = (i * b + j) * w;
      const d = (j * a + i) * w;
      if (w >= 64) out.set(src.subarray(s, s + w), d);
      else for (let k = 0; k < w; k++) out[d + k] = src[s + k]!;
    }
  }
  return out;
}

/**
 * @internal `[B, T, F]` float32 features as a new time-major `[T, B, F]` array, for values already
 * checked (the worker reorders batch-major features it must split or shuffle).
 */
export function timeMajorCopy(src: Float32Array, batch: number, steps: number, features: number): Float32Array {
  const out = new Float32Array(src.length);
  transposeF32(src, out, batch, steps, features);
  return out;
}

/**
 * @internal The check {@link toSequenceBatchAsGiven} left out (`unchecked`), made where the data
 * went: nothing when every value of the batch-major `data` (`[batch, steps, features]`) is finite,
 * else the same `NonFiniteError` (naming the first bad value by its `[b, t, f]` index) the calling
 * thread would have thrown.
 */
export function checkDeferred(data: Float32Array, batch: number, steps: number, features: number, name: string): void {
  if (allFiniteF32(data)) return;
  // The first bad value in [b, t, f] order, as toSequenceBatchWith's check meets it.
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) {
      const f = i % features;
      const bt = (i - f) / features;
      checkValue(v, [Math.floor(bt / steps), bt % steps, f], name, {});
    }
  }
  throw new NonFiniteError(`${name} holds a value that is not finite`, { details: { name, shape: [batch, steps, features] } });
}

/** Whether every value of `src` is finite (as {@link transposeF32}: two branch-free sums). */
function allFiniteF32(src: Float32Array): boolean {
  let p0 = 0;
  let p1 = 0;
  const n = src.length;
  let i = 0;
  for (; i + 1 < n; i += 2) {
    p0 += src[i]! * 0;
    p1 += src[i + 1]! * 0;
  }
  if (i < n) p0 += src[i]! * 0;
  return p0 + p1 === 0;
}

/**
 * Copies `src` into `out` after checking every value. The check is one comparison per value
 * (false for NaN, ±Infinity and float64 values beyond float32's range); only a failing value
 * goes through {@link checkValue}, which throws with its index. A float32 source is scanned
 * branch-free first ({@link allFiniteF32}); the per-value loop only runs when that fails.
 */
function copyChecked(src: Float32Array | Float64Array, out: Float32Array | Float64Array, options: TensorOptions): void {
  if (!options.allowNonFinite && !(src instanceof Float32Array && allFiniteF32(src))) {
    for (let i = 0; i < src.length; i++) {
      const v = src[i]!;
      if (!(v <= F32_MAX && v >= -F32_MAX)) checkValue(v, [i], options.name ?? 'input', options);
    }
  }
  out.set(src);
}

function checkValue(v: number, path: readonly number[], name: string, options: TensorOptions): number {
  if (!options.allowNonFinite) {
    if (!Number.isFinite(v)) {
      throw new NonFiniteError(`${name}${fmtPath(path)} is ${v}`, { details: { name, index: [...path], value: String(v) } });
    }
    if (v > F32_MAX || v < -F32_MAX) {
      throw new NonFiniteError(`${name}${fmtPath(path)} = ${v} overflows float32`, {
        details: { name, index: [...path], value: String(v) },
      });
    }
  }
  return v;
}

function isTypedData(v: unknown): v is Float32Array | Float64Array {
  return v instanceof Float32Array || v instanceof Float64Array;
}

function isShaped(v: unknown): v is ShapedData {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v) && 'data' in v;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fmtPath(path: readonly number[]): string {
  return path.map((i) => `[${i}]`).join('');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'Object'})`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}
