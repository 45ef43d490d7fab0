/**
 * SynthFER: a procedural facial-expression dataset with exact 68-point landmarks.
 *
 * Every sample is a function of (seed, split, index) only: a counter-based hash RNG keys each draw,
 * so any index can be generated on its own (random access, parallel-friendly). A face is built from
 * parametric curves in a "face frame" (x right, y down, z towards the camera; the face half-width is
 * about 1), driven by identity parameters and an action-unit (AU) vector, projected with yaw, roll,
 * scale and shift into pixel space, and rasterised with anti-aliased polygon coverage. The 68
 * landmarks are points of the same curves, so they are exact.
 *
 * Images are CHW Float32Array [3, size, size], RGB in [0, 1]. Landmarks are 68 (x, y) pairs in [0, 1]
 * from the top-left corner, pixel j covering [j/size, (j+1)/size) (the iBUG/300-W order, see
 * landmarks68.ts). Labels follow the canonical order 0 surprise … 6 neutral; index mod 7 is the clean
 * label, so every run of 7 consecutive indices holds each class once.
 *
 * Pure TypeScript without Node/Bun APIs, so it runs in the browser too.
 */
import type { Dataset, Sample } from './dataset.ts';
import { flipLandmarks, LANDMARK_COUNT } from './landmarks68.ts';

// ------------------------------------------------------------------------------------------------
// Counter-based RNG
// ------------------------------------------------------------------------------------------------

/** A 32-bit integer finaliser (lowbias32, Chris Wellons): good avalanche, cheap. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes a tuple of integers into one 32-bit key. */
export function hashKey(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const k of keys) h = mix32((h ^ mix32((k | 0) + 0x632be5ab)) + 0x85ebca6b);
  return h;
}

/** Draw n of a stream keyed by `key`: uniform in [0, 1). Random access by (key, n). */
export function hashUniform(key: number, n: number): number {
  return mix32(mix32(key ^ Math.imul(n + 1, 0x9e3779b9)) + n) / 4294967296;
}

