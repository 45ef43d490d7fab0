/** SynthFER samples from (seed, split, index): single samples, flips, batches, and the Dataset view. */
import type { Dataset, Sample } from '../dataset.ts';
import { flipLandmarks } from '../landmarks68.ts';
import { NUM_EXPRESSIONS } from './expressions.ts';
import { sampleFaceParams } from './params.ts';
import { renderFace } from './render.ts';
import type { SynthFerOptions, SynthFerSample } from './types.ts';

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
