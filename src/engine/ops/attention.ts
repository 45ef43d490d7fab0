/**
 * Fused scaled-dot-product attention (shaders/attention.wgsl): softmax(scale · q kᵀ + B_rel) v per
 * (batch, head) in one flash-attention-style kernel that streams keys with an online softmax, so no
 * score matrix is ever stored. Serves the DIL window cross-attention (relative-position bias, the
 * same landmark queries for every window) and the ViT's multi-head self-attention.
 */
import type { Tensor } from '../tensor.ts';
import { add } from './elementwise.ts';
import { gather } from './gather.ts';
import { permute } from './layout.ts';
import { matmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { assertF32, fmt } from './shape-util.ts';

export interface RelPosBias {
  /** [(2w − 1)², heads]: B_rel[h, i, j] = table[idx(i, j), h] (Swin relative-position indexing). */
  table: Tensor;
  /** Window side w: queries and keys are the w·w tokens of a window, row-major (y, x). */
  window: number;
}

export interface AttentionOptions {
  /** Multiplies q kᵀ (usually head_dim^−0.5). */
  scale: number;
  relPosBias?: RelPosBias;
  /**
   * nW: each query batch serves nW consecutive key/value batches (query batch = kv batch / nW),
   * e.g. the pooled landmark queries shared by every window of an image. Default 1.
   */
  qBatchShared?: number;
}

/** Largest head dim the kernel holds per invocation (shaders/attention.wgsl MAX_DH4 · 4). */
export const ATTENTION_MAX_HEAD_DIM = 128;
/** Floats of dS summed per batch group (backward with bias): bounds the extra memory to 16 MiB. */
const DS_SUM_FLOATS = 1 << 22;
/** Invocations the bias-gradient pass of backward_dq aims for before it trades parallelism for memory. */
const TARGET_INVOCATIONS = 4096;
const WG = 64;

/**
 * Rows per invocation: more rows share each streamed row's load, until the private arrays outgrow
 * what the compiler keeps in registers. Measured on llvmpipe (CPU ms at [16, 1, 256, 16] and
 * [16, 1, 64, 32]): forward and backward_dq fastest at QB · DH4 = 32 (8 queries of 4 vec4s, 4 of
 * 8), twice that ran 2–3× slower; backward_dkdv, with four such arrays, at 16 (4 keys of 4 vec4s:
 * 7 ms, 8 keys: 100 ms). Powers of two; backward_dkdv's divides 4.
 */
function rowsPerInvocation(dh4: number): { queries: number; keys: number } {
  const fit = (budget: number, max: number) => {
    let rows = 1;
    while (rows < max && 2 * rows * dh4 <= budget) rows *= 2;
    return rows;
  };
  return { queries: fit(32, 8), keys: fit(16, 4) };
}

/**
 * softmax(scale · q kᵀ + B_rel) v for q [Bq, h, Nq, dh], k and v [Bk, h, Nk, dh] with
 * Bk = Bq · qBatchShared; returns [Bk, h, Nq, dh]. Records backward for q, k, v and the bias table.
 * Head dims that are not a multiple of 4 run scaledDotProductAttentionComposed (it stores the scores).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  const op = 'scaledDotProductAttention';
  const bias = opts.relPosBias;
  assertF32(op, q, k, v, ...(bias ? [bias.table] : []));
  const shapes = () => `q ${fmt(q.shape)}, k ${fmt(k.shape)}, v ${fmt(v.shape)}`;
  if (q.rank !== 4 || k.rank !== 4 || v.rank !== 4) throw new Error(`${op}: expected q, k, v of rank 4 [batch, heads, tokens, head_dim], got ${shapes()}`);
  const [bq, heads, nq, dh] = q.shape as [number, number, number, number];
  const [bk, , nk] = k.shape as [number, number, number, number];
  if (!k.shape.every((d, i) => d === v.shape[i])) throw new Error(`${op}: k and v must have the same shape, got ${shapes()}`);
  if (k.shape[1] !== heads || k.shape[3] !== dh) throw new Error(`${op}: heads and head_dim of q and k differ: ${shapes()}`);
  const share = opts.qBatchShared ?? 1;
  if (!Number.isInteger(share) || share < 1) throw new Error(`${op}: qBatchShared must be a positive integer, got ${share}`);
  if (bk !== bq * share) throw new Error(`${op}: key batch ${bk} must equal query batch ${bq} × qBatchShared ${share} (${shapes()})`);
  if (dh < 1 || dh > ATTENTION_MAX_HEAD_DIM) throw new Error(`${op}: head_dim ${dh} outside 1..${ATTENTION_MAX_HEAD_DIM} (${shapes()})`);
  if (nq === 0 || nk === 0 || heads === 0 || bq === 0) throw new Error(`${op}: empty attention (${shapes()})`);
  if (!Number.isFinite(opts.scale)) throw new Error(`${op}: scale must be finite, got ${opts.scale}`);
  let window = 1;
  if (bias) {
    window = bias.window;
    const span = 2 * window - 1;
    if (!Number.isInteger(window) || window < 1) throw new Error(`${op}: window must be a positive integer, got ${window}`);
    if (nq !== window * window || nk !== window * window) {
      throw new Error(`${op}: a relative-position bias of window ${window} needs ${window * window} queries and keys, got ${shapes()}`);
    }
    const t = bias.table;
    if (t.rank !== 2 || t.shape[0] !== span * span || t.shape[1] !== heads) {
      throw new Error(`${op}: bias table ${t.describe()} should be [${span * span}, ${heads}] ((2·${window} − 1)², heads)`);
    }
  }

  // The kernel reads rows as whole vec4s; other head dims take the composed ops.
  if (dh % 4 !== 0) return scaledDotProductAttentionComposed(q, k, v, opts);
  const e = q.engine;
  const table = bias?.table;
  const dh4 = dh / 4;
  const { queries: qb, keys: kb } = rowsPerInvocation(dh4);
  const nk4 = Math.ceil(nk / 4);
  const params = { nq, nk, dh, heads, q_share: share, window, batch: bk, stride: 0, scale: opts.scale, q_group: 1, groups: bq, nk4, lanes: 0, invocations: 0 };
  const constants = { DH4: dh4, BIAS: bias ? 1 : 0, QB: qb };
  /** A launch over `outer` batches (or groups) × heads × ceil(rows / QB) invocations. */
  const launch = (outer: number, rows: number, extra: Partial<typeof params> = {}, perInvocation = qb) => {
    const lanes = Math.ceil(rows / perInvocation);
    const g = e.grid(outer * heads * lanes, WG);
    return { params: { ...params, ...extra, lanes, invocations: outer * heads * lanes, stride: g.stride }, workgroups: g.workgroups };
  };
  // The bias of every (query, four keys) as one vec4, made once and kept for the backward.
  let biasDense: Tensor | null = null;
  if (table) {
    biasDense = e.empty([heads, nq, nk4 * 4]);
    const g = e.grid(heads * nq * nk4, WG);
    e.dispatch('attention', { entry: 'expand_bias', bindings: { bias_table: table, bias_out: biasDense }, params: { ...params, stride: g.stride }, workgroups: g.workgroups });
  }
  const biasBinding = biasDense ?? e.dummy;
  const out = e.empty([bk, heads, nq, dh]);
  const lse = e.empty([bk, heads, nq]);
  e.dispatch('attention', { entry: 'forward', constants, bindings: { q, k, v, bias_dense: biasBinding, out, lse }, ...launch(bk, nq) });
  const inputs = table ? [q, k, v, table] : [q, k, v];
  return e.record(op, inputs, out, (dy, needs) => {
    const rows = bk * heads * nq;
    const rowStats = e.empty([rows, 2]);
    const rg = e.grid(rows, WG);
    e.dispatch('attention', {
      entry: 'row_stats_main',
      constants: { DH4: dh4 },
      bindings: { attn_out: out, dout: dy, saved_lse: lse, stats_out: rowStats },
      params: { ...params, stride: rg.stride },
      workgroups: rg.workgroups,
    });
    const common = { q, k, v, bias_dense: biasBinding, dout: dy, row_stats: rowStats };
    let dq: Tensor | null = null;
    let dk: Tensor | null = null;
    let dv: Tensor | null = null;
    let dtable: Tensor | null = null;
    const wantTable = !!table && needs[3]!;
    if (needs[0] || wantTable) {
      // With the bias, each dq invocation also sums dS over a group of query batches into its own
      // rows of dsSum; fewer groups cost parallelism, more cost memory (groups·heads·nq·nk floats).
      let groups = bq;
      if (wantTable) {
        const byMemory = Math.max(1, Math.floor(DS_SUM_FLOATS / (heads * nq * nk4 * 4)));
        groups = Math.min(bq, byMemory, Math.max(1, Math.ceil(TARGET_INVOCATIONS / (heads * Math.ceil(nq / qb)))));
      }
      const perGroup = Math.ceil(bq / groups);
      groups = Math.ceil(bq / perGroup);
      // Without the sum the binding is unused; a 1-vec4 scratch keeps e.dummy free for bias_dense.
      const dsSum = e.empty(wantTable ? [groups, heads, nq, nk4 * 4] : [4]);
      dq = e.empty(q.shape);
      e.dispatch('attention', {
        entry: 'backward_dq',
        constants: { ...constants, SUM_DS: wantTable ? 1 : 0 },
        bindings: { ...common, dq, ds_sum: dsSum },
        ...launch(groups, nq, { q_group: perGroup, groups }),
      });
      if (wantTable) {
        dtable = e.empty(table.shape);
        const tg = e.grid(table.size, WG);
        e.dispatch('attention', { entry: 'backward_dtable', bindings: { ds_sum: dsSum, dtable }, params: { ...params, stride: tg.stride, q_group: perGroup, groups }, workgroups: tg.workgroups });
      }
      dsSum.dispose();
      if (!needs[0]) {
        dq.dispose();
        dq = null;
      }
    }
    if (needs[1] || needs[2]) {
      dk = e.empty(k.shape);
      dv = e.empty(v.shape);
      e.dispatch('attention', { entry: 'backward_dkdv', constants: { ...constants, QB: kb }, bindings: { ...common, dk, dv }, ...launch(bk, nk, {}, kb) });
    }
    rowStats.dispose();
    if (!needs[1]) dk?.dispose();
    if (!needs[2]) dv?.dispose();
    return table ? [dq, needs[1] ? dk : null, needs[2] ? dv : null, dtable] : [dq, needs[1] ? dk : null, needs[2] ? dv : null];
  });
}