/** A stream of draws from one key; the i-th draw depends only on (key, i). */
class CounterRng {
  private n = 0;
  constructor(private readonly key: number) {}
  uniform(): number {
    return hashUniform(this.key, this.n++);
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// Stream tags, so different uses of one (seed, index) never share draws.
const TAG_IDENTITY = 0x1d;
const TAG_SAMPLE = 0x5a;
const TAG_PIXELS = 0x9c;

// ------------------------------------------------------------------------------------------------
// Expressions and action units
// ------------------------------------------------------------------------------------------------

export const EXPRESSION_NAMES = ['surprise', 'fear', 'disgust', 'happiness', 'sadness', 'anger', 'neutral'] as const;
export const NUM_EXPRESSIONS = 7;

/** Action-unit-like controls (FACS numbers in the comments). */
export const AU_NAMES = [
  'browRaise', // AU2 outer brow raiser (with some AU1)
  'browLower', // AU4 brow lowerer: brows down and together
  'innerBrowRaise', // AU1 inner brow raiser
  'eyeOpen', // AU5 upper lid raiser (negative: drooping lids)
  'lidTighten', // AU6/AU7 cheek raiser / lid tightener: lower lid up
  'noseWrinkle', // AU9/AU10 nose wrinkler / upper lip raiser
  'lipCornerPull', // AU12 lip corner puller
  'lipCornerDepress', // AU15 lip corner depressor
  'lipStretch', // AU20 lip stretcher
  'jawDrop', // AU25/26/27 lips part, jaw drop
  'lipPress', // AU23/24 lip tightener / presser
] as const;
export type AuName = (typeof AU_NAMES)[number];
export type ActionUnits = Record<AuName, number>;

function aus(partial: Partial<ActionUnits>): ActionUnits {
  const out = {} as ActionUnits;
  for (const k of AU_NAMES) out[k] = partial[k] ?? 0;
  return out;
}

/** One prototype AU vector per class, after the EMFACS descriptions of the basic emotions. */
export const EXPRESSION_PROTOTYPES: readonly ActionUnits[] = [
  aus({ browRaise: 1, innerBrowRaise: 0.9, eyeOpen: 1, jawDrop: 0.95 }), // surprise 1+2+5+26
  aus({ browRaise: 0.45, innerBrowRaise: 1, browLower: 0.55, eyeOpen: 0.9, lidTighten: 0.25, lipStretch: 1, jawDrop: 0.35 }), // fear 1+2+4+5+7+20+26
  aus({ noseWrinkle: 1, browLower: 0.55, lidTighten: 0.5, eyeOpen: -0.2, lipCornerDepress: 0.35, jawDrop: 0.08 }), // disgust 9+10+4+15
  aus({ lipCornerPull: 1, lidTighten: 0.7, eyeOpen: -0.1, jawDrop: 0.22 }), // happiness 6+12+25
  aus({ innerBrowRaise: 0.85, browLower: 0.35, eyeOpen: -0.45, lipCornerDepress: 1, lipPress: 0.25 }), // sadness 1+4+15+(17)
  aus({ browLower: 1, eyeOpen: 0.35, lidTighten: 0.75, lipPress: 0.9 }), // anger 4+5+7+23/24
  aus({}), // neutral
];

// ------------------------------------------------------------------------------------------------
// Parameters
// ------------------------------------------------------------------------------------------------

export type Split = 'train' | 'val' | 'test';
export type Rgb = readonly [number, number, number];

/** Identity ids of different splits come from disjoint ranges. */
const SPLIT_ID_BASE: Record<Split, number> = { train: 0, val: 1 << 24, test: 2 << 24 };
const SPLIT_TAG: Record<Split, number> = { train: 1, val: 2, test: 3 };

export interface SynthFerOptions {
  seed: number;
  /** Image side in pixels (default 112). */
  size?: number;
  split?: Split;
  /**
   * Ambiguity knob in [0, 1] (default 0.5): 0 = strong, clean prototype expressions and near-frontal pose;
   * 1 = many subtle (near-neutral) intensities, blends with another class, large per-AU jitter and resting
   * faces, wider pose range. Test accuracy of a linear classifier on the exact landmarks: ≈ 1.0 / 0.81 / 0.45
   * at 0 / 0.5 / 1 (scripts/synthfer-difficulty.ts).
   */
  difficulty?: number;
  /** Probability of replacing the label by a uniformly drawn other class (default 0). */
  labelNoise?: number;
  /** Number of distinct identities per split (defaults: train 4000, val 500, test 1000). */
  identities?: number;
  /** 'natural' (default) or 'parts' (flat key colours per part, no hair/lighting/noise; for checks). */
  style?: RenderStyle;
}

export type RenderStyle = 'natural' | 'parts';

/** Key colours of the 'parts' style (also used by the tests). */
export const PART_COLORS = {
  background: [0.2, 0.2, 0.6] as Rgb,
  neck: [0.35, 0.35, 0.35] as Rgb,
  ear: [0.65, 0.65, 0.65] as Rgb,
  skin: [0.5, 0.5, 0.5] as Rgb,
  sclera: [1, 1, 1] as Rgb,
  iris: [0, 0, 1] as Rgb,
  pupil: [0, 0, 0] as Rgb,
  brow: [0, 1, 0] as Rgb,
  nose: [0.3, 0.3, 0.3] as Rgb,
  lips: [1, 0, 0] as Rgb,
  mouth: [0, 0, 0] as Rgb,
  teeth: [1, 1, 1] as Rgb,
} as const;

/** Appearance and geometry of one person (face-frame units; the face half-width is `faceW`). */
export interface IdentityParams {
  faceW: number;
  jawH: number;
  jawSquare: number;
  chinNarrow: number;
  headTop: number;
  eyeX: number;
  eyeY: number;
  eyeW: number;
  eyeOpenU: number;
  eyeOpenL: number;
  eyeTilt: number;
  irisR: number;
  browGap: number;
  browIn: number;
  browLen: number;
  browArch: number;
  browThick: number;
  noseLen: number;
  noseW: number;
  mouthDrop: number;
  mouthW: number;
  lipU: number;
  lipL: number;
  skin: Rgb;
  lips: Rgb;
  iris: Rgb;
  hair: Rgb;
  brow: Rgb;
  clothes: Rgb;
  hairStyle: number; // 0 short, 1 medium, 2 long, 3 very short / receding
  hairline: number;
  hairSide: number;
  glasses: boolean;
  glassesColor: Rgb;
  /** Unit-scale "resting face" AU offsets; scaled by difficulty when a sample is drawn. */
  resting: ActionUnits;
}

export interface Pose {
  /** In-plane rotation (radians, clockwise in the image). */
  roll: number;
  /** Rotation about the vertical axis (radians); small, shows as foreshortening and feature shift. */
  yaw: number;
  /** Pixels per face unit, as a fraction of the image size. */
  scale: number;
  /** Face-frame origin in the image, as fractions of the size. */
  cx: number;
  cy: number;
  /** Gaze offset of the irises, in units of the eye half-width. */
  gazeX: number;
  gazeY: number;
}

export interface Scene {
  bgA: Rgb;
  bgB: Rgb;
  bgAngle: number;
  bgNoise: number;
  light: readonly [number, number, number];
  ambient: number;
  brightness: number;
  contrast: number;
  gradient: number;
  gradientAngle: number;
  pixelNoise: number;
}

export interface FaceParams {
  identityId: number;
  identity: IdentityParams;
  aus: ActionUnits;
  pose: Pose;
  scene: Scene;
  /** Key of the per-pixel noise stream. */
  noiseKey: number;
}

export interface SynthFerSample {
  /** CHW [3, size, size] RGB in [0, 1]. */
  image: Float32Array;
  /** 68 (x, y) pairs in [0, 1] (iBUG/300-W order). */
  landmarks: Float32Array;
  /** Training label (after label noise). */
  label: number;
  /** Label before label noise (= index mod 7). */
  trueLabel: number;
  identity: number;
  size: number;
  /** Iris centres (x, y) in [0, 1]: subject's right eye (image left), then left eye. */
  pupils: Float32Array;
  aus: ActionUnits;
}

// ------------------------------------------------------------------------------------------------
// Drawing parameters from the RNG
// ------------------------------------------------------------------------------------------------

function mixRgb(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}
function scaleRgb(a: Rgb, s: number): Rgb {
  return [a[0] * s, a[1] * s, a[2] * s];
}
function clampRgb(a: Rgb): Rgb {
  return [Math.min(1, Math.max(0, a[0])), Math.min(1, Math.max(0, a[1])), Math.min(1, Math.max(0, a[2]))];
}

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
  const resting = {} as ActionUnits;
  for (const k of AU_NAMES) resting[k] = r.normal();
  return {
    faceW: r.range(0.92, 1.08),
    jawH: r.range(1.05, 1.22),
    jawSquare: r.range(2, 2.8),
    chinNarrow: r.range(0, 0.25),
    headTop: r.range(1.25, 1.42),
    eyeX: r.range(0.36, 0.44),
    eyeY: r.range(-0.16, -0.08),
    eyeW: r.range(0.15, 0.19),
    eyeOpenU: r.range(0.085, 0.115),
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
    resting,
  };
}

function splitOf(opts: SynthFerOptions): Split {
  return opts.split ?? 'train';
}

function identityCount(split: Split, opts: SynthFerOptions): number {
  return opts.identities ?? (split === 'train' ? 4000 : split === 'val' ? 500 : 1000);
}

/** Clean label of an index: index mod 7 (exact class balance over every 7 consecutive indices). */
export function cleanLabel(index: number): number {
  return ((index % NUM_EXPRESSIONS) + NUM_EXPRESSIONS) % NUM_EXPRESSIONS;
}

/** Everything random about sample `index`: identity, expression AUs, pose, scene, and the label. */
export function sampleFaceParams(index: number, opts: SynthFerOptions): FaceParams & { label: number; trueLabel: number } {
  const split = splitOf(opts);
  const d = Math.min(1, Math.max(0, opts.difficulty ?? 0.5));
  const r = new CounterRng(hashKey(opts.seed, TAG_SAMPLE, SPLIT_TAG[split], index));
  const identityId = SPLIT_ID_BASE[split] + r.int(identityCount(split, opts));
  const identity = identityParams(opts.seed, identityId);
  const trueLabel = cleanLabel(index);

  // Expression: intensity (subtle ones make classes overlap with neutral), an occasional blend with
  // another class, per-AU jitter and the person's resting face.
  const proto = EXPRESSION_PROTOTYPES[trueLabel]!;
  const kMin = 0.55 - 0.5 * d;
  const k = kMin + (1 - kMin) * r.uniform() ** (1 + d);
  const blendWith = r.uniform() < 0.6 * d ? EXPRESSION_PROTOTYPES[r.int(NUM_EXPRESSIONS)]! : null;
  const blendAmount = r.range(0.15, 0.55);
  const jitter = 0.04 + 0.2 * d;
  const restAmp = 0.03 + 0.12 * d;
  const a = {} as ActionUnits;
  for (const name of AU_NAMES) {
    let v = k * proto[name] + jitter * r.normal() + restAmp * identity.resting[name];
    if (blendWith) v += blendAmount * blendWith[name];
    a[name] = name === 'eyeOpen' ? Math.min(1.3, Math.max(-0.8, v)) : Math.min(1.3, Math.max(0, v));
  }

  const poseAmp = 0.5 + d;
  const pose: Pose = {
    roll: Math.max(-0.3, Math.min(0.3, 0.08 * poseAmp * r.normal())),
    yaw: r.range(-0.25, 0.25) * poseAmp,
    // Framed like an aligned FER crop (RAF-DB "aligned"): the face fills the image, so expression cues
    // cover enough pixels at 64 px. (A head-and-shoulders framing at 0.315 left a 6-px mouth; a plain
    // CNN then stayed near chance for hundreds of steps.) The whole jaw contour stays inside the image:
    // no landmark left (0, 1) over 6,300 samples at difficulty 0, 0.5 and 1 (a 0.46 framing cut it off
    // in a quarter of them).
    scale: 0.38 * r.range(0.93, 1.06),
    cx: 0.5 + r.range(-0.03, 0.03),
    cy: 0.37 + r.range(-0.03, 0.03),
    gazeX: r.range(-0.25, 0.25),
    gazeY: r.range(-0.1, 0.1),
  };

  const lightAz = r.range(0, 2 * Math.PI);
  const lightEl = r.range(0.25, 0.9); // angle away from the viewing axis
  const scene: Scene = {
    bgA: [r.uniform(), r.uniform(), r.uniform()],
    bgB: [r.uniform(), r.uniform(), r.uniform()],
    bgAngle: r.range(0, 2 * Math.PI),
    bgNoise: r.range(0, 0.12),
    light: [Math.sin(lightEl) * Math.cos(lightAz), Math.sin(lightEl) * Math.sin(lightAz), Math.cos(lightEl)],
    ambient: r.range(0.5, 0.75),
    brightness: r.range(0.75, 1.15),
    contrast: r.range(0.75, 1.15),
    gradient: r.range(0, 0.35),
    gradientAngle: r.range(0, 2 * Math.PI),
    pixelNoise: r.range(0, 0.02),
  };

  const noise = opts.labelNoise ?? 0;
  if (!(noise >= 0 && noise <= 1)) throw new Error(`SynthFER: labelNoise must be in [0, 1], got ${noise}`);
  const label = r.uniform() < noise ? (trueLabel + 1 + r.int(NUM_EXPRESSIONS - 1)) % NUM_EXPRESSIONS : trueLabel;
  return { identityId, identity, aus: a, pose, scene, noiseKey: hashKey(opts.seed, TAG_PIXELS, SPLIT_TAG[split], index), label, trueLabel };
}

// ------------------------------------------------------------------------------------------------
// Rasteriser: polygon coverage with 4 sub-rows per pixel and exact horizontal coverage per sub-row
// ------------------------------------------------------------------------------------------------

interface Box {
  x0: number;
  y0: number;
  x1: number; // exclusive
  y1: number; // exclusive
}

type Shade = (px: number, py: number) => number;

const SUBROWS = 4;

class Raster {
  readonly rgb: Float32Array;
  readonly cov: Float32Array;
  readonly clip: Float32Array;
  private xs = new Float64Array(512);
  private ws = new Int8Array(512);
  private ex0 = new Float64Array(1024);
  private ey0 = new Float64Array(1024);
  private ey1 = new Float64Array(1024);
  private eslope = new Float64Array(1024);
  private edir = new Int8Array(1024);

