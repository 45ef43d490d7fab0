/**
 * What the page shows of a model besides its curves: its inference path with every intermediate EPR
 * captured (the diffusion strip), and the logits the end-to-end test compares between the page and Bun.
 */
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import type { Batch, LrdifModel, Stage } from '../src/model/lrdif.ts';
import { Rng } from '../src/model/init.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { MemoryDataset, type Sample } from '../src/train/data/dataset.ts';

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
