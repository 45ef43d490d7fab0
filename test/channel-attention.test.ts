import { describe, it, expect } from 'vitest';
import { transposedChannelAttention, transposedChannelAttentionComposed } from '../src/engine/ops/channel-attention.ts';
import { withVariants } from '../src/engine/tuning.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, expectSumClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng, uniform } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

const EPS = 1e-12;

interface Problem {
  B: number;
  C: number;
  H: number;
  W: number;
  heads: number;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  t: Float64Array;
  dout: Float64Array;
}

/**
 * float64 reference, written straight from the definition (PyTorch's Restormer Attention):
 * forward, then backward by the chain rule step by step, with q̂·dq̂ taken over the pixels.
 */
function reference(pr: Problem) {
  const { B, C, H, W, heads, q, k, v, t, dout } = pr;
  const d = C / heads;
  const n = H * W;
  const out = new Float64Array(B * C * n);
  const dq = new Float64Array(B * C * n);
  const dk = new Float64Array(B * C * n);
  const dv = new Float64Array(B * C * n);
  const dt = new Float64Array(heads);
  // Σ|terms| of each temperature gradient: the scale an f32 summation of mixed-sign terms is accountable to.
  const dtAbs = new Float64Array(heads);
  const row = (x: Float64Array, base: number, i: number) => x.subarray(base + i * n, base + (i + 1) * n);
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let z = 0; z < a.length; z++) s += a[z]! * b[z]!;
    return s;
  };
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < heads; h++) {
      const base = (b * C + h * d) * n;
      const nq = new Float64Array(d);
      const nk = new Float64Array(d);
      const qh: Float64Array[] = [];
      const kh: Float64Array[] = [];
      for (let i = 0; i < d; i++) {
        const qi = row(q, base, i);
        const ki = row(k, base, i);
        nq[i] = Math.sqrt(dot(qi, qi));
        nk[i] = Math.sqrt(dot(ki, ki));
        qh.push(qi.map((x) => x / Math.max(nq[i]!, EPS)));
        kh.push(ki.map((x) => x / Math.max(nk[i]!, EPS)));
      }
      const G: number[][] = [];
      const A: number[][] = [];
      for (let i = 0; i < d; i++) {
        G.push([]);
        for (let j = 0; j < d; j++) G[i]!.push(dot(qh[i]!, kh[j]!));
        const logits = G[i]!.map((g) => t[h]! * g);
        const m = Math.max(...logits);
        const ex = logits.map((l) => Math.exp(l - m));
        const s = ex.reduce((a, c) => a + c, 0);
        A.push(ex.map((x) => x / s));
      }
      for (let i = 0; i < d; i++) {
        for (let j = 0; j < d; j++) {
          const vj = row(v, base, j);
          const a = A[i]![j]!;
          for (let z = 0; z < n; z++) out[base + i * n + z]! += a * vj[z]!;
        }
      }
      // backward
      const dA: number[][] = [];
      for (let i = 0; i < d; i++) {
        dA.push([]);
        for (let j = 0; j < d; j++) dA[i]!.push(dot(row(dout, base, i), row(v, base, j)));
        for (let j = 0; j < d; j++) {
          const doi = row(dout, base, i);
          for (let z = 0; z < n; z++) dv[base + j * n + z]! += A[i]![j]! * doi[z]!;
        }
      }
      const dG: number[][] = [];
      for (let i = 0; i < d; i++) {
        const rd = dA[i]!.reduce((s, x, j) => s + x * A[i]![j]!, 0);
        const dS = dA[i]!.map((x, j) => A[i]![j]! * (x - rd));
        dt[h]! += dS.reduce((s, x, j) => s + x * G[i]![j]!, 0);
        dtAbs[h]! += dS.reduce((s, x, j) => s + Math.abs(x * G[i]![j]!), 0);
        dG.push(dS.map((x) => t[h]! * x));
      }
      const normBack = (xh: Float64Array, nrm: number, dxh: Float64Array, out: Float64Array, at: number) => {
        if (nrm >= EPS) {
          const pr = dot(xh, dxh);
          for (let z = 0; z < n; z++) out[at + z] = (dxh[z]! - xh[z]! * pr) / nrm;
        } else for (let z = 0; z < n; z++) out[at + z] = dxh[z]! / EPS;
      };
      for (let i = 0; i < d; i++) {
        const dqh = new Float64Array(n);
        const dkh = new Float64Array(n);
        for (let j = 0; j < d; j++) {
          for (let z = 0; z < n; z++) {
            dqh[z]! += dG[i]![j]! * kh[j]![z]!;
            dkh[z]! += dG[j]![i]! * qh[j]![z]!;
          }
        }
        normBack(qh[i]!, nq[i]!, dqh, dq, base + i * n);
        normBack(kh[i]!, nk[i]!, dkh, dk, base + i * n);
      }
    }
  }
  return { out, dq, dk, dv, dt, dtAbs };
}

