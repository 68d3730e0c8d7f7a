// Tests of fold-simd-load-offsets.mjs: the text it rewrites, what it leaves, and (assembled by
// binaryen's wasm-opt, as scripts/build-wasm.sh does) that a folded module computes the same.
//   node --test scripts/wasm/
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { foldSimdLoadOffsets, LOW_MEMORY_BOUND } from './fold-simd-load-offsets.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A SIMD load of `(i32.add (local.get $p) (i32.const c))` as binaryen prints it. */
const load = (op, c, attrs = ' align=1') => `  (${op}${attrs}\n   (i32.add\n    (local.get $p)\n    (i32.const ${c})\n   )\n  )`;

test('folds the constant of a splat load into its offset', () => {
  const { text, folded } = foldSimdLoadOffsets(load('v128.load32_splat', 12));
  assert.equal(folded, 1);
  assert.equal(text, '  (v128.load32_splat offset=12 align=1\n   (local.get $p)\n  )');
});

test('adds the constant to an offset already there, for every SIMD load kind', () => {
  for (const op of ['v128.load8_splat', 'v128.load64_splat', 'v128.load16x4_u', 'v128.load32x2_s', 'v128.load64_zero']) {
    const { text, folded } = foldSimdLoadOffsets(load(op, 8, ' offset=16 align=4'));
    assert.equal(folded, 1, op);
    assert.equal(text, `  (${op} offset=24 align=4\n   (local.get $p)\n  )`, op);
  }
});

test('leaves constants from the low-memory bound on, other loads and other addresses', () => {
  const untouched = [
    load('v128.load32_splat', LOW_MEMORY_BOUND),
    load('v128.load', 16), // plain loads are binaryen's own pass's
    load('i32.load', 4),
    '  (v128.load32_splat align=1\n   (i32.add\n    (local.get $p)\n    (local.get $q)\n   )\n  )',
    '  (v128.load32_splat align=1\n   (i32.sub\n    (local.get $p)\n    (i32.const 4)\n   )\n  )',
  ];
  for (const t of untouched) {
    const { text, folded } = foldSimdLoadOffsets(t);
    assert.equal(folded, 0, t);
    assert.equal(text, t);
  }
});

/** binaryen's wasm-opt, found as scripts/build-wasm.sh finds it: $WASM_OPT, .tools, PATH. */
function wasmOpt() {
  const onPath = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'wasm-opt'));
  const candidates = [process.env.WASM_OPT, path.join(ROOT, '.tools', 'binaryen', 'node_modules', '.bin', 'wasm-opt'), ...onPath];
  const found = candidates.find((p) => p && existsSync(p));
  assert.ok(found, 'wasm-opt (binaryen) missing: run scripts/setup.sh');
  return found;
}

test('a folded module loads what the unfolded one does', async () => {
  // Each function stores its load's v128 at $out (a v128 cannot be returned to JS).
  const module = `(module
 (memory $m 1)
 (export "memory" (memory $m))
 (func $splat (export "splat") (param $p i32) (param $out i32)
  (v128.store (local.get $out)
${load('v128.load32_splat', 12)}
  )
 )
 (func $zero (export "zero") (param $p i32) (param $out i32)
  (v128.store (local.get $out)
${load('v128.load64_zero', 8, ' offset=4 align=1')}
  )
 )
)`;
  const { text, folded } = foldSimdLoadOffsets(module);
  assert.equal(folded, 2);
  const dir = mkdtempSync(path.join(tmpdir(), 'fold-'));
  try {
    const build = async (source, name) => {
      const wast = path.join(dir, `${name}.wast`);
      const wasm = path.join(dir, `${name}.wasm`);
      writeFileSync(wast, source);
      execFileSync(wasmOpt(), ['--enable-simd', wast, '-o', wasm], { stdio: 'pipe' });
      const { instance } = await WebAssembly.instantiate(readFileSync(wasm));
      const bytes = new Uint8Array(instance.exports.memory.buffer);
      bytes.subarray(0, 256).forEach((_, i) => (bytes[i] = (i * 37 + 11) & 255));
      return { exports: instance.exports, bytes, binary: readFileSync(wasm) };
    };
    const plain = await build(module, 'plain');
    const tidy = await build(text, 'folded');
    assert.ok(tidy.binary.length < plain.binary.length, 'the folded binary should be smaller (no i32.const, no i32.add)');
    const run = (m, f, p) => {
      m.exports[f](p, 1024);
      return [...m.bytes.subarray(1024, 1040)];
    };
    for (const p of [0, 4, 40, 100]) {
      for (const f of ['splat', 'zero']) assert.deepEqual(run(tidy, f, p), run(plain, f, p), `${f} at ${p}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
