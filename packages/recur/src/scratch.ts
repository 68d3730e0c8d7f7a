/**
 * Scratch buffers of the calling thread, reused from one call to the next.
 *
 * The client converts every input to a new array that it transfers to the worker. A new array
 * of more than a few pages costs far more than filling it (fresh pages from the system: about
 * 0.1 ms for 128 KiB after an idle gap, against 0.02 ms to overwrite a reused one, Node 20), so
 * the worker hands such lent buffers back with its reply (`rpc.ts`, {@link markLend}) and they
 * come back here for the next call of the same size.
 *
 * A buffer from {@link scratchBuffer} holds old values: its user overwrites every element.
 * @module
 */

/** Buffers kept per byte length (more are left to the garbage collector). */
const PER_SIZE = 2;
/** Largest buffer kept. */
const MAX_BYTES = 16 * 2 ** 20;
/** Bytes kept in all. */
const MAX_TOTAL = 64 * 2 ** 20;

const pool = new Map<number, ArrayBuffer[]>();
let total = 0;

/** An `ArrayBuffer` of exactly `bytes` bytes: a returned one if there is one, else a new one. */
export function scratchBuffer(bytes: number): ArrayBuffer {
  const list = pool.get(bytes);
  const b = list?.pop();
  if (b === undefined) return new ArrayBuffer(bytes);
  total -= bytes;
  return b;
}

/** A `Float32Array` of `n` elements over a scratch buffer (old values: overwrite every one). */
export function scratchF32(n: number): Float32Array {
  return new Float32Array(scratchBuffer(n * 4));
}

/** A `Uint32Array` of `n` elements over a scratch buffer (old values: overwrite every one). */
export function scratchU32(n: number): Uint32Array {
  return new Uint32Array(scratchBuffer(n * 4));
}

/** Drops every kept buffer (a runtime being disposed leaves none behind). */
export function clearScratch(): void {
  pool.clear();
  total = 0;
}

/** Keeps `buffer` for a later call (unless detached, too large, or enough are kept already). */
export function recycle(buffer: unknown): void {
  if (!(buffer instanceof ArrayBuffer)) return;
  const bytes = buffer.byteLength;
  if (bytes === 0 || bytes > MAX_BYTES || total + bytes > MAX_TOTAL) return;
  let list = pool.get(bytes);
  if (list === undefined) pool.set(bytes, (list = []));
  if (list.length >= PER_SIZE || list.includes(buffer)) return;
  list.push(buffer);
  total += bytes;
}
