/**
 * face-api's tiny face detector on our engine against @vladmandic/face-api itself (its bundled tfjs
 * CPU backend, weights from node_modules, no network): the weights decode, the raw head output, the
 * decoded and NMS-filtered boxes and face-api's whole detectAllFaces().withFaceLandmarks() chain
 * (crop of the detection + landmark net) on the astronaut fixture and on it pasted off-centre into
 * larger landscape and portrait canvases; NMS, IoU and the detection crop against face-api's own
 * functions on random boxes; and the errors.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { faceApiModelDir, loadFaceLandmarkNet, loadTfjsWeights, loadTinyFaceDetector } from '../src/model/landmarks/face-api-files.ts';
import {
  TINY_FACE_DETECTOR_MANIFEST, TinyFaceDetector, decodeDetections, iou, nonMaxSuppression, prepareDetectorInput, type FaceDetection, type PixelBox,
} from '../src/model/landmarks/face-detector.ts';
import { FACE_LANDMARK_MANIFEST, type ChwImage, type FaceLandmarkNet } from '../src/model/landmarks/face-landmark-net.ts';
import { detectionCrop, locateFaces } from '../src/model/landmarks/face-locator.ts';
import type { Engine } from '../src/engine/engine.ts';
import { faceApiReference, referenceWeightMap } from './face-api-reference.ts';
import { freshSeed, getEngine, relErr, rng } from './helpers.ts';
import { astronautFace, pasteFace } from './face-images.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
let reference: Promise<{ faceapi: any; tf: any }> | null = null;

/** face-api with its global tiny face detector and landmark net loaded from node_modules. */
function faceApi() {
  reference ??= (async () => {
    const r = await faceApiReference();
    r.faceapi.nets.tinyFaceDetector.loadFromWeightMap(referenceWeightMap(r.tf, TINY_FACE_DETECTOR_MANIFEST));
    r.faceapi.nets.faceLandmark68Net.loadFromWeightMap(referenceWeightMap(r.tf, FACE_LANDMARK_MANIFEST));
    return r;
  })();
  return reference;
}

interface ReferenceRun {
  /** The detector's head output, transposed to NCHW [25, cells, cells]. */
  head: Float32Array;
  detections: FaceDetection[];
  /** Per detection: face-api's crop (Box.clipAtImageBorders) and its landmarks in that crop's pixels, interleaved. */
  crops: { x: number; y: number; width: number; height: number }[];
  cropLandmarks: Float64Array[];
}

