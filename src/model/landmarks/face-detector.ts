/**
 * face-api's tiny face detector (TinyFaceDetector, @vladmandic/face-api, MIT) on our engine,
 * re-implemented from its source (src/tinyFaceDetector/*.ts, src/tinyYolov2/TinyYolov2Base.ts,
 * depthwiseSeparableConv.ts, leaky.ts, src/ops/nonMaxSuppression.ts, iou.ts):
 *
 *   input: the image zero-padded to a square at the right / bottom (not centred) and resized to
 *   S×S (S a multiple of 32, default 416) with tf.image.resizeBilinear; x = (RGB·255 − meanRgb) / 255
 *   (meanRgb = 117.001, 114.697, 97.404)
 *   conv0: 3×3 conv 3 → 16 + bias, 'valid' (no padding), leaky ReLU 0.1            S − 2
 *   maxPool 2×2 stride 2 'same'                                                      ⌈(S − 2)/2⌉
 *   conv1…conv5: depthwise 3×3 (pad 1) → pointwise 1×1 + bias (batch norm folded in by
 *   face-api's export), leaky ReLU 0.1, 16 → 32 → 64 → 128 → 256 → 512 channels, each but the
 *   last followed by maxPool 2×2 stride 2 'same'; after conv5 a maxPool 2×2 stride 1 'same'
 *   conv8: 1×1 conv 512 → 25 + bias: per cell and anchor a = 0…4, channels 5a … 5a + 4 are
 *   (tx, ty, tw, th, score logit) — a YOLO-v2 head with 5 anchors on an S/32 × S/32 grid.
 *
 * Decoding (host, after one readback): score = σ(logit); boxes above the score threshold are
 *   centre = ((col, row) + σ(tx, ty)) / cells, size = exp(tw, th) · anchor / cells, in units of the
 *   padded square, corrected to the image; then non-max suppression at IoU 0.4.
 *
 * TF 'same' max pooling with a 2×2 window pads at most one row / column after the map, with −∞: the
 * map is extended by a copy of its last row / column instead (the same maximum, since every window
 * holding the copy also holds the original), then pooled 'valid'.
 */
import { type Engine, type Tensor, conv2d, leakyRelu, sub, concat, slice, maxPool2d, fmt } from '../../engine/index.ts';
import { Module } from '../module.ts';
import { Rng } from '../init.ts';
import type { TfjsWeight } from './tfjs-weights.ts';
import { hwioToOihw, prepareCrop, type ChwImage } from './face-landmark-net.ts';

export const TINY_FACE_DETECTOR_MANIFEST = 'tiny_face_detector_model-weights_manifest.json';
/** face-api's per-channel mean of the detector on the 0–255 scale (tinyFaceDetector/const.ts). */
export const TINY_FACE_DETECTOR_MEAN_RGB = [117.001, 114.697, 97.404] as const;
/** Anchor (width, height) in grid cells (tinyFaceDetector/const.ts BOX_ANCHORS). */
export const TINY_FACE_DETECTOR_ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061], [4.266906, 5.178857], [9.041765, 10.66308],
];
/** Output channels of conv0 … conv5. */
const CHANNELS = [16, 32, 64, 128, 256, 512] as const;
/** Per anchor: tx, ty, tw, th, score logit (one class, so no class scores). */
const BOX_ENCODING = 5;
/** tf's leaky(): max(x, 0.1·x) with 0.1 as float32. */
const LEAKY_SLOPE = 0.10000000149011612;

export interface FaceDetectorOptions {
  /** Side of the network input, a multiple of 32 (face-api's default 416; larger finds smaller faces). */
  inputSize?: number;
  /** Minimum face score in (0, 1) (face-api's default 0.5). */
  scoreThreshold?: number;
  /** NMS overlap above which the lower-scored box is dropped (face-api's 0.4). */
  iouThreshold?: number;
}

/** A box in image pixels (x, y the top-left corner; fractional). */
export interface PixelBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FaceDetection {
  score: number;
  box: PixelBox;
}

/** face-api's defaults (TinyYolov2Options, tinyFaceDetector/const.ts IOU_THRESHOLD). */
export const FACE_DETECTOR_DEFAULTS: Readonly<Required<FaceDetectorOptions>> = { inputSize: 416, scoreThreshold: 0.5, iouThreshold: 0.4 };

function resolveOptions(o: FaceDetectorOptions): Required<FaceDetectorOptions> {
  const inputSize = o.inputSize ?? FACE_DETECTOR_DEFAULTS.inputSize;
  const scoreThreshold = o.scoreThreshold ?? FACE_DETECTOR_DEFAULTS.scoreThreshold;
  const iouThreshold = o.iouThreshold ?? FACE_DETECTOR_DEFAULTS.iouThreshold;
  if (!Number.isInteger(inputSize) || inputSize < 64 || inputSize % 32 !== 0) throw new Error(`TinyFaceDetector: inputSize ${inputSize} must be a multiple of 32, at least 64`);
  if (!(scoreThreshold > 0 && scoreThreshold < 1)) throw new Error(`TinyFaceDetector: scoreThreshold ${scoreThreshold} must be in (0, 1)`);
  if (!(iouThreshold >= 0 && iouThreshold <= 1)) throw new Error(`TinyFaceDetector: iouThreshold ${iouThreshold} must be in [0, 1]`);
  return { inputSize, scoreThreshold, iouThreshold };
}