  constructor(readonly n: number) {
    this.rgb = new Float32Array(3 * n * n);
    this.cov = new Float32Array(n * n);
    this.clip = new Float32Array(n * n);
  }

  /** Adds the coverage of the polygon (flat x,y pixel coordinates, one or more contours) to `buf`. */
  cover(contours: readonly number[][], buf: Float32Array, evenOdd = false): Box {
    const n = this.n;
    let ne = 0;
    let minY = Infinity, maxY = -Infinity, minX = Infinity, maxX = -Infinity;
    for (const c of contours) {
      const m = c.length >> 1;
      for (let i = 0; i < m; i++) {
        const xa = c[2 * i]!, ya = c[2 * i + 1]!;
        const j = i + 1 === m ? 0 : i + 1;
        const xb = c[2 * j]!, yb = c[2 * j + 1]!;
        if (xa < minX) minX = xa;
        if (xa > maxX) maxX = xa;
        if (ya < minY) minY = ya;
        if (ya > maxY) maxY = ya;
        if (ya === yb) continue;
        if (ne === this.ex0.length) this.growEdges();
        if (ya < yb) {
          this.ex0[ne] = xa; this.ey0[ne] = ya; this.ey1[ne] = yb; this.edir[ne] = 1;
        } else {
          this.ex0[ne] = xb; this.ey0[ne] = yb; this.ey1[ne] = ya; this.edir[ne] = -1;
        }
        this.eslope[ne] = (xb - xa) / (yb - ya);
        ne++;
      }
    }
    const box: Box = {
      x0: Math.max(0, Math.floor(minX)),
      x1: Math.min(n, Math.ceil(maxX) + 1),
      y0: Math.max(0, Math.floor(minY)),
      y1: Math.min(n, Math.ceil(maxY) + 1),
    };
    if (box.x0 >= box.x1 || box.y0 >= box.y1) return box;
    const { ex0, ey0, ey1, eslope, edir, xs, ws } = this;
    const w = 1 / SUBROWS;
    for (let py = box.y0; py < box.y1; py++) {
      const row = py * n;
      for (let s = 0; s < SUBROWS; s++) {
        const y = py + (s + 0.5) * w;
        let nx = 0;
        for (let e = 0; e < ne; e++) {
          if (y < ey0[e]! || y >= ey1[e]!) continue;
          const x = ex0[e]! + (y - ey0[e]!) * eslope[e]!;
          // insertion sort by x
          let k = nx++;
          while (k > 0 && xs[k - 1]! > x) {
            xs[k] = xs[k - 1]!;
            ws[k] = ws[k - 1]!;
            k--;
          }
          xs[k] = x;
          ws[k] = edir[e]!;
        }
        let wind = 0;
        for (let k = 0; k + 1 < nx; k++) {
          wind = evenOdd ? wind ^ 1 : wind + ws[k]!;
          if (wind === 0) continue;
          let xl = xs[k]!, xr = xs[k + 1]!;
          if (xl < 0) xl = 0;
          if (xr > n) xr = n;
          if (xr <= xl) continue;
          const jl = Math.floor(xl), jr = Math.floor(xr);
          if (jl === jr) {
            buf[row + jl] = buf[row + jl]! + (xr - xl) * w;
          } else {
            buf[row + jl] = buf[row + jl]! + (jl + 1 - xl) * w;
            for (let j = jl + 1; j < jr; j++) buf[row + j] = buf[row + j]! + w;
            if (jr < n) buf[row + jr] = buf[row + jr]! + (xr - jr) * w;
          }
        }
      }
    }
    return box;
  }

