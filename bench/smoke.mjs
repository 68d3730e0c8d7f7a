#!/usr/bin/env node
// The benchmark's smoke check, run by scripts/test.sh: `scripts/bench.sh --quick` (which installs
// the peers kept apart from the workspace, bench/peers, when they are missing, then runs
// `run.mjs --quick`: the tiny configuration, short budgets, about 15 s) into a temporary directory. Every cell of its results must have run:
// the load and init row, each library's training and inference rows, the GEMM table. A change
// of the SDK or the bindings that breaks one of the benchmark's adapters then fails the tests
// instead of the next full run. Nothing about speed is checked: the numbers are not read.
//
//   node bench/smoke.mjs
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'recur-bench-smoke-'));
try {
  const run = spawnSync('bash', [path.join(here, '..', 'scripts', 'bench.sh'), '--quick', '--out', out], { stdio: 'inherit' });
  if (run.status !== 0) throw new Error(`scripts/bench.sh --quick exited with ${run.status ?? run.signal}`);
  const results = JSON.parse(fs.readFileSync(path.join(out, 'results.quick.json'), 'utf8'));
  const problems = [];
  const cells = [['load', results.load]];
  for (const table of ['train', 'trainRecur', 'infer', 'inferRecur', 'gemm']) {
    const byConfig = results[table];
    if (byConfig === undefined || Object.keys(byConfig).length === 0) problems.push(`${table}: no cells`);
    for (const [config, libs] of Object.entries(byConfig ?? {})) {
      for (const [lib, cell] of Object.entries(libs)) cells.push([`${table} ${config} ${lib}`, cell]);
    }
  }
  for (const [where, cell] of cells) {
    if (cell?.ok !== true) problems.push(`${where}: ${cell?.error ?? 'did not run'}`);
    // every step table has the stall column, measured by its own probe steps after the timed ones
    else if (!where.startsWith('gemm') && where !== 'load' && !(Number.isFinite(cell.maxStallMs) && cell.stalls?.length > 0)) {
      problems.push(`${where}: no stall measured`);
    }
    // recur's training rows also report the loss before and after the measured steps (timed and probe)
    else if (Array.isArray(cell.loss) && cell.lib?.startsWith('recur') && !cell.loss.every(Number.isFinite)) {
      problems.push(`${where}: loss ${JSON.stringify(cell.loss)}`);
    }
  }
  if (problems.length > 0) throw new Error(`benchmark cells that failed:\n  ${problems.join('\n  ')}`);
  console.log(`bench smoke: all ${cells.length} cells ran`);
} catch (e) {
  console.error(`bench smoke: ${e.message}`);
  process.exitCode = 1;
} finally {
  fs.rmSync(out, { recursive: true, force: true });
}
