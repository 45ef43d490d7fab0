/**
 * How do the three stages of `lrdif run` learn? Trains the baseline, stage 1 (from scratch or from the
 * baseline's UDCformer) and stage 2 on the quick run's SynthFER-UDC and prints held-out accuracy after
 * every epoch of each stage (chance 0.143). Environment:
 *   EB, E1, E2   epochs of baseline / stage 1 / stage 2 (default 3 3 3)
 *   INIT1        'baseline' = stage 1 starts from the baseline's UDCformer; 'scratch' (default)
 *   CFG          JSON config overrides for every stage; OPT2 JSON train options for stage 2
 *   TRAIN, TEST, DIFFICULTY (490, 210, 0.3)
 *   bun scripts/pipeline-probe.ts
 */
import { Engine } from '../src/engine/engine.ts';
import { tuneMatmul } from '../src/engine/ops/matmul.ts';
import { tuneConv2d } from '../src/engine/ops/conv2d.ts';
import { openData } from '../src/train/data/open.ts';
import { trainStage, type StageSpec } from '../src/train/pipeline.ts';
import { MemoryStore } from '../src/train/store.ts';

const env = (k: string, d: string) => process.env[k] ?? d;
const e = await Engine.create({ log: false });
await tuneMatmul(e);
await tuneConv2d(e);
const data = await openData(`synth:${env('TRAIN', '490')}:${env('TEST', '210')}`, 'tiny', 0, { difficulty: Number(env('DIFFICULTY', '0.3')) });
const cfg = JSON.parse(env('CFG', '{}'));
const common = { batchSize: 16, seed: 0, lr: 2e-3, lrGamma: 0.85, udc: { panel: 'toled' as const, strength: 1 }, logEvery: 1000 };
const t0 = performance.now();
const stage = async (name: string, epochs: number, spec: Partial<StageSpec>) => {
  const store = new MemoryStore();
  const accs: string[] = [];
  await trainStage(e, { preset: 'tiny', stage: 1, train: data.train, test: data.test, store, seed: 0, ...spec, config: { ...cfg, ...(spec.config ?? {}) }, options: { ...common, epochs, ...(spec.options ?? {}) }, onEpoch: (l) => accs.push(l.test.accuracy.toFixed(3)) });
  console.log(`${name} (${epochs} epochs): held-out ${accs.join(' ')}  [${((performance.now() - t0) / 1000).toFixed(0)} s]`);
  return (await store.read('model.safetensors'))!;
};
const [EB, E1, E2] = ['EB', 'E1', 'E2'].map((k) => Number(env(k, '3'))) as [number, number, number];
const base = EB > 0 ? await stage('baseline', EB, { config: { modulation: false } }) : null;
const s1 = await stage('stage 1', E1, env('INIT1', 'scratch') === 'baseline' && base ? { from: { bytes: base, name: 'baseline' } } : {});
if (E2 > 0) await stage('stage 2', E2, { stage: 2, from: { bytes: s1, name: 'stage 1' }, options: JSON.parse(env('OPT2', '{}')) });
process.exit(0);