  private growEdges(): void {
    const grow = <T extends Float64Array | Int8Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.ex0 = grow(this.ex0);
    this.ey0 = grow(this.ey0);
    this.ey1 = grow(this.ey1);
    this.eslope = grow(this.eslope);
    this.edir = grow(this.edir);
  }

  /** Composites `color` (times `shade` at the pixel centre) with the coverage in `cov`, then clears it. */
  paint(box: Box, color: Rgb, alpha: number, shade?: Shade, clip?: Float32Array): void {
    const n = this.n, plane = n * n, cov = this.cov, rgb = this.rgb;
    for (let py = box.y0; py < box.y1; py++) {
      for (let px = box.x0; px < box.x1; px++) {
        const i = py * n + px;
        let a = cov[i]!;
        if (a <= 0) continue;
        cov[i] = 0;
        if (a > 1) a = 1;
        if (clip) a *= Math.min(1, clip[i]!);
        a *= alpha;
        if (a <= 0) continue;
        const s = shade ? shade(px + 0.5, py + 0.5) : 1;
        rgb[i] = rgb[i]! + (color[0] * s - rgb[i]!) * a;
        rgb[plane + i] = rgb[plane + i]! + (color[1] * s - rgb[plane + i]!) * a;
        rgb[2 * plane + i] = rgb[2 * plane + i]! + (color[2] * s - rgb[2 * plane + i]!) * a;
      }
    }
  }

  fill(contours: readonly number[][], color: Rgb, alpha = 1, shade?: Shade, clip?: Float32Array, evenOdd = false): void {
    this.paint(this.cover(contours, this.cov, evenOdd), color, alpha, shade, clip);
  }

  clearClip(box: Box): void {
    for (let py = box.y0; py < box.y1; py++) this.clip.fill(0, py * this.n + box.x0, py * this.n + box.x1);
  }
}

// ------------------------------------------------------------------------------------------------
// Geometry helpers
// ------------------------------------------------------------------------------------------------

/** Samples t in [0, 1] with `steps` intervals; landmark parameters are added exactly. */
function params(steps: number, exact: readonly number[] = []): number[] {
  const ts = new Set<number>();
  for (let i = 0; i <= steps; i++) ts.add(i / steps);
  for (const t of exact) ts.add(t);
  return [...ts].sort((a, b) => a - b);
}

/** A thick polyline as a polygon: offsets along the normals by halfWidth(t) on both sides. */
function strokePolygon(pts: readonly number[], halfWidth: (t: number) => number): number[] {
  const m = pts.length >> 1;
  const left: number[] = [];
  const right: number[] = [];
  for (let i = 0; i < m; i++) {
    const a = Math.max(0, i - 1), b = Math.min(m - 1, i + 1);
    let dx = pts[2 * b]! - pts[2 * a]!, dy = pts[2 * b + 1]! - pts[2 * a + 1]!;
    const len = Math.hypot(dx, dy) || 1;
    dx /= len;
    dy /= len;
    const h = halfWidth(m === 1 ? 0 : i / (m - 1));
    const x = pts[2 * i]!, y = pts[2 * i + 1]!;
    left.push(x - dy * h, y + dx * h);
    right.push(x + dy * h, y - dx * h);
  }
  const out = left;
  for (let i = m - 1; i >= 0; i--) out.push(right[2 * i]!, right[2 * i + 1]!);
  return out;
}

function ellipsePoints(cx: number, cy: number, rx: number, ry: number, steps: number, f: (x: number, y: number) => [number, number]): number[] {
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const a = (2 * Math.PI * i) / steps;
    const p = f(cx + rx * Math.cos(a), cy + ry * Math.sin(a));
    out.push(p[0], p[1]);
  }
  return out;
}

// Pixel loops live outside renderFace: JavaScript engines optimise small hot functions far better.

