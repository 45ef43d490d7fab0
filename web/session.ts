/**
 * The demo's compute side: one engine, the SynthFER data, the model and the trainer of the
 * current stage. Training is the CLI's curriculum (runCurriculum: the optional baseline warm start,
 * stage 1, stage 2 from stage 1) with the page's model factory (face-api's networks fetched) and
 * memory stores; what the page adds is scheduling: GPU work requested by the UI (snapshots,
 * inference, downloads) is queued and run between training steps, so two async users never
 * interleave on the engine's scope and grad-mode stacks, and pausing waits between steps.
 */
import { Engine, type Tensor, softmax, enableAutotune, pageTuningStore } from '../src/engine/index.ts';
import { FROM_SCRATCH, makeConfig, usesFrozenFeatures, type LrdifConfig } from '../src/model/config.ts';
import { LrdifModel, type Stage } from '../src/model/lrdif.ts';
import { loadIntoModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { Rng } from '../src/model/init.ts';
import { StoppedEarly, type EpochLog, type StepLog, type Trainer, type TrainOptions } from '../src/train/trainer.ts';
import { runCurriculum, type CurriculumRun } from '../src/train/curriculum.ts';
import type { StageSpec } from '../src/train/pipeline.ts';
import { MemoryStore } from '../src/train/store.ts';
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
const PHASE_OF: Record<CurriculumRun, Phase> = { baseline: 0, stage1: 1, stage2: 2 };

/** A finished run's weights (trained here or loaded): Start trains the runs after it. */
interface FinishedRun {
  run: CurriculumRun;
  bytes: Uint8Array;
  name: string;
  config: LrdifConfig;
}

export class DemoSession {
  private engine: Engine | null = null;
  private batches: BatchMaker | null = null;
  private train: Dataset | null = null;
  private test: Dataset | null = null;
  model: LrdifModel | null = null;
  private trainer: Trainer | null = null;
  /** The last finished run: Start goes on from it (null: from scratch; stage 2: nothing left to train). */
  private finished: FinishedRun | null = null;
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
    const create = opts.engine ?? (() => Engine.create({ adapter: 'browser', log: false }));
    // Kernel choices as the CLI makes them: the trainer times its shapes once, the page's storage keeps them.
    this.createEngine = async () => {
      const e = await create();
      await enableAutotune(e, { store: pageTuningStore(), log: (line) => console.info(line) });
      return e;
    };
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
      augment: { flip: true, erase: false }, udcDraws: 1,
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

  /** Start, or resume when paused. Training runs the curriculum after the last finished run (from scratch: all of it). */
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
      const s = this.settings;
      const done = this.finished;
      if (done?.run === 'stage2') {
        this.setState('done', `trained ${phaseName(2)}`);
        return;
      }
      const cfg = done?.config ?? this.configFor(s);
      if (this.batches?.size !== cfg.inputSize) {
        this.batches?.dispose();
        this.batches = new BatchMaker(e, cfg.inputSize);
      }
      await this.makeData(cfg.inputSize);
      const stores = new Map<CurriculumRun, MemoryStore>();
      await runCurriculum(e, {
        // Stage 1 and 2 modulate; the curriculum switches it off for the baseline.
        preset: cfg.preset, config: { ...cfg, modulation: true }, train: this.train!, test: this.test!, seed: s.seed,
        options: this.trainOptions(), epochs: { warm: s.epochs0, stage1: s.epochs1, stage2: s.epochs2 },
        warmStart: s.epochs0 > 0, skipBaseline: true,
        after: done ? { run: done.run === 'baseline' ? 'baseline' : 'stage1', bytes: done.bytes, name: done.name } : undefined,
        store: (run) => stores.get(run) ?? stores.set(run, new MemoryStore(`demo ${run}`)).get(run)!,
        newModel: (_e, c, stage, seed) => this.newModel(c, stage, seed),
        hooks: (run) => this.stageHooks(PHASE_OF[run]),
        onResult: async (run, r, store) => {
          r.trainer.dispose();
          this.trainer = null;
          const bytes = await store.read('model.safetensors');
          if (bytes) this.finished = { run, bytes, name: `${phaseName(PHASE_OF[run])} (trained here)`, config: r.model.cfg };
        },
      });
      if (!this.stopRequested) this.setState('done', `trained ${phaseName(2)}`);
    } finally {
      this.trainer?.dispose();
      this.trainer = null;
      this.training = false;
      this.paused = false;
      await this.drain();
    }
  }

  /** The page's side of one run of the curriculum: its model for the views, progress, pausing between steps. */
  private stageHooks(stage: Phase): Pick<StageSpec, 'onStart' | 'onStep' | 'onEpoch' | 'onTask' | 'log'> {
    const base = this.stepOffset;
    let trainer: Trainer | null = null;
    return {
      onStart: (t, model) => {
        trainer = t;
        this.trainer = t;
        // The model it replaces (the run before, or a loaded checkpoint) is not needed: its weights are in the store.
        const previous = this.model;
        this.model = model;
        if (previous && previous !== model) previous.dispose();
        this.trainedWithLandmarks = false;
        this.setState('training', phaseName(stage));
        this.on.status(`training ${phaseName(stage)}: ${t.opts.epochs} epochs of ${t.stepsPerEpoch} steps (batch ${t.opts.batchSize})`);
        this.lastHookEnd = performance.now();
        this.lastHookStep = 0;
      },
      onTask: (what, done, total) => {
        this.on.status(`${phaseName(stage)}: frozen networks on the ${what} ${done}/${total} (once; cached for every epoch)`);
        // The extraction's activations (hundreds of MiB at batch 32) are not needed again: hand them back to the driver.
        if (done >= total) this.trimPool = true;
      },
      log: (line) => this.on.status(line),
      onStep: async (l: StepLog, p) => {
        const now = performance.now();
        const steps = l.step - this.lastHookStep;
        this.on.step({
          stage, step: base + l.step, epoch: l.epoch, epochs: p.epochs, stepInEpoch: p.stepInEpoch, stepsPerEpoch: p.stepsPerEpoch,
          loss: l.loss, accuracy: l.accuracy, imagesPerSecond: l.imagesPerSecond, stepsPerSecond: (steps * 1000) / Math.max(1e-3, now - this.lastHookEnd), lr: l.lr,
        });
        this.stepOffset = base + l.step;
        await this.betweenSteps(trainer!);
        this.lastHookStep = l.step;
        this.lastHookEnd = performance.now();
      },
      onEpoch: async (l: EpochLog) => {
        await this.reportEpoch(stage, l);
        await this.betweenSteps(trainer!);
        this.lastHookEnd = performance.now();
      },
    };
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
    this.finished = null;
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

  /** Replaces the model by a checkpoint (from the CLI or this page); Start then trains the stages after it (none after stage 2). */
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
      // A loaded checkpoint is a finished run: Start trains the runs after it (stage 2: nothing is left).
      const run: CurriculumRun = stage === 2 ? 'stage2' : ck.config.modulation ? 'stage1' : 'baseline';
      this.finished = { run, bytes: bytes.slice(), name, config: ck.config };
      // A heatmap-stem checkpoint trained with landmarks (`lrdif run --landmarks oracle`, or written before the
      // flag existed) gets face-api's points predicted from the image it classifies.
      this.trainedWithLandmarks = ck.config.landmarkFeatures === 'heatmap' && ck.file.metadata.trained_with_landmarks !== 'false';
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
