/**
 * resize2d: bilinear (tf.image.resizeBilinear semantics) and area resizing against float64
 * references computed pixel by pixel (not through the matrices the op uses), plus gradients.
 */
import { describe, it, expect } from 'vitest';
import { resize2d, resizeMatrix, type ResizeMode } from '../src/engine/ops/resize.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';

/** tf resizeBilinear (alignCorners false, halfPixelCenters false), one plane, float64. */
function refBilinear(x: Float64Array, H: number, W: number, oh: number, ow: number): Float64Array {
  const out = new Float64Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = (y * H) / oh;
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, H - 1);
    const fy = sy - y0;
    for (let q = 0; q < ow; q++) {
      const sx = (q * W) / ow;
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, W - 1);
      const fx = sx - x0;
      const top = x[y0 * W + x0]! * (1 - fx) + x[y0 * W + x1]! * fx;
      const bot = x[y1 * W + x0]! * (1 - fx) + x[y1 * W + x1]! * fx;
      out[y * ow + q] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

/**
 * Area average, exactly and independently of the op's overlap formula: replicate every input pixel
 * `out` times along an axis (in·out samples), then average consecutive groups of `in` samples.
 */
function areaAxis(x: Float64Array, n: number, out: number): Float64Array {
  const rep = new Float64Array(n * out);
  for (let i = 0; i < n * out; i++) rep[i] = x[Math.floor(i / out)]!;
  const y = new Float64Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let k = 0; k < n; k++) s += rep[o * n + k]!;
    y[o] = s / n;
  }
  return y;
}

function refArea(x: Float64Array, H: number, W: number, oh: number, ow: number): Float64Array {
  const rows = new Float64Array(H * ow);
  for (let y = 0; y < H; y++) rows.set(areaAxis(x.subarray(y * W, (y + 1) * W), W, ow), y * ow);
  const out = new Float64Array(oh * ow);
  for (let q = 0; q < ow; q++) {
    const col = Float64Array.from({ length: H }, (_, y) => rows[y * ow + q]!);
    areaAxis(col, H, oh).forEach((v, y) => (out[y * ow + q] = v));
  }
  return out;
}

const planes = (x: Float64Array, n: number, H: number, W: number, oh: number, ow: number, f: typeof refBilinear) => {
  const out = new Float64Array(n * oh * ow);
  for (let p = 0; p < n; p++) out.set(f(x.subarray(p * H * W, (p + 1) * H * W), H, W, oh, ow), p * oh * ow);
  return out;
};

describe('resize2d', () => {
  const cases: { mode: ResizeMode; from: [number, number]; to: [number, number] }[] = [
    { mode: 'bilinear', from: [64, 64], to: [150, 150] },
    { mode: 'bilinear', from: [64, 48], to: [112, 30] },
    { mode: 'bilinear', from: [17, 17], to: [16, 16] },
    { mode: 'area', from: [28, 28], to: [16, 16] },
    { mode: 'area', from: [17, 12], to: [8, 6] },
    { mode: 'area', from: [8, 8], to: [4, 4] },
  ];
  for (const c of cases) {
    it(`${c.mode} ${c.from.join('×')} → ${c.to.join('×')} matches the float64 reference`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`resize ${c.mode}`);
      const [B, C] = [2, 3];
      const [H, W] = c.from;
      const [oh, ow] = c.to;
      const x = f32round(randn(rng(seed), B * C * H * W));
      const y = await e.scope(async () => read(resize2d(e.tensor(Float32Array.from(x), [B, C, H, W]), oh, ow, c.mode)));
      const ref = planes(x, B * C, H, W, oh, ow, c.mode === 'bilinear' ? refBilinear : refArea);
      expectClose(y, ref, 2e-6, `resize ${c.mode}`);
    });
  }

  it('area rows sum to 1 and an integer factor is average pooling', () => {
    const m = resizeMatrix(12, 5, 'area');
    for (let o = 0; o < 5; o++) expect(m.subarray(o * 12, (o + 1) * 12).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    const p = resizeMatrix(8, 4, 'area');
    expect(Array.from(p.subarray(0, 8))).toEqual([0.5, 0.5, 0, 0, 0, 0, 0, 0]);
  });

  it('gradients match finite differences', async () => {
    const e = await getEngine();
    const seed = freshSeed('resize grad');
    const r = rng(seed);
    for (const mode of ['bilinear', 'area'] as const) {
      await gradCheck({ e, seed, label: `resize ${mode}`, inputs: [{ data: randn(r, 2 * 9 * 7), shape: [1, 2, 9, 7] }], f: ([x]) => resize2d(x!, 5, 11, mode), tol: 1e-2 });
    }
  });

  it('names bad input', async () => {
    const e = await getEngine();
    e.scope(() => expect(() => resize2d(e.tensor(new Float32Array(6), [2, 3]), 4, 4, 'area')).toThrow(/resize2d: x \[2, 3\]/));
    expect(() => resizeMatrix(0, 3, 'area')).toThrow(/positive integers/);
  });
});
