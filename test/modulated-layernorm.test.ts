import { describe, it, expect } from 'vitest';
import { modulatedLayerNorm, modulatedLayerNormComposed } from '../src/engine/ops/modulated-layernorm.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng, uniform } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

type Shape = [number, number, number, number];
const EPS = 1e-5;

/** float64 reference: forward and the gradients of x, lnWeight, lnBias, scale, shift for upstream gout. */
function reference(d: Data, withBias: boolean, [B, C, H, W]: Shape) {
  const hw = H * W;
  const y = new Float64Array(d.x.length);
  const dx = new Float64Array(d.x.length);
  const dw = new Float64Array(C);
  const dlb = new Float64Array(C);
  const dscale = new Float64Array(B * C);
  const dshift = new Float64Array(B * C);
  const xhat = new Float64Array(C);
  const g = new Float64Array(C);
  for (let b = 0; b < B; b++) {
    for (let q = 0; q < hw; q++) {
      const at = (c: number) => (b * C + c) * hw + q;
      let mean = 0;
      for (let c = 0; c < C; c++) mean += d.x[at(c)]!;
      mean /= C;
      let v = 0;
      for (let c = 0; c < C; c++) v += (d.x[at(c)]! - mean) ** 2;
      const rstd = 1 / Math.sqrt(v / C + EPS);
      let mg = 0;
      let mgx = 0;
      for (let c = 0; c < C; c++) {
        const bc = b * C + c;
        const lb = withBias ? d.lnBias[c]! : 0;
        xhat[c] = (d.x[at(c)]! - mean) * rstd;
        const ln = xhat[c]! * d.lnWeight[c]! + lb;
        y[at(c)] = ln * d.scale[bc]! + d.shift[bc]!;
        const go = d.gout[at(c)]!;
        dscale[bc] = dscale[bc]! + go * ln;
        dshift[bc] = dshift[bc]! + go;
        dw[c] = dw[c]! + go * d.scale[bc]! * xhat[c]!;
        dlb[c] = dlb[c]! + go * d.scale[bc]!;
        g[c] = go * d.scale[bc]! * d.lnWeight[c]!;
        mg += g[c]! / C;
        mgx += (g[c]! * xhat[c]!) / C;
      }
      for (let c = 0; c < C; c++) dx[at(c)] = rstd * (g[c]! - mg - xhat[c]! * mgx);
    }
  }
  return { y, dx, dw, dlb, dscale, dshift };
}

interface Data { x: Float64Array; lnWeight: Float64Array; lnBias: Float64Array; scale: Float64Array; shift: Float64Array; gout: Float64Array }

function data(r: () => number, [B, C, H, W]: Shape): Data {
  const n = B * C * H * W;
  // A per-pixel offset larger than the spread checks the variance's accuracy when |mean| ≫ std.
  const x = randn(r, n);
  for (let i = 0; i < n; i++) x[i] = x[i]! + 3 * Math.sin(i % (H * W));
  return {
    x: f32round(x),
    lnWeight: f32round(uniform(r, C, 0.5, 1.5)),
    lnBias: f32round(randn(r, C, 0.3)),
    scale: f32round(randn(r, B * C, 0.5)),
    shift: f32round(randn(r, B * C, 0.5)),
    gout: f32round(randn(r, n)),
  };
}

type Op = (x: Tensor, w: Tensor, b: Tensor | null, s: Tensor, t: Tensor) => Tensor;

const composed: Op = (x, w, b, s, t) => modulatedLayerNormComposed(x, w, b, s, t, { eps: EPS });
const fused: Op = (x, w, b, s, t) => modulatedLayerNorm(x, w, b, s, t, { eps: EPS });

/** Runs op with every input trainable and returns [y, dx, dlnWeight, dlnBias?, dscale, dshift]. */
async function run(op: Op, d: Data, withBias: boolean, shape: Shape): Promise<Float64Array[]> {
  const e = await getEngine();
  const [B, C] = shape;
  return e.scope(async () => {
    const x = e.tensor(Float32Array.from(d.x), shape).asParameter();
    const w = e.tensor(Float32Array.from(d.lnWeight), [C]).asParameter();
    const b = withBias ? e.tensor(Float32Array.from(d.lnBias), [C]).asParameter() : null;
    const s = e.tensor(Float32Array.from(d.scale), [B, C]).asParameter();
    const t = e.tensor(Float32Array.from(d.shift), [B, C]).asParameter();
    const y = op(x, w, b, s, t);
    backward(y, e.tensor(Float32Array.from(d.gout), shape));
    const params = [x, w, ...(b ? [b] : []), s, t];
    const res = [await read(y), ...(await Promise.all(params.map((p) => read(p.grad!))))];
    for (const p of params) {
      p.grad?.dispose();
      p.dispose();
    }
    return res;
  });
}

