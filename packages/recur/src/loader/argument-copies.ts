/**
 * Guards the copies of call arguments into wasm memory.
 *
 * wasm-bindgen's glue copies every array and string argument into wasm memory before it calls
 * the export. When that allocation fails, its `__wbindgen_malloc` aborts: the call ends in a
 * wasm trap ("unreachable") before any of recur's own checks can answer. That happens to an input
 * within the SDK's element limits that the module's memory cannot take, e.g. a 1.07 GB `x` in a
 * threads build, whose shared memory is at most 1 GiB.
 *
 * So every binding is wrapped here: before a call whose array and string arguments reach
 * {@link PROBE_BYTES} in all (a string counted at 3 bytes per UTF-16 unit, the most its copy takes), the module is asked whether it can allocate them at once
 * (`canAllocate`: a probe allocation, freed at once, which the copies then reuse), and a call that
 * would not fit is refused with a {@link ValueRangeError}, before anything is copied or changed.
 * Smaller calls, every call of a training loop among them, are passed on at the cost of a loop
 * over their arguments.
 * @module
 */
import { ValueRangeError } from '../errors.js';

/** Arguments of fewer bytes in all are copied without asking first. */
export const PROBE_BYTES = 1 << 24;

/** What the guard needs of the bindings. */
export interface MemoryProbe {
  /** Whether `bytes` more bytes can be allocated in wasm memory at once. */
  canAllocate(bytes: number): boolean;
  /** The wasm memory's size in bytes. */
  wasmMemoryBytes(): number;
}

type AnyFunction = (...args: unknown[]) => unknown;
type AnyClass = new (...args: unknown[]) => unknown;

/** Classes whose methods are already wrapped (the glue of each build is loaded once per realm). */
const wrappedClasses = new WeakSet<object>();

/**
 * Bytes the glue may allocate to copy `args`: the typed arrays' own bytes, and 3 per UTF-16 unit
 * of a string (its UTF-8 copy grows to that before it is trimmed, see `passStringToWasm0`).
 */
function argumentBytes(args: readonly unknown[]): number {
  let bytes = 0;
  for (const a of args) {
    if (ArrayBuffer.isView(a)) bytes += a.byteLength;
    else if (typeof a === 'string') bytes += 3 * a.length;
  }
  return bytes;
}

/** Throws a {@link ValueRangeError} when the array and string arguments of call `name` cannot be copied into wasm memory. */
export function checkArgumentCopies(probe: MemoryProbe, name: string, args: readonly unknown[]): void {
  const bytes = argumentBytes(args);
  if (bytes < PROBE_BYTES || probe.canAllocate(bytes)) return;
  const memory = probe.wasmMemoryBytes();
  throw new ValueRangeError(
    `${name}: its arguments (${bytes} bytes) cannot be copied into wasm memory, which cannot allocate that much more (${memory} bytes now; pass smaller batches)`,
    { details: { call: name, bytes, wasmMemoryBytes: memory } },
  );
}

function guarded(probe: MemoryProbe, name: string, fn: AnyFunction): AnyFunction {
  return function (this: unknown, ...args: unknown[]): unknown {
    checkArgumentCopies(probe, name, args);
    return fn.apply(this, args);
  };
}

/** Wraps, in place and once, the methods and static methods of one of the glue's classes. */
function wrapClassMethods(probe: MemoryProbe, name: string, cls: AnyClass): void {
  if (wrappedClasses.has(cls)) return;
  wrappedClasses.add(cls);
  for (const owner of [cls.prototype as Record<string, unknown>, cls as unknown as Record<string, unknown>]) {
    for (const key of Object.getOwnPropertyNames(owner)) {
      const d = Object.getOwnPropertyDescriptor(owner, key);
      if (key === 'constructor' || d === undefined || typeof d.value !== 'function' || !d.writable) continue;
      owner[key] = guarded(probe, `${name}.${key}`, d.value as AnyFunction);
    }
  }
}

/** True for the glue's exported classes (they have methods), false for its functions. */
function isClass(fn: AnyFunction): boolean {
  const proto = (fn as { prototype?: object }).prototype;
  return proto !== undefined && Object.getOwnPropertyNames(proto).some((k) => k !== 'constructor');
}

/**
 * The bindings `api`, each of whose functions, constructors and methods first checks that its
 * array and string arguments can be copied into wasm memory ({@link checkArgumentCopies}). The glue's classes
 * are wrapped in place; constructors through a proxy of the class.
 */
export function guardArgumentCopies<Api extends MemoryProbe>(api: Api): Api {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(api)) {
    if (typeof value !== 'function') {
      out[key] = value;
    } else if (isClass(value as AnyFunction)) {
      const cls = value as AnyClass;
      wrapClassMethods(api, key, cls);
      out[key] = new Proxy(cls, {
        construct(target, args, newTarget) {
          checkArgumentCopies(api, `new ${key}`, args);
          return Reflect.construct(target, args, newTarget) as object;
        },
      });
    } else {
      out[key] = guarded(api, key, value as AnyFunction);
    }
  }
  return out as Api;
}
