/**
 * Test utilities: a shared engine (NaN-poisoned allocations), seeded random inputs with the seed
 * logged, float64 comparisons, and gradient checks (analytic vs. float64 reference and finite
 * differences).
 */
import { expect } from 'vitest';
import { Engine } from '../src/engine/engine.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { mul } from '../src/engine/ops/elementwise.ts';
import { sumAll } from '../src/engine/ops/reduce.ts';
import { Rng } from '../src/model/init.ts';

let engine: Promise<Engine> | null = null;

/** One engine per test worker; every pool allocation is filled with NaN so unwritten outputs fail. */
export function getEngine(): Promise<Engine> {
  engine ??= Engine.create({ poison: true, log: false });
  return engine;
}

/** Uniform draws in [0, 1) from the project's seeded generator (src/model/init.ts). */
export function rng(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

/** A fresh seed per call (override with TEST_SEED), printed so a failure can be replayed. */
export function freshSeed(label: string): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.TEST_SEED;
  const seed = env ? parseInt(env, 10) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: ${seed} (replay with TEST_SEED=${seed})`);
  return seed;
}

/** Standard normal values (Box–Muller) from a seeded generator, as float64. */
export function randn(r: () => number, n: number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12);
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  }
  return out;
}

export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

/** Rounds float64 values to what the GPU will see (f32), so references start from identical inputs. */
export function f32round(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(x as ArrayLike<number>));
}

/** ‖out − ref‖ / ‖ref‖ (with NaN anywhere giving Infinity). */
export function relErr(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (out.length !== ref.length) throw new Error(`relErr: length ${out.length} vs ${ref.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const o = out[i]!;
    const r = ref[i]!;
    if (!Number.isFinite(o)) return Infinity;
    num += (o - r) ** 2;
    den += r * r;
  }
  if (den === 0) return Math.sqrt(num);
  return Math.sqrt(num / den);
}

export function expectClose(out: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  const err = relErr(out, ref);
  expect(err, `${what}: relative error ${err.toExponential(3)} (tolerance ${tol})`).toBeLessThan(tol);
}

/**
 * For outputs that are sums: each element's error relative to the sum of its terms' magnitudes
 * (refAbs = Σ|term|). A sum that cancels to near zero has f32 rounding of its terms' size, which
 * ‖out − ref‖/‖ref‖ would report as a large relative error.
 */
export function expectSumClose(out: ArrayLike<number>, ref: ArrayLike<number>, refAbs: ArrayLike<number>, tol: number, what: string): void {
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(out[i]! - ref[i]!) / Math.max(refAbs[i]!, 1e-30);
    expect(err, `${what} [${i}]: |error| / Σ|terms| = ${err.toExponential(3)} (tolerance ${tol})`).toBeLessThan(tol);
  }
}

export async function read(t: Tensor): Promise<Float64Array> {
  return Float64Array.from((await t.read()) as Float32Array);
}

/**
 * Gradient check: builds inputs as parameters, computes loss = Σ w ⊙ f(inputs) with fixed random
 * weights w, back-propagates, and compares each input's gradient with `refGrads` (float64) when
 * given, else with central finite differences of the same GPU function.
 */
export async function gradCheck(opts: {
  e: Engine;
  inputs: { data: ArrayLike<number>; shape: number[] }[];
  f: (xs: Tensor[]) => Tensor;
  seed: number;
  tol?: number;
  eps?: number;
  /** Number of coordinates probed per input for finite differences. */
  probes?: number;
  label: string;
}): Promise<void> {
  const { e, f, label } = opts;
  const r = rng(opts.seed ^ 0x5bd1e995);
  await e.scope(async () => {
    const xs = opts.inputs.map((i) => e.tensor(Float32Array.from(i.data), i.shape).asParameter());
    const y0 = e.noGrad(() => f(xs));
    const w = randn(r, y0.size);
    const wT = e.tensor(Float32Array.from(w), y0.shape);
    y0.dispose();
    const y = f(xs);
    const loss = sumAll(mul(y, wT));
    backward(loss);
    const analytic = await Promise.all(xs.map((x) => read(x.grad!)));
    const lossAt = async (k: number, idx: number, delta: number): Promise<number> => {
      const data = Float32Array.from(opts.inputs[k]!.data);
      data[idx] = data[idx]! + delta;
      return e.scope(async () => {
        const ys = e.noGrad(() => {
          const xk = e.tensor(data, opts.inputs[k]!.shape);
          const args = xs.map((x, j) => (j === k ? xk : x));
          return f(args);
        });
        const yv = await read(ys);
        let s = 0;
        for (let i = 0; i < yv.length; i++) s += yv[i]! * w[i]!;
        return s;
      });
    };
    const eps = opts.eps ?? 1e-2;
    for (let k = 0; k < xs.length; k++) {
      const n = opts.inputs[k]!.data.length;
      const probes = Math.min(n, opts.probes ?? 6);
      const num: number[] = [];
      const ana: number[] = [];
      for (let p = 0; p < probes; p++) {
        const idx = Math.floor(r() * n);
        const lp = await lossAt(k, idx, eps);
        const lm = await lossAt(k, idx, -eps);
        num.push((lp - lm) / (2 * eps));
        ana.push(analytic[k]![idx]!);
      }
      expectClose(ana, num, opts.tol ?? 2e-2, `${label}: finite-difference gradient of input ${k}`);
    }
    for (const x of xs) {
      x.grad?.dispose();
      x.dispose();
    }
  });
}
