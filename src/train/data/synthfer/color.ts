/** RGB helpers for SynthFER's palettes and painters. */
import type { Rgb } from './types.ts';

export function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
export function scaleRgb(a: Rgb, s: number): Rgb {
  return [a[0] * s, a[1] * s, a[2] * s];
}
export function clampRgb(a: Rgb): Rgb {
  return [Math.min(1, Math.max(0, a[0])), Math.min(1, Math.max(0, a[1])), Math.min(1, Math.max(0, a[2]))];
}
