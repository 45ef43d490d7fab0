/** Painter for the nose: bridge shadow, tip highlight, alae, nostrils and the base line through landmarks 31–35. */
import type { Canvas } from './canvas.ts';
import { scaleRgb } from './color.ts';
import { ellipsePoints, params, strokePolygon } from './raster.ts';
import { PART_COLORS } from './types.ts';

export function paintNose(c: Canvas): void {
  const { R, g, id, s, parts, col, L, skin, darkSkin, skinShade } = c;
  const { onFace, polyline, project, zSurf, nW, nostrilY, noseTipY } = g;
  if (!parts) {
    const side = L[0] > 0 ? -1 : 1; // the shadowed side of the bridge
    const bridge = polyline(params(10), (t) => onFace(side * (0.06 + 0.02 * t), id.eyeY + 0.06 + (id.noseLen - 0.1) * t, 0.15 + 0.15 * t));
    R.fill([strokePolygon(bridge, (t) => 0.02 * s * Math.sin(Math.PI * t))], scaleRgb(skin, 0.72), 0.5, skinShade);
    const tip = ellipsePoints(0, noseTipY - 0.02, 0.07, 0.05, 16, (x, y) => project(x, y, zSurf(x) + 0.35));
    R.fill([tip], scaleRgb(skin, 1.12), 0.35, skinShade);
    for (const sigma of [-1, 1]) {
      const ala = polyline(params(10), (t) => {
        const a = Math.PI * (0.1 + 1.05 * t);
        return onFace(sigma * (nW * 0.72 + nW * 0.35 * Math.sin(a)), nostrilY - 0.05 - 0.06 * Math.cos(a) + 0.0, 0.1);
      });
      R.fill([strokePolygon(ala, (t) => 0.012 * s * Math.sin(Math.PI * t))], darkSkin, 0.55, skinShade);
    }
  }
  for (const sigma of [-1, 1]) {
    const nostril = ellipsePoints(sigma * nW * 0.5, nostrilY - 0.03, 0.045, 0.02, 14, (x, y) => project(x, y, zSurf(x) + 0.15));
    R.fill([nostril], col([0.12, 0.06, 0.05], PART_COLORS.nose), parts ? 1 : 0.75);
  }
  const base = polyline(params(12, [0.25, 0.5, 0.75]), (t) => {
    const k = Math.min(3, Math.floor(t * 4));
    const f = t * 4 - k;
    const a = g.nose(4 + k), b = g.nose(5 + k);
    return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
  });
  R.fill([strokePolygon(base, (t) => 0.008 * s * (0.4 + Math.sin(Math.PI * t)))], col(darkSkin, PART_COLORS.nose), parts ? 1 : 0.5, skinShade);
}
