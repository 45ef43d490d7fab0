import { describe, it, expect } from 'vitest';
import { max, mean, meanAll, sum, sumAll } from '../src/engine/ops/reduce.ts';
import { backward } from '../src/engine/autograd.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';

/** float64 reference over one axis of a row-major tensor; returns values and argmax. */
function refReduce(x: Float64Array, shape: number[], axis: number, op: 'sum' | 'mean' | 'max') {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const out = new Float64Array(outer * inner);
  const arg = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'max' ? -Infinity : 0;
      for (let k = 0; k < n; k++) {
        const v = x[(o * n + k) * inner + i]!;
        if (op === 'max') {
          if (v > acc) {
            acc = v;
            arg[o * inner + i] = k;
          }
        } else acc += v;
      }
      out[o * inner + i] = op === 'mean' ? acc / n : acc;
    }
  }
  return { out, arg, outer, n, inner };
}

describe('reductions over an axis', () => {
  const shapes: [number[], number][] = [
    [[1], 0],
    [[7, 5], 1],
    [[7, 5], 0],
    [[3, 300, 5], 1],
    [[2, 1000], 1],
    [[4, 9, 11], 2],
    [[5, 3, 7, 2], -2],
  ];
  for (const op of ['sum', 'mean', 'max'] as const) {
    it(`${op}: forward and gradient on several shapes (short and long axes)`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`reduce ${op}`));
      for (const [shape, axis] of shapes) {
        await e.scope(async () => {
          const n = shape.reduce((p, d) => p * d, 1);
          const xs = f32round(randn(r, n));
          const a = axis < 0 ? axis + shape.length : axis;
          const ref = refReduce(xs, shape, a, op);
          const x = e.tensor(Float32Array.from(xs), shape).asParameter();
          const fn = op === 'sum' ? sum : op === 'mean' ? mean : max;
          const y = fn(x, axis);
          const expectShape = shape.filter((_, i) => i !== a);
          expect(y.shape).toEqual(expectShape);
          const gy = f32round(randn(r, y.size));
          backward(y, e.tensor(Float32Array.from(gy), y.shape));
          expectClose(await read(y), ref.out, 1e-5, `${op} ${JSON.stringify(shape)} axis ${axis}`);
          const gref = new Float64Array(n);
          for (let o = 0; o < ref.outer; o++)
            for (let i = 0; i < ref.inner; i++)
              for (let k = 0; k < ref.n; k++) {
                const g = gy[o * ref.inner + i]!;
                const idx = (o * ref.n + k) * ref.inner + i;
                if (op === 'sum') gref[idx] = g;
                else if (op === 'mean') gref[idx] = g / ref.n;
                else gref[idx] = ref.arg[o * ref.inner + i] === k ? g : 0;
              }
          expectClose(await read(x.grad!), gref, 1e-5, `${op} grad ${JSON.stringify(shape)} axis ${axis}`);
          x.grad!.dispose();
          x.dispose();
        });
      }
    });
  }

  it('keepDims, sumAll and meanAll', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('sumAll'));
    const xs = f32round(randn(r, 100003));
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(xs), [100003]);
      const s = sumAll(x);
      expect(s.shape).toEqual([1]);
      const ref = xs.reduce((p, v) => p + v, 0);
      // A sum of 1e5 mixed-sign values can nearly cancel, so judge it by the condition number:
      // the error relative to Σ|x| (what any f32 summation order is accountable for).
      const absSum = xs.reduce((p, v) => p + Math.abs(v), 0);
      const got = (await read(s))[0]!;
      expect(Math.abs(got - ref) / absSum, `sumAll error ${got} vs ${ref}`).toBeLessThan(1e-6);
      const gotMean = (await read(meanAll(x)))[0]!;
      expect(Math.abs(gotMean - ref / xs.length) / (absSum / xs.length), 'meanAll').toBeLessThan(1e-6);
      const pos = xs.map(Math.abs);
      expectClose(await read(sumAll(e.tensor(Float32Array.from(pos), [pos.length]))), [absSum], 1e-5, 'sumAll of positive values');
      const y = e.tensor(Float32Array.from(xs.slice(0, 60)), [3, 4, 5]);
      expect(sum(y, 1, true).shape).toEqual([3, 1, 5]);
    });
  });

  it('max: ties send the gradient to the first maximum only', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const x = e.tensor([1, 3, 3, 2, 5, 5, 5, 0], [2, 4]).asParameter();
      const y = max(x, 1);
      backward(sumAll(y));
      expect([...(await read(x.grad!))]).toEqual([0, 1, 0, 0, 1, 0, 0, 0]);
      x.grad!.dispose();
      x.dispose();
    });
  });

  it('finite differences: mean of squares-like composition', async () => {
    const e = await getEngine();
    const seed = freshSeed('reduce fd');
    const r = rng(seed);
    // max has a kink where two candidates tie: a ±eps probe across it breaks the central difference
    // (a fresh seed hit one on SwiftShader). So the three pair means of each row are kept ≥ 0.5 apart:
    // pair g of a row sits at level perm[g] (a random permutation of 0, 1, 2) plus noise of ±0.1.
    const noise = randn(r, 30);
    const data = new Array<number>(30);
    for (let row = 0; row < 5; row++) {
      const perm = [0, 1, 2].sort(() => r() - 0.5);
      for (let k = 0; k < 6; k++) data[row * 6 + k] = perm[k >> 1]! + 0.1 * Math.max(-1, Math.min(1, noise[row * 6 + k]!));
    }
    await gradCheck({ e, seed, label: 'mean/max', inputs: [{ data, shape: [5, 6] }], f: ([x]) => max(mean(x!.view([5, 3, 2]), 2), 1) });
  });

  it('rejects a bad axis, naming the op', async () => {
    const e = await getEngine();
    await e.scope(() => {
      const x = e.tensor(new Float32Array(6), [2, 3]);
      expect(() => sum(x, 2)).toThrow(/sum: axis 2 out of range for rank 2/);
    });
  });
});
