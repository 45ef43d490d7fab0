/**
 * What LRDif takes from its frozen pretrained networks (the paper's IR-50, MobileFaceNet and CLIP
 * image encoder; here face-api's recognition and landmark networks, see docs/design.md §backbones).
 * The model only sees these tensors: they come with the batch (computed once and cached by the
 * trainer, since the networks are frozen) or from an injected extractor, so the model layer
 * stays free of file I/O and runs in browsers.
 */
import type { Tensor } from '../engine/index.ts';

/** Channels of the frozen image-feature maps at the three DIL levels (recognition-net stages conv64, conv128, conv256). */
export const FROZEN_IMAGE_CHANNELS = [64, 128, 256] as const;
/** Channels of the frozen landmark-feature maps (landmark-net dense blocks 1–3). */
export const FROZEN_LANDMARK_CHANNELS = [64, 128, 256] as const;
/** Width of the frozen image embedding: the 128-d face descriptor ++ the mean of the last stage (256). */
export const FROZEN_EMBEDDING_DIM = 384;

export interface FrozenFeatures {
  /** [B, 64|128|256, S/4|S/8|S/16, …]: image features for the DIL network (backbone 'face-api'). */
  image?: [Tensor, Tensor, Tensor];
  /** [B, 64|128|256, S/4|S/8|S/16, …]: landmark features for the DIL network (landmarkFeatures 'backbone'). */
  landmark?: [Tensor, Tensor, Tensor];
  /** [B, FROZEN_EMBEDDING_DIM]: the image embedding FPEN's E_I projects (backbone 'face-api'). */
  embedding?: Tensor;
}

/** Which parts a model needs. */
export interface FrozenNeeds {
  image: boolean;
  landmark: boolean;
  embedding: boolean;
}

/** Runs the frozen networks on a batch of model inputs (normalised as the model's images are). */
export interface FrozenFeatureExtractor {
  /** Identifies the networks' weights (cached features made with other weights are not reused). */
  readonly id: string;
  extract(image: Tensor, needs: FrozenNeeds): FrozenFeatures;
}

/** A missing part names what was expected, so a wrongly assembled batch fails loudly. */
export function requirePart<K extends keyof FrozenFeatures>(f: FrozenFeatures | undefined, part: K, who: string): NonNullable<FrozenFeatures[K]> {
  const v = f?.[part];
  if (!v) throw new Error(`${who}: the batch carries no frozen "${part}" features (attach a FrozenFeatureExtractor or precompute them)`);
  return v as NonNullable<FrozenFeatures[K]>;
}