/** Swin relative-position index of tokens i, j of a w×w window (row-major y, x): the bias table's row. */
export function relPosIndex(i: number, j: number, w: number): number {
  const yi = Math.floor(i / w), xi = i % w, yj = Math.floor(j / w), xj = j % w;
  return (yi - yj + w - 1) * (2 * w - 1) + (xi - xj + w - 1);
}

/**
 * The unfused reference of scaledDotProductAttention, from core ops (matmul, gather, add, softmax),
 * same arguments and result; it stores the score matrix. Its test and the benchmark compare with it.
 */
export const scaledDotProductAttentionComposed: typeof scaledDotProductAttention = (q, k, v, opts) => {
  const [bq, heads, nq, dh] = q.shape as [number, number, number, number];
  const nk = k.shape[2]!;
  const share = opts.qBatchShared ?? 1;
  // Repeat the shared queries across kv batches with a broadcast view: [bq, 1, H, nq, dh] against k's [bq, share, ...].
  const kk = k.view([bq, share, heads, nk, dh]);
  const qq = q.view([bq, 1, heads, nq, dh]);
  let s = matmul(qq, kk, { transB: true, alpha: opts.scale });
  const bias = opts.relPosBias;
  if (bias) {
    const idx: number[] = [];
    for (let i = 0; i < nq; i++) for (let j = 0; j < nk; j++) idx.push(relPosIndex(i, j, bias.window));
    const rel = permute(gather(bias.table, { data: idx, shape: [nq, nk] }), [2, 0, 1]); // [H, nq, nk]
    s = add(s, rel);
  }
  return matmul(softmax(s), v.view([bq, share, heads, nk, dh])).view([bq * share, heads, nq, dh]);
};
