/**
 * FPEN (DECISIONS §2, reference §2): the label embedding E_L, the DiffIR-CPEN-style image encoder
 * E_I, and the MLPs FPEN_S1 ([e_L, e_I] → Z) and FPEN_S2 (e_I → c).
 */
import { type Tensor, add, leakyRelu, concat, pixelUnshuffle, gather, globalAvgPool } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { Conv2d, LayerNorm, Linear } from './layers.ts';
import { normalInit } from './init.ts';
import type { LrdifConfig } from './config.ts';
import { FROZEN_EMBEDDING_DIM, requirePart, type FrozenFeatures } from './frozen-features.ts';

const lrelu = (x: Tensor) => leakyRelu(x, 0.1);

class ResBlock extends Module {
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  constructor(ctx: ModuleContext, width: number) {
    super(ctx);
    this.conv1 = this.child('body.0', new Conv2d(ctx, width, width, 3));
    this.conv2 = this.child('body.2', new Conv2d(ctx, width, width, 3));
  }
  forward(x: Tensor): Tensor {
    return add(x, this.conv2.forward(lrelu(this.conv1.forward(x))));
  }
}

/** E_I: PixelUnshuffle(4) → Conv(48→W) → n ResBlocks → Conv(W→2W) → Conv(2W→2W) → Conv(2W→D) → GAP. */
export class ImageEncoder extends Module {
  readonly convIn: Conv2d;
  readonly res: ResBlock[] = [];
  readonly conv1: Conv2d;
  readonly conv2: Conv2d;
  readonly conv3: Conv2d;
  constructor(ctx: ModuleContext, cfg: LrdifConfig) {
    super(ctx);
    const { width: W, resBlocks } = cfg.imageEncoder;
    this.convIn = this.child('E1', new Conv2d(ctx, 48, W, 3));
    for (let i = 0; i < resBlocks; i++) this.res.push(this.child(`E2.${i}`, new ResBlock(ctx, W)));
    this.conv1 = this.child('E3.0', new Conv2d(ctx, W, 2 * W, 3));
    this.conv2 = this.child('E3.2', new Conv2d(ctx, 2 * W, 2 * W, 3));
    this.conv3 = this.child('E3.4', new Conv2d(ctx, 2 * W, cfg.embedDim, 3));
  }
  forward(image: Tensor): Tensor {
    let x = lrelu(this.convIn.forward(pixelUnshuffle(image, 4)));
    for (const r of this.res) x = r.forward(x);
    x = lrelu(this.conv3.forward(lrelu(this.conv2.forward(lrelu(this.conv1.forward(x))))));
    return globalAvgPool(x);
  }
}

/**
 * E_I over a frozen pretrained embedding (CLIP's role in the paper; here face-api's recognition
 * descriptor and pooled last stage): Linear(384 → D) + LReLU, trainable.
 */
export class EmbeddingEncoder extends Module {
  readonly norm: LayerNorm | null;
  readonly proj: Linear;
  constructor(ctx: ModuleContext, cfg: LrdifConfig) {
    super(ctx);
    this.norm = cfg.adapterNorm ? this.child('norm', new LayerNorm(ctx, FROZEN_EMBEDDING_DIM)) : null;
    this.proj = this.child('proj', new Linear(ctx, FROZEN_EMBEDDING_DIM, cfg.embedDim));
  }
  forward(embedding: Tensor): Tensor {
    return lrelu(this.proj.forward(this.norm?.forward(embedding) ?? embedding));
  }
}

/** E_I for a config: the from-scratch conv encoder or the projection of the frozen embedding. */
function imageEncoderFor(ctx: ModuleContext, cfg: LrdifConfig): ImageEncoder | EmbeddingEncoder {
  return cfg.backbone === 'face-api' ? new EmbeddingEncoder(ctx, cfg) : new ImageEncoder(ctx, cfg);
}

function encodeImage(enc: ImageEncoder | EmbeddingEncoder, image: Tensor, frozen: FrozenFeatures | undefined): Tensor {
  return enc instanceof EmbeddingEncoder ? enc.forward(requirePart(frozen, 'embedding', 'FPEN')) : enc.forward(image);
}

/** Linear(in→C)+LReLU, then 2 × [Linear(C→C)+LReLU]. */
export class FpenMlp extends Module {
  readonly fc: Linear[];
  constructor(ctx: ModuleContext, inDim: number, eprDim: number) {
    super(ctx);
    this.fc = [
      this.child('0', new Linear(ctx, inDim, eprDim)),
      this.child('2', new Linear(ctx, eprDim, eprDim)),
      this.child('4', new Linear(ctx, eprDim, eprDim)),
    ];
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const l of this.fc) h = lrelu(l.forward(h));
    return h;
  }
}

/** FPEN_S1: Z = MLP([E_L(y), E_I(x)]). */
export class FpenS1 extends Module {
  readonly labelEmbedding: Tensor;
  readonly imageEncoder: ImageEncoder | EmbeddingEncoder;
  readonly mlp: FpenMlp;
  constructor(ctx: ModuleContext, readonly cfg: LrdifConfig) {
    super(ctx);
    this.labelEmbedding = this.param('label_embedding.weight', normalInit(ctx.rng, cfg.numClasses * cfg.embedDim), [cfg.numClasses, cfg.embedDim]);
    this.imageEncoder = this.child('image_encoder', imageEncoderFor(ctx, cfg));
    this.mlp = this.child('mlp', new FpenMlp(ctx, 2 * cfg.embedDim, cfg.eprDim));
  }
  /** labels: u32 [B]. */
  forward(image: Tensor, labels: Tensor, frozen?: FrozenFeatures): Tensor {
    const eL = gather(this.labelEmbedding, labels);
    const eI = encodeImage(this.imageEncoder, image, frozen);
    return this.mlp.forward(concat([eL, eI], 1));
  }
}

/** FPEN_S2: c = MLP(E_I(x)), first layer D→C. */
export class FpenS2 extends Module {
  readonly imageEncoder: ImageEncoder | EmbeddingEncoder;
  readonly mlp: FpenMlp;
  constructor(ctx: ModuleContext, readonly cfg: LrdifConfig) {
    super(ctx);
    this.imageEncoder = this.child('image_encoder', imageEncoderFor(ctx, cfg));
    this.mlp = this.child('mlp', new FpenMlp(ctx, cfg.embedDim, cfg.eprDim));
  }
  forward(image: Tensor, frozen?: FrozenFeatures): Tensor {
    return this.mlp.forward(encodeImage(this.imageEncoder, image, frozen));
  }
}