function makeProblem(r: () => number, B: number, C: number, H: number, W: number, heads: number): Problem {
  const size = B * C * H * W;
  // Keys correlated with the queries, so Ĝ has large entries (independent random rows of many
  // pixels are nearly orthogonal) and the normalisation's projection term matters in backward.
  const q = randn(r, size);
  const noise = randn(r, size);
  return {
    B, C, H, W, heads,
    q: f32round(q),
    k: f32round(q.map((x, i) => 0.6 * x + 0.8 * noise[i]!)),
    v: f32round(randn(r, size)),
    t: f32round(uniform(r, heads, 0.5, 2)),
    dout: f32round(randn(r, size)),
  };
}

type AttnFn = typeof transposedChannelAttention;

/** Runs fn on the problem with q, k, v, temperature as parameters; returns output and gradients. */
async function runOn(e: Engine, pr: Problem, fn: AttnFn, tempShape: number[], requires = [true, true, true, true]) {
  return e.scope(async () => {
    const shape = [pr.B, pr.C, pr.H, pr.W];
    const ins = [pr.q, pr.k, pr.v].map((x) => e.tensor(Float32Array.from(x), shape));
    ins.push(e.tensor(Float32Array.from(pr.t), tempShape));
    ins.forEach((x, i) => { if (requires[i]) x.asParameter(); });
    const y = fn(ins[0]!, ins[1]!, ins[2]!, ins[3]!, pr.heads);
    const out = await read(y);
    backward(y, e.tensor(Float32Array.from(pr.dout), shape));
    const grads = await Promise.all(ins.map((x) => (x.grad ? read(x.grad) : Promise.resolve(null))));
    for (const x of ins) {
      x.grad?.dispose();
      x.dispose();
    }
    return { out, grads };
  });
}

const shapes: [number, number, number, number, number][] = [
  // B, C, H, W, heads
  [1, 3, 5, 7, 1],
  [2, 32, 5, 7, 2],
  [2, 51, 5, 7, 3],
  [1, 34, 6, 6, 2],
  [4, 34, 5, 5, 2], // B·heads ≥ 8: the cpu layout's whole-head blocks
  [2, 48, 8, 8, 4],
  [2, 96, 7, 9, 2],
  [1, 48, 28, 28, 1],
  [1, 48, 56, 56, 1],
];

/** dtemperature is one sum of ~d² mixed-sign terms per head: judge it against Σ|terms| (its condition), not |sum|. */
function expectTemperatureGrad(got: ArrayLike<number>, ref: { dt: Float64Array; dtAbs: Float64Array }, what: string): void {
  expectSumClose(got, ref.dt, ref.dtAbs, 1e-5, `${what} (per head)`);
}

/** Runs fn under each Gram layout (forced for fn only), so both paths run on any adapter. */
async function forEachLayout(fn: (layout: 'gpu' | 'cpu') => Promise<void>): Promise<void> {
  const e = await getEngine();
  for (const layout of ['gpu', 'cpu'] as const) await withVariants(e, { 'channel-attention': layout }, () => fn(layout));
}

