/**
 * `lrdif landmarks IMAGE…`: 68 points per image from face-api's landmark network on our engine.
 * By default the largest face is found with face-api's tiny face detector and its box is the crop
 * (as face-api's detectAllFaces().withFaceLandmarks()); `--crop` gives the box instead and
 * `--no-detect` takes each whole image as the crop (already-aligned face crops). The crop is padded
 * to a square and resized to 112×112 as face-api does; points are reported in image pixels.
 * Optionally writes an overlay PNG per image and a JSON file.
 *
 * An image without a detected face is reported on stderr (and as null in JSON); the command fails
 * only when no image had a face.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { Command } from 'commander';
import type { Engine } from '../engine/index.ts';
import type { ChwImage, CropBox } from '../model/landmarks/face-landmark-net.ts';
import type { PixelBox } from '../model/landmarks/face-detector.ts';
import { loadFaceLandmarkNet, loadTinyFaceDetector } from '../model/landmarks/face-api-files.ts';
import { detectLandmarks, locateFaces, noFaceMessage } from '../model/landmarks/face-locator.ts';
import { readImageChw } from '../train/data/images.ts';
import { encodePng } from '../train/data/png.ts';

/** "x,y,w,h" → a crop box. */
export function parseCrop(text: string): CropBox {
  const v = text.split(',').map(Number);
  if (v.length !== 4 || !v.every(Number.isInteger)) throw new Error(`--crop "${text}": expected four integers x,y,width,height`);
  return { x: v[0]!, y: v[1]!, width: v[2]!, height: v[3]! };
}

/** Index runs of the iBUG 68-point scheme drawn as polylines (closed ones loop back). */
const CONTOURS: [number, number, boolean][] = [
  [0, 16, false], [17, 21, false], [22, 26, false], [27, 30, false], [31, 35, false],
  [36, 41, true], [42, 47, true], [48, 59, true], [60, 67, true],
];

/** A box outline to draw on an overlay. */
export interface OverlayBox {
  box: PixelBox;
  rgb: readonly [number, number, number];
}

/**
 * The image with the 68 points and their contours drawn in green (and any boxes outlined),
 * upscaled (nearest neighbour) so its longer side is at least 448 pixels. Returns PNG bytes.
 */
export function overlayPng(img: ChwImage, points: ArrayLike<number>, boxes: OverlayBox[] = []): Uint8Array {
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
  const put = (x: number, y: number, [r, g, b]: readonly [number, number, number]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= w || yi >= h) return;
    const p = 4 * (yi * w + xi);
    rgba[p] = r;
    rgba[p + 1] = g;
    rgba[p + 2] = b;
  };
  // Image pixel coordinates (centres at integers) → overlay pixels.
  const scaled = (x: number, y: number): [number, number] => [(x + 0.5) * f - 0.5, (y + 0.5) * f - 0.5];
  const line = ([x0, y0]: [number, number], [x1, y1]: [number, number], rgb: readonly [number, number, number]) => {
    const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0)));
    for (let t = 0; t <= steps; t++) put(x0 + ((x1 - x0) * t) / steps, y0 + ((y1 - y0) * t) / steps, rgb);
  };
  for (const { box, rgb } of boxes) {
    // Box edges lie between pixels: x … x + width covers pixels x … x + width − 1.
    const [l, t] = [box.x - 0.5, box.y - 0.5];
    const [r, b] = [box.x + box.width - 0.5, box.y + box.height - 0.5];
    const corners = [scaled(l, t), scaled(r, t), scaled(r, b), scaled(l, b)];
    corners.forEach((c, k) => line(c, corners[(k + 1) % 4]!, rgb));
  }
  const px = (i: number) => scaled(points[2 * i]!, points[2 * i + 1]!);
  for (const [a, b, closed] of CONTOURS) {
    const idx = Array.from({ length: b - a + 1 }, (_, k) => a + k);
    if (closed) idx.push(a);
    for (let k = 0; k + 1 < idx.length; k++) line(px(idx[k]!), px(idx[k + 1]!), [0, 200, 0]);
  }
  const r = Math.max(1, Math.round(f / 2));
  for (let i = 0; i < 68; i++) {
    const [x, y] = px(i);
    for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) put(x + dx, y + dy, [0, 255, 0]);
  }
  return encodePng({ width: w, height: h, data: rgba });
}

