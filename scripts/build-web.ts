/**
 * Builds the browser demo: bundles web/main.ts (engine, model, trainer, shaders as text) with
 * `bun build` and copies the page, its stylesheet and face-api's landmark and recognition weights
 * (from node_modules: the model's frozen backbones). Everything is local: the page loads nothing from the network. `bun scripts/build-web.ts [outDir]` writes dist/web/ by default.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { faceApiModelDir } from '../src/model/landmarks/face-api-files.ts';
import { FACE_API_PATH, PAGE_FACE_API_MANIFESTS } from '../web/face-api-weights.ts';

// import.meta.url rather than Bun's import.meta.dir: the test imports this under vitest too.
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The demo's files by URL path (text, or bytes for the weight shards). */
export async function buildWebFiles(opts: { minify?: boolean } = {}): Promise<Record<string, string | Uint8Array>> {
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
  const modelDir = faceApiModelDir();
  const faceApi: Record<string, string | Uint8Array> = {};
  for (const name of PAGE_FACE_API_MANIFESTS) {
    const manifest = await readFile(join(modelDir, name), 'utf8');
    faceApi[`/${FACE_API_PATH}${name}`] = manifest;
    for (const g of JSON.parse(manifest) as { paths: string[] }[]) for (const p of g.paths) faceApi[`/${FACE_API_PATH}${p}`] = new Uint8Array(await readFile(join(modelDir, p)));
  }
  return {
    ...faceApi,
    '/': html,
    '/index.html': html,
    '/main.js': await res.outputs[0]!.text(),
    '/styles.css': await Bun.file(join(ROOT, 'web/styles.css')).text(),
  };
}

export async function buildWeb(outDir = join(ROOT, 'dist/web')): Promise<Record<string, string | Uint8Array>> {
  const files = await buildWebFiles({ minify: true });
  await mkdir(outDir, { recursive: true });
  for (const [path, body] of Object.entries(files)) {
    if (path === '/') continue;
    await mkdir(join(outDir, path.slice(1), '..'), { recursive: true });
    await writeFile(join(outDir, path.slice(1)), body);
  }
  return files;
}

if (import.meta.main) {
  const out = resolve(process.argv[2] ?? join(ROOT, 'dist/web'));
  const files = await buildWeb(out);
  console.log(`built the demo into ${out} (main.js ${(files['/main.js']!.length / 1024).toFixed(0)} KiB, ${Object.keys(files).length - 1} files)`);
}
