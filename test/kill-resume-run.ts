/**
 * The micro training run of the kill-anywhere test (test/kill-resume.test.ts), which its child
 * processes (test/kill-resume-child.ts) train, killed or not: the no-EPR baseline on the from-scratch image paths at 32×32 with the browser
 * demo's micro widths (the fewest shaders to compile, since every child compiles them afresh), 8 easy
 * SynthFER training faces at batch 4, 2 epochs.
 */
import type { Engine } from '../src/engine/engine.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { trainStage, type StageSpec } from '../src/train/pipeline.ts';
import { newModel } from '../src/train/models-fs.ts';
import type { RunStore } from '../src/train/store.ts';
import type { DeepPartial, LrdifConfig } from '../src/model/config.ts';

export const MICRO_CONFIG: DeepPartial<LrdifConfig> = {
  backbone: 'none', landmarkFeatures: 'heatmap', modulation: false, inputSize: 32, eprDim: 32, embedDim: 64, imageEncoder: { width: 8, resBlocks: 0 },
  dt: { dims: [8, 16, 32, 64], blocks: [0, 0, 0, 1] }, dil: { dims: [8, 16, 32] }, vit: { width: 32 }, diffusion: { steps: 2 },
};
export const MICRO_EPOCHS = 2;

/** Every allocation NaN-filled first, as in the in-process tests (an unwritten output shows). */
export const ENGINE_OPTIONS = { poison: true, log: false } as const;

export async function trainMicro(e: Engine, store: RunStore, resume: boolean, log?: StageSpec['log']): Promise<void> {
  const easy = (split: 'train' | 'test', n: number) => new CachedDataset(new SynthFerDataset(n, { seed: 1, size: 32, split, difficulty: 0 }));
  const r = await trainStage(e, {
    preset: 'tiny', config: MICRO_CONFIG, stage: 1, train: easy('train', 8), test: easy('test', 4), store, resume, seed: 1, log, newModel,
    options: { epochs: MICRO_EPOCHS, batchSize: 4, lr: 3e-3, lrGamma: 0.9, seed: 3, logEvery: 1, udc: { panel: 'toled', strength: 0.3 } },
  });
  r.trainer.dispose();
  r.model.dispose();
}
