/** Identity parameters: face shape, feature placement and colouring of one person. */
import { clampRgb, mixRgb, scaleRgb } from './color.ts';
import { restingFace } from './expressions.ts';
import { CounterRng, hashKey, TAG_IDENTITY } from './random.ts';
import type { IdentityParams, Rgb } from './types.ts';

const HAIR_COLORS: readonly Rgb[] = [
  [0.05, 0.04, 0.04], [0.08, 0.06, 0.05], [0.2, 0.12, 0.07], [0.36, 0.23, 0.13],
  [0.72, 0.58, 0.34], [0.52, 0.22, 0.1], [0.62, 0.6, 0.58], [0.85, 0.84, 0.8],
];
const IRIS_COLORS: readonly Rgb[] = [
  [0.3, 0.17, 0.08], [0.16, 0.1, 0.06], [0.3, 0.45, 0.65], [0.32, 0.45, 0.3], [0.42, 0.45, 0.48],
];

/** Identity parameters: a function of (seed, identity id) only. */
export function identityParams(seed: number, identityId: number): IdentityParams {
  const r = new CounterRng(hashKey(seed, TAG_IDENTITY, identityId));
  const dark: Rgb = [0.3, 0.18, 0.12];
  const light: Rgb = [0.97, 0.8, 0.69];
  const tone = 0.1 + 0.9 * r.uniform() ** 0.7;
  const skin = clampRgb(mixRgb(dark, light, tone * tone * 0.3 + tone * 0.7).map((v) => v * r.range(0.95, 1.05)) as unknown as Rgb);
  const lips = clampRgb([skin[0] * r.range(0.78, 0.92), skin[1] * r.range(0.45, 0.6), skin[2] * r.range(0.5, 0.65)]);
  const hairIdx = r.int(HAIR_COLORS.length);
  const hair = scaleRgb(HAIR_COLORS[hairIdx]!, r.range(0.85, 1.15));
  const brow = hairIdx >= 4 ? mixRgb(hair, [0.25, 0.18, 0.12], 0.5) : scaleRgb(hair, 0.9);
  return {
    faceW: r.range(0.92, 1.08),
    jawH: r.range(1.05, 1.22),
    jawSquare: r.range(2, 2.8),
    chinNarrow: r.range(0, 0.25),
    headTop: r.range(1.25, 1.42),
    eyeX: r.range(0.36, 0.44),
    eyeY: r.range(-0.16, -0.08),
    eyeW: r.range(0.15, 0.19),
    eyeOpenU: r.range(0.07, 0.095),
    eyeOpenL: r.range(0.05, 0.07),
    eyeTilt: r.range(-0.015, 0.035),
    irisR: r.range(0.075, 0.09),
    browGap: r.range(0.19, 0.25),
    browIn: r.range(0.09, 0.15),
    browLen: r.range(0.45, 0.56),
    browArch: r.range(0.03, 0.08),
    browThick: r.range(0.035, 0.055),
    noseLen: r.range(0.42, 0.54),
    noseW: r.range(0.14, 0.19),
    mouthDrop: r.range(0.22, 0.29),
    mouthW: r.range(0.3, 0.37),
    lipU: r.range(0.075, 0.105),
    lipL: r.range(0.085, 0.12),
    skin,
    lips,
    iris: scaleRgb(r.pick(IRIS_COLORS), r.range(0.85, 1.15)),
    hair,
    brow,
    clothes: [r.range(0.05, 0.9), r.range(0.05, 0.9), r.range(0.05, 0.9)],
    hairStyle: r.int(4),
    hairline: r.range(-1.02, -0.8),
    hairSide: r.range(0.12, 0.4),
    glasses: r.uniform() < 0.15,
    glassesColor: r.uniform() < 0.5 ? [0.05, 0.05, 0.06] : [0.55, 0.5, 0.45],
    resting: restingFace(seed, identityId),
  };
}
