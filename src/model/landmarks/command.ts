/**
 * `lrdif landmarks IMAGE…`: 68 points per image from face-api's landmark network on our engine.
 * The crop (default: the whole image) is padded to a square and resized to 112×112 as face-api does;
 * points are reported in image pixels. Optionally writes an overlay PNG per image and a JSON file.
 * Wire into src/cli.ts with `program.addCommand(landmarksCommand(engine))`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import type { Engine } from '../../engine/engine.ts';
import { encodePng } from '../../train/data/png.ts';
import { FACE_LANDMARK_INPUT, FaceLandmarkNet, landmarksToPixels, prepareCrop, type ChwImage, type CropBox } from './face-landmark-net.ts';
import { loadFaceLandmarkNet } from './face-api-files.ts';

/** Decodes an image file (PNG, JPEG, WebP …; EXIF orientation applied) at its own size to CHW RGB in [0, 1]. */
export async function readImageRgb(path: string): Promise<ChwImage> {
  const { data, info } = await sharp(readFileSync(path), { autoOrient: true }).toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${path}: decoder returned ${info.channels} channels, expected 3`);
  const plane = info.width * info.height;
  const image = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) image[c * plane + i] = data[3 * i + c]! / 255;
  return { width: info.width, height: info.height, image };
}

/** "x,y,w,h" → a crop box. */
export function parseCrop(text: string): CropBox {
  const v = text.split(',').map(Number);
  if (v.length !== 4 || !v.every(Number.isInteger)) throw new Error(`--crop "${text}": expected four integers x,y,width,height`);
  return { x: v[0]!, y: v[1]!, width: v[2]!, height: v[3]! };
}

/** 68 points (interleaved x, y in image pixels) per image; crops are run through the network in batches. */
export async function detectLandmarks(net: FaceLandmarkNet, items: { image: ChwImage; crop?: CropBox }[], batch = 16): Promise<Float64Array[]> {
  const e = net.e;
  const out: Float64Array[] = [];
  const n = FACE_LANDMARK_INPUT;
  for (let s = 0; s < items.length; s += batch) {
    const chunk = items.slice(s, s + batch).map((it) => prepareCrop(it.image, it.crop));
    const input = new Float32Array(chunk.length * 3 * n * n);
    chunk.forEach((c, i) => input.set(c.input, i * 3 * n * n));
    const x = e.tensor(input, [chunk.length, 3, n, n]);
    const y = net.predict(x);
    const raw = await y.read();
    x.dispose();
    y.dispose();
    chunk.forEach((c, i) => out.push(landmarksToPixels(raw.subarray(i * 136, (i + 1) * 136), c.mapping)));
  }
  return out;
}

/** Index runs of the iBUG 68-point scheme drawn as polylines (closed ones loop back). */
const CONTOURS: [number, number, boolean][] = [
  [0, 16, false], [17, 21, false], [22, 26, false], [27, 30, false], [31, 35, false],
  [36, 41, true], [42, 47, true], [48, 59, true], [60, 67, true],
];

/**
 * The image with the 68 points and their contours drawn in green, upscaled (nearest neighbour) so
 * its longer side is at least 448 pixels. Returns PNG bytes.
 */
export function overlayPng(img: ChwImage, points: ArrayLike<number>): Uint8Array {
  const f = Math.max(1, Math.ceil(448 / Math.max(img.width, img.height)));
  const w = img.width * f;
  const h = img.height * f;
  const plane = img.width * img.height;
  const rgba = new Uint8Array(4 * w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const src = Math.floor(y / f) * img.width + Math.floor(x / f);
    for (let c = 0; c < 3; c++) rgba[4 * (y * w + x) + c] = Math.round(255 * img.image[c * plane + src]!);
    rgba[4 * (y * w + x) + 3] = 255;
  }
  const put = (x: number, y: number, r: number, g: number, b: number) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= w || yi >= h) return;
    const p = 4 * (yi * w + xi);
    rgba[p] = r;
    rgba[p + 1] = g;
    rgba[p + 2] = b;
  };
  const px = (i: number): [number, number] => [(points[2 * i]! + 0.5) * f - 0.5, (points[2 * i + 1]! + 0.5) * f - 0.5];
  for (const [a, b, closed] of CONTOURS) {
    const idx = Array.from({ length: b - a + 1 }, (_, k) => a + k);
    if (closed) idx.push(a);
    for (let k = 0; k + 1 < idx.length; k++) {
      const [x0, y0] = px(idx[k]!);
      const [x1, y1] = px(idx[k + 1]!);
      const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
      for (let t = 0; t <= steps; t++) put(x0 + ((x1 - x0) * t) / steps, y0 + ((y1 - y0) * t) / steps, 0, 200, 0);
    }
  }
  const r = Math.max(1, Math.round(f / 2));
  for (let i = 0; i < 68; i++) {
    const [x, y] = px(i);
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) put(x + dx, y + dy, 0, 255, 0);
  }
  return encodePng({ width: w, height: h, data: rgba });
}

export interface LandmarksRunOptions {
  crop?: CropBox;
  /** Folder for overlay PNGs (<name>.landmarks.png); none when unset. */
  overlayDir?: string;
  /** Writes {file: [[x, y] × 68]} here. */
  jsonPath?: string;
  /** Print JSON instead of one line per image. */
  json?: boolean;
  /** face-api's model folder (default: the installed package's). */
  modelDir?: string;
}

/** Runs the landmark network on image files; prints the points and writes the requested files. */
export async function runLandmarks(e: Engine, paths: string[], o: LandmarksRunOptions = {}): Promise<Record<string, number[][]>> {
  const net = loadFaceLandmarkNet(e, o.modelDir);
  try {
    const images = await Promise.all(paths.map(readImageRgb));
    const t0 = performance.now();
    const points = await detectLandmarks(net, images.map((image) => ({ image, crop: o.crop })));
    const ms = performance.now() - t0;
    const result: Record<string, number[][]> = {};
    paths.forEach((p, i) => {
      const pts = points[i]!;
      result[p] = Array.from({ length: 68 }, (_, k) => [+pts[2 * k]!.toFixed(2), +pts[2 * k + 1]!.toFixed(2)]);
      if (!o.json) console.log(`${p}: ${result[p].map(([x, y]) => `${x},${y}`).join(' ')}`);
      if (o.overlayDir) {
        mkdirSync(o.overlayDir, { recursive: true });
        const file = join(o.overlayDir, `${basename(p, extname(p))}.landmarks.png`);
        writeFileSync(file, overlayPng(images[i]!, pts));
      }
    });
    if (o.json) console.log(JSON.stringify(result));
    if (o.jsonPath) writeFileSync(o.jsonPath, `${JSON.stringify(result, null, 1)}\n`);
    console.error(`landmarks: ${paths.length} image(s) in ${ms.toFixed(0)} ms (${(ms / Math.max(1, paths.length)).toFixed(1)} ms per image, ${e.info.kind})`);
    return result;
  } finally {
    net.dispose();
  }
}

/** The `landmarks` subcommand for the `lrdif` program. */
export function landmarksCommand(makeEngine: () => Promise<Engine>): Command {
  return new Command('landmarks')
    .description("68 facial landmarks per image (face-api's pretrained landmark net on the engine); whole image as the crop unless --crop")
    .argument('<images...>', 'image files (PNG, JPEG, WebP …)')
    .option('--crop <x,y,w,h>', 'face box in pixels (same for every image); padded to a square like face-api')
    .option('--overlay <dir>', 'write <name>.landmarks.png with the points drawn')
    .option('--out <file>', 'write the points as JSON')
    .option('--json', 'print JSON instead of one line per image')
    .action(async (images: string[], o) => {
      const e = await makeEngine();
      await runLandmarks(e, images, { crop: o.crop ? parseCrop(o.crop) : undefined, overlayDir: o.overlay, jsonPath: o.out, json: !!o.json });
    });
}
