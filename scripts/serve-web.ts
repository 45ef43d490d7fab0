/**
 * `npm run demo`: builds the browser demo into dist/web/ and serves it on loopback (127.0.0.1,
 * PORT or 8080, the next free port if taken). Open the printed URL in a WebGPU browser.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build-web.ts';

// import.meta.url rather than Bun's import.meta.dir: the test imports this under vitest too.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = join(ROOT, 'dist/web');
await buildWeb(dir);

const TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css', json: 'application/json' };

function serve(port: number) {
  return Bun.serve({
    hostname: '127.0.0.1',
    port,
    async fetch(req) {
      let path = new URL(req.url).pathname;
      if (path === '/') path = '/index.html';
      if (path.includes('..')) return new Response('bad path', { status: 400 });
      const file = Bun.file(join(dir, path));
      if (!(await file.exists())) return new Response('not found', { status: 404 });
      const ext = path.split('.').pop() ?? '';
      const type = TYPES[ext];
      return new Response(file, { headers: { 'content-type': type ? `${type}; charset=utf-8` : 'application/octet-stream' } });
    },
  });
}

const wanted = Number(process.env.PORT ?? 8080);
let server: ReturnType<typeof serve> | null = null;
for (let p = wanted; p < wanted + 20 && !server; p++) {
  try {
    server = serve(p);
  } catch {
    // port taken: try the next one
  }
}
if (!server) server = serve(0);
console.log(`LRDif demo: http://127.0.0.1:${server.port}/  (Ctrl-C to stop; needs a browser with WebGPU)`);
