import { describe, it, expect } from 'vitest';
import { crossEntropy, klDivergence, l1Loss, accuracyCounts } from '../src/engine/ops/losses.ts';
import { logSoftmax, softmax } from '../src/engine/ops/softmax.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { abs, affine, mul, mulScalar, sub } from '../src/engine/ops/elementwise.ts';
import { meanAll, sumAll } from '../src/engine/ops/reduce.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng, uniform } from './helpers.ts';
import { compareWithTorch, describeTorchFixture, uploadStored } from './torch-fixture.ts';

// ------------------------------------------------------------------ float64 references

/** Row-wise log-softmax of x/τ in float64. */
function logSoftmaxRows(x: ArrayLike<number>, B: number, K: number, tau = 1): Float64Array {
  const out = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, x[b * K + k]! / tau);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(x[b * K + k]! / tau - m);
    const lse = m + Math.log(s);
    for (let k = 0; k < K; k++) out[b * K + k] = x[b * K + k]! / tau - lse;
  }
  return out;
}

/** Cross-entropy with label smoothing: loss and d loss / d logits. */
function refCrossEntropy(x: ArrayLike<number>, y: number[], B: number, K: number, eps: number) {
  const lp = logSoftmaxRows(x, B, K);
  let loss = 0;
  const grad = new Float64Array(B * K);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) {
      const w = (k === y[b] ? 1 - eps : 0) + eps / K;
      loss -= w * lp[b * K + k]!;
      grad[b * K + k] = (Math.exp(lp[b * K + k]!) - w) / B;
    }
  }
  return { loss: loss / B, grad };
}

/** (1/B) Σ p (log p − log q), p = softmax(t/τ), q = softmax(s/τ); gradient to s. */
function refKl(t: ArrayLike<number>, s: ArrayLike<number>, B: number, K: number, tau: number) {
  const lp = logSoftmaxRows(t, B, K, tau);
  const lq = logSoftmaxRows(s, B, K, tau);
  let loss = 0;
  const grad = new Float64Array(B * K);
  for (let i = 0; i < B * K; i++) {
    const p = Math.exp(lp[i]!);
    loss += p * (lp[i]! - lq[i]!);
    grad[i] = (Math.exp(lq[i]!) - p) / (B * tau);
  }
  return { loss: loss / B, grad };
}

function randomLabels(r: () => number, B: number, K: number): number[] {
  return Array.from({ length: B }, () => Math.floor(r() * K));
}

/** Upstream gradient of the scalar loss (not 1, so backward's scaling by dy is tested). */
async function lossAndGrads(e: Engine, f: (xs: Tensor[]) => Tensor, inputs: Float64Array[], shapes: number[][], dy: number) {
  return e.scope(async () => {
    const xs = inputs.map((x, i) => e.tensor(Float32Array.from(x), shapes[i]!).asParameter());
    const loss = f(xs);
    expect(loss.shape).toEqual([1]);
    backward(loss, e.tensor([dy], [1]));
    const value = (await read(loss))[0]!;
    const grads = await Promise.all(xs.map((x) => (x.grad ? read(x.grad) : Promise.resolve(null))));
    for (const x of xs) {
      x.grad?.dispose();
      x.dispose();
    }
    return { value, grads };
  });
}

const relScalar = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

// Both row layouts of the row kernels: one invocation per row (CPU adapters) and lanes per row (GPUs).
const LAYOUTS = ['cpu', 'gpu'] as const;

const SHAPES: [number, number][] = [[1, 7], [1, 256], [3, 8], [37, 256], [37, 7], [3, 256], [300, 8]];

