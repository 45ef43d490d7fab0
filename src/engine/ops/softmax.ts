/** Softmax and log-softmax over the last axis (one shader, an override constant picks which). */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { assertF32, fmt } from './shape-util.ts';
import { choose, defineAdapterLayout } from '../tuning.ts';

/** Invocations per workgroup of shaders/softmax.wgsl and shaders/layernorm.wgsl. */
const WG = 256;

/**
 * Which layout the row reductions of softmax, layerNorm and the losses use: 'gpu' shares long rows
 * among invocations (tree reductions in workgroup memory); 'cpu' gives every row one invocation,
 * because CPU adapters (llvmpipe, SwiftShader) pay more for barriers than they gain from the split
 * (softmax [4096, 256] on llvmpipe: 2.6 ms with one lane per row, 7 ms with 16). Chosen by adapter
 * kind, not timed; tests force each (withVariants 'row-reduction') so both paths run on any machine.
 */
const ROW_REDUCTION = defineAdapterLayout('row-reduction');

/**
 * How many invocations share one row of `length` elements when `rows` rows are reduced. On GPUs
 * about `perLane` elements per invocation (a power of two, at most a workgroup), so one invocation
 * per row when rows are short, and more lanes when too few rows would leave the device idle.
 */
export function lanesPerRow(e: Engine, length: number, rows: number, perLane = 16): number {
  if (choose(e, ROW_REDUCTION, null) === 'cpu') return 1;
  const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  let lanes = pow2(Math.ceil(length / perLane));
  if (rows * lanes < 8192) lanes = Math.max(lanes, Math.min(pow2(Math.ceil(length / 8)), pow2(Math.ceil(8192 / rows))));
  return Math.min(WG, lanes);
}

function softmaxLike(op: 'softmax' | 'logSoftmax', x: Tensor): Tensor {
  assertF32(op, x);
  if (x.rank === 0) throw new Error(`${op}: expected a tensor with at least one axis, got ${fmt(x.shape)}`);
  const L = x.shape[x.rank - 1]!;
  if (L === 0) throw new Error(`${op}: the last axis of ${x.describe()} is empty`);
  const e = x.engine;
  const rows = x.size / L;
  const y = e.empty(x.shape);
  const lanes = lanesPerRow(e, L, rows);
  // One invocation per row over whole vec4s: the CPU-adapter kernels (llvmpipe, [4096, 256] fwd+bwd: 8.0 → 3.4 ms).
  const vec4 = lanes === 1 && L % 4 === 0;
  const g = vec4 ? e.grid(rows, 64) : e.grid(rows, WG / lanes);
  const constants: Record<string, number> = vec4 ? { LOG: op === 'logSoftmax' ? 1 : 0 } : { LOG: op === 'logSoftmax' ? 1 : 0, LANES: lanes };
  const params = { rows, L, row_stride: g.stride };
  const launch = (entry: string, bindings: Record<string, Tensor>) =>
    e.dispatch('softmax', { entry: vec4 ? `${entry}_vec4` : entry, constants, bindings, params, workgroups: g.workgroups });
  launch('forward', vec4 ? { x4: x, y4: y } : { x, y });
  return e.record(op, [x], y, (dy) => {
    const dx = e.empty(x.shape);
    launch('backward', vec4 ? { yv4: y, dy4: dy, dx4: dx } : { yv: y, dy, dx });
    return [dx];
  });
}

/** softmax over the last axis, numerically stable (the row max is subtracted). */
export function softmax(x: Tensor): Tensor {
  return softmaxLike('softmax', x);
}

/** log(softmax(x)) over the last axis, computed as x − max − log Σ exp(x − max). */
export function logSoftmax(x: Tensor): Tensor {
  return softmaxLike('logSoftmax', x);
}
