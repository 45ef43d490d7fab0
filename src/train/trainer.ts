/**
 * Training and evaluation of LRDif (both stages) and the no-EPR baseline. The step stays on the
 * GPU: forward, loss, backward and the Adam update are encoded into one submit; the loss sum and
 * the number of correct predictions accumulate on the GPU and are read once per logging interval.
 * Everything random derives from (seed, epoch, step), so a run resumed from an epoch checkpoint
 * (one file: run-checkpoint.ts) ends with bitwise the same weights as an uninterrupted one. When
 * the engine tunes kernels, a dry step before the first real one gathers the run's shapes and
 * the choices go to the run's tuning.json, which a resume loads: kernel choices change rounding.
 */
import {
  type Engine, type Tensor, backward, zeroGrad, Adam, type AdamState, accuracyCounts, crossEntropy, klDivergence,
  l1Loss, add, mulScalar, axpyInPlace, softmax, autotuneEnabled, loadTunings, recordShapes, saveTunings, tuneAll,
} from '../engine/index.ts';
import { Rng } from '../model/init.ts';
import type { LrdifModel } from '../model/lrdif.ts';
import { loadIntoModel, saveCheckpoint } from '../model/checkpoint.ts';
import { decodeSafetensors } from '../model/safetensors.ts';
import type { Dataset } from './data/dataset.ts';
import { BatchMaker, type Augment, type UdcSetting } from './batch.ts';
import { argmaxRows, computeMetrics, type Metrics } from './metrics.ts';
import { FeatureViews, type ViewPersistence } from './feature-cache.ts';
import type { FrozenFeatures } from '../model/frozen-features.ts';
import { usesFrozenFeatures } from '../model/config.ts';
import type { RunStore } from './store.ts';
import { CHECKPOINT_FILE, MODEL_FILE, encodeRunCheckpoint, readRunCheckpoint, type DataOrder } from './run-checkpoint.ts';

/** The kernel choices a run was trained with (tuning.ts's JSON), in its store. */
export const TUNING_FILE = 'tuning.json';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  weightDecay: number;
  optimizer: 'adam' | 'adamw';
  /** ExponentialLR gamma per epoch (schedule 'exponential'). */
  lrGamma: number;
  schedule: 'exponential' | 'cosine';
  clipGradNorm?: number;
  seed: number;
  udc: UdcSetting | null;
  augment: Augment;
  /** Stage 2: loss = CE + klWeight·KL(softmax(Z/τ) ‖ softmax(Ẑ/τ)) + l1Weight·|Ẑ − Z|. */
  klTau: number;
  klWeight: number;
  l1Weight: number;
  /** Stage 2: epochs at the start that train only FPEN_S2 + denoiser on the KL/L1 target. */
  warmupEpochs: number;
  /** Steps between loss/accuracy readbacks. */
  logEvery: number;
  /** Stage-2 evaluation: number of seeded Gaussian starts averaged (softmax mean). */
  evalDraws: number;
  evalSeed: number;
  /**
   * Frozen pretrained backbones: compute their features once per view and reuse them (random
   * erasing is then off: it would change a view after its features were taken). false = run the
   * networks in every step (with every augmentation).
   */
  cacheFeatures: boolean;
  /** With cached features: fixed UDC draws per training image (held-out images get one). */
  udcDraws: number;
  /** Stop (as if the process were killed) after this many steps in this invocation: for resume tests. */
  stopAfterSteps?: number;
}

export const DEFAULT_TRAIN: TrainOptions = {
  epochs: 100, batchSize: 64, lr: 3.5e-4, weightDecay: 1e-4, optimizer: 'adam', lrGamma: 0.98, schedule: 'exponential',
  seed: 0, udc: { panel: 'toled', strength: 1 }, augment: { flip: true, erase: true },
  klTau: 1, klWeight: 1, l1Weight: 0, warmupEpochs: 0, logEvery: 10, evalDraws: 1, evalSeed: 1234,
  cacheFeatures: true, udcDraws: 2,
};

export interface StepLog {
  epoch: number;
  step: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  lr: number;
}

/** One logged window of steps (every `logEvery` steps): what the report's per-step curves draw. */
export interface StepPoint {
  /** Global step at the window's end. */
  step: number;
  loss: number;
  accuracy: number;
}