interface SeparableConv {
  depthwise: Tensor;
  pointwise: Tensor;
  bias: Tensor;
}

/** TF 'same' 2×2 max pooling (see the header): extend by the edge row / column where the window overruns, then pool. */
function maxPoolSame(x: Tensor, stride: number): Tensor {
  let y = x;
  for (const axis of [2, 3]) {
    const n = y.shape[axis]!;
    const overrun = (Math.ceil(n / stride) - 1) * stride + 2 - n;
    if (overrun > 0) y = concat([y, slice(y, axis, n - 1, n)], axis);
  }
  return maxPool2d(y, 2, stride);
}

/**
 * The tiny face detector, built from decoded tfjs weights (names as in face-api's manifest, e.g.
 * `conv1/depthwise_filter`); parameters are registered as `conv1.depthwise_filter` etc. in our
 * layouts (OIHW) and frozen.
 */
export class TinyFaceDetector extends Module {
  private readonly conv0: { filters: Tensor; bias: Tensor };
  private readonly separable: SeparableConv[] = [];
  private readonly conv8: { filters: Tensor; bias: Tensor };
  private readonly mean: Tensor;

  constructor(e: Engine, weights: Map<string, TfjsWeight>) {
    super({ e, rng: new Rng(1) });
    const get = (key: string, shape: number[]): Float32Array => {
      const w = weights.get(key);
      if (!w) throw new Error(`TinyFaceDetector: weight "${key}" missing from the weights (have ${weights.size} tensors)`);
      if (w.shape.join(',') !== shape.join(',')) throw new Error(`TinyFaceDetector: weight "${key}" has shape ${fmt(w.shape)}, expected ${fmt(shape)}`);
      if (!(w.data instanceof Float32Array)) throw new Error(`TinyFaceDetector: weight "${key}" must be float32, got ${w.dtype}`);
      return w.data;
    };
    const full = (prefix: string, k: number, ci: number, co: number) => ({
      filters: this.param(`${prefix}.filters`, hwioToOihw(get(`${prefix}/filters`, [k, k, ci, co]), k, k, ci, co, false).data, [co, ci, k, k]),
      bias: this.param(`${prefix}.bias`, get(`${prefix}/bias`, [co]), [co]),
    });
    this.conv0 = full('conv0', 3, 3, CHANNELS[0]);
    for (let i = 1; i < CHANNELS.length; i++) {
      const [ci, co] = [CHANNELS[i - 1]!, CHANNELS[i]!];
      const p = `conv${i}`;
      this.separable.push({
        // Depthwise [3, 3, C, 1] → [C, 1, 3, 3] (the HWIO transform with co = 1 gives the same memory).
        depthwise: this.param(`${p}.depthwise_filter`, hwioToOihw(get(`${p}/depthwise_filter`, [3, 3, ci, 1]), 3, 3, ci, 1, false).data, [ci, 1, 3, 3]),
        pointwise: this.param(`${p}.pointwise_filter`, hwioToOihw(get(`${p}/pointwise_filter`, [1, 1, ci, co]), 1, 1, ci, co, false).data, [co, ci, 1, 1]),
        bias: this.param(`${p}.bias`, get(`${p}/bias`, [co]), [co]),
      });
    }
    this.conv8 = full('conv8', 1, CHANNELS[5], TINY_FACE_DETECTOR_ANCHORS.length * BOX_ENCODING);
    this.mean = e.tensor(Float32Array.from(TINY_FACE_DETECTOR_MEAN_RGB, (m) => m / 255), [1, 3, 1, 1]).keep();
    this.setTrainable(false);
  }

  /**
   * The head's raw output [B, 25, S/32, S/32] (channel 5a + k: anchor a, k = tx, ty, tw, th, score
   * logit) for RGB in [0, 1] [B, 3, S, S], S a multiple of 32 (see prepareDetectorInput).
   */
  forward(rgb: Tensor): Tensor {
    const [, c, h, w] = rgb.shape as [number, number, number, number];
    if (rgb.rank !== 4 || c !== 3 || h !== w || h % 32 !== 0 || h < 64) {
      throw new Error(`TinyFaceDetector: input ${fmt(rgb.shape)} must be [B, 3, S, S] with S a multiple of 32, at least 64 (see prepareDetectorInput)`);
    }
    let x = leakyRelu(conv2d(sub(rgb, this.mean), this.conv0.filters, this.conv0.bias), LEAKY_SLOPE);
    x = maxPoolSame(x, 2);
    this.separable.forEach((s, i) => {
      const d = conv2d(x, s.depthwise, undefined, { padding: 1, groups: x.shape[1]! });
      x = leakyRelu(conv2d(d, s.pointwise, s.bias), LEAKY_SLOPE);
      x = maxPoolSame(x, i < this.separable.length - 1 ? 2 : 1);
    });
    return conv2d(x, this.conv8.filters, this.conv8.bias);
  }

