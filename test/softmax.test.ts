import { describe, it, expect } from 'vitest';
import { softmax, logSoftmax, lanesPerRow } from '../src/engine/ops/softmax.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { backward } from '../src/engine/autograd.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng, uniform } from './helpers.ts';

/** float64 softmax / log-softmax over rows of length L, and the gradient for upstream dy. */
function reference(x: Float64Array, L: number, dy: Float64Array, log: boolean) {
  const y = new Float64Array(x.length);
  const dx = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += L) {
    let m = -Infinity;
    for (let k = 0; k < L; k++) m = Math.max(m, x[base + k]!);
    let s = 0;
    for (let k = 0; k < L; k++) s += Math.exp(x[base + k]! - m);
    let dot = 0;
    for (let k = 0; k < L; k++) {
      const sm = Math.exp(x[base + k]! - m) / s;
      y[base + k] = log ? x[base + k]! - m - Math.log(s) : sm;
      dot += log ? dy[base + k]! : dy[base + k]! * sm;
    }
    for (let k = 0; k < L; k++) {
      const sm = Math.exp(x[base + k]! - m) / s;
      dx[base + k] = log ? dy[base + k]! - sm * dot : sm * (dy[base + k]! - dot);
    }
  }
  return { y, dx };
}

const ops = { softmax, logSoftmax };

/**
 * Forward and gradient against float64. `gradVsDy` measures the gradient error against ‖dy‖
 * instead of ‖dx‖: rows that are one-hot to f32 precision (logits ±80) have a vanishing dx whose
 * size is below f32 resolution of dy (the max entry's dy − Σ dy⊙y cancels), in any f32 code.
 */
async function check(name: keyof typeof ops, shape: number[], xs: Float64Array, r: () => number, gradVsDy = false): Promise<void> {
  const e = await getEngine();
  const L = shape[shape.length - 1]!;
  const gy = f32round(randn(r, xs.length));
  const ref = reference(xs, L, gy, name === 'logSoftmax');
  await e.scope(async () => {
    const x = e.tensor(Float32Array.from(xs), shape).asParameter();
    const y = ops[name](x);
    expect(y.shape).toEqual(shape);
    backward(y, e.tensor(Float32Array.from(gy), shape));
    const yv = await read(y);
    const dx = await read(x.grad!);
    expect(yv.every(Number.isFinite) && dx.every(Number.isFinite), `${name} ${JSON.stringify(shape)}: non-finite output`).toBe(true);
    expectClose(yv, ref.y, 1e-5, `${name} forward ${JSON.stringify(shape)}`);
    if (gradVsDy) {
      const err = Math.hypot(...dx.map((v, i) => v - ref.dx[i]!)) / Math.hypot(...gy);
      expect(err, `${name} gradient ${JSON.stringify(shape)}: error ${err.toExponential(3)} relative to ‖dy‖`).toBeLessThan(1e-5);
    } else expectClose(dx, ref.dx, 1e-4, `${name} gradient ${JSON.stringify(shape)}`);
    x.grad!.dispose();
    x.dispose();
  });
}

describe('softmax / logSoftmax', () => {
  const shapes = [[1, 1], [5, 1], [1, 7], [5, 7], [333, 7], [2, 3, 7], [5, 257], [333, 257], [1, 3136], [5, 3136], [3, 4096]];
  for (const name of ['softmax', 'logSoftmax'] as const) {
    for (const layout of ['gpu', 'cpu'] as const) {
      it(`${name}: forward and gradient match float64 on odd shapes (${layout} layout)`, async () => {
        const r = rng(freshSeed(`${name} ${layout}`));
        await withVariants(await getEngine(), { 'row-reduction': layout }, async () => {
          for (const shape of shapes) {
            const n = shape.reduce((a, b) => a * b, 1);
            await check(name, shape, f32round(randn(r, n, 3)), r);
          }
        });
      });
    }

    it(`${name}: logits of ±80 stay finite and correct`, async () => {
      const r = rng(freshSeed(`${name} large logits`));
      for (const shape of [[7, 5], [9, 257], [2, 3136]]) {
        const n = shape.reduce((a, b) => a * b, 1);
        const xs = f32round(uniform(r, n, -80, 80));
        // Every row holds both extremes, so exp(x) alone would overflow and underflow.
        const L = shape[1]!;
        for (let base = 0; base < n; base += L) {
          xs[base] = 80;
          xs[base + L - 1] = -80;
        }
        await check(name, shape, xs, r, true);
      }
      // Far from zero as well: without the max subtraction exp(x) would overflow f32.
      await check(name, [5, 257], f32round(uniform(r, 5 * 257, 120, 280)), r, true);
    });

    it(`${name}: finite-difference gradient check`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`${name} gradCheck`);
      const data = f32round(randn(rng(seed), 15));
      await gradCheck({ e, inputs: [{ data, shape: [3, 5] }], f: ([x]) => ops[name](x!), seed, label: name, probes: 8 });
    });
  }

  it('the gpu layout shares rows among more invocations as they grow; the cpu layout never', async () => {
    const e = await getEngine();
    withVariants(e, { 'row-reduction': 'gpu' }, () => {
      expect([lanesPerRow(e, 7, 100000), lanesPerRow(e, 256, 4096), lanesPerRow(e, 4096, 3), lanesPerRow(e, 3136, 100000)]).toEqual([1, 16, 256, 256]);
      expect(lanesPerRow(e, 96, 1568, 96)).toBe(8); // few positions: split them anyway
    });
    withVariants(e, { 'row-reduction': 'cpu' }, () => {
      expect([lanesPerRow(e, 7, 100000), lanesPerRow(e, 4096, 3)]).toEqual([1, 1]);
    });
    // Unforced: the adapter kind's layout.
    expect(lanesPerRow(e, 4096, 3)).toBe(e.info.software ? 1 : 256);
  });

  it('bad arguments name the op and the shape', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      expect(() => softmax(e.empty([3, 0]))).toThrow(/softmax: the last axis of .*\[3, 0\] is empty/);
      expect(() => logSoftmax(e.empty([4], 'u32'))).toThrow(/logSoftmax: expected an f32 tensor, got u32 .*\[4\]/);
      expect(() => softmax(e.empty([]))).toThrow(/softmax: expected a tensor with at least one axis, got \[\]/);
    });
  });
});