export interface EpochLog {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  test: Metrics;
  /** Held-out cross-entropy (mean −log p of the true class, stage 2 from its seeded starts). */
  testLoss: number;
  /** The epoch's logged windows (absent in logs written before they were recorded). */
  steps?: StepPoint[];
  lr: number;
  seconds: number;
}

export interface TrainHooks {
  /** Awaited, so a caller can pause between steps or run queued GPU work there (the browser demo). */
  onStep?: (log: StepLog, progress: { stepInEpoch: number; stepsPerEpoch: number }) => void | Promise<void>;
  onEpoch?: (log: EpochLog) => void | Promise<void>;
  /**
   * Every step as it is queued (no readback, so it costs nothing) and every evaluation batch: for
   * progress bars that move from the first step, between the `logEvery` windows.
   */
  onProgress?: (p: { what: 'train' | 'eval'; epoch: number; epochs: number; done: number; total: number }) => void;
}

/** Thrown when `stopAfterSteps` ends a run early (the test's stand-in for a killed process). */
export class StoppedEarly extends Error {}

/** Mean −log p(true class) over rows of class probabilities (clamped so a zero does not give ∞). */
export function heldOutLoss(probabilities: Float32Array, labels: readonly number[], numClasses: number): number {
  let nll = 0;
  for (let i = 0; i < labels.length; i++) nll -= Math.log(Math.max(1e-12, probabilities[i * numClasses + labels[i]!]!));
  return nll / Math.max(1, labels.length);
}

function hash(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) h = Math.imul(h ^ (x >>> 0), 0x01000193) ^ (h >>> 13);
  return h >>> 0;
}

export class Trainer {
  readonly opts: TrainOptions;
  private optimizer: Adam;
  private priorOptimizer: Adam | null = null;
  private batches: BatchMaker;
  epoch = 0;
  globalStep = 0;
  history: EpochLog[] = [];
  /** Predictions of the last end-of-epoch held-out evaluation (reports reuse them instead of evaluating again). */
  lastHeldOut: { epoch: number; predictions: number[] } | null = null;
  bestAccuracy = -1;
  private readonly trainedWithLandmarks: boolean;
  /** Only the oracle heatmap stem reads the dataset's landmarks; every other path never touches them. */
  private readonly oracleLandmarks: boolean;
  /** Cached views per dataset (frozen-feature path), built on first use. */
  private readonly views = new Map<Dataset, Promise<FeatureViews>>();
  /** Called while views are built (progress bars). */
  onViewProgress: ((what: string, done: number, total: number) => void) | null = null;
  /** Where views persist between processes (null: built in every process). */
  viewPersistence: ViewPersistence | null = null;
  /** Informational lines (where views came from). */
  log: (line: string) => void = () => {};

  constructor(
    private readonly e: Engine,
    readonly model: LrdifModel,
    private readonly train: Dataset,
    private readonly test: Dataset,
    opts: Partial<TrainOptions>,
    private readonly store: RunStore | null = null,
  ) {
    this.opts = { ...DEFAULT_TRAIN, ...opts };
    if (train.numClasses > model.cfg.numClasses) throw new Error(`${train.name} has ${train.numClasses} classes but the model has ${model.cfg.numClasses}`);
    const adam = (params: Tensor[]) =>
      new Adam(params, { lr: this.opts.lr, weightDecay: this.opts.weightDecay, decoupled: this.opts.optimizer === 'adamw', clipGradNorm: this.opts.clipGradNorm });
    this.optimizer = adam(model.trainable());
    if (model.stage === 2 && this.opts.warmupEpochs > 0) {
      const prior = [...(model.fpenS2?.parameters() ?? []), ...(model.denoiser?.parameters() ?? [])];
      this.priorOptimizer = adam(prior);
    }
    this.batches = new BatchMaker(e, model.cfg.inputSize);
    // Whether the DIL network sees landmarks in training: inference should then supply them too (predict does).
    this.oracleLandmarks = model.cfg.landmarkFeatures === 'heatmap';
    this.trainedWithLandmarks = this.oracleLandmarks && train.length > 0 && train.get(0).landmarks !== null;
  }

  get trainSet(): Dataset {
    return this.train;
  }

