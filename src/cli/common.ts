/** What the `lrdif` commands share: the engine (with the chosen adapter), data opening, run directories, the protocol line. */
import { Engine, type AdapterChoice } from '../engine/index.ts';
import { FsStore, openRunDir } from '../train/store-fs.ts';
import { useTuningCache } from '../train/tuning-cache-fs.ts';
import { openData, type DataPair } from '../train/data/open.ts';
import { WithoutLandmarks } from '../train/data/dataset.ts';
import { taskProgress } from './progress.ts';

/** Where the frozen networks' features of the data's views are cached between runs. */
export const FEATURE_CACHE_DIR = '.cache/features';

/** Set from the global --adapter (or LRDIF_ADAPTER) before a command runs. */
let adapter: AdapterChoice | undefined;
export function chooseAdapter(choice: AdapterChoice | undefined): void {
  adapter = choice;
}

/**
 * The engine on the chosen adapter, with the kernel choices this machine measured before
 * (src/train/tuning-cache-fs.ts); training times those its model's shapes still lack.
 */
export async function engine(): Promise<Engine> {
  const e = await Engine.create({ adapter });
  await useTuningCache(e);
  return e;
}

export interface DataChoice {
  /** synth:TRAIN:TEST or a real dataset's spec (see resolveData). */
  spec: string;
  difficulty: number;
  skipBad: boolean;
  landmarks: 'net' | 'oracle' | 'none';
}

/** --data plus its options → train/test datasets (real datasets get predicted landmarks unless --landmarks none). */
export async function openDataFor(e: Engine, d: DataChoice, preset: string, seed: number): Promise<DataPair> {
  const bars = taskProgress();
  try {
    // Only the oracle heatmap stem reads landmarks given with the data: real datasets get face-api's points then.
    const pair = await openData(d.spec, preset, seed, { difficulty: d.difficulty }, { skipBad: d.skipBad, landmarks: d.landmarks === 'oracle' ? 'predict' : 'none', engine: e, onProgress: bars.onProgress });
    return d.landmarks === 'none' ? { train: new WithoutLandmarks(pair.train), test: new WithoutLandmarks(pair.test) } : pair;
  } finally {
    bars.stop();
  }
}

/** The landmark source and backbone, as every report states them ('heatmap' without landmarks in the data = the landmark-free path). */
export function protocolLine(landmarks: 'heatmap' | 'backbone', backbone: 'face-api' | 'none', dataHasLandmarks = true): string {
  const lm =
    landmarks === 'backbone'
      ? 'landmark features from the landmark network on the (degraded) image the model sees'
      : dataHasLandmarks
        ? 'ORACLE landmarks given with the data (SynthFER: the exact points; real data: points predicted from the clean image), which no camera provides'
        : 'no landmarks (landmark-free DIL path)';
  return `${lm}; image backbone: ${backbone === 'face-api' ? "face-api's frozen pretrained networks" : 'trained from scratch'}`;
}

/** 'S1,S2' (or 'W,S1,S2' with a warm start) → the curriculum's epochs. */
export function curriculumEpochs(xs: number[], warmStart: boolean): { warm: number; stage1: number; stage2: number } {
  const want = warmStart ? 3 : 2;
  if (xs.length !== want) {
    throw new Error(`--epochs ${xs.join(',')}: expected ${want} positive integers (${warmStart ? 'baseline warm start, stage 1, stage 2, e.g. 3,1,5' : 'stage 1, stage 2, e.g. 2,6'})`);
  }
  return warmStart ? { warm: xs[0]!, stage1: xs[1]!, stage2: xs[2]! } : { warm: 0, stage1: xs[0]!, stage2: xs[1]! };
}

/** A run directory for --out (moved here unchanged from src/cli.ts; its logic lives in openRunDir). */
export function prepareOut(dir: string, resume: boolean, force: boolean): FsStore {
  return openRunDir(dir, { resume, force });
}
