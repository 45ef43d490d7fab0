/**
 * How much the frozen pretrained features of SynthFER-UDC hold: linear classifiers (multinomial
 * logistic regression, src/train/linear-probe.ts) fitted on the training views' features and scored
 * on the held-out views, per feature group. The README's "what the frozen features hold" numbers.
 *
 *   bun scripts/frozen-feature-probe.ts [TRAIN=490] [TEST=210] [DIFFICULTY=0.3] [PANEL=toled|poled|off] [DRAWS=1]
 *   PRESET=small bun scripts/frozen-feature-probe.ts …     # faces rendered at 112×112
 */
import { Engine } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { openData } from '../src/train/data/open.ts';
import { buildModel } from '../src/train/models-fs.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { FeatureViews, type PartName } from '../src/train/feature-cache.ts';
import { linearProbe } from '../src/train/linear-probe.ts';
const [ntr, nte, diff, panel, draws] = [Number(process.argv[2] ?? 490), Number(process.argv[3] ?? 210), Number(process.argv[4] ?? 0.3), process.argv[5] ?? 'toled', Number(process.argv[6] ?? 1)];
const preset = process.env.PRESET ?? 'tiny';
const e = await Engine.create({ log: false });
await useTuningCache(e);
const { train, test } = await openData(`synth:${ntr}:${nte}`, preset, 0, { difficulty: diff });
const model = buildModel(e, { preset, stage: 1, train, config: {} });
const batches = new BatchMaker(e, train.imageSize);
const udc = panel === 'off' ? null : { panel: panel as 'toled' | 'poled', strength: 1 };
const t0 = performance.now();
const trainViews = await FeatureViews.build(e, model, batches, train, { draws, flips: false, udc, seed: 1, batch: 32, landmarks: false });
console.log(`${trainViews.rows} training views in ${((performance.now() - t0) / 1000).toFixed(1)} s (${((performance.now() - t0) / trainViews.rows).toFixed(0)} ms/view), ${(trainViews.bytes / 1e6).toFixed(0)} MB`);
const testViews = await FeatureViews.build(e, model, batches, test, { draws: 1, flips: false, udc, seed: 2, batch: 32, landmarks: false });

/** Rows of the chosen parts, each map averaged over its positions (or kept whole with `flat`). */
function features(v: FeatureViews, names: PartName[], flat: boolean): Float32Array {
  const rows: number[][] = Array.from({ length: v.rows }, () => []);
  for (const name of names) {
    const p = v.part(name)!;
    const per = p.shape.reduce((a, b) => a * b, 1);
    for (let r = 0; r < v.rows; r++) {
      const d = p.data.subarray(r * per, (r + 1) * per);
      if (flat || p.shape.length === 1) {
        rows[r]!.push(...d);
        continue;
      }
      const channels = p.shape[0]!;
      const positions = per / channels;
      for (let c = 0; c < channels; c++) {
        let s = 0;
        for (let k = 0; k < positions; k++) s += d[c * positions + k]!;
        rows[r]!.push(s / positions);
      }
    }
  }
  return Float32Array.from(rows.flat());
}

const groups: [string, PartName[], boolean][] = [
  ['descriptor ++ pooled last stage (FPEN embedding)', ['embedding'], false],
  ['recognition maps, pooled', ['image.0', 'image.1', 'image.2'], false],
  ['landmark maps, pooled', ['landmark.0', 'landmark.1', 'landmark.2'], false],
  ['landmark level 3, whole map', ['landmark.2'], true],
  ['recognition level 3, whole map', ['image.2'], true],
  ['everything pooled', ['embedding', 'image.0', 'image.1', 'image.2', 'landmark.0', 'landmark.1', 'landmark.2'], false],
];
for (const [name, parts, flat] of groups) {
  const r = await linearProbe(e, { x: features(trainViews, parts, flat), labels: trainViews.rowLabels }, { x: features(testViews, parts, flat), labels: testViews.rowLabels }, 7);
  console.log(`${name}: held-out ${(100 * r.metrics.accuracy).toFixed(1)} %`);
}
