/**
 * The DT network ("UDCformer-56", DECISIONS §2): a PixelUnshuffle(2) stem, then a Restormer U-Net
 * at H/2 … H/16 whose every block is modulated by the EPR Z. Returns F1 (dec2), F2 (dec3), F3 (latent).
 */
import {
  type Tensor, add, concat, pixelShuffle, pixelUnshuffle, split, linear, transposedChannelAttention,
  gatedDepthwiseConv, modulatedLayerNorm,
} from '../engine/index.ts';
import { Module, ModuleList, type ModuleContext } from './module.ts';
import { Conv2d, LayerNorm } from './layers.ts';
import { constantInit, uniformInit } from './init.ts';
import type { LrdifConfig } from './config.ts';

/** Linear(C_epr → 2C, no bias) giving the per-sample [scale, shift] of one modulated LayerNorm. */
class Modulation extends Module {
  readonly weight: Tensor;
  constructor(ctx: ModuleContext, eprDim: number, readonly channels: number) {
    super(ctx);
    this.weight = this.param('weight', uniformInit(ctx.rng, 2 * channels * eprDim, 1 / Math.sqrt(eprDim)), [2 * channels, eprDim]);
  }
  /** [scale, shift], each [B, C]. */
  forward(z: Tensor): [Tensor, Tensor] {
    const [s, b] = split(linear(z, this.weight), this.channels, 1) as [Tensor, Tensor];
    return [s, b];
  }
}

/** LN over channels, modulated as LN(x)·s + b when an EPR is given (paper eq. 2). */
function normalise(norm: LayerNorm, mod: Modulation | null, x: Tensor, z: Tensor | null): Tensor {
  if (!mod || !z) return norm.forward(x);
  const [s, b] = mod.forward(z);
  return modulatedLayerNorm(x, norm.weight, norm.bias, s, b);
}

/** Multi-Dconv head transposed attention (MDTA) with EPR modulation. */
class ChannelAttention extends Module {
  readonly kernel: Modulation | null;
  readonly qkv: Conv2d;
  readonly qkvDwconv: Conv2d;
  readonly temperature: Tensor;
  readonly projectOut: Conv2d;
  constructor(ctx: ModuleContext, readonly dim: number, readonly heads: number, eprDim: number, modulated: boolean) {
    super(ctx);
    this.kernel = modulated ? this.child('kernel', new Modulation(ctx, eprDim, dim)) : null;
    this.temperature = this.param('temperature', constantInit(heads, 1), [heads, 1, 1]);
    this.qkv = this.child('qkv', new Conv2d(ctx, dim, 3 * dim, 1, { bias: false }));
    this.qkvDwconv = this.child('qkv_dwconv', new Conv2d(ctx, 3 * dim, 3 * dim, 3, { groups: 3 * dim, bias: false }));
    this.projectOut = this.child('project_out', new Conv2d(ctx, dim, dim, 1, { bias: false }));
  }
  forward(xNormed: Tensor): Tensor {
    const [q, k, v] = split(this.qkvDwconv.forward(this.qkv.forward(xNormed)), this.dim, 1) as [Tensor, Tensor, Tensor];
    return this.projectOut.forward(transposedChannelAttention(q, k, v, this.temperature, this.heads));
  }
}

/** Gated-Dconv feed-forward network (GDFN) with EPR modulation. */
class GatedFeedForward extends Module {
  readonly kernel: Modulation | null;
  readonly projectIn: Conv2d;
  readonly dwconv: Conv2d;
  readonly projectOut: Conv2d;
  readonly hidden: number;
  constructor(ctx: ModuleContext, readonly dim: number, expansion: number, eprDim: number, modulated: boolean) {
    super(ctx);
    this.hidden = Math.floor(dim * expansion);
    this.kernel = modulated ? this.child('kernel', new Modulation(ctx, eprDim, dim)) : null;
    this.projectIn = this.child('project_in', new Conv2d(ctx, dim, 2 * this.hidden, 1, { bias: false }));
    this.dwconv = this.child('dwconv', new Conv2d(ctx, 2 * this.hidden, 2 * this.hidden, 3, { groups: 2 * this.hidden, bias: false }));
    this.projectOut = this.child('project_out', new Conv2d(ctx, this.hidden, dim, 1, { bias: false }));
  }
  forward(xNormed: Tensor): Tensor {
    const gated = gatedDepthwiseConv(this.projectIn.forward(xNormed), this.dwconv.weight);
    return this.projectOut.forward(gated);
  }
}

