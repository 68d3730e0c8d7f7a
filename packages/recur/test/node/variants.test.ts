// Every wasm build loads through the public SDK (forced with `wasm.variant`) and trains the same
// small model: the builds with the same arithmetic agree bitwise (simd, threads with 1 or 2
// threads, scalar; relaxed and relaxed-threads), and the relaxed ones, whose multiply-adds may be
// fused, stay close to the others. Node 20 validates relaxed SIMD only with
// --experimental-wasm-relaxed-simd, so the training runs in a child node with that flag (the
// detection of this process, without it, is checked here too).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRecur, hasRelaxedSimd, InitError } from '../../dist/entrypoints/node.js';
import { chooseVariant, choosePlan } from '../../dist/loader/wasm.js';
import { spawnNodeHelper } from '../../dist/worker/helpers-node.js';

interface FitResult {
  asked: string;
  variant?: string;
  threads?: number;
  threadsFallback?: string;
  losses?: number[];
  hash?: string;
  params?: Record<string, number[]>;
  error?: string;
}
interface ChildOutput {
  node: string;
  execArgv: string[];
  hasRelaxedSimd: boolean;
  results: FitResult[];
}

const script = fileURLToPath(new URL('./variant-fit.mjs', import.meta.url));

function runChild(nodeFlags: string[], runs: string[]): Promise<ChildOutput> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...nodeFlags, script, ...runs], { timeout: 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`variant-fit.mjs failed: ${err.message}\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as ChildOutput);
      } catch (e) {
        reject(new Error(`variant-fit.mjs printed no JSON (${String(e)}): ${stdout.slice(0, 200)}\n${stderr}`));
      }
    });
  });
}

/** Node's flag for relaxed SIMD, where this node needs one (Node 20), else none. */
const relaxedFlags = hasRelaxedSimd() ? [] : ['--experimental-wasm-relaxed-simd'];
const RUNS = ['scalar', 'simd', 'threads:1', 'threads:2', 'relaxed', 'relaxed-threads:1', 'relaxed-threads:2', 'auto:2'];

let out: ChildOutput;
const byRun = (asked: string): FitResult => {
  const r = out.results.find((x) => x.asked === asked);
  if (r === undefined) throw new Error(`no result for ${asked}`);
  expect(r.error).toBeUndefined();
  return r;
};

/** Largest |a - b| / (1e-3 + |b|) over every parameter. */
function maxRelDiff(a: Record<string, number[]>, b: Record<string, number[]>): number {
  let worst = 0;
  for (const [name, values] of Object.entries(b)) {
    const other = a[name]!;
    expect(other.length).toBe(values.length);
    values.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(other[i]! - v) / (1e-3 + Math.abs(v)));
    });
  }
  return worst;
}

describe('feature detection of relaxed SIMD', () => {
  it('this node (no flag) does not pick a relaxed build; asking for one fails init with InitError', async () => {
    if (hasRelaxedSimd()) return; // a node that has relaxed SIMD (22+) is covered by the child run
    expect(chooseVariant(undefined)).toBe('simd');
    expect(() => chooseVariant(undefined, true)).toThrow(/relaxed SIMD/);
    expect(choosePlan({ numThreads: 2, spawnHelper: spawnNodeHelper }).variant).toBe('threads');
    const recur = createRecur({ mode: 'worker', wasm: { variant: 'relaxed' } });
    try {
      const e = await recur.init().catch((err: unknown) => err);
      expect(e).toBeInstanceOf(InitError);
      expect((e as InitError).message).toMatch(/--experimental-wasm-relaxed-simd/);
    } finally {
      await recur.dispose();
    }
  });

  it('a forced build that cannot run here is an InitError, never a silent fallback', () => {
    expect(() => choosePlan({ variant: 'threads', numThreads: 2 })).toThrow(/in-process/);
    expect(() => choosePlan({ variant: 'simd', simd: false })).toThrow(/simd is false/);
    expect(() => choosePlan({ variant: 'nope' as never })).toThrow(/must be one of/);
    expect(choosePlan({ variant: 'simd', numThreads: 2, spawnHelper: spawnNodeHelper })).toMatchObject({
      variant: 'simd',
      threads: 1,
      fallback: expect.stringMatching(/single-thread build/),
    });
    expect(choosePlan({ variant: 'threads', numThreads: 1, spawnHelper: spawnNodeHelper })).toMatchObject({ variant: 'threads', threads: 1 });
    expect(choosePlan({ relaxedSimd: false, numThreads: 2, spawnHelper: spawnNodeHelper }).variant).toBe('threads');
  });
});

describe('every build trains the same small model (child node with relaxed SIMD)', () => {
  beforeAll(async () => {
    out = await runChild(relaxedFlags, RUNS);
  }, 120_000);

  it('the child validates relaxed SIMD and detects relaxed-threads', () => {
    expect(out.hasRelaxedSimd).toBe(true);
    expect(byRun('auto:2')).toMatchObject({ variant: 'relaxed-threads', threads: 2 });
  });

  it.each(RUNS.filter((r) => r !== 'auto:2'))('%s loads the build asked for, with the threads asked for', (run) => {
    const [variant, threads] = run.split(':');
    const r = byRun(run);
    expect([r.variant, r.threads, r.threadsFallback]).toEqual([variant, Number(threads ?? 1), undefined]);
    expect(r.losses!.every((l) => Number.isFinite(l))).toBe(true);
  });

  it('simd, threads (1 and 2 threads) and scalar give bitwise the same model', () => {
    const simd = byRun('simd');
    for (const run of ['threads:1', 'threads:2', 'scalar']) {
      expect(byRun(run).losses, run).toEqual(simd.losses);
      expect(byRun(run).hash, run).toBe(simd.hash);
    }
  });

  it('relaxed and relaxed-threads (1 and 2 threads) give bitwise the same model', () => {
    const relaxed = byRun('relaxed');
    for (const run of ['relaxed-threads:1', 'relaxed-threads:2', 'auto:2']) {
      expect(byRun(run).losses, run).toEqual(relaxed.losses);
      expect(byRun(run).hash, run).toBe(relaxed.hash);
    }
  });

  it('relaxed and simd differ only by rounding', () => {
    const relaxed = byRun('relaxed');
    const simd = byRun('simd');
    expect(maxRelDiff(relaxed.params!, simd.params!)).toBeLessThan(1e-3);
    relaxed.losses!.forEach((l, i) => expect(Math.abs(l - simd.losses![i]!)).toBeLessThan(1e-4 * Math.abs(simd.losses![i]!) + 1e-6));
  });
});
