/**
 * face-api's 68-point landmark network on our engine: the tfjs weights reader (against hand-built
 * manifests and against tfjs's own decoder), agreement of the 136 outputs with @vladmandic/face-api
 * itself (its bundled tfjs CPU backend, weights from node_modules, no network) on a public-domain
 * photo crop and SynthFER faces, the crop/decoding path of the CLI, and the DIL backbone adapter.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeTfjsWeights, parseWeightsManifest, type TfjsWeightsGroup } from '../src/model/landmarks/tfjs-weights.ts';
import { faceApiModelDir, loadFaceLandmarkNet, loadTfjsWeights } from '../src/model/landmarks/face-api-files.ts';
import {
  FACE_LANDMARK_MANIFEST, FaceLandmarkNet, landmarksOfSquareImages, landmarksToPixels, prepareCrop, type ChwImage,
} from '../src/model/landmarks/face-landmark-net.ts';
import { overlayPng } from '../src/cli/landmarks.ts';
import { makeConfig } from '../src/model/config.ts';
import { Rng } from '../src/model/init.ts';
import { generateSample } from '../src/train/data/synthfer.ts';
import { decodeImage, readImageFileRgb } from '../src/train/data/images.ts';
import { backward } from '../src/engine/autograd.ts';
import { sumAll } from '../src/engine/ops/reduce.ts';
import type { Engine } from '../src/engine/engine.ts';
import { referenceNet } from './face-api-reference.ts';
import { ASTRONAUT_FACE_PNG, astronautFace } from './face-images.ts';
import { expectClose, freshSeed, getEngine, read, relErr, rng } from './helpers.ts';

// ------------------------------------------------------------------ the reference: face-api itself

/* eslint-disable @typescript-eslint/no-explicit-any */
let reference: Promise<{ faceapi: any; tf: any; net: any }> | null = null;
/* eslint-enable @typescript-eslint/no-explicit-any */

function faceApi() {
  reference ??= referenceNet('FaceLandmark68Net', FACE_LANDMARK_MANIFEST);
  return reference;
}

/** face-api's landmark output for an 8-bit HWC RGB image: relative coords (x / width, y / height), interleaved. */
async function referenceLandmarks(hwc: Uint8Array, width: number, height: number): Promise<Float32Array> {
  const { tf, net } = await faceApi();
  const x = tf.tensor3d(Int32Array.from(hwc), [height, width, 3], 'int32');
  const y = await net.forward(x);
  const out = Float32Array.from(y.dataSync());
  x.dispose();
  y.dispose();
  return out;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ------------------------------------------------------------------ image helpers

/** CHW float [0, 1] → 8-bit HWC (what face-api gets) and the CHW float of exactly those bytes (what we get). */
function quantise(img: ChwImage): { hwc: Uint8Array; chw: ChwImage } {
  const plane = img.width * img.height;
  const hwc = new Uint8Array(3 * plane);
  const chw = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, img.image[c * plane + i]!)));
      hwc[3 * i + c] = v;
      chw[c * plane + i] = v / 255;
    }
  }
  return { hwc, chw: { width: img.width, height: img.height, image: chw } };
}

function synthFace(i: number, seed: number): { image: ChwImage; landmarks: Float32Array } {
  const s = generateSample(i, { seed, size: 112 });
  return { image: { width: 112, height: 112, image: s.image }, landmarks: s.landmarks };
}

/** Crops a CHW image to a box (host side). */
function cropChw(img: ChwImage, x: number, y: number, w: number, h: number): ChwImage {
  const out = new Float32Array(3 * w * h);
  const plane = img.width * img.height;
  for (let c = 0; c < 3; c++) for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) out[(c * h + r) * w + q] = img.image[c * plane + (y + r) * img.width + x + q]!;
  return { width: w, height: h, image: out };
}

let net: FaceLandmarkNet;
let engine: Engine;

async function ours(images: ChwImage[]): Promise<Float64Array[]> {
  const n = 112;
  const input = new Float32Array(images.length * 3 * n * n);
  images.forEach((im, i) => {
    expect([im.width, im.height]).toEqual([n, n]);
    input.set(im.image, i * 3 * n * n);
  });
  const x = engine.tensor(input, [images.length, 3, n, n]);
  const y = net.predict(x);
  const out = await read(y);
  x.dispose();
  y.dispose();
  return images.map((_, i) => out.slice(i * 136, (i + 1) * 136));
}

