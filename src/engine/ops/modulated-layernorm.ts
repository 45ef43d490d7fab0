/**
 * The EPR-modulated LayerNorm of LRDif's transformer blocks (paper eq. 2, DiffIR's `x·s + b` after
 * Restormer's channel LayerNorm), fused: one kernel forward, three small ones backward.
 * Kernels: shaders/modulated_layernorm.wgsl.
 */
import { Tensor } from '../tensor.ts';
import { add, mul } from './elementwise.ts';
import { layerNorm, planeSegments } from './layernorm.ts';
import { assertF32, fmt } from './shape-util.ts';

const WG = 256;

export interface ModulatedLayerNormOptions {
  /** Added to the variance before the square root (default 1e-5, as Restormer). */
  eps?: number;
}

/**
 * y[b, c, h, w] = (LN(x)[b, c, h, w] · lnWeight[c] + lnBias[c]) · scale[b, c] + shift[b, c], where
 * LN normalises over the C channels of every pixel (biased variance). x is [B, C, H, W]; lnWeight
 * and lnBias are [C] (lnBias null: weight only, still centred — torch's LayerNorm(bias=False), not Restormer's BiasFree); scale and shift are [B, C]
 * (or [B, C, 1, 1]), the two halves of Linear(Z). Gradients flow to all five inputs.
 */
