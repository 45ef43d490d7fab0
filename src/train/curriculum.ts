/**
 * The LRDif curriculum, used by `lrdif run`, `lrdif ablate` and the browser demo: LRDif stage 1 (FPEN_S1 sees the
 * label), stage 2 from stage 1 (the label-free prior), and the no-EPR baseline trained for the same
 * total budget as stage 2's UDCformer received, so that the two are compared fairly.
 *
 * With `warmStart`, stage 1 starts from the baseline's UDCformer after `epochs.warm` epochs (the
 * from-scratch pipeline needs it: README, "why stage 1 starts from the baseline"); the baseline then
 * keeps training to warm + stage1 + stage2 epochs. Without it, stage 1 starts fresh and the
 * baseline trains stage1 + stage2 epochs. Either way the baseline's epoch count equals the epochs
 * stage 2's UDCformer has seen, counted from initialisation.
 *
 * With `after` the curriculum starts part-way, from the weights of a finished baseline or stage 1
 * (the demo after loading a checkpoint), and trains the runs that follow it.
 */
import type { Engine } from '../engine/index.ts';
import type { DeepPartial, LrdifConfig } from '../model/config.ts';
import type { Dataset } from './data/dataset.ts';
import type { RunStore } from './store.ts';
import type { TrainOptions } from './trainer.ts';
import { trainStage, type ModelFactory, type StageResult, type StageSpec } from './pipeline.ts';

export type CurriculumRun = 'baseline' | 'stage1' | 'stage2';

export interface CurriculumSpec {
  preset: string;
  /** Model config overrides for every run (e.g. backbone, landmark source). */
  config?: DeepPartial<LrdifConfig>;
  train: Dataset;
  test: Dataset;
  /** Data order, augmentation and model initialisation seed (the same for every run: paired comparisons). */
  seed: number;
  options: Partial<TrainOptions>;
  epochs: { warm: number; stage1: number; stage2: number };
  warmStart: boolean;
  /** Leave out the equal-budget baseline (e.g. when only stage 2 is compared; a warm start still trains its first epochs). */
  skipBaseline?: boolean;
  store: (run: CurriculumRun) => RunStore;
  /** Builds every run's model (models-fs.ts's newModel in Bun; the page's own with fetched networks). */
  newModel: ModelFactory;
  /** Start after this finished run, from its weights (a baseline checkpoint: stage 1 from it; a stage-1 checkpoint: stage 2). */
  after?: { run: 'baseline' | 'stage1'; bytes: Uint8Array; name: string };
  /** Progress and log hooks per run, asked for as the run starts. */
  hooks?: (run: CurriculumRun) => Pick<StageSpec, 'onStart' | 'onStep' | 'onEpoch' | 'onProgress' | 'log' | 'onTask'>;
  viewCache?: StageSpec['viewCache'];
  /** Called with each finished run (before its model is released by the caller). */
  onResult?: (run: CurriculumRun, r: StageResult, store: RunStore) => Promise<void> | void;
}

export interface CurriculumResult {
  baseline: StageResult | null;
  /** null when the curriculum started after stage 1. */
  stage1: StageResult | null;
  stage2: StageResult;
  /** Stage 1's weights (the start of every stage-2 variant). */
  stage1Bytes: Uint8Array;
  /** The baseline's epoch count (= the epochs stage 2's UDCformer has seen). */
  baselineEpochs: number;
}

async function weights(store: RunStore, what: string): Promise<Uint8Array> {
  const w = await store.read('model.safetensors');
  if (!w) throw new Error(`curriculum: ${what} wrote no model.safetensors`);
  return w;
}

export async function runCurriculum(e: Engine, c: CurriculumSpec): Promise<CurriculumResult> {
  const spec = (run: CurriculumRun, over: Partial<StageSpec> & { epochs: number }): StageSpec => {
    const { epochs, ...rest } = over;
    return {
      preset: c.preset, stage: 1, train: c.train, test: c.test, seed: c.seed, store: c.store(run), viewCache: c.viewCache, newModel: c.newModel,
      ...(c.hooks?.(run) ?? {}), ...rest,
      config: { ...(c.config ?? {}), ...(rest.config ?? {}) },
      options: { ...c.options, seed: c.seed, epochs },
    };
  };
  const baselineEpochs = (c.warmStart ? c.epochs.warm : 0) + c.epochs.stage1 + c.epochs.stage2;
  const baselineConfig = { modulation: false };
  let baseline: StageResult | null = null;
  let from: StageSpec['from'] = c.after?.run === 'baseline' ? { bytes: c.after.bytes, name: c.after.name } : undefined;
  if (c.after) {
    // The runs before stage 1 (or 2) are done: their weights are given.
  } else if (c.warmStart) {
    // The first `warm` epochs of the baseline are stage 1's starting point; the baseline run then continues (an exact resume).
    const first = await trainStage(e, spec('baseline', { epochs: c.epochs.warm, config: baselineConfig }));
    from = { bytes: await weights(c.store('baseline'), 'the baseline'), name: `baseline after ${c.epochs.warm} epochs` };
    first.trainer.dispose();
    first.model.dispose();
    if (!c.skipBaseline) baseline = await trainStage(e, spec('baseline', { epochs: baselineEpochs, config: baselineConfig, resume: true }));
  } else if (!c.skipBaseline) baseline = await trainStage(e, spec('baseline', { epochs: baselineEpochs, config: baselineConfig }));
  if (baseline) await c.onResult?.('baseline', baseline, c.store('baseline'));
  let stage1: StageResult | null = null;
  let stage1Bytes: Uint8Array;
  let stage1Name = 'stage 1';
  if (c.after?.run === 'stage1') {
    stage1Bytes = c.after.bytes;
    stage1Name = c.after.name;
  } else {
    stage1 = await trainStage(e, spec('stage1', { epochs: c.epochs.stage1, from }));
    await c.onResult?.('stage1', stage1, c.store('stage1'));
    stage1Bytes = await weights(c.store('stage1'), 'stage 1');
  }
  const stage2 = await trainStage(e, spec('stage2', { epochs: c.epochs.stage2, stage: 2, from: { bytes: stage1Bytes, name: stage1Name } }));
  await c.onResult?.('stage2', stage2, c.store('stage2'));
  return { baseline, stage1, stage2, stage1Bytes, baselineEpochs };
}