beforeAll(async () => {
  engine = await getEngine();
  net = loadFaceLandmarkNet(engine);
});

// ------------------------------------------------------------------ tfjs weights reader

function f32le(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

describe('tfjs weights reader', () => {
  it('decodes float32, int32, uint8/uint16 (scale, min) and float16 weights across several shards', () => {
    const seed = freshSeed('tfjs weights');
    const r = rng(seed);
    const plain = Array.from({ length: 6 }, () => r() * 4 - 2);
    const ints = [-3, 0, 7, 2147483647];
    const u8 = Uint8Array.from({ length: 10 }, () => Math.floor(r() * 256));
    const u16 = Uint16Array.from({ length: 5 }, () => Math.floor(r() * 65536));
    const halves = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7bff]); // 1, -2, 0.33325…, 2^-24, 65504
    const q8 = { dtype: 'uint8' as const, scale: 0.0123, min: -1.7 };
    const q16 = { dtype: 'uint16' as const, scale: 3.1e-5, min: -0.9 };
    const stream = new Uint8Array([...f32le(plain), ...new Uint8Array(Int32Array.from(ints).buffer), ...u8, ...new Uint8Array(u16.buffer), ...new Uint8Array(halves.buffer)]);
    // Three shards with boundaries inside weights: the reader must concatenate before slicing.
    const cuts = [0, 13, 40, stream.length];
    const shards = new Map(cuts.slice(1).map((end, k) => [`s${k}.bin`, stream.slice(cuts[k], end)]));
    const groups: TfjsWeightsGroup[] = [{
      paths: [...shards.keys()],
      weights: [
        { name: 'a/plain', shape: [2, 3], dtype: 'float32' },
        { name: 'a/ints', shape: [4], dtype: 'int32' },
        { name: 'b/u8', shape: [5, 2], dtype: 'float32', quantization: q8 },
        { name: 'b/u16', shape: [5], dtype: 'float32', quantization: q16 },
        { name: 'c/half', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
      ],
    }];
    const w = decodeTfjsWeights(parseWeightsManifest(groups, 'test'), (p) => shards.get(p) ?? null, 'test');
    expect([...w.keys()]).toEqual(['a/plain', 'a/ints', 'b/u8', 'b/u16', 'c/half']);
    expect(w.get('a/plain')!.shape).toEqual([2, 3]);
    expect(Array.from(w.get('a/plain')!.data)).toEqual(Array.from(Float32Array.from(plain)));
    expect(w.get('a/ints')!.data).toBeInstanceOf(Int32Array);
    expect(Array.from(w.get('a/ints')!.data)).toEqual(ints);
    expect(Array.from(w.get('b/u8')!.data)).toEqual(Array.from(Float32Array.from(u8, (v) => v * q8.scale + q8.min)));
    expect(Array.from(w.get('b/u16')!.data)).toEqual(Array.from(Float32Array.from(u16, (v) => v * q16.scale + q16.min)));
    expect(Array.from(w.get('c/half')!.data)).toEqual(Array.from(Float32Array.from([1, -2, 0.333251953125, 2 ** -24, 65504])));
  });

  it("decodes face-api's landmark manifest exactly as tf.io.decodeWeights does", async () => {
    const { tf } = await faceApi();
    const dir = faceApiModelDir();
    const mine = loadTfjsWeights(join(dir, FACE_LANDMARK_MANIFEST));
    const manifest = JSON.parse(readFileSync(join(dir, FACE_LANDMARK_MANIFEST), 'utf8'));
    const bin = readFileSync(join(dir, manifest[0].paths[0]));
    const theirs = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
    expect(mine.size).toBe(49);
    expect([...mine.keys()].sort()).toEqual(Object.keys(theirs).sort());
    for (const [name, w] of mine) {
      expect(w.shape, name).toEqual(theirs[name].shape);
      expect(Array.from(w.data), name).toEqual(Array.from(theirs[name].dataSync()));
    }
  });

  it('names the problem: missing shard, size mismatch, unknown dtype, bad manifest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfjs-weights-'));
    const write = (name: string, manifest: unknown, shard?: Uint8Array) => {
      writeFileSync(join(dir, `${name}.json`), JSON.stringify(manifest));
      if (shard) writeFileSync(join(dir, `${name}.bin`), shard);
      return join(dir, `${name}.json`);
    };
    const spec = (dtype: string, quantization?: object) => parseWeightsManifest([{ paths: ['m.bin'], weights: [{ name: 'w', shape: [2], dtype, ...(quantization ? { quantization } : {}) }] }], 'x.json');
    const missing = write('missing', [{ paths: ['missing.bin', 'nope.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32' }] }], f32le([1]));
    expect(() => loadTfjsWeights(missing)).toThrow(/shard "nope\.bin" of group 0 is missing/);
    const short = write('short', [{ paths: ['short.bin'], weights: [{ name: 'w', shape: [3], dtype: 'float32' }] }], f32le([1, 2]));
    expect(() => loadTfjsWeights(short)).toThrow(/shards \[short\.bin\] hold 8 bytes, its 1 weights need 12/);
    const long = write('long', [{ paths: ['long.bin'], weights: [{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } }] }], f32le([1]));
    expect(() => loadTfjsWeights(long)).toThrow(/hold 4 bytes, its 1 weights need 2/);
    const shards = (b: Uint8Array) => () => b;
    expect(() => decodeTfjsWeights(spec('complex64'), shards(new Uint8Array(16)), 'x.json')).toThrow(/weight "w" has unknown dtype "complex64"/);
    expect(() => decodeTfjsWeights(spec('float32', { dtype: 'int4', scale: 1, min: 0 }), shards(new Uint8Array(2)), 'x.json')).toThrow(/unknown quantization dtype "int4"/);
    expect(() => decodeTfjsWeights(spec('float32', { dtype: 'uint8' }), shards(new Uint8Array(2)), 'x.json')).toThrow(/uint8-quantised but lacks numeric "scale" and "min"/);
    expect(() => parseWeightsManifest({ weights: [] }, 'x.json')).toThrow(/must be a JSON array/);
    expect(() => loadTfjsWeights(join(dir, 'absent.json'))).toThrow(/manifest .*absent\.json not found/);
  });
});

