import { describe, it, expect } from 'vitest';
import { axpyInPlace, sgdStep } from '../src/engine/ops/axpy.ts';
import { expectClose, f32round, freshSeed, getEngine, randn, read, rng } from './helpers.ts';

describe('axpyInPlace', () => {
  it('y += alpha·x matches float64 at sizes with and without a partial last group of 4', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('axpy'));
    for (const n of [1, 3, 4, 5, 258, 10007]) {
      await e.scope(async () => {
        const xs = f32round(randn(r, n));
        const ys = f32round(randn(r, n));
        const alpha = Math.fround(-0.37);
        const x = e.tensor(Float32Array.from(xs), [n]);
        const y = e.tensor(Float32Array.from(ys), [n]);
        axpyInPlace(y, x, alpha);
        expectClose(await read(y), ys.map((v, i) => v + alpha * xs[i]!), 1e-6, `axpy n=${n}`);
      });
    }
  });

  it('sgdStep updates only parameters that have a gradient', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const p = e.tensor([1, 2, 3, 4, 5], [5]).asParameter();
      const q = e.tensor([1, 1], [2]).asParameter();
      p.grad = e.tensor([10, 20, 30, 40, 50], [5]);
      sgdStep([p, q], 0.1);
      expectClose(await read(p), [0, 0, 0, 0, 0], 1e-6, 'sgd p');
      expect(Array.from(await read(q))).toEqual([1, 1]);
    });
  });

  it('rejects x and y of different sizes, naming both shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      expect(() => axpyInPlace(e.empty([4]), e.empty([2, 3]), 1)).toThrow(/axpyInPlace: x \[2, 3\] and y \[4\] differ in size/);
    });
  });
});
