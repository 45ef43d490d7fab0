/** Classification metrics from predictions (host side, computed once per evaluation). */
export interface Metrics {
  accuracy: number;
  perClassAccuracy: number[];
  macroF1: number;
  /** confusion[true][pred] counts. */
  confusion: number[][];
  count: number;
}

export function computeMetrics(labels: ArrayLike<number>, preds: ArrayLike<number>, numClasses: number): Metrics {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const p = preds[i]!;
    confusion[y]![p]!++;
    if (y === p) correct++;
  }
  const perClassAccuracy: number[] = [];
  let f1Sum = 0;
  let f1Count = 0;
  for (let c = 0; c < numClasses; c++) {
    const row = confusion[c]!.reduce((a, b) => a + b, 0);
    const col = confusion.reduce((a, r) => a + r[c]!, 0);
    const tp = confusion[c]![c]!;
    perClassAccuracy.push(row > 0 ? tp / row : NaN);
    if (row > 0) {
      const precision = col > 0 ? tp / col : 0;
      const recall = tp / row;
      f1Sum += precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
      f1Count++;
    }
  }
  return { accuracy: labels.length ? correct / labels.length : 0, perClassAccuracy, macroF1: f1Count ? f1Sum / f1Count : 0, confusion, count: labels.length };
}

/** Row-wise argmax of [B, K] logits. */
export function argmaxRows(logits: Float32Array, k: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / k; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (logits[r * k + j]! > logits[r * k + best]!) best = j;
    out.push(best);
  }
  return out;
}