export function modulatedLayerNorm(
  x: Tensor,
  lnWeight: Tensor,
  lnBias: Tensor | null,
  scale: Tensor,
  shift: Tensor,
  options: ModulatedLayerNormOptions = {},
): Tensor {
  const what = `modulatedLayerNorm(x ${fmt(x.shape)}, lnWeight ${fmt(lnWeight.shape)}, lnBias ${lnBias ? fmt(lnBias.shape) : 'null'}, scale ${fmt(scale.shape)}, shift ${fmt(shift.shape)})`;
  if (x.rank !== 4) throw new Error(`${what}: x must be [B, C, H, W]`);
  const [batch, C, h, w] = x.shape as [number, number, number, number];
  if (C === 0) throw new Error(`${what}: x has no channels`);
  for (const [name, t] of [['lnWeight', lnWeight], ['lnBias', lnBias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new Error(`${what}: ${name} must be [${C}]`);
  }
  for (const [name, t] of [['scale', scale], ['shift', shift]] as const) {
    const ok = (t.rank === 2 || (t.rank === 4 && t.shape[2] === 1 && t.shape[3] === 1)) && t.shape[0] === batch && t.shape[1] === C;
    if (!ok) throw new Error(`${what}: ${name} must be [B, C] = [${batch}, ${C}] (or [${batch}, ${C}, 1, 1])`);
  }
  const eps = options.eps ?? 1e-5;
  if (!(eps > 0) || !Number.isFinite(eps)) throw new Error(`${what}: eps must be a positive number, got ${eps}`);
  assertF32('modulatedLayerNorm', x, lnWeight, scale, shift, ...(lnBias ? [lnBias] : []));
  const e = x.engine;
  if (C > e.maxWorkgroupsPerDim || batch > e.maxWorkgroupsPerDim) throw new Error(`${what}: B and C must each be at most ${e.maxWorkgroupsPerDim}`);
  const hw = h * w;
  const positions = batch * hw;

  // mean and rstd ride in the tail of y's buffer, so they live exactly as long as y and the tape
  // node whose backward needs them (the same arrangement as the core layerNorm).
  // The stats start after y's last group of 4: vec4 kernels may write a tensor's padding up to there.
  const statsAt = Math.ceil(x.size / 4) * 4;
  // Rounded up to whole vec4s: backward_params binds the stats as array<vec4<f32>>.
  const total = Math.ceil((statsAt + 2 * positions) / 4) * 4;
  const raw = e.empty([Math.max(1, total)]);
  raw.storage.retain();
  const y = new Tensor(e, raw.storage, x.shape);
  raw.dispose();
  if (x.size === 0) return y;
  const withStats = { buffer: y.buffer, size: total * 4 };
  const g = e.grid(positions, WG);
  // backward_params splits each (b, c) plane into segments (partial sums, added in reduce_params).
  const { segments, segmentGroups } = planeSegments(hw, batch * C);
  const params = { batch, C, hw, eps, stride: g.stride, stats_at: statsAt, has_bias: lnBias ? 1 : 0, segments, segment_groups: segmentGroups };
  // Without lnBias (has_bias = 0) its binding is never read: lnWeight fills it, since e.dummy may
  // be bound read-write (dln_bias) in the same dispatch.
  const lnBiasBinding = lnBias ?? lnWeight;
  e.dispatch('modulated_layernorm', {
    entry: 'forward',
    bindings: { x, ln_weight: lnWeight, ln_bias: lnBiasBinding, scale, shift, y: withStats },
    params,
    workgroups: g.workgroups,
  });

  const inputs = lnBias ? [x, lnWeight, lnBias, scale, shift] : [x, lnWeight, scale, shift];
  return e.record('modulatedLayerNorm', inputs, y, (dy, needs) => {
    const [needX, needW, needB, needScale, needShift] = lnBias ? needs : [needs[0], needs[1], false, needs[2], needs[3]];
    const saved = { buffer: y.buffer, size: total * 4 };
    let dx: Tensor | null = null;
    if (needX) {
      dx = e.empty(x.shape);
      e.dispatch('modulated_layernorm', {
        entry: 'backward_input',
        bindings: { x, ln_weight: lnWeight, scale, saved, dy, dx },
        params,
        workgroups: g.workgroups,
      });
    }
    const grads: (Tensor | null)[] = [dx];
    if (needW || needB || needScale || needShift) {
      const partials = e.empty([2 * params.segments * batch * C]);
      const pg = e.grid(params.segments * batch * C, 64);
      e.dispatch('modulated_layernorm', {
        entry: 'backward_params',
        constants: { ALIGNED: hw % 4 === 0 ? 1 : 0 },
        bindings: { x4: x, saved4: saved, dy4: dy, partials },
        params: { ...params, stride: pg.stride },
        workgroups: pg.workgroups,
      });
      const dlnWeight = e.empty([C]);
      const dlnBias = lnBias ? e.empty([C]) : null;
      const dscale = e.empty(scale.shape);
      const dshift = e.empty(shift.shape);
      e.dispatch('modulated_layernorm', {
        entry: 'reduce_params',
        bindings: { partials_in: partials, ln_weight: lnWeight, ln_bias: lnBiasBinding, scale, dscale, dshift, dln_weight: dlnWeight, dln_bias: dlnBias ?? e.dummy },
        params,
        workgroups: [Math.ceil(C / 64), 1, 1],
      });
      partials.dispose();
      const keep = (t: Tensor | null, need: boolean | undefined) => (need ? t : (t?.dispose(), null));
      grads.push(keep(dlnWeight, needW));
      if (lnBias) grads.push(keep(dlnBias, needB));
      grads.push(keep(dscale, needScale), keep(dshift, needShift));
    } else {
      grads.push(null, ...(lnBias ? [null] : []), null, null);
    }
    return grads;
  });
}

/**
 * The unfused reference of modulatedLayerNorm from core ops (channel layerNorm, mul, add), same
 * arguments and result. Its test and the benchmark compare with it.
 */
export const modulatedLayerNormComposed: typeof modulatedLayerNorm = (x, lnWeight, lnBias, scale, shift, options = {}) => {
  const [batch, C] = x.shape as [number, number];
  const perChannel = (t: Tensor) => t.view([batch, C, 1, 1]);
  return add(mul(layerNorm(x, lnWeight, lnBias, { axis: 1, eps: options.eps }), perChannel(scale)), perChannel(shift));
};
