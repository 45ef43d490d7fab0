/** Resolves a `--data` spec into train/test datasets. */
import { CachedDataset, type Dataset } from './dataset.ts';
import { SynthFerDataset } from './synthfer.ts';
import { makeConfig } from '../../model/config.ts';

export interface DataPair {
  train: Dataset;
  test: Dataset;
}

/** `synth[:TRAIN[:TEST]]` or `rafdb:DIR` / `ferplus:DIR` / `kdef:DIR` / `folder:DIR`. */
export async function openData(spec: string, preset: string, seed: number, synth: { difficulty?: number } = {}, real: { skipBad?: boolean } = {}): Promise<DataPair> {
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
  const opts = { imageSize: size, seed, cacheDir: '.cache/datasets', skipBad: real.skipBad ?? false };
  const train = await loadDataset(spec, { ...opts, split: 'train' });
  const test = await loadDataset(spec, { ...opts, split: 'test' });
  // What was read per split and class, and every item --skip-bad skipped (the loaders' summary).
  for (const d of [train, test]) console.error(d.summary);
  return { train, test };
}
