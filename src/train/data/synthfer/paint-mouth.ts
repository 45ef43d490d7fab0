/** Painter for the mouth: lips, the dark interior and teeth of an open mouth, the line where the lips meet. */
import type { Canvas } from './canvas.ts';
import { params, strokePolygon, type Shade } from './raster.ts';
import { PART_COLORS, type Rgb } from './types.ts';

export function paintMouth(c: Canvas): void {
  const { R, g, id, s, parts, col, skinShade } = c;
  const { polyline, toFace, CI, mouthPt, innerU, innerL, outerU, outerL, mid, gapU, gapL, upperBite, lowerBite } = g;
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
  const gapPx = (sm: number): number => (gapU(sm) + gapL(sm)) * s;
  if (Math.max(...innerTs.map(gapPx)) > 0.05) {
    const box = R.cover([innerContour], R.clip);
    R.cover([innerContour], R.cov);
    R.paint(box, col([0.22, 0.05, 0.06], PART_COLORS.mouth), 1);
    // Teeth, clipped to the opening: the upper row hangs from under the upper lip down to the bite
    // (at most 0.09 face units of it show), the lower row starts where the jaw drop puts it and shows
    // above the lower lip only when that is pulled down (AU16) or the lips part wide.
    const teethTs = innerTs.map((v) => v * 0.85);
    const edge = (sm: number): number => Math.sqrt(Math.max(0, 1 - (sm / (0.85 * CI)) ** 2));
    const upperTop = (sm: number): number => innerU(sm) - 0.01;
    const upperBottom = (sm: number): number => innerU(sm) + (Math.min(upperBite(sm), innerU(sm) + 0.09) - innerU(sm)) * (0.6 + 0.4 * edge(sm));
    const lowerBottom = (sm: number): number => innerL(sm) + 0.01;
    const lowerTop = (sm: number): number => Math.min(lowerBottom(sm), Math.max(lowerBite(sm), innerL(sm) - 0.06));
    const rows: [(sm: number) => number, (sm: number) => number, Rgb][] = [
      [upperTop, upperBottom, [0.93, 0.9, 0.84]],
      [lowerTop, lowerBottom, [0.85, 0.82, 0.75]],
    ];
    for (const [top, bottom, colour] of rows) {
      const row = [...polyline(teethTs, (sm) => mouthPt(sm, top(sm))), ...polyline([...teethTs].reverse(), (sm) => mouthPt(sm, bottom(sm)))];
      R.fill([row], col(colour, PART_COLORS.teeth), 1, undefined, R.clip);
      if (parts) continue;
      // Gaps between the front teeth.
      for (const sm of [-0.5, -0.28, -0.1, 0.1, 0.28, 0.5].map((v) => v * CI)) {
        if (bottom(sm) <= top(sm)) continue;
        R.fill([strokePolygon([...mouthPt(sm, top(sm)), ...mouthPt(sm, bottom(sm))], () => 0.005 * s)], [0.45, 0.4, 0.36], 0.35, undefined, R.clip);
      }
    }
    R.clearClip(box);
  }
  if (!parts) {
    // Lip line where the lips meet (also visible as the shadowed edges of an open mouth).
    const lineTs = params(24).map((t) => 2 * t - 1);
    const lipLine = polyline(lineTs, (sm) => mouthPt(sm, (innerU(sm) + innerL(sm)) / 2));
    R.fill([strokePolygon(lipLine, (t) => Math.max(0, (0.009 * s - 0.4 * gapPx(2 * t - 1)) * Math.sin(Math.PI * t)))], [0.18, 0.06, 0.06], 0.8);
  }
}
