/** Report charts: round ticks, per-step curves that a one-epoch stage can fill, confusion labels with room. */
import { describe, it, expect } from 'vitest';
import { confusionSvg, lineChartSvg, niceTicks } from '../src/train/report.ts';
import { computeMetrics } from '../src/train/metrics.ts';
import { heldOutLoss } from '../src/train/trainer.ts';
import { freshSeed, rng } from './helpers.ts';

describe('niceTicks', () => {
  it('covers the range with steps of 1, 2 or 5 × 10^k and labels them to that precision', () => {
    const seed = freshSeed('niceTicks');
    const r = rng(seed);
    for (let trial = 0; trial < 200; trial++) {
      const lo = (r() - 0.5) * 10 ** Math.floor(r() * 6 - 2);
      const hi = lo + r() * 10 ** Math.floor(r() * 6 - 2) + 1e-3;
      const t = niceTicks(lo, hi);
      expect(t.lo).toBeLessThanOrEqual(lo);
      expect(t.hi).toBeGreaterThanOrEqual(hi);
      const step = t.ticks[1]! - t.ticks[0]!;
      const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
      expect([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
      expect(t.ticks.length).toBeGreaterThanOrEqual(2);
      expect(t.ticks.length).toBeLessThanOrEqual(12);
      // Labels are distinct and parse back to their ticks.
      const labels = t.ticks.map(t.label);
      expect(new Set(labels).size).toBe(labels.length);
      for (const [i, v] of t.ticks.entries()) expect(Math.abs(Number(labels[i]) - v)).toBeLessThan(step * 1e-6 + 1e-12);
    }
    expect(niceTicks(0, 1.98).ticks.map(niceTicks(0, 1.98).label)).toEqual(['0.0', '0.5', '1.0', '1.5', '2.0']);
    expect(niceTicks(0, 30).ticks).toEqual([0, 10, 20, 30]);
  });
});

describe('charts', () => {
  it('a one-epoch stage draws its logged windows and a marked held-out point; tick labels are round', () => {
    const svg = lineChartSvg('loss', 'step', [
      { name: 'train', color: '#111', points: [[5, 1.93], [10, 1.81], [15, 1.62], [20, 1.55], [25, 1.49], [30, 1.47]] },
      { name: 'held-out', color: '#222', points: [[30, 1.58]], markers: true },
    ]);
    expect(svg.match(/<polyline/g)!.length).toBe(2);
    expect(svg.match(/<circle/g)!.length).toBe(1);
    const labels = [...svg.matchAll(/text-anchor="(?:end|middle)">([-\d.]+)<\/text>/g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThan(4);
    for (const l of labels) expect(l.replace(/^-?\d+\.?/, '').length).toBeLessThanOrEqual(1);
  });

  it('the confusion matrix leaves room for the longest class name and labels both axes', () => {
    const names = ['surprise', 'a-very-long-class-name-indeed'];
    const m = computeMetrics([0, 1, 1], [0, 1, 0], 2);
    const svg = confusionSvg(m, names);
    const width = Number(/width="([\d.]+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThan(names[1]!.length * 6.5 + 2 * 44);
    expect(svg).toContain('>predicted<');
    expect(svg).toContain('>true<');
    // Row labels end left of the first cell and start inside the picture.
    const rowLabelX = Number(/<text x="([\d.]+)" y="[\d.]+" text-anchor="end">a-very-long/.exec(svg)![1]);
    expect(rowLabelX - names[1]!.length * 6.5).toBeGreaterThan(0);
  });

  it('held-out loss is the mean −log p of the true class', () => {
    const p = Float32Array.from([0.5, 0.5, 0.25, 0.75]);
    expect(heldOutLoss(p, [0, 1], 2)).toBeCloseTo((Math.log(2) + Math.log(4 / 3)) / 2, 6);
  });
});