  get testSet(): Dataset {
    return this.test;
  }

  /** Whether this run trains on cached frozen features. */
  get cached(): boolean {
    return this.opts.cacheFeatures && usesFrozenFeatures(this.model.cfg);
  }

  /** The cached views of a dataset: training views (K draws, flips) for the training set, one plain view per image otherwise. */
  viewsOf(ds: Dataset): Promise<FeatureViews> {
    let v = this.views.get(ds);
    if (!v) {
      const o = this.opts;
      const training = ds === this.train;
      const what = `${training ? 'training' : 'held-out'} features (${ds.name})`;
      v = FeatureViews.shared(this.e, this.model, this.batches, ds, {
        draws: training ? o.udcDraws : 1,
        flips: training && o.augment.flip,
        udc: o.udc,
        seed: training ? hash(o.seed, 0xfea7) : hash(o.evalSeed, 0xe7a1),
        batch: 32,
        landmarks: this.oracleLandmarks,
        onProgress: (d, t) => this.onViewProgress?.(what, d, t),
      }, this.viewPersistence, this.log);
      this.views.set(ds, v);
    }
    return v;
  }

  get stepsPerEpoch(): number {
    return Math.floor(this.train.length / this.opts.batchSize);
  }

  lrAt(epoch: number): number {
    const o = this.opts;
    if (o.schedule === 'cosine') return o.lr * 0.5 * (1 + Math.cos((Math.PI * epoch) / Math.max(1, o.epochs)));
    return o.lr * o.lrGamma ** epoch;
  }

  /** Data order of an epoch: a seeded permutation (drop_last). */
  order(epoch: number): number[] {
    const rng = new Rng(hash(this.opts.seed, epoch, 0x0dd));
    const idx = Array.from({ length: this.train.length }, (_, i) => i);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    return idx;
  }

  /** Trains from the current epoch to opts.epochs, checkpointing after every epoch. */
  async run(hooks: TrainHooks = {}): Promise<EpochLog[]> {
    let stepsThisRun = 0;
    const views = this.cached ? await this.viewsOf(this.train) : null;
    if (autotuneEnabled(this.e) && this.epoch < this.opts.epochs) await this.tuneKernels(views);
    while (this.epoch < this.opts.epochs) {
      const epoch = this.epoch;
      const lr = this.lrAt(epoch);
      const warm = this.model.stage === 2 && epoch < this.opts.warmupEpochs && this.priorOptimizer !== null;
      const opt = warm ? this.priorOptimizer! : this.optimizer;
      opt.lr = lr;
      const order = this.order(epoch);
      const lossAcc = this.e.fill(this.e.empty([1]), 0).keep();
      const correctAcc = this.e.fill(this.e.empty([1], 'u32'), 0).keep();
      let seen = 0;
      let epochLoss = 0;
      let epochCorrect = 0;
      let windowStart = performance.now();
      let windowSeen = 0;
      const t0 = performance.now();
      const steps = this.stepsPerEpoch;
      const points: StepPoint[] = [];
      for (let s = 0; s < steps; s++) {
        const indices = order.slice(s * this.opts.batchSize, (s + 1) * this.opts.batchSize);
        this.step(indices, epoch, s, warm, opt, lossAcc, correctAcc, views);
        this.globalStep++;
        stepsThisRun++;
        hooks.onProgress?.({ what: 'train', epoch, epochs: this.opts.epochs, done: s + 1, total: steps });
        seen += indices.length;
        windowSeen += indices.length;
        const last = s === steps - 1;
        if ((s + 1) % this.opts.logEvery === 0 || last) {
          const [lossRead, correctRead] = await this.e.readTensors([lossAcc, correctAcc]);
          const l = lossRead![0]!;
          const c = correctRead![0]!;
          epochLoss += l;
          epochCorrect += c;
          const now = performance.now();
          const point: StepPoint = { step: this.globalStep, loss: l / Math.ceil(windowSeen / this.opts.batchSize), accuracy: c / windowSeen };
          points.push(point);
          await hooks.onStep?.(
            { epoch, ...point, imagesPerSecond: (windowSeen * 1000) / (now - windowStart), lr },
            { stepInEpoch: s + 1, stepsPerEpoch: steps },
          );
          this.e.fill(lossAcc, 0);
          this.e.fill(correctAcc, 0);
          windowStart = now;
          windowSeen = 0;
        }
        if (this.opts.stopAfterSteps !== undefined && stepsThisRun >= this.opts.stopAfterSteps) {
          lossAcc.dispose();
          correctAcc.dispose();
          await this.e.sync();
          throw new StoppedEarly(`stopped after ${stepsThisRun} steps (epoch ${epoch}, step ${s + 1})`);
        }
      }
      lossAcc.dispose();
      correctAcc.dispose();
      const test = await this.evaluate(this.test, { onProgress: hooks.onProgress && ((done, total) => hooks.onProgress!({ what: 'eval', epoch, epochs: this.opts.epochs, done, total })) });
      const log: EpochLog = {
        epoch, trainLoss: epochLoss / steps, trainAccuracy: epochCorrect / Math.max(1, seen), test: test.metrics, testLoss: heldOutLoss(test.probabilities, test.labels, this.model.cfg.numClasses),
        steps: points, lr, seconds: (performance.now() - t0) / 1000,
      };
      this.history.push(log);
      this.lastHeldOut = { epoch, predictions: test.predictions };
      this.epoch = epoch + 1;
      // The hook's outputs (the CLI's log.jsonl) are written before the checkpoint commits the epoch.
      await hooks.onEpoch?.(log);
      await this.saveState(log);
    }
    return this.history;
  }

