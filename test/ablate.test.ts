/**
 * `lrdif ablate` end to end at micro size: every variant and T value is trained for each seed, the
 * table and sweep hold one accuracy per seed, and the Markdown / SVG outputs carry them.
 */
import { describe, it, expect } from 'vitest';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { ablationMarkdown, ablationSvg, runAblation } from '../src/train/ablate.ts';
import { getEngine } from './helpers.ts';

describe('ablation', () => {
  it('trains baseline, stage 1 and every stage-2 variant per seed and tabulates them', { timeout: 300_000 }, async () => {
    const e = await getEngine();
    const data = (seed: number) => ({
      train: new CachedDataset(new SynthFerDataset(8, { seed, size: 64, split: 'train' })),
      test: new CachedDataset(new SynthFerDataset(7, { seed, size: 64, split: 'test' })),
    });
    const progress: string[] = [];
    const r = await runAblation(e, {
      preset: 'tiny', seeds: [1, 2], steps: [1, 2, 4], train: data, epochs: [1, 1, 1],
      options: { batchSize: 8, lr: 2e-3, logEvery: 1000, udc: { panel: 'toled', strength: 1 } },
      onProgress: (l) => progress.push(l),
    });
    expect([...r.table.keys()]).toEqual(['baseline (no EPR)', 'stage 1 (sees the label)', 'V1: no diffusion (FPEN_S2 predicts the EPR)', 'V2: CE only', 'ours: CE + KL', 'V4: insert noise']);
    for (const [k, v] of r.table) {
      expect(v.length, k).toBe(2);
      // 7 held-out images: every accuracy is a whole number of sevenths.
      for (const a of v) expect(Math.abs(a * 7 - Math.round(a * 7)), k).toBeLessThan(1e-9);
    }
    expect([...r.sweep.keys()].sort()).toEqual([1, 2, 4]);
    expect(r.sweep.get(4)).toEqual(r.table.get('ours: CE + KL'));
    expect(progress.length).toBe(2 * 8);
    const md = ablationMarkdown(r, '# test');
    expect(md.split('\n').filter((l) => /^\| .+ \| \d+\.\d ± \d+\.\d % \| 2 \|$/.test(l)).length).toBe(6 + 3);
    expect(ablationSvg(r)).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });
});
