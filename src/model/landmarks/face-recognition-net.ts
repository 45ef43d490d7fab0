/**
 * face-api's face-recognition network (FaceRecognitionNet, @vladmandic/face-api, MIT; a port of
 * dlib's ResNet-34-style face embedder) on our engine, re-implemented from its source
 * (src/faceRecognitionNet/FaceRecognitionNet.ts, convLayer.ts, residualLayer.ts, scaleLayer.ts):
 *
 *   x = (RGB·255 − meanRgb) / 255                         (meanRgb = 122.782, 117.001, 104.298)
 *   convLayer(x) = scale(conv(x) + bias), scale(y) = y·w + b per channel, relu unless noted
 *   convDown 7×7 stride 2 'valid' 3→32 (150 → 72), maxPool 3×3 stride 2 'valid' (72 → 35)
 *   residual:      relu(conv2(conv1(x)) + x)               (3×3 'same', conv2 without relu)
 *   residualDown:  relu(conv2(conv1(x)) + shortcut)        (conv1 3×3 stride 2 'valid', conv2 'same')
 *                  shortcut = avgPool 2×2 stride 2 'valid' of x, zero-padded in channels to match
 *   conv32 ×3 (35²) → conv64_down, ×3 (17²) → conv128_down, ×2 (8²) → conv256_down, ×2 (4²)
 *   → conv256_down_out (2²) → mean over the map → fc 256 → 128 (no bias): the face descriptor.
 *
 * The padding quirk: from an 8×8 (4×4) map, conv1's stride-2 'valid' 3×3 gives 3×3 (1×1) but the
 * 2×2 pool gives 4×4 (2×2). face-api then appends one zero row (bottom) and one zero column (right)
 * to the conv branch before the sum, so those border outputs are relu(shortcut) alone; reproduced here.
 *
 * Layout: NCHW with PyTorch weight layouts (tfjs HWIO filters → OIHW, fc [in, out] → [out, in] at
 * load). 'valid' is padding 0 and a stride-1 3×3 'same' is padding 1, both symmetric, so no kernel
 * shifting is needed (unlike the landmark net's stride-2 'same' convolutions).
 */
import {
  type Engine, type Tensor, conv2d, globalAvgPool, add, mul, relu, sub, concat, linear, avgPool2d, maxPool2d,
  fmt,
} from '../../engine/index.ts';
import { Module } from '../module.ts';
import { Rng } from '../init.ts';
import { FACE_API_MEAN_RGB, prepareCrop, type ChwImage } from './face-landmark-net.ts';
import type { TfjsWeight } from './tfjs-weights.ts';

export const FACE_RECOGNITION_MANIFEST = 'face_recognition_model-weights_manifest.json';
export const FACE_DESCRIPTOR_SIZE = 128;

/** One conv + bias + per-channel scale layer (face-api's ConvLayerParams), our layouts. */
interface ConvLayer {
  filters: Tensor;
  bias: Tensor;
  scaleWeights: Tensor;
  scaleBiases: Tensor;
}
interface ResidualBlock {
  name: string;
  conv1: ConvLayer;
  conv2: ConvLayer;
  down: boolean;
}

/** The residual blocks in order: [name, input channels, output channels, downsampling]. */
const BLOCKS: readonly (readonly [string, number, number, boolean])[] = [
  ['conv32_1', 32, 32, false], ['conv32_2', 32, 32, false], ['conv32_3', 32, 32, false],
  ['conv64_down', 32, 64, true], ['conv64_1', 64, 64, false], ['conv64_2', 64, 64, false], ['conv64_3', 64, 64, false],
  ['conv128_down', 64, 128, true], ['conv128_1', 128, 128, false], ['conv128_2', 128, 128, false],
  ['conv256_down', 128, 256, true], ['conv256_1', 256, 256, false], ['conv256_2', 256, 256, false],
  ['conv256_down_out', 256, 256, true],
];

