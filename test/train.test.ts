/**
 * Training end to end on a small SynthFER-UDC set with a micro schedule: baseline, both stages, evaluation
 * from saved checkpoints, reports, exact resume, label-free stage-2 inference, error cases.
 */
import { describe, it, expect } from 'vitest';
import { CachedDataset, MemoryDataset, type Dataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset, flipImageChw } from '../src/train/data/synthfer.ts';
import { BatchMaker, IMAGENET_MEAN, IMAGENET_STD } from '../src/train/batch.ts';
import { flipLandmarks } from '../src/train/data/landmarks68.ts';
import { Rng } from '../src/model/init.ts';
import { MemoryStore } from '../src/train/store.ts';
import { trainStage, type StageSpec } from '../src/train/pipeline.ts';
import { loadModel, newModel } from '../src/train/models-fs.ts';
import { writeReport } from '../src/train/stage-report.ts';
import { Trainer, StoppedEarly, type TrainOptions } from '../src/train/trainer.ts';
import { readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { decodeSafetensors } from '../src/model/safetensors.ts';
import type { DeepPartial, LrdifConfig } from '../src/model/config.ts';
import { getEngine } from './helpers.ts';

const SIZE = 64;
function synth(split: 'train' | 'test', n: number, seed = 5): Dataset {
  return new CachedDataset(new SynthFerDataset(n, { seed, size: SIZE, split, difficulty: 0.2 }));
}

/** The from-scratch image paths with oracle landmarks (the path these tests were written for; the frozen-backbone path has its own tests below). */
const SCRATCH = { backbone: 'none', landmarkFeatures: 'heatmap' } as const;

const micro: Partial<TrainOptions> = { epochs: 3, batchSize: 8, lr: 2e-3, lrGamma: 0.9, seed: 3, logEvery: 2, udc: { panel: 'toled', strength: 0.5 } };

async function weights(store: MemoryStore): Promise<Uint8Array> {
  const w = await store.read('model.safetensors');
  if (!w) throw new Error('no model.safetensors');
  return w;
}

describe('training', () => {
  // The pipeline of `lrdif run` at micro size — the baseline, stage 1 from the baseline's UDCformer,
  // stage 2 from stage 1 — on the browser demo's micro model (32×32, half widths, one DT block, T = 2)
  // and easy SynthFER (112 training / 28 held-out faces, UDC strength 0.3).
  const microConfig: DeepPartial<LrdifConfig> = { ...SCRATCH, inputSize: 32, eprDim: 32, embedDim: 64, imageEncoder: { width: 8, resBlocks: 0 }, dt: { dims: [8, 16, 32, 64], blocks: [0, 0, 0, 1] }, dil: { dims: [8, 16, 32] }, vit: { width: 32 }, diffusion: { steps: 2 } };
  const easy = (split: 'train' | 'test', n: number) => new CachedDataset(new SynthFerDataset(n, { seed: 1, size: 32, split, difficulty: 0 }));
  const train = easy('train', 112);
  const test = easy('test', 28);
  const pipeOptions: Partial<TrainOptions> = { batchSize: 8, lr: 3e-3, lrGamma: 0.95, seed: 1, logEvery: 2, udc: { panel: 'toled', strength: 0.3 } };

  it('runs baseline → stage 1 → stage 2: losses fall, label-free stage 2 beats chance, eval reproduces, reports are written', { timeout: 300_000 }, async () => {
    const e = await getEngine();
    const spec = (over: Partial<StageSpec> & { epochs: number }): StageSpec => ({ newModel, preset: 'tiny', config: microConfig, stage: 1, train, test, store: new MemoryStore(), seed: 1, ...over, options: { ...pipeOptions, epochs: over.epochs } });
    const s0store = new MemoryStore();
    const r0 = await trainStage(e, spec({ epochs: 4, store: s0store, config: { ...microConfig, modulation: false } }));
    const s1store = new MemoryStore();
    const r1 = await trainStage(e, spec({ epochs: 3, store: s1store, from: { bytes: await weights(s0store), name: 'baseline' } }));
    expect(r1.history.length).toBe(3);
    expect(r1.history[2]!.trainLoss).toBeLessThan(r1.history[0]!.trainLoss);
    const s2store = new MemoryStore();
    const logs: string[] = [];
    const r2 = await trainStage(e, spec({ epochs: 3, stage: 2, store: s2store, from: { bytes: await weights(s1store), name: 'stage1' }, log: (l) => logs.push(l) }));
    expect(logs.join('\n')).toMatch(/stage 2 initialised from stage1: \d+ tensors loaded, 4 fresh \(denoise\.mlp\)/);
    expect(r2.history.every((h) => Number.isFinite(h.trainLoss) && h.trainLoss > 0)).toBe(true);
    expect(r2.history[2]!.trainLoss).toBeLessThan(r2.history[0]!.trainLoss);
    const acc = (r: typeof r0) => r.history.map((h) => h.test.accuracy.toFixed(3)).join(' → ');
    console.log(`held-out accuracy: baseline ${acc(r0)}; stage 1 ${acc(r1)}; stage 2 ${acc(r2)} (chance 0.143); stage 2 train loss ${r2.history.map((h) => h.trainLoss.toFixed(3))}`);
    // Label-free stage 2 on held-out identities, well above chance (4 of 28).
    expect(r2.final.accuracy).toBeGreaterThanOrEqual(7 / 28);
    const micro = pipeOptions;
    // Evaluation from the saved checkpoint reproduces the last epoch's numbers.
    const model = loadModel(e, await weights(s2store), 'stage2/model.safetensors');
    const t = new Trainer(e, model, train, test, micro);
    const ev = await t.evaluate(test);
    expect(ev.metrics.accuracy).toBe(r2.final.accuracy);
    expect(ev.metrics.confusion.flat().reduce((a, b) => a + b, 0)).toBe(test.length);
    // The report reuses the last epoch's held-out predictions: they are those of a fresh evaluation.
    expect(r2.trainer.lastHeldOut?.epoch).toBe(2);
    expect(r2.trainer.lastHeldOut?.predictions).toEqual(ev.predictions);
    await writeReport(e, r2, s2store, 'stage 2', test);
    for (const f of ['curves.svg', 'accuracy.svg', 'confusion.svg', 'samples.svg', 'report.md', 'log.jsonl', 'best.safetensors', 'checkpoint.safetensors']) {
      const bytes = await s2store.read(f);
      expect(bytes?.length ?? 0, f).toBeGreaterThan(100);
    }
    const log = new TextDecoder().decode((await s2store.read('log.jsonl'))!).trim().split('\n').map((l) => JSON.parse(l));
    expect(log.filter((l) => l.type === 'epoch').length).toBe(3);
    // Stage-2 predictions do not depend on labels: evaluating on the same images with wrong labels gives the same predictions.
    const wrong = new MemoryDataset('wrong labels', test.imageSize, 7, Array.from({ length: test.length }, (_, i) => ({ ...test.get(i), label: (test.get(i).label + 3) % 7 })));
    const ev2 = await t.evaluate(wrong);
    expect(ev2.predictions).toEqual(ev.predictions);
    t.dispose();
    model.dispose();
    for (const r of [r0, r1, r2]) {
      r.trainer.dispose();
      r.model.dispose();
    }
  });

  it('a run stopped after epoch 1 and resumed ends with bitwise the same weights (default frozen-backbone path, cached views)', async () => {
    const e = await getEngine();
    const small = synth('train', 32, 9);
    const tiny = synth('test', 8, 9);
    const opts: Partial<TrainOptions> = { ...micro, epochs: 2, batchSize: 8, udc: { panel: 'poled', strength: 1 }, udcDraws: 1 };
    const full = new MemoryStore();
    const a = await trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: tiny, options: opts, store: full, seed: 2 });
    const part = new MemoryStore();
    await expect(trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: tiny, options: { ...opts, stopAfterSteps: 5 }, store: part, seed: 2 })).rejects.toThrow(StoppedEarly);
    const st = readCheckpoint((await part.read('model.safetensors'))!, 'partial');
    expect(st.file.metadata.epoch).toBe('1');
    // A resume whose data order would differ from the run's is refused before it trains.
    await expect(trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: tiny, options: { ...opts, seed: 4 }, store: part, seed: 2, resume: true })).rejects.toThrow(
      'memory:checkpoint.safetensors: the run was trained with seed 3, batch size 8 on 32 images; this resume has seed 4, batch size 8 and 32 images, so its data order would differ',
    );
    const b = await trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: tiny, options: opts, store: part, seed: 2, resume: true });
    expect(b.trainer.epoch).toBe(2);
    // The weights, and in the checkpoint the optimiser moments too, bit for bit.
    for (const file of ['model.safetensors', 'checkpoint.safetensors']) {
      const wa = decodeSafetensors((await full.read(file))!, `a/${file}`).tensors;
      const wb = decodeSafetensors((await part.read(file))!, `b/${file}`).tensors;
      expect(wb.size, file).toBe(wa.size);
      const differing = [...wa].filter(([n, t]) => !Buffer.from(t.data.buffer).equals(Buffer.from(wb.get(n)!.data.buffer))).map(([n]) => n);
      expect(differing, file).toEqual([]);
    }
    // --resume with no checkpoint is an error, never a fresh start.
    await expect(trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: tiny, options: opts, store: new MemoryStore(), seed: 2, resume: true })).rejects.toThrow(
      'nothing to resume: memory:checkpoint.safetensors is missing (the run never finished an epoch)',
    );
    for (const r of [a, b]) {
      r.trainer.dispose();
      r.model.dispose();
    }
  });

  it('refuses a stage-2 start from a stage-2 checkpoint and data with more classes than the model', async () => {
    const e = await getEngine();
    const s = new MemoryStore();
    const small = synth('train', 16, 4);
    const r = await trainStage(e, { newModel, preset: 'tiny', config: SCRATCH, stage: 1, train: small, test: small, options: { ...micro, epochs: 1 }, store: s, seed: 1 });
    const s2 = new MemoryStore();
    const r2 = await trainStage(e, { newModel, preset: 'tiny', config: SCRATCH, stage: 2, train: small, test: small, options: { ...micro, epochs: 1 }, store: s2, seed: 1, from: { bytes: await weights(s), name: 's1.safetensors' } });
    await expect(trainStage(e, { newModel, preset: 'tiny', config: SCRATCH, stage: 2, train: small, test: small, options: micro, store: new MemoryStore(), from: { bytes: await weights(s2), name: 's2.safetensors' } })).rejects.toThrow(
      /s2\.safetensors is a stage-2 checkpoint; stage 2 starts from a stage-1 checkpoint/,
    );
    await expect(trainStage(e, { newModel, preset: 'small', stage: 2, train: small, test: small, options: micro, store: new MemoryStore(), from: { bytes: await weights(s), name: 's1.safetensors' } })).rejects.toThrow(/images; the small preset expects 112×112/);
    const eight = new MemoryDataset('eight classes', SIZE, 8, [small.get(0)]);
    expect(() => new Trainer(e, r.model, eight, eight, micro)).toThrow(/eight classes has 8 classes but the model has 7/);
    for (const x of [r, r2]) {
      x.trainer.dispose();
      x.model.dispose();
    }
  });
  it('starts stage 1 from a baseline checkpoint (its UDCformer) and refuses other starts', async () => {
    const e = await getEngine();
    const small = synth('train', 16, 4);
    const opts = { ...micro, epochs: 1 };
    const bs = new MemoryStore();
    const base = await trainStage(e, { newModel, preset: 'tiny', stage: 1, train: small, test: small, options: opts, store: bs, seed: 1, config: { ...SCRATCH, modulation: false } });
    const s1 = new MemoryStore();
    const logs: string[] = [];
    // epochs: 0 trains nothing, so the model holds exactly what initialisation loaded.
    const r = await trainStage(e, { newModel, preset: 'tiny', config: SCRATCH, stage: 1, train: small, test: small, options: { ...opts, epochs: 0 }, store: s1, seed: 2, from: { bytes: await weights(bs), name: 'baseline.safetensors' }, log: (l) => logs.push(l) });
    expect(logs.join('\n')).toMatch(/stage 1 initialised from baseline\.safetensors: \d+ tensors loaded, \d+ fresh \(.*fpen_s1\./);
    const baseParams = new Map(base.model.namedParameters());
    let shared = 0;
    for (const [name, t] of r.model.namedParameters()) {
      const b = baseParams.get(name);
      if (!b) {
        expect(name, 'only FPEN_S1 and the modulations are new').toMatch(/^fpen_s1\.|\.kernel\.weight$/);
        continue;
      }
      expect(Array.from(await t.read()), name).toEqual(Array.from(await b.read()));
      shared++;
    }
    expect(shared).toBe(baseParams.size);
    const start = (stage: 1 | 2, config: object, from: Uint8Array, name: string) =>
      trainStage(e, { newModel, preset: 'tiny', stage, train: small, test: small, options: opts, store: new MemoryStore(), seed: 1, config: { ...SCRATCH, ...config }, from: { bytes: from, name } });
    await expect(start(2, {}, await weights(bs), 'baseline.safetensors')).rejects.toThrow(/baseline\.safetensors is a baseline \(no-EPR\) checkpoint; stage 2 starts from a stage-1 checkpoint/);
    await expect(start(1, { modulation: false }, await weights(bs), 'baseline.safetensors')).rejects.toThrow(/a baseline starts from scratch/);
    const s1bytes = await saveCheckpoint(r.model, { config: r.model.cfg, stage: 1 });
    await expect(start(1, {}, s1bytes, 's1.safetensors')).rejects.toThrow(/s1\.safetensors is a stage-1 LRDif checkpoint; an LRDif stage 1 starts only from a baseline/);
    for (const x of [base, r]) {
      x.trainer.dispose();
      x.model.dispose();
    }
  });
});