/** face-api's detectAllFaces(image, TinyFaceDetectorOptions).withFaceLandmarks(), keeping the head output it decodes. */
async function referenceRun(img: ChwImage, inputSize: number): Promise<ReferenceRun> {
  const { faceapi, tf } = await faceApi();
  const plane = img.width * img.height;
  const hwc = new Int32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) hwc[3 * i + c] = Math.round(255 * img.image[c * plane + i]!);
  const x = tf.tensor3d(hwc, [img.height, img.width, 3], 'int32');
  const net = faceapi.nets.tinyFaceDetector;
  const forwardInput = net.forwardInput;
  let head: Float32Array | null = null;
  net.forwardInput = (...args: any[]) => {
    const out = forwardInput.apply(net, args);
    head = Float32Array.from(tf.transpose(out, [0, 3, 1, 2]).dataSync());
    return out;
  };
  try {
    const results = await faceapi.detectAllFaces(x, new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: 0.5 })).withFaceLandmarks();
    return {
      head: head!,
      detections: results.map((r: any) => ({ score: r.detection.score, box: { x: r.detection.box.x, y: r.detection.box.y, width: r.detection.box.width, height: r.detection.box.height } })),
      crops: results.map((r: any) => {
        const b = r.detection.box.clipAtImageBorders(img.width, img.height);
        return { x: b.x, y: b.y, width: b.width, height: b.height };
      }),
      cropLandmarks: results.map((r: any) => Float64Array.from(r.unshiftedLandmarks.positions.flatMap((p: any) => [p.x, p.y]))),
    };
  } finally {
    net.forwardInput = forwardInput;
    x.dispose();
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

let engine: Engine;
let detector: TinyFaceDetector;
let landmarkNet: FaceLandmarkNet;

beforeAll(async () => {
  engine = await getEngine();
  detector = loadTinyFaceDetector(engine);
  landmarkNet = loadFaceLandmarkNet(engine);
});

const boxOf = (c: { x: number; y: number; width: number; height: number }): PixelBox => ({ x: c.x, y: c.y, width: c.width, height: c.height });

// ------------------------------------------------------------------ tests

describe('tiny face detector', () => {
  it("decodes face-api's detector manifest (uint8-quantised) exactly as tf.io.decodeWeights does and registers every weight in our layouts, frozen", async () => {
    const { tf } = await faceApi();
    const mine = loadTfjsWeights(join(faceApiModelDir(), TINY_FACE_DETECTOR_MANIFEST));
    const theirs = referenceWeightMap(tf, TINY_FACE_DETECTOR_MANIFEST);
    expect([...mine.keys()].sort()).toEqual(Object.keys(theirs).sort());
    for (const [name, w] of mine) {
      const t = theirs[name].dataSync() as Float32Array;
      expect(w.shape, name).toEqual(theirs[name].shape);
      expect(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).equals(Buffer.from(t.buffer, t.byteOffset, t.byteLength)), name).toBe(true);
    }
    const params = new Map([...detector.namedParameters()].map(([n, t]) => [n, t.shape]));
    expect(params.size).toBe(mine.size);
    expect(params.get('conv0.filters')).toEqual([16, 3, 3, 3]);
    expect(params.get('conv3.depthwise_filter')).toEqual([64, 1, 3, 3]);
    expect(params.get('conv5.pointwise_filter')).toEqual([512, 256, 1, 1]);
    expect(params.get('conv8.filters')).toEqual([25, 512, 1, 1]);
    expect(detector.trainable()).toEqual([]);
    expect(detector.numParameters()).toBe([...mine.values()].reduce((s, w) => s + w.data.length, 0));
  });

  it("matches face-api on the astronaut crop and on it off-centre in landscape and portrait canvases: head (< 1e-5), boxes, scores, crops and landmarks", async () => {
    const seed = freshSeed('face detector agreement');
    const r = rng(seed);
    const face = astronautFace();
    // Off-centre: the face's left edge in the right half of the landscape canvas, its top in the lower half of the portrait one.
    const landscape = { ox: 200 + Math.floor(r() * (400 - 112 - 200)), oy: Math.floor(r() * (300 - 112)) };
    const portrait = { ox: Math.floor(r() * (240 - 112)), oy: 180 + Math.floor(r() * (360 - 112 - 180)) };
    const cases = [
      { name: 'astronaut 112×112', image: face, inputSize: 416 },
      { name: `400×300 canvas, face at (${landscape.ox}, ${landscape.oy})`, image: pasteFace(face, 400, 300, landscape.ox, landscape.oy, seed), inputSize: 416 },
      { name: `240×360 canvas, face at (${portrait.ox}, ${portrait.oy}), input 320`, image: pasteFace(face, 240, 360, portrait.ox, portrait.oy, seed + 1), inputSize: 320 },
    ];
    const worst = { head: 0, iou: 1, score: 0, landmarks: 0 };
    for (const c of cases) {
      const n = c.inputSize;
      const head = await engine.scope(async () => (await detector.forward(engine.tensor(prepareDetectorInput(c.image, n), [1, 3, n, n])).read()) as Float32Array);
      const ref = await referenceRun(c.image, n);
      expect(head.length, c.name).toBe(25 * (n / 32) ** 2);
      const err = relErr(head, ref.head);
      worst.head = Math.max(worst.head, err);
      expect(err, `${c.name}: head relative error`).toBeLessThan(1e-5);

      const ours = decodeDetections(head, c.image.width, c.image.height, { inputSize: n });
      // The whole photo of a face filling the frame is no detection for either; the pasted faces are one each.
      expect(ours.length, `${c.name}: detections`).toBe(ref.detections.length);
      if (c.image !== face) expect(ours.length, c.name).toBe(1);
      ours.forEach((d, i) => {
        const theirs = ref.detections[i]!;
        worst.iou = Math.min(worst.iou, iou(d.box, theirs.box));
        worst.score = Math.max(worst.score, Math.abs(d.score - theirs.score));
        expect(iou(d.box, theirs.box), `${c.name}: box ${i}`).toBeGreaterThanOrEqual(0.95);
        expect(Math.abs(d.score - theirs.score), `${c.name}: score ${i}`).toBeLessThanOrEqual(1e-4);
      });

      // The whole pipeline (detect → largest face → crop → landmarks) crops the detection as face-api
      // does and finds the same points.
      const [located] = await locateFaces(detector, landmarkNet, [c.image], { inputSize: n });
      if (ref.detections.length === 0) {
        expect(located, c.name).toBeNull();
        continue;
      }
      expect(located!.detection, c.name).toEqual(ours[0]);
      expect(located!.crop, c.name).toEqual(ref.crops[0]);
      // face-api maps the points back with half the square padding (diff / 2) where the input was
      // padded by floor(diff / 2) before the crop: half a pixel off along the padded axis when the
      // crop's sides differ by an odd count. Ours uses the padding applied; undo face-api's shift.
      const { x: cx, y: cy, width: cw, height: ch } = ref.crops[0]!;
      const shift = Math.abs(cw - ch) / 2 - Math.floor(Math.abs(cw - ch) / 2);
      const refPoints = ref.cropLandmarks[0]!.map((v, k) => (k % 2 === 0 ? v + cx + (cw < ch ? shift : 0) : v + cy + (ch < cw ? shift : 0)));
      const diff = Math.max(...located!.landmarks.map((v, k) => Math.abs(v - refPoints[k]!)));
      worst.landmarks = Math.max(worst.landmarks, diff);
      expect(diff, `${c.name}: landmarks (pixels)`).toBeLessThan(0.01);
    }
    console.log(`[face-detector] head relative error ≤ ${worst.head.toExponential(2)}, box IoU ≥ ${worst.iou.toFixed(6)}, score difference ≤ ${worst.score.toExponential(2)}, landmarks within ${worst.landmarks.toExponential(2)} px`);
  });

  it("NMS, IoU and the detection crop agree with face-api's nonMaxSuppression, iou and Box.clipAtImageBorders on random boxes", async () => {
    const { faceapi } = await faceApi();
    const seed = freshSeed('face detector nms');
    const r = rng(seed);
    for (let trial = 0; trial < 20; trial++) {
      const count = 1 + Math.floor(r() * 30);
      const boxes: PixelBox[] = Array.from({ length: count }, () => ({ x: r() * 200 - 20, y: r() * 150 - 20, width: 5 + r() * 80, height: 5 + r() * 80 }));
      // Some equal scores, to check ties resolve the same way.
      const scores = boxes.map(() => Math.round(r() * 8) / 8);
      const theirBoxes = boxes.map((b) => new faceapi.Box(b));
      expect(nonMaxSuppression(boxes, scores, 0.4), `trial ${trial}`).toEqual(faceapi.nonMaxSuppression(theirBoxes, scores, 0.4, true));
      expect(iou(boxes[0]!, boxes[count - 1]!)).toBeCloseTo(faceapi.iou(theirBoxes[0], theirBoxes[count - 1], true), 12);
      for (const [i, b] of boxes.entries()) {
        const clipped = theirBoxes[i].clipAtImageBorders(160, 120);
        const expected = clipped.width > 0 && clipped.height > 0 ? boxOf(clipped) : null;
        expect(detectionCrop(b, 160, 120), `trial ${trial} box ${i} ${JSON.stringify(b)}`).toEqual(expected);
      }
    }
  });

  it('decodes a hand-made head: one confident anchor gives the box its formula says, in the pixels of a non-square image', () => {
    const cells = 13;
    const head = new Float32Array(25 * cells * cells).fill(-20);
    // Anchor 3 (4.266906 × 5.178857 cells) at row 4, column 9, offsets 0 (σ = 0.5) and log-scales log(2), log(0.5).
    const at = (k: number) => (3 * 5 + k) * cells * cells + 4 * cells + 9;
    head[at(0)] = 0;
    head[at(1)] = 0;
    head[at(2)] = Math.log(2);
    head[at(3)] = Math.log(0.5);
    // The head is float32: the scales are exp of the rounded logs.
    const [sw, sh] = [Math.exp(head[at(2)]!), Math.exp(head[at(3)]!)];
    head[at(4)] = 3;
    // 400×300 → 416×312 inside the padded 416 square: x scales by 416/416, y by 416/312.
    const [d] = decodeDetections(head, 400, 300, { inputSize: 416 });
    const w = ((sw * 4.266906) / cells) * 400;
    const h = ((sh * 5.178857) / cells) * (416 / 312) * 300;
    expect(d!.score).toBeCloseTo(1 / (1 + Math.exp(-3)), 12);
    expect(d!.box.x).toBeCloseTo((9.5 / cells) * 400 - w / 2, 9);
    expect(d!.box.y).toBeCloseTo((4.5 / cells) * (416 / 312) * 300 - h / 2, 9);
    expect(d!.box.width).toBeCloseTo(w, 9);
    expect(d!.box.height).toBeCloseTo(h, 9);
    // Below the threshold nothing is reported.
    expect(decodeDetections(head, 400, 300, { inputSize: 416, scoreThreshold: 0.96 })).toEqual([]);
  });

  it('rejects bad inputs, options and weights with messages naming them', async () => {
    const e = engine;
    expect(() => detector.forward(e.tensor(new Float32Array(3 * 100 * 100), [1, 3, 100, 100]))).toThrow(/input \[1, ?3, ?100, ?100\] must be \[B, 3, S, S\] with S a multiple of 32/);
    expect(() => detector.forward(e.tensor(new Float32Array(3 * 64 * 96), [1, 3, 64, 96]))).toThrow(/must be \[B, 3, S, S\]/);
    await expect(detector.detect([astronautFace()], { inputSize: 400 })).rejects.toThrow(/inputSize 400 must be a multiple of 32/);
    await expect(detector.detect([astronautFace()], { scoreThreshold: 1 })).rejects.toThrow(/scoreThreshold 1 must be in \(0, 1\)/);
    expect(() => decodeDetections(new Float32Array(30), 10, 10)).toThrow(/head output has 30 values, expected 25·cells²/);
    const weights = loadTfjsWeights(join(faceApiModelDir(), TINY_FACE_DETECTOR_MANIFEST));
    const missing = new Map(weights);
    missing.delete('conv4/pointwise_filter');
    expect(() => new TinyFaceDetector(e, missing)).toThrow(/TinyFaceDetector: weight "conv4\/pointwise_filter" missing/);
    const reshaped = new Map(weights);
    reshaped.set('conv8/bias', { ...weights.get('conv8/bias')!, shape: [5, 5] });
    expect(() => new TinyFaceDetector(e, reshaped)).toThrow(/weight "conv8\/bias" has shape \[5, ?5\], expected \[25\]/);
    expect(() => loadTinyFaceDetector(e, '/nonexistent-model-dir')).toThrow(/\/nonexistent-model-dir\/tiny_face_detector_model-weights_manifest.json not found/);
  });
});
