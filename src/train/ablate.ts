/**
 * `lrdif ablate`: the paper's Table 5 and Fig. 6 on SynthFER-UDC. Per seed: the no-EPR baseline,
 * stage 1 (starting from the baseline's UDCformer, as `lrdif run` does), then stage-2 variants from
 * that stage 1 — V1 (FPEN_S2 predicts the EPR directly, no diffusion), V2 (CE only), ours (CE + KL),
 * V4 (noise inserted in the reverse steps) — and a sweep over T. Writes a Markdown table (mean ± std over seeds), an SVG plot and the raw JSON.
 */
import type { Engine } from '../engine/engine.ts';
import type { DeepPartial, LrdifConfig } from '../model/config.ts';
import type { Dataset } from './data/dataset.ts';
import { MemoryStore, type RunStore } from './store.ts';
import { trainStage, type StageSpec } from './pipeline.ts';
import type { TrainOptions } from './trainer.ts';
import { lineChartSvg } from './report.ts';

export interface AblateOptions {
  preset: string;
  seeds: number[];
  steps: number[];
  train: (seed: number) => { train: Dataset; test: Dataset };
  options: Partial<TrainOptions>;
  /** Epochs of the baseline, stage 1 and every stage-2 variant. */
  epochs: [number, number, number];
  onProgress?: (line: string) => void;
}

interface Variant {
  name: string;
  config?: DeepPartial<LrdifConfig>;
  options?: Partial<TrainOptions>;
  T?: number;
}

export interface AblateResult {
  /** variant → accuracy per seed. */
  table: Map<string, number[]>;
  sweep: Map<number, number[]>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1)));

export async function runAblation(e: Engine, o: AblateOptions): Promise<AblateResult> {
  const table = new Map<string, number[]>();
  const sweep = new Map<number, number[]>();
  const push = (m: Map<string | number, number[]>, k: string | number, v: number) => m.set(k, [...(m.get(k) ?? []), v]);
  const variants: Variant[] = [
    { name: 'V1: no diffusion (FPEN_S2 predicts the EPR)', config: { diffusion: { mode: 'direct' } } },
    { name: 'V2: CE only', options: { klWeight: 0 } },
    { name: 'ours: CE + KL', T: 4 },
    { name: 'V4: insert noise', config: { diffusion: { insertNoise: true } } },
  ];
  for (const seed of o.seeds) {
    const { train, test } = o.train(seed);
    const base = (store: RunStore, over: Partial<StageSpec>): StageSpec => ({ preset: o.preset, stage: 1, train, test, store, seed, options: { ...o.options, seed, epochs: o.epochs[0] }, ...over });
    const stage2 = (over: Partial<StageSpec>, options: Partial<TrainOptions> = {}) => base(new MemoryStore(), { stage: 2, from, ...over, options: { ...o.options, seed, epochs: o.epochs[2], ...options } });
    const run = async (label: string, spec: StageSpec) => {
      const r = await trainStage(e, spec);
      const acc = r.final.accuracy;
      r.trainer.dispose();
      r.model.dispose();
      o.onProgress?.(`seed ${seed}: ${label} → ${(100 * acc).toFixed(1)} %`);
      return acc;
    };
    const baseStore = new MemoryStore();
    push(table as Map<string | number, number[]>, 'baseline (no EPR)', await run('baseline', base(baseStore, { config: { modulation: false } })));
    const s1store = new MemoryStore();
    const baseline = { bytes: (await baseStore.read('model.safetensors'))!, name: 'baseline' };
    push(table as Map<string | number, number[]>, 'stage 1 (sees the label)', await run('stage 1', base(s1store, { from: baseline, options: { ...o.options, seed, epochs: o.epochs[1] } })));
    const from = { bytes: (await s1store.read('model.safetensors'))!, name: 'stage 1' };
    for (const v of variants) {
      const acc = await run(v.name, stage2({ config: v.config }, v.options));
      push(table as Map<string | number, number[]>, v.name, acc);
      if (v.T) push(sweep as Map<string | number, number[]>, v.T, acc);
    }
    for (const T of o.steps.filter((t) => t !== 4)) {
      push(sweep as Map<string | number, number[]>, T, await run(`T = ${T}`, stage2({ config: { diffusion: { steps: T } } })));
    }
  }
  return { table, sweep };
}

export function ablationMarkdown(r: AblateResult, header: string): string {
  const fmt = (xs: number[]) => `${(100 * mean(xs)).toFixed(1)} ± ${(100 * std(xs)).toFixed(1)} %`;
  const lines = [header, '', '| variant | held-out accuracy (mean ± std) | seeds |', '|---|---|---|'];
  for (const [k, v] of r.table) lines.push(`| ${k} | ${fmt(v)} | ${v.length} |`);
  lines.push('', '| diffusion steps T | held-out accuracy | seeds |', '|---|---|---|');
  for (const [t, v] of [...r.sweep].sort((a, b) => a[0] - b[0])) lines.push(`| ${t} | ${fmt(v)} | ${v.length} |`);
  return lines.join('\n');
}

export function ablationSvg(r: AblateResult): string {
  const pts = [...r.sweep].sort((a, b) => a[0] - b[0]).map(([t, v]) => [Math.log2(t), mean(v)] as [number, number]);
  return lineChartSvg('Held-out accuracy vs diffusion steps (x = log2 T)', 'log2 T', [{ name: 'LRDif stage 2', color: '#d62728', points: pts }], { yMin: 0, yMax: 1 });
}
