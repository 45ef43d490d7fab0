/**
 * face-api's 68-point landmark network (FaceLandmark68Net) and expression network (FaceExpressionNet)
 * (@vladmandic/face-api, MIT) on our engine, re-implemented from its source
 * (src/faceFeatureExtractor/FaceFeatureExtractor.ts, denseBlock.ts, src/faceProcessor/FaceProcessor.ts,
 * src/faceLandmarkNet/FaceLandmark68NetBase.ts, src/faceExpressionNet/FaceExpressionNet.ts). Both are
 * the same feature extractor with a different fc head:
 *
 *   x = RGB·255 − meanRgb, ÷ 255                       (meanRgb = 122.782, 117.001, 104.298)
 *   4 dense blocks (32, 64, 128, 256 channels), each:  out1 = relu(conv0(x), stride 2)
 *     out2 = sep(out1); out3 = sep(relu(out1+out2)); out4 = sep(relu(out1+out2+out3))
 *     → relu(out1+out2+out3+out4)
 *   (conv0 is a full 3×3 conv in block 0, a depthwise-separable one after; sep = depthwise 3×3 →
 *   pointwise 1×1 + bias; TF 'same' padding)
 *   avgPool 7×7 (the whole 7×7 map at 112×112 input) → fc 256 → 136 = 68 (x, y) in [0, 1] of the
 *   square input crop (landmarks), or fc 256 → 7 → softmax (expressions).
 *
 * Layout: NCHW with PyTorch weight layouts (the tfjs HWIO / depthwise HWC1 / fc [in, out] weights are
 * transposed at load). TF 'same' padding of a stride-2 3×3 conv on an even map pads 0 before and 1
 * after; our conv2d pads symmetrically, so stride-2 kernels are stored as 4×4 kernels with a zero first
 * row and column and run with padding 1 (out[i] = Σ_k w[k]·x[2i + k], exactly TF's taps). That needs
 * even maps at every stride-2 conv, i.e. an input side that is a multiple of 16.
 */
import { type Engine, type Tensor, conv2d, globalAvgPool, add, relu, sub, linear, softmax, fmt } from '../../engine/index.ts';
import { Module } from '../module.ts';
import { Rng } from '../init.ts';
import type { TfjsWeight } from './tfjs-weights.ts';

export const FACE_LANDMARK_INPUT = 112;
/** face-api's per-channel mean on the 0–255 scale (FaceFeatureExtractor.forwardInput). */
export const FACE_API_MEAN_RGB = [122.782, 117.001, 104.298] as const;
/** Channels of the four dense blocks' outputs (maps at input/2, /4, /8, /16). */
export const FACE_LANDMARK_CHANNELS = [32, 64, 128, 256] as const;
export const FACE_LANDMARK_MANIFEST = 'face_landmark_68_model-weights_manifest.json';
export const FACE_EXPRESSION_MANIFEST = 'face_expression_model-weights_manifest.json';

/** HWIO [kh, kw, ci, co] (or depthwise [kh, kw, c, 1]) → OIHW, optionally into a 4×4 kernel shifted by one (stride-2 'same'). */
export function hwioToOihw(w: Float32Array, kh: number, kw: number, ci: number, co: number, shifted: boolean): { data: Float32Array; k: number } {
  const k = shifted ? kh + 1 : kh;
  const o = shifted ? 1 : 0;
  const out = new Float32Array(co * ci * k * k);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < ci; i++) for (let c = 0; c < co; c++) {
    out[((c * ci + i) * k + y + o) * k + x + o] = w[((y * kw + x) * ci + i) * co + c]!;
  }
  return { data: out, k };
}

interface SeparableConv {
  depthwise: Tensor;
  pointwise: Tensor;
  bias: Tensor;
  stride: number;
}
interface FullConv {
  filters: Tensor;
  bias: Tensor;
  stride: number;
}

/** What a network on face-api's feature extractor reads from a tfjs weight map. */
export interface FaceFeatureNetSpec {
  /** Class name for messages, e.g. 'FaceExpressionNet'. */
  name: string;
  /** Outputs of the fc head (256 → outputs). */
  outputs: number;
}

/**
 * face-api's FaceProcessor: the FaceFeatureExtractor (4 dense blocks, avgPool) and one fc layer,
 * which face-api's landmark and expression nets share. Built from decoded tfjs weights (names as in
 * face-api's manifests, the same in both, e.g. `dense1/conv0/depthwise_filter`, `fc/weights`);
 * parameters are registered as `dense1.conv0.depthwise_filter` etc. in our layouts and frozen.
 */