/** Two-colour linear gradient plus low-frequency value noise. */
function fillBackground(rgb: Float32Array, size: number, scene: Scene, noiseKey: number): void {
  const plane = size * size;
  const bgx = Math.cos(scene.bgAngle), bgy = Math.sin(scene.bgAngle);
  const G = 5; // value noise on a (G+1)² grid
  const grid = new Float64Array((G + 1) * (G + 1));
  for (let i = 0; i < grid.length; i++) grid[i] = hashUniform(noiseKey, 1_000_000 + i) - 0.5;
  const a0 = scene.bgA[0], a1 = scene.bgA[1], a2 = scene.bgA[2];
  const d0 = scene.bgB[0] - a0, d1 = scene.bgB[1] - a1, d2 = scene.bgB[2] - a2;
  const amp = 2 * scene.bgNoise;
  for (let py = 0; py < size; py++) {
    const v = (py + 0.5) / size;
    const gv = v * G;
    const iv = Math.min(G - 1, Math.floor(gv));
    const fv = gv - iv;
    for (let px = 0; px < size; px++) {
      const u = (px + 0.5) / size;
      const t = Math.min(1, Math.max(0, 0.5 + (u - 0.5) * bgx + (v - 0.5) * bgy));
      const gu = u * G;
      const iu = Math.min(G - 1, Math.floor(gu));
      const fu = gu - iu;
      const nval =
        (grid[iv * (G + 1) + iu]! * (1 - fu) + grid[iv * (G + 1) + iu + 1]! * fu) * (1 - fv) +
        (grid[(iv + 1) * (G + 1) + iu]! * (1 - fu) + grid[(iv + 1) * (G + 1) + iu + 1]! * fu) * fv;
      const i = py * size + px;
      const nn = amp * nval;
      rgb[i] = a0 + d0 * t + nn;
      rgb[plane + i] = a1 + d1 * t + nn;
      rgb[2 * plane + i] = a2 + d2 * t + nn;
    }
  }
}

