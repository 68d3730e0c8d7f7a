// Prints, as JSON, the result of the shared fit case trained by the Node SDK in its worker thread.
// The Deno test runs this script (node) to compare its own result with Node's in the same test run.
import { createRecur } from '../../dist/entrypoints/node.js';
import { runFitCase } from './fit-case.mjs';

const recur = createRecur({ mode: 'worker' });
try {
  const info = await recur.init();
  const result = await runFitCase(recur);
  console.log(JSON.stringify({ ...result, variant: info.variant, mode: info.mode }));
} finally {
  await recur.dispose();
}
