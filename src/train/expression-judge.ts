/**
 * A zero-shot judge: face-api's expression network (trained on real photos, never on our data) run on
 * a dataset's (optionally UDC-degraded) images, scored against its labels. A reference point for what
 * a pretrained classifier makes of SynthFER or a real set, clean and through the display.
 */
import type { Dataset } from './data/dataset.ts';
import { degradeUdc, type UdcPanel } from './data/udc.ts';
import { argmaxRows, computeMetrics, type Metrics } from './metrics.ts';
import { noGradRead } from './readback.ts';
import { CLASS_NAMES } from './data/dataset.ts';
import { FACE_API_EXPRESSIONS, FACE_LANDMARK_INPUT, prepareCrop, type FaceExpressionNet } from '../model/landmarks/face-landmark-net.ts';

const FACE_API_NAME_TO_OURS: Record<(typeof FACE_API_EXPRESSIONS)[number], (typeof CLASS_NAMES)[number]> = {
  neutral: 'neutral', happy: 'happiness', sad: 'sadness', angry: 'anger', fearful: 'fear', disgusted: 'disgust', surprised: 'surprise',
};

/** face-api's expression index → our class index (CLASS_NAMES order: surprise, fear, disgust, happiness, sadness, anger, neutral). */
export const FACE_API_EXPRESSION_TO_OURS: readonly number[] = FACE_API_EXPRESSIONS.map((n) => CLASS_NAMES.indexOf(FACE_API_NAME_TO_OURS[n]));

/** Rows of face-api probabilities [B·7] → the same rows in our class order (7 columns). */
export function expressionProbabilitiesInOurOrder(probs: ArrayLike<number>): Float32Array {
  const k = FACE_API_EXPRESSIONS.length;
  if (probs.length % k !== 0) throw new Error(`expressionProbabilitiesInOurOrder: ${probs.length} values are not rows of ${k}`);
  const out = new Float32Array(probs.length);
  for (let r = 0; r < probs.length; r += k) for (let j = 0; j < k; j++) out[r + FACE_API_EXPRESSION_TO_OURS[j]!] = probs[r + j]!;
  return out;
}


export interface JudgeOptions {
  /** Degrade each image (at its native size, before the resize) as through this panel; null or absent: clean. */
  udc?: { panel: UdcPanel; strength: number } | null;
  /** UDC seed; image i is degraded as the i-th image of that stream, whatever the batch size. */
  seed: number;
  /** Images per network call. */
  batch: number;
}

/**
 * Runs the network on every image of `ds` (resized to 112×112 as face-api's NetInput does) and
 * returns the metrics in our class order: `perClassAccuracy` is each class's recall, `confusion[true][pred]`.
 * face-api has no contempt class, so on an 8-class set contempt's recall is 0.
 */
export async function judgeDataset(net: FaceExpressionNet, ds: Dataset, opts: JudgeOptions): Promise<Metrics> {
  const e = net.e;
  const S = ds.imageSize;
  const { udc, seed, batch } = opts;
  if (!(Number.isInteger(batch) && batch >= 1)) throw new Error(`judgeDataset: batch ${batch} must be a positive integer`);
  const labels: number[] = [];
  const preds: number[] = [];
  for (let start = 0; start < ds.length; start += batch) {
    const count = Math.min(batch, ds.length - start);
    let images: Float32Array = new Float32Array(count * 3 * S * S);
    for (let i = 0; i < count; i++) {
      const s = ds.get(start + i);
      images.set(s.image, i * 3 * S * S);
      labels.push(s.label);
    }
    if (udc && udc.strength > 0) {
      const clean = images;
      images = await noGradRead(e, () => degradeUdc(e, e.tensor(clean, [count, 3, S, S]), { panel: udc.panel, strength: udc.strength, seed, offset: start }));
    }
    preds.push(...(await judgeImages(net, images, S, batch)));
  }
  return computeMetrics(labels, preds, Math.max(ds.numClasses, FACE_API_EXPRESSIONS.length));
}

/**
 * The network's predictions (our class indices) for square RGB images in [0, 1], CHW, `size` × `size`,
 * back to back; each is resized to 112×112 as face-api's NetInput does.
 */
export async function judgeImages(net: FaceExpressionNet, images: Float32Array, size: number, batch = 32): Promise<number[]> {
  const e = net.e;
  const n = FACE_LANDMARK_INPUT;
  const plane = 3 * size * size;
  const total = images.length / plane;
  if (!Number.isInteger(total)) throw new Error(`judgeImages: ${images.length} values are not whole ${size}×${size} RGB images`);
  const preds: number[] = [];
  for (let start = 0; start < total; start += batch) {
    const count = Math.min(batch, total - start);
    const input = new Float32Array(count * 3 * n * n);
    for (let i = 0; i < count; i++) {
      const k = start + i;
      input.set(prepareCrop({ width: size, height: size, image: images.subarray(k * plane, (k + 1) * plane) }).input, i * 3 * n * n);
    }
    const probs = await noGradRead(e, () => net.probabilities(e.tensor(input, [count, 3, n, n])));
    for (const p of argmaxRows(probs, FACE_API_EXPRESSIONS.length)) preds.push(FACE_API_EXPRESSION_TO_OURS[p]!);
  }
  return preds;
}
