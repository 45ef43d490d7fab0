import { describe, it, expect } from 'vitest';
import { CONV2D_VARIANTS, conv2d } from '../src/engine/ops/conv2d.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { globalAvgPool } from '../src/engine/ops/pooling.ts';
import { backward } from '../src/engine/autograd.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

interface Case {
  name: string;
  x: [number, number, number, number];
  co: number;
  k: [number, number];
  stride?: [number, number];
  pad?: [number, number];
  groups?: number;
  bias?: boolean;
  /** Cap on im2col patch memory, small enough to split the batch into chunks. */
  im2colBytes?: number;
}

/** float64 direct convolution with its gradients for an upstream gradient gy. */
function refConv(c: Case, x: Float64Array, w: Float64Array, b: Float64Array | null, gy: Float64Array) {
  const [N, Ci, H, W] = c.x;
  const [kh, kw] = c.k;
  const [sh, sw] = c.stride ?? [1, 1];
  const [ph, pw] = c.pad ?? [0, 0];
  const G = c.groups ?? 1;
  const Co = c.co;
  const cig = Ci / G;
  const cog = Co / G;
  const Ho = Math.floor((H + 2 * ph - kh) / sh) + 1;
  const Wo = Math.floor((W + 2 * pw - kw) / sw) + 1;
  const y = new Float64Array(N * Co * Ho * Wo);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(Co);
  for (let n = 0; n < N; n++)
    for (let co = 0; co < Co; co++) {
      const g = Math.floor(co / cog);
      for (let oh = 0; oh < Ho; oh++)
        for (let ow = 0; ow < Wo; ow++) {
          const o = ((n * Co + co) * Ho + oh) * Wo + ow;
          let s = b ? b[co]! : 0;
          const gv = gy[o]!;
          db[co] = db[co]! + gv;
          for (let c = 0; c < cig; c++)
            for (let i = 0; i < kh; i++) {
              const ih = oh * sh - ph + i;
              if (ih < 0 || ih >= H) continue;
              for (let j = 0; j < kw; j++) {
                const iw = ow * sw - pw + j;
                if (iw < 0 || iw >= W) continue;
                const xi = ((n * Ci + g * cig + c) * H + ih) * W + iw;
                const wi = ((co * cig + c) * kh + i) * kw + j;
                s += x[xi]! * w[wi]!;
                dx[xi] = dx[xi]! + gv * w[wi]!;
                dw[wi] = dw[wi]! + gv * x[xi]!;
              }
            }
          y[o] = s;
        }
    }
  return { y, dx, dw, db, shape: [N, Co, Ho, Wo] };
}

const cases: Case[] = [
  { name: 'odd sizes 3x3 pad 1', x: [2, 3, 7, 9], co: 5, k: [3, 3], pad: [1, 1], bias: true },
  { name: '1x1', x: [2, 6, 5, 7], co: 8, k: [1, 1], bias: true },
  { name: '3x3 stride 2 pad 0 (last row cut off)', x: [2, 4, 8, 10], co: 6, k: [3, 3], stride: [2, 2], bias: true },
  { name: '3x3 stride 2 pad 1', x: [1, 3, 9, 7], co: 4, k: [3, 3], stride: [2, 2], pad: [1, 1], bias: true },
  { name: '5x5 pad 2 no bias', x: [1, 2, 6, 11], co: 3, k: [5, 5], pad: [2, 2] },
  { name: '2x2 stride 2 (row and column cut off)', x: [2, 3, 7, 9], co: 4, k: [2, 2], stride: [2, 2], bias: true },
  { name: 'non-square 1x3, mixed stride and padding', x: [2, 4, 6, 9], co: 2, k: [1, 3], stride: [1, 2], pad: [0, 1], bias: true },
  { name: 'groups 2', x: [2, 4, 7, 9], co: 6, k: [3, 3], pad: [1, 1], groups: 2, bias: true },
  { name: 'depthwise 3x3', x: [2, 5, 7, 9], co: 5, k: [3, 3], pad: [1, 1], groups: 5, bias: true },
  { name: 'depthwise 3x5 pad [0, 2] (rotated taps in grad input)', x: [2, 3, 6, 11], co: 3, k: [3, 5], pad: [0, 2], groups: 3, bias: true },
  { name: 'depthwise 5x5 pad 1, 9 rows (partial row tile)', x: [1, 2, 9, 5], co: 2, k: [5, 5], pad: [1, 1], groups: 2 },
  { name: 'depthwise 3x5 pad [1, 0], widths 12 → 8 (vec4 rows, window at chunk offset 0)', x: [2, 3, 5, 12], co: 3, k: [3, 5], pad: [1, 0], groups: 3, bias: true },
  { name: 'depthwise 5x5 pad 2, width 8 (vec4 rows, window at chunk offset 2)', x: [1, 4, 6, 8], co: 4, k: [5, 5], pad: [2, 2], groups: 4 },
  { name: 'depthwise 3x3 stride 2', x: [1, 4, 9, 7], co: 4, k: [3, 3], stride: [2, 2], pad: [1, 1], groups: 4 },
  { name: 'LRDif depthwise [2,16,28,28] 3x3 pad 1', x: [2, 16, 28, 28], co: 16, k: [3, 3], pad: [1, 1], groups: 16, bias: true },
  { name: 'LRDif 1x1 16->24 on [2,16,28,28]', x: [2, 16, 28, 28], co: 24, k: [1, 1] },
  { name: 'PixelUnshuffle(4) stem: 3x3 48->16 pad 1', x: [1, 48, 8, 8], co: 16, k: [3, 3], pad: [1, 1], bias: true },
  { name: 'many positions per weight (64-wide reduction), 3x3 pad 1', x: [4, 2, 32, 30], co: 8, k: [3, 3], pad: [1, 1], bias: true },
  { name: 'IR stem: 3x3 stride 2 pad 1, 3->8', x: [2, 3, 16, 16], co: 8, k: [3, 3], stride: [2, 2], pad: [1, 1], bias: true },
  { name: '1x1 stride 2 shortcut', x: [2, 5, 9, 8], co: 7, k: [1, 1], stride: [2, 2], bias: true },
  // 3·5·3·3 patch rows × 7·9 columns × 4 bytes = 11340 bytes per image: 2 images per chunk, last chunk 1.
  { name: 'im2col split into chunks of 2 images, 3x3 pad 1', x: [5, 5, 7, 9], co: 6, k: [3, 3], pad: [1, 1], bias: true, im2colBytes: 2 * 11340 + 100 },
];

