import { describe, it, expect } from 'vitest';
import * as ops from '../src/engine/ops/elementwise.ts';
import { backward } from '../src/engine/autograd.ts';
import { broadcastShapes, broadcastStrides, stridesOf } from '../src/engine/ops/shape-util.ts';
import { expectClose, expectSumClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng, uniform } from './helpers.ts';
import { geluGradRef, geluRef } from './reference.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

type Ref = { f: (x: number) => number; df: (x: number) => number; domain: [number, number] };
const slope = 0.1;
const refs: Record<string, Ref> = {
  exp: { f: Math.exp, df: Math.exp, domain: [-3, 3] },
  log: { f: Math.log, df: (x) => 1 / x, domain: [0.2, 4] },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x), domain: [0.2, 4] },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 * x ** -1.5, domain: [0.2, 4] },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2, domain: [-4, 4] },
  sigmoid: { f: (x) => 1 / (1 + Math.exp(-x)), df: (x) => { const s = 1 / (1 + Math.exp(-x)); return s * (1 - s); }, domain: [-6, 6] },
  gelu: { f: geluRef, df: geluGradRef, domain: [-5, 5] },
  relu: { f: (x) => Math.max(0, x), df: (x) => (x > 0 ? 1 : 0), domain: [-2, 2] },
  leakyRelu: { f: (x) => (x >= 0 ? x : slope * x), df: (x) => (x >= 0 ? 1 : slope), domain: [-2, 2] },
  square: { f: (x) => x * x, df: (x) => 2 * x, domain: [-2, 2] },
  recip: { f: (x) => 1 / x, df: (x) => -1 / (x * x), domain: [0.3, 3] },
  abs: { f: Math.abs, df: Math.sign, domain: [-2, 2] },
};

describe('unary ops', () => {
  for (const [name, ref] of Object.entries(refs)) {
    it(`${name}: forward and gradient match float64`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`unary ${name}`);
      const r = rng(seed);
      for (const n of [1, 257, 10007]) {
        await e.scope(async () => {
          const xs = f32round(uniform(r, n, ...ref.domain));
          const gy = f32round(randn(r, n));
          const x = e.tensor(Float32Array.from(xs), [n]).asParameter();
          const y = name === 'leakyRelu' ? ops.leakyRelu(x, slope) : ops.unary(name as ops.UnaryOp, x);
          backward(y, e.tensor(Float32Array.from(gy), [n]));
          expectClose(await read(y), xs.map(ref.f), 1e-5, `${name} forward n=${n}`);
          expectClose(await read(x.grad!), xs.map((v, i) => gy[i]! * ref.df(v)), 1e-4, `${name} grad n=${n}`);
          x.grad!.dispose();
          x.dispose();
        });
      }
    });
  }

  it('scalar variants', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('scalar ops'));
    const xs = f32round(randn(r, 300));
    await e.scope(async () => {
      const x = e.tensor(Float32Array.from(xs), [3, 100]);
      expectClose(await read(ops.addScalar(x, 2.5)), xs.map((v) => v + 2.5), 1e-6, 'addScalar');
      expectClose(await read(ops.mulScalar(x, -3)), xs.map((v) => v * -3), 1e-6, 'mulScalar');
      expectClose(await read(ops.divScalar(x, 4)), xs.map((v) => v / 4), 1e-6, 'divScalar');
      expectClose(await read(ops.neg(x)), xs.map((v) => -v), 1e-6, 'neg');
      expectClose(await read(ops.affine(x, 2, 1)), xs.map((v) => 2 * v + 1), 1e-6, 'affine');
    });
  });
});

/** float64 broadcasting reference for a binary op. */
function refBinary(f: (a: number, b: number) => number, a: Float64Array, as: number[], b: Float64Array, bs: number[]) {
  const shape = broadcastShapes('ref', as, bs);
  const sa = broadcastStrides(as, shape);
  const sb = broadcastStrides(bs, shape);
  const st = stridesOf(shape);
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  const ia = new Int32Array(n);
  const ib = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let pa = 0;
    let pb = 0;
    for (let k = 0; k < shape.length; k++) {
      const c = Math.floor(i / st[k]!) % shape[k]!;
      pa += c * sa[k]!;
      pb += c * sb[k]!;
    }
    ia[i] = pa;
    ib[i] = pb;
    out[i] = f(a[pa]!, b[pb]!);
  }
  return { out, ia, ib, shape };
}

