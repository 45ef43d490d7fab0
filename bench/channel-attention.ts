/**
 * Fused transposedChannelAttention (Restormer MDTA's attention core) against its composition from
 * core ops (normalisation by square/sum/sqrt/maximum/div, matmul with transB, temperature mul,
 * softmax, matmul), forward and forward+backward, at the paper preset's first two U-Net levels:
 * q, k, v [8, 48, 56, 56] with 1 head and [8, 96, 28, 28] with 2 heads. Median of --runs
 * synchronised runs after 2 warm-up runs; --quick uses batch 1.
 *   ./node_modules/.bin/bun bench/channel-attention.ts [--quick] [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, backward, zeroGrad, type Tensor, transposedChannelAttention, transposedChannelAttentionComposed } from '../src/engine/index.ts';
import { comparisonCells, comparisonHead, ratioBasis, timeMedian, type BenchCase } from './harness.ts';

type Op = typeof transposedChannelAttention;

/** [B, C, H, W] and heads of the paper preset's levels 1 and 2. */
export function channelAttentionShapes(quick: boolean): { shape: [number, number, number, number]; heads: number }[] {
  const b = quick ? 1 : 8;
  return [
    { shape: [b, 48, 56, 56], heads: 1 },
    { shape: [b, 96, 28, 28], heads: 2 },
  ];
}

/**
 * Work and minimum traffic of one call with N = B·C·H·W elements per tensor and d = C/heads:
 * forward = q kᵀ (2·N·d) + the two norms (4·N) + attn·v (2·N·d) FLOPs, reading q, k, v and writing
 * out (16·N bytes). Backward adds four more d×d×HW products per slice (dout vᵀ, attnᵀ dout,
 * dĜ k, dĜᵀ q: 8·N·d FLOPs) and moves q, k, v, dout in and dq, dk, dv out (28·N bytes).
 */
export function channelAttentionCost([b, c, h, w]: readonly number[], heads: number) {
  const n = b! * c! * h! * w!;
  const d = c! / heads;
  const flops = 4 * n * d + 4 * n;
  const bytes = 16 * n + 4 * heads;
  return { flops, bytes, flopsFwdBwd: flops + 8 * n * d, bytesFwdBwd: bytes + 28 * n + 8 * heads };
}

/** Cases for bench/run.ts: the fused kernels at the preset shapes. */
export function channelAttentionCases(quick: boolean): BenchCase[] {
  return channelAttentionShapes(quick).map(({ shape, heads }) => ({
    name: 'transposedChannelAttention',
    shape: `q,k,v [${shape.join(', ')}] heads ${heads}`,
    ...channelAttentionCost(shape, heads),
    setup: (e: Engine) => {
      const { q, k, v, t } = makeInputs(e, shape, heads);
      return { forward: () => transposedChannelAttention(q, k, v, t, heads), inputs: [q, k, v, t] };
    },
  }));
}

function makeInputs(e: Engine, shape: readonly number[], heads: number) {
  const rand = (s: readonly number[], lo: number, hi: number) => {
    const n = s.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + (hi - lo) * Math.random();
    return e.tensor(data, s).asParameter();
  };
  return { q: rand(shape, -1, 1), k: rand(shape, -1, 1), v: rand(shape, -1, 1), t: rand([heads], 0.5, 2) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '10' } } });
  const runs = Math.max(10, parseInt(values.runs!, 10));
  const e = await Engine.create();
  console.log(`adapter: ${e.info.description}; median of ${runs} runs after 2 warm-up runs`);
  const basis = ratioBasis(e);
  const head = ['q,k,v shape / heads', 'pass', ...comparisonHead('GFLOP', basis)];
  console.log(head.map((h, i) => (i < 2 ? h.padEnd(i ? 8 : 26) : h.padStart(16))).join(' '));
  for (const { shape, heads } of channelAttentionShapes(values.quick!)) {
    const { q, k, v, t } = makeInputs(e, shape, heads);
    const dy = e.fill(e.empty(shape), 0.5).keep();
    const time = async (op: Op, withBackward: boolean) =>
      timeMedian(e, () => {
        if (!withBackward) return e.noGrad(() => e.scope(() => { op(q, k, v, t, heads); }));
        e.scope(() => backward(op(q, k, v, t, heads), dy));
        zeroGrad([q, k, v, t]);
      }, 2, runs);
    const cost = channelAttentionCost(shape, heads);
    for (const withBackward of [false, true]) {
      const f = await time(transposedChannelAttention, withBackward);
      const c = await time(transposedChannelAttentionComposed, withBackward);
      const flops = withBackward ? cost.flopsFwdBwd : cost.flops;
      console.log([`[${shape.join(', ')}] / ${heads}`.padEnd(26), (withBackward ? 'fwd+bwd' : 'fwd').padEnd(8), ...comparisonCells(f, c, flops, basis).map((x) => x.padStart(16))].join(' '));
    }
    for (const x of [q, k, v, t, dy]) x.dispose();
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
