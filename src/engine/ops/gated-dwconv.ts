/**
 * The gated depthwise convolution at the heart of Restormer's gated-Dconv feed-forward network
 * (the LRDif paper's "DGNet"), fused into one kernel:
 *   y = depthwise3x3(x) (+ bias), y1 = y[:, :Hd], y2 = y[:, Hd:], out = GELU(y1) ⊙ y2.
 * The 1×1 convolutions around it are core ops. Kernels: shaders/gated_dwconv.wgsl.
 */
import type { Tensor } from '../tensor.ts';
import { conv2d } from './conv2d.ts';
import { gelu, mul } from './elementwise.ts';
import { slice } from './layout.ts';
import { assertF32, fmt } from './shape-util.ts';

const TW = 4; // columns per strip (the shader's TW)
const WG = 64;
/** A strip walks at least this many rows (its first two rows are extra loads)… */
const MIN_STRIP_ROWS = 8;
/** …and strips split a plane's columns until a launch has about this many invocations. */
const TARGET_INVOCATIONS = 4096;

/**
 * out[b, c] = GELU(dw(x)[b, c]) ⊙ dw(x)[b, Hd + c] for c < Hd, where dw is a depthwise 3×3
 * convolution with zero padding 1 and the optional per-channel bias. x is [B, 2·Hd, H, W] (Hd may
 * be odd), weight [2·Hd, 1, 3, 3], bias [2·Hd]; the result is [B, Hd, H, W]. GELU is the exact
 * (erf) form, with the same approximation as the core gelu.
 */
export function gatedDepthwiseConv(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const what = `gatedDepthwiseConv(x ${fmt(x.shape)}, weight ${fmt(weight.shape)}${bias ? `, bias ${fmt(bias.shape)}` : ''})`;
  if (x.rank !== 4) throw new Error(`${what}: x must be [B, 2·Hd, H, W]`);
  const [batch, channels, h, w] = x.shape as [number, number, number, number];
  if (channels % 2 !== 0 || channels === 0) {
    throw new Error(`${what}: x has ${channels} channels; expected an even number 2·Hd (the two gate halves)`);
  }
  if (weight.rank !== 4 || weight.shape[0] !== channels || weight.shape[1] !== 1 || weight.shape[2] !== 3 || weight.shape[3] !== 3) {
    throw new Error(`${what}: weight must be [${channels}, 1, 3, 3] (one 3×3 filter per channel)`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== channels)) throw new Error(`${what}: bias must be [${channels}]`);
  assertF32('gatedDepthwiseConv', x, weight, ...(bias ? [bias] : []));
  const e = x.engine;
  if (channels > e.maxWorkgroupsPerDim) throw new Error(`${what}: ${channels} channels exceed the ${e.maxWorkgroupsPerDim} workgroups of one dispatch dimension`);
  const hidden = channels / 2;
  const out = e.empty([batch, hidden, h, w]);
  if (out.size === 0) return out;

  const tilesW = Math.ceil(w / TW);
  // Strips of TW columns down the plane: whole columns unless that leaves too few invocations.
  const launch = (planes: number) => {
    const strips = Math.max(1, Math.min(Math.ceil(h / MIN_STRIP_ROWS), Math.ceil(TARGET_INVOCATIONS / (planes * tilesW))));
    const stripRows = Math.ceil(h / strips);
    const stripCount = Math.ceil(h / stripRows);
    const invocations = planes * stripCount * tilesW;
    const g = e.grid(invocations, WG);
    const params = {
      hidden, channels: planes / batch, h, w, tiles_w: tilesW, strips: stripCount, strip_rows: stripRows, invocations,
      stride: g.stride, has_bias: bias ? 1 : 0, per_channel: batch * stripCount * tilesW, batch,
    };
    return { params, workgroups: g.workgroups };
  };
  const perPair = launch(batch * hidden);
  const aligned = { ALIGNED: w % 4 === 0 ? 1 : 0 };
  const biasBinding = bias ?? e.dummy;
  e.dispatch('gated_dwconv', { entry: 'forward', constants: aligned, bindings: { x4: x, weight, bias: biasBinding, out4: out }, ...perPair });

  const inputs = bias ? [x, weight, bias] : [x, weight];
  return e.record('gatedDepthwiseConv', inputs, out, (dy, needs) => {
    const needParams = needs[1]! || (!!bias && needs[2]!);
    // dL/dy for both halves, from y recomputed out of x.
    const gy = e.empty(x.shape);
    e.dispatch('gated_dwconv', { entry: 'backward_gates', constants: aligned, bindings: { x4: x, weight, bias: biasBinding, dy4: dy, gy4: gy }, ...perPair });

    const perChannel = launch(batch * channels);
    const dx = e.empty(x.shape);
    const partials = needParams ? e.empty([perChannel.params.invocations * 10]) : null;
    e.dispatch('gated_dwconv', {
      entry: 'backward_input_params',
      constants: { ...aligned, NEED_PARAMS: needParams ? 1 : 0 },
      bindings: { x4: x, weight, gy_in4: gy, dx4: dx, partials: partials ?? e.dummy },
      ...perChannel,
    });
    gy.dispose();
    let dweight: Tensor | null = null;
    let dbias: Tensor | null = null;
    if (partials) {
      dweight = e.empty(weight.shape);
      dbias = bias ? e.empty([channels]) : null;
      const g = e.grid(channels * 10, 64);
      e.dispatch('gated_dwconv', {
        entry: 'reduce_params',
        bindings: { partials_in: partials, dweight, dbias: dbias ?? e.dummy },
        params: { ...perChannel.params, stride: g.stride },
        workgroups: g.workgroups,
      });
      partials.dispose();
    }
    const grads: (Tensor | null)[] = [needs[0] ? dx : (dx.dispose(), null), needs[1] ? dweight : (dweight?.dispose(), null)];
    if (bias) grads.push(needs[2] ? dbias : (dbias?.dispose(), null));
    return grads;
  });
}

/**
 * The unfused reference of gatedDepthwiseConv from core ops (depthwise conv2d, two slices, gelu,
 * mul), same arguments and result. Its test and the benchmark compare with it.
 */
export const gatedDepthwiseConvComposed: typeof gatedDepthwiseConv = (x, weight, bias) => {
  const channels = x.shape[1]!;
  const y = conv2d(x, weight, bias ?? undefined, { padding: 1, groups: channels });
  return mul(gelu(slice(y, 1, 0, channels / 2)), slice(y, 1, channels / 2, channels));
};
