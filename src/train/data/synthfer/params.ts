/** Everything random about one sample: identity, expression AUs, pose, scene and label. */
import { drawExpression, NUM_EXPRESSIONS } from './expressions.ts';
import { identityParams } from './identity.ts';
import { CounterRng, hashKey, TAG_PIXELS, TAG_SAMPLE } from './random.ts';
import type { FaceParams, Pose, Scene, Split, SynthFerOptions } from './types.ts';

/** Identity ids of different splits come from disjoint ranges. */
const SPLIT_ID_BASE: Record<Split, number> = { train: 0, val: 1 << 24, test: 2 << 24 };
const SPLIT_TAG: Record<Split, number> = { train: 1, val: 2, test: 3 };

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
  const expression = drawExpression(opts.seed, SPLIT_TAG[split], index, trueLabel, d, identity.resting);

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
  return { identityId, identity, aus: expression.aus, asymmetry: expression.asymmetry, pose, scene, noiseKey: hashKey(opts.seed, TAG_PIXELS, SPLIT_TAG[split], index), label, trueLabel };
}
