// Shared by the Node tests: awaits a promise that must reject with a RecurError.
import { expect } from 'vitest';
import { RecurError } from '../../dist/entrypoints/node.js';

/** The RecurError `p` rejects with; fails the test if `p` resolves or rejects with anything else. */
export async function rejection(p: Promise<unknown>): Promise<RecurError> {
  const e = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(RecurError);
  return e as RecurError;
}
