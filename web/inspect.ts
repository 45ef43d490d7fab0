/**
 * What the page shows of a model besides its curves: its inference path with every intermediate EPR
 * captured (the diffusion strip), and the logits the end-to-end test compares between the page and Bun.
 */
import { type Engine, type Tensor, softmax } from '../src/engine/index.ts';
import type { Batch, LrdifModel, Stage } from '../src/model/lrdif.ts';
import { Rng } from '../src/model/init.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { MemoryDataset, type Dataset, type Sample } from '../src/train/data/dataset.ts';
import type { UdcSetting } from '../src/train/batch.ts';
import type { FeatureViews } from '../src/train/feature-cache.ts';
import { degradeUdc } from '../src/train/data/udc.ts';
import { IMAGENET_NORMALISATION } from '../src/model/landmarks/normalisation.ts';

export interface GridItem {
  clean: Float32Array;
  udc: Float32Array;
  label: number;
  predicted: number;
}

/** What the page draws after an evaluation: held-out faces and one image's diffusion chain. */
export interface Snapshot {
  stage: Stage;
  size: number;
  grid: GridItem[];
  chain: EprChain;
}

export interface EprChain {
  /** One EPR row per reverse step (Z_{T−1} … Z_0), or Z of stage 1 (one row). */
  rows: Float32Array[];
  rowLabels: string[];
  probabilities: number[];
  note: string;
}

/** The inference path with the intermediate EPRs captured (stage 2: Z_t per reverse step). */
export function forwardWithChain(m: LrdifModel, batch: Batch, seed: number): { logits: Tensor; rows: Tensor[]; rowLabels: string[]; note: string } {
  const rows: Tensor[] = [];
  const rowLabels: string[] = [];
  if (m.stage === 2 && m.fpenS2) {
    const r = m.forwardStage2Infer(batch, seed, (t, z) => {
      rows.push(z);
      rowLabels.push(`Z${t}`);
    });
    if (rows.length === 0 && r.z) {
      rows.push(r.z);
      rowLabels.push('Ẑ');
    }
    return { logits: r.logits, rows, rowLabels, note: `stage 2: Z_T ~ N(0, I), ${m.cfg.diffusion.steps} reverse steps, no label` };
  }
  const r = m.forwardStage1(batch);
  if (r.z) {
    rows.push(r.z);
    rowLabels.push('Z');
  }
  return { logits: r.logits, rows, rowLabels, note: r.z ? 'stage 1: Z from FPEN_S1, which sees the true label (the chain appears in stage 2)' : 'baseline: no EPR' };
}

/** Logits of `model` on `samples` through its inference path; shared with the Bun side of the test. */
export async function probeLogits(e: Engine, model: LrdifModel, samples: Sample[], seed: number): Promise<Float32Array> {
  const S = model.cfg.inputSize;
  const ds = new MemoryDataset('probe', S, model.cfg.numClasses, samples);
  const maker = new BatchMaker(e, S);
  try {
    return await e.noGrad(() =>
      e.scope(async () => {
        const b = maker.make(ds, samples.map((_, i) => i), { flip: false, erase: false }, new Rng(1), null, 0);
        return (await model.predict({ image: b.image, landmarks: b.landmarks, labels: b.labels }, seed).logits.read()) as Float32Array;
      }),
    );
  } finally {
    maker.dispose();
  }
}

export async function readFirstRows(rows: Tensor[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const z of rows) {
    const C = z.shape[1]!;
    out.push(((await z.read()) as Float32Array).slice(0, C));
  }
  return out;
}

export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/**
 * Held-out faces (clean | as the model saw them) with predictions, and the EPR chain of the first.
 * With `views` (cached frozen features) their degraded pixels and features are used as they are;
 * otherwise the faces are degraded afresh with `udcSeed` and the model's extractor runs.
 */
export async function heldOutSnapshot(e: Engine, m: LrdifModel, test: Dataset, batches: BatchMaker, udc: UdcSetting | null, views: FeatureViews | null, o: { gridSize: number; udcSeed: number; inferSeed: number }): Promise<Snapshot> {
  const S = m.cfg.inputSize;
  const n = Math.min(o.gridSize, test.length);
  const idx = Array.from({ length: n }, (_, i) => i);
  return e.noGrad(() =>
    e.scope(async () => {
      const samples = idx.map((i) => test.get(i));
      let batch: Batch;
      let udcPixels: Float32Array;
      if (views) {
        batch = views.batch(e, idx);
        udcPixels = views.rgbImages(idx, IMAGENET_NORMALISATION.mean, IMAGENET_NORMALISATION.std);
      } else {
        const clean = new Float32Array(n * 3 * S * S);
        samples.forEach((s, i) => clean.set(s.image, i * 3 * S * S));
        // The same degradation (seed, offset 0) BatchMaker applies below, read back for display.
        const seen = udc ? degradeUdc(e, e.tensor(clean, [n, 3, S, S]), { ...udc, seed: o.udcSeed }) : null;
        batch = batches.make(test, idx, { flip: false, erase: false }, new Rng(1), udc, o.udcSeed);
        udcPixels = seen ? ((await seen.read()) as Float32Array) : clean;
      }
      const { logits, rows, rowLabels, note } = forwardWithChain(m, batch, o.inferSeed);
      const probs = (await softmax(logits).read()) as Float32Array;
      const chainRows = await readFirstRows(rows);
      const K = m.cfg.numClasses;
      const grid: GridItem[] = samples.map((s, i) => ({
        clean: s.image,
        udc: udcPixels.slice(i * 3 * S * S, (i + 1) * 3 * S * S),
        label: s.label,
        predicted: argmax(probs.subarray(i * K, (i + 1) * K)),
      }));
      return { stage: m.stage, size: S, grid, chain: { rows: chainRows, rowLabels, probabilities: [...probs.subarray(0, K)], note } };
    }),
  );
}
