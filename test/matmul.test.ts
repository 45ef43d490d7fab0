import { describe, it, expect } from 'vitest';
import { MATMUL_VARIANTS, linear, matmul, type MatmulVariant } from '../src/engine/ops/matmul.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { backward } from '../src/engine/autograd.ts';
import { broadcastShapes, broadcastStrides, stridesOf } from '../src/engine/ops/shape-util.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';

interface Case {
  name: string;
  a: number[];
  b: number[];
  transA?: boolean;
  transB?: boolean;
  bias?: boolean;
  alpha?: number;
}

/** float64 forward and gradients of y = alpha · op(A) · op(B) + bias with broadcast batch dimensions. */
function reference(c: Case, A: Float64Array, B: Float64Array, bias: Float64Array | null, gy: Float64Array | null) {
  const tA = c.transA ?? false;
  const tB = c.transB ?? false;
  const alpha = c.alpha ?? 1;
  const ra = c.a.length;
  const rb = c.b.length;
  const M = tA ? c.a[ra - 1]! : c.a[ra - 2]!;
  const K = tA ? c.a[ra - 2]! : c.a[ra - 1]!;
  const N = tB ? c.b[rb - 2]! : c.b[rb - 1]!;
  const aBatch = c.a.slice(0, -2);
  const bBatch = c.b.slice(0, -2);
  const batch = broadcastShapes('ref', aBatch, bBatch);
  const sa = broadcastStrides(aBatch, batch);
  const sb = broadcastStrides(bBatch, batch);
  const zs = stridesOf(batch);
  const count = batch.reduce((p, d) => p * d, 1);
  const y = new Float64Array(count * M * N);
  const dA = new Float64Array(A.length);
  const dB = new Float64Array(B.length);
  const dBias = new Float64Array(N);
  const ia = (m: number, k: number) => (tA ? k * M + m : m * K + k);
  const ib = (k: number, n: number) => (tB ? n * K + k : k * N + n);
  for (let z = 0; z < count; z++) {
    let oa = 0;
    let ob = 0;
    batch.forEach((_, d) => {
      const coord = Math.floor(z / zs[d]!) % batch[d]!;
      oa += coord * sa[d]! * M * K;
      ob += coord * sb[d]! * K * N;
    });
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += A[oa + ia(m, k)]! * B[ob + ib(k, n)]!;
        const o = (z * M + m) * N + n;
        y[o] = alpha * s + (bias ? bias[n]! : 0);
        if (gy) {
          const g = gy[o]!;
          for (let k = 0; k < K; k++) {
            dA[oa + ia(m, k)]! += alpha * g * B[ob + ib(k, n)]!;
            dB[ob + ib(k, n)]! += alpha * g * A[oa + ia(m, k)]!;
          }
          dBias[n]! += g;
        }
      }
    }
  }
  return { y, shape: [...batch, M, N], dA, dB, dBias, N };
}

const numel = (s: number[]) => s.reduce((p, d) => p * d, 1);

/** Stored shapes of a (M×K) and b (K×N) for a layout. */
function layout(M: number, N: number, K: number, transA: boolean, transB: boolean, aBatch: number[] = [], bBatch: number[] = []): Pick<Case, 'a' | 'b' | 'transA' | 'transB'> {
  return { a: [...aBatch, ...(transA ? [K, M] : [M, K])], b: [...bBatch, ...(transB ? [N, K] : [K, N])], transA, transB };
}

