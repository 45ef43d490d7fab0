/**
 * `lrdif ablate`: the paper's Table 5 and Fig. 6 on SynthFER-UDC, as a paired experiment. Per seed
 * (its own data draw, data order and initial weights, shared by every variant of that seed): the
 * LRDif curriculum (stage 1, stage 2 = ours: CE + KL at T = 4, and the equal-budget no-EPR
 * baseline), the stage-2 variants from the same stage 1 — V1 (FPEN_S2 predicts the EPR, no
 * diffusion), V2 (CE only), V4 (posterior noise inserted in the reverse steps) — the T sweep, and
 * optionally the same curriculum with the image paths trained from scratch (`--backbone none`).
 * Comparisons are reported as the mean paired difference over seeds with a 95 % Student-t interval.
 */
import type { Engine } from '../engine/index.ts';
import type { DeepPartial, LrdifConfig } from '../model/config.ts';
import { FROM_SCRATCH } from '../model/config.ts';
import type { Dataset } from './data/dataset.ts';
import { MemoryStore, type RunStore } from './store.ts';
import { trainStage, type StageResult, type StageSpec } from './pipeline.ts';
import { newModel } from './models-fs.ts';
import { runCurriculum, type CurriculumRun } from './curriculum.ts';
import type { TrainOptions } from './trainer.ts';
import { lineChartSvg } from './report.ts';
import { formatDifference, meanInterval, pairedInterval, type Interval } from './stats.ts';

export interface AblateOptions {
  preset: string;
  seeds: number[];
  /** T values of the sweep (4 is the main model's). */
  steps: number[];
  train: (seed: number) => { train: Dataset; test: Dataset };
  options: Partial<TrainOptions>;
  /** Model config overrides of the main model (backbone, landmark source). */
  config?: DeepPartial<LrdifConfig>;
  epochs: { warm: number; stage1: number; stage2: number };
  warmStart: boolean;
  /** Also run the curriculum with every image path trained from scratch (the backbone comparison). */
  scratch: boolean;
  viewCache?: StageSpec['viewCache'];
  onProgress?: (line: string) => void;
  /** Called with the results so far after each seed (to write partial tables). */
  onSeed?: (partial: AblateResult) => void | Promise<void>;
}

export const MAIN = 'ours: CE + KL (T = 4)';
export const BASELINE = 'baseline (no EPR, equal budget)';
export const STAGE1 = 'stage 1 (sees the label)';
export const SCRATCH = 'ours, image paths from scratch (--backbone none)';

interface Variant {
  name: string;
  config?: DeepPartial<LrdifConfig>;
  options?: Partial<TrainOptions>;
}

const VARIANTS: Variant[] = [
  { name: 'V1: no diffusion (FPEN_S2 predicts the EPR)', config: { diffusion: { mode: 'direct' } } },
  { name: 'V2: CE only', options: { klWeight: 0 } },
  { name: 'V4: insert noise', config: { diffusion: { insertNoise: true } } },
];

export interface AblateResult {
  seeds: number[];
  /** variant → held-out accuracy per seed (in seed order). */
  table: Map<string, number[]>;
  /** T → held-out accuracy per seed. */
  sweep: Map<number, number[]>;
}

export interface Comparison {
  name: string;
  a: string;
  b: string;
  diff: Interval;
}

