/**
 * Fused losses (shaders/losses/, one file per loss): cross-entropy with label smoothing, the
 * LRDif KL term, mean absolute error, and an on-GPU count of correct predictions. Each loss is one
 * row-parallel forward that reduces to a [1] scalar (plus a one-workgroup sum, sum_partials.wgsl,
 * when it needed several workgroups) and a one-dispatch backward.
 */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { lanesPerRow } from './softmax.ts';
import { assertF32, fmt, sameShape } from './shape-util.ts';

/** Invocations per workgroup of the shaders in shaders/losses/. */
const WG = 256;
/** Elements per workgroup of losses/l1.wgsl's forward (FLAT_CHUNK in the shader). */
const FLAT_CHUNK = 4096;

type Labels = Tensor | ArrayLike<number>;

function checkLogits(op: string, logits: Tensor): { B: number; K: number } {
  assertF32(op, logits);
  if (logits.rank !== 2) throw new Error(`${op}: expected logits [B, K], got ${fmt(logits.shape)}`);
  const [B, K] = logits.shape as [number, number];
  if (B === 0 || K === 0) throw new Error(`${op}: logits ${fmt(logits.shape)} are empty`);
  return { B, K };
}

/**
 * Labels as a u32/i32 [B] tensor. Host arrays are range-checked here and uploaded; a GPU tensor
 * cannot be checked without a readback, so the kernels turn an out-of-range label into a NaN loss
 * (and NaN gradients) instead.
 */
function labelTensor(op: string, e: Engine, labels: Labels, B: number, K: number): Tensor {
  if ('engine' in labels && 'dtype' in labels) {
    const t = labels as Tensor;
    if (t.dtype === 'f32') throw new Error(`${op}: labels must be u32 or i32, got f32 ${t.describe()}`);
    if (t.size !== B || t.rank !== 1) throw new Error(`${op}: labels ${fmt(t.shape)} do not match logits [${B}, ${K}] (expected [${B}])`);
    return t;
  }
  const arr = labels as ArrayLike<number>;
  if (arr.length !== B) throw new Error(`${op}: ${arr.length} labels for logits [${B}, ${K}]`);
  for (let i = 0; i < B; i++) {
    const y = arr[i]!;
    if (!Number.isInteger(y) || y < 0 || y >= K) throw new Error(`${op}: label ${y} at index ${i} is out of range [0, ${K}) for logits [${B}, ${K}]`);
  }
  return e.tensor(Uint32Array.from(arr), [B], 'u32');
}

/**
 * Launches the forward of row loss `shader` (a file of shaders/losses/), which writes one partial
 * sum per workgroup, then adds the partials into a [1] result with `scale` (directly when one
 * workgroup covered every row). `p` holds the shader's own uniform members.
 */
function rowLoss(e: Engine, shader: string, rows: number, L: number, bindings: Record<string, Tensor>, p: Record<string, number>, scale: number): Tensor {
  const lanes = lanesPerRow(e, L, rows);
  const g = e.grid(rows, WG / lanes);
  const workgroups = g.workgroups[0] * g.workgroups[1];
  const constants = { LANES: lanes };
  const base = { ...p, rows, L, n: rows * L, row_stride: g.stride };
  if (workgroups === 1) {
    const out = e.empty([1]);
    e.dispatch(shader, { entry: 'forward', constants, bindings: { ...bindings, out }, params: { ...base, scale }, workgroups: g.workgroups });
    return out;
  }
  return reducePartials(e, workgroups, scale, (out) => e.dispatch(shader, { entry: 'forward', constants, bindings: { ...bindings, out }, params: { ...base, scale: 1 }, workgroups: g.workgroups }));
}

function reducePartials(e: Engine, count: number, scale: number, fill: (partials: Tensor) => void): Tensor {
  const partials = e.empty([count]);
  fill(partials);
  const out = e.empty([1]);
  e.dispatch('losses/sum_partials', { bindings: { part: partials, out }, params: { n: count, scale }, workgroups: [1] });
  partials.dispose();
  return out;
}

export interface CrossEntropyOptions {
  /** ε of torch's CrossEntropyLoss(label_smoothing=ε): targets (1 − ε)·onehot + ε/K. */
  labelSmoothing?: number;
}

/**
 * Mean cross-entropy of logits [B, K] against integer labels [B] (a u32/i32 tensor or a host
 * array, which is range-checked), as a [1] tensor: fused log-softmax + NLL, stable for logits of
 * any magnitude. Gradient (softmax − targets)/B to the logits.
 */
export function crossEntropy(logits: Tensor, labels: Labels, options: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const { B, K } = checkLogits(op, logits);
  const smoothing = options.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new Error(`${op}: labelSmoothing ${smoothing} is not in [0, 1]`);
  const e = logits.engine;
  const y = labelTensor(op, e, labels, B, K);
  const stats = e.empty([B, 2]);
  const loss = rowLoss(e, 'losses/cross_entropy', B, K, { logits, labels: y, stats }, { smoothing }, 1 / B);
  return e.record(op, [logits], loss, (dy) => {
    const dx = e.empty(logits.shape);
    const g = e.grid(B * K, WG);
    e.dispatch('losses/cross_entropy', {
      entry: 'backward',
      bindings: { logits, labels: y, stats_r: stats, dy, dx },
      params: { rows: B, L: K, n: B * K, row_stride: g.stride, scale: 1 / B, smoothing },
      workgroups: g.workgroups,
    });
    return [dx];
  });
}

