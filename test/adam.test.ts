import { describe, it, expect } from 'vitest';
import { Adam, type AdamOptions } from '../src/engine/ops/adam.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, randn, read, relErr, rng } from './helpers.ts';
import { TORCH_FORWARD_TOL, TORCH_GRAD_TOL, checkAgainstTorch, describeTorchFixture, storedTensor } from './torch-fixture.ts';

/** float64 torch.optim.Adam (foreach=False, capturable=False) with clip_grad_norm_ before each step. */
class RefAdam {
  m: Float64Array[];
  v: Float64Array[];
  steps: number[];
  lastNorm = 0;
  lastScale = 1;
  constructor(readonly p: Float64Array[], readonly o: Required<Omit<AdamOptions, 'clipGradNorm' | 'maxArenaElements'>> & { clipGradNorm?: number }) {
    this.m = p.map((x) => new Float64Array(x.length));
    this.v = p.map((x) => new Float64Array(x.length));
    this.steps = p.map(() => 0);
  }
  step(grads: (Float64Array | null)[]): void {
    const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, decoupled, clipGradNorm } = this.o;
    let scale = 1;
    if (clipGradNorm !== undefined) {
      let ss = 0;
      for (const g of grads) if (g) for (const x of g) ss += x * x;
      const norm = Math.sqrt(ss);
      scale = Math.min(clipGradNorm / (norm + 1e-6), 1);
      this.lastNorm = norm;
      this.lastScale = scale;
    }
    grads.forEach((gr, i) => {
      if (!gr) return;
      const t = ++this.steps[i]!;
      const p = this.p[i]!;
      const m = this.m[i]!;
      const v = this.v[i]!;
      const stepSize = lr / (1 - b1 ** t);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      for (let j = 0; j < p.length; j++) {
        let g = gr[j]! * scale;
        if (decoupled) p[j]! *= 1 - lr * wd;
        else g += wd * p[j]!;
        m[j] = m[j]! + (1 - b1) * (g - m[j]!);
        v[j] = b2 * v[j]! + (1 - b2) * g * g;
        p[j] = p[j]! - (stepSize * m[j]!) / (Math.sqrt(v[j]!) / bc2Sqrt + eps);
      }
    });
  }
}

const concat = (xs: ArrayLike<number>[]) => {
  const out: number[] = [];
  for (const x of xs) for (let i = 0; i < x.length; i++) out.push(x[i]!);
  return out;
};

interface RunOptions {
  sizes: number[];
  steps: number;
  opts: AdamOptions;
  /** Whether parameter i gets a gradient at step s (default: always). */
  hasGrad?: (i: number, s: number) => boolean;
  /** Learning rate at step s (default: constant). */
  lrAt?: (s: number) => number;
  gradScale?: number;
  label: string;
}

/** Runs the GPU optimiser and the float64 reference on the same gradient sequence; compares parameters, moments and steps. */
async function compareWithReference(e: Engine, ro: RunOptions): Promise<{ opt: Adam; params: Tensor[]; ref: RefAdam }> {
  const r = rng(freshSeed(ro.label));
  const p0 = ro.sizes.map((n) => f32round(randn(r, n)));
  const params = p0.map((x, i) => e.tensor(Float32Array.from(x), [x.length]).asParameter(`p${i}`));
  const full = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, ...ro.opts };
  const ref = new RefAdam(p0.map((x) => Float64Array.from(x)), full);
  const opt = new Adam(params, ro.opts);
  for (let s = 0; s < ro.steps; s++) {
    const lr = ro.lrAt ? ro.lrAt(s) : ro.opts.lr;
    opt.lr = lr;
    ref.o.lr = lr;
    const grads = ro.sizes.map((n, i) => ((ro.hasGrad?.(i, s) ?? true) ? f32round(randn(r, n, ro.gradScale ?? 1)) : null));
    params.forEach((p, i) => {
      const g = grads[i];
      p.grad = g ? e.tensor(Float32Array.from(g), [g.length]).keep() : null;
    });
    opt.step();
    ref.step(grads);
    for (const p of params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }
  const got = await Promise.all(params.map((p) => read(p)));
  expectClose(concat(got), concat(ref.p), 1e-5, `${ro.label}: parameters after ${ro.steps} steps`);
  // The displacement from the start is a stricter measure than the parameters themselves.
  const moved = (xs: ArrayLike<number>[]) => concat(xs).map((x, k) => x - concat(p0)[k]!);
  expectClose(moved(got), moved(ref.p), 1e-4, `${ro.label}: displacement after ${ro.steps} steps`);
  const st = await opt.state();
  console.log(`${ro.label}: relative error parameters ${relErr(concat(got), concat(ref.p)).toExponential(2)}, displacement ${relErr(moved(got), moved(ref.p)).toExponential(2)}, m ${relErr(concat(st.m), concat(ref.m)).toExponential(2)}, v ${relErr(concat(st.v), concat(ref.v)).toExponential(2)}`);
  expectClose(concat(st.m), concat(ref.m), 1e-5, `${ro.label}: first moments`);
  expectClose(concat(st.v), concat(ref.v), 1e-5, `${ro.label}: second moments`);
  expect(st.steps).toEqual(ref.steps);
  return { opt, params, ref };
}

