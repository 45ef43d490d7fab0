/**
 * Fusion and classification (DECISIONS §2, reference §6.5): x_i = concat_channels(F_i, O_i), the
 * three POSTER++ token embeddings, class token + position embedding, ViT blocks, final LN, SE gate,
 * linear head.
 */
import { type Tensor, add, gelu, mul, relu, sigmoid, concat, permute, slice, split, scaledDotProductAttention, mean } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { Conv2d, LayerNorm, Linear, type LinearInit } from './layers.ts';
import { constantInit, truncNormalInit } from './init.ts';
import type { LrdifConfig } from './config.ts';

/** ViT / SE / head linear init: trunc-normal(0.01) with zero bias (POSTER++), or PyTorch's default. */
function vitInit(cfg: LrdifConfig): LinearInit {
  return cfg.vit.linearInit === 'default' ? {} : { kind: 'trunc', std: 0.01 };
}

class SelfAttention extends Module {
  readonly qkv: Linear;
  readonly proj: Linear;
  constructor(ctx: ModuleContext, readonly dim: number, readonly heads: number, init: LinearInit) {
    super(ctx);
    this.qkv = this.child('qkv', new Linear(ctx, dim, 3 * dim, true, init));
    this.proj = this.child('proj', new Linear(ctx, dim, dim, true, init));
  }
  forward(x: Tensor): Tensor {
    const [b, n] = x.shape as [number, number, number];
    const dh = this.dim / this.heads;
    const qkv = permute(this.qkv.forward(x).view([b, n, 3, this.heads, dh]), [2, 0, 3, 1, 4]); // [3, B, h, N, dh]
    const [q, k, v] = split(qkv, 1, 0).map((t) => t.view([b, this.heads, n, dh])) as [Tensor, Tensor, Tensor];
    const o = scaledDotProductAttention(q, k, v, { scale: dh ** -0.5 });
    return this.proj.forward(permute(o, [0, 2, 1, 3]).view([b, n, this.dim]));
  }
}

class VitBlock extends Module {
  readonly norm1: LayerNorm;
  readonly attn: SelfAttention;
  readonly norm2: LayerNorm;
  readonly fc1: Linear;
  readonly fc2: Linear;
  /** Per-channel layer scales of the two branches ('pooled' readout only). */
  readonly gamma1: Tensor | null;
  readonly gamma2: Tensor | null;
  constructor(ctx: ModuleContext, dim: number, heads: number, mlpRatio: number, init: LinearInit, layerScale: number | null) {
    super(ctx);
    this.norm1 = this.child('norm1', new LayerNorm(ctx, dim, 'tokens', 1e-6));
    this.attn = this.child('attn', new SelfAttention(ctx, dim, heads, init));
    this.norm2 = this.child('norm2', new LayerNorm(ctx, dim, 'tokens', 1e-6));
    this.fc1 = this.child('mlp.fc1', new Linear(ctx, dim, mlpRatio * dim, true, init));
    this.fc2 = this.child('mlp.fc2', new Linear(ctx, mlpRatio * dim, dim, true, init));
    this.gamma1 = layerScale === null ? null : this.param('gamma1', constantInit(dim, layerScale), [dim]);
    this.gamma2 = layerScale === null ? null : this.param('gamma2', constantInit(dim, layerScale), [dim]);
  }
  forward(x: Tensor): Tensor {
    const scaled = (branch: Tensor, g: Tensor | null) => (g ? mul(branch, g) : branch);
    const h = add(x, scaled(this.attn.forward(this.norm1.forward(x)), this.gamma1));
    return add(h, scaled(this.fc2.forward(gelu(this.fc1.forward(this.norm2.forward(h)))), this.gamma2));
  }
}

/** [B, C, S, S] → [B, S·S, C]. */
function toTokens(x: Tensor): Tensor {
  const [b, c, h, w] = x.shape as [number, number, number, number];
  return permute(x.view([b, c, h * w]), [0, 2, 1]);
}

export class FusionHead extends Module {
  readonly embedQ1: Conv2d;
  readonly embedQ2: Conv2d;
  readonly embedK: Conv2d;
  readonly embedV: Conv2d;
  readonly clsToken: Tensor;
  readonly posEmbed: Tensor;
  readonly blocks: VitBlock[] = [];
  /** Final norm and SE gate of the 'cls' readout (null for 'pooled'). */
  readonly norm: LayerNorm | null;
  readonly se1: Linear | null;
  readonly se2: Linear | null;
  readonly head: Linear;
  readonly tokens: number;

  /** inChannels: channels of x1, x2, x3 (F_i + O_i). */
  constructor(ctx: ModuleContext, cfg: LrdifConfig, inChannels: [number, number, number]) {
    super(ctx);
    const W = cfg.vit.width;
    this.embedQ1 = this.child('embed_q.0', new Conv2d(ctx, inChannels[0], W, 3, { stride: 2 }));
    this.embedQ2 = this.child('embed_q.1', new Conv2d(ctx, W, W, 3, { stride: 2 }));
    this.embedK = this.child('embed_k', new Conv2d(ctx, inChannels[1], W, 3, { stride: 2 }));
    this.embedV = this.child('embed_v', new Conv2d(ctx, inChannels[2], W, 1));
    const s = cfg.inputSize / 16;
    this.tokens = 3 * s * s + 1;
    this.clsToken = this.param('cls_token', truncNormalInit(ctx.rng, W, 0.02), [1, 1, W]);
    this.posEmbed = this.param('pos_embed', truncNormalInit(ctx.rng, this.tokens * W, 0.02), [1, this.tokens, W]);
    const pooled = cfg.vit.readout === 'pooled';
    const init = vitInit(cfg);
    for (let i = 0; i < cfg.vit.depth; i++) this.blocks.push(this.child(`blocks.${i}`, new VitBlock(ctx, W, cfg.vit.heads, cfg.vit.mlpRatio, init, pooled ? cfg.vit.layerScaleInit : null)));
    this.norm = pooled ? null : this.child('norm', new LayerNorm(ctx, W, 'tokens', 1e-6));
    this.se1 = pooled ? null : this.child('se.fc1', new Linear(ctx, W, W, true, init));
    this.se2 = pooled ? null : this.child('se.fc2', new Linear(ctx, W, W, true, init));
    this.head = this.child('head', new Linear(ctx, W, cfg.numClasses, true, init));
  }

  forward(x1: Tensor, x2: Tensor, x3: Tensor): Tensor {
    const b = x1.shape[0]!;
    const W = this.clsToken.shape[2]!;
    const q = toTokens(this.embedQ2.forward(this.embedQ1.forward(x1)));
    const k = toTokens(this.embedK.forward(x2));
    const v = toTokens(this.embedV.forward(x3));
    const zeros = this.e.fill(this.e.empty([b, 1, W]), 0);
    const cls = add(zeros, this.clsToken); // broadcast the class token over the batch
    let x = add(concat([cls, q, k, v], 1), this.posEmbed);
    for (const blk of this.blocks) x = blk.forward(x);
    if (!this.norm || !this.se1 || !this.se2) return this.head.forward(mean(x, 1)); // 'pooled'
    const c = slice(this.norm.forward(x), 1, 0, 1).view([b, W]);
    const gated = mul(c, sigmoid(this.se2.forward(relu(this.se1.forward(c)))));
    return this.head.forward(gated);
  }
}
