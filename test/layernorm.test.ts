import { describe, it, expect } from 'vitest';
import { layerNorm } from '../src/engine/ops/layernorm.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

/** float64 LayerNorm over `axis` (biased variance) and its gradients for upstream dy. */
function reference(x: Float64Array, shape: number[], axis: number, w: Float64Array | null, b: Float64Array | null, dy: Float64Array, eps: number) {
  const C = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const outer = x.length / (C * inner);
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (c: number) => o * C * inner + c * inner + i;
      let mean = 0;
      for (let c = 0; c < C; c++) mean += x[at(c)]!;
      mean /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (x[at(c)]! - mean) ** 2;
      const rstd = 1 / Math.sqrt(v / C + eps);
      let mg = 0;
      let mgx = 0;
      for (let c = 0; c < C; c++) {
        const xh = (x[at(c)]! - mean) * rstd;
        const g = dy[at(c)]! * (w ? w[c]! : 1);
        y[at(c)] = xh * (w ? w[c]! : 1) + (b ? b[c]! : 0);
        mg += g / C;
        mgx += (g * xh) / C;
        dw[c] = dw[c]! + dy[at(c)]! * xh;
        db[c] = db[c]! + dy[at(c)]!;
      }
      for (let c = 0; c < C; c++) {
        const xh = (x[at(c)]! - mean) * rstd;
        dx[at(c)] = rstd * (dy[at(c)]! * (w ? w[c]! : 1) - mg - xh * mgx);
      }
    }
  }
  return { y, dx, dw, db };
}

type Affine = 'weight+bias' | 'weight' | 'none';

async function check(shape: number[], axis: number, affine: Affine, r: () => number, offset = 0): Promise<void> {
  const e = await getEngine();
  const n = shape.reduce((p, d) => p * d, 1);
  const C = shape[axis]!;
  const xs = f32round(randn(r, n).map((v) => v * 2 + offset));
  const ws = affine !== 'none' ? f32round(randn(r, C).map((v) => 1 + 0.5 * v)) : null;
  const bs = affine === 'weight+bias' ? f32round(randn(r, C)) : null;
  const gy = f32round(randn(r, n));
  const eps = 1e-5;
  const ref = reference(xs, shape, axis, ws, bs, gy, eps);
  const what = `layerNorm ${JSON.stringify(shape)} axis ${axis} ${affine}`;
  await e.scope(async () => {
    const x = e.tensor(Float32Array.from(xs), shape).asParameter();
    const w = ws ? e.tensor(Float32Array.from(ws), [C]).asParameter() : null;
    const b = bs ? e.tensor(Float32Array.from(bs), [C]).asParameter() : null;
    // Inside a scope that returns only y: the saved statistics must outlive the scope with it.
    const y = e.scope(() => layerNorm(x, w, b, { eps, axis }));
    expect(y.shape).toEqual(shape);
    backward(y, e.tensor(Float32Array.from(gy), shape));
    expectClose(await read(y), ref.y, 1e-5, `${what}: forward`);
    expectClose(await read(x.grad!), ref.dx, 1e-4, `${what}: dx`);
    if (w) expectClose(await read(w.grad!), ref.dw, 1e-4, `${what}: dweight`);
    if (b) expectClose(await read(b.grad!), ref.db, 1e-4, `${what}: dbias`);
    for (const t of [x, w, b]) {
      t?.grad?.dispose();
      t?.dispose();
    }
  });
}