describe('conv2d', () => {
  for (const c of cases) for (const variant of CONV2D_VARIANTS) {
    it(`${c.name} (${variant}): forward, grad x, grad w, grad b match float64`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`conv2d ${c.name} ${variant}`));
      const G = c.groups ?? 1;
      const wShape = [c.co, c.x[1] / G, c.k[0], c.k[1]];
      const xs = f32round(randn(r, c.x.reduce((a, d) => a * d, 1)));
      const ws = f32round(randn(r, wShape.reduce((a, d) => a * d, 1), 0.3));
      const bs = c.bias ? f32round(randn(r, c.co)) : null;
      await withVariants(e, { conv2d: variant }, () => e.scope(async () => {
        const x = e.tensor(Float32Array.from(xs), c.x).asParameter();
        const w = e.tensor(Float32Array.from(ws), wShape).asParameter();
        const b = bs ? e.tensor(Float32Array.from(bs), [c.co]).asParameter() : undefined;
        const y = conv2d(x, w, b, { stride: c.stride, padding: c.pad, groups: G, im2colBytes: c.im2colBytes });
        const gy = f32round(randn(r, y.size));
        const ref = refConv(c, xs, ws, bs, gy);
        expect(y.shape).toEqual(ref.shape);
        backward(y, e.tensor(Float32Array.from(gy), y.shape));
        expectClose(await read(y), ref.y, 1e-5, `${c.name} forward`);
        expectClose(await read(x.grad!), ref.dx, 1e-4, `${c.name} grad x`);
        expectClose(await read(w.grad!), ref.dw, 1e-4, `${c.name} grad w`);
        if (b) expectClose(await read(b.grad!), ref.db, 1e-4, `${c.name} grad b`);
        for (const t of [x, w, b]) {
          t?.grad?.dispose();
          t?.dispose();
        }
      }));
    });
  }

  for (const variant of CONV2D_VARIANTS) it(`cut-off input rows and columns get exactly zero gradient (${variant})`, async () => {
    const e = await getEngine();
    const r = rng(freshSeed(`conv2d cut-off ${variant}`));
    await withVariants(e, { conv2d: variant }, () => e.scope(async () => {
      // H = W = 8, k = 3, stride 2, no padding: outputs read rows/cols 0..6, never 7.
      const x = e.tensor(Float32Array.from(randn(r, 2 * 8 * 8)), [1, 2, 8, 8]).asParameter();
      const w = e.tensor(Float32Array.from(randn(r, 2 * 2 * 9)), [2, 2, 3, 3]);
      const y = conv2d(x, w, undefined, { stride: 2 });
      expect(y.shape).toEqual([1, 2, 3, 3]);
      backward(y, e.fill(e.empty(y.shape), 1));
      const dx = await read(x.grad!);
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < 8; i++) {
          expect(dx[(c * 8 + 7) * 8 + i]).toBe(0);
          expect(dx[(c * 8 + i) * 8 + 7]).toBe(0);
        }
      expect(dx[0]).not.toBe(0);
      x.grad!.dispose();
      x.dispose();
    }));
  });

  it('finite-difference gradient check (grouped, strided, padded, with bias)', async () => {
    const e = await getEngine();
    const seed = freshSeed('conv2d gradCheck');
    const r = rng(seed);
    await gradCheck({
      e,
      seed,
      label: 'conv2d',
      inputs: [
        { data: randn(r, 1 * 4 * 5 * 6), shape: [1, 4, 5, 6] },
        { data: randn(r, 4 * 2 * 3 * 3, 0.5), shape: [4, 2, 3, 3] },
        { data: randn(r, 4), shape: [4] },
      ],
      f: ([x, w, b]) => conv2d(x!, w!, b!, { stride: 2, padding: 1, groups: 2 }),
      probes: 8,
    });
  });

  for (const variant of CONV2D_VARIANTS) it(`finite-difference gradient check (${variant}, strided, padded, with bias, 2 chunks)`, async () => {
    const e = await getEngine();
    const seed = freshSeed(`conv2d gradCheck ${variant}`);
    const r = rng(seed);
    await withVariants(e, { conv2d: variant }, () => gradCheck({
      e,
      seed,
      label: `conv2d ${variant}`,
      inputs: [
        { data: randn(r, 2 * 3 * 5 * 6), shape: [2, 3, 5, 6] },
        { data: randn(r, 4 * 3 * 3 * 3, 0.5), shape: [4, 3, 3, 3] },
        { data: randn(r, 4), shape: [4] },
      ],
      // 27 patch rows × 3·3 columns × 4 bytes per image: one image per im2col chunk.
      f: ([x, w, b]) => conv2d(x!, w!, b!, { stride: 2, padding: 1, im2colBytes: 27 * 9 * 4 }),
      probes: 8,
    }));
  });

  it('rejects bad shapes with messages naming the op and the shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const x = e.empty([1, 6, 5, 5]);
      expect(() => conv2d(x, e.empty([4, 6, 3, 3]), undefined, { groups: 4 })).toThrow(
        'conv2d(x [1, 6, 5, 5], weight [4, 6, 3, 3]): input channels 6 and output channels 4 must both be divisible by groups = 4',
      );
      expect(() => conv2d(x, e.empty([4, 3, 3, 3]))).toThrow('conv2d(x [1, 6, 5, 5], weight [4, 3, 3, 3]): weight dimension 1 is 3, expected Ci/groups = 6/1 = 6');
      expect(() => conv2d(x, e.empty([4, 6, 3, 3]), e.empty([3]))).toThrow('conv2d(x [1, 6, 5, 5], weight [4, 6, 3, 3], bias [3]): bias must be [4]');
      expect(() => conv2d(x, e.empty([4, 6, 7, 7]))).toThrow('kernel 7x7 with padding 0,0 is larger than the padded input 5x5');
      expect(() => conv2d(e.empty([6, 5, 5]), e.empty([4, 6, 3, 3]))).toThrow('conv2d(x [6, 5, 5], weight [4, 6, 3, 3]): x must be [N, C, H, W]');
      expect(() => withVariants(e, { conv2d: 'fft' }, () => conv2d(x, e.empty([4, 6, 3, 3])))).toThrow('withVariants: conv2d has no variant "fft" (known: direct, gemm)');
    });
  });
});