describe('binary broadcasting ops', () => {
  const cases: [number[], number[]][] = [
    [[37], [37]],
    [[5, 7], [7]],
    [[4, 1, 6], [3, 1]],
    [[2, 3, 5, 7], [1, 3, 1, 7]],
    [[1], [9, 13]],
    [[2, 1, 3, 1, 5, 1, 2], [3, 4, 1, 1, 2]],
  ];
  const fns = {
    add: { f: (a: number, b: number) => a + b, da: () => 1, db: () => 1 },
    sub: { f: (a: number, b: number) => a - b, da: () => 1, db: () => -1 },
    mul: { f: (a: number, b: number) => a * b, da: (_a: number, b: number) => b, db: (a: number) => a },
    div: { f: (a: number, b: number) => a / b, da: (_a: number, b: number) => 1 / b, db: (a: number, b: number) => -a / (b * b) },
    maximum: { f: Math.max, da: (a: number, b: number) => (a >= b ? 1 : 0), db: (a: number, b: number) => (a >= b ? 0 : 1) },
    minimum: { f: Math.min, da: (a: number, b: number) => (a <= b ? 1 : 0), db: (a: number, b: number) => (a <= b ? 0 : 1) },
  };
  for (const [name, fn] of Object.entries(fns)) {
    it(`${name}: forward and both gradients with broadcasting`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`binary ${name}`));
      for (const [as, bs] of cases) {
        await e.scope(async () => {
          const na = as.reduce((p, d) => p * d, 1);
          const nb = bs.reduce((p, d) => p * d, 1);
          const av = f32round(randn(r, na));
          const bv = f32round(name === 'div' ? uniform(r, nb, 0.5, 2) : randn(r, nb));
          const ref = refBinary(fn.f, av, as, bv, bs);
          const gy = f32round(randn(r, ref.out.length));
          // Gradients of broadcast operands are sums: also keep Σ|term| to judge them by.
          const ga = new Float64Array(na);
          const gb = new Float64Array(nb);
          const gaAbs = new Float64Array(na);
          const gbAbs = new Float64Array(nb);
          for (let i = 0; i < ref.out.length; i++) {
            const x = av[ref.ia[i]!]!;
            const y = bv[ref.ib[i]!]!;
            ga[ref.ia[i]!] += gy[i]! * fn.da(x, y);
            gb[ref.ib[i]!] += gy[i]! * fn.db(x, y);
            gaAbs[ref.ia[i]!] += Math.abs(gy[i]! * fn.da(x, y));
            gbAbs[ref.ib[i]!] += Math.abs(gy[i]! * fn.db(x, y));
          }
          const a = e.tensor(Float32Array.from(av), as).asParameter();
          const b = e.tensor(Float32Array.from(bv), bs).asParameter();
          const out = ops.binary(name as ops.BinaryOp, a, b);
          expect(out.shape).toEqual(ref.shape);
          backward(out, e.tensor(Float32Array.from(gy), ref.shape));
          expectClose(await read(out), ref.out, 1e-6, `${name} ${JSON.stringify([as, bs])} forward`);
          expectSumClose(await read(a.grad!), ga, gaAbs, 1e-5, `${name} ${JSON.stringify([as, bs])} grad a`);
          expectSumClose(await read(b.grad!), gb, gbAbs, 1e-5, `${name} ${JSON.stringify([as, bs])} grad b`);
          for (const t of [a, b]) {
            t.grad!.dispose();
            t.dispose();
          }
        });
      }
    });
  }

  it('rejects shapes that do not broadcast, naming the op and both shapes', async () => {
    const e = await getEngine();
    await e.scope(() => {
      const a = e.tensor(new Float32Array(6), [2, 3]);
      const b = e.tensor(new Float32Array(8), [4, 2]);
      expect(() => ops.add(a, b)).toThrow(/add: shapes \[2, 3\] and \[4, 2\] do not broadcast/);
    });
  });

  it('finite differences through a composition (div → tanh → mul)', async () => {
    const e = await getEngine();
    const seed = freshSeed('fd composition');
    const r = rng(seed);
    await gradCheck({
      e,
      seed,
      label: 'div/tanh/mul',
      inputs: [
        { data: randn(r, 12), shape: [3, 4] },
        { data: uniform(r, 4, 0.5, 2), shape: [4] },
      ],
      f: ([a, b]) => ops.mul(ops.tanh(ops.div(a!, b!)), a!),
    });
  });
});

describeTorchFixture('elementwise', (e, c) => {
  if (c.name.startsWith('gelu')) return compareWithTorch(e, c, ['x'], (x) => ops.gelu(x.x!));
  throw new Error(`elementwise torch fixture: unknown case "${c.name}" (expected gelu)`);
});
