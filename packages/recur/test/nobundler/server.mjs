// A tiny static file server for the no-bundler test: serves the package directory on a free
// loopback port, read-only, with real content types. `isolated: true` adds COOP/COEP to every
// response (the page, the bundles, the workers, the .wasm), so the page is cross-origin isolated
// and the threads build can run; without it the SDK must fall back to one thread. `cors: true`
// makes it a stand-in for a CDN on another origin: `Access-Control-Allow-Origin: *` and
// `Cross-Origin-Resource-Policy: cross-origin` on every response.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package directory (packages/recur). */
export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

/**
 * Starts the server; resolves with `{ origin, close(), requests }` (`requests`: the paths served,
 * with their status, for the runner's report).
 */
export function startServer({ isolated, cors = false, corp = cors, root = packageRoot }) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const headers = { 'Cache-Control': 'no-store' };
    if (isolated) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    if (cors) headers['Access-Control-Allow-Origin'] = '*';
    if (corp) headers['Cross-Origin-Resource-Policy'] = 'cross-origin';
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      requests.push(`${status} ${req.url}`);
      res.writeHead(status, { ...headers, 'Content-Type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return send(400, 'bad path');
    }
    const file = normalize(join(root, path));
    if (file !== root.replace(/\/$/, '') && !file.startsWith(root.endsWith(sep) ? root : root + sep)) return send(403, 'outside the root');
    let info;
    try {
      info = await stat(file);
    } catch {
      return send(404, 'not found');
    }
    if (!info.isFile()) return send(404, 'not a file');
    requests.push(`200 ${req.url}`);
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': info.size });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        origin: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections?.();
            server.close(() => done());
          }),
      });
    });
  });
}

// `node server.mjs [--isolated] [--cross-origin]`: serve by hand (to open the page in a browser
// while debugging); `--cross-origin` starts a second, CORS server the page loads the package from.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const isolated = process.argv.includes('--isolated');
  const { origin } = await startServer({ isolated });
  let query = '';
  if (process.argv.includes('--cross-origin')) {
    const cdn = await startServer({ isolated, cors: true });
    query = `?cdn=${encodeURIComponent(cdn.origin)}`;
  }
  console.log(`serving ${packageRoot} at ${origin}/test/nobundler/index.html${query}${isolated ? ' (COOP/COEP)' : ''}`);
}
