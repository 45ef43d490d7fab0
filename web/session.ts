/**
 * The demo's compute side: one engine, the SynthFER data, the model and the trainer of the
 * current stage. It reuses the project's training code unchanged (Trainer, BatchMaker, checkpoints);
 * what it adds is scheduling for a page: GPU work requested by the UI (snapshots, inference,
 * downloads) is queued and run between training steps, so two async users never interleave on the
 * engine's scope and grad-mode stacks, and pausing waits between steps.
 */
import { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { softmax } from '../src/engine/ops/softmax.ts';
import { FROM_SCRATCH, makeConfig, usesFrozenFeatures, type LrdifConfig } from '../src/model/config.ts';
import { LrdifModel, initFromCheckpoint, type Stage } from '../src/model/lrdif.ts';
import { loadIntoModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { Rng } from '../src/model/init.ts';
import { Trainer, StoppedEarly, type EpochLog, type StepLog, type TrainOptions } from '../src/train/trainer.ts';
import { BatchMaker, type UdcSetting } from '../src/train/batch.ts';
import { CachedDataset, MemoryDataset, WithoutLandmarks, type Dataset, type Sample } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { degradeUdc, type UdcPanel } from '../src/train/data/udc.ts';
import { landmarksOfSquareImages } from '../src/model/landmarks/face-landmark-net.ts';
import type { FaceApiFeatureExtractor } from '../src/model/landmarks/frozen-extractor.ts';
import { fetchFromPage, loadFaceApiExtractor, type WeightReader } from './face-api-weights.ts';
import { argmax, forwardWithChain, heldOutSnapshot, probeLogits, readFirstRows, type EprChain, type Snapshot } from './inspect.ts';
import { DEFAULT_SETTINGS, phaseName, type DemoEvents, type DemoSettings, type DemoState, type EpochInfo, type Phase, type StepInfo } from './settings.ts';

export type { EprChain, GridItem, Snapshot } from './inspect.ts';
export { probeLogits } from './inspect.ts';

export * from './settings.ts';

/** Held-out faces shown in the grid (two of each class: SynthFER's labels cycle through the 7). */
const GRID_SIZE = 14;
const SNAPSHOT_UDC_SEED = 4242;
const INFER_SEED = 2024;

const yieldToUi = () => new Promise<void>((r) => setTimeout(r, 0));

export class DemoSession {
  private engine: Engine | null = null;
  private batches: BatchMaker | null = null;
  private train: Dataset | null = null;
  private test: Dataset | null = null;
  model: LrdifModel | null = null;
  private trainer: Trainer | null = null;
  private phase: Phase = 1;
  /** The current phase's training finished (or its checkpoint was loaded): Start goes on to the next. */
  private phaseDone = false;
  settings: DemoSettings = { ...DEFAULT_SETTINGS };
  state: DemoState = 'idle';
  /** Steps over both stages; the x axis of the curves. */
  stepOffset = 0;

  // Scheduling: while training runs, GPU jobs wait in `pending` and run between steps.
  private training = false;
  private pending: (() => Promise<void>)[] = [];
  private idleChain: Promise<void> = Promise.resolve();
  private paused = false;
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private runPromise: Promise<void> | null = null;
  private lastHookEnd = 0;
  /** face-api's frozen networks, read on first use; a string says why they are unavailable. */
  private faceApi: Promise<FaceApiFeatureExtractor | string> | null = null;
  /** Whether a loaded heatmap-stem checkpoint was trained with landmarks (then given predicted points). */
  private trainedWithLandmarks = false;
  private lastHookStep = 0;
  /** Set when the frozen networks finished a dataset's views: the pool is trimmed at the next step boundary. */
  private trimPool = false;
  private readonly readWeights: WeightReader;
  private readonly createEngine: () => Promise<Engine>;

  /** `opts` serve tests outside a page: an engine of their own, weight files from node_modules. */
  constructor(private readonly on: DemoEvents, opts: { engine?: () => Promise<Engine>; readWeights?: WeightReader } = {}) {
    this.readWeights = opts.readWeights ?? fetchFromPage();
    this.createEngine = opts.engine ?? (() => Engine.create({ adapter: 'browser', log: false }));
  }

  get adapter(): string {
    return this.engine?.info.description ?? '';
  }

  async getEngine(): Promise<Engine> {
    this.engine ??= await this.createEngine();
    return this.engine;
  }

  /** Runs GPU work now when idle, or between two training steps. */
  gpu<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job = async () => {
        try {
          resolve(await fn());
        } catch (err) {
          reject(err);
        }
      };
      if (this.training) {
        this.pending.push(job);
        this.poke();
      } else this.idleChain = this.idleChain.then(job);
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) await this.pending.shift()!();
  }

  private setState(s: DemoState, detail?: string): void {
    this.state = s;
    this.on.state(s, detail);
  }

  configFor(s: DemoSettings): LrdifConfig {
    const o = s.overrides;
    const protocol = s.backbone === 'face-api' ? ({ backbone: 'face-api', landmarkFeatures: 'backbone' } as const) : FROM_SCRATCH;
    return makeConfig(s.preset, { ...protocol, ...o, inputSize: s.inputSize, diffusion: { ...(o.diffusion ?? {}), steps: s.diffusionSteps } });
  }

  /** face-api's frozen networks, loaded once; or why they could not be. */
  private loadFaceApi(e: Engine): Promise<FaceApiFeatureExtractor | string> {
    this.faceApi ??= loadFaceApiExtractor(e, this.readWeights).catch((err: unknown) => (err as Error).message ?? String(err));
    return this.faceApi;
  }

  /** A model for `cfg`, with the frozen networks attached when its config reads them. */
  private async newModel(cfg: LrdifConfig, stage: Stage, seed: number): Promise<LrdifModel> {
    const e = this.engine!;
    if (!usesFrozenFeatures(cfg)) return new LrdifModel(e, cfg, stage, seed);
    this.on.status("loading face-api's frozen networks …");
    const x = await this.loadFaceApi(e);
    if (typeof x === 'string') throw new Error(`face-api's pretrained networks could not be loaded (${x}); choose "from scratch" image features`);
    return new LrdifModel(e, cfg, stage, seed, { extractor: x });
  }

  private udc(): UdcSetting | null {
    return this.settings.udcStrength > 0 ? { panel: this.settings.udcPanel, strength: this.settings.udcStrength } : null;
  }

  private trainOptions(): Partial<TrainOptions> {
    const s = this.settings;
    return {
      batchSize: s.batchSize, lr: s.lr, lrGamma: 0.95, seed: s.seed, logEvery: s.logEvery, udc: this.udc(),
      augment: { flip: true, erase: false }, epochs: [s.epochs0, s.epochs1, s.epochs2][this.phase], udcDraws: 1,
    };
  }

  /** Generates SynthFER at the model's size, a chunk at a time so the page stays responsive. */
  private async makeData(size: number): Promise<void> {
    const s = this.settings;
    if (this.train?.imageSize === size && this.train.length === s.trainImages && this.test?.length === s.testImages) return;
    const opts = { seed: s.seed, size, difficulty: s.difficulty };
    // The generator's exact landmarks are dropped: no camera gives them (docs/design.md §protocol).
    const train = new WithoutLandmarks(new CachedDataset(new SynthFerDataset(s.trainImages, { ...opts, split: 'train' })));
    const test = new WithoutLandmarks(new CachedDataset(new SynthFerDataset(s.testImages, { ...opts, split: 'test' })));
    const total = train.length + test.length;
    let done = 0;
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.length; i++) {
        ds.get(i);
        if (++done % 16 === 0) {
          this.on.status(`generating SynthFER faces ${done}/${total} (${size}×${size})`);
          await yieldToUi();
        }
      }
    }
    this.train = train;
    this.test = test;
  }

  /** Start, or resume when paused. Training runs the baseline, stage 1 from it, then stage 2 from stage 1. */
  start(settings?: DemoSettings): void {
    if (this.state === 'paused' || this.state === 'pausing') {
      this.paused = false;
      this.setState('training');
      this.poke();
      return;
    }
    if (this.runPromise) return;
    if (settings) this.settings = settings;
    this.runPromise = this.trainAll()
      .catch((err: unknown) => {
        if (!(err instanceof StoppedEarly)) this.setState('error', (err as Error).message ?? String(err));
      })
      .finally(() => {
        this.runPromise = null;
      });
  }

  /** Pauses after the step in flight: 'pausing' until the loop reaches the next step boundary, then 'paused'. */
  pause(): void {
    if (this.state !== 'training') return;
    this.paused = true;
    this.setState('pausing');
  }

  private async trainAll(): Promise<void> {
    this.training = true;
    this.stopRequested = false;
    await this.idleChain;
    try {
      this.setState('preparing');
      const e = await this.getEngine();
      if (!this.model) {
        const cfg = this.configFor(this.settings);
        this.phase = this.settings.epochs0 > 0 ? 0 : 1;
        this.model = await this.newModel(this.phase === 0 ? { ...cfg, modulation: false } : cfg, 1, this.settings.seed);
        this.phaseDone = false;
      }
      this.batches ??= new BatchMaker(e, this.model.cfg.inputSize);
      await this.makeData(this.model.cfg.inputSize);
      for (;;) {
        if (!this.phaseDone) {
          await this.runStage();
          this.phaseDone = true;
        }
        if (this.stopRequested || this.phase === 2) break;
        await this.nextPhase();
      }
      if (!this.stopRequested) this.setState('done', `trained ${phaseName(this.phase)}`);
    } finally {
      this.trainer?.dispose();
      this.trainer = null;
      this.training = false;
      this.paused = false;
      await this.drain();
    }
  }

  private async runStage(): Promise<void> {
    const e = this.engine!;
    const m = this.model!;
    const trainer = new Trainer(e, m, this.train!, this.test!, this.trainOptions());
    this.trainer = trainer;
    const stage = this.phase;
    this.trainedWithLandmarks = false;
    trainer.onViewProgress = (what, done, total) => {
      this.on.status(`${phaseName(stage)}: frozen networks on the ${what} ${done}/${total} (once; cached for every epoch)`);
      // The extraction's activations (hundreds of MiB at batch 32) are not needed again: hand them back to the driver.
      if (done >= total) this.trimPool = true;
    };
    this.setState('training', phaseName(stage));
    this.on.status(`training ${phaseName(stage)}: ${trainer.opts.epochs} epochs of ${trainer.stepsPerEpoch} steps (batch ${trainer.opts.batchSize})`);
    this.lastHookEnd = performance.now();
    this.lastHookStep = 0;
    const base = this.stepOffset;
    await trainer.run({
      onStep: async (l: StepLog, p) => {
        const now = performance.now();
        const steps = l.step - this.lastHookStep;
        this.on.step({
          stage, step: base + l.step, epoch: l.epoch, epochs: trainer.opts.epochs, stepInEpoch: p.stepInEpoch, stepsPerEpoch: p.stepsPerEpoch,
          loss: l.loss, accuracy: l.accuracy, imagesPerSecond: l.imagesPerSecond, stepsPerSecond: (steps * 1000) / Math.max(1e-3, now - this.lastHookEnd), lr: l.lr,
        });
        this.stepOffset = base + l.step;
        await this.betweenSteps(trainer);
        this.lastHookStep = l.step;
        this.lastHookEnd = performance.now();
      },
      onEpoch: async (l: EpochLog) => {
        await this.reportEpoch(stage, l);
        await this.betweenSteps(trainer);
        this.lastHookEnd = performance.now();
      },
    });
    this.trainer = null;
    trainer.dispose();
  }

  /** Between steps: run queued GPU jobs, let the UI paint, wait while paused, stop on reset. */
  private async betweenSteps(trainer: Trainer): Promise<void> {
    if (this.trimPool) {
      this.trimPool = false;
      this.engine?.pool.trim();
    }
    await this.drain();
    await yieldToUi();
    if (this.paused && !this.stopRequested) this.setState('paused');
    while (this.paused && !this.stopRequested) {
      await new Promise<void>((r) => {
        this.wake = r;
      });
      await this.drain();
    }
    // The trainer checks this after every step and ends its run cleanly (accumulators disposed).
    if (this.stopRequested) trainer.opts.stopAfterSteps = 0;
  }

  private async reportEpoch(stage: Phase, l: EpochLog): Promise<void> {
    this.on.epoch({ stage, step: this.stepOffset, epoch: l.epoch, trainLoss: l.trainLoss, trainAccuracy: l.trainAccuracy, heldOutLoss: l.testLoss, heldOut: l.test });
    this.on.snapshot(await this.computeSnapshot());
  }

  /**
   * The next phase from the current weights: stage 1 from the baseline (its UDCformer copied, FPEN_S1
   * and the modulations fresh), or stage 2 from stage 1 (shared parts copied, FPEN_S2 from FPEN_S1,
   * denoiser fresh).
   */
  private async nextPhase(): Promise<void> {
    const prev = this.model!;
    const weights = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const [name, t] of prev.namedParameters()) weights.set(name, { data: (await t.read()) as Float32Array, shape: [...t.shape] });
    const from = this.phase;
    const next: Phase = from === 0 ? 1 : 2;
    const model = await this.newModel({ ...prev.cfg, modulation: true }, next === 1 ? 1 : 2, this.settings.seed + next);
    const r = initFromCheckpoint(model, weights);
    prev.dispose();
    this.model = model;
    this.phase = next;
    this.phaseDone = false;
    this.on.status(`${phaseName(next)} initialised from ${phaseName(from)}: ${r.loaded.length} tensors copied, ${r.fresh.length} fresh`);
  }

  /** Stops training (after the current step) and frees every GPU buffer the session holds. */
  async reset(): Promise<void> {
    this.stopRequested = true;
    this.paused = false;
    this.poke();
    if (this.runPromise) {
      this.setState('stopping');
      await this.runPromise;
    }
    await this.idleChain;
    this.model?.dispose();
    this.model = null;
    this.batches?.dispose();
    this.batches = null;
    this.train = null;
    this.test = null;
    this.phase = 1;
    this.phaseDone = false;
    this.stepOffset = 0;
    this.trainedWithLandmarks = false;
    // Return the pooled buffers to the driver, not just to the pool.
    this.engine?.pool.trim();
    this.setState('idle');
  }

  // ------------------------------------------------------------------ evaluation views

  /** Held-out faces (clean | as the model saw them), predictions, and the EPR chain of the first one. */
  private async computeSnapshot(): Promise<Snapshot> {
    // While training on cached frozen features, the held-out views the evaluation just used fill the grid.
    const views = this.trainer?.cached ? await this.trainer.viewsOf(this.test!) : null;
    return heldOutSnapshot(this.engine!, this.model!, this.test!, this.batches!, this.udc(), views, { gridSize: GRID_SIZE, udcSeed: SNAPSHOT_UDC_SEED, inferSeed: INFER_SEED });
  }

  snapshot(): Promise<Snapshot | null> {
    return this.gpu(async () => {
      if (!this.model || !this.test || !this.batches) return null;
      const s = await this.computeSnapshot();
      this.on.snapshot(s);
      return s;
    });
  }

  /**
   * Classifies one CHW image in [0, 1] at the model's size, optionally through the UDC degradation
   * first. Everything the model reads comes from that image: frozen features (face-api's networks
   * run on it) or, for a heatmap-stem checkpoint trained with landmarks, face-api's 68 points
   * predicted from it; otherwise the landmark-free DIL path runs, and the note says which.
   */
  infer(image: Float32Array, applyUdc: boolean): Promise<EprChain & { predicted: number; landmarks: Float32Array | null }> {
    return this.gpu(async () => {
      const m = this.model;
      if (!m) throw new Error('no model yet: train one or load a checkpoint');
      if (m.stage !== 2 && m.cfg.modulation) throw new Error('a stage-1 model needs the true label (its EPR encodes it): finish stage 2 or load a stage-2 checkpoint to classify new images');
      const e = this.engine!;
      const S = m.cfg.inputSize;
      if (image.length !== 3 * S * S) throw new Error(`infer: image has ${image.length} values, expected 3×${S}×${S}`);
      const udc = applyUdc ? this.udc() : null;
      // What the camera gives: the degraded image (same seed as the batch below), read back once.
      const seen = udc ? await e.noGrad(() => e.scope(async () => (await degradeUdc(e, e.tensor(image, [1, 3, S, S]), { ...udc, seed: SNAPSHOT_UDC_SEED }).read()) as Float32Array)) : image;
      let landmarks: Float32Array | null = null;
      let how = usesFrozenFeatures(m.cfg) ? "features from face-api's frozen networks on the image the model sees" : 'landmark-free DIL path';
      if (m.cfg.landmarkFeatures === 'heatmap' && this.trainedWithLandmarks) {
        const x = await this.loadFaceApi(e);
        if (typeof x === 'string' || !x.landmarks) how = `landmark-free DIL path (face-api's landmark network unavailable: ${typeof x === 'string' ? x : 'not loaded'})`;
        else {
          landmarks = await landmarksOfSquareImages(x.landmarks, 1, () => seen, S);
          how = "landmarks from face-api's 68-point network on the image the model sees";
        }
      }
      const one = new MemoryDataset('upload', S, m.cfg.numClasses, [{ image, landmarks, label: 0 }]);
      const batches = this.batches ?? new BatchMaker(e, S);
      this.batches = batches;
      return e.noGrad(() =>
        e.scope(async () => {
          const b = batches.make(one, [0], { flip: false, erase: false }, new Rng(1), udc, SNAPSHOT_UDC_SEED);
          const r = forwardWithChain(m, { image: b.image, landmarks: b.landmarks }, INFER_SEED);
          const probs = [...((await softmax(r.logits).read()) as Float32Array)];
          return { rows: await readFirstRows(r.rows), rowLabels: r.rowLabels, probabilities: probs, note: `${r.note}; ${how}`, predicted: argmax(probs), landmarks };
        }),
      );
    });
  }

  // ------------------------------------------------------------------ checkpoints

  /** The current weights as safetensors, in the CLI's format. */
  download(): Promise<{ bytes: Uint8Array; name: string }> {
    return this.gpu(async () => {
      const m = this.model;
      if (!m) throw new Error('no model to download yet');
      const bytes = await saveCheckpoint(m, { config: m.cfg, stage: m.stage, extra: { source: 'browser-demo', steps: String(this.stepOffset), trained_with_landmarks: String(this.trainedWithLandmarks) } });
      return { bytes, name: `lrdif-${m.cfg.preset}-${m.cfg.inputSize}px-stage${m.stage}.safetensors` };
    });
  }

  /** Replaces the model by a checkpoint (from the CLI or this page); Start then trains on from it. */
  async load(bytes: Uint8Array, name: string): Promise<LrdifModel> {
    if (this.runPromise) throw new Error('pause and reset training before loading a checkpoint');
    const e = await this.getEngine();
    return this.gpu(async () => {
      const ck = readCheckpoint(bytes, name);
      const stage: Stage = ck.stage === 2 ? 2 : 1;
      const model = await this.newModel(ck.config, stage, 0);
      try {
        loadIntoModel(model, ck.file, name);
      } catch (err) {
        model.dispose();
        throw err;
      }
      this.model?.dispose();
      this.model = model;
      this.phase = stage === 2 ? 2 : ck.config.modulation ? 1 : 0;
      // A heatmap-stem checkpoint trained with landmarks (`lrdif run --landmarks oracle`, or written before the
      // flag existed) gets face-api's points predicted from the image it classifies.
      this.trainedWithLandmarks = ck.config.landmarkFeatures === 'heatmap' && ck.file.metadata.trained_with_landmarks !== 'false';
      // A baseline or stage-1 checkpoint is a finished phase (Start goes on); stage 2 trains on.
      this.phaseDone = this.phase !== 2;
      if (this.batches?.size !== ck.config.inputSize) {
        this.batches?.dispose();
        this.batches = new BatchMaker(e, ck.config.inputSize);
      }
      await this.makeData(ck.config.inputSize);
      this.on.status(`loaded ${name}: ${ck.config.preset} preset, ${ck.config.inputSize}×${ck.config.inputSize}, stage ${stage}, ${model.numParameters().toLocaleString()} parameters`);
      return model;
    });
  }

  /**
   * Logits of the current model on the first `n` held-out images (clean, no augmentation), with
   * those exact inputs: what the end-to-end test feeds the same checkpoint in Bun.
   */
  probe(n = 4, seed = 11): Promise<{ samples: { image: number[]; landmarks: number[] | null; label: number }[]; logits: number[]; seed: number; stage: number; adapter: string }> {
    return this.gpu(async () => {
      const m = this.model;
      const test = this.test;
      if (!m || !test) throw new Error('probe: no model or data yet');
      const e = this.engine!;
      const samples: Sample[] = Array.from({ length: Math.min(n, test.length) }, (_, i) => test.get(i));
      const logits = await probeLogits(e, m, samples, seed);
      return {
        samples: samples.map((s) => ({ image: [...s.image], landmarks: s.landmarks ? [...s.landmarks] : null, label: s.label })),
        logits: [...logits],
        seed,
        stage: m.stage,
        adapter: e.info.description,
      };
    });
  }

  poolStats() {
    return this.engine ? { ...this.engine.poolStats(), ...this.engine.getStats() } : null;
  }
}
