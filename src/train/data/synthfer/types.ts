/** SynthFER's options and the parameter records a face is drawn from. */
import type { ActionUnits } from './expressions.ts';

export type Split = 'train' | 'val' | 'test';
export type Rgb = readonly [number, number, number];
export type RenderStyle = 'natural' | 'parts';

export interface SynthFerOptions {
  seed: number;
  /** Image side in pixels (default 112). */
  size?: number;
  split?: Split;
  /**
   * Ambiguity knob in [0, 1] (default 0.5): 0 = strong, clean prototype expressions and near-frontal pose;
   * 1 = many subtle (near-neutral) intensities, blends with another class, large per-AU jitter and resting
   * faces, wider pose range. Test accuracy of a linear classifier on the exact landmarks: ≈ 1.0 / 0.89 / 0.50
   * at 0 / 0.5 / 1 (scripts/synthfer-difficulty.ts); of face-api's expression net (trained on real photos,
   * zero-shot) on 700 test faces: 84 / 71 / 54 % at 0 / 0.3 / 0.6 (`lrdif synth --judge`).
   */
  difficulty?: number;
  /** Probability of replacing the label by a uniformly drawn other class (default 0). */
  labelNoise?: number;
  /** Number of distinct identities per split (defaults: train 4000, val 500, test 1000). */
  identities?: number;
  /** 'natural' (default) or 'parts' (flat key colours per part, no hair/lighting/noise; for checks). */
  style?: RenderStyle;
}

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
  /** Left/right intensity difference of the expression: image-right half × (1 + asymmetry), image-left half × (1 − asymmetry). */
  asymmetry: number;
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

export interface RenderedFace {
  image: Float32Array;
  landmarks: Float32Array;
  pupils: Float32Array;
}