  /**
   * Faces in each image, best first after NMS (face-api's TinyFaceDetector.locateFaces), boxes in
   * image pixels. Images run through the network `batch` at a time; one readback per batch.
   */
  async detect(images: ChwImage[], options: FaceDetectorOptions = {}, batch = 4): Promise<FaceDetection[][]> {
    const o = resolveOptions(options);
    const e = this.e;
    const n = o.inputSize;
    const out: FaceDetection[][] = [];
    for (let s = 0; s < images.length; s += batch) {
      const chunk = images.slice(s, s + batch);
      const input = new Float32Array(chunk.length * 3 * n * n);
      chunk.forEach((img, i) => input.set(prepareDetectorInput(img, n), i * 3 * n * n));
      const raw = await e.noGrad(() => e.scope(async () => (await this.forward(e.tensor(input, [chunk.length, 3, n, n])).read()) as Float32Array));
      const per = raw.length / chunk.length;
      chunk.forEach((img, i) => out.push(decodeDetections(raw.subarray(i * per, (i + 1) * per), img.width, img.height, o)));
    }
    return out;
  }

  override dispose(): void {
    super.dispose();
    this.mean.dispose();
  }
}

/** The detector's input for one image: [3, S, S] in [0, 1], padded at the right / bottom and resized as face-api does. */
export function prepareDetectorInput(img: ChwImage, inputSize: number): Float32Array {
  return prepareCrop(img, undefined, inputSize, false).input;
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Intersection over union of two boxes (face-api's iou(…, true)). */
export function iou(a: PixelBox, b: PixelBox): number {
  const w = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const h = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** Greedy NMS as face-api's nonMaxSuppression: highest score first (ties: the later index), dropping boxes overlapping a kept one by more than the threshold. Returns kept indices, best first. */
export function nonMaxSuppression(boxes: PixelBox[], scores: number[], iouThreshold: number): number[] {
  let order = scores.map((score, i) => ({ score, i })).sort((a, b) => a.score - b.score).map((c) => c.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const best = order.pop()!;
    pick.push(best);
    order = order.filter((i) => iou(boxes[best]!, boxes[i]!) <= iouThreshold);
  }
  return pick;
}

/**
 * One image's head output [25, cells, cells] (NCHW, as read back) → detections in pixels of the
 * width×height image: score threshold, box decoding (TinyYolov2Base.extractBoxes), NMS.
 */
export function decodeDetections(head: ArrayLike<number>, width: number, height: number, options: FaceDetectorOptions = {}): FaceDetection[] {
  const o = resolveOptions(options);
  const anchors = TINY_FACE_DETECTOR_ANCHORS.length;
  const cells = Math.round(Math.sqrt(head.length / (anchors * BOX_ENCODING)));
  if (cells * cells * anchors * BOX_ENCODING !== head.length) {
    throw new Error(`decodeDetections: head output has ${head.length} values, expected ${anchors * BOX_ENCODING}·cells² for a square grid`);
  }
  // face-api's getReshapedInputDimensions: the image's size inside the padded, resized square.
  const scale = o.inputSize / Math.max(width, height);
  const correctX = o.inputSize / Math.round(width * scale);
  const correctY = o.inputSize / Math.round(height * scale);
  const plane = cells * cells;
  const at = (a: number, k: number, row: number, col: number) => head[(a * BOX_ENCODING + k) * plane + row * cells + col]!;
  const boxes: PixelBox[] = [];
  const scores: number[] = [];
  // Row, column, anchor order as face-api collects them, so NMS ties resolve the same way.
  for (let row = 0; row < cells; row++) for (let col = 0; col < cells; col++) for (let a = 0; a < anchors; a++) {
    const score = sigmoid(at(a, 4, row, col));
    if (!(score > o.scoreThreshold)) continue;
    const cx = ((col + sigmoid(at(a, 0, row, col))) / cells) * correctX;
    const cy = ((row + sigmoid(at(a, 1, row, col))) / cells) * correctY;
    const w = ((Math.exp(at(a, 2, row, col)) * TINY_FACE_DETECTOR_ANCHORS[a]![0]) / cells) * correctX;
    const h = ((Math.exp(at(a, 3, row, col)) * TINY_FACE_DETECTOR_ANCHORS[a]![1]) / cells) * correctY;
    boxes.push({ x: (cx - w / 2) * width, y: (cy - h / 2) * height, width: w * width, height: h * height });
    scores.push(score);
  }
  return nonMaxSuppression(boxes, scores, o.iouThreshold).map((i) => ({ score: scores[i]!, box: boxes[i]! }));
}

/** The detection with the largest box area, or null when there is none. */
export function largestFace(detections: FaceDetection[]): FaceDetection | null {
  let best: FaceDetection | null = null;
  for (const d of detections) if (!best || d.box.width * d.box.height > best.box.width * best.box.height) best = d;
  return best;
}
