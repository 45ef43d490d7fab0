/** Test images of faces: the astronaut fixture and faces pasted into larger canvases. */
import type { ChwImage } from '../src/model/landmarks/face-landmark-net.ts';
import { readImageChw } from '../src/train/data/images.ts';
import { rng } from './helpers.ts';

export const ASTRONAUT_FACE_PNG = 'test/fixtures/astronaut-face.png';
/** Decoded once per test file, by the decoder every image file goes through. */
const astronaut = await readImageChw(ASTRONAUT_FACE_PNG);

/** The 112×112 astronaut fixture (8-bit values, what face-api gets too); a fresh copy per call. */
export function astronautFace(): ChwImage {
  return { width: astronaut.width, height: astronaut.height, image: astronaut.image.slice() };
}

/**
 * `face` pasted at (ox, oy) into a width×height canvas: a horizontal grey ramp with seeded noise
 * (±0.03), quantised to 8 bits.
 */
export function pasteFace(face: ChwImage, width: number, height: number, ox: number, oy: number, seed: number): ChwImage {
  const r = rng(seed);
  const image = new Float32Array(3 * width * height);
  for (let c = 0; c < 3; c++) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const inside = x >= ox && y >= oy && x < ox + face.width && y < oy + face.height;
    const v = inside ? face.image[(c * face.height + y - oy) * face.width + x - ox]! : 0.3 + (0.4 * x) / width + 0.06 * (r() - 0.5);
    image[(c * height + y) * width + x] = Math.round(255 * Math.min(1, Math.max(0, v))) / 255;
  }
  return { width, height, image };
}
