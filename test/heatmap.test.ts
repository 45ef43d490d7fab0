import { describe, it, expect } from 'vitest';
import { gaussianHeatmaps } from '../src/engine/ops/heatmap.ts';
import { expectClose, freshSeed, getEngine, read, rng, uniform } from './helpers.ts';

describe('gaussianHeatmaps', () => {
  it('matches the float64 formula, with odd sizes', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('heatmaps'));
    for (const [b, k, size, sigma] of [[1, 1, 1, 1], [2, 68, 16, 1], [3, 5, 13, 1.7]] as const) {
      await e.scope(async () => {
        const pts = uniform(r, b * k * 2, 0, 1);
        const t = e.tensor(Float32Array.from(pts), [b, k, 2]);
        const out = gaussianHeatmaps(t, size, sigma);
        const ref = new Float64Array(b * k * size * size);
        for (let bk = 0; bk < b * k; bk++)
          for (let y = 0; y < size; y++)
            for (let x = 0; x < size; x++) {
              const px = Math.fround(pts[2 * bk]!) * size, py = Math.fround(pts[2 * bk + 1]!) * size;
              ref[(bk * size + y) * size + x] = Math.exp(-((x + 0.5 - px) ** 2 + (y + 0.5 - py) ** 2) / (2 * sigma * sigma));
            }
        expectClose(await read(out), ref, 1e-5, `heatmaps ${b}x${k}x${size}`);
      });
    }
  });

  it('peaks at the landmark pixel and rejects bad shapes', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const out = await read(gaussianHeatmaps(e.tensor([0.5 / 8 + 3 / 8, 0.5 / 8 + 5 / 8], [1, 1, 2]), 8));
      expect(out[5 * 8 + 3]).toBeCloseTo(1, 6);
      expect(() => gaussianHeatmaps(e.tensor([1, 2, 3], [1, 1, 3]), 8)).toThrow(/gaussianHeatmaps: points \[1, 1, 3\] must be \[B, K, 2\]/);
    });
  });
});