export class FaceFeatureNet extends Module {
  readonly name: string;
  readonly outputs: number;
  private readonly blocks: [FullConv | SeparableConv, SeparableConv, SeparableConv, SeparableConv][] = [];
  readonly fcWeight: Tensor;
  readonly fcBias: Tensor;
  private readonly mean: Tensor;

  constructor(e: Engine, weights: Map<string, TfjsWeight>, spec: FaceFeatureNetSpec) {
    super({ e, rng: new Rng(1) });
    const { name, outputs } = spec;
    this.name = name;
    this.outputs = outputs;
    const get = (key: string, shape: number[]): Float32Array => {
      const w = weights.get(key);
      if (!w) throw new Error(`${name}: weight "${key}" missing from the weights (have ${weights.size} tensors)`);
      if (w.shape.join(',') !== shape.join(',')) throw new Error(`${name}: weight "${key}" has shape ${fmt(w.shape)}, expected ${fmt(shape)}`);
      if (!(w.data instanceof Float32Array)) throw new Error(`${name}: weight "${key}" must be float32, got ${w.dtype}`);
      return w.data;
    };
    const pname = (n: string) => n.replaceAll('/', '.');
    let cin = 3;
    FACE_LANDMARK_CHANNELS.forEach((c, b) => {
      const convs = [0, 1, 2, 3].map((j) => {
        const prefix = `dense${b}/conv${j}`;
        const stride = j === 0 ? 2 : 1;
        const ci = j === 0 ? cin : c;
        const bias = this.param(pname(`${prefix}/bias`), get(`${prefix}/bias`, [c]), [c]);
        if (b === 0 && j === 0) {
          const f = hwioToOihw(get(`${prefix}/filters`, [3, 3, ci, c]), 3, 3, ci, c, true);
          return { filters: this.param(pname(`${prefix}/filters`), f.data, [c, ci, f.k, f.k]), bias, stride } satisfies FullConv;
        }
        const dw = hwioToOihw(get(`${prefix}/depthwise_filter`, [3, 3, ci, 1]), 3, 3, ci, 1, stride === 2);
        // Depthwise [kh, kw, C, 1] → [C, 1, k, k]: the HWIO transform with ci = C, co = 1 gives [1, C, k, k], the same memory.
        const pw = hwioToOihw(get(`${prefix}/pointwise_filter`, [1, 1, ci, c]), 1, 1, ci, c, false);
        return {
          depthwise: this.param(pname(`${prefix}/depthwise_filter`), dw.data, [ci, 1, dw.k, dw.k]),
          pointwise: this.param(pname(`${prefix}/pointwise_filter`), pw.data, [c, ci, 1, 1]),
          bias,
          stride,
        } satisfies SeparableConv;
      });
      this.blocks.push(convs as [FullConv, SeparableConv, SeparableConv, SeparableConv]);
      cin = c;
    });
    const features = FACE_LANDMARK_CHANNELS[3];
    const fc = get('fc/weights', [features, outputs]);
    const fcT = new Float32Array(outputs * features);
    for (let i = 0; i < features; i++) for (let o = 0; o < outputs; o++) fcT[o * features + i] = fc[i * outputs + o]!;
    this.fcWeight = this.param('fc.weights', fcT, [outputs, features]);
    this.fcBias = this.param('fc.bias', get('fc/bias', [outputs]), [outputs]);
    this.mean = e.tensor(Float32Array.from(FACE_API_MEAN_RGB, (m) => m / 255), [1, 3, 1, 1]).keep();
    this.setTrainable(false);
  }

  private conv(x: Tensor, c: FullConv | SeparableConv): Tensor {
    // Stride-2 kernels are the shifted 4×4 ones (see the header); padding 1 either way.
    if ('filters' in c) return conv2d(x, c.filters, c.bias, { stride: c.stride, padding: 1 });
    const d = conv2d(x, c.depthwise, undefined, { stride: c.stride, padding: 1, groups: x.shape[1]! });
    return conv2d(d, c.pointwise, c.bias);
  }

  private denseBlock(x: Tensor, b: number): Tensor {
    const [c0, c1, c2, c3] = this.blocks[b]!;
    const out1 = relu(this.conv(x, c0));
    const out2 = this.conv(out1, c1);
    const out3 = this.conv(relu(add(out1, out2)), c2);
    const out4 = this.conv(relu(add(out1, add(out2, out3))), c3);
    return relu(add(out1, add(out2, add(out3, out4))));
  }

