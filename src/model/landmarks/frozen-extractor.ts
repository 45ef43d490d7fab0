/**
 * face-api's networks as LRDif's frozen backbones (the FrozenFeatureExtractor the model uses when
 * a batch carries no precomputed features):
 *
 * - image features (IR-50's role in POSTER++): the recognition net's conv64, conv128 and conv256
 *   stages, run at its own 150×150 input and resized to the DIL level sizes (S/4, S/8, S/16);
 * - landmark features (MobileFaceNet's role): the landmark net's dense blocks 1–3, run at its own
 *   112×112 input on the same image and resized likewise;
 * - the image embedding for FPEN's E_I (CLIP's role): the 128-d descriptor ++ the mean of the
 *   recognition net's last stage.
 *
 * Inputs are the model's images (ImageNet-normalised, any square size): normalisation is undone and
 * the image is resized as face-api's NetInput.toBatchTensor resizes a square crop (bilinear, no
 * corner alignment). Maps shrink with area averaging and grow bilinearly.
 */
import { type Engine, type Tensor, add, mul, concat, mean, resize2d } from '../../engine/index.ts';
import type { FrozenFeatureExtractor, FrozenFeatures, FrozenNeeds } from '../frozen-features.ts';
import { FACE_LANDMARK_INPUT, type FaceLandmarkNet } from './face-landmark-net.ts';
import { FaceRecognitionNet } from './face-recognition-net.ts';
import { IMAGENET_NORMALISATION, type InputNormalisation } from './normalisation.ts';

/** Resizes a map to side `to`: area averaging when shrinking, bilinear when growing. */
function toLevel(x: Tensor, to: number): Tensor {
  return resize2d(x, to, to, x.shape[2]! > to ? 'area' : 'bilinear');
}

export class FaceApiFeatureExtractor implements FrozenFeatureExtractor {
  private readonly scale: Tensor;
  private readonly shift: Tensor;

  /** `id` identifies the weights (e.g. a hash of the weight files); the networks stay owned by the caller; `input` is how the model's images were normalised. */
  constructor(readonly e: Engine, readonly recognition: FaceRecognitionNet | null, readonly landmarks: FaceLandmarkNet | null, readonly id = 'face-api', input: InputNormalisation = IMAGENET_NORMALISATION) {
    recognition?.setTrainable(false);
    landmarks?.setTrainable(false);
    this.scale = e.tensor(Float32Array.from(input.std), [1, 3, 1, 1]).keep();
    this.shift = e.tensor(Float32Array.from(input.mean), [1, 3, 1, 1]).keep();
  }

  extract(image: Tensor, needs: FrozenNeeds): FrozenFeatures {
    const e = this.e;
    const [, c, h, w] = image.shape as [number, number, number, number];
    if (image.rank !== 4 || c !== 3 || h !== w || h % 16 !== 0) throw new Error(`FaceApiFeatureExtractor: image ${JSON.stringify(image.shape)} must be [B, 3, S, S] with S a multiple of 16`);
    const levels = [h / 4, h / 8, h / 16];
    return e.noGrad(() =>
      e.scope(() => {
        const rgb = add(mul(image, this.scale), this.shift);
        const out: FrozenFeatures = {};
        if (needs.landmark) {
          if (!this.landmarks) throw new Error('FaceApiFeatureExtractor: landmark features requested but no landmark network was given');
          const taps = this.landmarks.features(resize2d(rgb, FACE_LANDMARK_INPUT, FACE_LANDMARK_INPUT, 'bilinear'));
          out.landmark = [1, 2, 3].map((t, l) => toLevel(taps[t]!, levels[l]!)) as [Tensor, Tensor, Tensor];
        }
        if (needs.image || needs.embedding) {
          if (!this.recognition) throw new Error('FaceApiFeatureExtractor: image features requested but no recognition network was given');
          const side = FaceRecognitionNet.INPUT;
          const r = this.recognition.embed(resize2d(rgb, side, side, 'bilinear'));
          if (needs.image) out.image = [r.stages.conv64, r.stages.conv128, r.stages.conv256].map((m, l) => toLevel(m, levels[l]!)) as [Tensor, Tensor, Tensor];
          if (needs.embedding) {
            const last = r.stages.conv256DownOut;
            out.embedding = concat([r.descriptor, mean(mean(last, 3), 2)], 1);
          }
        }
        return out;
      }),
    );
  }

  dispose(): void {
    this.scale.dispose();
    this.shift.dispose();
  }
}