describe('transposedChannelAttention', () => {
  for (const [B, C, H, W, heads] of shapes) {
    it(`forward and all gradients match float64: [${B}, ${C}, ${H}, ${W}], heads ${heads}`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`channel attention ${B}x${C}x${H}x${W}/${heads}`);
      const pr = makeProblem(rng(seed), B, C, H, W, heads);
      const ref = reference(pr);
      const tempShape = C % 2 === 0 ? [heads] : [heads, 1, 1];
      await forEachLayout(async (layout) => {
        const { out, grads } = await runOn(e, pr, transposedChannelAttention, tempShape);
        const tag = `[${B}, ${C}, ${H}, ${W}]/${heads} ${layout} layout`;
        expectClose(out, ref.out, 1e-5, `forward ${tag}`);
        expectClose(grads[0]!, ref.dq, 1e-4, `dq ${tag}`);
        expectClose(grads[1]!, ref.dk, 1e-4, `dk ${tag}`);
        expectClose(grads[2]!, ref.dv, 1e-4, `dv ${tag}`);
        expectTemperatureGrad(grads[3]!, ref, `dtemperature ${tag}`);
      });
    }, 120_000);
  }

  it('matches the composition of core ops, forward and backward', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('channel attention vs composed'));
    for (const [B, C, H, W, heads] of [[2, 51, 5, 7, 3], [2, 96, 14, 14, 2], [1, 6, 4, 4, 2]] as const) {
      const pr = makeProblem(r, B, C, H, W, heads);
      const fused = await runOn(e, pr, transposedChannelAttention, [heads]);
      const composed = await runOn(e, pr, transposedChannelAttentionComposed, [heads]);
      const tag = `[${B}, ${C}, ${H}, ${W}]/${heads}`;
      expectClose(fused.out, composed.out, 1e-5, `forward vs composed ${tag}`);
      ['dq', 'dk', 'dv', 'dtemperature'].forEach((name, i) => expectClose(fused.grads[i]!, composed.grads[i]!, 1e-4, `${name} vs composed ${tag}`));
      // and the composition itself against float64
      const ref = reference(pr);
      expectClose(composed.out, ref.out, 1e-5, `composed forward ${tag}`);
      expectTemperatureGrad(composed.grads[3]!, ref, `composed dtemperature ${tag}`);
    }
  }, 120_000);

  it('computes only the gradients asked for', async () => {
    const e = await getEngine();
    const pr = makeProblem(rng(freshSeed('channel attention partial grads')), 2, 34, 5, 6, 2);
    const ref = reference(pr);
    const refs = [ref.dq, ref.dk, ref.dv, ref.dt];
    const cases: [boolean[], string][] = [
      [[false, false, true, false], 'v only'],
      [[false, false, false, true], 'temperature only'],
      [[true, false, false, false], 'q only'],
      [[false, true, false, true], 'k and temperature'],
    ];
    await forEachLayout(async (layout) => {
      for (const [requires, what] of cases) {
        const { out, grads } = await runOn(e, pr, transposedChannelAttention, [2], requires);
        expectClose(out, ref.out, 1e-5, `forward (${what}, ${layout} layout)`);
        grads.forEach((g, i) => {
          if (requires[i]) expectClose(g!, refs[i]!, 1e-4, `gradient ${i} (${what}, ${layout} layout)`);
          else expect(g, `gradient ${i} should not exist (${what})`).toBeNull();
        });
      }
    });
  }, 60_000);

  it('clamps the norm of an all-zero row (F.normalize eps) in forward and backward', async () => {
    const e = await getEngine();
    const pr = makeProblem(rng(freshSeed('channel attention zero rows')), 1, 8, 3, 5, 2);
    const n = 15;
    pr.q.fill(0, 2 * n, 3 * n); // channel 2 of q (head 0, row 2)
    pr.k.fill(0, 5 * n, 6 * n); // channel 5 of k (head 1, row 1)
    const ref = reference(pr);
    // The zero rows' gradients are scaled by 1/eps; compare them and the other rows separately.
    const zeroRow = (x: Float64Array, c: number) => x.subarray(c * n, (c + 1) * n);
    const others = (x: Float64Array, c: number) => Float64Array.from([...x.subarray(0, c * n), ...x.subarray((c + 1) * n)]);
    await forEachLayout(async (layout) => {
      const { out, grads } = await runOn(e, pr, transposedChannelAttention, [2]);
      const tag = `(${layout} layout)`;
      expectClose(out, ref.out, 1e-5, `forward with zero rows ${tag}`);
      expectClose(zeroRow(grads[0]!, 2), zeroRow(ref.dq, 2), 1e-4, `dq of the zero row ${tag}`);
      expectClose(others(grads[0]!, 2), others(ref.dq, 2), 1e-4, `dq of the other rows ${tag}`);
      expectClose(zeroRow(grads[1]!, 5), zeroRow(ref.dk, 5), 1e-4, `dk of the zero row ${tag}`);
      expectClose(others(grads[1]!, 5), others(ref.dk, 5), 1e-4, `dk of the other rows ${tag}`);
      expectClose(grads[2]!, ref.dv, 1e-4, `dv with zero rows ${tag}`);
      expectTemperatureGrad(grads[3]!, ref, `dtemperature with zero rows ${tag}`);
    });
  });

  it('passes a finite-difference gradient check', async () => {
    const e = await getEngine();
    const seed = freshSeed('channel attention finite differences');
    const r = rng(seed);
    const shape = [1, 6, 3, 4];
    await gradCheck({
      e,
      seed,
      label: 'transposedChannelAttention',
      inputs: [
        { data: f32round(randn(r, 72)), shape },
        { data: f32round(randn(r, 72)), shape },
        { data: f32round(randn(r, 72)), shape },
        { data: f32round(uniform(r, 2, 0.5, 2)), shape: [2] },
      ],
      f: ([q, k, v, t]) => transposedChannelAttention(q!, k!, v!, t!, 2),
      probes: 8,
    });
  });

  it('keeps what backward needs alive with its output (scope returning only the output)', async () => {
    const e = await getEngine();
    const pr = makeProblem(rng(freshSeed('channel attention scopes')), 1, 16, 4, 4, 2);
    const ref = reference(pr);
    await e.scope(async () => {
      const shape = [1, 16, 4, 4];
      const [q, k, v] = [pr.q, pr.k, pr.v].map((x) => e.tensor(Float32Array.from(x), shape).asParameter()) as [Tensor, Tensor, Tensor];
      const t = e.tensor(Float32Array.from(pr.t), [2]).asParameter();
      const y = e.scope(() => transposedChannelAttention(q, k, v, t, 2));
      // Unrelated allocations that could reuse freed buffers before backward runs.
      e.scope(() => { for (let i = 0; i < 4; i++) e.fill(e.empty([2, 16, 16]), 7); });
      backward(y, e.tensor(Float32Array.from(pr.dout), shape));
      expectClose(await read(q.grad!), ref.dq, 1e-4, 'dq after scopes');
      expectTemperatureGrad(await read(t.grad!), ref, 'dtemperature after scopes');
      for (const x of [q, k, v, t]) {
        x.grad?.dispose();
        x.dispose();
      }
    });
  });

  it('rejects bad arguments with messages naming the op and the shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const q = e.empty([2, 10, 5, 7]);
      const t3 = e.empty([3]);
      expect(() => transposedChannelAttention(q, q, q, t3, 3)).toThrow(/transposedChannelAttention: the C = 10 channels of q \[2, 10, 5, 7\] are not divisible by heads = 3/);
      const k = e.empty([2, 10, 5, 6]);
      const t2 = e.empty([2]);
      expect(() => transposedChannelAttention(q, k, q, t2, 2)).toThrow(/transposedChannelAttention: k \[2, 10, 5, 6\] does not match q \[2, 10, 5, 7\]/);
      expect(() => transposedChannelAttention(q, q, e.empty([2, 10, 35]), t2, 2)).toThrow(/transposedChannelAttention: v \[2, 10, 35\] does not match q/);
      expect(() => transposedChannelAttention(q, q, q, e.empty([2, 1]), 2)).toThrow(/transposedChannelAttention: temperature \[2, 1\] must be \[2\] or \[2, 1, 1\]/);
      expect(() => transposedChannelAttentionComposed(q, q, q, t3, 3)).toThrow(/transposedChannelAttentionComposed: the C = 10 channels/);
      const wide = e.empty([1, 300, 2, 2]);
      expect(() => transposedChannelAttention(wide, wide, wide, e.empty([1]), 1)).toThrow(/transposedChannelAttention: C\/heads = 300\/1 = 300 exceeds/);
    });
  });
});

describeTorchFixture('channel-attention', (e, c) =>
  compareWithTorch(e, c, ['q', 'k', 'v', 'temperature'], (x) => transposedChannelAttention(x.q!, x.k!, x.v!, x.temperature!, c.options.heads as number)));
