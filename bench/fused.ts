/**
 * The fused LRDif kernels as benchmark pairs: each fused op beside its composition from core ops
 * (the reference it is tested against), with the same FLOP and minimum-byte counts, so the suite
 * can print the fused op's roofline row and its speed-up over the composed reference.
 */
import {
  type Engine, type Tensor, transposedChannelAttention, transposedChannelAttentionComposed, gatedDepthwiseConv,
  gatedDepthwiseConvComposed, modulatedLayerNorm, modulatedLayerNormComposed, scaledDotProductAttention,
  scaledDotProductAttentionComposed,
} from '../src/engine/index.ts';
import { channelAttentionCost, channelAttentionShapes } from './channel-attention.ts';
import { gatedDwconvCost, gatedDwconvShapes } from './gated-dwconv.ts';
import { modulatedLayerNormCost, modulatedLayerNormShapes } from './modulated-layernorm.ts';
import { param, sizeOf, type Size } from './cases.ts';
import type { BenchCase } from './harness.ts';

export interface FusedPair {
  fused: BenchCase;
  composed: BenchCase;
}

type Cost = Pick<BenchCase, 'flops' | 'bytes' | 'flopsFwdBwd' | 'bytesFwdBwd'>;

/** Two cases with one cost and one input maker, differing only in the forward. */
function pair(name: string, shape: string, cost: Cost, make: (e: Engine) => Tensor[], fused: (xs: Tensor[]) => Tensor, composed: (xs: Tensor[]) => Tensor): FusedPair {
  const c = (label: string, f: (xs: Tensor[]) => Tensor): BenchCase => ({
    name: label, shape, ...cost,
    setup: (e) => {
      const inputs = make(e);
      return { inputs, forward: () => f(inputs) };
    },
  });
  return { fused: c(name, fused), composed: c(`${name} (composed)`, composed) };
}

export function channelAttentionPair(shape: readonly [number, number, number, number], heads: number): FusedPair {
  return pair('transposedChannelAttention', `q,k,v [${shape.join(',')}] heads ${heads}`, channelAttentionCost(shape, heads),
    (e) => [param(e, [...shape], 11), param(e, [...shape], 12), param(e, [...shape], 13), param(e, [heads], 14)],
    ([q, k, v, t]) => transposedChannelAttention(q!, k!, v!, t!, heads),
    ([q, k, v, t]) => transposedChannelAttentionComposed(q!, k!, v!, t!, heads));
}

export function gatedDwconvPair(shape: readonly [number, number, number, number]): FusedPair {
  const c2 = shape[1];
  return pair('gatedDepthwiseConv', `x [${shape.join(',')}]`, gatedDwconvCost(shape),
    (e) => [param(e, [...shape], 21), param(e, [c2, 1, 3, 3], 22), param(e, [c2], 23)],
    ([x, w, b]) => gatedDepthwiseConv(x!, w!, b!),
    ([x, w, b]) => gatedDepthwiseConvComposed(x!, w!, b!));
}

export function modulatedLayerNormPair(shape: readonly [number, number, number, number]): FusedPair {
  const [b, c] = shape;
  return pair('modulatedLayerNorm', `x [${shape.join(',')}]`, modulatedLayerNormCost(shape),
    (e) => [param(e, [...shape], 31), param(e, [c], 32), param(e, [c], 33), param(e, [b, c], 34), param(e, [b, c], 35)],
    ([x, w, bias, s, t]) => modulatedLayerNorm(x!, w!, bias!, s!, t!),
    ([x, w, bias, s, t]) => modulatedLayerNormComposed(x!, w!, bias!, s!, t!));
}

/** Window attention with relative-position bias (window = the whole map), or plain MHSA. */
export function attentionPair(batch: number, heads: number, n: number, dh: number, window?: number): FusedPair {
  const shape = [batch, heads, n, dh];
  const scale = dh ** -0.5;
  const span = window ? 2 * window - 1 : 0;
  // Useful FLOPs: q kᵀ and P v (4·B·h·N²·dh) forward, twice that more backward; bytes q, k, v, out.
  const flops = 4 * batch * heads * n * n * dh;
  const bytes = 4 * 4 * batch * heads * n * dh;
  return pair('scaledDotProductAttention', `[${shape.join(',')}]${window ? ` rel-bias ${window}×${window}` : ''}`, { flops, bytes, flopsFwdBwd: 3 * flops, bytesFwdBwd: 3 * bytes },
    (e) => {
      const xs = [param(e, shape, 41), param(e, shape, 42), param(e, shape, 43)];
      return window ? [...xs, param(e, [span * span, heads], 44)] : xs;
    },
    ([q, k, v, table]) => scaledDotProductAttention(q!, k!, v!, { scale, relPosBias: table ? { table, window: window! } : undefined }),
    ([q, k, v, table]) => scaledDotProductAttentionComposed(q!, k!, v!, { scale, relPosBias: table ? { table, window: window! } : undefined }));
}

export function fusedPairs(quick: boolean | Size): FusedPair[] {
  const size = sizeOf(quick);
  if (size === 'smoke') {
    return [
      channelAttentionPair([1, 8, 5, 5], 2),
      gatedDwconvPair([1, 8, 5, 5]),
      modulatedLayerNormPair([2, 6, 5, 5]),
      attentionPair(1, 2, 9, 8, 3),
    ];
  }
  const q = size === 'quick';
  return [
    ...channelAttentionShapes(q).map(({ shape, heads }) => channelAttentionPair(shape, heads)),
    ...gatedDwconvShapes(q).map((s) => gatedDwconvPair(s)),
    ...modulatedLayerNormShapes(q).map((s) => modulatedLayerNormPair(s)),
    attentionPair(q ? 2 : 8, 2, 784, 32, 28),
    attentionPair(q ? 2 : 8, 8, 148, 96),
  ];
}
