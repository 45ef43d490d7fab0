/**
 * Builds the browser demo: bundles web/main.ts (engine, model, trainer, shaders as text) with
 * `bun build` and copies the page and its stylesheet. Everything is local: the page loads nothing
 * from the network. `bun scripts/build-web.ts [outDir]` writes dist/web/ by default.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// import.meta.url rather than Bun's import.meta.dir: the test imports this under vitest too.
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The demo's files by URL path (all text). */
export async function buildWebFiles(opts: { minify?: boolean } = {}): Promise<Record<string, string>> {
  const res = await Bun.build({
    entrypoints: [join(ROOT, 'web/main.ts')],
    target: 'browser',
    format: 'esm',
    minify: opts.minify ?? false,
    // Bun-only modules: device.ts imports them only when running under Bun, never in a page.
    external: ['bun-webgpu', 'bun:ffi'],
  });
  if (!res.success) throw new Error(`bun build web/main.ts failed:\n${res.logs.map(String).join('\n')}`);
  const html = await Bun.file(join(ROOT, 'web/index.html')).text();
  return {
    '/': html,
    '/index.html': html,
    '/main.js': await res.outputs[0]!.text(),
    '/styles.css': await Bun.file(join(ROOT, 'web/styles.css')).text(),
  };
}

export async function buildWeb(outDir = join(ROOT, 'dist/web')): Promise<Record<string, string>> {
  const files = await buildWebFiles({ minify: true });
  await mkdir(outDir, { recursive: true });
  for (const [path, text] of Object.entries(files)) if (path !== '/') await writeFile(join(outDir, path.slice(1)), text);
  return files;
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? join(ROOT, 'dist/web'));
  const files = await buildWeb(out);
  console.log(`built the demo into ${out} (main.js ${(files['/main.js']!.length / 1024).toFixed(0)} KiB)`);
}
