/**
 * Training pipeline used by the CLI: builds the model for a stage (initialising stage 2 from a
 * stage-1 checkpoint), trains it with progress output and a JSONL log, and writes the report.
 */
import { join } from 'node:path';
import type { Engine } from '../engine/engine.ts';
import { noGradRead } from './readback.ts';
import { makeConfig, type DeepPartial, type LrdifConfig } from '../model/config.ts';
import { LrdifModel, initFromCheckpoint, type Stage } from '../model/lrdif.ts';
import { loadIntoModel, readCheckpoint } from '../model/checkpoint.ts';
import { usesFrozenFeatures } from '../model/config.ts';
import { FaceApiFeatureExtractor } from '../model/landmarks/frozen-extractor.ts';
import { faceApiModelDir, loadFaceLandmarkNet, loadFaceRecognitionNet, tfjsWeightsHash } from '../model/landmarks/face-api-files.ts';
import { FACE_LANDMARK_MANIFEST } from '../model/landmarks/face-landmark-net.ts';
import { FACE_RECOGNITION_MANIFEST } from '../model/landmarks/face-recognition-net.ts';
import type { ViewPersistence } from './feature-cache.ts';
import { CLASS_NAMES, type Dataset } from './data/dataset.ts';
import { Trainer, type EpochLog, type StepLog, type TrainHooks, type TrainOptions } from './trainer.ts';
import type { RunStore } from './store.ts';
import { confusionSvg, imageGridSvg, lineChartSvg, metricsMarkdown, type GridItem } from './report.ts';
import { degradeUdc } from './data/udc.ts';
import { encodePngChw } from './data/png.ts';
import type { Metrics } from './metrics.ts';

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
  onStep?: (log: StepLog, p: { stepInEpoch: number; stepsPerEpoch: number; epoch: number; epochs: number }) => void;
  onEpoch?: (log: EpochLog) => void;
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

export function buildModel(e: Engine, spec: Pick<StageSpec, 'preset' | 'config' | 'stage' | 'train' | 'seed'>): LrdifModel {
  const cfg = makeConfig(spec.preset, { numClasses: Math.max(7, spec.train.numClasses), ...(spec.config ?? {}) });
  if (spec.train.imageSize !== cfg.inputSize) {
    throw new Error(`${spec.train.name} has ${spec.train.imageSize}×${spec.train.imageSize} images; the ${cfg.preset} preset expects ${cfg.inputSize}×${cfg.inputSize}`);
  }
  return newModel(e, cfg, spec.stage, spec.seed ?? 0);
}

/** One set of frozen face-api networks per engine (weights from node_modules), shared by every model. */
const extractors = new WeakMap<Engine, FaceApiFeatureExtractor>();
export function faceApiExtractor(e: Engine): FaceApiFeatureExtractor {
  let x = extractors.get(e);
  if (!x) {
    const dir = faceApiModelDir();
    const id = [FACE_RECOGNITION_MANIFEST, FACE_LANDMARK_MANIFEST].map((m) => tfjsWeightsHash(join(dir, m)).slice(0, 16)).join('-');
    extractors.set(e, (x = new FaceApiFeatureExtractor(e, loadFaceRecognitionNet(e), loadFaceLandmarkNet(e), id)));
  }
  return x;
}

/** A model for a config, with the frozen pretrained networks attached when the config uses them. */
function newModel(e: Engine, cfg: LrdifConfig, stage: Stage, seed: number): LrdifModel {
  return new LrdifModel(e, cfg, stage, seed, usesFrozenFeatures(cfg) ? { extractor: faceApiExtractor(e) } : {});
}

