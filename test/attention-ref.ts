/** The float64 attention reference of the attention tests (the composed-op reference is scaledDotProductAttentionComposed, beside the op). */
import { relPosIndex as relIndex, type AttentionOptions } from '../src/engine/ops/attention.ts';
import type { Tensor } from '../src/engine/tensor.ts';

export interface AttnCase {
  bq: number; heads: number; nq: number; nk: number; dh: number;
  share: number; window?: number; scale: number;
}

/**
 * float64 attention forward and backward: out = softmax(scale q kᵀ + B_rel) v per (kv batch, head),
 * query batch b / share; gradients for an upstream gradient dOut.
 */
export function refAttention(c: AttnCase, q: Float64Array, k: Float64Array, v: Float64Array, table: Float64Array | null, dOut: Float64Array) {
  const { bq, heads: H, nq, nk, dh, share, scale } = c;
  const bk = bq * share;
  const out = new Float64Array(bk * H * nq * dh);
  const dq = new Float64Array(q.length);
  const dk = new Float64Array(k.length);
  const dv = new Float64Array(v.length);
  const dtable = table ? new Float64Array(table.length) : null;
  const P = new Float64Array(nk);
  const dP = new Float64Array(nk);
  for (let b = 0; b < bk; b++) {
    for (let h = 0; h < H; h++) {
      const qh = ((Math.floor(b / share) * H + h) * nq) * dh;
      const kh = ((b * H + h) * nk) * dh;
      const oh = ((b * H + h) * nq) * dh;
      for (let i = 0; i < nq; i++) {
        let m = -Infinity;
        for (let j = 0; j < nk; j++) {
          let s = 0;
          for (let d = 0; d < dh; d++) s += q[qh + i * dh + d]! * k[kh + j * dh + d]!;
          s *= scale;
          if (table) s += table[relIndex(i, j, c.window!) * H + h]!;
          P[j] = s;
          m = Math.max(m, s);
        }
        let l = 0;
        for (let j = 0; j < nk; j++) l += P[j] = Math.exp(P[j]! - m);
        for (let j = 0; j < nk; j++) P[j]! /= l;
        for (let d = 0; d < dh; d++) {
          let o = 0;
          for (let j = 0; j < nk; j++) o += P[j]! * v[kh + j * dh + d]!;
          out[oh + i * dh + d] = o;
        }
        // backward of this row
        let dot = 0;
        for (let j = 0; j < nk; j++) {
          let g = 0;
          for (let d = 0; d < dh; d++) g += dOut[oh + i * dh + d]! * v[kh + j * dh + d]!;
          dP[j] = g;
          dot += g * P[j]!;
        }
        for (let j = 0; j < nk; j++) {
          const ds = P[j]! * (dP[j]! - dot);
          for (let d = 0; d < dh; d++) {
            dv[kh + j * dh + d]! += P[j]! * dOut[oh + i * dh + d]!;
            dq[qh + i * dh + d]! += scale * ds * k[kh + j * dh + d]!;
            dk[kh + j * dh + d]! += scale * ds * q[qh + i * dh + d]!;
          }
          if (dtable) dtable[relIndex(i, j, c.window!) * H + h]! += ds;
        }
      }
    }
  }
  return { out, dq, dk, dv, dtable };
}

/** The op's options for a case (the bias table given separately). */
export function attentionOptions(c: AttnCase, table: Tensor | null): AttentionOptions {
  return { scale: c.scale, qBatchShared: c.share, relPosBias: table ? { table, window: c.window! } : undefined };
}
