/** Painters for the eyes (socket crease, sclera, iris, pupil, glint, lash lines) and the brows. */
import type { Canvas } from './canvas.ts';
import { ellipsePoints, params, strokePolygon } from './raster.ts';
import { PART_COLORS } from './types.ts';

export function paintEyes(c: Canvas): void {
  const { R, g, id, p, s, parts, col, darkSkin, skinShade } = c;
  const { onFace, polyline } = g;
  const eyeTs = params(20, [1 / 3, 2 / 3]).map((t) => 2 * t - 1);
  for (const sigma of [-1, 1]) {
    const upper = polyline(eyeTs, (u) => g.upperLid(sigma, u));
    const lower = polyline([...eyeTs].reverse(), (u) => g.lowerLid(sigma, u));
    const opening = [...upper, ...lower.slice(2, -2)];
    if (!parts) {
      // Socket shadow and upper-lid crease (hidden under a lowered brow).
      const openU = g.openU(sigma);
      const crease = polyline(eyeTs, (u) => onFace(sigma * id.eyeX + u * id.eyeW * 1.05, g.eyeBase(sigma, u) - (openU + 0.045) * (1 - u * u) - 0.012));
      R.fill([strokePolygon(crease, (t) => 0.01 * s * Math.sin(Math.PI * t))], darkSkin, 0.45 * (1 - 0.6 * Math.min(1, c.A.browLower)), skinShade);
    }
    const box = R.cover([opening], R.clip);
    R.cover([opening], R.cov);
    R.paint(box, col([0.92, 0.9, 0.87], PART_COLORS.sclera), 1, parts ? undefined : (px, py) => 0.75 + 0.25 * (skinShade ? skinShade(px, py) : 1));
    const ic = g.irisCentre(sigma);
    const irisPts = ellipsePoints(sigma * id.eyeX + p.pose.gazeX * id.eyeW * 0.35, id.eyeY - 0.012 + p.pose.gazeY * id.eyeOpenU, id.irisR, id.irisR, 28, (x, y) => onFace(x, y));
    R.fill([irisPts], col(id.iris, PART_COLORS.iris), 1, parts ? undefined : (px, py) => 0.7 + 0.5 * Math.min(1, Math.hypot(px - ic[0], py - ic[1]) / (id.irisR * s)), R.clip);
    const pupilPts = ellipsePoints(sigma * id.eyeX + p.pose.gazeX * id.eyeW * 0.35, id.eyeY - 0.012 + p.pose.gazeY * id.eyeOpenU, id.irisR * 0.42, id.irisR * 0.42, 20, (x, y) => onFace(x, y));
    R.fill([pupilPts], col([0.02, 0.02, 0.02], PART_COLORS.pupil), 1, undefined, R.clip);
    if (!parts) {
      const glint = ellipsePoints(sigma * id.eyeX + p.pose.gazeX * id.eyeW * 0.35 - 0.02, id.eyeY - 0.035, 0.012, 0.012, 10, (x, y) => onFace(x, y));
      R.fill([glint], [1, 1, 1], 0.8, undefined, R.clip);
    }
    R.clearClip(box);
    if (!parts) {
      // Lash line along the upper lid (thicker in the middle), faint line along the lower lid.
      R.fill([strokePolygon(upper, (t) => (0.006 + 0.012 * Math.sin(Math.PI * t)) * s)], [0.05, 0.04, 0.04], 0.9);
      R.fill([strokePolygon(lower, (t) => 0.006 * s * Math.sin(Math.PI * t))], darkSkin, 0.6);
    }
  }
}

export function paintBrows(c: Canvas): void {
  const { R, g, id, s, parts, col } = c;
  for (const sigma of [-1, 1]) {
    const centre = g.polyline(params(16, [0.25, 0.5, 0.75]), (t) => g.browCentre(sigma, t));
    const thick = id.browThick * s;
    // AU4 bunches the inner brow heads: thicker there.
    const bunch = 0.35 * c.A.browLower * g.q(sigma);
    R.fill([strokePolygon(centre, (t) => thick * (1.15 - 0.6 * t) * (1 + bunch * (1 - t) ** 2) * Math.min(1, 0.35 + 3 * (1 - t)))], col(id.brow, PART_COLORS.brow), parts ? 1 : 0.92);
  }
}
