// Folds a constant added to the address of a SIMD load into the load's offset, in binaryen's text
// format: `(v128.load32_splat (i32.add (local.get $p) (i32.const 12)))` becomes
// `(v128.load32_splat offset=12 (local.get $p))`.
//
// Why: V8 folds a load's offset into the x64 addressing mode (`vbroadcastss xmm, [base+p+12]`),
// but an `i32.add` before the load costs an instruction of its own (and a register). LLVM leaves
// the add in place, and binaryen's `--optimize-added-constants` folds it for plain loads and
// stores but not for these SIMD loads (binaryen 132): the GEMM micro-kernel's splat loads of
// A (three of its four per step of k) kept an `add` each.
//
// Valid under the assumption `scripts/build-wasm.sh` already gives wasm-opt
// (`--low-memory-unused`): an `i32.add` wraps at 4 GiB where an offset does not, so the two
// differ only when `p + C` wraps, i.e. for an address below C; with C below 1024 that is memory
// the program does not use.
//
//   node scripts/wasm/fold-simd-load-offsets.mjs IN.wast OUT.wast   (prints the number folded)

import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Largest constant folded: binaryen's low-memory bound (`--low-memory-unused`). */
export const LOW_MEMORY_BOUND = 1024;

/** The SIMD loads whose offset binaryen 132 does not fold (its `SIMDLoad` expressions). */
const SIMD_LOADS = String.raw`v128\.load(?:8|16|32|64)_splat|v128\.load(?:8x8|16x4|32x2)_[su]|v128\.load(?:32|64)_zero`;

// One SIMD load whose address is `(i32.add (local.get $x) (i32.const C))`, as binaryen prints it:
// one expression per line, the add's operands on their own lines, the constant last.
const PATTERN = new RegExp(
  String.raw`^([ \t]*)\((${SIMD_LOADS})(?: offset=(\d+))?((?: align=\d+)?)\n([ \t]*)\(i32\.add\n[ \t]*(\(local\.get \$[^\s()]+\))\n[ \t]*\(i32\.const (\d+)\)\n[ \t]*\)$`,
  'gm',
);

/**
 * Returns `text` (a module in binaryen's text format) with the constant address offsets of its
 * SIMD loads folded, and how many were.
 * @param {string} text
 * @returns {{ text: string, folded: number }}
 */
export function foldSimdLoadOffsets(text) {
  let folded = 0;
  const out = text.replace(PATTERN, (whole, indent, op, offset, align, argIndent, base, constant) => {
    const c = Number(constant);
    if (c >= LOW_MEMORY_BOUND) return whole;
    folded += 1;
    const total = Number(offset ?? 0) + c;
    return `${indent}(${op} offset=${total}${align}\n${argIndent}${base}`;
  });
  return { text: out, folded };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: node scripts/wasm/fold-simd-load-offsets.mjs IN.wast OUT.wast');
    process.exit(2);
  }
  const { text, folded } = foldSimdLoadOffsets(readFileSync(input, 'utf8'));
  writeFileSync(output, text);
  console.log(folded);
}
