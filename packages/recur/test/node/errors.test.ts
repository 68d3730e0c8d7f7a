import { describe, expect, it } from 'vitest';
import {
  AbortError,
  createRecur,
  DisposedError,
  ERROR_CODES,
  errorFromCode,
  FormatError,
  InternalError,
  RecurError,
  ShapeError,
  ValueRangeError,
} from '../../dist/entrypoints/node.js';
import { deserializeError, serializeError, toRecurError } from '../../dist/errors.js';

const EXPECTED_NAMES: Record<string, string> = {
  ERR_SHAPE: 'ShapeError',
  ERR_NON_FINITE: 'NonFiniteError',
  ERR_RANGE: 'ValueRangeError',
  ERR_UNSUPPORTED: 'UnsupportedError',
  ERR_STATE: 'StateError',
  ERR_FORMAT: 'FormatError',
  ERR_INIT: 'InitError',
  ERR_ABORTED: 'AbortError',
  ERR_DISPOSED: 'DisposedError',
  ERR_TYPE: 'InputTypeError',
  ERR_WORKER: 'WorkerError',
  ERR_INTERNAL: 'InternalError',
};

describe('error classes', () => {
  it('one subclass per code, each a RecurError and an Error', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(EXPECTED_NAMES).sort());
    for (const code of ERROR_CODES) {
      const e = errorFromCode(code, 'm', { details: { k: 1 } });
      expect(e).toBeInstanceOf(RecurError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect(e.name).toBe(EXPECTED_NAMES[code]);
      expect(e.details).toEqual({ k: 1 });
    }
  });

  it('AbortError keeps the DOM name', () => {
    expect(new AbortError().name).toBe('AbortError');
    expect(new AbortError().code).toBe('ERR_ABORTED');
  });

  it('errors thrown by the wasm bindings ({ code, message }) become the subclass of their code', () => {
    const e = toRecurError(Object.assign(new Error('bad header'), { code: 'ERR_FORMAT' }));
    expect(e).toBeInstanceOf(FormatError);
    expect(e.message).toBe('bad header');
    const plain = toRecurError({ code: 'ERR_SHAPE', message: 'x', details: { expected: [1, 2] } });
    expect(plain).toBeInstanceOf(ShapeError);
    expect(plain.details).toEqual({ expected: [1, 2] });
    const unknown = toRecurError({ code: 'ERR_NEW_THING', message: 'y' });
    expect(unknown).toBeInstanceOf(InternalError);
    expect(unknown.details).toEqual({ originalCode: 'ERR_NEW_THING' });
    expect(toRecurError(new TypeError('z'))).toBeInstanceOf(InternalError);
  });

  it('serialize/deserialize keep class, code, message, details and the remote stack', () => {
    const e = new ValueRangeError('lr must be > 0', { details: { lr: -1 } });
    const back = deserializeError(structuredClone(serializeError(e)));
    expect(back).toBeInstanceOf(ValueRangeError);
    expect(back.code).toBe('ERR_RANGE');
    expect(back.message).toBe('lr must be > 0');
    expect(back.details).toEqual({ lr: -1 });
    expect(back.stack).toContain('--- remote ---');
  });
});

describe.each(['worker', 'inprocess'] as const)('errors across the bridge (%s)', (mode) => {
  it('every code arrives with its class, name, message, code and details', async () => {
    const recur = createRecur({ mode });
    try {
      for (const code of ERROR_CODES) {
        for (const asPlainObject of [false, true]) {
          const err = await recur.diagnostics.raise(code, `raised ${code}`, { details: { code, n: 3 }, asPlainObject }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(RecurError);
          expect((err as RecurError).code).toBe(code);
          expect((err as RecurError).name).toBe(EXPECTED_NAMES[code]);
          expect((err as RecurError).message).toBe(`raised ${code}`);
          expect((err as RecurError).details).toEqual({ code, n: 3 });
        }
      }
      // A real validation error raised by the service itself.
      const range = await recur.diagnostics.busy({ steps: -1, stepMs: 1 }).catch((e: unknown) => e);
      expect(range).toBeInstanceOf(ValueRangeError);
      expect((range as ValueRangeError).details).toEqual({ steps: -1 });
      // The service still works afterwards.
      expect(await recur.version()).toBe(__RECUR_CRATE_VERSION__);
    } finally {
      await recur.dispose();
    }
  });

  it('calls after dispose() reject with DisposedError', async () => {
    const recur = createRecur({ mode });
    await recur.init();
    await recur.dispose();
    const err = await recur.version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DisposedError);
    expect((err as DisposedError).code).toBe('ERR_DISPOSED');
  });
});
