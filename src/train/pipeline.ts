/**
 * One training stage, in Bun and in the page alike: builds the model for a stage (initialising
 * stage 2 from a stage-1 checkpoint, stage 1 from a baseline), trains it with progress hooks and a
 * JSONL log in the run's store. How a model gets its frozen networks is the caller's (`newModel`):
 * models-fs.ts reads them from node_modules, the demo fetches them; reports are report-fs.ts's.
 */
import type { Engine } from '../engine/index.ts';
import { makeConfig, type DeepPartial, type LrdifConfig } from '../model/config.ts';
import { initFromCheckpoint, type LrdifModel, type Stage } from '../model/lrdif.ts';
import { readCheckpoint } from '../model/checkpoint.ts';
import type { ViewPersistence } from './feature-cache.ts';
import type { Dataset } from './data/dataset.ts';
import { Trainer, type EpochLog, type StepLog, type TrainHooks, type TrainOptions } from './trainer.ts';
import type { RunStore } from './store.ts';
import type { Metrics } from './metrics.ts';

/** Builds the model of a run: its frozen networks attached when the config reads frozen features. */
export type ModelFactory = (e: Engine, cfg: LrdifConfig, stage: Stage, seed: number) => LrdifModel | Promise<LrdifModel>;

export interface StageSpec {
  preset: string;
  config?: DeepPartial<LrdifConfig>;
  stage: Stage;
  /**
   * The checkpoint to initialise from (and its name for messages): stage 2 from a stage-1 checkpoint;
   * stage 1 from a baseline checkpoint, whose UDCformer stands in for the paper's pretrained backbones.
   */
  from?: { bytes: Uint8Array; name: string };
  train: Dataset;
  test: Dataset;
  options: Partial<TrainOptions>;
  store: RunStore;
  resume?: boolean;
  /** Model initialisation seed. */
  seed?: number;
  newModel: ModelFactory;
  /** The stage's trainer and model, before the first step (the demo schedules page work around them). */
  onStart?: (trainer: Trainer, model: LrdifModel) => void;
  /** Awaited: a hook may hold the run between steps (the demo's pause). */
  onStep?: (log: StepLog, p: { stepInEpoch: number; stepsPerEpoch: number; epoch: number; epochs: number }) => void | Promise<void>;
  onEpoch?: (log: EpochLog) => void | Promise<void>;
  /** Every queued training step and evaluation batch (see TrainHooks.onProgress). */
  onProgress?: TrainHooks['onProgress'];
  log?: (line: string) => void;
  /** Progress of one-off work (running the frozen networks over a dataset's views). */
  onTask?: (task: string, done: number, total: number) => void;
  /** Where the frozen networks' features of the data's views persist between runs (none: rebuilt per process). */
  viewCache?: ViewPersistence;
}

export interface StageResult {
  model: LrdifModel;
  trainer: Trainer;
  history: EpochLog[];
  final: Metrics;
}

/** The model config of a stage: the preset with the spec's overrides, classes at least the data's; the images must fit it. */
export function stageConfig(spec: Pick<StageSpec, 'preset' | 'config' | 'train'>): LrdifConfig {
  const cfg = makeConfig(spec.preset, { numClasses: Math.max(7, spec.train.numClasses), ...(spec.config ?? {}) });
  if (spec.train.imageSize !== cfg.inputSize) {
    throw new Error(`${spec.train.name} has ${spec.train.imageSize}×${spec.train.imageSize} images; the ${cfg.preset} preset expects ${cfg.inputSize}×${cfg.inputSize}`);
  }
  return cfg;
}

