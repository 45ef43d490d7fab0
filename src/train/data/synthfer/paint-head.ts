/** Painters for the scene behind the face and the head itself: background, hair, clothes, neck, ears, skin. */
import type { Canvas } from './canvas.ts';
import { scaleRgb } from './color.ts';
import { fillBackground } from './pixels.ts';
import { ellipsePoints, params } from './raster.ts';
import { PART_COLORS } from './types.ts';

export function paintBackground(c: Canvas): void {
  const rgb = c.R.rgb, plane = c.size * c.size;
  if (c.parts) {
    for (let k = 0; k < 3; k++) rgb.fill(PART_COLORS.background[k]!, k * plane, (k + 1) * plane);
  } else {
    fillBackground(rgb, c.size, c.p.scene, c.p.noiseKey);
  }
}

/** Long hair behind the head (hair style 2). */
export function paintBackHair(c: Canvas): void {
  const { R, g, id } = c;
  if (c.parts || id.hairStyle !== 2) return;
  const back: number[] = [];
  for (const t of params(24)) back.push(...g.toPx(g.headPoint(Math.PI * t, 1.12)));
  back.push(...g.project(g.W * 1.2, 1.3, 0), ...g.project(-g.W * 1.2, 1.3, 0));
  R.fill([back], id.hair, 1, c.hairShade);
}

/** Clothes, neck, ears and the face/head skin. */
export function paintBody(c: Canvas): void {
  const { R, g, id, L, skin, skinShade, col } = c;
  const { W, project, toFace } = g;
  if (!c.parts) {
    const clothes = ellipsePoints(0, 2.35, 2.0, 0.95, 40, (x, y) => project(x, y, 0));
    R.fill([clothes], id.clothes, 1, (px, py) => 0.75 + 0.25 * Math.max(0, -toFace(px, py)[0] * L[0] * 0.5 + 0.6));
  }
  const neck = [...project(-0.45 * W, 0.6, 0), ...project(0.45 * W, 0.6, 0), ...project(0.5 * W, 2.2, 0), ...project(-0.5 * W, 2.2, 0)];
  R.fill([neck], col(scaleRgb(skin, 0.78), PART_COLORS.neck), 1, skinShade);
  for (const sigma of [-1, 1]) {
    const ear = ellipsePoints(sigma * W * 0.98, g.jawTop - 0.02, 0.13, 0.23, 24, (x, y) => project(x, y, 0));
    R.fill([ear], col(scaleRgb(skin, 0.9), PART_COLORS.ear), 1, skinShade);
  }
  const faceOutline: number[] = [];
  for (const t of params(48, [])) faceOutline.push(...g.toPx(g.jawPoint(t)));
  for (const t of params(36)) {
    if (t === 0 || t === 1) continue;
    faceOutline.push(...g.toPx(g.headPoint(Math.PI * (1 - t))));
  }
  R.fill([faceOutline], col(skin, PART_COLORS.skin), 1, skinShade);
}

/** The hair cap over the forehead (a thin translucent one for very short hair). */
export function paintHairCap(c: Canvas): void {
  const { R, g, id } = c;
  if (c.parts) return;
  const { W, onFace } = g;
  if (id.hairStyle !== 3) {
    const grow = id.hairStyle === 0 ? 1.05 : 1.1;
    const cap: number[] = [];
    const phi0 = id.hairStyle === 0 ? id.hairSide + 0.15 : id.hairSide;
    for (const t of params(30)) cap.push(...g.toPx(g.headPoint(phi0 + (Math.PI - 2 * phi0) * t, grow)));
    const sideX = W * 0.97 * Math.cos(phi0);
    for (const t of params(16)) {
      const x = sideX * (1 - 2 * t);
      const y = id.hairline + 0.25 * (x / W) ** 4 - 0.04 * Math.cos(Math.PI * (x / W));
      cap.push(...onFace(x, y));
    }
    R.fill([cap], id.hair, 1, c.hairShade);
  } else {
    const cap: number[] = [];
    for (const t of params(30)) cap.push(...g.toPx(g.headPoint(0.5 + (Math.PI - 1) * t, 1.01)));
    for (const t of params(12)) cap.push(...onFace(W * 0.85 * (1 - 2 * t), id.hairline - 0.1));
    R.fill([cap], id.hair, 0.45, c.hairShade);
  }
}