/** The maps after each group of blocks, for an input of 150×150. */
export interface RecognitionStages {
  /** After conv32_3: [B, 32, 35, 35]. */
  conv32: Tensor;
  /** After conv64_3: [B, 64, 17, 17]. */
  conv64: Tensor;
  /** After conv128_2: [B, 128, 8, 8]. */
  conv128: Tensor;
  /** After conv256_2: [B, 256, 4, 4]. */
  conv256: Tensor;
  /** After conv256_down_out: [B, 256, 2, 2] (averaged into the descriptor's input). */
  conv256DownOut: Tensor;
}

/** The block after which each stage is tapped. */
const STAGE_AFTER: Record<string, keyof RecognitionStages> = {
  conv32_3: 'conv32', conv64_3: 'conv64', conv128_2: 'conv128', conv256_2: 'conv256', conv256_down_out: 'conv256DownOut',
};

export class FaceRecognitionNet extends Module {
  /** Side of the square RGB input face-api resizes every face to. */
  static readonly INPUT = 150;

  private readonly stem: ConvLayer;
  private readonly blocks: ResidualBlock[] = [];
  /** fc transposed to [128, 256]. */
  readonly fc: Tensor;
  private readonly mean: Tensor;

  /**
   * Builds the network from decoded tfjs weights (names as in face-api's manifest, e.g.
   * `conv64_down/conv1/conv/filters`); parameters are registered as `conv64_down.conv1.conv.filters`
   * etc. in our layouts and frozen.
   */
  constructor(e: Engine, weights: Map<string, TfjsWeight>) {
    super({ e, rng: new Rng(1) });
    const get = (name: string, shape: number[]): Float32Array => {
      const w = weights.get(name);
      if (!w) throw new Error(`FaceRecognitionNet: weight "${name}" missing from the weights (have ${weights.size} tensors)`);
      if (w.shape.join(',') !== shape.join(',')) throw new Error(`FaceRecognitionNet: weight "${name}" has shape ${fmt(w.shape)}, expected ${fmt(shape)}`);
      if (!(w.data instanceof Float32Array)) throw new Error(`FaceRecognitionNet: weight "${name}" must be float32, got ${w.dtype}`);
      return w.data;
    };
    const vector = (name: string, c: number) => this.param(name.replaceAll('/', '.'), get(name, [c]), [c]);
    const convLayer = (prefix: string, k: number, ci: number, co: number): ConvLayer => {
      const name = `${prefix}/conv/filters`;
      const hwio = get(name, [k, k, ci, co]);
      const oihw = new Float32Array(hwio.length);
      for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) {
        oihw[((o * ci + i) * k + y) * k + x] = hwio[((y * k + x) * ci + i) * co + o]!;
      }
      return {
        filters: this.param(name.replaceAll('/', '.'), oihw, [co, ci, k, k]),
        bias: vector(`${prefix}/conv/bias`, co),
        scaleWeights: vector(`${prefix}/scale/weights`, co),
        scaleBiases: vector(`${prefix}/scale/biases`, co),
      };
    };
    this.stem = convLayer('conv32_down', 7, 3, 32);
    for (const [name, ci, co, down] of BLOCKS) {
      this.blocks.push({ name, conv1: convLayer(`${name}/conv1`, 3, ci, co), conv2: convLayer(`${name}/conv2`, 3, co, co), down });
    }
    const fc = get('fc', [256, FACE_DESCRIPTOR_SIZE]);
    const fcT = new Float32Array(fc.length);
    for (let i = 0; i < 256; i++) for (let o = 0; o < FACE_DESCRIPTOR_SIZE; o++) fcT[o * 256 + i] = fc[i * FACE_DESCRIPTOR_SIZE + o]!;
    this.fc = this.param('fc', fcT, [FACE_DESCRIPTOR_SIZE, 256]);
    this.mean = e.tensor(Float32Array.from(FACE_API_MEAN_RGB, (m) => m / 255), [1, 3, 1, 1]).keep();
    this.setTrainable(false);
  }

  /** conv + bias, then the scale layer (x·w + b per channel), then relu if asked. */
  private convLayer(x: Tensor, l: ConvLayer, stride: number, padding: number, withRelu: boolean): Tensor {
    const c = l.bias.shape[0]!;
    const y = conv2d(x, l.filters, l.bias, { stride, padding });
    const scaled = add(mul(y, l.scaleWeights.view([1, c, 1, 1])), l.scaleBiases.view([1, c, 1, 1]));
    return withRelu ? relu(scaled) : scaled;
  }

  private residual(x: Tensor, b: ResidualBlock): Tensor {
    if (!b.down) {
      const out = this.convLayer(this.convLayer(x, b.conv1, 1, 1, true), b.conv2, 1, 1, false);
      return relu(add(out, x));
    }
    let out = this.convLayer(this.convLayer(x, b.conv1, 2, 0, true), b.conv2, 1, 1, false);
    let pooled = avgPool2d(x, 2, 2);
    const e = this.e;
    const [n, co, ho, wo] = out.shape as [number, number, number, number];
    const [, cp, hp, wp] = pooled.shape as [number, number, number, number];
    if (ho !== hp || wo !== wp) {
      // face-api appends exactly one zero row, then one zero column, to the conv branch.
      if (hp !== ho + 1 || wp !== wo + 1) throw new Error(`FaceRecognitionNet: ${b.name}: conv branch ${fmt(out.shape)} cannot be padded to the shortcut ${fmt(pooled.shape)}`);
      out = concat([out, e.fill(e.empty([n, co, 1, wo]), 0)], 2);
      out = concat([out, e.fill(e.empty([n, co, hp, 1]), 0)], 3);
    }
    if (cp !== co) pooled = concat([pooled, e.fill(e.empty(pooled.shape), 0)], 1);
    return relu(add(pooled, out));
  }

  /** RGB in [0, 1] [B, 3, H, W] → the network's input scale ((255·x − meanRgb) / 255). */
  normalise(rgb: Tensor): Tensor {
    return sub(rgb, this.mean);
  }

  /** Every stage's output map for RGB in [0, 1] [B, 3, 150, 150] (see RecognitionStages for the shapes). */
  stages(rgb01: Tensor): RecognitionStages {
    const n = FaceRecognitionNet.INPUT;
    if (rgb01.rank !== 4 || rgb01.shape[1] !== 3 || rgb01.shape[2] !== n || rgb01.shape[3] !== n) {
      throw new Error(`FaceRecognitionNet: images ${fmt(rgb01.shape)} must be [B, 3, ${n}, ${n}] RGB in [0, 1] (see prepareRecognitionInput)`);
    }
    let x = this.convLayer(this.normalise(rgb01), this.stem, 2, 0, true);
    x = maxPool2d(x, 3, 2);
    const out: Partial<RecognitionStages> = {};
    for (const b of this.blocks) {
      x = this.residual(x, b);
      const stage = STAGE_AFTER[b.name];
      if (stage) out[stage] = x;
    }
    return out as RecognitionStages;
  }

  /** The 128-d descriptor from the last stage map: its mean over the map through fc (no bias). */
  private head(last: Tensor): Tensor {
    return linear(globalAvgPool(last), this.fc);
  }

  /** Face descriptors [B, 128] for RGB in [0, 1] [B, 3, 150, 150] (differentiable w.r.t. the input). */
  descriptor(rgb01: Tensor): Tensor {
    return this.head(this.stages(rgb01).conv256DownOut);
  }

  /** Stage maps and descriptors in one pass, without recording gradients; other intermediates are freed. */
  embed(rgb01: Tensor): { stages: RecognitionStages; descriptor: Tensor } {
    const e = this.e;
    return e.noGrad(() => e.scope(() => {
      const stages = this.stages(rgb01);
      return { stages, descriptor: this.head(stages.conv256DownOut) };
    }));
  }

  override dispose(): void {
    super.dispose();
    this.mean.dispose();
  }
}

/**
 * One face image prepared as face-api's NetInput.toBatchTensor(150, true) does (prepareCrop of the
 * whole image at 150×150): CHW RGB [3, 150, 150] in the image's scale.
 */
export function prepareRecognitionInput(img: ChwImage): Float32Array {
  return prepareCrop(img, undefined, FaceRecognitionNet.INPUT).input;
}
