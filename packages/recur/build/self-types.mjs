// After tsc: prefixes every dist/**/*.js with `// @ts-self-types="./NAME.d.ts"`, so Deno (which
// does not pair `x.js` with `x.d.ts` on its own) type-checks code that imports the package's files.
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('../dist/', import.meta.url).pathname;
let n = 0;
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.js') && existsSync(p.replace(/\.js$/, '.d.ts'))) {
      const src = readFileSync(p, 'utf8');
      const line = `// @ts-self-types="./${basename(name, '.js')}.d.ts"\n`;
      if (!src.startsWith('// @ts-self-types=')) writeFileSync(p, line + src);
      n++;
    }
  }
};
walk(root);
console.log(`self-types: ${n} files`);
