/**
 * Layer normalisation over one axis, with optional per-channel weight and bias: torch.nn.LayerNorm
 * over the last axis, or Restormer's LayerNorm over the channels of NCHW (axis 1), by one kernel
 * that views x as [outer, C, inner].
 */
import { Tensor } from '../tensor.ts';
import { lanesPerRow } from './softmax.ts';
import { assertF32, fmt, normAxis } from './shape-util.ts';

const WG = 256;
/** Plane sums (shaders/lib/plane_sums.wgsl): at least this many groups of 4 pixels per segment… */
const MIN_SEGMENT_GROUPS = 16;
/** …and segments enough for about this many invocations over all planes. */
const TARGET_INVOCATIONS = 4096;

/**
 * How the parameter-gradient kernels of the channel LayerNorms (this one on NCHW, the modulated
 * one) split each of `planes` planes of `hw` pixels: `segments` segments of `segmentGroups` groups
 * of 4 pixels, one invocation each.
 */
export function planeSegments(hw: number, planes: number): { segments: number; segmentGroups: number } {
  const groups = Math.ceil(hw / 4);
  const wanted = Math.max(1, Math.min(Math.ceil(groups / MIN_SEGMENT_GROUPS), Math.ceil(TARGET_INVOCATIONS / planes)));
  const segmentGroups = Math.ceil(groups / wanted);
  return { segments: Math.ceil(groups / segmentGroups), segmentGroups };
}

export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5, as PyTorch). */
  eps?: number;
  /** The normalised axis (default -1: the last; 1 for the channels of NCHW). */
  axis?: number;
}

/**
 * y = (x − mean) / sqrt(var + eps) · weight + bias, mean and biased variance taken over `axis`
 * at every other index. weight and bias have shape [C] (C = x.shape[axis]) and are optional
 * (without a bias it is torch's LayerNorm(bias=False): still centred — not Restormer's BiasFree variant).
 */