  /** RGB in [0, 1] [B, 3, H, W] → the network's input scale ((255·x − meanRgb) / 255). */
  normalise(rgb: Tensor): Tensor {
    return sub(rgb, this.mean);
  }

  /**
   * The four dense blocks' outputs [B, 32, H/2], [B, 64, H/4], [B, 128, H/8], [B, 256, H/16] for an
   * RGB image in [0, 1] [B, 3, H, W] with H, W multiples of 16.
   */
  features(rgb: Tensor): [Tensor, Tensor, Tensor, Tensor] {
    const [, c, h, w] = rgb.shape as [number, number, number, number];
    if (rgb.rank !== 4 || c !== 3 || h % 16 !== 0 || w % 16 !== 0) {
      throw new Error(`${this.name}: image ${fmt(rgb.shape)} must be [B, 3, H, W] with H and W multiples of 16`);
    }
    let x = this.normalise(rgb);
    const taps: Tensor[] = [];
    for (let b = 0; b < 4; b++) {
      x = this.denseBlock(x, b);
      taps.push(x);
    }
    return taps as [Tensor, Tensor, Tensor, Tensor];
  }

  /** face-api's bottleneck features [B, 256] (the extractor's output) for RGB [B, 3, 112, 112] in [0, 1]. */
  pooledFeatures(rgb: Tensor): Tensor {
    if (rgb.rank !== 4 || rgb.shape[2] !== FACE_LANDMARK_INPUT || rgb.shape[3] !== FACE_LANDMARK_INPUT) {
      throw new Error(`${this.name}: needs [B, 3, 112, 112] images, got ${fmt(rgb.shape)}`);
    }
    // avgPool 7×7 stride 2 'valid' over the 7×7 map = the global mean.
    return globalAvgPool(this.features(rgb)[3]);
  }

  /** The fc head's raw outputs [B, outputs] for RGB [B, 3, 112, 112] in [0, 1]. */
  forward(rgb: Tensor): Tensor {
    return linear(this.pooledFeatures(rgb), this.fcWeight, this.fcBias);
  }

  override dispose(): void {
    super.dispose();
    this.mean.dispose();
  }
}

/** face-api's FaceLandmark68Net: fc 256 → 136 = 68 (x, y) in [0, 1] of the crop. */
export class FaceLandmarkNet extends FaceFeatureNet {
  constructor(e: Engine, weights: Map<string, TfjsWeight>) {
    super(e, weights, { name: 'FaceLandmarkNet', outputs: 136 });
  }

  /** Landmarks [B, 68, 2] in [0, 1] of the crop, without recording gradients; intermediates are freed. */
  predict(rgb: Tensor): Tensor {
    const e = this.e;
    return e.noGrad(() => e.scope(() => this.forward(rgb).view([rgb.shape[0]!, 68, 2])));
  }
}

/** face-api's expression classes in its output order (FaceExpressions.ts). */
export const FACE_API_EXPRESSIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;

/** face-api's FaceExpressionNet: fc 256 → 7 logits, softmax, in FACE_API_EXPRESSIONS order. */
export class FaceExpressionNet extends FaceFeatureNet {
  constructor(e: Engine, weights: Map<string, TfjsWeight>) {
    super(e, weights, { name: 'FaceExpressionNet', outputs: FACE_API_EXPRESSIONS.length });
  }

  /** Class probabilities [B, 7] in face-api's order, without recording gradients; intermediates are freed. */
  probabilities(rgb: Tensor): Tensor {
    const e = this.e;
    return e.noGrad(() => e.scope(() => softmax(this.forward(rgb))));
  }
}

// ------------------------------------------------------------------ host-side crop preparation and decoding

/** An RGB image, CHW float in [0, 1]. */
export interface ChwImage {
  width: number;
  height: number;
  image: Float32Array;
}

export interface CropBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where a prepared crop came from, to map the network's outputs back to image pixels. */
export interface CropMapping {
  box: CropBox;
  /** face-api's square padding of the crop (before scaling): columns added left, rows added top. */
  padLeft: number;
  padTop: number;
  /** Side of the padded square in crop pixels. */
  side: number;
}

