// The package as users get it: the exports map, its files, and `import 'recur'` under Node.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { WASM_VARIANTS } from '../../src/env.js';

const pkgDir = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${pkgDir}package.json`, 'utf8'));

it('every export condition points at a built file, with its .d.ts', () => {
  const root = pkg.exports['.'];
  for (const cond of ['types', 'workerd', 'worker', 'deno', 'browser', 'node', 'default']) {
    expect(root[cond], cond).toBeTypeOf('string');
    expect(existsSync(`${pkgDir}${root[cond]}`), root[cond]).toBe(true);
    expect(existsSync(`${pkgDir}${String(root[cond]).replace(/\.js$/, '.d.ts')}`), cond).toBe(true);
  }
  // Every build the loader may choose ships with the package and is importable by edge bundlers.
  for (const v of WASM_VARIANTS) {
    for (const f of ['recur_wasm.js', 'recur_wasm.d.ts', 'recur_wasm_bg.wasm']) {
      expect(pkg.files).toContain(`wasm/${v}/${f}`);
      expect(existsSync(`${pkgDir}wasm/${v}/${f}`)).toBe(true);
    }
    expect(pkg.exports[`./wasm/${v}/recur_wasm_bg.wasm`]).toBe(`./wasm/${v}/recur_wasm_bg.wasm`);
  }
});

it("Node resolves `import 'recur'` to the node entry point (a worker_threads runtime)", async () => {
  const mod = await import('recur');
  const recur = mod.createRecur();
  try {
    const info = await recur.init();
    expect(info.runtime).toBe('node');
    expect(info.mode).toBe('worker');
  } finally {
    await recur.dispose();
  }
});