  /** One optimisation step, encoded without readback. */
  private step(indices: number[], epoch: number, s: number, warm: boolean, opt: Adam, lossAcc: Tensor, correctAcc: Tensor, views: FeatureViews | null): void {
    const e = this.e;
    e.scope(() => {
      const { loss, logits, labels } = this.stepLoss(indices, epoch, s, warm, views);
      backward(loss);
      opt.step();
      zeroGrad(this.model.parameters());
      e.noGrad(() => {
        axpyInPlace(lossAcc, loss, 1);
        if (logits) accuracyCounts(logits, labels, correctAcc);
      });
    });
  }

  /**
   * One step without the update, per stage-2 phase, and one evaluation batch note the shapes the
   * run's ops meet; the engine times the kernel variants for new ones before the first real step
   * (so the whole run uses one set of kernels), and the choices go to the store's tuning.json.
   */
  private async tuneKernels(views: FeatureViews | null): Promise<void> {
    const e = this.e;
    const B = this.opts.batchSize;
    const indices = this.order(this.epoch).slice(0, B);
    const idx = Array.from({ length: Math.min(B, this.test.length) }, (_, i) => i);
    // The held-out views first: the frozen networks that build them are not part of a step.
    const testViews = this.cached && idx.length > 0 ? await this.viewsOf(this.test) : null;
    recordShapes(e, () => {
      for (const warm of this.priorOptimizer ? [true, false] : [false]) {
        e.scope(() => {
          backward(this.stepLoss(indices, this.epoch, 0, warm, views).loss);
          zeroGrad(this.model.parameters());
        });
      }
      if (idx.length > 0) e.noGrad(() => e.scope(() => void this.predictBatch(this.test, idx, testViews, 1, this.opts.evalSeed, 0)));
    });
    await tuneAll(e);
    await this.store?.write(TUNING_FILE, JSON.stringify(saveTunings(e), null, 1));
  }

  /** The loss of step s of an epoch (and the logits when the step classifies), in the caller's scope. */
  private stepLoss(indices: number[], epoch: number, s: number, warm: boolean, views: FeatureViews | null): { loss: Tensor; logits: Tensor | null; labels: Tensor } {
    const e = this.e;
    const m = this.model;
    const o = this.opts;
    const rng = new Rng(hash(o.seed, epoch, s, 0xa06));
    // Cached path: each image contributes one of its views (a UDC draw, mirrored or not), chosen by the step's rng.
    const b = views
      ? views.batch(e, indices.map((i) => i * views.perImage + Math.floor(rng.next() * views.perImage)))
      : this.batches.make(this.train, indices, o.augment, rng, o.udc, hash(o.seed, epoch, s, 0x0dc));
    const batch = { image: b.image, landmarks: this.oracleLandmarks ? b.landmarks : null, labels: b.labels, features: 'features' in b ? (b.features as FrozenFeatures) : undefined };
    const noiseSeed = hash(o.seed, epoch, s, 0xd1f) & 0x7fffffff;
    let loss: Tensor;
    let logits: Tensor | null = null;
    if (m.stage === 1) {
      logits = m.forwardStage1(batch).logits;
      loss = crossEntropy(logits, b.labels);
    } else if (warm) {
      const p = m.stage2Prior(batch, noiseSeed);
      loss = this.priorLoss(p.target, p.zHat);
    } else {
      const r = m.forwardStage2Train(batch, noiseSeed);
      logits = r.logits;
      loss = add(crossEntropy(logits, b.labels), this.priorLoss(r.target!, r.z!));
    }
    return { loss, logits, labels: b.labels };
  }

