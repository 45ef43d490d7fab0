/**
 * Transposed (channel) attention of Restormer's MDTA — the paper's "DMNet" attention core —
 * fused into a few kernels (shaders/channel_attention.wgsl), and the same function composed of
 * core ops as the reference it is tested and benchmarked against.
 *
 * Per (batch, head), with the d = C/heads channels of the head as rows over the n = H·W pixels:
 *   q̂ = q / max(‖q‖₂, 1e-12) (k likewise), attn = softmax(temperature[h] · q̂ k̂ᵀ) (d × d, over the
 *   last axis), out = attn · v.
 * Forward: 2 dispatches (Gram + norms + softmax; attn · v). Backward: at most 5 (dv; dout vᵀ with
 * the softmax, temperature and normalisation backward on d × d matrices; a fixed-order sum of
 * partials for dt and k's coefficients; dq; dk).
 */
import { Tensor } from '../tensor.ts';
import { maximum, mul, div, square, sqrt } from './elementwise.ts';
import { sum } from './reduce.ts';
import { matmul } from './matmul.ts';
import { softmax } from './softmax.ts';
import { assertF32, fmt } from './shape-util.ts';
import { choose, defineAdapterLayout } from '../tuning.ts';

const OP = 'transposedChannelAttention';
/** F.normalize's clamp of the norm. */
const NORM_EPS = 1e-12;
/** Most invocations of a gram workgroup (gramPlan picks fewer when that holds the work), and those of the others. */
const GRAM_WG = 256;
const APPLY_WG = 64;
/** Floats of the gram kernels' workgroup array `fin`. */
const FIN_FLOATS = 2048;
/** Largest head size the gram kernels handle (tiles ≤ GRAM_WG and one block fits `fin`). */
const MAX_HEAD_DIM = 256;

/**
 * How the Gram kernels split work: 'gpu' uses 16-row blocks and up to 32 ranges of pixels per
 * workgroup (many workgroups); 'cpu' one block per (batch, head) when there are at least 8 of
 * them, and at most 2 ranges (a CPU adapter runs a workgroup's invocations in turn on one core,
 * and every summing round is a barrier). Chosen by adapter kind, not timed; tests force each
 * (withVariants 'channel-attention') so both paths run on any machine.
 */
const LAYOUT = defineAdapterLayout('channel-attention');

interface Shapes {
  batch: number;
  channels: number;
  heads: number;
  d: number;
  n: number;
}

function checkArgs(op: string, q: Tensor, k: Tensor, v: Tensor, temperature: Tensor, heads: number): Shapes {
  assertF32(op, q, k, v, temperature);
  if (q.rank !== 4) throw new Error(`${op}: q must be [B, C, H, W], got ${fmt(q.shape)}`);
  for (const [name, t] of [['k', k], ['v', v]] as const) {
    if (t.rank !== q.rank || t.shape.some((s, i) => s !== q.shape[i])) {
      throw new Error(`${op}: ${name} ${fmt(t.shape)} does not match q ${fmt(q.shape)} (q, k and v must have the same shape)`);
    }
  }
  const [batch, channels, H, W] = q.shape as [number, number, number, number];
  if (!Number.isInteger(heads) || heads < 1 || channels % heads !== 0) {
    throw new Error(`${op}: the C = ${channels} channels of q ${fmt(q.shape)} are not divisible by heads = ${heads}`);
  }
  const okTemp = (temperature.rank === 1 || (temperature.rank === 3 && temperature.shape[1] === 1 && temperature.shape[2] === 1)) && temperature.shape[0] === heads;
  if (!okTemp) throw new Error(`${op}: temperature ${fmt(temperature.shape)} must be [${heads}] or [${heads}, 1, 1] for heads = ${heads}`);
  if (batch * channels * H * W === 0) throw new Error(`${op}: q ${fmt(q.shape)} is empty`);
  return { batch, channels, heads, d: channels / heads, n: H * W };
}

/**
 * How the gram kernels split one slice's d × d Gram matrix: blocks of `blockRows` rows (a multiple
 * of the tile side) per workgroup, tile × tile products per invocation, and the n axis cut into
 * `slices` contiguous ranges (multiples of 4 long) whose partial sums are added in workgroup
 * memory (see LAYOUT).
 */