export async function trainStage(e: Engine, spec: StageSpec): Promise<StageResult> {
  const log = spec.log ?? (() => {});
  const model = await spec.newModel(e, stageConfig(spec), spec.stage, spec.seed ?? 0);
  if (spec.from && !spec.resume) {
    const r = initFromFile(model, spec.from.bytes, spec.from.name);
    log(`stage ${spec.stage} initialised from ${spec.from.name}: ${r.loaded.length} tensors loaded, ${r.fresh.length} fresh (${summariseNames(r.fresh)})`);
  }
  const trainer = new Trainer(e, model, spec.train, spec.test, spec.options, spec.store);
  trainer.onViewProgress = spec.onTask ?? null;
  trainer.viewPersistence = spec.viewCache ?? null;
  trainer.log = log;
  const lines: string[] = [];
  if (spec.resume) {
    await trainer.resume();
    log(`resumed at epoch ${trainer.epoch} (step ${trainer.globalStep})`);
    lines.push(...(await logUpTo(spec.store, trainer.epoch, log)));
  }
  spec.onStart?.(trainer, model);
  const history = await trainer.run({
    onStep: async (l, p) => {
      lines.push(JSON.stringify({ type: 'step', stage: spec.stage, ...l }));
      await spec.onStep?.(l, { ...p, epoch: l.epoch, epochs: trainer.opts.epochs });
    },
    onProgress: spec.onProgress,
    onEpoch: async (l) => {
      lines.push(JSON.stringify({ type: 'epoch', stage: spec.stage, epoch: l.epoch, trainLoss: l.trainLoss, trainAccuracy: l.trainAccuracy, testAccuracy: l.test.accuracy, testLoss: l.testLoss, macroF1: l.test.macroF1, lr: l.lr, seconds: l.seconds }));
      await spec.store.write('log.jsonl', `${lines.join('\n')}\n`);
      await spec.onEpoch?.(l);
    },
  });
  const final = history[history.length - 1]?.test ?? (await trainer.evaluate(spec.test)).metrics;
  return { model, trainer, history, final };
}

/**
 * The lines of the store's log.jsonl from the epochs before `epoch` (the checkpoint's). The log is
 * written before the checkpoint, so after a kill it may hold one epoch more, which the resumed run
 * trains (and logs) again.
 */
async function logUpTo(store: RunStore, epoch: number, log: (line: string) => void): Promise<string[]> {
  const bytes = await store.read('log.jsonl');
  if (!bytes) return [];
  const kept: string[] = [];
  let dropped = 0;
  new TextDecoder().decode(bytes).split('\n').forEach((line, i) => {
    if (line.length === 0) return;
    let entry: { epoch?: unknown };
    try {
      entry = JSON.parse(line);
    } catch {
      throw new Error(`${store.where('log.jsonl')} line ${i + 1} is not JSON: ${line.slice(0, 60)}`);
    }
    if (typeof entry.epoch !== 'number') throw new Error(`${store.where('log.jsonl')} line ${i + 1} has no epoch number: ${line.slice(0, 60)}`);
    if (entry.epoch < epoch) kept.push(line);
    else dropped++;
  });
  if (dropped > 0) log(`${store.where('log.jsonl')}: dropped ${dropped} line(s) of epoch ${epoch + 1}, which the stopped run logged but never checkpointed; it is trained and logged again`);
  return kept;
}

function summariseNames(names: string[]): string {
  const prefixes = new Set(names.map((n) => n.split('.').slice(0, 2).join('.')));
  return [...prefixes].join(', ') || 'none';
}

/**
 * `--from`: initialises `model` from a checkpoint file (stage 2 from a stage-1 checkpoint, stage 1 from
 * a baseline), after checking that the file is such a checkpoint of the same preset and input size.
 * Every problem throws naming the file; nothing is written into the model unless all is well.
 */
export function initFromFile(model: LrdifModel, bytes: Uint8Array, name: string): { loaded: string[]; fresh: string[] } {
  const ck = readCheckpoint(bytes, name);
  const fromBaseline = ck.stage === 1 && ck.config.modulation === false;
  if (model.stage === 2 && (ck.stage !== 1 || fromBaseline)) throw new Error(`${name} is a ${fromBaseline ? 'baseline (no-EPR)' : `stage-${ck.stage}`} checkpoint; stage 2 starts from a stage-1 checkpoint`);
  if (model.stage === 1 && (!fromBaseline || !model.fpenS1)) {
    throw new Error(`${name} is a ${fromBaseline ? 'baseline' : `stage-${ck.stage} LRDif`} checkpoint; ${model.fpenS1 ? 'an LRDif stage 1 starts only from a baseline (no-EPR) checkpoint, its pretrained UDCformer' : 'a baseline starts from scratch'}`);
  }
  if (ck.config.inputSize !== model.cfg.inputSize || ck.config.preset !== model.cfg.preset) {
    throw new Error(`${name} was trained with preset ${ck.config.preset} at ${ck.config.inputSize}×${ck.config.inputSize}; this run uses ${model.cfg.preset} at ${model.cfg.inputSize} (position embeddings and bias tables depend on the input size)`);
  }
  return initFromCheckpoint(model, ck.file.tensors, name);
}
