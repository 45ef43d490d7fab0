/**
 * A zero-shot judge: face-api's expression network (trained on real photos, never on our data) run on
 * a dataset's (optionally UDC-degraded) images, scored against its labels. A reference point for what
 * a pretrained classifier makes of SynthFER or a real set, clean and through the display.
 */
import type { Dataset } from './data/dataset.ts';
import { degradeUdc, type UdcPanel } from './data/udc.ts';
import { argmaxRows, computeMetrics, type Metrics } from './metrics.ts';
import { noGradRead } from './readback.ts';
import {
  FACE_API_EXPRESSION_TO_OURS, FACE_API_EXPRESSIONS, FACE_LANDMARK_INPUT, prepareCrop, type FaceExpressionNet,
} from '../model/landmarks/face-landmark-net.ts';

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
  const n = FACE_LANDMARK_INPUT;
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
    const input = new Float32Array(count * 3 * n * n);
    for (let i = 0; i < count; i++) {
      input.set(prepareCrop({ width: S, height: S, image: images.subarray(i * 3 * S * S, (i + 1) * 3 * S * S) }).input, i * 3 * n * n);
    }
    const probs = await noGradRead(e, () => net.probabilities(e.tensor(input, [count, 3, n, n])));
    for (const p of argmaxRows(probs, FACE_API_EXPRESSIONS.length)) preds.push(FACE_API_EXPRESSION_TO_OURS[p]!);
  }
  return computeMetrics(labels, preds, Math.max(ds.numClasses, FACE_API_EXPRESSIONS.length));
}
