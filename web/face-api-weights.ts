/**
 * face-api's frozen networks for the page: the landmark and recognition nets, read from the demo's
 * own server (scripts/build-web.ts copies their manifests and shards there from node_modules), so
 * the page downloads nothing from elsewhere. The reader is injectable, so the session also runs
 * under Bun with the files read from node_modules.
 */
import type { Engine } from '../src/engine/index.ts';
import { FACE_LANDMARK_MANIFEST, FaceLandmarkNet } from '../src/model/landmarks/face-landmark-net.ts';
import { FACE_RECOGNITION_MANIFEST, FaceRecognitionNet } from '../src/model/landmarks/face-recognition-net.ts';
import { FaceApiFeatureExtractor } from '../src/model/landmarks/frozen-extractor.ts';
import { decodeTfjsWeights, parseWeightsManifest, type TfjsWeight } from '../src/model/landmarks/tfjs-weights.ts';

/** Where the page finds face-api's weight files, relative to the page. */
export const FACE_API_PATH = 'face-api/';
/** The manifests the page serves (their shards go with them). */
export const PAGE_FACE_API_MANIFESTS = [FACE_LANDMARK_MANIFEST, FACE_RECOGNITION_MANIFEST] as const;

/** Reads one weight file by its name in face-api's model folder. */
export type WeightReader = (name: string) => Promise<Uint8Array>;

/** Fetches weight files from FACE_API_PATH beside the page. */
export function fetchFromPage(): WeightReader {
  return async (name) => {
    const url = new URL(`${FACE_API_PATH}${name}`, globalThis.location?.href);
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  };
}

async function readTfjsWeights(read: WeightReader, manifest: string): Promise<Map<string, TfjsWeight>> {
  const json: unknown = JSON.parse(new TextDecoder().decode(await read(manifest)));
  const groups = parseWeightsManifest(json, manifest);
  const shards = new Map<string, Uint8Array>();
  for (const p of groups.flatMap((g) => g.paths)) shards.set(p, await read(p));
  return decodeTfjsWeights(groups, (p) => shards.get(p) ?? null, manifest);
}

/** FNV-1a over the bytes: the extractor's id (cached features made with other weights are not reused). */
function fnv1a(parts: Uint8Array[]): string {
  let h = 0x811c9dc5;
  for (const bytes of parts) for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The frozen backbones LRDif uses by default (recognition net for the image features and FPEN's
 * embedding, landmark net for the landmark features), loaded once. `landmarks` alone serves
 * checkpoints that take predicted landmark points.
 */
export async function loadFaceApiExtractor(e: Engine, read: WeightReader): Promise<FaceApiFeatureExtractor> {
  const seen: Uint8Array[] = [];
  const recording: WeightReader = async (name) => {
    const bytes = await read(name);
    seen.push(bytes);
    return bytes;
  };
  const landmarks = new FaceLandmarkNet(e, await readTfjsWeights(recording, FACE_LANDMARK_MANIFEST));
  const recognition = new FaceRecognitionNet(e, await readTfjsWeights(recording, FACE_RECOGNITION_MANIFEST));
  return new FaceApiFeatureExtractor(e, recognition, landmarks, `face-api-page-${fnv1a(seen)}`);
}