describe('crossEntropy', () => {
  for (const layout of LAYOUTS) {
    it(`value and gradient match float64 (odd sizes, label smoothing, ${layout} layout)`, async () => {
      const e = await getEngine();
      await withVariants(e, { 'row-reduction': layout }, async () => {
        const r = rng(freshSeed(`crossEntropy ${layout}`));
        for (const [B, K] of SHAPES) {
          for (const eps of [0, 0.1]) {
            const x = f32round(randn(r, B * K, 2));
            const y = randomLabels(r, B, K);
            const dy = 0.5 + r();
            const ref = refCrossEntropy(x, y, B, K, eps);
            const got = await lossAndGrads(e, ([t]) => crossEntropy(t!, y, { labelSmoothing: eps }), [x], [[B, K]], dy);
            expect(relScalar(got.value, ref.loss), `crossEntropy [${B}, ${K}] ε=${eps}: loss ${got.value} vs ${ref.loss}`).toBeLessThan(1e-5);
            expectClose(got.grads[0]!, ref.grad.map((g) => g * dy), 1e-4, `crossEntropy [${B}, ${K}] ε=${eps} gradient`);
          }
        }
      });
    });
  }

  it('logits of ±80, ±1000 and ±1e5 stay finite and correct', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('crossEntropy large logits'));
    for (const layout of LAYOUTS) {
      await withVariants(e, { 'row-reduction': layout }, async () => {
        for (const M of [80, 1000, 1e5]) {
          const [B, K] = [37, 7];
          const x = f32round(uniform(r, B * K, -M, M));
          // Half the labels at the row's max (tiny loss), half random (huge loss).
          const y = randomLabels(r, B, K).map((v, b) => {
            if (b % 2) return v;
            let best = 0;
            for (let k = 1; k < K; k++) if (x[b * K + k]! > x[b * K + best]!) best = k;
            return best;
          });
          const ref = refCrossEntropy(x, y, B, K, 0.05);
          const got = await lossAndGrads(e, ([t]) => crossEntropy(t!, y, { labelSmoothing: 0.05 }), [x], [[B, K]], 1);
          expect(Number.isFinite(got.value)).toBe(true);
          expect(relScalar(got.value, ref.loss), `±${M}: loss ${got.value} vs ${ref.loss}`).toBeLessThan(1e-5);
          expectClose(got.grads[0]!, ref.grad, 1e-4, `±${M} ${layout} gradient`);
        }
      });
    }
    // A row whose label is its max by a margin of 1000: loss ≈ 0 exactly, not lost to cancellation.
    const got = await lossAndGrads(e, ([t]) => crossEntropy(t!, [0]), [Float64Array.from([1000, 0, -1000])], [[1, 3]], 1);
    expect(got.value).toBe(0);
    expect(Array.from(got.grads[0]!)).toEqual([0, 0, 0]);
  });

  it('labels as u32 and i32 tensors; out-of-range labels give NaN on the GPU and an error from the host', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('crossEntropy label tensors'));
    const [B, K] = [5, 7];
    const x = f32round(randn(r, B * K));
    const y = randomLabels(r, B, K);
    const ref = refCrossEntropy(x, y, B, K, 0);
    await e.scope(async () => {
      const logits = e.tensor(Float32Array.from(x), [B, K]);
      for (const dtype of ['u32', 'i32'] as const) {
        const loss = crossEntropy(logits, e.tensor(y, [B], dtype));
        expect(relScalar((await read(loss))[0]!, ref.loss)).toBeLessThan(1e-5);
      }
      const bad = crossEntropy(logits, e.tensor([0, 1, 7, 2, 3], [B], 'u32'));
      expect(Number.isNaN((await read(bad))[0]!)).toBe(true);
      const negative = crossEntropy(logits, e.tensor([0, 1, -1, 2, 3], [B], 'i32'));
      expect(Number.isNaN((await read(negative))[0]!)).toBe(true);
      expect(() => crossEntropy(logits, [0, 1, 7, 2, 3])).toThrow('crossEntropy: label 7 at index 2 is out of range [0, 7) for logits [5, 7]');
      expect(() => crossEntropy(logits, [0, 1, -1, 2, 3])).toThrow(/crossEntropy: label -1 at index 2 is out of range/);
      expect(() => crossEntropy(logits, [0, 1])).toThrow('crossEntropy: 2 labels for logits [5, 7]');
      expect(() => crossEntropy(logits, e.tensor(y, [B]))).toThrow(/crossEntropy: labels must be u32 or i32, got f32/);
      expect(() => crossEntropy(logits.view([35]), [0])).toThrow('crossEntropy: expected logits [B, K], got [35]');
      expect(() => crossEntropy(logits, y, { labelSmoothing: 2 })).toThrow(/crossEntropy: labelSmoothing 2 is not in \[0, 1\]/);
    });
  });

  it('matches the composed reference: −Σ (smoothed one-hot ⊙ logSoftmax) / B', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('crossEntropy composed'));
    const [B, K] = [37, 8];
    const eps = 0.1;
    const x = f32round(randn(r, B * K, 3));
    const y = randomLabels(r, B, K);
    const w = new Float32Array(B * K);
    for (let b = 0; b < B; b++) for (let k = 0; k < K; k++) w[b * K + k] = (k === y[b] ? 1 - eps : 0) + eps / K;
    const fused = await lossAndGrads(e, ([t]) => crossEntropy(t!, y, { labelSmoothing: eps }), [x], [[B, K]], 1);
    const composed = await lossAndGrads(e, ([t]) => affine(sumAll(mul(logSoftmax(t!), e.tensor(w, [B, K]))), -1 / B, 0), [x], [[B, K]], 1);
    expect(relScalar(fused.value, composed.value)).toBeLessThan(1e-5);
    expectClose(fused.grads[0]!, composed.grads[0]!, 1e-4, 'crossEntropy vs composed gradient');
  });

  it('finite-difference gradient check', async () => {
    const e = await getEngine();
    const seed = freshSeed('crossEntropy gradCheck');
    const r = rng(seed);
    const y = randomLabels(r, 3, 5);
    await gradCheck({ e, inputs: [{ data: f32round(randn(r, 15)), shape: [3, 5] }], f: ([t]) => crossEntropy(t!, y, { labelSmoothing: 0.2 }), seed, label: 'crossEntropy', probes: 8 });
  });
});