const SHAPES: [number, number, number][] = [[1, 1, 1], [7, 13, 5], [33, 65, 17], [64, 64, 64]];
const CASES: Case[] = [];
for (const [M, N, K] of SHAPES) {
  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    const name = `${M}×${N}×${K} ${tA ? 'T' : 'N'}${tB ? 'T' : 'N'}`;
    CASES.push({ name, ...layout(M, N, K, tA, tB) });
  }
}
CASES.push(
  { name: 'bias 33×65×17', ...layout(33, 65, 17, false, false), bias: true },
  { name: 'bias + alpha 7×13×5 TT', ...layout(7, 13, 5, true, true), bias: true, alpha: -0.75 },
  { name: 'batch 3 × 33×65×17 with bias', ...layout(33, 65, 17, false, false, [3], [3]), bias: true },
  { name: 'broadcast batch [3,1] × [1,2] 7×13×5', ...layout(7, 13, 5, false, false, [3, 1], [1, 2]) },
  { name: 'broadcast batch [2,3] × [3] 9×6×11 TT', ...layout(9, 6, 11, true, true, [2, 3], [3]) },
  { name: '2-D × 3-D shared a (1×1 conv) [12,20] × [3,20,49]', ...layout(12, 49, 20, false, false, [], [3]), bias: false },
  { name: '2-D × 3-D shared a, transposed 17×33×8 TN', ...layout(17, 33, 8, true, false, [], [3]) },
  { name: '3-D × 2-D shared b (folded) 3 × 33×65×17 with bias', ...layout(33, 65, 17, false, false, [3], []), bias: true },
  { name: '3-D × 2-D shared b, transA (not folded) 3 × 13×7×9', ...layout(13, 7, 9, true, false, [3], []) },
  { name: '4-D × 2-D shared b, transB [2,3] × 5×12×16 with bias', ...layout(5, 12, 16, false, true, [2, 3], []), bias: true },
);

async function runCase(c: Case, variant: MatmulVariant, seed: number): Promise<void> {
  const e = await getEngine();
  const r = rng(seed);
  const A = f32round(randn(r, numel(c.a)));
  const B = f32round(randn(r, numel(c.b)));
  const ref0 = reference(c, A, B, null, null);
  const bias = c.bias ? f32round(randn(r, ref0.N)) : null;
  const gy = f32round(randn(r, ref0.y.length));
  const ref = reference(c, A, B, bias, gy);
  await withVariants(e, { matmul: variant }, () => e.scope(async () => {
    const a = e.tensor(Float32Array.from(A), c.a).asParameter();
    const b = e.tensor(Float32Array.from(B), c.b).asParameter();
    const bt = bias ? e.tensor(Float32Array.from(bias), [ref.N]).asParameter() : undefined;
    const y = matmul(a, b, { transA: c.transA, transB: c.transB, alpha: c.alpha, bias: bt });
    expect(y.shape).toEqual(ref.shape);
    backward(y, e.tensor(Float32Array.from(gy), ref.shape));
    const what = `${variant} ${c.name}`;
    expectClose(await read(y), ref.y, 1e-5, `${what} forward`);
    expectClose(await read(a.grad!), ref.dA, 1e-4, `${what} grad a`);
    expectClose(await read(b.grad!), ref.dB, 1e-4, `${what} grad b`);
    if (bt) expectClose(await read(bt.grad!), ref.dBias, 1e-4, `${what} grad bias`);
    for (const t of [a, b, bt]) {
      t?.grad?.dispose();
      t?.dispose();
    }
  }));
}