function cleanup(opt: Adam, params: Tensor[]): void {
  opt.dispose();
  for (const p of params) p.dispose();
}

// Mixed sizes: one larger than a work chunk (4096), odd sizes, a scalar.
const SIZES = [5000, 1, 37, 300, 4096, 129, 7];

describe('Adam', () => {
  it('Adam: 50 steps match float64 torch.optim.Adam semantics', async () => {
    const e = await getEngine();
    const { opt, params } = await compareWithReference(e, { sizes: SIZES, steps: 50, opts: { lr: 1e-2 }, label: 'adam' });
    cleanup(opt, params);
  });

  it('Adam with L2 weight decay and non-default betas/eps', async () => {
    const e = await getEngine();
    const { opt, params } = await compareWithReference(e, {
      sizes: SIZES, steps: 50, opts: { lr: 3.5e-3, weightDecay: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6 }, label: 'adam-l2',
    });
    cleanup(opt, params);
  });

  it('AdamW (decoupled weight decay)', async () => {
    const e = await getEngine();
    const { opt, params } = await compareWithReference(e, { sizes: SIZES, steps: 50, opts: { lr: 1e-2, weightDecay: 0.1, decoupled: true }, label: 'adamw' });
    cleanup(opt, params);
  });

  it('gradient clipping, active: the GPU norm and scale match and are applied without readback', async () => {
    const e = await getEngine();
    // Total norm ≈ √(Σ sizes) ≈ 100 ≫ 1: clipping is active every step.
    const { opt, params, ref } = await compareWithReference(e, { sizes: SIZES, steps: 50, opts: { lr: 1e-2, clipGradNorm: 1, weightDecay: 0.01 }, label: 'clip-active' });
    expect(ref.lastScale).toBeLessThan(0.05);
    const [norm, scale] = Array.from(await read(opt.gradNormStats));
    expect(Math.abs(norm! - ref.lastNorm) / ref.lastNorm).toBeLessThan(1e-5);
    expect(Math.abs(scale! - ref.lastScale) / ref.lastScale).toBeLessThan(1e-5);
    cleanup(opt, params);
  });

  it('gradient clipping, inactive: a threshold above the norm changes nothing', async () => {
    const e = await getEngine();
    const { opt, params, ref } = await compareWithReference(e, { sizes: SIZES, steps: 20, opts: { lr: 1e-2, clipGradNorm: 1e4 }, label: 'clip-inactive' });
    expect(ref.lastScale).toBe(1);
    expect(Array.from(await read(opt.gradNormStats))[1]).toBe(1);
    cleanup(opt, params);
  });

  it('parameters without a gradient stay unchanged and keep their own step count', async () => {
    const e = await getEngine();
    // Parameter 2 never gets a gradient; parameter 0 only on even steps (so two step-count groups).
    const hasGrad = (i: number, s: number) => i !== 2 && (i !== 0 || s % 2 === 0);
    const { opt, params, ref } = await compareWithReference(e, { sizes: SIZES, steps: 21, opts: { lr: 1e-2, clipGradNorm: 5 }, hasGrad, label: 'no-grad' });
    expect(ref.steps[0]).toBe(11);
    expect(ref.steps[2]).toBe(0);
    const st = await opt.state();
    expect(Array.from(st.m[2]!).every((x) => x === 0)).toBe(true);
    cleanup(opt, params);
  });

  it('a parameter without a gradient is bit-identical after steps', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('adam frozen'));
    const a = e.tensor(Float32Array.from(randn(r, 300)), [300]).asParameter();
    const b = e.tensor(Float32Array.from(randn(r, 50)), [50]).asParameter();
    const b0 = await b.read();
    const opt = new Adam([a, b], { lr: 0.1, weightDecay: 0.1, decoupled: true });
    for (let s = 0; s < 3; s++) {
      a.grad = e.tensor(Float32Array.from(randn(r, 300)), [300]).keep();
      opt.step();
      a.grad.dispose();
      a.grad = null;
    }
    expect(Array.from(await b.read())).toEqual(Array.from(b0));
    expect(opt.stepCounts).toEqual([3, 0]);
    cleanup(opt, [a, b]);
  });

  it('learning-rate schedule: lr changes take effect and compile no pipelines; few dispatches per step', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('adam lr schedule'));
    const sizes = SIZES;
    const p0 = sizes.map((n) => f32round(randn(r, n)));
    const params = p0.map((x) => e.tensor(Float32Array.from(x), [x.length]).asParameter());
    const ref = new RefAdam(p0.map((x) => Float64Array.from(x)), { lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, clipGradNorm: 2 });
    const opt = new Adam(params, { lr: 0, clipGradNorm: 2 });
    let pipelines = -1;
    for (let s = 0; s < 12; s++) {
      const lr = 0.05 * 0.7 ** s;
      opt.lr = lr;
      ref.o.lr = lr;
      const grads = sizes.map((n) => f32round(randn(r, n)));
      params.forEach((p, i) => (p.grad = e.tensor(Float32Array.from(grads[i]!), [sizes[i]!]).keep()));
      const before = e.getStats();
      opt.step();
      const after = e.getStats();
      ref.step(grads);
      if (s >= 1) {
        // norm_partial + norm_finalize + update, whatever the number of tensors.
        expect(after.dispatches - before.dispatches).toBe(3);
        if (pipelines < 0) pipelines = after.pipelines;
        expect(after.pipelines).toBe(pipelines);
      }
      for (const p of params) {
        p.grad!.dispose();
        p.grad = null;
      }
    }
    expectClose(concat(await Promise.all(params.map((p) => read(p)))), concat(ref.p), 1e-5, 'lr schedule: parameters');
    cleanup(opt, params);
  });

  it('models larger than one arena split into several (clipping over all of them)', async () => {
    const e = await getEngine();
    const { opt, params } = await compareWithReference(e, {
      sizes: [700, 300, 1000, 5, 999, 2], steps: 10, opts: { lr: 1e-2, clipGradNorm: 3, maxArenaElements: 1000 }, label: 'arenas',
    });
    cleanup(opt, params);
  });

  it('hundreds of small tensors (more chunks than norm workgroups) in one update', async () => {
    const e = await getEngine();
    const sizes = Array.from({ length: 300 }, (_, i) => 1 + ((i * 37) % 50));
    const { opt, params } = await compareWithReference(e, { sizes, steps: 5, opts: { lr: 1e-2, clipGradNorm: 2 }, label: 'many tensors' });
    cleanup(opt, params);
  });

  it('state() / loadState() continue exactly where the saved optimiser was', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('adam state'));
    const sizes = [130, 7, 4100];
    const params = sizes.map((n) => e.tensor(Float32Array.from(randn(r, n)), [n]).asParameter());
    const gradSeq = Array.from({ length: 8 }, () => sizes.map((n) => Float32Array.from(randn(r, n))));
    const run = (opt: Adam, from: number, to: number) => {
      for (let s = from; s < to; s++) {
        params.forEach((p, i) => (p.grad = e.tensor(gradSeq[s]![i]!, [sizes[i]!]).keep()));
        opt.step();
        for (const p of params) {
          p.grad!.dispose();
          p.grad = null;
        }
      }
    };
    const optA = new Adam(params, { lr: 0.02, weightDecay: 0.01 });
    run(optA, 0, 4);
    const saved = await optA.state();
    const snapshot = await Promise.all(params.map((p) => p.read()));
    run(optA, 4, 8);
    const continued = await Promise.all(params.map((p) => p.read()));
    params.forEach((p, i) => e.write(p, snapshot[i]!));
    const optB = new Adam(params, { lr: 0.02, weightDecay: 0.01 });
    optB.loadState(saved);
    expect(optB.stepCounts).toEqual([4, 4, 4]);
    run(optB, 4, 8);
    const resumed = await Promise.all(params.map((p) => p.read()));
    expect(relErr(concat(resumed), concat(continued))).toBe(0);
    expect(() => optB.loadState({ ...saved, m: saved.m.slice(1) })).toThrow(/Adam.loadState: state for 3 parameters/);
    optA.dispose();
    cleanup(optB, params);
  });

  it('bad arguments throw messages naming Adam', async () => {
    const e = await getEngine();
    const p = e.tensor([1, 2, 3], [3]).asParameter();
    expect(() => new Adam([p], { lr: -1 })).toThrow(/Adam: invalid learning rate -1/);
    expect(() => new Adam([p], { lr: 1, beta2: 1 })).toThrow(/Adam: invalid beta2 1/);
    expect(() => new Adam([p, p], { lr: 1 })).toThrow(/Adam: parameter .* appears twice/);
    expect(() => new Adam([], { lr: 1 })).toThrow(/Adam: the parameter list is empty/);
    const opt = new Adam([p], { lr: 1 });
    p.grad = e.tensor([1, 2], [2]).keep();
    expect(() => opt.step()).toThrow(/Adam.step: gradient .*\[2\].* does not match parameter .*\[3\]/);
    p.grad.dispose();
    p.grad = null;
    cleanup(opt, [p]);
  });
});

