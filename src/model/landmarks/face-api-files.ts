/**
 * face-api's landmark weights from the file system (Bun / Node only; the browser demo fetches the
 * same files): the package's model folder, a tfjs manifest + shards reader, and the network loader.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Engine } from '../../engine/index.ts';
import { decodeTfjsWeights, parseWeightsManifest, type TfjsWeight } from './tfjs-weights.ts';
import { FACE_LANDMARK_MANIFEST, FaceLandmarkNet } from './face-landmark-net.ts';
import { FACE_RECOGNITION_MANIFEST, FaceRecognitionNet } from './face-recognition-net.ts';
import { FACE_EXPRESSION_MANIFEST, FaceExpressionNet } from './face-landmark-net.ts';
import { TINY_FACE_DETECTOR_MANIFEST, TinyFaceDetector } from './face-detector.ts';

/** The model folder inside the installed @vladmandic/face-api package. */
export function faceApiModelDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
  return join(dirname(pkg), 'model');
}

/** sha256 over a tfjs manifest and its weight shards: caches made with other weights are not reused. */
export function tfjsWeightsHash(manifestPath: string): string {
  const h = createHash('sha256');
  const manifest = readFileSync(manifestPath);
  h.update(manifest);
  const groups = JSON.parse(manifest.toString('utf8')) as { paths?: string[] }[];
  for (const g of groups) for (const p of g.paths ?? []) h.update(readFileSync(join(dirname(manifestPath), p)));
  return h.digest('hex');
}

/** Reads a tfjs manifest file and the shards beside it. */
export function loadTfjsWeights(manifestPath: string): Map<string, TfjsWeight> {
  if (!existsSync(manifestPath)) throw new Error(`tfjs weights: manifest ${manifestPath} not found`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw new Error(`tfjs weights ${manifestPath}: not valid JSON (${(err as Error).message})`);
  }
  const dir = dirname(manifestPath);
  return decodeTfjsWeights(parseWeightsManifest(json, manifestPath), (p) => {
    const file = join(dir, p);
    return existsSync(file) ? new Uint8Array(readFileSync(file)) : null;
  }, manifestPath);
}

/** Loads face-api's landmark network (from the installed package unless `modelDir` is given). */
export function loadFaceLandmarkNet(e: Engine, modelDir = faceApiModelDir()): FaceLandmarkNet {
  const manifest = join(modelDir, FACE_LANDMARK_MANIFEST);
  if (!existsSync(manifest)) throw new Error(`FaceLandmarkNet: ${manifest} not found (is @vladmandic/face-api installed?)`);
  return new FaceLandmarkNet(e, loadTfjsWeights(manifest));
}

/** Loads face-api's expression network (from the installed package unless `modelDir` is given). */
export function loadFaceExpressionNet(e: Engine, modelDir = faceApiModelDir()): FaceExpressionNet {
  const manifest = join(modelDir, FACE_EXPRESSION_MANIFEST);
  if (!existsSync(manifest)) throw new Error(`FaceExpressionNet: ${manifest} not found (is @vladmandic/face-api installed?)`);
  return new FaceExpressionNet(e, loadTfjsWeights(manifest));
}

/** Loads face-api's face-recognition (descriptor) network (from the installed package unless `modelDir` is given). */
export function loadFaceRecognitionNet(e: Engine, modelDir = faceApiModelDir()): FaceRecognitionNet {
  const manifest = join(modelDir, FACE_RECOGNITION_MANIFEST);
  if (!existsSync(manifest)) throw new Error(`FaceRecognitionNet: ${manifest} not found (is @vladmandic/face-api installed?)`);
  return new FaceRecognitionNet(e, loadTfjsWeights(manifest));
}

/** Loads face-api's tiny face detector (from the installed package unless `modelDir` is given). */
export function loadTinyFaceDetector(e: Engine, modelDir = faceApiModelDir()): TinyFaceDetector {
  const manifest = join(modelDir, TINY_FACE_DETECTOR_MANIFEST);
  if (!existsSync(manifest)) throw new Error(`TinyFaceDetector: ${manifest} not found (is @vladmandic/face-api installed?)`);
  return new TinyFaceDetector(e, loadTfjsWeights(manifest));
}