export async function trainStage(e: Engine, spec: StageSpec): Promise<StageResult> {
  const log = spec.log ?? (() => {});
  const model = buildModel(e, spec);
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
  const history = await trainer.run({
    onStep: (l, p) => {
      lines.push(JSON.stringify({ type: 'step', stage: spec.stage, ...l }));
      spec.onStep?.(l, { ...p, epoch: l.epoch, epochs: trainer.opts.epochs });
    },
    onProgress: spec.onProgress,
    onEpoch: async (l) => {
      lines.push(JSON.stringify({ type: 'epoch', stage: spec.stage, epoch: l.epoch, trainLoss: l.trainLoss, trainAccuracy: l.trainAccuracy, testAccuracy: l.test.accuracy, testLoss: l.testLoss, macroF1: l.test.macroF1, lr: l.lr, seconds: l.seconds }));
      await spec.store.write('log.jsonl', `${lines.join('\n')}\n`);
      spec.onEpoch?.(l);
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

/** Loads a checkpoint into a fresh model of its own config (strict: see readCheckpoint and loadIntoModel). */
export function loadModel(e: Engine, bytes: Uint8Array, name: string): LrdifModel {
  const ck = readCheckpoint(bytes, name);
  const model = newModel(e, ck.config, ck.stage === 2 ? 2 : 1, 0);
  try {
    loadIntoModel(model, ck.file, name);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

/** Writes curves, confusion matrix, a sample grid and report.md for one trained stage. */
export async function writeReport(e: Engine, r: StageResult, store: RunStore, title: string, test: Dataset, prefix = ''): Promise<void> {
  const names = CLASS_NAMES.slice(0, r.model.cfg.numClasses);
  // Per logged window of steps for training, at each epoch's end for held-out: a one-epoch stage still draws a curve.
  const windows = r.history.flatMap((h) => h.steps ?? []);
  const epochEnd = (i: number) => (r.history[i]!.steps?.at(-1)?.step ?? (i + 1) * r.trainer.stepsPerEpoch);
  const heldOut = (value: (h: EpochLog) => number): [number, number][] => r.history.map((h, i) => [epochEnd(i), value(h)]);
  await store.write(
    `${prefix}curves.svg`,
    lineChartSvg(`${title}: loss`, 'step', [
      { name: 'train (per logged window)', color: '#1f77b4', points: windows.map((w) => [w.step, w.loss]) },
      { name: 'held-out (end of each epoch)', color: '#d62728', points: heldOut((h) => h.testLoss), markers: true },
    ]),
  );
  await store.write(
    `${prefix}accuracy.svg`,
    lineChartSvg(`${title}: accuracy`, 'step', [
      { name: 'train (per logged window)', color: '#1f77b4', points: windows.map((w) => [w.step, w.accuracy]) },
      { name: 'held-out (end of each epoch)', color: '#d62728', points: heldOut((h) => h.test.accuracy), markers: true },
    ], { yMin: 0, yMax: 1 }),
  );
  await store.write(`${prefix}confusion.svg`, confusionSvg(r.final, names, `${title}: confusion matrix`));
  const ev = await r.trainer.evaluate(test);
  const n = Math.min(28, test.length);
  const udc = r.trainer.opts.udc;
  const items: GridItem[] = [];
  const S = test.imageSize;
  const degraded = await noGradRead(e, () => {
    const imgs = new Float32Array(n * 3 * S * S);
    for (let i = 0; i < n; i++) imgs.set(test.get(i).image, i * 3 * S * S);
    const t = e.tensor(imgs, [n, 3, S, S]);
    return udc && udc.strength > 0 ? degradeUdc(e, t, { panel: udc.panel, strength: udc.strength, seed: 99 }) : t;
  });
  for (let i = 0; i < n; i++) {
    const y = test.get(i).label;
    const p = ev.predictions[i]!;
    items.push({ png: encodePngChw(degraded.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), S, S), label: `pred ${names[p]}`, sublabel: `true ${names[y]}`, ok: p === y });
  }
  await store.write(`${prefix}samples.svg`, imageGridSvg(items, 7, Math.max(S, 64), `${title}: held-out images${udc ? ` (UDC ${udc.panel})` : ''}`));
  const md = [`## ${title}`, '', metricsMarkdown(r.final, names), '', `![loss](${prefix}curves.svg) ![accuracy](${prefix}accuracy.svg)`, '', `![confusion](${prefix}confusion.svg)`, '', `![samples](${prefix}samples.svg)`, ''].join('\n');
  await store.write(`${prefix}report.md`, md);
}
