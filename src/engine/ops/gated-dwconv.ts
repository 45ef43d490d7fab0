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

const TW = 4; // outputs per invocation along a row (the shader's TW)
const WG = 256;
/** Tiles each invocation of backward_input_params handles, on average. */
const TILES_PER_LANE = 4;

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
  const channelTiles = batch * h * tilesW;
  const base = { hidden, h, w, tiles_w: tilesW, stride: 0, has_bias: bias ? 1 : 0, channel_tiles: channelTiles, chunk_tiles: 0, chunks: 0, pad0: 0 };
  const perPair = (() => {
    const tiles = hidden * channelTiles;
    const g = e.grid(tiles, WG);
    return { params: { ...base, channels: hidden, tiles, stride: g.stride }, workgroups: g.workgroups };
  })();
  const biasBinding = bias ?? e.dummy;
  e.dispatch('gated_dwconv', { entry: 'forward', bindings: { x, weight, bias: biasBinding, out }, params: perPair.params, workgroups: perPair.workgroups });

  const inputs = bias ? [x, weight, bias] : [x, weight];
  return e.record('gatedDepthwiseConv', inputs, out, (dy, needs) => {
    const needParams = needs[1]! || (!!bias && needs[2]!);
    // dL/dy for both halves, from y recomputed out of x.
    const gy = e.empty(x.shape);
    e.dispatch('gated_dwconv', { entry: 'backward_gates', bindings: { x, weight, bias: biasBinding, dy, gy }, params: perPair.params, workgroups: perPair.workgroups });

    const chunks = Math.min(e.maxWorkgroupsPerDim, Math.max(1, Math.ceil(channelTiles / (WG * TILES_PER_LANE))));
    const chunkTiles = Math.ceil(channelTiles / chunks);
    const params = { ...base, channels, tiles: channels * channelTiles, chunk_tiles: chunkTiles, chunks };
    const dx = e.empty(x.shape);
    const partials = needParams ? e.empty([channels * chunks * 10]) : null;
    e.dispatch('gated_dwconv', {
      entry: 'backward_input_params',
      constants: { NEED_PARAMS: needParams ? 1 : 0 },
      bindings: { x, weight, gy_in: gy, dx, partials: partials ?? e.dummy },
      params,
      workgroups: [channels, chunks, 1],
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
        params: { ...params, stride: g.stride },
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
export function gatedDepthwiseConvComposed(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  const channels = x.shape[1]!;
  const y = conv2d(x, weight, bias ?? undefined, { padding: 1, groups: channels });
  return mul(gelu(slice(y, 1, 0, channels / 2)), slice(y, 1, channels / 2, channels));
}
