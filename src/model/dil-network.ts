/**
 * The DIL network (DECISIONS §2): landmark features at three scales (the frozen landmark network's
 * maps through trainable 1×1 projections, or an oracle landmark-heatmap stem), image features (the
 * frozen recognition network's stages through trainable 1×1 projections, or a from-scratch IR-style
 * residual stem without BatchNorm), and a window cross-attention block per level (landmark queries,
 * image keys/values, relative position bias, LN + MLP with layer scale). Returns O1, O2, O3 (NCHW).
 */
import { type Tensor, add, gelu, leakyRelu, mul, permute, slice, gaussianHeatmaps, mean, windowCrossAttention } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { Conv2d, LayerNorm, Linear, PReLU } from './layers.ts';
import { constantInit, truncNormalInit } from './init.ts';
import { levelSizes, type LrdifConfig } from './config.ts';
import { FROZEN_IMAGE_CHANNELS, FROZEN_LANDMARK_CHANNELS, requirePart, type FrozenFeatures } from './frozen-features.ts';

export const NUM_LANDMARKS = 68;

/**
 * Frozen feature maps → the preset's level widths: a trainable 1×1 convolution per level (none
 * where the widths already agree, as for the paper preset's landmark maps). A frozen random
 * projection would throw information away, so these are trained.
 */
class LevelProjection extends Module {
  readonly norms: (LayerNorm | null)[];
  readonly convs: (Conv2d | null)[];
  constructor(ctx: ModuleContext, from: readonly number[], to: readonly number[], norm: boolean) {
    super(ctx);
    this.norms = [0, 1, 2].map((l) => (norm ? this.child(`norm${l}`, new LayerNorm(ctx, from[l]!, 'channels')) : null));
    this.convs = [0, 1, 2].map((l) => (from[l] === to[l] ? null : this.child(String(l), new Conv2d(ctx, from[l]!, to[l]!, 1, { padding: 0 }))));
  }
  forward(maps: readonly [Tensor, Tensor, Tensor]): [Tensor, Tensor, Tensor] {
    return maps.map((m, l) => {
      const x = this.norms[l]?.forward(m) ?? m;
      return this.convs[l]?.forward(x) ?? x;
    }) as [Tensor, Tensor, Tensor];
  }
}

/** 68 Gaussian heatmaps at H/4 → conv stem taps at H/4, H/8, H/16 (taps before the next activation). */
class HeatmapStem extends Module {
  readonly conv1a: Conv2d;
  readonly conv1b: Conv2d;
  readonly conv2a: Conv2d;
  readonly conv2b: Conv2d;
  readonly conv3a: Conv2d;
  readonly conv3b: Conv2d;
  constructor(ctx: ModuleContext, readonly size: number, dims: [number, number, number]) {
    super(ctx);
    const [d1, d2, d3] = dims;
    this.conv1a = this.child('level1.0', new Conv2d(ctx, NUM_LANDMARKS, d1, 3));
    this.conv1b = this.child('level1.2', new Conv2d(ctx, d1, d1, 3));
    this.conv2a = this.child('level2.1', new Conv2d(ctx, d1, d2, 3, { stride: 2 }));
    this.conv2b = this.child('level2.3', new Conv2d(ctx, d2, d2, 3));
    this.conv3a = this.child('level3.1', new Conv2d(ctx, d2, d3, 3, { stride: 2 }));
    this.conv3b = this.child('level3.3', new Conv2d(ctx, d3, d3, 3));
  }
  forward(landmarks: Tensor): [Tensor, Tensor, Tensor] {
    const lr = (x: Tensor) => leakyRelu(x, 0.1);
    const h = gaussianHeatmaps(landmarks, this.size, 1);
    const l1 = this.conv1b.forward(lr(this.conv1a.forward(h)));
    const l2 = this.conv2b.forward(lr(this.conv2a.forward(lr(l1))));
    const l3 = this.conv3b.forward(lr(this.conv3a.forward(lr(l2))));
    return [l1, l2, l3];
  }
}

