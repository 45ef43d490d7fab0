/** Gaussian heatmaps of 2-D points (an input encoding; not differentiable with respect to the points). */
import type { Tensor } from '../tensor.ts';
import { fmt } from './shape-util.ts';

/**
 * points [B, K, 2] as (x, y) in [0, 1] from the top-left → [B, K, size, size], peak 1, σ in
 * heatmap pixels, pixel centres at (j + 0.5) / size.
 */
export function gaussianHeatmaps(points: Tensor, size: number, sigma = 1): Tensor {
  if (points.rank !== 3 || points.shape[2] !== 2) throw new Error(`gaussianHeatmaps: points ${fmt(points.shape)} must be [B, K, 2]`);
  if (!Number.isInteger(size) || size < 1) throw new Error(`gaussianHeatmaps: size ${size} must be a positive integer`);
  if (!(sigma > 0)) throw new Error(`gaussianHeatmaps: sigma ${sigma} must be positive`);
  if (points.requiresGrad) throw new Error('gaussianHeatmaps: points must not require grad (heatmaps are an input encoding)');
  const e = points.engine;
  const [b, k] = points.shape as [number, number, number];
  const out = e.empty([b, k, size, size]);
  const g = e.grid(out.size, 256);
  e.dispatch('heatmap', { bindings: { pts: points, out }, params: { n: out.size, stride: g.stride, size, points: k, sigma }, workgroups: g.workgroups });
  return out;
}
