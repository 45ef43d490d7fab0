/** Resolves a `--data` spec into train/test datasets. */
import type { Engine } from '../../engine/index.ts';
import { CachedDataset, type Dataset } from './dataset.ts';
import { SynthFerDataset } from './synthfer.ts';
import { makeConfig } from '../../model/config.ts';

export interface DataPair {
  train: Dataset;
  test: Dataset;
}

/** How a real dataset (which has no landmarks) gets them: face-api's network, cached ('predict'), or none (the landmark-free path). */
export type LandmarkMode = 'predict' | 'none';

export interface RealDataOptions {
  skipBad?: boolean;
  /** Default 'predict' (needs `engine`). */
  landmarks?: LandmarkMode;
  engine?: Engine;
  /** Decoded-image and landmark cache (default .cache/datasets). */
  cacheDir?: string;
  /** Progress of long work (decoding, landmark prediction), per task label. */
  onProgress?: (task: string, done: number, total: number) => void;
}

/** `synth[:TRAIN[:TEST]]` or `rafdb:DIR` / `ferplus:DIR` / `kdef:DIR` / `folder:DIR`. */
export async function openData(spec: string, preset: string, seed: number, synth: { difficulty?: number } = {}, real: RealDataOptions = {}): Promise<DataPair> {
  const size = makeConfig(preset).inputSize;
  if (spec === 'synth' || spec.startsWith('synth:')) {
    const [, tr, te] = spec.split(':');
    const trainCount = tr ? parseInt(tr, 10) : 2800;
    const testCount = te ? parseInt(te, 10) : 700;
    if (!(trainCount > 0) || !(testCount > 0)) throw new Error(`--data ${spec}: expected synth[:TRAIN[:TEST]] with positive counts`);
    return {
      train: new CachedDataset(new SynthFerDataset(trainCount, { seed, size, split: 'train', ...synth })),
      test: new CachedDataset(new SynthFerDataset(testCount, { seed, size, split: 'test', ...synth })),
    };
  }
  const { loadDataset } = await import('./loaders.ts');
  const cacheDir = real.cacheDir ?? '.cache/datasets';
  const opts = { imageSize: size, seed, cacheDir, skipBad: real.skipBad ?? false };
  const progress = (task: string) => (real.onProgress ? (done: number, total: number) => real.onProgress!(task, done, total) : undefined);
  const train = await loadDataset(spec, { ...opts, split: 'train', onProgress: progress('decoding train') });
  const test = await loadDataset(spec, { ...opts, split: 'test', onProgress: progress('decoding test') });
  // What was read per split and class, and every item --skip-bad skipped (the loaders' summary).
  for (const d of [train, test]) console.error(d.summary);
  if ((real.landmarks ?? 'predict') === 'none') {
    console.error('landmarks: none (the DIL network runs its landmark-free path)');
    return { train, test };
  }
  if (!real.engine) throw new Error(`openData ${spec}: predicting landmarks needs the engine (or pass landmarks: 'none')`);
  const { withPredictedLandmarks } = await import('./predicted-landmarks.ts');
  const attach = async (d: typeof train, split: string) => {
    const r = await withPredictedLandmarks(real.engine!, d, { pixelsKey: d.key, cacheDir, cacheLabel: `${spec.split(':')[0]}-${split}-${size}`, onProgress: progress(`landmarks ${split}`) });
    console.error(r.report);
    return r.dataset;
  };
  return { train: await attach(train, 'train'), test: await attach(test, 'test') };
}