describe('klDivergence', () => {
  for (const layout of LAYOUTS) {
    it(`value and gradient match float64 (τ = 1 and 0.15, ${layout} layout)`, async () => {
      const e = await getEngine();
      await withVariants(e, { 'row-reduction': layout }, async () => {
        const r = rng(freshSeed(`klDivergence ${layout}`));
        for (const [B, K] of SHAPES) {
          for (const tau of [1, 0.15]) {
            const t = f32round(randn(r, B * K));
            const s = f32round(randn(r, B * K));
            const dy = 0.5 + r();
            const ref = refKl(t, s, B, K, tau);
            // The target is a parameter too: it must receive no gradient (detached).
            const got = await lossAndGrads(e, ([a, b]) => klDivergence(a!, b!, { tau }), [t, s], [[B, K], [B, K]], dy);
            expect(relScalar(got.value, ref.loss), `kl [${B}, ${K}] τ=${tau}: ${got.value} vs ${ref.loss}`).toBeLessThan(1e-5);
            expect(got.grads[0]).toBeNull();
            expectClose(got.grads[1]!, ref.grad.map((g) => g * dy), 1e-4, `kl [${B}, ${K}] τ=${tau} gradient`);
          }
        }
      });
    });
  }

  it('large logits (±80 at τ = 0.15) stay finite; identical inputs give 0', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('klDivergence large'));
    const [B, K] = [9, 256];
    const t = f32round(uniform(r, B * K, -80, 80));
    const s = f32round(uniform(r, B * K, -80, 80));
    const ref = refKl(t, s, B, K, 0.15);
    const got = await lossAndGrads(e, ([a, b]) => klDivergence(a!, b!, { tau: 0.15 }), [t, s], [[B, K], [B, K]], 1);
    expect(relScalar(got.value, ref.loss)).toBeLessThan(1e-5);
    expectClose(got.grads[1]!, ref.grad, 1e-4, 'kl ±80 gradient');
    const same = await lossAndGrads(e, ([a, b]) => klDivergence(a!, b!), [t, t], [[B, K], [B, K]], 1);
    expect(Math.abs(same.value)).toBeLessThan(1e-6);
  });

  it('matches the composed reference: Σ softmax(t/τ) ⊙ (logSoftmax(t/τ) − logSoftmax(s/τ)) / B', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('klDivergence composed'));
    const [B, K] = [8, 256];
    const tau = 0.15;
    const t = f32round(randn(r, B * K));
    const s = f32round(randn(r, B * K));
    const fused = await lossAndGrads(e, ([a]) => klDivergence(e.tensor(Float32Array.from(t), [B, K]), a!, { tau }), [s], [[B, K]], 1);
    const composed = await lossAndGrads(e, ([a]) => {
      const target = mulScalar(e.tensor(Float32Array.from(t), [B, K]), 1 / tau);
      const p = softmax(target);
      return mulScalar(sumAll(mul(p, sub(logSoftmax(target), logSoftmax(mulScalar(a!, 1 / tau))))), 1 / B);
    }, [s], [[B, K]], 1);
    expect(relScalar(fused.value, composed.value)).toBeLessThan(1e-5);
    expectClose(fused.grads[0]!, composed.grads[0]!, 1e-4, 'kl vs composed gradient');
  });

  it('finite-difference gradient check', async () => {
    const e = await getEngine();
    const seed = freshSeed('klDivergence gradCheck');
    const r = rng(seed);
    const t = Float32Array.from(randn(r, 12));
    await gradCheck({ e, inputs: [{ data: f32round(randn(r, 12)), shape: [3, 4] }], f: ([s]) => klDivergence(e.tensor(t, [3, 4]), s!, { tau: 0.5 }), seed, label: 'klDivergence', probes: 8 });
  });

  it('shape errors name the op', async () => {
    const e = await getEngine();
    await e.scope(() => {
      expect(() => klDivergence(e.empty([2, 3]), e.empty([2, 4]))).toThrow('klDivergence: target [2, 3] and prediction [2, 4] differ in shape');
      expect(() => klDivergence(e.empty([2, 3]), e.empty([2, 3]), { tau: 0 })).toThrow(/klDivergence: tau 0 must be a positive number/);
    });
  });
});

