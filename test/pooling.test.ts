/**
 * maxPool2d / avgPool2d ('valid', NCHW): forward and gradient against a float64 host reference,
 * finite differences on small shapes, shape errors, and no leaked intermediates without a tape.
 */
import { describe, it, expect } from 'vitest';
import { avgPool2d, maxPool2d } from '../src/engine/ops/pooling.ts';
import { backward } from '../src/engine/autograd.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';

type Kind = 'max' | 'avg';

interface Case {
  name: string;
  x: [number, number, number, number];
  k: [number, number];
  s: [number, number];
}

const cases: Case[] = [
  { name: '3x3 stride 2 (face-recognition maxPool)', x: [2, 3, 11, 9], k: [3, 3], s: [2, 2] },
  { name: '2x2 stride 2 on odd sides (last row/column cut off)', x: [2, 4, 7, 9], k: [2, 2], s: [2, 2] },
  { name: 'overlapping 3x2 windows, stride 1x2', x: [1, 2, 6, 8], k: [3, 2], s: [1, 2] },
  { name: 'window = whole map', x: [3, 2, 4, 5], k: [4, 5], s: [1, 1] },
  { name: '1x1 stride 3 (subsampling)', x: [1, 2, 7, 7], k: [1, 1], s: [3, 3] },
];

/** float64 pooling and its gradient for upstream gy (max: the first maximal tap in row-major order). */
function refPool(kind: Kind, c: Case, x: Float64Array, gy: Float64Array) {
  const [N, C, H, W] = c.x;
  const [kh, kw] = c.k;
  const [sh, sw] = c.s;
  const Ho = Math.floor((H - kh) / sh) + 1;
  const Wo = Math.floor((W - kw) / sw) + 1;
  const y = new Float64Array(N * C * Ho * Wo);
  const dx = new Float64Array(x.length);
  for (let nc = 0; nc < N * C; nc++)
    for (let oy = 0; oy < Ho; oy++)
      for (let ox = 0; ox < Wo; ox++) {
        const o = (nc * Ho + oy) * Wo + ox;
        let best = -Infinity;
        let arg = -1;
        let sum = 0;
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const k = (nc * H + oy * sh + i) * W + ox * sw + j;
            sum += x[k]!;
            if (x[k]! > best) {
              best = x[k]!;
              arg = k;
            }
          }
        if (kind === 'max') {
          y[o] = best;
          dx[arg] = dx[arg]! + gy[o]!;
        } else {
          y[o] = sum / (kh * kw);
          for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) dx[(nc * H + oy * sh + i) * W + ox * sw + j] += gy[o]! / (kh * kw);
        }
      }
  return { y, dx, shape: [N, C, Ho, Wo] };
}

/** Distinct values 0.1 apart in random order: no ties, and a ±1e-2 probe never changes a window's argmax. */
function separated(r: () => number, n: number): Float64Array {
  const v = Float64Array.from({ length: n }, (_, i) => 0.1 * (i - n / 2));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return v;
}

const pool = (kind: Kind) => (kind === 'max' ? maxPool2d : avgPool2d);

describe('maxPool2d / avgPool2d', () => {
  for (const kind of ['max', 'avg'] as Kind[]) for (const c of cases) {
    it(`${kind}: ${c.name}: forward and gradient match float64`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`${kind}Pool2d ${c.name}`));
      const xs = f32round(randn(r, c.x.reduce((a, d) => a * d, 1)));
      await e.scope(async () => {
        const x = e.tensor(Float32Array.from(xs), c.x).asParameter();
        const y = pool(kind)(x, c.k, c.s);
        const gy = f32round(randn(r, y.size));
        const ref = refPool(kind, c, xs, gy);
        expect(y.shape).toEqual(ref.shape);
        backward(y, e.tensor(Float32Array.from(gy), y.shape));
        const out = await read(y);
        if (kind === 'max') expect(Array.from(out)).toEqual(Array.from(ref.y)); // a selection: exact
        else expectClose(out, ref.y, 1e-6, `avgPool2d ${c.name} forward`);
        expectClose(await read(x.grad!), ref.dx, 1e-6, `${kind}Pool2d ${c.name} gradient`);
        x.grad!.dispose();
        x.dispose();
      });
    });
  }

  for (const kind of ['max', 'avg'] as Kind[]) {
    it(`${kind}: finite-difference gradient check (overlapping windows, cut-off edge)`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`${kind}Pool2d gradCheck`);
      const r = rng(seed);
      await gradCheck({
        e,
        seed,
        label: `${kind}Pool2d`,
        inputs: [{ data: separated(r, 2 * 2 * 6 * 7), shape: [2, 2, 6, 7] }],
        f: ([x]) => pool(kind)(x!, 3, 2),
        probes: 12,
        tol: 1e-3,
      });
    });
  }

  it('max pooling sends a tied window\'s gradient to its first maximal tap only', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const x = e.tensor(Float32Array.of(1, 5, 5, 2), [1, 1, 2, 2]).asParameter();
      backward(maxPool2d(x, 2, 2), e.tensor(Float32Array.of(3), [1, 1, 1, 1]));
      expect(Array.from(await read(x.grad!))).toEqual([0, 3, 0, 0]);
      x.grad!.dispose();
      x.dispose();
    });
  });

  it('frees its intermediates at once when no gradient is recorded', async () => {
    const e = await getEngine();
    const x = e.tensor(new Float32Array(2 * 3 * 9 * 9), [2, 3, 9, 9]).keep();
    await e.sync();
    const before = e.poolStats().liveBuffers;
    for (const kind of ['max', 'avg'] as Kind[]) {
      const y = e.noGrad(() => pool(kind)(x, 3, 2));
      expect(e.poolStats().liveBuffers).toBe(before + 1);
      y.dispose();
    }
    x.dispose();
  });

  it('rejects bad shapes with messages naming the op and the shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      expect(() => maxPool2d(e.empty([3, 8, 8]), 2, 2)).toThrow('maxPool2d(x [3, 8, 8], kernel 2x2, stride 2x2): x must be [N, C, H, W]');
      expect(() => avgPool2d(e.empty([1, 3, 4, 8]), 5, 1)).toThrow("avgPool2d(x [1, 3, 4, 8], kernel 5x5, stride 1x1): kernel 5x5 is larger than the input 4x8 ('valid' pooling, no padding)");
      expect(() => maxPool2d(e.empty([1, 3, 8, 8]), [2, 0], 1)).toThrow('maxPool2d(x [1, 3, 8, 8], kernel 2x0, stride 1x1): kernel and stride must be positive integers');
      expect(() => avgPool2d(e.empty([1, 3, 8, 8]), 2, 1.5)).toThrow('kernel and stride must be positive integers');
      expect(() => maxPool2d(e.empty([1, 3, 8, 8], 'u32'), 2, 2)).toThrow('maxPool2d: expected an f32 tensor, got u32');
    });
  });
});
