// The package as users get it: the exports map, its files, and `import 'recur'` under Node.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
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

it('"sideEffects" lists every module the sources import for its side effect (bundlers drop the rest)', () => {
  // `import './x.js'` without bindings marks a module that does its work on import (registering
  // comlink's transfer handlers). A tree-shaking bundler drops its top-level statements unless
  // package.json lists it, in dist/ (what bundlers read) and src/.
  const bare = new Set<string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}${e.name}/`);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const text = readFileSync(`${dir}${e.name}`, 'utf8');
        for (const m of text.matchAll(/^import\s+'(\.[^']+)\.js';/gm)) {
          bare.add(new URL(`${m[1]}.ts`, `file://${dir}`).pathname.slice(`${pkgDir}src/`.length));
        }
      }
    }
  };
  walk(`${pkgDir}src/`);
  expect(bare.size).toBeGreaterThan(0);
  expect(Array.isArray(pkg.sideEffects), 'sideEffects is a list').toBe(true);
  for (const mod of bare) {
    expect(pkg.sideEffects, mod).toContain(`./src/${mod}`);
    const built = `./dist/${mod.replace(/\.ts$/, '.js')}`;
    expect(pkg.sideEffects, mod).toContain(built);
    expect(existsSync(`${pkgDir}${built}`), built).toBe(true);
  }
});
