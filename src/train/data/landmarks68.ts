/**
 * The iBUG / 300-W 68-point landmark layout. "Right" and "left" are the subject's, so the subject's
 * right brow/eye is on the image's left. Landmarks are stored as 68 (x, y) pairs, normalised to [0, 1]
 * from the image's top-left corner (pixel j covers [j/size, (j+1)/size)).
 */

export const LANDMARK_COUNT = 68;

function range(a: number, b: number): readonly number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}

/** Index groups in the 300-W order. */
export const LANDMARK_GROUPS = {
  jaw: range(0, 17),
  rightBrow: range(17, 22),
  leftBrow: range(22, 27),
  noseBridge: range(27, 31),
  nostrils: range(31, 36),
  rightEye: range(36, 42),
  leftEye: range(42, 48),
  outerLip: range(48, 60),
  innerLip: range(60, 68),
} as const;

/** Pairs of points that swap under a horizontal flip (points on the midline map to themselves). */
const MIRROR_PAIRS: readonly (readonly [number, number])[] = [
  ...range(0, 8).map((i) => [i, 16 - i] as const), // jaw
  ...range(17, 22).map((i) => [i, 43 - i] as const), // brows 17↔26 … 21↔22
  [31, 35], [32, 34], // nostrils
  [36, 45], [37, 44], [38, 43], [39, 42], [40, 47], [41, 46], // eyes
  [48, 54], [49, 53], [50, 52], [55, 59], [56, 58], // outer lip
  [60, 64], [61, 63], [65, 67], // inner lip
];

/**
 * FLIP_PERMUTATION[i] = the point whose mirror image becomes point i after a horizontal flip.
 * It is an involution (applying it twice gives the identity).
 */
export const FLIP_PERMUTATION: readonly number[] = (() => {
  const p = range(0, LANDMARK_COUNT).slice();
  for (const [a, b] of MIRROR_PAIRS) {
    p[a] = b;
    p[b] = a;
  }
  return p;
})();

/** Mirrors normalised landmarks (68 (x, y) pairs): x → 1 − x, and left/right points swap labels. */
export function flipLandmarks(landmarks: Float32Array): Float32Array {
  if (landmarks.length !== 2 * LANDMARK_COUNT) {
    throw new Error(`flipLandmarks: expected ${2 * LANDMARK_COUNT} values (68 points), got ${landmarks.length}`);
  }
  const out = new Float32Array(landmarks.length);
  for (let i = 0; i < LANDMARK_COUNT; i++) {
    const j = FLIP_PERMUTATION[i]!;
    out[2 * i] = 1 - landmarks[2 * j]!;
    out[2 * i + 1] = landmarks[2 * j + 1]!;
  }
  return out;
}
