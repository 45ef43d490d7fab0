import { describe, it, expect } from 'vitest';
import { gatedDepthwiseConv, gatedDepthwiseConvComposed } from '../src/engine/ops/gated-dwconv.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { geluGradRef, geluRef } from './reference.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

type Shape = [number, number, number, number];

/** float64 reference: forward output and every gradient for upstream gradient gout. */
function reference(x: Float64Array, weight: Float64Array, bias: Float64Array | null, gout: Float64Array, [B, C2, H, W]: Shape) {
  const Hd = C2 / 2;
  const plane = H * W;
  const y = new Float64Array(B * C2 * plane);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C2; c++) {
      const xb = (b * C2 + c) * plane;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          let s = bias ? bias[c]! : 0;
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const r = i + kh - 1;
              const q = j + kw - 1;
              if (r >= 0 && r < H && q >= 0 && q < W) s += weight[c * 9 + kh * 3 + kw]! * x[xb + r * W + q]!;
            }
          }
          y[xb + i * W + j] = s;
        }
      }
    }
  }
  const out = new Float64Array(B * Hd * plane);
  const gy = new Float64Array(y.length);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < Hd; c++) {
      for (let k = 0; k < plane; k++) {
        const o = (b * Hd + c) * plane + k;
        const i1 = (b * C2 + c) * plane + k;
        const i2 = i1 + Hd * plane;
        out[o] = geluRef(y[i1]!) * y[i2]!;
        gy[i1] = gout[o]! * y[i2]! * geluGradRef(y[i1]!);
        gy[i2] = gout[o]! * geluRef(y[i1]!);
      }
    }
  }
  const dx = new Float64Array(x.length);
  const dw = new Float64Array(weight.length);
  const db = new Float64Array(C2);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C2; c++) {
      const base = (b * C2 + c) * plane;
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const g = gy[base + i * W + j]!;
          db[c] = db[c]! + g;
          for (let kh = 0; kh < 3; kh++) {
            for (let kw = 0; kw < 3; kw++) {
              const r = i + kh - 1;
              const q = j + kw - 1;
              if (r < 0 || r >= H || q < 0 || q >= W) continue;
              dx[base + r * W + q] = dx[base + r * W + q]! + g * weight[c * 9 + kh * 3 + kw]!;
              dw[c * 9 + kh * 3 + kw] = dw[c * 9 + kh * 3 + kw]! + g * x[base + r * W + q]!;
            }
          }
        }
      }
    }
  }
  return { out, dx, dw, db };
}

function inputs(r: () => number, [B, C2, H, W]: Shape) {
  return {
    x: f32round(randn(r, B * C2 * H * W)),
    weight: f32round(randn(r, C2 * 9, 0.4)),
    bias: f32round(randn(r, C2, 0.3)),
    gout: f32round(randn(r, B * (C2 / 2) * H * W)),
  };
}