/** x = x + Attn(ModLN1(x, Z)); x = x + FFN(ModLN2(x, Z)). */
export class ModulatedTransformerBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: ChannelAttention;
  readonly norm2: LayerNorm;
  readonly ffn: GatedFeedForward;
  constructor(ctx: ModuleContext, dim: number, heads: number, expansion: number, eprDim: number, modulated: boolean) {
    super(ctx);
    this.norm1 = this.child('norm1', new LayerNorm(ctx, dim, 'channels'));
    this.attn = this.child('attn', new ChannelAttention(ctx, dim, heads, eprDim, modulated));
    this.norm2 = this.child('norm2', new LayerNorm(ctx, dim, 'channels'));
    this.ffn = this.child('ffn', new GatedFeedForward(ctx, dim, expansion, eprDim, modulated));
  }
  forward(x: Tensor, z: Tensor | null): Tensor {
    const h = add(x, this.attn.forward(normalise(this.norm1, this.attn.kernel, x, z)));
    return add(h, this.ffn.forward(normalise(this.norm2, this.ffn.kernel, h, z)));
  }
}

class Stage extends ModuleList<ModulatedTransformerBlock> {
  forward(x: Tensor, z: Tensor | null): Tensor {
    let h = x;
    for (const b of this.items) h = b.forward(h, z);
    return h;
  }
}

/** Conv3×3(C → C/2, no bias) + PixelUnshuffle(2): halves the resolution, doubles the channels. */
class Downsample extends Module {
  readonly conv: Conv2d;
  constructor(ctx: ModuleContext, dim: number) {
    super(ctx);
    this.conv = this.child('body.0', new Conv2d(ctx, dim, dim / 2, 3, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return pixelUnshuffle(this.conv.forward(x), 2);
  }
}

/** Conv3×3(C → 2C, no bias) + PixelShuffle(2): doubles the resolution, halves the channels. */
class Upsample extends Module {
  readonly conv: Conv2d;
  constructor(ctx: ModuleContext, dim: number) {
    super(ctx);
    this.conv = this.child('body.0', new Conv2d(ctx, dim, dim * 2, 3, { bias: false }));
  }
  forward(x: Tensor): Tensor {
    return pixelShuffle(this.conv.forward(x), 2);
  }
}

export interface DtFeatures {
  f1: Tensor;
  f2: Tensor;
  f3: Tensor;
}

export class DtNetwork extends Module {
  readonly patchEmbed: Conv2d;
  readonly encoder1: Stage;
  readonly down12: Downsample;
  readonly encoder2: Stage;
  readonly down23: Downsample;
  readonly encoder3: Stage;
  readonly down34: Downsample;
  readonly latent: Stage;
  readonly up43: Upsample;
  readonly reduce3: Conv2d;
  readonly decoder3: Stage;
  readonly up32: Upsample;
  readonly reduce2: Conv2d;
  readonly decoder2: Stage;

  constructor(ctx: ModuleContext, cfg: LrdifConfig) {
    super(ctx);
    const { dims, blocks, heads, ffnExpansion } = cfg.dt;
    const m = cfg.modulation;
    const stage = (name: string, i: number) =>
      this.child(name, new Stage(ctx, () => new ModulatedTransformerBlock(ctx, dims[i]!, heads[i]!, ffnExpansion, cfg.eprDim, m), blocks[i]!));
    this.patchEmbed = this.child('patch_embed', new Conv2d(ctx, 12, dims[0], 3, { bias: false }));
    this.encoder1 = stage('encoder_level1', 0);
    this.down12 = this.child('down1_2', new Downsample(ctx, dims[0]));
    this.encoder2 = stage('encoder_level2', 1);
    this.down23 = this.child('down2_3', new Downsample(ctx, dims[1]));
    this.encoder3 = stage('encoder_level3', 2);
    this.down34 = this.child('down3_4', new Downsample(ctx, dims[2]));
    this.latent = stage('latent', 3);
    this.up43 = this.child('up4_3', new Upsample(ctx, dims[3]));
    this.reduce3 = this.child('reduce_chan_level3', new Conv2d(ctx, 2 * dims[2], dims[2], 1, { bias: false }));
    this.decoder3 = stage('decoder_level3', 2);
    this.up32 = this.child('up3_2', new Upsample(ctx, dims[2]));
    this.reduce2 = this.child('reduce_chan_level2', new Conv2d(ctx, 2 * dims[1], dims[1], 1, { bias: false }));
    this.decoder2 = stage('decoder_level2', 1);
  }

  /** image [B, 3, H, W] (normalised), z [B, C] or null (no modulation) → F1, F2, F3. */
  forward(image: Tensor, z: Tensor | null): DtFeatures {
    const x0 = this.patchEmbed.forward(pixelUnshuffle(image, 2));
    const e1 = this.encoder1.forward(x0, z);
    const e2 = this.encoder2.forward(this.down12.forward(e1), z);
    const e3 = this.encoder3.forward(this.down23.forward(e2), z);
    const f3 = this.latent.forward(this.down34.forward(e3), z);
    const d3 = this.decoder3.forward(this.reduce3.forward(concat([this.up43.forward(f3), e3], 1)), z);
    const d2 = this.decoder2.forward(this.reduce2.forward(concat([this.up32.forward(d3), e2], 1)), z);
    return { f1: d2, f2: d3, f3 };
  }
}

