/**
 * Expression classes and the action units (AUs) that render them: one prototype AU vector per class,
 * and the per-sample draw of intensity, blend, jitter and resting face around it.
 */
import type { CounterRng } from './random.ts';

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

/** Unit-scale resting-face offsets of one identity (one normal draw per AU). */
export function drawRestingFace(r: CounterRng): ActionUnits {
  const resting = {} as ActionUnits;
  for (const k of AU_NAMES) resting[k] = r.normal();
  return resting;
}

/**
 * The AUs of one sample of class `label` at difficulty `d`: an intensity (subtle ones make classes
 * overlap with neutral), an occasional blend with another class, per-AU jitter and the person's
 * resting face.
 */
export function drawExpression(r: CounterRng, label: number, d: number, resting: ActionUnits): ActionUnits {
  const proto = EXPRESSION_PROTOTYPES[label]!;
  const kMin = 0.55 - 0.5 * d;
  const k = kMin + (1 - kMin) * r.uniform() ** (1 + d);
  const blendWith = r.uniform() < 0.6 * d ? EXPRESSION_PROTOTYPES[r.int(NUM_EXPRESSIONS)]! : null;
  const blendAmount = r.range(0.15, 0.55);
  const jitter = 0.04 + 0.2 * d;
  const restAmp = 0.03 + 0.12 * d;
  const a = {} as ActionUnits;
  for (const name of AU_NAMES) {
    let v = k * proto[name] + jitter * r.normal() + restAmp * resting[name];
    if (blendWith) v += blendAmount * blendWith[name];
    a[name] = name === 'eyeOpen' ? Math.min(1.3, Math.max(-0.8, v)) : Math.min(1.3, Math.max(0, v));
  }
  return a;
}
