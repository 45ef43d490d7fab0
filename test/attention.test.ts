import { describe, it, expect } from 'vitest';
import { scaledDotProductAttention, scaledDotProductAttentionComposed } from '../src/engine/ops/attention.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { type AttnCase, attentionOptions, refAttention } from './attention-ref.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

function inputs(c: AttnCase, r: () => number, qScale = 1) {
  const bk = c.bq * c.share;
  const span = c.window ? 2 * c.window - 1 : 0;
  return {
    q: f32round(randn(r, c.bq * c.heads * c.nq * c.dh, qScale)),
    k: f32round(randn(r, bk * c.heads * c.nk * c.dh, qScale)),
    v: f32round(randn(r, bk * c.heads * c.nk * c.dh)),
    table: c.window ? f32round(randn(r, span * span * c.heads, 0.5)) : null,
    dOut: f32round(randn(r, bk * c.heads * c.nq * c.dh)),
  };
}

async function checkCase(c: AttnCase, label: string, withComposed = true) {
  const e = await getEngine();
  const r = rng(freshSeed(label));
  const x = inputs(c, r);
  const ref = refAttention(c, x.q, x.k, x.v, x.table, x.dOut);
  const bk = c.bq * c.share;
  await e.scope(async () => {
    const q = e.tensor(Float32Array.from(x.q), [c.bq, c.heads, c.nq, c.dh]).asParameter();
    const k = e.tensor(Float32Array.from(x.k), [bk, c.heads, c.nk, c.dh]).asParameter();
    const v = e.tensor(Float32Array.from(x.v), [bk, c.heads, c.nk, c.dh]).asParameter();
    const table = x.table ? e.tensor(Float32Array.from(x.table), [x.table.length / c.heads, c.heads]).asParameter() : null;
    const params = table ? [q, k, v, table] : [q, k, v];
    const run = (f: () => Tensor) => {
      const y = f();
      backward(y, e.tensor(Float32Array.from(x.dOut), y.shape));
      return y;
    };
    const opts = attentionOptions(c, table);
    const y = run(() => scaledDotProductAttention(q, k, v, opts));
    expectClose(await read(y), ref.out, 1e-5, `${label} forward`);
    expectClose(await read(q.grad!), ref.dq, 1e-4, `${label} dq`);
    expectClose(await read(k.grad!), ref.dk, 1e-4, `${label} dk`);
    expectClose(await read(v.grad!), ref.dv, 1e-4, `${label} dv`);
    if (table) expectClose(await read(table.grad!), ref.dtable!, 1e-4, `${label} dtable`);
    if (withComposed) {
      const fused = await Promise.all(params.map((p) => read(p.grad!)));
      for (const p of params) { p.grad!.dispose(); p.grad = null; }
      const yc = run(() => scaledDotProductAttentionComposed(q, k, v, opts));
      expectClose(await read(yc), await read(y), 1e-5, `${label} composed forward`);
      const names = ['dq', 'dk', 'dv', 'dtable'];
      for (let n = 0; n < params.length; n++) expectClose(fused[n]!, await read(params[n]!.grad!), 1e-4, `${label} composed ${names[n]}`);
    }
    for (const p of params) { p.grad?.dispose(); p.dispose(); }
  });
}

