/**
 * Small-sample statistics for comparing training runs across seeds: Student-t confidence intervals
 * of a mean and of a paired difference (each seed gives both variants the same data and the same
 * initial weights of their shared parts, so the per-seed differences are the measurement).
 */

/** Two-sided 97.5 % quantiles of Student's t for 1–30 degrees of freedom. */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t_{0.975, df}: the table, then the Cornish–Fisher expansion around the normal quantile (error < 1e-3 beyond 30). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tQuantile975: degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface Interval {
  mean: number;
  /** Sample standard deviation (n − 1). */
  sd: number;
  n: number;
  /** 95 % confidence interval of the mean (NaN bounds when n < 2). */
  low: number;
  high: number;
}

/** Mean with a 95 % Student-t interval. */
export function meanInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  if (n === 0) throw new Error('meanInterval: no values');
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, sd: NaN, n, low: NaN, high: NaN };
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (tQuantile975(n - 1) * sd) / Math.sqrt(n);
  return { mean, sd, n, low: mean - half, high: mean + half };
}

/** Paired difference a − b (same seeds, same order) with a 95 % Student-t interval. */
export function pairedInterval(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length) throw new Error(`pairedInterval: ${a.length} values against ${b.length}; a paired comparison needs one of each per seed`);
  return meanInterval(a.map((x, i) => x - b[i]!));
}

/** "+3.1 points [+0.4, +5.8]" (accuracies in [0, 1] shown in percentage points). */
export function formatDifference(d: Interval): string {
  const f = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;
  return Number.isNaN(d.low) ? `${f(d.mean)} points (one seed: no interval)` : `${f(d.mean)} points [${f(d.low)}, ${f(d.high)}]`;
}
