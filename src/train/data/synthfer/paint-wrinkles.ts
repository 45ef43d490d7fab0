/**
 * What the action units do to the skin besides moving the features: wrinkles, furrows, bulges and their
 * shading (alpha follows the AU intensity, per side with the asymmetry). A FER network reads these as
 * much as the feature shapes: the glabella furrows of AU4, the nose-root wrinkles of AU9, the deepened
 * nasolabial furrows of AU10/AU12, the crow's feet and raised cheeks of AU6, the chin boss of AU17.
 * Expression creases are deep shadows (skin × 0.35) at twice their AU's weight: the judge reads the
 * nose wrinkles of darker skin only then. The smile's creases (AU6 cheeks, the nasolabial furrow) stay
 * soft (skin × 0.6, single weight): deepened, happy faces read as sad.
 */
import type { Canvas } from './canvas.ts';
import { scaleRgb } from './color.ts';
import { ellipsePoints, params, strokePolygon } from './raster.ts';
import type { Point } from './geometry.ts';

/** A crease's shadow colour relative to the skin: an expression's crease, and the smile's and resting ones. */
const DEEP_SHADE = 0.35;
const SOFT_SHADE = 0.6;
/** Weight of an expression crease's AU intensity in its opacity (the smile's: 1). */
const CREASE = 2;

/**
 * A tapered shadow line through `pts` (face-frame points on the skin), `width` face units at its
 * middle, opacity `alpha` (capped), in `shade` × the skin colour.
 */
function crease(c: Canvas, pts: (t: number) => Point, steps: number, width: number, alpha: number, shade = DEEP_SHADE): void {
  if (alpha <= 0.02) return;
  const line = c.g.polyline(params(steps), pts);
  c.R.fill([strokePolygon(line, (t) => width * c.s * Math.sin(Math.PI * t))], scaleRgb(c.skin, shade), Math.min(0.85, alpha), c.skinShade);
}

export function paintWrinkles(c: Canvas): void {
  if (c.parts) return;
  paintForehead(c);
  paintGlabellaAndBrowShadow(c);
  paintNoseWrinkles(c);
  paintCheeks(c);
  paintMouthFolds(c);
}

/** AU1: short wrinkles over the inner brows; AU2: long ones across the forehead. */
function paintForehead(c: Canvas): void {
  const { id, A, g } = c;
  const au1 = A.innerBrowRaise, au2 = A.outerBrowRaise;
  const alpha = Math.min(0.6, 0.4 * au2 + 0.35 * au1);
  if (alpha <= 0.02) return;
  const across = au2 / (au1 + au2 + 1e-6);
  for (let k = 0; k < 3; k++) {
    const y0 = id.eyeY - id.browGap - 0.2 - 0.09 * k;
    const half = (0.22 + 0.2 * across) * (1 - 0.12 * k);
    // AU1 alone bends the wrinkles up in the middle (over the raised inner brows).
    const bend = 0.05 * across - 0.04 * (1 - across);
    crease(c, (t) => g.onFace((2 * t - 1) * half, y0 + bend * (2 * t - 1) ** 2 - 0.03 * (1 - across)), 12, 0.014, CREASE * alpha * (1 - 0.15 * k));
  }
}

/** AU4 (and AU9): vertical furrows between the brows, the bunched skin there, a crease across the nose root, the brow ridge's shadow. */
function paintGlabellaAndBrowShadow(c: Canvas): void {
  const { id, A, g, R, s } = c;
  const au4 = A.browLower, au9 = A.noseWrinkle;
  const browY = id.eyeY - id.browGap;
  if (au4 > 0.03) {
    R.fill([ellipsePoints(0, browY + 0.06, 0.1, 0.07, 20, (x, y) => g.onFace(x, y, 0.03))], c.darkSkin, Math.min(0.3, 0.25 * au4), c.skinShade);
    for (const sigma of [-1, 1]) {
      const x0 = sigma * (0.035 + 0.012 * au4);
      crease(c, (t) => g.onFace(x0 + sigma * 0.012 * t, browY + 0.12 - 0.16 * t, 0.03), 8, 0.018, CREASE * 0.75 * au4 * g.q(sigma));
    }
    // The lowered brow overhangs the upper lid: a shadow band under each brow.
    for (const sigma of [-1, 1]) {
      const band = g.polyline(params(12), (t) => {
        const [bx, by] = g.browCentre(sigma, 0.85 * t);
        return [bx, by + 0.035 * s];
      });
      R.fill([strokePolygon(band, (t) => 0.03 * s * Math.sin(Math.PI * Math.min(1, 0.15 + t)))], c.darkSkin, Math.min(0.45, 0.4 * au4 * g.q(sigma)), c.skinShade);
    }
  }
  const rootA = 0.35 * Math.max(au9, au4);
  crease(c, (t) => g.onFace((2 * t - 1) * 0.075, id.eyeY - 0.03 + 0.012 * Math.sin(Math.PI * t), 0.06), 8, 0.014, CREASE * rootA);
}