describe('scaledDotProductAttention', () => {
  const cases: [string, AttnCase][] = [
    ['N=1 dh=8', { bq: 2, heads: 3, nq: 1, nk: 1, dh: 8, share: 1, scale: 8 ** -0.5 }],
    ['nq=7 nk=50 dh=33', { bq: 2, heads: 2, nq: 7, nk: 50, dh: 33, share: 1, scale: 33 ** -0.5 }],
    ['nq=50 nk=7 dh=32', { bq: 1, heads: 2, nq: 50, nk: 7, dh: 32, share: 1, scale: 32 ** -0.5 }],
    ['N=49 dh=96', { bq: 1, heads: 2, nq: 49, nk: 49, dh: 96, share: 1, scale: 96 ** -0.5 }],
    ['N=70 dh=5 (partial tiles and blocks)', { bq: 2, heads: 1, nq: 70, nk: 70, dh: 5, share: 1, scale: 0.7 }],
    ['shared queries, no bias', { bq: 2, heads: 2, nq: 9, nk: 13, dh: 8, share: 3, scale: 0.5 }],
  ];
  for (const [label, c] of cases) it(`${label}: forward and gradients match float64 and the composed ops`, () => checkCase(c, label));

  const biasCases: [string, AttnCase][] = [
    ['bias w=1', { bq: 2, heads: 2, nq: 1, nk: 1, dh: 8, share: 1, window: 1, scale: 0.3 }],
    ['bias w=7 batch 3 (shared offsets)', { bq: 3, heads: 2, nq: 49, nk: 49, dh: 8, share: 1, window: 7, scale: 8 ** -0.5 }],
    ['bias w=7 dh=33', { bq: 1, heads: 3, nq: 49, nk: 49, dh: 33, share: 1, window: 7, scale: 33 ** -0.5 }],
    ['bias w=8 dh=32 (N=64, two blocks of 32+)', { bq: 2, heads: 2, nq: 64, nk: 64, dh: 32, share: 1, window: 8, scale: 32 ** -0.5 }],
    // 784 tokens: dS of 7 batches is summed in 4 groups (memory cap), the last group holding one batch.
    ['bias w=28 batch 7 (grouped dS sums)', { bq: 7, heads: 1, nq: 784, nk: 784, dh: 8, share: 1, window: 28, scale: 8 ** -0.5 }],
    ['bias w=3, shared queries over 4 windows', { bq: 2, heads: 2, nq: 9, nk: 9, dh: 8, share: 4, window: 3, scale: 8 ** -0.5 }],
    ['bias w=7, shared queries over 4 windows, dh=32', { bq: 1, heads: 4, nq: 49, nk: 49, dh: 32, share: 4, window: 7, scale: 32 ** -0.5 }],
  ];
  for (const [label, c] of biasCases) it(`${label}: forward and gradients (bias table included) match`, () => checkCase(c, label));

  for (const batch of [1, 2]) {
    it(`ViT MHSA: 148 tokens, 8 heads, head dim 96, batch ${batch}`, () =>
      checkCase({ bq: batch, heads: 8, nq: 148, nk: 148, dh: 96, share: 1, scale: 96 ** -0.5 }, `MHSA batch ${batch}`, batch === 1));
  }

  // Head dim 3 runs the composed ops (the kernel reads rows as whole vec4s), head dim 4 the kernel.
  for (const dh of [3, 4]) {
    it(`finite differences on a tiny shape (bias, shared queries, head dim ${dh})`, async () => {
      const e = await getEngine();
      const seed = freshSeed(`attention finite differences dh=${dh}`);
      const r = rng(seed);
      const c: AttnCase = { bq: 1, heads: 2, nq: 4, nk: 4, dh, share: 2, window: 2, scale: 0.6 };
      const x = inputs(c, r);
      await gradCheck({
        e, seed, label: `attention dh=${dh}`,
        inputs: [
          { data: x.q, shape: [1, 2, 4, dh] },
          { data: x.k, shape: [2, 2, 4, dh] },
          { data: x.v, shape: [2, 2, 4, dh] },
          { data: x.table!, shape: [9, 2] },
        ],
        f: ([q, k, v, table]) => scaledDotProductAttention(q!, k!, v!, { scale: c.scale, qBatchShared: 2, relPosBias: { table: table!, window: 2 } }),
        probes: 6,
      });
    });
  }

  it('rejects bad shapes with messages naming the op and shapes', async () => {
    const e = await getEngine();
    e.scope(() => {
      const q = e.empty([1, 2, 9, 8]);
      const k = e.empty([2, 2, 9, 8]);
      const v = e.empty([2, 2, 9, 8]);
      const t = e.empty([25, 2]);
      expect(() => scaledDotProductAttention(q, k, v, { scale: 1 })).toThrow(/scaledDotProductAttention: key batch 2 must equal query batch 1 × qBatchShared 1/);
      expect(() => scaledDotProductAttention(q, k, v, { scale: 1, qBatchShared: 2, relPosBias: { table: t, window: 3 } })).not.toThrow();
      const bad = e.empty([24, 2]);
      expect(() => scaledDotProductAttention(q, k, v, { scale: 1, qBatchShared: 2, relPosBias: { table: bad, window: 3 } })).toThrow(/bias table .*\[24, 2\] should be \[25, 2\]/);
      expect(() => scaledDotProductAttention(q, k, v, { scale: 1, qBatchShared: 2, relPosBias: { table: t, window: 4 } })).toThrow(/window 4 needs 16 queries and keys/);
      expect(() => scaledDotProductAttention(q, e.empty([2, 2, 9, 7]), v, { scale: 1, qBatchShared: 2 })).toThrow(/k and v must have the same shape/);
      expect(() => scaledDotProductAttention(e.empty([1, 1, 2, 130]), e.empty([1, 1, 2, 130]), e.empty([1, 1, 2, 130]), { scale: 1 })).toThrow(/head_dim 130/);
    });
  });
});

describeTorchFixture('attention', (e, c) =>
  compareWithTorch(e, c, ['q', 'k', 'v'], (x) => scaledDotProductAttention(x.q!, x.k!, x.v!, { scale: c.options.scale as number })));