export interface KlOptions {
  /** Temperature τ: both distributions are softmax(logits/τ). 1 by default; DiffIR uses 0.15. */
  tau?: number;
}

/**
 * KL(p ‖ q) summed over classes and averaged over the batch, as a [1] tensor:
 * (1/B)·Σ_b Σ_i p_i (log p_i − log q_i) with p = softmax(targetLogits/τ) treated as a constant
 * (no gradient reaches the target) and q = softmax(predLogits/τ); gradient (q − p)/(B·τ) to
 * predLogits. This is F.kl_div(log_softmax(pred/τ), softmax(target.detach()/τ), 'batchmean').
 */
export function klDivergence(targetLogits: Tensor, predLogits: Tensor, options: KlOptions = {}): Tensor {
  const op = 'klDivergence';
  const { B, K } = checkLogits(op, predLogits);
  assertF32(op, targetLogits);
  if (!sameShape(targetLogits.shape, predLogits.shape)) throw new Error(`${op}: target ${fmt(targetLogits.shape)} and prediction ${fmt(predLogits.shape)} differ in shape`);
  const tau = options.tau ?? 1;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`${op}: tau ${tau} must be a positive number`);
  const e = predLogits.engine;
  const stats = e.empty([B, 4]);
  const loss = rowLoss(e, 'losses/kl_divergence', B, K, { tlogits: targetLogits, logits: predLogits, stats }, { inv_tau: 1 / tau }, 1 / B);
  // Only the prediction is an input on the tape: the target is detached by definition.
  return e.record(op, [predLogits], loss, (dy) => {
    const dx = e.empty(predLogits.shape);
    const g = e.grid(B * K, WG);
    e.dispatch('losses/kl_divergence', {
      entry: 'backward',
      bindings: { tlogits: targetLogits, logits: predLogits, stats_r: stats, dy, dx },
      params: { rows: B, L: K, n: B * K, row_stride: g.stride, scale: 1 / (B * tau), inv_tau: 1 / tau },
      workgroups: g.workgroups,
    });
    return [dx];
  });
}

/**
 * Mean absolute difference of two tensors of one shape, as a [1] tensor. Gradient sign(a − b)/n
 * to a and its negative to b (each only when that input requires grad).
 */
export function l1Loss(a: Tensor, b: Tensor): Tensor {
  const op = 'l1Loss';
  assertF32(op, a, b);
  if (!sameShape(a.shape, b.shape)) throw new Error(`${op}: shapes ${fmt(a.shape)} and ${fmt(b.shape)} differ`);
  const n = a.size;
  if (n === 0) throw new Error(`${op}: inputs ${fmt(a.shape)} are empty`);
  const e = a.engine;
  const chunks = Math.ceil(n / FLAT_CHUNK);
  const g = e.grid(chunks, 1);
  const launch = (out: Tensor, scale: number) =>
    e.dispatch('losses/l1', { entry: 'forward', bindings: { a, b, out }, params: { n, stride: g.stride, scale, flags: 0 }, workgroups: g.workgroups });
  let loss: Tensor;
  if (chunks === 1) {
    loss = e.empty([1]);
    launch(loss, 1 / n);
  } else loss = reducePartials(e, chunks, 1 / n, (partials) => launch(partials, 1));
  return e.record(op, [a, b], loss, (dy, needs) => {
    const ga = needs[0] ? e.empty(a.shape) : null;
    const gb = needs[1] ? e.empty(b.shape) : null;
    const eg = e.grid(n, WG);
    e.dispatch('losses/l1', {
      entry: 'backward',
      bindings: { a, b, dy, ga: ga ?? e.dummy, gb: gb ?? e.dummy },
      params: { n, stride: eg.stride, scale: 1 / n, flags: (ga ? 1 : 0) | (gb ? 2 : 0) },
      workgroups: eg.workgroups,
    });
    return [ga, gb];
  });
}

/**
 * Number of rows of logits [B, K] whose argmax (first maximal logit) equals the label, as a u32
 * [1] tensor on the GPU. With `into` (a u32 [1] tensor) the count is added to it in place and
 * `into` is returned, so an epoch's accuracy accumulates without any readback. No gradient.
 */
export function accuracyCounts(logits: Tensor, labels: Labels, into?: Tensor): Tensor {
  const op = 'accuracyCounts';
  const { B, K } = checkLogits(op, logits);
  const e = logits.engine;
  if (into && (into.dtype !== 'u32' || into.size !== 1)) throw new Error(`${op}: accumulator ${into.describe()} must be a u32 tensor of one element, got ${into.dtype}`);
  const y = labelTensor(op, e, labels, B, K);
  const count = into ?? e.fill(e.empty([1], 'u32'), 0);
  const g = e.grid(B, WG);
  e.dispatch('losses/accuracy', { bindings: { logits, labels: y, count }, params: { rows: B, L: K, row_stride: g.stride }, workgroups: g.workgroups });
  if (y !== labels) y.dispose();
  return count;
}
