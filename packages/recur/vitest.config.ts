import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** The version the wasm reports: the Rust workspace's package version. */
const cargoToml = readFileSync(new URL('../../Cargo.toml', import.meta.url), 'utf8');
const crateVersion = /\[workspace\.package\][^[]*?version\s*=\s*"([^"]+)"/.exec(cargoToml)?.[1] ?? 'unknown';

// Debian's Chromium, never a browser downloaded by a tool.
const chromiumPath = process.env.RECUR_CHROMIUM ?? '/usr/bin/chromium';

/**
 * A browser command: trains the shared fit case with the Node SDK (in its worker thread, in a
 * node child process) and returns its result, so the Chromium test compares against Node's
 * weights computed in the same run.
 */
function nodeFitReference(): Promise<unknown> {
  const script = fileURLToPath(new URL('./test/shared/fit-reference.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`fit-reference.mjs failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

export default defineConfig({
  define: { __RECUR_CRATE_VERSION__: JSON.stringify(crateVersion) },
  // Cross-origin isolated pages (COOP + COEP), so that SharedArrayBuffer exists and the Chromium
  // tests' worker runs the threads build with helper workers, as a site that opts in would.
  server: {
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          // One file at a time: the files train models on worker threads, and on a 2-core CI
          // machine files running side by side starve the timer of the "calling thread stays
          // free" checks, which then measure the machine instead of the SDK.
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          browser: {
            enabled: true,
            provider: 'playwright',
            headless: true,
            screenshotFailures: false,
            commands: { nodeFitReference },
            instances: [
              {
                browser: 'chromium',
                launch: {
                  executablePath: chromiumPath,
                  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
                },
              },
            ],
          },
        },
      },
    ],
  },
});