describe('l1Loss', () => {
  it('value and gradients match float64 (sizes across the one-workgroup and partial-sum paths)', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('l1Loss'));
    for (const shape of [[1], [37], [8, 256], [3, 4099], [5, 3, 1000]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const a = f32round(randn(r, n));
      const b = f32round(randn(r, n));
      const dy = 0.5 + r();
      let ref = 0;
      for (let i = 0; i < n; i++) ref += Math.abs(a[i]! - b[i]!);
      ref /= n;
      const ga = a.map((x, i) => (dy * Math.sign(x - b[i]!)) / n);
      const got = await lossAndGrads(e, ([x, y]) => l1Loss(x!, y!), [a, b], [shape, shape], dy);
      expect(relScalar(got.value, ref), `l1 ${JSON.stringify(shape)}: ${got.value} vs ${ref}`).toBeLessThan(1e-5);
      expectClose(got.grads[0]!, ga, 1e-5, `l1 ${JSON.stringify(shape)} gradient of a`);
      expectClose(got.grads[1]!, ga.map((g) => -g), 1e-5, `l1 ${JSON.stringify(shape)} gradient of b`);
      // b without grad (a detached target): only a receives one.
      const one = await lossAndGrads(e, ([x]) => l1Loss(x!, e.tensor(Float32Array.from(b), shape)), [a], [shape], dy);
      expectClose(one.grads[0]!, ga, 1e-5, `l1 ${JSON.stringify(shape)} gradient with constant b`);
      // Composed reference: mean(|a − b|).
      const composed = await lossAndGrads(e, ([x, y]) => meanAll(abs(sub(x!, y!))), [a, b], [shape, shape], dy);
      expect(relScalar(got.value, composed.value)).toBeLessThan(1e-5);
      expectClose(got.grads[0]!, composed.grads[0]!, 1e-5, `l1 vs composed gradient`);
    }
  });

  it('finite-difference gradient check and shape errors', async () => {
    const e = await getEngine();
    const seed = freshSeed('l1Loss gradCheck');
    const r = rng(seed);
    // |a − b| has a kink at a = b, where a ±eps probe breaks the central difference: keep every
    // pair at least 0.05 apart (b = a ± (0.05 + |noise|)).
    const a = f32round(randn(r, 10));
    const gap = randn(r, 10);
    const b = f32round(a.map((v, i) => v + (r() < 0.5 ? -1 : 1) * (0.05 + Math.abs(gap[i]!))));
    await gradCheck({ e, inputs: [{ data: a, shape: [2, 5] }, { data: b, shape: [2, 5] }], f: ([x, y]) => l1Loss(x!, y!), seed, label: 'l1Loss', eps: 1e-3, probes: 6 });
    await e.scope(() => {
      expect(() => l1Loss(e.empty([2, 5]), e.empty([10]))).toThrow('l1Loss: shapes [2, 5] and [10] differ');
    });
  });
});

