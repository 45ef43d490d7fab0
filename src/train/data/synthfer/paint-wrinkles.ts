/** Expression wrinkles and folds: forehead, glabella, nose, nasolabial folds, cheeks (alpha follows the AU intensity). */
import type { Canvas } from './canvas.ts';
import { params, strokePolygon } from './raster.ts';

export function paintWrinkles(c: Canvas): void {
  if (c.parts) return;
  const { R, g, id, A, s, darkSkin, skinShade } = c;
  const { onFace, polyline, nW, nostrilY, mW, mid } = g;
  const foreheadA = Math.min(0.5, 0.35 * A.browRaise + 0.25 * A.innerBrowRaise);
  if (foreheadA > 0.02) {
    for (let k = 0; k < 3; k++) {
      const y0 = id.eyeY - id.browGap - 0.2 - 0.09 * k;
      const ln = polyline(params(12), (t) => onFace((t - 0.5) * 0.8 * (1 - 0.15 * k), y0 + 0.05 * ((t - 0.5) * 2) ** 2));
      R.fill([strokePolygon(ln, (t) => 0.011 * s * Math.sin(Math.PI * t))], darkSkin, foreheadA, skinShade);
    }
  }
  const glabellaA = Math.min(0.6, 0.5 * A.browLower);
  if (glabellaA > 0.02) {
    for (const sigma of [-1, 1]) {
      const ln = polyline(params(6), (t) => onFace(sigma * (0.045 + 0.01 * t), id.eyeY - id.browGap + 0.05 - 0.13 * t));
      R.fill([strokePolygon(ln, (t) => 0.011 * s * Math.sin(Math.PI * t))], darkSkin, glabellaA, skinShade);
    }
  }
  const noseA = Math.min(0.7, 0.6 * A.noseWrinkle);
  if (noseA > 0.02) {
    for (let k = 0; k < 3; k++) {
      const y0 = id.eyeY + 0.02 + 0.045 * k;
      const ln = polyline(params(8), (t) => onFace((t - 0.5) * 0.2, y0 - 0.02 * Math.sin(Math.PI * t), 0.2));
      R.fill([strokePolygon(ln, (t) => 0.009 * s * Math.sin(Math.PI * t))], darkSkin, noseA, skinShade);
    }
  }
  const foldA = Math.min(0.65, 0.12 + 0.45 * A.lipCornerPull + 0.3 * A.noseWrinkle + 0.15 * A.lipStretch);
  for (const sigma of [-1, 1]) {
    const x0 = sigma * (nW + 0.04), y0 = nostrilY - 0.08;
    const x1 = sigma * (mW + 0.05 + 0.03 * A.lipCornerPull), y1 = mid(1) + 0.04 + 0.03 * A.lipCornerPull;
    const ln = polyline(params(12), (t) => onFace(x0 + (x1 - x0) * t + sigma * 0.06 * Math.sin(Math.PI * t), y0 + (y1 - y0) * t));
    R.fill([strokePolygon(ln, (t) => 0.013 * s * Math.sin(Math.PI * t))], darkSkin, foldA, skinShade);
    const cheekA = 0.35 * A.lidTighten;
    if (cheekA > 0.02) {
      const ln2 = polyline(params(10), (t) => onFace(sigma * id.eyeX + (t - 0.5) * 1.5 * id.eyeW, id.eyeY + id.eyeOpenL + 0.06 - 0.02 * Math.sin(Math.PI * t)));
      R.fill([strokePolygon(ln2, (t) => 0.01 * s * Math.sin(Math.PI * t))], darkSkin, cheekA, skinShade);
    }
  }
}