describe('batches', () => {
  it('flips on the GPU exactly as the host mirror of the image would, with the landmarks mirrored', async () => {
    const e = await getEngine();
    const S = 32;
    const ds = new SynthFerDataset(6, { seed: 4, size: S, difficulty: 0.3 });
    const bm = new BatchMaker(e, S);
    const idx = [0, 1, 2, 3, 4, 5];
    const [img, lm] = await e.noGrad(() =>
      e.scope(async () => {
        const b = bm.make(ds, idx, { flip: true, erase: false }, new Rng(77), null, 0);
        return [(await b.image.read()) as Float32Array, (await b.landmarks!.read()) as Float32Array];
      }),
    );
    // The same decisions as the batch maker: one draw per sample, flip when < 0.5.
    const rng = new Rng(77);
    let flips = 0;
    for (const i of idx) {
      const s = ds.get(i);
      const flip = rng.next() < 0.5;
      flips += flip ? 1 : 0;
      const ref = flip ? flipImageChw(s.image, S) : s.image;
      const refLm = flip ? flipLandmarks(s.landmarks!) : s.landmarks!;
      let worst = 0;
      for (let k = 0; k < ref.length; k++) {
        const c = Math.floor(k / (S * S));
        const want = Math.fround((Math.fround(ref[k]!) - Math.fround(IMAGENET_MEAN[c]!)) / Math.fround(IMAGENET_STD[c]!));
        worst = Math.max(worst, Math.abs(img[i * ref.length + k]! - want));
      }
      expect(worst, `sample ${i} (flipped: ${flip})`).toBeLessThan(1e-5);
      expect([...lm.subarray(i * 136, (i + 1) * 136)]).toEqual([...refLm]);
    }
    expect(flips).toBeGreaterThan(0);
    expect(flips).toBeLessThan(idx.length);
    bm.dispose();
  });
});