describe('accuracyCounts', () => {
  it('counts argmax hits on the GPU and accumulates without readback', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('accuracyCounts'));
    await e.scope(async () => {
      let total = 0;
      const acc = e.fill(e.empty([1], 'u32'), 0);
      for (const [B, K] of [[1, 7], [37, 8], [300, 7]] as const) {
        const x = f32round(randn(r, B * K));
        // Labels: correct with probability ~1/2 so the count is neither 0 nor B.
        const y = Array.from({ length: B }, (_, b) => {
          let best = 0;
          for (let k = 1; k < K; k++) if (x[b * K + k]! > x[b * K + best]!) best = k;
          return r() < 0.5 ? best : Math.floor(r() * K);
        });
        let hits = 0;
        for (let b = 0; b < B; b++) {
          let best = 0;
          for (let k = 1; k < K; k++) if (x[b * K + k]! > x[b * K + best]!) best = k;
          if (best === y[b]) hits++;
        }
        total += hits;
        const logits = e.tensor(Float32Array.from(x), [B, K]);
        expect(Array.from(await accuracyCounts(logits, y).read())).toEqual([hits]);
        expect(Array.from(await accuracyCounts(logits, e.tensor(y, [B], 'i32')).read())).toEqual([hits]);
        expect(accuracyCounts(logits, y, acc)).toBe(acc);
      }
      expect(Array.from(await acc.read())).toEqual([total]);
      // Ties go to the first maximal logit, as torch.argmax.
      expect(Array.from(await accuracyCounts(e.tensor([1, 3, 3], [1, 3]), [1]).read())).toEqual([1]);
      expect(() => accuracyCounts(e.empty([2, 3]), [0, 3])).toThrow('accuracyCounts: label 3 at index 1 is out of range [0, 3) for logits [2, 3]');
      expect(() => accuracyCounts(e.empty([2, 3]), [0, 1], e.empty([1]))).toThrow(/accuracyCounts: accumulator .* must be a u32 tensor/);
    });
  });
});

// One fixture holds the three losses; a case of none of them fails rather than going unchecked.
describeTorchFixture('losses', (e, c) => {
  if (c.name.startsWith('cross_entropy')) {
    const labels = c.options.labels as number[];
    return compareWithTorch(e, c, ['logits'], (x) => crossEntropy(x.logits!, labels, { labelSmoothing: c.options.labelSmoothing as number }));
  }
  if (c.name.startsWith('kl_div')) {
    return compareWithTorch(e, c, ['pred'], (x) => klDivergence(uploadStored(e, c, 'target'), x.pred!, { tau: c.options.tau as number }));
  }
  if (c.name.startsWith('l1_loss')) return compareWithTorch(e, c, ['a', 'b'], (x) => l1Loss(x.a!, x.b!));
  throw new Error(`losses torch fixture: unknown case "${c.name}" (expected cross_entropy, kl_div or l1_loss)`);
});
