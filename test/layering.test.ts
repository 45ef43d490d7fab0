/**
 * The import direction of the layers (engine ← model ← train ← cli; web, bench and scripts on top),
 * checked on every import of src/, web/, bench/ and scripts/ (static, `export … from`, dynamic):
 *   - the engine imports nothing of LRDif (model, train, cli, web);
 *   - the model imports neither training nor the CLI; training not the CLI;
 *   - nothing above the engine imports WGSL from shaders/ (a layer may ship a kernel of its own
 *     beside the module that registers it with Engine.registerKernel, e.g. src/train/data/udc.wgsl);
 *   - nothing outside the engine reaches into it: every import goes through src/engine/index.ts;
 *   - only web/ imports web/ (the CLI and the layers know nothing of the page), and no product code
 *     imports test/.
 * A failure lists each offending import as file:line.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import ts from 'typescript';

type Layer = 'engine' | 'model' | 'train' | 'cli' | 'web' | 'bench' | 'scripts' | 'shaders' | 'test' | 'other';

/** The public entry point of the engine for every other layer. */
const ENGINE_API = 'src/engine/index.ts';

function layerOf(path: string): Layer {
  if (path.startsWith('src/engine/')) return 'engine';
  if (path.startsWith('src/model/')) return 'model';
  if (path.startsWith('src/train/')) return 'train';
  if (path.startsWith('src/cli/') || path === 'src/cli.ts') return 'cli';
  for (const l of ['web', 'bench', 'scripts', 'shaders', 'test'] as const) if (path.startsWith(`${l}/`)) return l;
  return 'other';
}

/** What each layer may not import (by the imported file's layer). */
const FORBIDDEN: Record<Layer, readonly Layer[]> = {
  engine: ['model', 'train', 'cli', 'web', 'bench', 'scripts', 'test'],
  model: ['train', 'cli', 'web', 'bench', 'scripts', 'test', 'shaders'],
  train: ['cli', 'web', 'bench', 'scripts', 'test', 'shaders'],
  cli: ['web', 'bench', 'scripts', 'test', 'shaders'],
  web: ['cli', 'bench', 'scripts', 'test', 'shaders'],
  bench: ['web', 'scripts', 'test', 'shaders'],
  scripts: ['bench', 'test', 'shaders'],
  shaders: [],
  test: [],
  other: [],
};

/** Why `from` (a repository path) may not import `to`, or null when it may. */
function violation(from: string, to: string): string | null {
  const a = layerOf(from);
  const b = layerOf(to);
  if (FORBIDDEN[a].includes(b)) {
    return b === 'shaders' ? `imports the engine's WGSL ${to} (a layer's own kernel lives beside its module and is registered)` : `${a} imports ${b} (${to})`;
  }
  if (to.endsWith('.wgsl') && a !== 'engine' && posix.dirname(to) !== posix.dirname(from)) return `imports WGSL from another directory (${to})`;
  if (b === 'engine' && a !== 'engine' && to !== ENGINE_API) return `reaches into the engine (${to}); import from ${ENGINE_API}`;
  return null;
}

/** Every import of a TypeScript file with its line: relative ones as repository paths. */
function importsOf(file: string): { to: string; line: number }[] {
  const text = readFileSync(file, 'utf8');
  return ts
    .preProcessFile(text, true, true)
    .importedFiles.filter((f) => f.fileName.startsWith('.'))
    .map((f) => ({ to: posix.normalize(posix.join(posix.dirname(file), f.fileName)), line: text.slice(0, f.pos).split('\n').length }));
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = posix.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

describe('layering', () => {
  it('the checker flags each kind of wrong import and allows the right ones', () => {
    expect(violation('src/engine/ops/matmul.ts', 'src/model/layers.ts')).toMatch(/^engine imports model/);
    expect(violation('src/model/lrdif.ts', 'src/train/trainer.ts')).toMatch(/^model imports train/);
    expect(violation('src/model/lrdif.ts', 'src/cli/common.ts')).toMatch(/^model imports cli/);
    expect(violation('src/train/trainer.ts', 'src/cli.ts')).toMatch(/^train imports cli/);
    expect(violation('src/train/data/udc.ts', 'shaders/udc.wgsl')).toMatch(/engine's WGSL shaders\/udc.wgsl/);
    expect(violation('src/train/data/udc.ts', 'src/train/data/udc.wgsl')).toBeNull();
    expect(violation('src/train/trainer.ts', 'src/train/data/udc.wgsl')).toMatch(/WGSL from another directory/);
    expect(violation('src/cli/train.ts', 'src/engine/ops/matmul.ts')).toMatch(/reaches into the engine/);
    expect(violation('web/session.ts', 'src/engine/tuning.ts')).toMatch(/reaches into the engine/);
    expect(violation('src/cli/landmarks.ts', 'web/session.ts')).toMatch(/^cli imports web/);
    expect(violation('bench/attention.ts', 'test/attention-ref.ts')).toMatch(/^bench imports test/);
    expect(violation('src/cli/train.ts', ENGINE_API)).toBeNull();
    expect(violation('src/engine/engine.ts', 'src/engine/kernel.ts')).toBeNull();
    expect(violation('src/engine/shaders.ts', 'shaders/softmax.wgsl')).toBeNull();
    expect(violation('web/session.ts', 'src/train/curriculum.ts')).toBeNull();
    expect(violation('scripts/build-web.ts', 'web/face-api-weights.ts')).toBeNull();
  });

  it('every import in src/, web/, bench/ and scripts/ follows the layer order', () => {
    const files = ['src', 'web', 'bench', 'scripts'].flatMap(tsFiles);
    expect(files.length).toBeGreaterThan(100);
    const offences = files.flatMap((file) => importsOf(file).flatMap(({ to, line }) => {
      const why = violation(file, to);
      return why ? [`${file}:${line}: ${why}`] : [];
    }));
    expect(offences).toEqual([]);
  });
});