describe('globalAvgPool', () => {
  it('forward and gradient match float64', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('globalAvgPool'));
    for (const shape of [[2, 3, 7, 9], [1, 5, 1, 1], [3, 4, 16, 20]] as [number, number, number, number][]) {
      await e.scope(async () => {
        const [N, C, H, W] = shape;
        const xs = f32round(randn(r, N * C * H * W));
        const gy = f32round(randn(r, N * C));
        const x = e.tensor(Float32Array.from(xs), shape).asParameter();
        const y = globalAvgPool(x);
        expect(y.shape).toEqual([N, C]);
        backward(y, e.tensor(Float32Array.from(gy), [N, C]));
        const ref = new Float64Array(N * C);
        const dref = new Float64Array(xs.length);
        for (let i = 0; i < N * C; i++) {
          for (let k = 0; k < H * W; k++) {
            ref[i] = ref[i]! + xs[i * H * W + k]! / (H * W);
            dref[i * H * W + k] = gy[i]! / (H * W);
          }
        }
        expectClose(await read(y), ref, 1e-5, `globalAvgPool ${shape} forward`);
        expectClose(await read(x.grad!), dref, 1e-4, `globalAvgPool ${shape} grad`);
        x.grad!.dispose();
        x.dispose();
      });
    }
  });

  it('rejects a tensor that is not 4-D', async () => {
    const e = await getEngine();
    e.scope(() => expect(() => globalAvgPool(e.empty([2, 3, 4]))).toThrow('globalAvgPool: x [2, 3, 4] must be [N, C, H, W]'));
  });
});

describeTorchFixture('conv2d', (e, c) => {
  const o = c.options as { stride: number; padding: number; groups: number };
  return compareWithTorch(e, c, ['x', 'weight', 'bias'], (x) =>
    conv2d(x.x!, x.weight!, x.bias!, { stride: o.stride, padding: o.padding, groups: o.groups }));
});
