/**
 * face-api's landmark weights from the file system (Bun / Node only; the browser demo fetches the
 * same files): the package's model folder, a tfjs manifest + shards reader, and the network loader.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Engine } from '../../engine/engine.ts';
import { decodeTfjsWeights, parseWeightsManifest, type TfjsWeight } from './tfjs-weights.ts';
import { FACE_LANDMARK_MANIFEST, FaceLandmarkNet } from './face-landmark-net.ts';

/** The model folder inside the installed @vladmandic/face-api package. */
export function faceApiModelDir(): string {
  const pkg = createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json');
  return join(dirname(pkg), 'model');
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
