/**
 * Whole-image pixel passes: the background before the face, lighting and sensor noise after it.
 * They live outside renderFace because JavaScript engines optimise small hot functions far better.
 */
import { hashUniform, mix32 } from './random.ts';
import type { Scene } from './types.ts';

/** Two-colour linear gradient plus low-frequency value noise. */
export function fillBackground(rgb: Float32Array, size: number, scene: Scene, noiseKey: number): void {
  const plane = size * size;
  const bgx = Math.cos(scene.bgAngle), bgy = Math.sin(scene.bgAngle);
  const G = 5; // value noise on a (G+1)² grid
  const grid = new Float64Array((G + 1) * (G + 1));
  for (let i = 0; i < grid.length; i++) grid[i] = hashUniform(noiseKey, 1_000_000 + i) - 0.5;
  const a0 = scene.bgA[0], a1 = scene.bgA[1], a2 = scene.bgA[2];
  const d0 = scene.bgB[0] - a0, d1 = scene.bgB[1] - a1, d2 = scene.bgB[2] - a2;
  const amp = 2 * scene.bgNoise;
  for (let py = 0; py < size; py++) {
    const v = (py + 0.5) / size;
    const gv = v * G;
    const iv = Math.min(G - 1, Math.floor(gv));
    const fv = gv - iv;
    for (let px = 0; px < size; px++) {
      const u = (px + 0.5) / size;
      const t = Math.min(1, Math.max(0, 0.5 + (u - 0.5) * bgx + (v - 0.5) * bgy));
      const gu = u * G;
      const iu = Math.min(G - 1, Math.floor(gu));
      const fu = gu - iu;
      const nval =
        (grid[iv * (G + 1) + iu]! * (1 - fu) + grid[iv * (G + 1) + iu + 1]! * fu) * (1 - fv) +
        (grid[(iv + 1) * (G + 1) + iu]! * (1 - fu) + grid[(iv + 1) * (G + 1) + iu + 1]! * fu) * fv;
      const i = py * size + px;
      const nn = amp * nval;
      rgb[i] = a0 + d0 * t + nn;
      rgb[plane + i] = a1 + d1 * t + nn;
      rgb[2 * plane + i] = a2 + d2 * t + nn;
    }
  }
}

/** Global brightness gradient, contrast and sensor noise; clamps to [0, 1]. */
export function applyLighting(rgb: Float32Array, size: number, sc: Scene, noiseKey: number): void {
  const plane = size * size;
  const gx = Math.cos(sc.gradientAngle), gy = Math.sin(sc.gradientAngle);
  const amp = sc.pixelNoise * 2.45; // a triangular variate in [-1, 1) has variance 1/6
  let ctr = 0;
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < size; py++) {
      const fy = ((py + 0.5) / size - 0.5) * gy;
      for (let px = 0; px < size; px++) {
        const k = c * plane + py * size + px;
        const g = sc.brightness * (1 + sc.gradient * (((px + 0.5) / size - 0.5) * gx + fy));
        // Two 16-bit uniforms from one hash.
        const h = mix32(noiseKey ^ Math.imul(++ctr, 0x9e3779b9));
        const v = (rgb[k]! * g - 0.5) * sc.contrast + 0.5 + amp * (((h & 0xffff) + (h >>> 16)) / 65536 - 1);
        rgb[k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}