  private priorLoss(target: Tensor, zHat: Tensor): Tensor {
    const o = this.opts;
    let l = mulScalar(klDivergence(target, zHat, { tau: o.klTau }), o.klWeight);
    if (o.l1Weight > 0) l = add(l, mulScalar(l1Loss(zHat, target), o.l1Weight));
    return l;
  }

  /** Evaluates on a dataset through the inference path (stage 2: no labels, seeded Gaussian starts). */
  async evaluate(ds: Dataset, opts: { draws?: number; seed?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<{ metrics: Metrics; predictions: number[]; probabilities: Float32Array; labels: number[] }> {
    const e = this.e;
    const m = this.model;
    const draws = opts.draws ?? this.opts.evalDraws;
    const seed = opts.seed ?? this.opts.evalSeed;
    const B = this.opts.batchSize;
    const K = m.cfg.numClasses;
    const labels: number[] = [];
    const probs = new Float32Array(ds.length * K);
    // Cached views are drawn with the trainer's evalSeed; another seed degrades afresh.
    const views = this.cached && seed === this.opts.evalSeed ? await this.viewsOf(ds) : null;
    for (let start = 0; start < ds.length; start += B) {
      const idx = Array.from({ length: Math.min(B, ds.length - start) }, (_, i) => start + i);
      const p = await e.noGrad(() =>
        e.scope(async () => {
          const { probabilities, hostLabels } = this.predictBatch(ds, idx, views, draws, seed, start);
          labels.push(...hostLabels);
          return (await probabilities.read()) as Float32Array;
        }),
      );
      probs.set(p, start * K);
      opts.onProgress?.(Math.min(ds.length, start + B), ds.length);
    }
    const scale = m.stage === 2 ? draws : 1;
    for (let i = 0; i < probs.length; i++) probs[i]! /= scale;
    const predictions = argmaxRows(probs, K);
    return { metrics: computeMetrics(labels, predictions, K), predictions, probabilities: probs, labels };
  }

  /** Class probabilities of images idx of ds summed over `draws` (stage 2), in the caller's scope. */
  private predictBatch(ds: Dataset, idx: number[], views: FeatureViews | null, draws: number, seed: number, start: number): { probabilities: Tensor; hostLabels: readonly number[] } {
    const e = this.e;
    const m = this.model;
    const b = views ? views.batch(e, idx.map((i) => i * views.perImage)) : this.batches.make(ds, idx, { flip: false, erase: false }, new Rng(1), this.opts.udc, hash(seed, start, 0xe7a1));
    // Stage-1 models need the label (their EPR encodes it); stage 2 and the baseline do not.
    const batch = { image: b.image, landmarks: this.oracleLandmarks ? b.landmarks : null, labels: m.stage === 1 ? b.labels : undefined, features: 'features' in b ? (b.features as FrozenFeatures) : undefined };
    let acc: Tensor | null = null;
    for (let d = 0; d < (m.stage === 2 ? draws : 1); d++) {
      const pr = softmax(m.predict(batch, hash(seed, start, d) & 0x7fffffff).logits);
      acc = acc ? add(acc, pr) : pr;
    }
    return { probabilities: acc!, hostLabels: b.hostLabels };
  }

  // ------------------------------------------------------------------ checkpoints

  /** What fixes the data order of every epoch (see order()): a resume must match it. */
  private dataOrder(): DataOrder {
    return { seed: this.opts.seed, batchSize: this.opts.batchSize, trainImages: this.train.length };
  }

  /**
   * Writes the epoch's weights (model.safetensors, best.safetensors when the held-out accuracy
   * improved) and then the checkpoint, all from one snapshot. The checkpoint goes last: a run stopped
   * before it resumes from the previous epoch, which retrains this one and rewrites the same bytes.
   */
  private async saveState(log: EpochLog): Promise<void> {
    if (!this.store) return;
    const m = this.model;
    const meta = { config: m.cfg, stage: m.stage, extra: { epoch: String(this.epoch), test_accuracy: String(log.test.accuracy), trained_with_landmarks: String(this.trainedWithLandmarks) } };
    const weights = await saveCheckpoint(m, meta);
    const optimisers = new Map<string, AdamState>();
    for (const [name, opt] of [['opt', this.optimizer], ['prior_opt', this.priorOptimizer]] as const) if (opt) optimisers.set(name, await opt.state());
    const improved = log.test.accuracy > this.bestAccuracy;
    if (improved) this.bestAccuracy = log.test.accuracy;
    const checkpoint = encodeRunCheckpoint({
      weights: decodeSafetensors(weights, MODEL_FILE), optimisers, epoch: this.epoch, globalStep: this.globalStep, bestAccuracy: this.bestAccuracy,
      history: JSON.stringify(this.history), options: JSON.stringify(this.opts), dataOrder: this.dataOrder(),
    });
    if (improved) await this.store.write('best.safetensors', weights);
    await this.store.write(MODEL_FILE, weights);
    await this.store.write(CHECKPOINT_FILE, checkpoint);
  }

  /** Restores weights, optimiser moments and progress from the store's checkpoint; throws when it has none. */
  async resume(): Promise<void> {
    if (!this.store) throw new Error('resume: this trainer has no run store to resume from');
    const ck = await readRunCheckpoint(this.store);
    const where = this.store.where(CHECKPOINT_FILE);
    if (!ck) throw new Error(`nothing to resume: ${where} is missing (the run never finished an epoch)`);
    const stage = parseInt(ck.weights.metadata.stage ?? '0', 10);
    if (stage !== this.model.stage) throw new Error(`${where} is a stage-${stage} checkpoint; this run trains stage ${this.model.stage}`);
    const want = this.dataOrder();
    const got = ck.dataOrder;
    if (got && (got.seed !== want.seed || got.batchSize !== want.batchSize || got.trainImages !== want.trainImages)) {
      throw new Error(
        `${where}: the run was trained with seed ${got.seed}, batch size ${got.batchSize} on ${got.trainImages} images; this resume has seed ${want.seed}, batch size ${want.batchSize} and ${want.trainImages} images, ` +
          'so its data order would differ: resume with the settings the run started with',
      );
    }
    loadIntoModel(this.model, ck.weights, where);
    for (const [name, opt] of [['opt', this.optimizer], ['prior_opt', this.priorOptimizer]] as const) {
      const s = ck.optimisers.get(name);
      if (opt && !s) throw new Error(`${where} holds no state for optimiser ${name} (${name === 'prior_opt' ? 'the run had no stage-2 warm-up: --warmup differs?' : 'not a training checkpoint'})`);
      if (!opt && s) throw new Error(`${where} holds state for optimiser ${name}, which this run does not have (${name === 'prior_opt' ? 'the run had a stage-2 warm-up: --warmup differs?' : 'not a training checkpoint'})`);
      if (opt && s) opt.loadState(s);
    }
    this.epoch = ck.epoch;
    this.globalStep = ck.globalStep;
    this.bestAccuracy = ck.bestAccuracy;
    this.history = JSON.parse(ck.history) as EpochLog[];
    const tuning = await this.store.read(TUNING_FILE);
    if (tuning) {
      const where = this.store.where(TUNING_FILE);
      try {
        loadTunings(this.e, JSON.parse(new TextDecoder().decode(tuning)), where).dropped.forEach((l) => this.log(l));
      } catch (err) {
        this.log(`${where}: ${(err as Error).message}; kernels are chosen afresh, so the resumed steps may round differently`);
      }
    }
  }

  dispose(): void {
    this.optimizer.dispose();
    this.priorOptimizer?.dispose();
    this.batches.dispose();
  }
}