export async function runAblation(e: Engine, o: AblateOptions): Promise<AblateResult> {
  const table = new Map<string, number[]>();
  const sweep = new Map<number, number[]>();
  const push = <K>(m: Map<K, number[]>, k: K, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  const done = (r: StageResult) => {
    const acc = r.final.accuracy;
    r.trainer.dispose();
    r.model.dispose();
    return acc;
  };
  for (const seed of o.seeds) {
    const { train, test } = o.train(seed);
    const say = (label: string, acc: number) => o.onProgress?.(`seed ${seed}: ${label} → ${(100 * acc).toFixed(1)} %`);
    const curriculum = async (config: DeepPartial<LrdifConfig>, skipBaseline: boolean) => {
      const stores = new Map<CurriculumRun, RunStore>();
      const c = await runCurriculum(e, {
        preset: o.preset, config, train, test, seed, options: o.options, epochs: o.epochs, warmStart: o.warmStart, skipBaseline,
        store: (run) => stores.get(run) ?? stores.set(run, new MemoryStore()).get(run)!, viewCache: o.viewCache, newModel,
      });
      return c;
    };
    const c = await curriculum(o.config ?? {}, false);
    push(table, BASELINE, done(c.baseline!));
    say(BASELINE, table.get(BASELINE)!.at(-1)!);
    push(table, STAGE1, done(c.stage1!));
    say(STAGE1, table.get(STAGE1)!.at(-1)!);
    const main = done(c.stage2);
    push(table, MAIN, main);
    push(sweep, 4, main);
    say(MAIN, main);
    const stage2 = (label: string, v: Variant) =>
      trainStage(e, {
        preset: o.preset, stage: 2, train, test, seed, store: new MemoryStore(), viewCache: o.viewCache, newModel,
        from: { bytes: c.stage1Bytes, name: `stage 1 (seed ${seed})` },
        config: { ...(o.config ?? {}), ...(v.config ?? {}), diffusion: { ...(o.config?.diffusion ?? {}), ...(v.config?.diffusion ?? {}) } },
        options: { ...o.options, seed, epochs: o.epochs.stage2, ...(v.options ?? {}) },
      }).then((r) => {
        const acc = done(r);
        say(label, acc);
        return acc;
      });
    for (const v of VARIANTS) push(table, v.name, await stage2(v.name, v));
    for (const T of o.steps.filter((t) => t !== 4)) push(sweep, T, await stage2(`T = ${T}`, { name: `T = ${T}`, config: { diffusion: { steps: T } } }));
    if (o.scratch) {
      const s = await curriculum({ ...(o.config ?? {}), backbone: FROM_SCRATCH.backbone }, true);
      done(s.stage1!);
      push(table, SCRATCH, done(s.stage2));
      say(SCRATCH, table.get(SCRATCH)!.at(-1)!);
    }
    await o.onSeed?.({ seeds: o.seeds.slice(0, o.seeds.indexOf(seed) + 1), table, sweep });
  }
  return { seeds: [...o.seeds], table, sweep };
}

/** The paired comparisons the paper's claims rest on (those whose variants were run). */
export function comparisons(r: AblateResult): Comparison[] {
  const pairs: [string, string, string][] = [
    ['LRDif stage 2 vs the baseline', MAIN, BASELINE],
    ['CE + KL vs V1 (no diffusion)', MAIN, VARIANTS[0]!.name],
    ['CE + KL vs V2 (CE only)', MAIN, VARIANTS[1]!.name],
    ['CE + KL vs V4 (insert noise)', MAIN, VARIANTS[2]!.name],
    ['pretrained backbones vs from scratch', MAIN, SCRATCH],
  ];
  return pairs.filter(([, a, b]) => r.table.has(a) && r.table.has(b)).map(([name, a, b]) => ({ name, a, b, diff: pairedInterval(r.table.get(a)!, r.table.get(b)!) }));
}

/** An accuracy's mean and interval, the interval clipped to [0, 100] % (a t-interval does not know accuracies are bounded). */
const pct = (i: Interval) => {
  const p = (x: number) => (100 * Math.min(1, Math.max(0, x))).toFixed(1);
  return Number.isNaN(i.low) ? `${(100 * i.mean).toFixed(1)} %` : `${(100 * i.mean).toFixed(1)} % [${p(i.low)}, ${p(i.high)}]`;
};

export function ablationMarkdown(r: AblateResult, header: string): string {
  const lines = [header, '', `Seeds: ${r.seeds.join(', ')} (paired: each seed's variants share its data, data order and initial weights). Intervals: 95 % Student-t over seeds.`, ''];
  lines.push('| variant | held-out accuracy, mean [95 % CI] | per seed |', '|---|---|---|');
  for (const [k, v] of r.table) lines.push(`| ${k} | ${pct(meanInterval(v))} | ${v.map((x) => (100 * x).toFixed(1)).join(', ')} |`);
  lines.push('', '| comparison (paired, a − b) | mean difference [95 % CI] | interval excludes 0 |', '|---|---|---|');
  for (const c of comparisons(r)) lines.push(`| ${c.name} | ${formatDifference(c.diff)} | ${Number.isNaN(c.diff.low) ? '—' : c.diff.low > 0 || c.diff.high < 0 ? 'yes' : 'no'} |`);
  lines.push('', '| diffusion steps T | held-out accuracy, mean [95 % CI] | per seed |', '|---|---|---|');
  for (const [t, v] of [...r.sweep].sort((a, b) => a[0] - b[0])) lines.push(`| ${t} | ${pct(meanInterval(v))} | ${v.map((x) => (100 * x).toFixed(1)).join(', ')} |`);
  return lines.join('\n');
}

/** The T sweep with 95 % interval bars. */
export function ablationSvg(r: AblateResult): string {
  const sorted = [...r.sweep].sort((a, b) => a[0] - b[0]);
  const iv = sorted.map(([t, v]) => [Math.log2(t), meanInterval(v)] as const);
  return lineChartSvg('Held-out accuracy vs diffusion steps (x = log2 T), 95 % intervals over seeds', 'log2 T', [
    { name: 'LRDif stage 2', color: '#d62728', points: iv.map(([x, i]) => [x, i.mean] as [number, number]), errors: iv.map(([, i]) => (Number.isNaN(i.low) ? 0 : i.high - i.mean)) },
  ], { yMin: 0, yMax: 1 });
}
