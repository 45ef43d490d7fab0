/**
 * `lrdif ablate` end to end at micro size: every variant and T value is trained for each seed, the
 * table and sweep hold one accuracy per seed in seed order, the paired comparisons are the per-seed
 * differences, and the Markdown / SVG outputs carry them. Plus the interval arithmetic.
 */
import { describe, it, expect } from 'vitest';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { BASELINE, MAIN, SCRATCH, STAGE1, ablationMarkdown, ablationSvg, comparisons, runAblation } from '../src/train/ablate.ts';
import { meanInterval, pairedInterval, tQuantile975 } from '../src/train/stats.ts';
import { getEngine } from './helpers.ts';

describe('ablation', () => {
  it('trains the curriculum, every stage-2 variant and the from-scratch model per seed, and compares them pairwise', { timeout: 600_000 }, async () => {
    const e = await getEngine();
    const data = (seed: number) => ({
      train: new CachedDataset(new SynthFerDataset(8, { seed, size: 64, split: 'train' })),
      test: new CachedDataset(new SynthFerDataset(7, { seed, size: 64, split: 'test' })),
    });
    const progress: string[] = [];
    const r = await runAblation(e, {
      preset: 'tiny', seeds: [1, 2], steps: [2, 4], train: data, epochs: { warm: 0, stage1: 1, stage2: 1 }, warmStart: false, scratch: true,
      options: { batchSize: 8, lr: 2e-3, logEvery: 1000, udc: { panel: 'toled', strength: 1 }, udcDraws: 1, augment: { flip: false, erase: false } },
      onProgress: (l) => progress.push(l),
    });
    expect([...r.table.keys()]).toEqual([BASELINE, STAGE1, MAIN, 'V1: no diffusion (FPEN_S2 predicts the EPR)', 'V2: CE only', 'V4: insert noise', SCRATCH]);
    for (const [k, v] of r.table) {
      expect(v.length, k).toBe(2);
      // 7 held-out images: every accuracy is a whole number of sevenths.
      for (const a of v) expect(Math.abs(a * 7 - Math.round(a * 7)), k).toBeLessThan(1e-9);
    }
    expect([...r.sweep.keys()].sort()).toEqual([2, 4]);
    expect(r.sweep.get(4)).toEqual(r.table.get(MAIN));
    expect(progress.length).toBe(2 * 8);
    const cs = comparisons(r);
    expect(cs.map((c) => c.name)).toEqual(['LRDif stage 2 vs the baseline', 'CE + KL vs V1 (no diffusion)', 'CE + KL vs V2 (CE only)', 'CE + KL vs V4 (insert noise)', 'pretrained backbones vs from scratch']);
    const main = r.table.get(MAIN)!;
    const base = r.table.get(BASELINE)!;
    expect(cs[0]!.diff.mean).toBeCloseTo((main[0]! - base[0]! + main[1]! - base[1]!) / 2, 12);
    const md = ablationMarkdown(r, '# test');
    expect(md.split('\n').filter((l) => /^\| .+ \| \d+\.\d % \[-?\d+\.\d, -?\d+\.\d\] \| \d+\.\d, \d+\.\d \|$/.test(l)).length).toBe(7 + 2);
    expect(md).toMatch(/\| LRDif stage 2 vs the baseline \| [+−]\d+\.\d points/);
    expect(ablationSvg(r)).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
  });
});

describe('intervals', () => {
  it('Student-t quantiles and intervals match known values', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(4)).toBe(2.776);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(1000)).toBeCloseTo(1.9623, 3);
    expect(() => tQuantile975(0)).toThrow(/positive integer/);
    // 1, 2, 3, 4, 5: mean 3, sd √2.5, half-width 2.776 · √2.5 / √5.
    const m = meanInterval([1, 2, 3, 4, 5]);
    expect(m.mean).toBe(3);
    expect(m.sd).toBeCloseTo(Math.sqrt(2.5), 12);
    expect(m.high - m.mean).toBeCloseTo((2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 12);
    // Paired: a constant shift has zero spread, so the interval collapses on it.
    const p = pairedInterval([0.5, 0.6, 0.7], [0.4, 0.5, 0.6]);
    expect([p.mean, p.low, p.high].map((x) => +x.toFixed(12))).toEqual([0.1, 0.1, 0.1]);
    expect(() => pairedInterval([1], [1, 2])).toThrow(/one of each per seed/);
    expect(Number.isNaN(meanInterval([0.3]).low)).toBe(true);
  });
});