/** Global brightness gradient, contrast and sensor noise; clamps to [0, 1]. */
function applyLighting(rgb: Float32Array, size: number, sc: Scene, noiseKey: number): void {
  const plane = size * size;
  const gx = Math.cos(sc.gradientAngle), gy = Math.sin(sc.gradientAngle);
  const amp = sc.pixelNoise * 2.45; // a triangular variate in [-1, 1) has variance 1/6
  let ctr = 0;
  for (let c = 0; c < 3; c++) {
    for (let py = 0; py < size; py++) {
      const fy = ((py + 0.5) / size - 0.5) * gy;
      for (let px = 0; px < size; px++) {
        const k = c * plane + py * size + px;
        const g = sc.brightness * (1 + sc.gradient * (((px + 0.5) / size - 0.5) * gx + fy));
        // Two 16-bit uniforms from one hash.
        const h = mix32(noiseKey ^ Math.imul(++ctr, 0x9e3779b9));
        const v = (rgb[k]! * g - 0.5) * sc.contrast + 0.5 + amp * (((h & 0xffff) + (h >>> 16)) / 65536 - 1);
        rgb[k] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// Face rendering
// ------------------------------------------------------------------------------------------------

export interface RenderedFace {
  image: Float32Array;
  landmarks: Float32Array;
  pupils: Float32Array;
}

/**
 * Renders a face at `size`×`size`. Geometry depends only on `p` (not on the size), so the landmarks of
 * one sample rendered at two sizes agree in normalised coordinates.
 */
export function renderFace(p: FaceParams, size: number, style: RenderStyle = 'natural'): RenderedFace {
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new Error(`SynthFER: size must be an integer in [8, 4096], got ${size}`);
  const id = p.identity;
  const A = p.aus;
  const parts = style === 'parts';
  const R = new Raster(size);
  const plane = size * size;

  // ---- projection: face frame (x, y, z) → pixels
  const W = id.faceW;
  const depth = 0.7;
  const cosY = Math.cos(p.pose.yaw), sinY = Math.sin(p.pose.yaw);
  const cosR = Math.cos(p.pose.roll), sinR = Math.sin(p.pose.roll);
  const s = p.pose.scale * size;
  const ox = p.pose.cx * size, oy = p.pose.cy * size;
  const project = (x: number, y: number, z: number): [number, number] => {
    const xr = x * cosY + z * sinY;
    return [ox + s * (xr * cosR - y * sinR), oy + s * (xr * sinR + y * cosR)];
  };
  const zSurf = (x: number): number => depth * Math.sqrt(Math.max(0, 1 - (x / W) ** 2));
  const onFace = (x: number, y: number, dz = 0): [number, number] => project(x, y, zSurf(x) + dz);
  const polyline = (ts: readonly number[], f: (t: number) => [number, number]): number[] => {
    const out: number[] = [];
    for (const t of ts) {
      const q = f(t);
      out.push(q[0], q[1]);
    }
    return out;
  };
  // Inverse of the 2-D part of the projection (for shading): pixel → face frame (x ignoring yaw).
  const toFace = (px: number, py: number): [number, number] => {
    const dx = (px - ox) / s, dy = (py - oy) / s;
    return [dx * cosR + dy * sinR, -dx * sinR + dy * cosR];
  };

  const lm = new Float64Array(2 * LANDMARK_COUNT);
  const setLm = (i: number, q: [number, number]): void => {
    lm[2 * i] = q[0];
    lm[2 * i + 1] = q[1];
  };

  // ---- geometry shared by drawing and landmarks
  const jawTop = 0;
  const jawDrop = A.jawDrop;
  const jawPoint = (t: number): [number, number, number] => {
    const th = Math.PI * t;
    const c = Math.cos(th), sn = Math.sin(th);
    const e = 2 / id.jawSquare;
    const x = -W * Math.sign(c) * Math.abs(c) ** e * (1 - id.chinNarrow * sn ** 4);
    const y = jawTop + id.jawH * Math.abs(sn) ** e + 0.25 * jawDrop * sn ** 3;
    return [x, y, depth * 0.85 * sn];
  };
  const headPoint = (phi: number, grow = 1): [number, number, number] => {
    const x = -W * grow * Math.cos(phi) * (1 - 0.05 * Math.sin(phi));
    const y = jawTop - id.headTop * grow * Math.sin(phi);
    return [x, y, 0];
  };

  // Eyes. u ∈ [-1, 1] runs left → right in the face frame; sigma = -1 image-left eye, +1 image-right.
  const openU = Math.max(0.008, id.eyeOpenU * (1 + 0.8 * A.eyeOpen) * (1 - 0.3 * A.lidTighten) * (1 - 0.12 * A.browLower));
  const openL = Math.max(0.004, id.eyeOpenL * (1 - 0.7 * A.lidTighten) * (1 + 0.2 * Math.max(0, A.eyeOpen)));
  const eyeBase = (sigma: number, u: number): number => id.eyeY - id.eyeTilt * sigma * u;
  const upperLid = (sigma: number, u: number): [number, number] => {
    const cx = sigma * id.eyeX;
    return onFace(cx + u * id.eyeW, eyeBase(sigma, u) - openU * (1 - u * u) * (1 - 0.15 * sigma * u));
  };
  const lowerLid = (sigma: number, u: number): [number, number] => {
    const cx = sigma * id.eyeX;
    return onFace(cx + u * id.eyeW, eyeBase(sigma, u) + openL * (1 - u * u) * (1 + 0.1 * sigma * u));
  };

  // Brows. t ∈ [0, 1] from the inner end to the outer end.
  const browCentre = (sigma: number, t: number): [number, number] => {
    const x = sigma * (id.browIn + t * id.browLen - 0.05 * A.browLower * (1 - t));
    const arch = id.browArch * (1 - ((t - 0.6) / 0.6) ** 2);
    const y =
      id.eyeY - id.browGap - arch
      - A.browRaise * (0.05 + 0.08 * t)
      - A.innerBrowRaise * 0.11 * (1 - t) ** 1.5
      + A.browLower * 0.075 * (1 - 0.5 * t);
    return onFace(x, y);
  };

  // Nose.
  const noseTipY = id.eyeY + id.noseLen;
  const nostrilY = noseTipY + 0.07 - 0.04 * A.noseWrinkle;
  const nW = id.noseW * (1 + 0.12 * A.noseWrinkle);
  const nosePoints: [number, number, number][] = [
    [0, id.eyeY, 0.05], [0, id.eyeY + id.noseLen / 3, 0.15], [0, id.eyeY + (2 * id.noseLen) / 3, 0.25], [0, noseTipY, 0.35],
    [-nW, nostrilY - 0.05, 0.05], [-nW * 0.5, nostrilY - 0.005, 0.15], [0, nostrilY, 0.2], [nW * 0.5, nostrilY - 0.005, 0.15], [nW, nostrilY - 0.05, 0.05],
  ];
  const nose = (i: number): [number, number] => {
    const q = nosePoints[i]!;
    return project(q[0], q[1], zSurf(q[0]) + q[2]);
  };

  // Mouth. sm ∈ [-1, 1] across the mouth (outer corners at ±1, inner corners at ±CI).
  const CI = 0.88;
  const mouthY = nostrilY + id.mouthDrop + 0.06 * A.jawDrop;
  const mW = id.mouthW * (1 + 0.2 * A.lipCornerPull + 0.22 * A.lipStretch - 0.15 * A.lipPress - 0.12 * A.jawDrop);
  const cornerDy = -0.1 * A.lipCornerPull + 0.085 * A.lipCornerDepress + 0.015 * A.lipStretch;
  const gap = 0.36 * A.jawDrop + 0.05 * A.lipCornerPull + 0.05 * A.noseWrinkle + 0.03 * A.lipStretch - 0.03 * A.lipPress;
  const gapU = Math.max(0, 0.3 * gap + 0.03 * A.noseWrinkle);
  const gapL = Math.max(0, 0.7 * gap);
  const tU = id.lipU * (1 - 0.55 * A.lipPress) * (1 - 0.25 * A.lipCornerPull) * (1 - 0.2 * A.lipStretch);
  const tL = id.lipL * (1 - 0.55 * A.lipPress) * (1 - 0.2 * A.lipCornerPull) * (1 - 0.2 * A.lipStretch) * (1 + 0.1 * A.lipCornerDepress);
  const mid = (sm: number): number => mouthY + cornerDy * sm * sm - 0.03 * A.noseWrinkle * (1 - sm * sm);
  const profile = (sm: number): number => (Math.abs(sm) >= CI ? 0 : (1 - (sm / CI) ** 2) ** (0.75 - 0.25 * Math.min(1, A.jawDrop)));
  const innerU = (sm: number): number => mid(sm) - gapU * profile(sm);
  const innerL = (sm: number): number => mid(sm) + gapL * profile(sm);
  const bow = (sm: number): number => 1 - 0.15 * Math.exp(-((sm / 0.13) ** 2)) + 0.08 * Math.exp(-(((Math.abs(sm) - 0.28) / 0.15) ** 2));
  const outerU = (sm: number): number => innerU(sm) - tU * Math.sqrt(Math.max(0, 1 - sm * sm)) * bow(sm);
  const outerL = (sm: number): number => innerL(sm) + tL * Math.max(0, 1 - sm * sm) ** 0.6;
  const mouthPt = (sm: number, y: number): [number, number] => onFace(sm * mW, y, 0.12 * (1 - sm * sm));

  // ---- landmarks
  const jawT = (k: number): number => k / 16;
  for (let k = 0; k <= 16; k++) setLm(k, project(...jawPoint(jawT(k))));
  const browT = [1, 0.75, 0.5, 0.25, 0];
  for (let k = 0; k < 5; k++) {
    setLm(17 + k, browCentre(-1, browT[k]!));
    setLm(22 + k, browCentre(1, browT[4 - k]!));
  }
  for (let k = 0; k < 9; k++) setLm(27 + k, nose(k));
  const eyeU = [-1, -1 / 3, 1 / 3, 1];
  for (const [sigma, base] of [[-1, 36], [1, 42]] as const) {
    setLm(base, upperLid(sigma, -1));
    setLm(base + 1, upperLid(sigma, eyeU[1]!));
    setLm(base + 2, upperLid(sigma, eyeU[2]!));
    setLm(base + 3, upperLid(sigma, 1));
    setLm(base + 4, lowerLid(sigma, eyeU[2]!));
    setLm(base + 5, lowerLid(sigma, eyeU[1]!));
  }
  const lipS = [-1, -0.6, -0.28, 0, 0.28, 0.6, 1];
  for (let k = 0; k < 7; k++) setLm(48 + k, mouthPt(lipS[k]!, outerU(lipS[k]!)));
  for (let k = 0; k < 5; k++) setLm(55 + k, mouthPt(lipS[5 - k]!, outerL(lipS[5 - k]!)));
  const innerS = [-CI, -0.45 * CI, 0, 0.45 * CI, CI];
  for (let k = 0; k < 5; k++) setLm(60 + k, mouthPt(innerS[k]!, innerU(innerS[k]!)));
  for (let k = 0; k < 3; k++) setLm(65 + k, mouthPt(innerS[3 - k]!, innerL(innerS[3 - k]!)));

  const irisCentre = (sigma: number): [number, number] =>
    onFace(sigma * id.eyeX + p.pose.gazeX * id.eyeW * 0.35, id.eyeY - 0.012 + p.pose.gazeY * id.eyeOpenU);
  const pupils = new Float32Array([...irisCentre(-1), ...irisCentre(1)].map((v) => v / size));

  // ---- colours and shading
  const col = (natural: Rgb, key: Rgb): Rgb => (parts ? key : natural);
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
  const skin = id.skin;

  // ---- background
  const rgb = R.rgb;
  if (parts) {
    for (let c = 0; c < 3; c++) rgb.fill(PART_COLORS.background[c]!, c * plane, (c + 1) * plane);
  } else {
    fillBackground(rgb, size, p.scene, p.noiseKey);
  }

  const toPx = (q: [number, number, number]): [number, number] => project(q[0], q[1], q[2]);
  const hairShade: Shade | undefined = parts
    ? undefined
    : (px, py) => {
        const [fx, fy] = toFace(px, py);
        return 0.8 + 0.35 * Math.max(0, (-fx * L[0] - (fy + 0.6) * L[1]) * 0.5 + 0.3) + 0.06 * Math.sin(fx * 40 + fy * 7);
      };

  // ---- back hair (long styles), clothes, neck, ears
  if (!parts && id.hairStyle === 2) {
    const back: number[] = [];
    for (const t of params(24)) back.push(...toPx(headPoint(Math.PI * t, 1.12)));
    back.push(...project(W * 1.2, 1.3, 0), ...project(-W * 1.2, 1.3, 0));
    R.fill([back], id.hair, 1, hairShade);
  }
  if (!parts) {
    const clothes = ellipsePoints(0, 2.35, 2.0, 0.95, 40, (x, y) => project(x, y, 0));
    R.fill([clothes], id.clothes, 1, (px, py) => 0.75 + 0.25 * Math.max(0, -toFace(px, py)[0] * L[0] * 0.5 + 0.6));
  }
  {
    const neck = [...project(-0.45 * W, 0.6, 0), ...project(0.45 * W, 0.6, 0), ...project(0.5 * W, 2.2, 0), ...project(-0.5 * W, 2.2, 0)];
    R.fill([neck], col(scaleRgb(skin, 0.78), PART_COLORS.neck), 1, skinShade);
  }
  for (const sigma of [-1, 1]) {
    const ear = ellipsePoints(sigma * W * 0.98, jawTop - 0.02, 0.13, 0.23, 24, (x, y) => project(x, y, 0));
    R.fill([ear], col(scaleRgb(skin, 0.9), PART_COLORS.ear), 1, skinShade);
  }

  // ---- head
  const faceOutline: number[] = [];
  for (const t of params(48, [])) faceOutline.push(...toPx(jawPoint(t)));
  for (const t of params(36)) {
    if (t === 0 || t === 1) continue;
    faceOutline.push(...toPx(headPoint(Math.PI * (1 - t))));
  }
  R.fill([faceOutline], col(skin, PART_COLORS.skin), 1, skinShade);

  const darkSkin = scaleRgb(skin, 0.6);
  const lineW = (w: number) => (_t: number) => w * s;
  if (!parts) {
    // Expression wrinkles and folds (alpha follows the AU intensity).
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

  // ---- hair cap
  if (!parts && id.hairStyle !== 3) {
    const grow = id.hairStyle === 0 ? 1.05 : 1.1;
    const cap: number[] = [];
    const phi0 = id.hairStyle === 0 ? id.hairSide + 0.15 : id.hairSide;
    for (const t of params(30)) cap.push(...toPx(headPoint(phi0 + (Math.PI - 2 * phi0) * t, grow)));
    const sideX = W * 0.97 * Math.cos(phi0);
    for (const t of params(16)) {
      const x = sideX * (1 - 2 * t);
      const y = id.hairline + 0.25 * (x / W) ** 4 - 0.04 * Math.cos(Math.PI * (x / W));
      cap.push(...onFace(x, y));
    }
    R.fill([cap], id.hair, 1, hairShade);
  } else if (!parts) {
    // Very short hair: a thin translucent cap.
    const cap: number[] = [];
    for (const t of params(30)) cap.push(...toPx(headPoint(0.5 + (Math.PI - 1) * t, 1.01)));
    for (const t of params(12)) cap.push(...onFace(W * 0.85 * (1 - 2 * t), id.hairline - 0.1));
    R.fill([cap], id.hair, 0.45, hairShade);
  }

  // ---- eyes
  const eyeTs = params(20, [1 / 3, 2 / 3]).map((t) => 2 * t - 1);
  for (const sigma of [-1, 1]) {
    const upper = polyline(eyeTs, (u) => upperLid(sigma, u));
    const lower = polyline([...eyeTs].reverse(), (u) => lowerLid(sigma, u));
    const opening = [...upper, ...lower.slice(2, -2)];
    if (!parts) {
      // Socket shadow and upper-lid crease.
      const crease = polyline(eyeTs, (u) => onFace(sigma * id.eyeX + u * id.eyeW * 1.05, eyeBase(sigma, u) - (openU + 0.045) * (1 - u * u) - 0.012));
      R.fill([strokePolygon(crease, (t) => 0.01 * s * Math.sin(Math.PI * t))], darkSkin, 0.45, skinShade);
    }
    const box = R.cover([opening], R.clip);
    R.cover([opening], R.cov);
    R.paint(box, col([0.92, 0.9, 0.87], PART_COLORS.sclera), 1, parts ? undefined : (px, py) => 0.75 + 0.25 * (skinShade ? skinShade(px, py) : 1));
    const ic = irisCentre(sigma);
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

  // ---- brows
  for (const sigma of [-1, 1]) {
    const centre = polyline(params(16, [0.25, 0.5, 0.75]), (t) => browCentre(sigma, t));
    const thick = id.browThick * s;
    R.fill([strokePolygon(centre, (t) => thick * (1.15 - 0.6 * t) * Math.min(1, 0.35 + 3 * (1 - t)))], col(id.brow, PART_COLORS.brow), parts ? 1 : 0.92);
  }

  // ---- nose
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
  {
    // Nose base through 31–35.
    const base = polyline(params(12, [0.25, 0.5, 0.75]), (t) => {
      const k = Math.min(3, Math.floor(t * 4));
      const f = t * 4 - k;
      const a = nose(4 + k), b = nose(5 + k);
      return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
    });
    R.fill([strokePolygon(base, (t) => 0.008 * s * (0.4 + Math.sin(Math.PI * t)))], col(darkSkin, PART_COLORS.nose), parts ? 1 : 0.5, skinShade);
  }

  // ---- mouth
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

  // ---- glasses
  if (!parts && id.glasses) {
    const ring = (sigma: number, grow: number): number[] => {
      const out: number[] = [];
      for (let i = 0; i < 36; i++) {
        const a = (2 * Math.PI * i) / 36;
        const c = Math.cos(a), sn = Math.sin(a);
        const x = sigma * id.eyeX + grow * 0.25 * Math.sign(c) * Math.abs(c) ** 0.6;
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
    R.fill([strokePolygon(br, lineW(0.012))], id.glassesColor, 1);
  }

  // ---- global lighting, contrast, sensor noise
  if (!parts) {
    applyLighting(rgb, size, p.scene, p.noiseKey);
  } else {
    for (let k = 0; k < rgb.length; k++) rgb[k] = Math.min(1, Math.max(0, rgb[k]!));
  }

  const landmarks = new Float32Array(2 * LANDMARK_COUNT);
  for (let i = 0; i < landmarks.length; i++) landmarks[i] = lm[i]! / size;
  return { image: rgb, landmarks, pupils };
}

// ------------------------------------------------------------------------------------------------
// Public sample API
// ------------------------------------------------------------------------------------------------

/** Sample `index` of the SynthFER split selected by `opts`; depends only on (seed, split, index). */
export function generateSample(index: number, opts: SynthFerOptions): SynthFerSample {
  if (!Number.isInteger(index) || index < 0) throw new Error(`SynthFER: index must be a non-negative integer, got ${index}`);
  const size = opts.size ?? 112;
  const p = sampleFaceParams(index, opts);
  const r = renderFace(p, size, opts.style ?? 'natural');
  return { image: r.image, landmarks: r.landmarks, label: p.label, trueLabel: p.trueLabel, identity: p.identityId, size, pupils: r.pupils, aus: p.aus };
}

/** Mirrors a CHW [3, size, size] image left ↔ right (new array). */
export function flipImageChw(image: Float32Array, size: number): Float32Array {
  if (image.length !== 3 * size * size) throw new Error(`flipImageChw: image has ${image.length} values, expected 3×${size}×${size}`);
  const out = new Float32Array(image.length);
  for (let row = 0; row < 3 * size; row++) {
    const o = row * size;
    for (let x = 0; x < size; x++) out[o + x] = image[o + size - 1 - x]!;
  }
  return out;
}

/** Horizontal flip of a sample: the image, the landmarks (with the 68-point left/right permutation) and the pupils. */
export function flipSample(sample: SynthFerSample): SynthFerSample {
  const pu = sample.pupils;
  return {
    ...sample,
    image: flipImageChw(sample.image, sample.size),
    landmarks: flipLandmarks(sample.landmarks),
    pupils: new Float32Array([1 - pu[2]!, pu[3]!, 1 - pu[0]!, pu[1]!]),
  };
}

/** A batch of consecutive samples packed as [N, 3, S, S] images, [N, 136] landmarks and labels. */
export function generateBatch(start: number, count: number, opts: SynthFerOptions): {
  images: Float32Array;
  landmarks: Float32Array;
  labels: Int32Array;
  identities: Int32Array;
} {
  const size = opts.size ?? 112;
  const per = 3 * size * size;
  const images = new Float32Array(count * per);
  const landmarks = new Float32Array(count * 2 * LANDMARK_COUNT);
  const labels = new Int32Array(count);
  const identities = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const smp = generateSample(start + i, opts);
    images.set(smp.image, i * per);
    landmarks.set(smp.landmarks, i * 2 * LANDMARK_COUNT);
    labels[i] = smp.label;
    identities[i] = smp.identity;
  }
  return { images, landmarks, labels, identities };
}

/** SynthFER as a `Dataset` of `length` samples (generated on demand, nothing cached). */
export class SynthFerDataset implements Dataset {
  readonly name: string;
  readonly imageSize: number;
  readonly numClasses = NUM_EXPRESSIONS;
  constructor(readonly length: number, readonly options: SynthFerOptions) {
    this.imageSize = options.size ?? 112;
    this.name = `synthfer-${options.split ?? 'train'}`;
  }
  get(index: number): Sample {
    if (index < 0 || index >= this.length) throw new Error(`${this.name}: index ${index} out of range (0..${this.length - 1})`);
    const smp = generateSample(index, this.options);
    return { image: smp.image, landmarks: smp.landmarks, label: smp.label };
  }
}
