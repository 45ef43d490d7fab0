/**
 * What every part painter needs: the raster, the face geometry, the face parameters, and the colours
 * and shading of this face ('parts' style: flat key colours, no shading).
 */
import { scaleRgb } from './color.ts';
import { faceGeometry, type FaceGeometry } from './geometry.ts';
import { Raster, type Shade } from './raster.ts';
import type { ActionUnits } from './expressions.ts';
import type { FaceParams, IdentityParams, RenderStyle, Rgb } from './types.ts';

export interface Canvas {
  R: Raster;
  g: FaceGeometry;
  p: FaceParams;
  id: IdentityParams;
  A: ActionUnits;
  size: number;
  /** Pixels per face unit. */
  s: number;
  parts: boolean;
  /** The natural colour, or the part's key colour in the 'parts' style. */
  col: (natural: Rgb, key: Rgb) => Rgb;
  /** Unit vector towards the light. */
  L: readonly [number, number, number];
  skin: Rgb;
  darkSkin: Rgb;
  /** Lambert shading of the face ellipsoid; undefined in the 'parts' style. */
  skinShade: Shade | undefined;
  hairShade: Shade | undefined;
}

export function makeCanvas(p: FaceParams, size: number, style: RenderStyle): Canvas {
  const parts = style === 'parts';
  const g = faceGeometry(p, size);
  const { W, toFace } = g;
  const L = p.scene.light;
  const yawShift = Math.sin(p.pose.yaw);
  const faceMidY = 0.1;
  const skinShade: Shade | undefined = parts
    ? undefined
    : (px, py) => {
        const [fx, fy] = toFace(px, py);
        const nx = Math.max(-1, Math.min(1, fx / (W * 1.05) - 0.3 * yawShift));
        const ny = Math.max(-1, Math.min(1, (fy - faceMidY) / 1.5));
        const nz = Math.sqrt(Math.max(0, 1 - nx * nx - ny * ny));
        const lambert = Math.max(0, nx * L[0] + ny * L[1] + nz * L[2]);
        return p.scene.ambient + (1 - p.scene.ambient) * lambert * 1.1;
      };
  const hairShade: Shade | undefined = parts
    ? undefined
    : (px, py) => {
        const [fx, fy] = toFace(px, py);
        return 0.8 + 0.35 * Math.max(0, (-fx * L[0] - (fy + 0.6) * L[1]) * 0.5 + 0.3) + 0.06 * Math.sin(fx * 40 + fy * 7);
      };
  const skin = p.identity.skin;
  return {
    R: new Raster(size), g, p, id: p.identity, A: p.aus, size, s: g.s, parts,
    col: (natural, key) => (parts ? key : natural),
    L, skin, darkSkin: scaleRgb(skin, 0.6), skinShade, hairShade,
  };
}