export interface LandmarksRunOptions {
  /** The face box, the same for every image (no detection). */
  crop?: CropBox;
  /** false: each whole image is the crop (already-aligned faces); default: detect the largest face. */
  detect?: boolean;
  /** Folder for overlay PNGs (<name>.landmarks.png); none when unset. */
  overlayDir?: string;
  /** Writes {file: [[x, y] × 68] or null} here. */
  jsonPath?: string;
  /** Print JSON instead of one line per image. */
  json?: boolean;
  /** face-api's model folder (default: the installed package's). */
  modelDir?: string;
}

/** Detection box (red) and aligned training-style square (blue) on overlays. */
const DETECTION_RGB = [230, 40, 40] as const;
const ALIGNED_RGB = [40, 120, 255] as const;

/**
 * Runs the landmark network on image files (after face detection unless a crop is given or
 * detection is off); prints the points and writes the requested files. Images without a face map
 * to null; throws when no image had one.
 */
export async function runLandmarks(e: Engine, paths: string[], o: LandmarksRunOptions = {}): Promise<Record<string, number[][] | null>> {
  const detect = o.detect !== false && !o.crop;
  const net = loadFaceLandmarkNet(e, o.modelDir);
  const detector = detect ? loadTinyFaceDetector(e, o.modelDir) : null;
  try {
    const images = await Promise.all(paths.map(readImageChw));
    const t0 = performance.now();
    const found: ({ points: Float64Array; boxes: OverlayBox[] } | null)[] = detector
      ? (await locateFaces(detector, net, images)).map((f) => f && {
        points: f.landmarks,
        boxes: [{ box: f.detection.box, rgb: DETECTION_RGB }, { box: f.aligned, rgb: ALIGNED_RGB }],
      })
      : (await detectLandmarks(net, images.map((image) => ({ image, crop: o.crop })))).map((points) => ({ points, boxes: [] }));
    const ms = performance.now() - t0;
    const result: Record<string, number[][] | null> = {};
    paths.forEach((p, i) => {
      const face = found[i]!;
      if (!face) {
        result[p] = null;
        console.error(noFaceMessage(p));
        return;
      }
      const pts = face.points;
      const rows = Array.from({ length: 68 }, (_, k) => [+pts[2 * k]!.toFixed(2), +pts[2 * k + 1]!.toFixed(2)]);
      result[p] = rows;
      if (!o.json) console.log(`${p}: ${rows.map(([x, y]) => `${x},${y}`).join(' ')}`);
      if (o.overlayDir) {
        mkdirSync(o.overlayDir, { recursive: true });
        writeFileSync(join(o.overlayDir, `${basename(p, extname(p))}.landmarks.png`), overlayPng(images[i]!, pts, face.boxes));
      }
    });
    if (o.json) console.log(JSON.stringify(result));
    if (o.jsonPath) writeFileSync(o.jsonPath, `${JSON.stringify(result, null, 1)}\n`);
    const what = detector ? 'face detection + landmarks' : 'landmarks';
    console.error(`landmarks: ${paths.length} image(s), ${what} in ${ms.toFixed(0)} ms (${(ms / Math.max(1, paths.length)).toFixed(1)} ms per image, ${e.info.kind})`);
    const faces = found.filter((f) => f).length;
    if (faces === 0) throw new Error(`no face found in ${paths.length === 1 ? paths[0] : `any of the ${paths.length} images`}`);
    return result;
  } finally {
    net.dispose();
    detector?.dispose();
  }
}

/** The `landmarks` subcommand for the `lrdif` program. */
export function landmarksCommand(makeEngine: () => Promise<Engine>): Command {
  return new Command('landmarks')
    .description("68 facial landmarks per image (face-api's pretrained networks on the engine): the largest face found by the tiny face detector, or the --crop box, or the whole image with --no-detect")
    .argument('<images...>', 'image files (PNG, JPEG, WebP …)')
    .option('--crop <x,y,w,h>', 'face box in pixels (same for every image; no detection); padded to a square like face-api')
    .option('--no-detect', 'no face detection: each whole image is the face crop (already-aligned faces)')
    .option('--overlay <dir>', 'write <name>.landmarks.png with the points drawn (detected box red, aligned square blue)')
    .option('--out <file>', 'write the points as JSON (null for an image without a face)')
    .option('--json', 'print JSON instead of one line per image')
    .action(async (images: string[], o) => {
      const e = await makeEngine();
      await runLandmarks(e, images, { crop: o.crop ? parseCrop(o.crop) : undefined, detect: o.detect, overlayDir: o.overlay, jsonPath: o.out, json: !!o.json });
    });
}