/**
 * Prepares one crop as face-api's NetInput.toBatchTensor(size, centred) does: the crop (integer box,
 * default the whole image) is zero-padded to a square (centred: round(diff/2) after, the rest before;
 * not centred, as face-api's detectors use it: all after) and resized to size×size (default 112) with
 * tf.image.resizeBilinear semantics (no corner alignment, no half-pixel centres).
 */
export function prepareCrop(img: ChwImage, box: CropBox = { x: 0, y: 0, width: img.width, height: img.height }, size = FACE_LANDMARK_INPUT, centred = true): { input: Float32Array; mapping: CropMapping } {
  const { x: bx, y: by, width: bw, height: bh } = box;
  if (!Number.isInteger(img.width) || !Number.isInteger(img.height) || img.width < 1 || img.height < 1 || img.image.length !== 3 * img.width * img.height) {
    throw new Error(`prepareCrop: image ${img.width}×${img.height} must have positive integer sides and 3·${img.width}·${img.height} values, got ${img.image.length}`);
  }
  if (![bx, by, bw, bh].every(Number.isInteger) || bw < 1 || bh < 1 || bx < 0 || by < 0 || bx + bw > img.width || by + bh > img.height) {
    throw new Error(`prepareCrop: crop ${JSON.stringify(box)} is not an integer box inside the ${img.width}×${img.height} image`);
  }
  if (!Number.isInteger(size) || size < 1) throw new Error(`prepareCrop: size ${size} must be a positive integer`);
  const side = Math.max(bw, bh);
  const diff = side - Math.min(bw, bh);
  const after = centred ? Math.round(diff * 0.5) : diff;
  const before = diff - after;
  const padLeft = bw < bh ? before : 0;
  const padTop = bh < bw ? before : 0;
  const n = size;
  const plane = img.width * img.height;
  const input = new Float32Array(3 * n * n);
  const at = (c: number, sy: number, sx: number): number => {
    const cx = sx - padLeft;
    const cy = sy - padTop;
    if (cx < 0 || cy < 0 || cx >= bw || cy >= bh) return 0;
    return img.image[c * plane + (by + cy) * img.width + bx + cx]!;
  };
  const scale = side / n;
  for (let oy = 0; oy < n; oy++) {
    const sy = oy * scale;
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, side - 1);
    const fy = sy - y0;
    for (let ox = 0; ox < n; ox++) {
      const sx = ox * scale;
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, side - 1);
      const fx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const top = at(c, y0, x0) + (at(c, y0, x1) - at(c, y0, x0)) * fx;
        const bottom = at(c, y1, x0) + (at(c, y1, x1) - at(c, y1, x0)) * fx;
        input[(c * n + oy) * n + ox] = top + (bottom - top) * fy;
      }
    }
  }
  return { input, mapping: { box: { ...box }, padLeft, padTop, side } };
}

/** The network's 136 relative outputs for one crop → 68 (x, y) points in image pixels (interleaved). */
export function landmarksToPixels(raw: ArrayLike<number>, m: CropMapping): Float64Array {
  if (raw.length !== 136) throw new Error(`landmarksToPixels: expected 136 values, got ${raw.length}`);
  const out = new Float64Array(136);
  for (let i = 0; i < 68; i++) {
    out[2 * i] = m.box.x + raw[2 * i]! * m.side - m.padLeft;
    out[2 * i + 1] = m.box.y + raw[2 * i + 1]! * m.side - m.padTop;
  }
  return out;
}

/**
 * 68 landmarks per square image, x, y in [0, 1] of the image (the whole image is the crop), as one
 * Float32Array of total × 136; `image(i)` is the i-th CHW image in [0, 1], size × size; they run
 * through the network `batch` at a time.
 */
export async function landmarksOfSquareImages(net: FaceLandmarkNet, total: number, image: (i: number) => Float32Array, size: number, batch = 32, onProgress?: (done: number) => void): Promise<Float32Array> {
  const e = net.e;
  const n = FACE_LANDMARK_INPUT;
  const out = new Float32Array(total * 136);
  for (let start = 0; start < total; start += batch) {
    const count = Math.min(batch, total - start);
    const input = new Float32Array(count * 3 * n * n);
    for (let i = 0; i < count; i++) input.set(prepareCrop({ width: size, height: size, image: image(start + i) }).input, i * 3 * n * n);
    const raw = await e.noGrad(() => e.scope(async () => (await net.predict(e.tensor(input, [count, 3, n, n])).read()) as Float32Array));
    out.set(raw, start * 136);
    onProgress?.(start + count);
  }
  return out;
}
