// The wasm simd128 peak: a tiny hand-written WAT module, assembled at run time with wabt,
// runs CHAINS independent dependency chains of acc = acc * m + c on f32x4 in a loop.
// simd128: f32x4.mul + f32x4.add (8 FLOP per chain and iteration).
// relaxed: f32x4.relaxed_madd (8 FLOP per chain and iteration, one instruction where the CPU has FMA);
//          only where the runtime validates relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd).
import { createRequire } from 'node:module';
import { now } from './common.mjs';

const require = createRequire(import.meta.url);
const CHAINS = 12; // 12 accumulators + 2 constants fit x86's 16 xmm registers
const UNROLL = 4;

function wat(kind) {
  const locals = Array.from({ length: CHAINS }, (_, k) => `(local $a${k} v128)`).join(' ');
  const init = Array.from({ length: CHAINS }, (_, k) => `(local.set $a${k} (f32x4.splat (f32.const ${(0.5 + k / 100).toFixed(3)})))`).join('\n');
  const op = (k) =>
    kind === 'relaxed'
      ? `(local.set $a${k} (f32x4.relaxed_madd (local.get $a${k}) (local.get $m) (local.get $c)))`
      : `(local.set $a${k} (f32x4.add (f32x4.mul (local.get $a${k}) (local.get $m)) (local.get $c)))`;
  const body = [];
  for (let u = 0; u < UNROLL; u++) for (let k = 0; k < CHAINS; k++) body.push(op(k));
  let sum = '(local.get $a0)';
  for (let k = 1; k < CHAINS; k++) sum = `(f32x4.add ${sum} (local.get $a${k}))`;
  return `(module
  (func (export "run") (param $n i32) (result f32)
    (local $m v128) (local $c v128) ${locals}
    (local.set $m (f32x4.splat (f32.const 0.9999)))
    (local.set $c (f32x4.splat (f32.const 0.0001)))
    ${init}
    (block $done (loop $top
      ${body.join('\n      ')}
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $top (i32.gt_s (local.get $n) (i32.const 0)))))
    (f32x4.extract_lane 0 ${sum})))`;
}

async function runKind(wabt, kind, budgetMs) {
  const parsed = wabt.parseWat(`${kind}.wat`, wat(kind), { simd: true, relaxed_simd: kind === 'relaxed' });
  const { buffer } = parsed.toBinary({});
  if (!WebAssembly.validate(buffer)) return { kind, available: false };
  const { instance } = await WebAssembly.instantiate(buffer);
  const run = instance.exports.run;
  const flopsPerIter = CHAINS * UNROLL * 8;
  run(1000);
  // calibrate to ~budgetMs/5 per repeat
  let n = 100000;
  let t = now();
  run(n);
  let dt = now() - t;
  n = Math.max(1000, Math.round((n * (budgetMs / 8)) / Math.max(dt, 0.01)));
  let best = 0;
  const all = [];
  for (let r = 0; r < 8; r++) {
    t = now();
    const v = run(n);
    dt = now() - t;
    if (!Number.isFinite(v)) throw new Error('peak kernel produced a non-finite value');
    const g = (n * flopsPerIter) / (dt * 1e6);
    all.push(g);
    best = Math.max(best, g);
  }
  return { kind, available: true, gflops: best, all };
}

export async function peak({ budgetMs = 1500 } = {}) {
  const wabt = await require('wabt')();
  const out = {};
  for (const kind of ['simd128', 'relaxed']) {
    try {
      out[kind] = await runKind(wabt, kind, budgetMs);
    } catch (e) {
      out[kind] = { kind, available: false, error: String(e.message ?? e) };
    }
  }
  return out;
}
