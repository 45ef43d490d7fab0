/**
 * The DIL network's window cross-attention (lrdif-reference §6.4): landmark tokens query the image
 * tokens of each w×w window, with a relative-position bias, through the fused attention kernel.
 * Linear layers are the core `linear`; window partition / reverse are core `permute`s of views.
 */
import type { Tensor } from '../tensor.ts';
import { scaledDotProductAttention } from './attention.ts';
import { linear } from './matmul.ts';
import { permute, slice } from './layout.ts';
import { mean } from './reduce.ts';
import { assertF32, fmt } from './shape-util.ts';

export interface WindowCrossAttentionOptions {
  heads: number;
  /** Window side w; must divide H and W. Default: H (one window per image, the paper's setting). */
  window?: number;
  /** Optional query projection (the `qProj` option; the reference code has none). */
  qWeight?: Tensor;
  qBias?: Tensor;
  /**
   * With w < map and full-size landmark tokens: true average-pools them to w×w and shares those
   * queries across every window (DECISIONS "window < map"); false (default) partitions them into
   * windows like the image (per-window queries). Landmark tokens already of size w×w are shared.
   */
  poolQueries?: boolean;
}

/** [B, H, W, d] → [B·nW, w·w, d] windows in (image, window row, window column) order. */
function partition(x: Tensor, w: number): Tensor {
  const [B, H, W, d] = x.shape as [number, number, number, number];
  if (H === w && W === w) return x.view([B, w * w, d]);
  return permute(x.view([B, H / w, w, W / w, w, d]), [0, 1, 3, 2, 4, 5]).view([-1, w * w, d]);
}

/** Inverse of partition: [B·nW, w·w, d] → [B, H, W, d]. */
function reverse(x: Tensor, B: number, H: number, W: number, w: number): Tensor {
  const d = x.shape[2]!;
  if (H === w && W === w) return x.view([B, H, W, d]);
  return permute(x.view([B, H / w, W / w, w, w, d]), [0, 1, 3, 2, 4, 5]).view([B, H, W, d]);
}

/** [Bt, N, heads·dh] → [Bt, heads, N, dh]. */
function splitHeads(x: Tensor, heads: number): Tensor {
  const [bt, n, d] = x.shape as [number, number, number];
  return permute(x.view([bt, n, heads, d / heads]), [0, 2, 1, 3]);
}

/**
 * Window cross-attention: imgTokens [B, H, W, d] (channel-last, already LayerNormed) give K, V =
 * Linear(d → 2d) (k the first d channels, v the last d); lmTokens [B, H, W, d] (or [B, w, w, d])
 * are the queries (optionally projected). Per window and head: softmax(dh^−0.5 q kᵀ + B_rel) v,
 * heads merged, windows reversed, then `proj`. Returns [B, H, W, d]; everything records backward.
 */
export function windowCrossAttention(
  imgTokens: Tensor, lmTokens: Tensor, kvWeight: Tensor, kvBias: Tensor, relTable: Tensor, projWeight: Tensor, projBias: Tensor,
  opts: WindowCrossAttentionOptions,
): Tensor {
  const op = 'windowCrossAttention';
  assertF32(op, imgTokens, lmTokens, kvWeight, kvBias, relTable, projWeight, projBias);
  if (imgTokens.rank !== 4) throw new Error(`${op}: image tokens must be [B, H, W, d], got ${imgTokens.describe()}`);
  const [B, H, W, d] = imgTokens.shape as [number, number, number, number];
  const heads = opts.heads;
  const w = opts.window ?? H;
  if (!Number.isInteger(heads) || heads < 1 || d % heads !== 0) throw new Error(`${op}: ${heads} heads do not divide dim ${d} (image ${fmt(imgTokens.shape)})`);
  if (!Number.isInteger(w) || w < 1 || H % w !== 0 || W % w !== 0) {
    throw new Error(`${op}: window ${w} does not divide the ${H}×${W} map (image ${fmt(imgTokens.shape)})`);
  }
  const lmShape = fmt(lmTokens.shape);
  const ls = lmTokens.shape;
  const lmFull = ls.length === 4 && ls[0] === B && ls[1] === H && ls[2] === W && ls[3] === d;
  const lmWindow = ls.length === 4 && ls[0] === B && ls[1] === w && ls[2] === w && ls[3] === d;
  if (!lmFull && !lmWindow) throw new Error(`${op}: landmark tokens ${lmShape} must be [${B}, ${H}, ${W}, ${d}] or [${B}, ${w}, ${w}, ${d}] for image ${fmt(imgTokens.shape)}`);
  const expect = (t: Tensor, shape: number[], name: string) => {
    if (t.rank !== shape.length || t.shape.some((s, i) => s !== shape[i])) throw new Error(`${op}: ${name} ${t.describe()} should be ${fmt(shape)} (dim ${d}, heads ${heads}, window ${w})`);
  };
  expect(kvWeight, [2 * d, d], 'kvWeight');
  expect(kvBias, [2 * d], 'kvBias');
  const span = 2 * w - 1;
  expect(relTable, [span * span, heads], 'relTable');
  expect(projWeight, [d, d], 'projWeight');
  expect(projBias, [d], 'projBias');
  if (opts.qWeight) expect(opts.qWeight, [d, d], 'qWeight');
  if (opts.qBias) {
    if (!opts.qWeight) throw new Error(`${op}: qBias given without qWeight`);
    expect(opts.qBias, [d], 'qBias');
  }

  const nW = (H / w) * (W / w);
  const n = w * w;
  // Queries: shared w×w landmark tokens (given pooled, or pooled here), or partitioned per window.
  let lm: Tensor;
  let share: number;
  if (lmWindow || (opts.poolQueries && nW > 1)) {
    const f = H / w;
    const g = W / w;
    lm = lmWindow ? lmTokens.view([B, n, d]) : mean(mean(lmTokens.view([B, w, f, w, g, d]), 4), 2).view([B, n, d]);
    share = nW;
  } else {
    lm = partition(lmTokens, w);
    share = 1;
  }
  if (opts.qWeight) lm = linear(lm, opts.qWeight, opts.qBias);
  const q = splitHeads(lm, heads);

  const xw = partition(imgTokens, w);
  // K and V from the two halves of the kv layer: two products of half the width instead of one
  // product followed by a permute and two slices of the full result.
  const k = splitHeads(linear(xw, slice(kvWeight, 0, 0, d), slice(kvBias, 0, 0, d)), heads);
  const v = splitHeads(linear(xw, slice(kvWeight, 0, d, 2 * d), slice(kvBias, 0, d, 2 * d)), heads);

  const attn = scaledDotProductAttention(q, k, v, { scale: (d / heads) ** -0.5, relPosBias: { table: relTable, window: w }, qBatchShared: share });
  const merged = permute(attn, [0, 2, 1, 3]).view([B * nW, n, d]);
  return reverse(linear(merged, projWeight, projBias), B, H, W, w);
}
