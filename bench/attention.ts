/**
 * Fused attention (scaledDotProductAttention) against its composition from core ops (matmul,
 * gather of the bias, add, softmax, matmul): forward and forward+backward, median of --runs
 * synchronised runs after warm-up, at the DIL cross-attention shapes (28/14/7 windows, dims
 * 64/128/256, heads 2/4/8, head dim 32, with relative-position bias) and the ViT self-attention
 * (148 tokens, 768 = 8 heads × 96). Batch 8, or 2 with --quick.
 *   ./node_modules/.bin/bun bench/attention.ts [--quick] [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, backward, zeroGrad, type Tensor, scaledDotProductAttention, scaledDotProductAttentionComposed } from '../src/engine/index.ts';
import { comparisonCells, comparisonHead, ratioBasis, timeMedian } from './harness.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '10' } } });
const runs = Math.max(10, parseInt(values.runs!, 10));
const batch = values.quick ? 2 : 8;

const e = await Engine.create();
console.log(`adapter: ${e.info.description}; batch ${batch}; median of ${runs} runs`);

interface Shape { name: string; heads: number; n: number; dh: number; window?: number }
const shapes: Shape[] = [
  { name: 'cross-attn 28×28 (d 64, 2 heads)', heads: 2, n: 784, dh: 32, window: 28 },
  { name: 'cross-attn 14×14 (d 128, 4 heads)', heads: 4, n: 196, dh: 32, window: 14 },
  { name: 'cross-attn 7×7 (d 256, 8 heads)', heads: 8, n: 49, dh: 32, window: 7 },
  { name: 'ViT MHSA 148×768 (8 heads)', heads: 8, n: 148, dh: 96 },
];

const random = (shape: number[], s = 1) => e.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (Math.random() * 2 - 1) * s), shape);

const basis = ratioBasis(e);
console.log(['case'.padEnd(36), 'pass'.padEnd(8), ...comparisonHead('GFLOP', basis).map((h) => h.padStart(16))].join(' '));
for (const s of shapes) {
  const shape = [batch, s.heads, s.n, s.dh];
  const q = random(shape).asParameter();
  const k = random(shape).asParameter();
  const v = random(shape).asParameter();
  const span = s.window ? 2 * s.window - 1 : 0;
  const table = s.window ? random([span * span, s.heads], 0.05).asParameter() : null;
  const dy = random(shape).keep();
  const params = table ? [q, k, v, table] : [q, k, v];
  const opts = { scale: s.dh ** -0.5, relPosBias: table ? { table, window: s.window! } : undefined };
  const fused = () => scaledDotProductAttention(q, k, v, opts);
  const composed = () => scaledDotProductAttentionComposed(q, k, v, opts);
  const fwd = (f: () => Tensor) => timeMedian(e, () => e.noGrad(() => e.scope(() => { f(); })), 2, runs);
  const fwdBwd = (f: () => Tensor) =>
    timeMedian(e, () => {
      e.scope(() => backward(f(), dy));
      zeroGrad(params);
    }, 2, runs);
  // Useful FLOPs: q kᵀ and P v forward (4·B·h·N²·dh), twice that backward.
  const flops = 4 * batch * s.heads * s.n * s.n * s.dh;
  for (const [pass, time, fl] of [['fwd', fwd, flops], ['fwd+bwd', fwdBwd, 3 * flops]] as const) {
    const fm = await time(fused);
    const cm = await time(composed);
    console.log([s.name.padEnd(36), pass.padEnd(8), ...comparisonCells(fm, cm, fl, basis).map((c) => c.padStart(16))].join(' '));
  }
  for (const t of [...params, dy]) t.dispose();
}
process.exit(0);