function gramPlan(d: number, n: number, headSlices: number, cpu: boolean) {
  const fit = (tile: number) => Math.floor((FIN_FLOATS - d) / (d + 1) / tile) * tile; // a block and its norms fit `fin`
  // 8×8 tiles load half as much per multiply-add as 4×4; small heads waste less with 4×4.
  const tile = d >= 16 && fit(8) >= 8 ? 8 : 4;
  const colTiles = Math.ceil(d / tile);
  const maxRows = Math.min(fit(tile), tile * Math.floor(GRAM_WG / colTiles));
  // A CPU adapter runs one workgroup per core: whole-head blocks only when B·heads alone gives enough workgroups.
  const wantRows = cpu && headSlices >= 8 ? d : Math.ceil(d / Math.ceil(d / 16));
  const blockRows = Math.min(maxRows, tile * Math.ceil(wantRows / tile));
  const tiles = (blockRows / tile) * colTiles;
  const ranges = Math.max(1, Math.min(Math.floor(GRAM_WG / tiles), Math.ceil(n / 32), cpu ? 2 : 32));
  const sliceLen = 4 * Math.ceil(n / ranges / 4);
  const slices = Math.ceil(n / sliceLen);
  // The smallest workgroup that holds every (tile, range) and a softmax row per invocation.
  let workgroup = 32;
  while (workgroup < GRAM_WG && workgroup < Math.max(tiles * slices, blockRows)) workgroup *= 2;
  return { tile, blockRows, blocks: Math.ceil(d / blockRows), colTiles, tiles, slices, sliceLen, workgroup };
}

/** Register block of the apply kernels: rows per invocation and vec4 column groups. */
function applyPlan(d: number, n: number) {
  const rows = d >= 8 ? 8 : 4;
  const colVecs = n > 4 * APPLY_WG ? 2 : 1;
  return { rows, colVecs, rowTiles: Math.ceil(d / rows), colGroups: Math.ceil(n / (4 * colVecs)) };
}

/**
 * Restormer's transposed attention on q, k, v [B, C, H, W] with `heads` heads (channel =
 * head·(C/heads) + i) and a learnable temperature [heads] (or [heads, 1, 1]) → [B, C, H, W].
 * Differentiable in q, k, v and temperature.
 */
