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
 * Pure TypeScript without Node/Bun APIs, so it runs in the browser too. The implementation lives in
 * synthfer/ (one module per job); this module is its public face.
 */
export { hashKey, hashUniform } from './synthfer/random.ts';
export {
  AU_NAMES, EXPRESSION_ASYMMETRY, EXPRESSION_NAMES, EXPRESSION_PROTOTYPES, EXPRESSION_VARIANTS, NUM_EXPRESSIONS, type ActionUnits, type AuName,
} from './synthfer/expressions.ts';
export {
  PART_COLORS, type FaceParams, type IdentityParams, type Pose, type RenderedFace, type RenderStyle, type Rgb, type Scene, type Split,
  type SynthFerOptions, type SynthFerSample,
} from './synthfer/types.ts';
export { identityParams } from './synthfer/identity.ts';
export { cleanLabel, sampleFaceParams } from './synthfer/params.ts';
export { renderFace } from './synthfer/render.ts';
export { SynthFerDataset, flipImageChw, flipSample, generateSample } from './synthfer/dataset.ts';