/** IR bottleneck without BatchNorm: Conv3×3 → PReLU → Conv3×3(stride), + shortcut (subsample or Conv1×1). */
class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly prelu: PReLU;
  readonly conv2: Conv2d;
  readonly shortcut: Conv2d | null;
  constructor(ctx: ModuleContext, inC: number, outC: number, readonly stride: number) {
    super(ctx);
    this.conv1 = this.child('res.0', new Conv2d(ctx, inC, outC, 3));
    this.prelu = this.child('res.1', new PReLU(ctx, outC));
    this.conv2 = this.child('res.2', new Conv2d(ctx, outC, outC, 3, { stride }));
    this.shortcut = inC === outC ? null : this.child('shortcut', new Conv2d(ctx, inC, outC, 1, { stride, padding: 0 }));
  }
  forward(x: Tensor): Tensor {
    const res = this.conv2.forward(this.prelu.forward(this.conv1.forward(x)));
    let sc = x;
    if (this.shortcut) sc = this.shortcut.forward(x);
    else if (this.stride > 1) sc = slice(slice(x, 2, 0, x.shape[2]!, this.stride), 3, 0, x.shape[3]!, this.stride);
    return add(res, sc);
  }
}

/** Conv3×3 s2 (3→d1) + PReLU, then two bottlenecks per level (stride 2 on the first). */
class ImageStem extends Module {
  readonly inputConv: Conv2d;
  readonly inputAct: PReLU;
  readonly blocks: Bottleneck[] = [];
  constructor(ctx: ModuleContext, dims: [number, number, number]) {
    super(ctx);
    this.inputConv = this.child('input.0', new Conv2d(ctx, 3, dims[0], 3, { stride: 2 }));
    this.inputAct = this.child('input.1', new PReLU(ctx, dims[0]));
    let c = dims[0];
    for (let l = 0; l < 3; l++) {
      this.blocks.push(this.child(`body${l + 1}.0`, new Bottleneck(ctx, c, dims[l]!, 2)));
      this.blocks.push(this.child(`body${l + 1}.1`, new Bottleneck(ctx, dims[l]!, dims[l]!, 1)));
      c = dims[l]!;
    }
  }
  forward(image: Tensor): [Tensor, Tensor, Tensor] {
    let x = this.inputAct.forward(this.inputConv.forward(image));
    const taps: Tensor[] = [];
    for (let i = 0; i < this.blocks.length; i++) {
      x = this.blocks[i]!.forward(x);
      if (i % 2 === 1) taps.push(x);
    }
    return taps as [Tensor, Tensor, Tensor];
  }
}

/** POSTER++ window block: x̂ = LN(x); x = x̂ + γ1·CrossAttn(x̂, q); x = x + γ2·MLP(LN(x)). Channel-last. */
class CrossAttentionBlock extends Module {
  readonly norm1: LayerNorm;
  readonly kv: Linear;
  readonly q: Linear | null;
  readonly relTable: Tensor;
  readonly proj: Linear;
  readonly gamma1: Tensor;
  readonly norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly gamma2: Tensor;
  readonly shortcut: LrdifConfig['dil']['shortcut'];
  constructor(ctx: ModuleContext, readonly dim: number, readonly heads: number, readonly window: number, readonly mapSize: number, cfg: LrdifConfig['dil']) {
    super(ctx);
    this.shortcut = cfg.shortcut;
    this.norm1 = this.child('norm1', new LayerNorm(ctx, dim));
    this.kv = this.child('cross_attn.kv', new Linear(ctx, dim, 2 * dim));
    this.q = cfg.qProj ? this.child('cross_attn.q', new Linear(ctx, dim, dim)) : null;
    this.relTable = this.param('cross_attn.rel_pos_bias_table', truncNormalInit(ctx.rng, (2 * window - 1) ** 2 * heads, 0.02), [(2 * window - 1) ** 2, heads]);
    this.proj = this.child('cross_attn.proj', new Linear(ctx, dim, dim));
    this.gamma1 = this.param('gamma1', constantInit(dim, cfg.layerScaleInit), [dim]);
    this.norm2 = this.child('norm2', new LayerNorm(ctx, dim));
    this.fc1 = this.child('mlp.fc1', new Linear(ctx, dim, cfg.mlpRatio * dim));
    this.fc2 = this.child('mlp.fc2', new Linear(ctx, cfg.mlpRatio * dim, dim));
    this.gamma2 = this.param('gamma2', constantInit(dim, cfg.layerScaleInit), [dim]);
  }
  /** img, lm: [B, C, S, S] → [B, C, S, S]. */
  forward(img: Tensor, lm: Tensor, queries: 'pooled' | 'per-window'): Tensor {
    const tokens = permute(img, [0, 2, 3, 1]); // [B, S, S, C]
    let q = permute(lm, [0, 2, 3, 1]);
    if (this.window < this.mapSize && queries === 'pooled') q = avgPoolTokens(q, this.mapSize / this.window);
    const xn = this.norm1.forward(tokens);
    const attn = windowCrossAttention(xn, q, this.kv.weight, this.kv.bias!, this.relTable, this.proj.weight, this.proj.bias!, {
      heads: this.heads,
      window: this.window,
      qWeight: this.q?.weight,
      qBias: this.q?.bias ?? undefined,
    });
    const x = add(this.shortcut === 'input' ? tokens : xn, mul(attn, this.gamma1));
    const m = this.fc2.forward(gelu(this.fc1.forward(this.norm2.forward(x))));
    const out = add(x, mul(m, this.gamma2));
    return permute(out, [0, 3, 1, 2]);
  }
}