export function layerNorm(x: Tensor, weight?: Tensor | null, bias?: Tensor | null, options: LayerNormOptions = {}): Tensor {
  const op = 'layerNorm';
  assertF32(op, x, ...[weight, bias].filter((t): t is Tensor => !!t));
  if (x.rank === 0) throw new Error(`${op}: expected a tensor with at least one axis, got ${fmt(x.shape)}`);
  const axis = normAxis(op, options.axis ?? -1, x.rank);
  const eps = options.eps ?? 1e-5;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a positive number, got ${eps}`);
  const C = x.shape[axis]!;
  if (C === 0) throw new Error(`${op}: axis ${axis} of ${x.describe()} is empty`);
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw new Error(`${op}: ${name} ${fmt(t.shape)} does not match the ${C} channels of axis ${axis} of x ${fmt(x.shape)} (expected [${C}])`);
    }
  }
  const e = x.engine;
  let outer = 1;
  for (let i = 0; i < axis; i++) outer *= x.shape[i]!;
  const inner = x.size / (outer * C);
  const positions = outer * inner;

  // mean and rstd ride in the tail of y's buffer: they then live exactly as long as y, and so as
  // long as the tape node whose backward needs them (a scope that returns y keeps both).
  // The stats start on a 256-byte boundary so the vec4 kernels can bind them on their own.
  const statsAt = Math.ceil(x.size / 64) * 64;
  // Whole vec4s: backward_params_planes binds the stats as array<vec4<f32>>.
  const total = Math.ceil((statsAt + 2 * positions) / 4) * 4;
  const raw = e.empty([total]);
  raw.storage.retain();
  const y = new Tensor(e, raw.storage, x.shape);
  raw.dispose();
  const withStats = { buffer: y.buffer, size: total * 4 };

  // Channels-last rows are contiguous: lanes split a row. With inner > 1, one invocation per
  // position makes neighbouring invocations read neighbouring pixels.
  const lanes = lanesPerRow(e, C, positions, inner === 1 ? 16 : C);
  // One invocation per contiguous row of whole vec4s: the CPU-adapter kernels (*_vec4).
  const vec4 = lanes === 1 && inner === 1 && C % 4 === 0;
  const g = vec4 ? e.grid(positions, 64) : e.grid(positions, WG / lanes);
  const params = { outer, C, inner, eps, row_stride: g.stride, stats_at: statsAt, segments: 0, segment_groups: 0 };
  const has = { HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0 };
  if (vec4) {
    e.dispatch('layernorm', {
      entry: 'forward_vec4',
      constants: has,
      bindings: {
        x4: x, weight4: weight ?? e.dummy, bias4: bias ?? e.dummy,
        y4: { buffer: y.buffer, size: x.size * 4 }, stats: { buffer: y.buffer, offset: statsAt * 4, size: 2 * positions * 4 },
      },
      params,
      workgroups: g.workgroups,
    });
  } else {
    e.dispatch('layernorm', {
      entry: 'forward',
      constants: { ...has, LANES: lanes },
      bindings: { x, weight: weight ?? e.dummy, bias: bias ?? e.dummy, y: withStats },
      params,
      workgroups: g.workgroups,
    });
  }

  const inputs = [x, weight, bias].filter((t): t is Tensor => !!t);
  return e.record(op, inputs, y, (dy, needs) => {
    const need = { x: needs[0]!, weight: !!weight && needs[1]!, bias: !!bias && needs[weight ? 2 : 1]! };
    const saved = { buffer: y.buffer, size: total * 4 };
    let dx: Tensor | null = null;
    let dweight: Tensor | null = null;
    let dbias: Tensor | null = null;
    if (need.x) {
      dx = e.empty(x.shape);
      e.dispatch('layernorm', {
        entry: vec4 ? 'backward_input_vec4' : 'backward_input',
        constants: vec4 ? { HAS_WEIGHT: has.HAS_WEIGHT } : { HAS_WEIGHT: has.HAS_WEIGHT, LANES: lanes },
        bindings: vec4 ? { x4: x, weight4: weight ?? e.dummy, saved, dy4: dy, dx4: dx } : { x, weight: weight ?? e.dummy, saved, dy, dx },
        params,
        workgroups: g.workgroups,
      });
    }
    if (need.weight || need.bias) {
      if (need.weight) dweight = e.empty([C]);
      if (need.bias) dbias = e.empty([C]);
      const grads = { GRAD_WEIGHT: need.weight ? 1 : 0, GRAD_BIAS: need.bias ? 1 : 0 };
      if (inner > 1) {
        // NCHW: per-plane segment sums, then a fixed-order sum per channel.
        const { segments, segmentGroups } = planeSegments(inner, outer * C);
        const partials = e.empty([2 * segments * outer * C]);
        const pg = e.grid(segments * outer * C, 64);
        const planeParams = { ...params, row_stride: pg.stride, segments, segment_groups: segmentGroups };
        e.dispatch('layernorm', {
          entry: 'backward_params_planes',
          constants: { ALIGNED: inner % 4 === 0 ? 1 : 0 },
          bindings: { x4: x, saved4: saved, dy4: dy, partials },
          params: planeParams,
          workgroups: pg.workgroups,
        });
        e.dispatch('layernorm', {
          entry: 'reduce_planes',
          constants: grads,
          bindings: { partials_in: partials, dweight: dweight ?? e.dummy, dbias: dbias ?? e.dummy },
          params: planeParams,
          workgroups: [Math.ceil(C / 64), 1, 1],
        });
        partials.dispose();
      } else {
        // Channel blocks make channels-last reads contiguous.
        const cb = Math.min(4, 2 ** Math.floor(Math.log2(C)));
        e.dispatch('layernorm', vec4
          ? {
            entry: 'backward_params_vec4',
            constants: grads,
            bindings: { x4: x, saved, dy4: dy, dweight4: dweight ?? e.dummy, dbias4: dbias ?? e.dummy },
            params,
            workgroups: [C / 4, 1, 1],
          }
          : {
            entry: 'backward_params',
            constants: { CB: cb, ...grads },
            bindings: { x, saved, dy, dweight: dweight ?? e.dummy, dbias: dbias ?? e.dummy },
            params,
            workgroups: [Math.ceil(C / cb), 1, 1],
          });
      }
    }
    const grads: (Tensor | null)[] = [dx];
    if (weight) grads.push(dweight);
    if (bias) grads.push(dbias);
    return grads;
  });
}
