/** `lrdif eval`'s output: a metrics table and a labelled confusion matrix as text, or one JSON object. */
import type { Metrics } from '../train/metrics.ts';

export interface ClassStats {
  class: string;
  /** Held-out images of the class (the confusion row's sum). */
  images: number;
  /** Recall = the class's accuracy; null when it has no images. */
  recall: number | null;
  /** null when nothing was predicted as the class. */
  precision: number | null;
  f1: number | null;
}

/** Per-class recall, precision and F1 from the confusion matrix (rows true, columns predicted). */
export function classStats(m: Metrics, names: readonly string[]): ClassStats[] {
  return m.confusion.map((row, c) => {
    const images = row.reduce((a, b) => a + b, 0);
    const predicted = m.confusion.reduce((a, r) => a + r[c]!, 0);
    const tp = row[c]!;
    const recall = images > 0 ? tp / images : null;
    const precision = predicted > 0 ? tp / predicted : null;
    // As computeMetrics' macro-F1: a class never predicted has precision 0 there.
    const p = precision ?? 0;
    const f1 = recall === null ? null : p + recall > 0 ? (2 * p * recall) / (p + recall) : 0;
    return { class: names[c] ?? String(c), images, recall, precision, f1 };
  });
}

const pct = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(1)} %`);

/** Right-aligned columns after a left-aligned first one. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
  const line = (r: string[]) => r.map((cell, j) => (j === 0 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Accuracy and macro-F1, then one row per class. */
export function metricsTable(m: Metrics, names: readonly string[]): string {
  const head = `accuracy ${pct(m.accuracy)}, macro-F1 ${pct(m.macroF1)} on ${m.count} images (chance ${pct(1 / names.length)})`;
  const rows = classStats(m, names).map((s) => [s.class, String(s.images), pct(s.recall), pct(s.precision), pct(s.f1)]);
  return `${head}\n\n${table(['class', 'images', 'accuracy (recall)', 'precision', 'F1'], rows)}`;
}

/** The confusion matrix with class names on rows (true) and columns (predicted). */
export function confusionTable(m: Metrics, names: readonly string[]): string {
  const rows = m.confusion.map((row, i) => [names[i] ?? String(i), ...row.map(String)]);
  return `confusion matrix (rows: true class, columns: predicted class)\n\n${table(['true \\ predicted', ...names], rows)}`;
}

/** The machine-readable form of `--json`. */
export function metricsJson(m: Metrics, names: readonly string[]): { accuracy: number; macroF1: number; images: number; perClass: ClassStats[]; confusion: { classes: string[]; rows: number[][] } } {
  return { accuracy: m.accuracy, macroF1: m.macroF1, images: m.count, perClass: classStats(m, names), confusion: { classes: [...names], rows: m.confusion } };
}