describe('layerNorm', () => {
  const lastAxis: number[][] = [[6, 96], [4, 13, 96], [5, 7], [1, 257], [3, 1], [333, 48]];
  // NCHW parameter gradients sum planes in segments: [2, 96, 28, 28] takes 13 of whole vec4s,
  // [1, 3, 13, 11] 3 of single pixels (H·W = 143), [4, 40, 4, 4] one vec4-row plane each.
  const channels: number[][] = [[2, 48, 7, 9], [2, 96, 28, 28], [1, 5, 1, 3], [1, 3, 13, 11], [4, 40, 4, 4]];

  for (const layout of ['gpu', 'cpu'] as const) {
    const forced = async (fn: () => Promise<void>) => withVariants(await getEngine(), { 'row-reduction': layout }, fn);

    it(`last axis (channels-last): forward and gradients match float64 (${layout} layout)`, () =>
      forced(async () => {
        const r = rng(freshSeed(`layerNorm last axis ${layout}`));
        for (const shape of lastAxis) {
          for (const affine of ['weight+bias', 'weight', 'none'] as const) await check(shape, shape.length - 1, affine, r);
        }
      }));

    it(`channels of NCHW: forward and gradients match float64 (${layout} layout)`, () =>
      forced(async () => {
        const r = rng(freshSeed(`layerNorm NCHW ${layout}`));
        for (const shape of channels) {
          for (const affine of ['weight+bias', 'weight', 'none'] as const) await check(shape, 1, affine, r);
        }
      }));
  }

  it('inputs with a large mean keep an accurate variance', async () => {
    const r = rng(freshSeed('layerNorm offset'));
    await check([6, 96], 1, 'weight+bias', r, 300);
    await check([2, 48, 7, 9], 1, 'weight', r, -300);
  });

  it('only the gradients asked for are computed', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('layerNorm partial grads'));
    const shape = [3, 8, 5];
    const xs = f32round(randn(r, 120));
    const ws = f32round(randn(r, 8));
    const bs = f32round(randn(r, 8));
    const gy = f32round(randn(r, 120));
    const ref = reference(xs, shape, 1, ws, bs, gy, 1e-5);
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(xs), shape);
      const w = e.tensor(Float32Array.from(ws), [8]);
      const b = e.tensor(Float32Array.from(bs), [8]).asParameter();
      backward(layerNorm(x, w, b, { axis: 1 }), e.tensor(Float32Array.from(gy), shape));
      expect(x.grad).toBeNull();
      expect(w.grad).toBeNull();
      expectClose(await read(b.grad!), ref.db, 1e-4, 'dbias alone');
      b.grad!.dispose();
      b.dispose();
    });
  });

  it('finite-difference gradient check (both layouts)', async () => {
    const e = await getEngine();
    const seed = freshSeed('layerNorm gradCheck');
    const r = rng(seed);
    const f32 = (n: number, s = 1, o = 0) => f32round(randn(r, n).map((v) => v * s + o));
    await gradCheck({
      e, seed, label: 'layerNorm last axis', probes: 6,
      inputs: [{ data: f32(15), shape: [3, 5] }, { data: f32(5, 0.5, 1), shape: [5] }, { data: f32(5), shape: [5] }],
      f: ([x, w, b]) => layerNorm(x!, w, b),
    });
    await gradCheck({
      e, seed, label: 'layerNorm NCHW', probes: 6,
      inputs: [{ data: f32(24), shape: [2, 3, 2, 2] }, { data: f32(3, 0.5, 1), shape: [3] }],
      f: ([x, w]) => layerNorm(x!, w, null, { axis: 1 }),
    });
  });

  it('bad arguments name the op and the shapes', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const x = e.empty([2, 96, 28, 28]);
      const w95: Tensor = e.empty([95]);
      expect(() => layerNorm(x, w95, null, { axis: 1 })).toThrow(
        'layerNorm: weight [95] does not match the 96 channels of axis 1 of x [2, 96, 28, 28] (expected [96])',
      );
      expect(() => layerNorm(x, null, e.empty([29]))).toThrow(/layerNorm: bias \[29\] does not match the 28 channels of axis 3 of x \[2, 96, 28, 28\]/);
      expect(() => layerNorm(x, e.empty([1, 96]), null, { axis: 1 })).toThrow(/layerNorm: weight \[1, 96\]/);
      expect(() => layerNorm(x, null, null, { axis: 4 })).toThrow(/layerNorm: axis 4 out of range for rank 4/);
      expect(() => layerNorm(x, null, null, { eps: 0 })).toThrow(/layerNorm: eps must be a positive number/);
      expect(() => layerNorm(e.empty([4, 0]))).toThrow(/layerNorm: axis 1 of .*\[4, 0\] is empty/);
    });
  });
});

describeTorchFixture('layernorm', (e, c) => {
  const o = c.options as { eps: number; axis?: number; withBias?: boolean };
  // Channels-axis cases are Restormer's LayerNorm, with or without bias; last-axis ones are F.layer_norm.
  if (o.axis === 1) {
    const names = o.withBias ? ['x', 'weight', 'bias'] : ['x', 'weight'];
    return compareWithTorch(e, c, names, (x) => layerNorm(x.x!, x.weight!, x.bias ?? null, { eps: o.eps, axis: 1 }));
  }
  return compareWithTorch(e, c, ['x', 'weight', 'bias'], (x) => layerNorm(x.x!, x.weight!, x.bias!, { eps: o.eps }));
});
