/** Test images of faces: the astronaut fixture and faces pasted into larger canvases. */
import { readFileSync } from 'node:fs';
import type { ChwImage } from '../src/model/landmarks/face-landmark-net.ts';
import { decodePngChw } from '../src/train/data/png.ts';
import { rng } from './helpers.ts';

/** The 112×112 astronaut fixture (8-bit values, what face-api gets too). */
export function astronautFace(): ChwImage {
  return decodePngChw(new Uint8Array(readFileSync('test/fixtures/astronaut-face.png')));
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