describe('modulatedLayerNorm', () => {
  const shapes: Shape[] = [
    [1, 3, 5, 7],
    [3, 17, 5, 7],
    [3, 48, 28, 28],
    [1, 48, 28, 28],
    [3, 96, 5, 7],
    [2, 1, 3, 3],
    // backward_params: planes of whole vec4s in 13 segments ([3, 48, 28, 28] above), a plane that is
    // not (H·W = 143) in 3 segments, and 4 × 4 planes (the model's deepest level).
    [2, 3, 13, 11],
    [4, 40, 4, 4],
  ];
  for (const shape of shapes) {
    for (const withBias of [true, false]) {
      it(`forward and every gradient match float64 for x ${JSON.stringify(shape)}${withBias ? '' : ' (weight only)'}`, async () => {
        const r = rng(freshSeed(`modulatedLayerNorm ${shape} bias=${withBias}`));
        const d = data(r, shape);
        const ref = reference(d, withBias, shape);
        const [y, dx, dw, ...rest] = await run(fused, d, withBias, shape);
        const [dlb, dscale, dshift] = withBias ? rest : [null, ...rest];
        expectClose(y!, ref.y, 1e-5, `forward ${shape}`);
        expectClose(dx!, ref.dx, 1e-4, `grad x ${shape}`);
        expectClose(dw!, ref.dw, 1e-4, `grad lnWeight ${shape}`);
        if (withBias) expectClose(dlb!, ref.dlb, 1e-4, `grad lnBias ${shape}`);
        expectClose(dscale!, ref.dscale, 1e-4, `grad scale ${shape}`);
        expectClose(dshift!, ref.dshift, 1e-4, `grad shift ${shape}`);
      });
    }
  }

  for (const shape of [[3, 17, 5, 7], [2, 48, 28, 28]] as Shape[]) {
    for (const withBias of [true, false]) {
      it(`agrees with the composed layerNorm + mul + add for x ${JSON.stringify(shape)}${withBias ? '' : ' (weight only)'}`, async () => {
        const r = rng(freshSeed(`modulatedLayerNorm composed ${shape} bias=${withBias}`));
        const d = data(r, shape);
        const a = await run(fused, d, withBias, shape);
        const b = await run(composed, d, withBias, shape);
        const names = ['forward', 'grad x', 'grad lnWeight', ...(withBias ? ['grad lnBias'] : []), 'grad scale', 'grad shift'];
        names.forEach((what, k) => expectClose(a[k]!, b[k]!, k === 0 ? 1e-5 : 1e-4, `${what} vs composed ${shape}`));
      });
    }
  }

  it('takes scale and shift as [B, C, 1, 1] views too, and returns gradients of that shape', async () => {
    const e = await getEngine();
    const shape: Shape = [2, 5, 3, 4];
    const d = data(rng(freshSeed('modulatedLayerNorm 4-d scale')), shape);
    const ref = reference(d, true, shape);
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(d.x), shape);
      const s = e.tensor(Float32Array.from(d.scale), [2, 5, 1, 1]).asParameter();
      const t = e.tensor(Float32Array.from(d.shift), [2, 5, 1, 1]).asParameter();
      const y = modulatedLayerNorm(x, e.tensor(Float32Array.from(d.lnWeight), [5]), e.tensor(Float32Array.from(d.lnBias), [5]), s, t);
      backward(y, e.tensor(Float32Array.from(d.gout), shape));
      expectClose(await read(y), ref.y, 1e-5, 'forward');
      expect(s.grad!.shape).toEqual([2, 5, 1, 1]);
      expectClose(await read(s.grad!), ref.dscale, 1e-4, 'grad scale');
      expectClose(await read(t.grad!), ref.dshift, 1e-4, 'grad shift');
      for (const p of [s, t]) {
        p.grad?.dispose();
        p.dispose();
      }
    });
  });

  it('finite differences on a tiny shape', async () => {
    const e = await getEngine();
    const seed = freshSeed('modulatedLayerNorm finite differences');
    const shape: Shape = [2, 5, 3, 2];
    const d = data(rng(seed), shape);
    await gradCheck({
      e,
      seed,
      label: 'modulatedLayerNorm',
      inputs: [
        { data: d.x, shape },
        { data: d.lnWeight, shape: [5] },
        { data: d.lnBias, shape: [5] },
        { data: d.scale, shape: [2, 5] },
        { data: d.shift, shape: [2, 5] },
      ],
      f: ([x, w, b, s, t]) => modulatedLayerNorm(x!, w!, b!, s!, t!),
      probes: 6,
    });
  });

  it('rejects bad shapes with messages naming the op and the shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const x = e.empty([3, 17, 5, 7]);
      const w = e.empty([17]);
      expect(() => modulatedLayerNorm(x, w, null, e.empty([3, 16]), e.empty([3, 17]))).toThrow(
        /modulatedLayerNorm\(x \[3, 17, 5, 7\], lnWeight \[17\], lnBias null, scale \[3, 16\], shift \[3, 17\]\): scale must be \[B, C\] = \[3, 17\]/,
      );
      expect(() => modulatedLayerNorm(x, w, null, e.empty([3, 17]), e.empty([17]))).toThrow(/shift \[17\]\): shift must be \[B, C\] = \[3, 17\]/);
      expect(() => modulatedLayerNorm(x, e.empty([16]), e.empty([17]), e.empty([3, 17]), e.empty([3, 17]))).toThrow(/lnWeight \[16\].*: lnWeight must be \[17\]/);
      expect(() => modulatedLayerNorm(e.empty([17, 5, 7]), w, null, e.empty([3, 17]), e.empty([3, 17]))).toThrow(/modulatedLayerNorm\(x \[17, 5, 7\].*x must be \[B, C, H, W\]/);
    });
  });
});

describeTorchFixture('modulated-layernorm', (e, c) => {
  const withBias = c.options.withBias as boolean;
  const names = withBias ? ['x', 'lnWeight', 'lnBias', 'scale', 'shift'] : ['x', 'lnWeight', 'scale', 'shift'];
  return compareWithTorch(e, c, names, (x) => modulatedLayerNorm(x.x!, x.lnWeight!, x.lnBias ?? null, x.scale!, x.shift!));
});
