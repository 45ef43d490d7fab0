/** Painter for glasses (an occluder over the eyes): tinted lenses, rims, bridge. */
import type { Canvas } from './canvas.ts';
import { params, strokePolygon } from './raster.ts';

export function paintGlasses(c: Canvas): void {
  const { R, g, id, s } = c;
  if (c.parts || !id.glasses) return;
  const { onFace, polyline } = g;
  const ring = (sigma: number, grow: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < 36; i++) {
      const a = (2 * Math.PI * i) / 36;
      const cs = Math.cos(a), sn = Math.sin(a);
      const x = sigma * id.eyeX + grow * 0.25 * Math.sign(cs) * Math.abs(cs) ** 0.6;
      const y = id.eyeY + 0.01 + grow * 0.16 * Math.sign(sn) * Math.abs(sn) ** 0.6;
      out.push(...onFace(x, y, 0.12));
    }
    return out;
  };
  for (const sigma of [-1, 1]) {
    R.fill([ring(sigma, 0.9)], [0.8, 0.85, 0.9], 0.12);
    R.fill([ring(sigma, 1), ring(sigma, 0.9)], id.glassesColor, 1, undefined, undefined, true);
  }
  const br = polyline(params(6), (t) => onFace(-id.eyeX + 0.24 + (2 * id.eyeX - 0.48) * t, id.eyeY - 0.04 - 0.02 * Math.sin(Math.PI * t), 0.2));
  R.fill([strokePolygon(br, () => 0.012 * s)], id.glassesColor, 1);
}
