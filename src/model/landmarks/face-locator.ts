/**
 * Finding the face in a photo and framing it like a training face, shared by `lrdif landmarks` and
 * `lrdif predict`:
 *
 *   1. face-api's tiny face detector (face-detector.ts); the largest detected face is kept;
 *   2. its box, clipped to the image and floored, is the landmark network's crop (as face-api's
 *      detectAllFaces().withFaceLandmarks() crops it), giving 68 points in image pixels;
 *   3. the aligned square: the square in which those points' centroid and RMS radius are where
 *      SynthFER puts its faces' (TRAINING_FACE_FRAMING) — SynthFER is framed like RAF-DB's aligned
 *      crops, the real data the model trains on; src/train/data/face-crops.ts cuts it out of the
 *      photo at the model's input size.
 *
 * No rotation: training faces keep their in-plane roll (SynthFER draws up to ±0.3 rad), so a photo's
 * face keeps its own. Only translation and scale come from the fit, so the three framing numbers
 * (centroid x, y and radius, as fractions of the image side) are all of the template there is.
 */
import type { FaceLandmarkNet } from './face-landmark-net.ts';
import { FACE_LANDMARK_INPUT, landmarksToPixels, prepareCrop, type ChwImage, type CropBox } from './face-landmark-net.ts';
import { FACE_DETECTOR_DEFAULTS, largestFace, type FaceDetection, type FaceDetectorOptions, type PixelBox, type TinyFaceDetector } from './face-detector.ts';

/** Centroid and RMS radius of a face's 68 landmarks, in the units of the points. */
export interface LandmarkFraming {
  centreX: number;
  centreY: number;
  radius: number;
}

/**
 * Where SynthFER's faces sit in their square image, as fractions of its side: the mean over samples
 * of the exact landmarks' centroid and RMS radius (1,000 samples at each difficulty 0, 0.5, 1 give
 * 0.496–0.501, 0.499–0.501, 0.250–0.252; per sample they spread by about 0.04, 0.02, 0.013).
 * test/face-locator.test.ts recomputes them from SynthFER.
 */
export const TRAINING_FACE_FRAMING: LandmarkFraming = { centreX: 0.5, centreY: 0.5, radius: 0.251 };

/** Centroid and RMS distance from it of interleaved (x, y) points. */
export function landmarkFraming(points: ArrayLike<number>): LandmarkFraming {
  const n = points.length / 2;
  if (!Number.isInteger(n) || n < 2) throw new Error(`landmarkFraming: expected interleaved (x, y) points, got ${points.length} values`);
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    cx += points[2 * i]!;
    cy += points[2 * i + 1]!;
  }
  cx /= n;
  cy /= n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (points[2 * i]! - cx) ** 2 + (points[2 * i + 1]! - cy) ** 2;
  return { centreX: cx, centreY: cy, radius: Math.sqrt(ss / n) };
}

/** The square (image pixels) in which points (image pixels) have the given framing. */
export function alignedSquare(points: ArrayLike<number>, framing: LandmarkFraming = TRAINING_FACE_FRAMING): PixelBox {
  const f = landmarkFraming(points);
  if (!(f.radius > 0)) throw new Error('alignedSquare: the landmarks all coincide; no scale to frame them by');
  const side = f.radius / framing.radius;
  return { x: f.centreX - framing.centreX * side, y: f.centreY - framing.centreY * side, width: side, height: side };
}

/** face-api's crop of a detection (Box.clipAtImageBorders: clipped to the image, then floored); null when nothing is left. */
export function detectionCrop(box: PixelBox, width: number, height: number): CropBox | null {
  const x = Math.max(box.x, 0);
  const y = Math.max(box.y, 0);
  const w = Math.min(box.x + box.width - x, width - x);
  const h = Math.min(box.y + box.height - y, height - y);
  const crop = { x: Math.floor(x), y: Math.floor(y), width: Math.floor(w), height: Math.floor(h) };
  return crop.width > 0 && crop.height > 0 ? crop : null;
}

/** 68 points (interleaved x, y in image pixels) per image; crops are run through the network in batches. */
export async function detectLandmarks(net: FaceLandmarkNet, items: { image: ChwImage; crop?: CropBox }[], batch = 16): Promise<Float64Array[]> {
  const e = net.e;
  const out: Float64Array[] = [];
  const n = FACE_LANDMARK_INPUT;
  for (let s = 0; s < items.length; s += batch) {
    const chunk = items.slice(s, s + batch).map((it) => prepareCrop(it.image, it.crop));
    const input = new Float32Array(chunk.length * 3 * n * n);
    chunk.forEach((c, i) => input.set(c.input, i * 3 * n * n));
    const raw = await e.noGrad(() => e.scope(async () => (await net.predict(e.tensor(input, [chunk.length, 3, n, n])).read()) as Float32Array));
    chunk.forEach((c, i) => out.push(landmarksToPixels(raw.subarray(i * 136, (i + 1) * 136), c.mapping)));
  }
  return out;
}

export interface LocatedFace {
  /** The largest detected face. */
  detection: FaceDetection;
  /** Its crop for the landmark network (integer pixels). */
  crop: CropBox;
  /** 68 (x, y) in image pixels, interleaved. */
  landmarks: Float64Array;
  /** The square framing the face like a training face (image pixels; may reach past the borders). */
  aligned: PixelBox;
}

/** Detects the largest face in each image, its landmarks and its aligned square; null for an image without a face. */
export async function locateFaces(detector: TinyFaceDetector, landmarkNet: FaceLandmarkNet, images: ChwImage[], options: FaceDetectorOptions = {}): Promise<(LocatedFace | null)[]> {
  const detections = await detector.detect(images, options);
  const found: { index: number; detection: FaceDetection; crop: CropBox }[] = [];
  detections.forEach((dets, index) => {
    const detection = largestFace(dets);
    const crop = detection && detectionCrop(detection.box, images[index]!.width, images[index]!.height);
    if (detection && crop) found.push({ index, detection, crop });
  });
  const points = await detectLandmarks(landmarkNet, found.map((f) => ({ image: images[f.index]!, crop: f.crop })));
  const out: (LocatedFace | null)[] = images.map(() => null);
  found.forEach((f, k) => {
    out[f.index] = { detection: f.detection, crop: f.crop, landmarks: points[k]!, aligned: alignedSquare(points[k]!) };
  });
  return out;
}

/** What the commands report for an image in which the detector found no face. */
export function noFaceMessage(file: string): string {
  const { scoreThreshold, inputSize } = FACE_DETECTOR_DEFAULTS;
  return `${file}: no face found (face-api's tiny face detector, score > ${scoreThreshold} at input ${inputSize}); for an image that is already an aligned face crop, pass --no-detect`;
}
