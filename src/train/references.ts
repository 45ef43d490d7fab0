/**
 * Outside references for a trained model, on exactly the held-out views it was evaluated on:
 * (a) face-api's expression network zero-shot (a FER model trained on real photos, its classes
 * mapped to ours) and (b) a linear classifier (multinomial logistic regression) fitted on the
 * training views' frozen 128-d face descriptor. A model is judged against these, not only chance.
 */
import type { FaceExpressionNet } from '../model/landmarks/face-landmark-net.ts';
import { IMAGENET_NORMALISATION } from '../model/landmarks/normalisation.ts';
import { CLASS_NAMES } from './data/dataset.ts';
import { judgeImages } from './expression-judge.ts';
import { linearProbe } from './linear-probe.ts';
import { computeMetrics, type Metrics } from './metrics.ts';
import { metricsMarkdown } from './report.ts';
import type { Trainer } from './trainer.ts';

export interface OutsideReferences {
  expressionNet: Metrics;
  /** null when the trainer does not run on cached frozen features (no descriptor to fit on). */
  descriptorProbe: Metrics | null;
}

/** Both references on the trainer's held-out views (and, for the probe, its training views). */
export async function outsideReferences(trainer: Trainer, expressionNet: FaceExpressionNet): Promise<OutsideReferences> {
  const numClasses = trainer.model.cfg.numClasses;
  const test = await trainer.viewsOf(trainer.testSet);
  const rows = Array.from({ length: test.rows }, (_, i) => i);
  const { mean, std } = IMAGENET_NORMALISATION;
  const preds = await judgeImages(expressionNet, test.rgbImages(rows, mean, std), test.size);
  const expression = computeMetrics(test.rowLabels, preds, numClasses);
  let descriptorProbe: Metrics | null = null;
  const train = await trainer.viewsOf(trainer.trainSet);
  const descriptor = (v: typeof train) => {
    const p = v.part('embedding');
    if (!p) return null;
    const dim = p.shape[0]!;
    return Float32Array.from({ length: v.rows * 128 }, (_, k) => p.data[Math.floor(k / 128) * dim + (k % 128)]!);
  };
  const xTrain = descriptor(train);
  const xTest = descriptor(test);
  if (xTrain && xTest) descriptorProbe = (await linearProbe(trainer.model.e, { x: xTrain, labels: train.rowLabels }, { x: xTest, labels: test.rowLabels }, numClasses)).metrics;
  return { expressionNet: expression, descriptorProbe };
}

/** The references as a Markdown section. */
export function referencesMarkdown(r: OutsideReferences, numClasses: number): string {
  const names = CLASS_NAMES.slice(0, numClasses);
  const lines = [
    '### Outside references (same held-out images)',
    '',
    "**face-api's expression network, zero-shot** (trained on real photos; its 7 classes mapped to ours):",
    '',
    metricsMarkdown(r.expressionNet, names),
    '',
  ];
  if (r.descriptorProbe) lines.push('**Linear classifier on the frozen 128-d face descriptor** (multinomial logistic regression fitted on the training views):', '', metricsMarkdown(r.descriptorProbe, names), '');
  return lines.join('\n');
}