describeTorchFixture('adam', async (e, c) => {
  const { adam, steps, sizes } = c.options as { adam: AdamOptions; steps: number; sizes: number[] };
  const p0 = sizes.map((_, i) => storedTensor(c, `p${i}`));
  const params = p0.map((s, i) => e.tensor(Float32Array.from(s.data), s.shape).asParameter(`p${i}`));
  const opt = new Adam(params, adam);
  try {
    for (let s = 0; s < steps; s++) {
      params.forEach((p, i) => {
        const g = storedTensor(c, `grad${s}_${i}`);
        p.grad = e.tensor(Float32Array.from(g.data), g.shape).keep();
      });
      opt.step();
      for (const p of params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
    const flat = (xs: ArrayLike<number>[]) => xs.flatMap((x) => Array.from(x));
    const got = flat(await Promise.all(params.map((p) => read(p))));
    const ref = flat(sizes.map((_, i) => storedTensor(c, `final_p${i}`).data));
    const start = flat(p0.map((s) => s.data));
    checkAgainstTorch(`${c.name}: parameters`, got, ref, TORCH_FORWARD_TOL);
    // The displacement from the start is the stricter measure of the update itself.
    checkAgainstTorch(`${c.name}: displacement`, got.map((x, k) => x - start[k]!), ref.map((x, k) => x - start[k]!), TORCH_GRAD_TOL);
    const st = await opt.state();
    checkAgainstTorch(`${c.name}: first moments`, flat(st.m), flat(sizes.map((_, i) => storedTensor(c, `final_m${i}`).data)), TORCH_FORWARD_TOL);
    checkAgainstTorch(`${c.name}: second moments`, flat(st.v), flat(sizes.map((_, i) => storedTensor(c, `final_v${i}`).data)), TORCH_FORWARD_TOL);
    expect(st.steps).toEqual(sizes.map(() => steps));
  } finally {
    opt.dispose();
    for (const p of params) p.dispose();
  }
});