export function transposedChannelAttention(q: Tensor, k: Tensor, v: Tensor, temperature: Tensor, heads: number): Tensor {
  const s = checkArgs(OP, q, k, v, temperature, heads);
  const { batch, channels, d, n } = s;
  if (d > MAX_HEAD_DIM) throw new Error(`${OP}: C/heads = ${channels}/${heads} = ${d} exceeds the ${MAX_HEAD_DIM} channels per head the fused kernels support (q ${fmt(q.shape)})`);
  const e = q.engine;
  const slices = batch * heads;
  const plan = gramPlan(d, n, slices, choose(e, LAYOUT, null) === 'cpu');
  if (slices > e.maxWorkgroupsPerDim) throw new Error(`${OP}: B·heads = ${slices} exceeds the device's ${e.maxWorkgroupsPerDim} workgroups per dimension (q ${fmt(q.shape)})`);

  // attn, Ĝ and the raw row norms ride in the tail of out's buffer, so they live exactly as long
  // as out and the tape node whose backward needs them.
  const outSize = q.size;
  // After out's last group of 4: vec4 kernels may write a tensor's padding up to there.
  const attnAt = Math.ceil(outSize / 4) * 4;
  const ghatAt = attnAt + slices * d * d;
  const normsAt = ghatAt + slices * d * d;
  const total = normsAt + 2 * batch * channels;
  const raw = e.empty([total]);
  raw.storage.retain();
  const out = new Tensor(e, raw.storage, q.shape);
  raw.dispose();
  const saved = { buffer: out.buffer, size: total * 4 };
  const params = {
    batch, heads, d, n,
    block_rows: plan.blockRows, blocks: plan.blocks, col_tiles: plan.colTiles, tiles: plan.tiles,
    slices: plan.slices, slice_len: plan.sliceLen, attn_at: attnAt, ghat_at: ghatAt,
    norms_at: normsAt, mat_at: 0, coef_at: 0, col_groups: 0, row_tiles: 0, stride: 0,
  };
  const gramGroups = [plan.blocks, slices, 1] as const;
  const gramConstants = { GT: plan.tile, VEC: n % 4 === 0 ? 1 : 0, GRAM_WG: plan.workgroup };
  const ap = applyPlan(d, n);
  const applyGrid = e.grid(slices * ap.rowTiles * ap.colGroups, APPLY_WG);
  /** z = op(M) · y (− c ⊙ u): out, dv, dq, dk. */
  const apply = (z: Tensor, y: Tensor, mat: Tensor | typeof saved, matAt: number, trans: boolean, proj?: { u: Tensor; coef: Tensor; at: number }) =>
    e.dispatch('channel_attention', {
      entry: 'apply_attention',
      constants: { RT: ap.rows, CV: ap.colVecs, VEC: gramConstants.VEC, TRANS: trans ? 1 : 0, PROJ: proj ? 1 : 0, MVEC: d % 4 === 0 ? 1 : 0 },
      bindings: { mat, rows_y: y, rows_x: proj ? proj.u : e.dummy, coef_in: proj?.coef ?? e.dummy, z_out: z },
      params: { ...params, mat_at: matAt, coef_at: proj?.at ?? 0, col_groups: ap.colGroups, row_tiles: ap.rowTiles, stride: applyGrid.stride },
      workgroups: applyGrid.workgroups,
    });

  // attn also goes to a scratch tensor: the product below writes out's buffer, which it may not read.
  const attn = e.empty([slices, d, d]);
  e.dispatch('channel_attention', {
    entry: 'gram_forward', constants: gramConstants,
    bindings: { rows_x: q, rows_y: k, temperature, attn, saved }, params, workgroups: gramGroups,
  });
  apply(out, v, attn, 0, false);
  attn.dispose();

  return e.record(OP, [q, k, v, temperature], out, (dout, needs) => {
    const [needQ, needK, needV, needT] = needs as [boolean, boolean, boolean, boolean];
    const savedIn = { buffer: out.buffer, size: total * 4 };
    let dq: Tensor | null = null;
    let dk: Tensor | null = null;
    let dv: Tensor | null = null;
    let dtemp: Tensor | null = null;
    if (needV) apply((dv = e.empty(q.shape)), dout, savedIn, attnAt, true);
    if (needQ || needK || needT) {
      const mq = e.empty([slices, d, d]);
      const coef = e.empty([3, slices, d]);
      const colpart = e.empty([slices, plan.blocks, d]);
      e.dispatch('channel_attention', {
        entry: 'gram_backward', constants: gramConstants,
        bindings: { rows_x: dout, rows_y: v, temperature, saved_in: savedIn, mq, coef, colpart }, params, workgroups: gramGroups,
      });
      dtemp = e.empty(temperature.shape);
      e.dispatch('channel_attention', {
        entry: 'finish_partials', bindings: { colpart_in: colpart, saved_in: savedIn, coef, dtemp }, params, workgroups: [Math.ceil((slices * d) / APPLY_WG), 1, 1],
      });
      if (needQ) apply((dq = e.empty(q.shape)), k, mq, 0, false, { u: q, coef, at: 0 });
      if (needK) apply((dk = e.empty(k.shape)), q, mq, 0, true, { u: k, coef, at: slices * d });
      if (!needT) {
        dtemp.dispose();
        dtemp = null;
      }
      for (const t of [mq, coef, colpart]) t.dispose();
    }
    return [dq, dk, dv, dtemp];
  });
}

/**
 * The same function composed of core ops (views, square/sum/sqrt/maximum/div for the
 * normalisation, matmul with transB, mul by the temperature, softmax, matmul): the reference
 * the fused op is tested and benchmarked against. Differentiable through the core ops' backward.
 */
export function transposedChannelAttentionComposed(q: Tensor, k: Tensor, v: Tensor, temperature: Tensor, heads: number): Tensor {
  const { batch, d, n } = checkArgs('transposedChannelAttentionComposed', q, k, v, temperature, heads);
  const e = q.engine;
  // Intermediates stay in the caller's scope: the tape's backward closures read them.
  const split = (x: Tensor) => x.view([batch, heads, d, n]);
  const eps = e.fill(e.empty([1]), NORM_EPS);
  const normalize = (x: Tensor) => div(x, maximum(sqrt(sum(square(x), -1, true)), eps));
  const qn = normalize(split(q));
  const kn = normalize(split(k));
  const logits = mul(matmul(qn, kn, { transB: true }), temperature.view([1, heads, 1, 1]));
  const out = matmul(softmax(logits), split(v));
  return out.view(q.shape);
}
