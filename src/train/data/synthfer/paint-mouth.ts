/** Painter for the mouth: lips, the dark interior and teeth of an open mouth, the line where the lips meet. */
import type { Canvas } from './canvas.ts';
import { params, strokePolygon, type Shade } from './raster.ts';
import { PART_COLORS } from './types.ts';

export function paintMouth(c: Canvas): void {
  const { R, g, id, s, parts, col, skinShade } = c;
  const { polyline, toFace, CI, mouthPt, innerU, innerL, outerU, outerL, mid, gapU, gapL } = g;
  const lipTs = params(32, [0.2, 0.36, 0.5, 0.64, 0.8]).map((t) => 2 * t - 1);
  const innerTs = params(28, [0.5 - 0.225, 0.5, 0.5 + 0.225]).map((t) => (2 * t - 1) * CI);
  const outerContour = [
    ...polyline(lipTs, (sm) => mouthPt(sm, outerU(sm))),
    ...polyline([...lipTs].reverse().slice(1, -1), (sm) => mouthPt(sm, outerL(sm))),
  ];
  const lipShade: Shade | undefined = parts
    ? undefined
    : (px, py) => {
        const f = toFace(px, py)[1];
        return (skinShade ? skinShade(px, py) : 1) * (f < mid(0) ? 0.88 : 1.05);
      };
  R.fill([outerContour], col(id.lips, PART_COLORS.lips), 1, lipShade);
  const innerContour = [
    ...polyline(innerTs, (sm) => mouthPt(sm, innerU(sm))),
    ...polyline([...innerTs].reverse().slice(1, -1), (sm) => mouthPt(sm, innerL(sm))),
  ];
  const gapPx = (gapU + gapL) * s;
  if (gapPx > 0.05) {
    const box = R.cover([innerContour], R.clip);
    R.cover([innerContour], R.cov);
    R.paint(box, col([0.22, 0.05, 0.06], PART_COLORS.mouth), 1);
    const gapC = gapU + gapL;
    const teethU = Math.min(0.075, 0.3 * gapC);
    const teethL = Math.min(0.04, 0.15 * gapC);
    const teethTs = innerTs.map((v) => v * 0.85);
    const upperTeeth = [
      ...polyline(teethTs, (sm) => mouthPt(sm, innerU(sm) - 0.01)),
      ...polyline([...teethTs].reverse(), (sm) => mouthPt(sm, innerU(sm) + teethU * Math.sqrt(1 - (sm / CI) ** 2))),
    ];
    R.fill([upperTeeth], col([0.93, 0.9, 0.84], PART_COLORS.teeth), 1, undefined, R.clip);
    const lowerTeeth = [
      ...polyline(teethTs, (sm) => mouthPt(sm, innerL(sm) - teethL * Math.sqrt(1 - (sm / CI) ** 2))),
      ...polyline([...teethTs].reverse(), (sm) => mouthPt(sm, innerL(sm) + 0.01)),
    ];
    R.fill([lowerTeeth], col([0.85, 0.82, 0.75], PART_COLORS.teeth), 1, undefined, R.clip);
    R.clearClip(box);
  }
  if (!parts) {
    // Lip line where the lips meet (also visible as the shadowed edges of an open mouth).
    const lineTs = params(24).map((t) => 2 * t - 1);
    const lipLine = polyline(lineTs, (sm) => mouthPt(sm, (innerU(sm) + innerL(sm)) / 2));
    R.fill([strokePolygon(lipLine, (t) => Math.max(0, 0.009 * s * Math.sin(Math.PI * t) - 0.4 * gapPx * Math.sin(Math.PI * t)))], [0.18, 0.06, 0.06], 0.8);
  }
}