// ------------------------------------------------------------------ the network

describe('face landmark network', () => {
  it('matches face-api on the astronaut crop and SynthFER faces (< 1e-3 relative per image)', async () => {
    const seed = freshSeed('landmark agreement');
    const faces = [{ name: 'astronaut', image: astronautFace() }, ...[0, 1, 2, 3].map((i) => ({ name: `synthfer ${seed}/${i}`, image: synthFace(i, seed).image }))];
    const q = faces.map((f) => quantise(f.image));
    const got = await ours(q.map((x) => x.chw));
    for (let i = 0; i < faces.length; i++) {
      const ref = await referenceLandmarks(q[i]!.hwc, 112, 112);
      expect(ref.length).toBe(136);
      expectClose(got[i]!, ref, 1e-3, faces[i]!.name);
    }
    // Sanity of the decoding on the photo: eyes above the nose tip above the mouth, inside the crop.
    const a = got[0]!;
    const y = (k: number) => a[2 * k + 1]!;
    expect(y(36)).toBeLessThan(y(30));
    expect(y(30)).toBeLessThan(y(62));
    expect(Math.min(...a)).toBeGreaterThan(0);
    expect(Math.max(...a)).toBeLessThan(1);
  });

  it('maps a non-square crop to image pixels as face-api does (pad to square, bilinear resize)', async () => {
    const png = await readImageFileRgb(ASTRONAUT_FACE_PNG);
    const full = astronautFace();
    // 112×112 fixture: take a 90×70 window (even size difference, so face-api's postprocess shift is exact).
    const box = { x: 10, y: 20, width: 90, height: 70 };
    const crop = cropChw(full, box.x, box.y, box.width, box.height);
    const hwc = new Uint8Array(3 * box.width * box.height);
    for (let r = 0; r < box.height; r++) for (let c = 0; c < box.width; c++) for (let k = 0; k < 3; k++) hwc[3 * (r * box.width + c) + k] = png.rgb[3 * ((box.y + r) * png.width + box.x + c) + k]!;
    const ref = await referenceLandmarks(hwc, box.width, box.height);
    const refPx = Array.from(ref, (v, i) => (i % 2 === 0 ? box.x + v * box.width : box.y + v * box.height));
    const { input, mapping } = prepareCrop(full, box);
    const [raw] = await ours([{ width: 112, height: 112, image: input }]);
    const px = landmarksToPixels(raw!, mapping);
    expectClose(px, refPx, 1e-3, 'pixel landmarks of a 90×70 crop');
    // The same crop passed as its own image gives the same points (relative to it).
    const own = prepareCrop(crop);
    const alone = landmarksToPixels((await ours([{ width: 112, height: 112, image: own.input }]))[0]!, own.mapping);
    expectClose(alone, Array.from(px, (v, i) => v - (i % 2 === 0 ? box.x : box.y)), 1e-6, 'crop box vs cropped image');
  });

  it('finds SynthFER landmarks (mean error vs the generator, 112×112) and times one image', async () => {
    const seed = freshSeed('synthfer landmark error');
    const n = 24;
    const samples = Array.from({ length: n }, (_, i) => synthFace(i, seed));
    const t0 = performance.now();
    const got = await ours(samples.map((s) => s.image));
    const batchMs = performance.now() - t0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 68; k++) sum += 112 * Math.hypot(got[i]![2 * k]! - samples[i]!.landmarks[2 * k]!, got[i]![2 * k + 1]! - samples[i]!.landmarks[2 * k + 1]!);
    }
    const meanPx = sum / (n * 68);
    const t1 = performance.now();
    await ours([samples[0]!.image]);
    const singleMs = performance.now() - t1;
    console.log(`[landmarks] SynthFER mean error ${meanPx.toFixed(2)} px at 112×112 over ${n} faces; ${(batchMs / n).toFixed(1)} ms/image in a batch of ${n}, ${singleMs.toFixed(1)} ms for one image (${engine.info.kind})`);
    // A pretrained net on rendered faces: a few pixels. Swapped axes or a bad decode give > 10 px.
    expect(meanPx).toBeLessThan(6);
    // The batched helper the dataset path and the browser demo use gives the same points (112×112
    // images: the crop is the identity), whatever its batch size.
    const progress: number[] = [];
    const viaHelper = await landmarksOfSquareImages(net, n, (i) => samples[i]!.image.image, 112, 10, (d) => progress.push(d));
    expect(progress).toEqual([10, 20, 24]);
    let maxDiff = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < 136; k++) maxDiff = Math.max(maxDiff, Math.abs(viaHelper[i * 136 + k]! - got[i]![k]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('rejects wrong inputs and incomplete weights with messages naming the shapes', () => {
    const x = engine.tensor(new Float32Array(3 * 100 * 100), [1, 3, 100, 100]);
    expect(() => net.features(x)).toThrow(/image \[1, 3, 100, 100\] must be \[B, 3, H, W\] with H and W multiples of 16/);
    const y = engine.tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]);
    expect(() => net.forward(y)).toThrow(/needs \[B, 3, 112, 112\] images, got \[1, 3, 64, 64\]/);
    x.dispose();
    y.dispose();
    const weights = loadTfjsWeights(join(faceApiModelDir(), FACE_LANDMARK_MANIFEST));
    const noFc = new Map(weights);
    noFc.delete('fc/bias');
    expect(() => new FaceLandmarkNet(engine, noFc)).toThrow(/weight "fc\/bias" missing/);
    const badShape = new Map(weights);
    badShape.set('dense2/conv1/bias', { ...weights.get('dense2/conv1/bias')!, shape: [64] });
    expect(() => new FaceLandmarkNet(engine, badShape)).toThrow(/"dense2\/conv1\/bias" has shape \[64\], expected \[128\]/);
    expect(() => prepareCrop(astronautFace(), { x: 100, y: 0, width: 20, height: 20 })).toThrow(/not an integer box inside the 112×112 image/);
  });

  it('is frozen and draws an overlay', async () => {
    expect(net.trainable()).toEqual([]);
    expect(net.numParameters()).toBeGreaterThan(350_000);
    const png = overlayPng(astronautFace(), new Float64Array(136).fill(56));
    const img = await decodeImage(png, 'overlay');
    expect([img.width, img.height]).toEqual([448, 448]);
    const p = 3 * (226 * 448 + 226); // the centre pixel (56.5 · 4) carries the marker colour
    expect([img.rgb[p], img.rgb[p + 1], img.rgb[p + 2]]).toEqual([0, 255, 0]);
  });
});
