/**
 * face-api's landmark network as the DIL network's landmark backbone (LandmarkBackbone): the outputs
 * of its dense blocks 1–3 are maps at H/4, H/8, H/16 with 64, 128, 256 channels, i.e. exactly the
 * DIL levels' sizes for any input side that is a multiple of 16 (the network is fully convolutional
 * up to its pooling; at inputs other than 112 it runs at that resolution, outside its training scale).
 *
 * Channels: where a preset's `dil.dims[l]` equals the network's channels (the paper preset:
 * 64, 128, 256) the map is used as is; otherwise a 1×1 convolution `proj{l+1}` maps it to
 * `dil.dims[l]`. These projections are this module's only parameters and they are TRAINABLE (a
 * frozen random projection would throw information away); the landmark network itself is frozen
 * and kept out of the parameter tree (its weights come from npm, not from checkpoints). Register
 * the backbone as a child module of the DIL network so the projections are optimised and saved.
 */
import type { Tensor } from '../../engine/tensor.ts';
import { add, mul } from '../../engine/ops/elementwise.ts';
import { Module, type ModuleContext } from '../module.ts';
import { Conv2d } from '../layers.ts';
import type { LandmarkBackbone } from '../dil-network.ts';
import type { LrdifConfig } from '../config.ts';
import { FACE_LANDMARK_CHANNELS, FaceLandmarkNet } from './face-landmark-net.ts';
import { loadFaceLandmarkNet } from './face-api-files.ts';

/** The model's input normalisation (default: ImageNet, as src/train/batch.ts applies). */
export interface InputNormalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}
export const IMAGENET_NORMALISATION: InputNormalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export class FaceLandmarkBackbone extends Module implements LandmarkBackbone {
  readonly projections: (Conv2d | null)[];
  private readonly scale: Tensor;
  private readonly shift: Tensor;

  /**
   * `net` stays owned by the caller (share one across models); `dims` are the preset's
   * `dil.dims`; `input` is how the model's images were normalised (undone before the network).
   */
  constructor(ctx: ModuleContext, readonly net: FaceLandmarkNet, readonly dims: readonly [number, number, number], input: InputNormalisation = IMAGENET_NORMALISATION) {
    super(ctx);
    net.setTrainable(false);
    this.projections = [0, 1, 2].map((l) => {
      const c = FACE_LANDMARK_CHANNELS[l + 1]!;
      return c === dims[l] ? null : this.child(`proj${l + 1}`, new Conv2d(ctx, c, dims[l]!, 1, { padding: 0 }));
    });
    // normalised x → RGB in [0, 1]: x·std + mean.
    this.scale = ctx.e.tensor(Float32Array.from(input.std), [1, 3, 1, 1]).keep();
    this.shift = ctx.e.tensor(Float32Array.from(input.mean), [1, 3, 1, 1]).keep();
  }

  /** Builds the backbone for a config (loads face-api's weights from node_modules unless `net` is given). */
  static forConfig(ctx: ModuleContext, cfg: LrdifConfig, net: FaceLandmarkNet = loadFaceLandmarkNet(ctx.e)): FaceLandmarkBackbone {
    return new FaceLandmarkBackbone(ctx, net, cfg.dil.dims);
  }

  /** image [B, 3, H, W] normalised as configured → [B, dims[l], H/(4·2^l), …] for l = 0, 1, 2; `landmarks` is unused. */
  features(image: Tensor, _landmarks: Tensor | null): [Tensor, Tensor, Tensor] {
    const e = this.e;
    // The frozen network needs no tape; only the projections (if any) record gradients.
    const maps = e.noGrad(() =>
      e.scope(() => {
        const [, d1, d2, d3] = this.net.features(add(mul(image, this.scale), this.shift));
        return [d1, d2, d3];
      }),
    );
    // The raw maps stay alive: the projections' weight gradients read them in backward.
    return maps.map((m, l) => this.projections[l]?.forward(m) ?? m) as [Tensor, Tensor, Tensor];
  }

  override dispose(): void {
    super.dispose();
    this.scale.dispose();
    this.shift.dispose();
  }
}
