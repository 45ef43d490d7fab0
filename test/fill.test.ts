import { describe, it, expect } from 'vitest';
import { getEngine } from './helpers.ts';

describe('fill', () => {
  it('fills every element at sizes with and without a partial last group of 4', async () => {
    const e = await getEngine();
    for (const n of [1, 3, 4, 7, 1001]) {
      await e.scope(async () => {
        const t = e.fill(e.empty([n]), -2.5); // poisoned with NaN first
        expect(Array.from((await t.read()) as Float32Array)).toEqual(new Array(n).fill(-2.5));
        const u = e.fill(e.empty([n], 'u32'), 7);
        expect(Array.from((await u.read()) as Uint32Array)).toEqual(new Array(n).fill(7));
      });
    }
  });

  it('fillRaw with a count writes only the first count words', async () => {
    const e = await getEngine();
    for (const [n, count] of [[10, 7], [9, 1], [16, 13]] as const) {
      await e.scope(async () => {
        const t = e.tensor(Array.from({ length: n }, (_, i) => i), [n]);
        e.fillRaw(t, 0x3f800000, count); // 1.0
        const got = Array.from((await t.read()) as Float32Array);
        expect(got).toEqual(Array.from({ length: n }, (_, i) => (i < count ? 1 : i)));
      });
    }
  });
});
