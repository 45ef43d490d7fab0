/** Test-side helpers for browser runs: bundle with `bun build`, serve on loopback, launch flags. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for Debian's Chromium as root on a machine with no network and no GPU. */
export function chromiumArgs(webgpu: boolean): string[] {
  const args = ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  if (webgpu) args.push('--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=swiftshader', '--use-webgpu-adapter=swiftshader');
  return args;
}

/** Bundles an entry for the browser; Bun-only modules stay external (never loaded in a page). */
export async function buildForBrowser(entry: string): Promise<string> {
  const bun = (globalThis as { Bun?: { build: (o: unknown) => Promise<{ success: boolean; logs: unknown[]; outputs: { text(): Promise<string> }[] }> } }).Bun;
  if (!bun) throw new Error('buildForBrowser needs Bun');
  const res = await bun.build({ entrypoints: [entry], target: 'browser', format: 'esm', external: ['bun-webgpu', 'bun:ffi'] });
  if (!res.success) throw new Error(`bun build ${entry} failed: ${res.logs.map(String).join('\n')}`);
  return res.outputs[0]!.text();
}

export function serveStatic(files: Record<string, string | Uint8Array>): { url: string; stop: () => void } {
  const bun = (globalThis as { Bun?: { serve: (o: unknown) => { port: number; stop: (force?: boolean) => void } } }).Bun!;
  const server = bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    fetch(req: Request) {
      const path = new URL(req.url).pathname;
      const body = files[path];
      if (body === undefined) return new Response('not found', { status: 404 });
      if (typeof body !== 'string') return new Response(new Blob([body as Uint8Array<ArrayBuffer>]), { headers: { 'content-type': 'application/octet-stream' } });
      const type = path.endsWith('.js') ? 'text/javascript' : path.endsWith('.css') ? 'text/css' : path.endsWith('.json') ? 'application/json' : 'text/html';
      return new Response(body, { headers: { 'content-type': `${type}; charset=utf-8` } });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/`, stop: () => server.stop(true) };
}
