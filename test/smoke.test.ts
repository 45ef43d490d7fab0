import { describe, it, expect } from 'vitest';
import { Engine } from '../src/engine/engine.ts';
describe('smoke', () => {
  it('fills and reads', async () => {
    const e = await Engine.create({ poison: true });
    const t = e.empty([1000]);
    e.fill(t, 3.5);
    const a = await t.toFloat32();
    expect(a.every((x) => x === 3.5)).toBe(true);
    const u = e.tensor([1, 2, 3], [3]);
    e.fill(t, 1);
    e.write(u, [4, 5, 6]);
    expect([...(await u.toFloat32())]).toEqual([4, 5, 6]);
  });
});