describe('matmul', () => {
  for (const variant of MATMUL_VARIANTS) {
    it(`${variant}: every layout, shape, bias and batch broadcast matches float64 forward and gradients`, async () => {
      const seed = freshSeed(`matmul ${variant}`);
      for (const [i, c] of CASES.entries()) await runCase(c, variant, seed + i);
    });
  }

  it('grids beyond the per-dimension workgroup limit are split into several dispatches', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('matmul big grid'));
    // register variant: 8×4 invocations of 4×4 blocks, so 16 rows per workgroup along y
    const rows = 16 * e.maxWorkgroupsPerDim + 9;
    const batch = e.maxWorkgroupsPerDim + 3;
    const cases: Case[] = [
      { name: `[${rows},2]×[2,3]`, a: [rows, 2], b: [2, 3] },
      { name: `batch ${batch} of [1,2]×[2,1]`, a: [batch, 1, 2], b: [batch, 2, 1], transA: false },
    ];
    for (const c of cases) {
      const A = f32round(randn(r, numel(c.a)));
      const B = f32round(randn(r, numel(c.b)));
      await e.scope(async () => {
        const a = e.tensor(Float32Array.from(A), c.a);
        const b = e.tensor(Float32Array.from(B), c.b);
        const before = e.getStats().dispatches;
        const y = withVariants(e, { matmul: 'register' }, () => matmul(a, b));
        // the poisoning fill of the output, then two matmul dispatches
        expect(e.getStats().dispatches - before, c.name).toBe(3);
        expectClose(await read(y), reference(c, A, B, null, null).y, 1e-5, c.name);
      });
    }
  });

  it('finite differences agree with the analytic gradient (batched, transB, bias)', async () => {
    const e = await getEngine();
    const seed = freshSeed('matmul fd');
    const r = rng(seed);
    await gradCheck({
      e, seed, label: 'matmul',
      inputs: [
        { data: randn(r, 2 * 3 * 5), shape: [2, 3, 5] },
        { data: randn(r, 4 * 5), shape: [4, 5] },
        { data: randn(r, 4), shape: [4] },
      ],
      f: ([a, b, bias]) => matmul(a!, b!, { transB: true, bias: bias!, alpha: 0.5 }),
    });
  });

  it('bad shapes throw errors naming the op and both shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const a = e.empty([2, 3]);
      const b = e.empty([4, 5]);
      expect(() => matmul(a, b)).toThrow('matmul: inner dimensions differ (3 vs 4) for a [2, 3] and b [4, 5]');
      expect(() => matmul(a, e.empty([5, 3]), { transA: true })).toThrow('matmul: inner dimensions differ (2 vs 5) for a [2, 3] (transA) and b [5, 3]');
      expect(() => matmul(e.empty([2, 2, 3]), e.empty([3, 3, 4]))).toThrow('matmul: batch dimensions do not broadcast (2 vs 3) for a [2, 2, 3] and b [3, 3, 4]');
      expect(() => matmul(a, e.empty([3, 4]), { bias: e.empty([3]) })).toThrow('matmul: bias [3] must be [4] for a [2, 3] and b [3, 4]');
      expect(() => matmul(e.empty([3]), b)).toThrow('matmul: operands need rank ≥ 2, got a [3] and b [4, 5]');
      expect(() => linear(e.empty([2, 6]), e.empty([4, 5]))).toThrow('linear: x [2, 6] has 6 features, weight [4, 5] expects 5');
    });
  });
});

describe('linear', () => {
  it('x [..., in] · weightᵀ + bias matches float64 forward and gradients (rank 3 and rank 1 inputs)', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('linear'));
    for (const xShape of [[2, 3, 10], [10]]) {
      const OUT = 6;
      const X = f32round(randn(r, numel(xShape)));
      const W = f32round(randn(r, OUT * 10));
      const Bv = f32round(randn(r, OUT));
      const rows = numel(xShape) / 10;
      const gy = f32round(randn(r, rows * OUT));
      const ref = reference({ name: 'linear', a: [rows, 10], b: [OUT, 10], transB: true, bias: true }, X, W, Bv, gy);
      await e.scope(async () => {
        const x = e.tensor(Float32Array.from(X), xShape).asParameter();
        const w = e.tensor(Float32Array.from(W), [OUT, 10]).asParameter();
        const b = e.tensor(Float32Array.from(Bv), [OUT]).asParameter();
        const y = linear(x, w, b);
        expect(y.shape).toEqual([...xShape.slice(0, -1), OUT]);
        backward(y, e.tensor(Float32Array.from(gy), y.shape));
        expectClose(await read(y), ref.y, 1e-5, `linear ${xShape} forward`);
        expectClose(await read(x.grad!), ref.dA, 1e-4, `linear ${xShape} grad x`);
        expectClose(await read(w.grad!), ref.dB, 1e-4, `linear ${xShape} grad weight`);
        expectClose(await read(b.grad!), ref.dBias, 1e-4, `linear ${xShape} grad bias`);
        for (const t of [x, w, b]) {
          t.grad!.dispose();
          t.dispose();
        }
      });
    }
  });
});