/** AU9: wrinkles across the nose root and oblique "bunny lines" on its sides; the infraorbital furrow (AU9, AU6). */
function paintNoseWrinkles(c: Canvas): void {
  const { id, A, g } = c;
  const au9 = A.noseWrinkle;
  for (let k = 0; k < 3; k++) {
    const y0 = id.eyeY + 0.03 + 0.045 * k;
    crease(c, (t) => g.onFace((t - 0.5) * 0.2, y0 - 0.02 * Math.sin(Math.PI * t), 0.2), 8, 0.013, CREASE * 0.8 * au9);
  }
  for (const sigma of [-1, 1]) {
    const k = g.q(sigma);
    for (let j = 0; j < 2; j++) {
      crease(c, (t) => g.onFace(sigma * (0.07 + 0.02 * j + 0.07 * t), id.eyeY + 0.03 + 0.04 * j + 0.09 * t, 0.12), 6, 0.012, CREASE * 0.7 * au9 * k);
    }
    const under = Math.max(au9, 0.8 * A.cheekRaise) * k;
    const x0 = sigma * (id.eyeX - id.eyeW * 0.9), x1 = sigma * (id.eyeX + id.eyeW * 0.4);
    crease(c, (t) => g.onFace(x0 + (x1 - x0) * t, id.eyeY + id.eyeOpenL + 0.07 + 0.07 * t - 0.03 * Math.sin(Math.PI * t)), 10, 0.013, CREASE * 0.5 * under);
  }
}

/** AU6: raised, lit cheeks, a furrow under the lower lid, crow's feet. AU7: a tense line under the lower lid. */
function paintCheeks(c: Canvas): void {
  const { id, A, g, R } = c;
  for (const sigma of [-1, 1]) {
    const au6 = A.cheekRaise * g.q(sigma), au7 = A.lidTighten * g.q(sigma);
    if (au6 > 0.03) {
      R.fill([ellipsePoints(sigma * (id.eyeX + 0.02), id.eyeY + 0.3 - 0.04 * au6, 0.17, 0.11, 20, (x, y) => g.onFace(x, y, 0.04))], scaleRgb(c.skin, 1.12), Math.min(0.35, 0.3 * au6), c.skinShade);
    }
    crease(c, (t) => g.onFace(sigma * id.eyeX + (t - 0.5) * 1.5 * id.eyeW, id.eyeY + id.eyeOpenL + 0.05 - 0.03 * au6 - 0.02 * Math.sin(Math.PI * t)), 10, 0.012, 0.45 * au6 + 0.3 * au7, SOFT_SHADE);
    const ox = sigma * (id.eyeX + id.eyeW + 0.035);
    for (const angle of [-0.45, 0, 0.45]) {
      crease(c, (t) => g.onFace(ox + sigma * 0.09 * t * Math.cos(angle), id.eyeY + 0.01 + 0.09 * t * Math.sin(angle)), 4, 0.01, 0.5 * au6, SOFT_SHADE);
    }
  }
}

/** Nasolabial furrows (AU12, AU10, AU9, AU6, AU20), corner lines (AU15, AU20, AU23/24), the chin (AU17). */
function paintMouthFolds(c: Canvas): void {
  const { A, g } = c;
  const { nW, nostrilY, mW, mid, outerL, mouthPt } = g;
  for (const sigma of [-1, 1]) {
    const k = g.q(sigma);
    const foldA = (0.12 + 0.45 * A.lipCornerPull + 0.4 * A.upperLipRaise + 0.3 * A.noseWrinkle + 0.15 * A.cheekRaise + 0.15 * A.lipStretch) * k;
    const x0 = sigma * (nW + 0.04), y0 = nostrilY - 0.08;
    const x1 = sigma * (mW + 0.05 + 0.03 * A.lipCornerPull), y1 = mid(sigma) + 0.04 + 0.03 * A.lipCornerPull;
    const fold = (t: number): Point => g.onFace(x0 + (x1 - x0) * t + sigma * 0.06 * Math.sin(Math.PI * t), y0 + (y1 - y0) * t);
    crease(c, fold, 12, 0.016, Math.min(0.75, foldA), SOFT_SHADE);
    // AU10 deepens the furrow's upper part, beside the nostril wing.
    crease(c, (t) => fold(0.5 * t), 8, 0.02, CREASE * 0.5 * A.upperLipRaise * k);
    // Lines from the corners: down (AU15), sideways (AU20), short vertical dimples of pressed lips (AU23/24).
    const [cx, cy] = [sigma * mW, mid(sigma)];
    crease(c, (t) => g.onFace(cx + sigma * 0.03 * t, cy + 0.02 + 0.11 * t), 6, 0.013, CREASE * 0.5 * A.lipCornerDepress * k);
    crease(c, (t) => g.onFace(cx + sigma * (0.02 + 0.12 * t), cy + 0.01 * t), 6, 0.011, CREASE * 0.35 * A.lipStretch * k);
    crease(c, (t) => g.onFace(cx + sigma * 0.02, cy - 0.04 + 0.08 * t), 4, 0.012, CREASE * 0.45 * A.lipPress * k);
  }
  const bulge = 0.35 * A.lipPress + 0.45 * A.chinRaise;
  // The mentolabial furrow under the lower lip deepens as the lips press (AU23/24) and AU17 pushes the
  // lower lip up; AU17 also dimples the chin boss.
  crease(c, (t) => mouthPt(1.2 * t - 0.6, outerL(1.2 * t - 0.6) + 0.045), 10, 0.018, CREASE * Math.min(0.6, bulge));
  if (A.chinRaise > 0.05) {
    const chinY = outerL(0) + 0.16;
    for (const [dx, dy] of [[-0.08, 0], [0, -0.02], [0.08, 0], [-0.04, 0.05], [0.04, 0.05]] as const) {
      c.R.fill([ellipsePoints(dx, chinY + dy, 0.022, 0.016, 10, (x, y) => g.onFace(x, y, 0.1))], c.darkSkin, Math.min(0.35, 0.3 * A.chinRaise), c.skinShade);
    }
  }
}
