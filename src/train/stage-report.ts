/**
 * A trained stage's report in its run store: loss and accuracy curves, the confusion matrix, a grid
 * of held-out images with predictions, and report.md. Bun only (the image grid's PNGs are encoded
 * by pngjs); the page draws the same charts from report.ts itself.
 */
import type { Engine } from '../engine/index.ts';
import { noGradRead } from './readback.ts';
import { CLASS_NAMES, type Dataset } from './data/dataset.ts';
import type { EpochLog } from './trainer.ts';
import type { RunStore } from './store.ts';
import type { StageResult } from './pipeline.ts';
import { confusionSvg, imageGridSvg, lineChartSvg, metricsMarkdown, type GridItem } from './report.ts';
import { degradeUdc } from './data/udc.ts';
import { encodePngChw } from './data/png.ts';

/** Writes curves, confusion matrix, a sample grid and report.md for one trained stage. */
export async function writeReport(e: Engine, r: StageResult, store: RunStore, title: string, test: Dataset, prefix = ''): Promise<void> {
  const names = CLASS_NAMES.slice(0, r.model.cfg.numClasses);
  // Per logged window of steps for training, at each epoch's end for held-out: a one-epoch stage still draws a curve.
  const windows = r.history.flatMap((h) => h.steps ?? []);
  const epochEnd = (i: number) => (r.history[i]!.steps?.at(-1)?.step ?? (i + 1) * r.trainer.stepsPerEpoch);
  const heldOut = (value: (h: EpochLog) => number): [number, number][] => r.history.map((h, i) => [epochEnd(i), value(h)]);
  await store.write(
    `${prefix}curves.svg`,
    lineChartSvg(`${title}: loss`, 'step', [
      { name: 'train (per logged window)', color: '#1f77b4', points: windows.map((w) => [w.step, w.loss]) },
      { name: 'held-out (end of each epoch)', color: '#d62728', points: heldOut((h) => h.testLoss), markers: true },
    ]),
  );
  await store.write(
    `${prefix}accuracy.svg`,
    lineChartSvg(`${title}: accuracy`, 'step', [
      { name: 'train (per logged window)', color: '#1f77b4', points: windows.map((w) => [w.step, w.accuracy]) },
      { name: 'held-out (end of each epoch)', color: '#d62728', points: heldOut((h) => h.test.accuracy), markers: true },
    ], { yMin: 0, yMax: 1 }),
  );
  await store.write(`${prefix}confusion.svg`, confusionSvg(r.final, names, `${title}: confusion matrix`));
  // The model has not changed since its last epoch's held-out evaluation (same views, same seed): reuse it.
  const last = r.trainer.lastHeldOut;
  const predictions = last && test === r.trainer.testSet && last.epoch === r.trainer.epoch - 1 ? last.predictions : (await r.trainer.evaluate(test)).predictions;
  const n = Math.min(28, test.length);
  const udc = r.trainer.opts.udc;
  const items: GridItem[] = [];
  const S = test.imageSize;
  const degraded = await noGradRead(e, () => {
    const imgs = new Float32Array(n * 3 * S * S);
    for (let i = 0; i < n; i++) imgs.set(test.get(i).image, i * 3 * S * S);
    const t = e.tensor(imgs, [n, 3, S, S]);
    return udc && udc.strength > 0 ? degradeUdc(e, t, { panel: udc.panel, strength: udc.strength, seed: 99 }) : t;
  });
  for (let i = 0; i < n; i++) {
    const y = test.get(i).label;
    const p = predictions[i]!;
    items.push({ png: encodePngChw(degraded.subarray(i * 3 * S * S, (i + 1) * 3 * S * S), S, S), label: `pred ${names[p]}`, sublabel: `true ${names[y]}`, ok: p === y });
  }
  await store.write(`${prefix}samples.svg`, imageGridSvg(items, 7, Math.max(S, 64), `${title}: held-out images${udc ? ` (UDC ${udc.panel})` : ''}`));
  const md = [`## ${title}`, '', metricsMarkdown(r.final, names), '', `![loss](${prefix}curves.svg) ![accuracy](${prefix}accuracy.svg)`, '', `![confusion](${prefix}confusion.svg)`, '', `![samples](${prefix}samples.svg)`, ''].join('\n');
  await store.write(`${prefix}report.md`, md);
}
