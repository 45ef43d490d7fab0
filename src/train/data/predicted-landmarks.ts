/**
 * Landmarks for datasets that ship none (RAF-DB aligned, FERPlus, KDEF, image folders): face-api's
 * pretrained 68-point network, on our engine, runs once per image and the points are cached on disk,
 * keyed by the decoded pixels and the network's weight files, so later runs reuse them. The DIL
 * network's heatmap stem then gets the same kind of input it gets from SynthFER's exact points.
 *
 * Points are predicted from the dataset's own images as decoded (before any on-the-fly UDC
 * degradation); a dataset that is already degraded on disk is predicted as it is. Each image is
 * taken whole as the face crop (the loaders' images are aligned or centre-cropped faces).
 */
import { join } from 'node:path';
import type { Engine } from '../../engine/index.ts';
import { FACE_LANDMARK_MANIFEST, landmarksOfSquareImages } from '../../model/landmarks/face-landmark-net.ts';
import { faceApiModelDir, loadFaceLandmarkNet, tfjsWeightsHash } from '../../model/landmarks/face-api-files.ts';
import { DatasetWrapper, type Dataset, type Sample } from './dataset.ts';
import { cacheKey, cachePath, readFramedFile, writeFramedFile } from './images.ts';

const LANDMARK_CACHE_MAGIC = 'LRDIFLM1';
const POINTS = 136;

/** A dataset with 68 landmarks per image attached (x, y in [0, 1] from the top-left, iBUG order). */
export class LandmarkedDataset extends DatasetWrapper {
  constructor(
    inner: Dataset,
    /** n × 136 values. */
    readonly landmarks: Float32Array,
    /** Where the points came from, for reports (e.g. "predicted by face-api's 68-point net"). */
    readonly source: string,
  ) {
    super(inner);
    if (landmarks.length !== inner.length * POINTS) throw new Error(`${inner.name}: ${landmarks.length} landmark values for ${inner.length} images (expected ${inner.length * POINTS})`);
  }
  get(index: number): Sample {
    const s = this.inner.get(index);
    return { ...s, landmarks: this.landmarks.slice(index * POINTS, (index + 1) * POINTS) };
  }
}

export interface PredictLandmarksOptions {
  /** Identifies the dataset's pixels (LoadReport.key); with `cacheDir`, the points are cached under it. */
  pixelsKey?: string;
  cacheDir?: string;
  /** Label in the cache file name. */
  cacheLabel?: string;
  /** Images per network batch (default 32). */
  batch?: number;
  /** face-api's model folder (default: the installed package's). */
  modelDir?: string;
  onProgress?: (done: number, total: number) => void;
}

export interface PredictedLandmarks {
  /** n × 136, x and y in [0, 1]. */
  landmarks: Float32Array;
  fromCache: boolean;
  cacheFile: string | null;
  /** Network time per image (0 when read from the cache). */
  msPerImage: number;
}

interface LandmarkCacheHeader {
  key: string;
  count: number;
}

/** sha256 over the landmark network's manifest and weight shards: a cache made with other weights is not reused. */
export function landmarkWeightsHash(modelDir = faceApiModelDir()): string {
  return tfjsWeightsHash(join(modelDir, FACE_LANDMARK_MANIFEST));
}

/** Runs the landmark network over every image of `ds` (or reads the cached points). */
export async function predictLandmarks(e: Engine, ds: Dataset, opts: PredictLandmarksOptions = {}): Promise<PredictedLandmarks> {
  const modelDir = opts.modelDir ?? faceApiModelDir();
  const key = opts.pixelsKey && opts.cacheDir ? cacheKey(['landmarks', opts.pixelsKey, landmarkWeightsHash(modelDir)]) : null;
  const cacheFile = key ? cachePath(opts.cacheDir!, `landmarks-${opts.cacheLabel ?? ds.name}`, key) : null;
  if (cacheFile) {
    const f = await readFramedFile<LandmarkCacheHeader>(cacheFile, LANDMARK_CACHE_MAGIC);
    if (f && f.header.key === key && f.header.count === ds.length && f.payload.length === ds.length * POINTS * 4) {
      opts.onProgress?.(ds.length, ds.length);
      // Copy into an aligned buffer (the payload's offset in the file need not be a multiple of 4).
      return { landmarks: new Float32Array(f.payload.slice().buffer), fromCache: true, cacheFile, msPerImage: 0 };
    }
  }
  const net = loadFaceLandmarkNet(e, modelDir);
  const t0 = performance.now();
  let out: Float32Array;
  try {
    // The whole (square) image is the crop: the network's outputs are then x, y in [0, 1] of it.
    out = await landmarksOfSquareImages(net, ds.length, (i) => ds.get(i).image, ds.imageSize, opts.batch ?? 32, (done) => opts.onProgress?.(done, ds.length));
  } finally {
    net.dispose();
  }
  const msPerImage = (performance.now() - t0) / Math.max(1, ds.length);
  if (cacheFile && key) await writeFramedFile(cacheFile, LANDMARK_CACHE_MAGIC, { key, count: ds.length } satisfies LandmarkCacheHeader, new Uint8Array(out.buffer));
  return { landmarks: out, fromCache: false, cacheFile, msPerImage };
}

/** `ds` with predicted landmarks attached (see predictLandmarks); the report line says where they came from. */
export async function withPredictedLandmarks(e: Engine, ds: Dataset, opts: PredictLandmarksOptions = {}): Promise<{ dataset: LandmarkedDataset; report: string }> {
  const r = await predictLandmarks(e, ds, opts);
  const how = r.fromCache ? `read from the cache ${r.cacheFile}` : `predicted in ${r.msPerImage.toFixed(1)} ms/image` + (r.cacheFile ? `, cached in ${r.cacheFile}` : '');
  return {
    dataset: new LandmarkedDataset(ds, r.landmarks, "predicted by face-api's 68-point network"),
    report: `${ds.name}: 68 landmarks per image ${how}`,
  };
}