/** Average-pools channel-last tokens [B, S, S, C] by a factor f → [B, S/f, S/f, C]. */
function avgPoolTokens(x: Tensor, f: number): Tensor {
  const [b, s, , c] = x.shape as [number, number, number, number];
  const w = s / f;
  const v = x.view([b, w, f, w, f, c]);
  return mean(mean(v, 4), 2);
}

export interface DilFeatures {
  o1: Tensor;
  o2: Tensor;
  o3: Tensor;
}

export class DilNetwork extends Module {
  readonly landmarkStem: HeatmapStem | null;
  readonly landmarkProjection: LevelProjection | null;
  readonly imageStem: ImageStem | null;
  readonly imageProjection: LevelProjection | null;
  readonly blocks: CrossAttentionBlock[] = [];
  constructor(ctx: ModuleContext, readonly cfg: LrdifConfig) {
    super(ctx);
    const sizes = levelSizes(cfg);
    const network = cfg.landmarkFeatures === 'backbone';
    this.landmarkProjection = network ? this.child('landmark_proj', new LevelProjection(ctx, FROZEN_LANDMARK_CHANNELS, cfg.dil.dims, cfg.adapterNorm)) : null;
    this.landmarkStem = network ? null : this.child('landmark_stem', new HeatmapStem(ctx, sizes[0], cfg.dil.dims));
    const pretrained = cfg.backbone === 'face-api';
    this.imageProjection = pretrained ? this.child('image_proj', new LevelProjection(ctx, FROZEN_IMAGE_CHANNELS, cfg.dil.dims, cfg.adapterNorm)) : null;
    this.imageStem = pretrained ? null : this.child('image_stem', new ImageStem(ctx, cfg.dil.dims));
    for (let l = 0; l < 3; l++) {
      const w = cfg.dil.windows[l] || sizes[l]!;
      this.blocks.push(this.child(`level${l + 1}`, new CrossAttentionBlock(ctx, cfg.dil.dims[l]!, cfg.dil.heads[l]!, w, sizes[l]!, cfg.dil)));
    }
  }
  /**
   * image [B, 3, H, W]; landmarks [B, 68, 2] in [0, 1] (read only by the oracle heatmap stem);
   * frozen: the pretrained networks' features when the config uses them. With the heatmap stem and
   * no landmarks (datasets that have none) the image features serve as their own queries.
   */
  forward(image: Tensor, landmarks: Tensor | null, frozen?: FrozenFeatures): DilFeatures {
    const img = this.imageProjection ? this.imageProjection.forward(requirePart(frozen, 'image', 'DIL network')) : this.imageStem!.forward(image);
    let lm: [Tensor, Tensor, Tensor];
    if (this.landmarkProjection) lm = this.landmarkProjection.forward(requirePart(frozen, 'landmark', 'DIL network'));
    else if (landmarks) lm = this.landmarkStem!.forward(landmarks);
    else lm = img; // landmark-free path: the image features query themselves
    const o = this.blocks.map((b, l) => b.forward(img[l]!, lm[l]!, this.cfg.dil.windowQueries));
    return { o1: o[0]!, o2: o[1]!, o3: o[2]! };
  }
}