describe('the paper protocol: landmarks come from the image the model sees', () => {
  it('training and evaluation never read the dataset landmarks unless the oracle heatmap stem asks for them', { timeout: 300_000 }, async () => {
    const e = await getEngine();
    // SynthFER with every landmark poisoned: a path that read them would turn the loss into NaN.
    const poisoned = (split: 'train' | 'test', n: number) => {
      const ds = synth(split, n, 12);
      return new MemoryDataset(`${split} (NaN landmarks)`, SIZE, 7, Array.from({ length: n }, (_, i) => ({ ...ds.get(i), landmarks: new Float32Array(136).fill(NaN) })));
    };
    const train = poisoned('train', 16);
    const test = poisoned('test', 8);
    const opts: Partial<TrainOptions> = { ...micro, epochs: 1, udcDraws: 1 };
    const r = await trainStage(e, { newModel, preset: 'tiny', stage: 1, train, test, options: opts, store: new MemoryStore(), seed: 1 });
    expect(r.model.cfg.landmarkFeatures).toBe('backbone');
    expect(r.history.every((h) => Number.isFinite(h.trainLoss))).toBe(true);
    expect(r.final.count).toBe(8);
    const oracle = await trainStage(e, { newModel, preset: 'tiny', stage: 1, train, test, options: opts, store: new MemoryStore(), seed: 1, config: { landmarkFeatures: 'heatmap' } });
    expect(Number.isNaN(oracle.history[0]!.trainLoss)).toBe(true);
    for (const x of [r, oracle]) {
      x.trainer.dispose();
      x.model.dispose();
    }
  });
});