describe('gatedDepthwiseConv', () => {
  const shapes: Shape[] = [
    [1, 254, 5, 7], // Hd = 127 (C = 48 at expansion 2.66)
    [3, 254, 28, 28],
    [3, 34, 5, 7], // Hd = 17
    [1, 6, 28, 28], // Hd = 3
    [3, 96, 5, 7], // Hd = 48
    [2, 4, 3, 2], // narrower than one 4-wide tile
    [1, 2, 1, 1],
    [1, 4, 19, 10], // rows not whole vec4s, planes walked in 3 strips of 7, 7 and 5 rows
    [4, 10, 4, 4], // the model's deepest level: one vec4 per row
  ];
  for (const shape of shapes) {
    for (const withBias of [true, false]) {
      it(`forward and gradients match float64 for x ${JSON.stringify(shape)}${withBias ? ' with bias' : ''}`, async () => {
        const e = await getEngine();
        const r = rng(freshSeed(`gatedDepthwiseConv ${shape} bias=${withBias}`));
        const d = inputs(r, shape);
        const ref = reference(d.x, d.weight, withBias ? d.bias : null, d.gout, shape);
        await e.scope(async () => {
          const x = e.tensor(Float32Array.from(d.x), shape).asParameter();
          const weight = e.tensor(Float32Array.from(d.weight), [shape[1], 1, 3, 3]).asParameter();
          const bias = withBias ? e.tensor(Float32Array.from(d.bias), [shape[1]]).asParameter() : undefined;
          const out = gatedDepthwiseConv(x, weight, bias);
          expect(out.shape).toEqual([shape[0], shape[1] / 2, shape[2], shape[3]]);
          backward(out, e.tensor(Float32Array.from(d.gout), out.shape));
          expectClose(await read(out), ref.out, 1e-5, `forward ${shape}`);
          expectClose(await read(x.grad!), ref.dx, 1e-4, `grad x ${shape}`);
          expectClose(await read(weight.grad!), ref.dw, 1e-4, `grad weight ${shape}`);
          if (bias) expectClose(await read(bias.grad!), ref.db, 1e-4, `grad bias ${shape}`);
          for (const t of [x, weight, bias]) {
            t?.grad?.dispose();
            t?.dispose();
          }
        });
      });
    }
  }

  for (const shape of [[3, 254, 5, 7], [1, 34, 28, 28]] as Shape[]) {
    it(`agrees with the composed conv2d + slice + gelu + mul for x ${JSON.stringify(shape)}`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`gatedDepthwiseConv composed ${shape}`));
      const d = inputs(r, shape);
      const run = async (f: typeof gatedDepthwiseConvComposed) =>
        e.scope(async () => {
          const x = e.tensor(Float32Array.from(d.x), shape).asParameter();
          const weight = e.tensor(Float32Array.from(d.weight), [shape[1], 1, 3, 3]).asParameter();
          const bias = e.tensor(Float32Array.from(d.bias), [shape[1]]).asParameter();
          const out = f(x, weight, bias);
          backward(out, e.tensor(Float32Array.from(d.gout), out.shape));
          const res = [await read(out), await read(x.grad!), await read(weight.grad!), await read(bias.grad!)];
          for (const t of [x, weight, bias]) {
            t.grad?.dispose();
            t.dispose();
          }
          return res;
        });
      const fused = await run(gatedDepthwiseConv);
      const unfused = await run(gatedDepthwiseConvComposed);
      ['forward', 'grad x', 'grad weight', 'grad bias'].forEach((what, k) => expectClose(fused[k]!, unfused[k]!, k === 0 ? 1e-5 : 1e-4, `${what} vs composed ${shape}`));
    });
  }

  it('only the parameter gradients when x is not trainable', async () => {
    const e = await getEngine();
    const shape: Shape = [2, 10, 6, 9];
    const r = rng(freshSeed('gatedDepthwiseConv frozen x'));
    const d = inputs(r, shape);
    const ref = reference(d.x, d.weight, d.bias, d.gout, shape);
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(d.x), shape);
      const weight = e.tensor(Float32Array.from(d.weight), [10, 1, 3, 3]).asParameter();
      const bias = e.tensor(Float32Array.from(d.bias), [10]).asParameter();
      const out = gatedDepthwiseConv(x, weight, bias);
      backward(out, e.tensor(Float32Array.from(d.gout), out.shape));
      expect(x.grad).toBeNull();
      expectClose(await read(weight.grad!), ref.dw, 1e-4, 'grad weight');
      expectClose(await read(bias.grad!), ref.db, 1e-4, 'grad bias');
      for (const t of [weight, bias]) {
        t.grad?.dispose();
        t.dispose();
      }
    });
  });

  it('only the input gradient when weight and bias are frozen', async () => {
    const e = await getEngine();
    const shape: Shape = [3, 14, 9, 6];
    const r = rng(freshSeed('gatedDepthwiseConv frozen weight'));
    const d = inputs(r, shape);
    const ref = reference(d.x, d.weight, d.bias, d.gout, shape);
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(d.x), shape).asParameter();
      const weight = e.tensor(Float32Array.from(d.weight), [14, 1, 3, 3]);
      const bias = e.tensor(Float32Array.from(d.bias), [14]);
      const out = gatedDepthwiseConv(x, weight, bias);
      backward(out, e.tensor(Float32Array.from(d.gout), out.shape));
      expect(weight.grad).toBeNull();
      expectClose(await read(x.grad!), ref.dx, 1e-4, 'grad x');
      x.grad?.dispose();
      x.dispose();
    });
  });

  it('finite differences on a tiny shape', async () => {
    const e = await getEngine();
    const seed = freshSeed('gatedDepthwiseConv finite differences');
    const r = rng(seed);
    const shape: Shape = [2, 6, 4, 5];
    const d = inputs(r, shape);
    await gradCheck({
      e,
      seed,
      label: 'gatedDepthwiseConv',
      inputs: [
        { data: d.x, shape },
        { data: d.weight, shape: [6, 1, 3, 3] },
        { data: d.bias, shape: [6] },
      ],
      f: ([x, w, b]) => gatedDepthwiseConv(x!, w!, b!),
      probes: 8,
    });
  });

  it('rejects bad shapes with messages naming the op and the shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const x = e.empty([2, 255, 5, 7]);
      const w = e.empty([255, 1, 3, 3]);
      expect(() => gatedDepthwiseConv(x, w)).toThrow(/gatedDepthwiseConv\(x \[2, 255, 5, 7\], weight \[255, 1, 3, 3\]\): x has 255 channels; expected an even number/);
      const x2 = e.empty([2, 254, 5, 7]);
      expect(() => gatedDepthwiseConv(x2, e.empty([254, 1, 5, 5]))).toThrow(/gatedDepthwiseConv\(x \[2, 254, 5, 7\], weight \[254, 1, 5, 5\]\): weight must be \[254, 1, 3, 3\]/);
      expect(() => gatedDepthwiseConv(x2, e.empty([254, 1, 3, 3]), e.empty([127]))).toThrow(/bias \[127\]\): bias must be \[254\]/);
      expect(() => gatedDepthwiseConv(e.empty([254, 5, 7]), w)).toThrow(/gatedDepthwiseConv\(x \[254, 5, 7\].*x must be \[B, 2·Hd, H, W\]/);
    });
  });
});

describeTorchFixture('gated-dwconv', (e, c) => {
  const names = c.options.bias ? ['x', 'weight', 'bias'] : ['x', 'weight'];
  return compareWithTorch(e, c, names, (x) => gatedDepthwiseConv(x.x!, x.weight!, x.bias ?? null));
});
