/**
 * face-api's face-recognition network on our engine against @vladmandic/face-api itself (its bundled
 * tfjs CPU backend, weights from node_modules, no network): the weights decode, the 150×150
 * preprocessing (pad to square + bilinear resize), every stage map and the 128-d descriptor on a
 * public-domain photo crop and SynthFER faces (clean and through a T-OLED display), and the errors.
 *
 * face-api only exposes the descriptor, so the stage maps come from a transcription of its layers
 * (convLayer.ts, residualLayer.ts, FaceRecognitionNet.ts) in tf ops on its own loaded `net.params`,
 * checked to give exactly face-api's descriptor.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { join } from 'node:path';
import { faceApiModelDir, loadFaceRecognitionNet, loadTfjsWeights } from '../src/model/landmarks/face-api-files.ts';
import {
  FACE_RECOGNITION_MANIFEST, FaceRecognitionNet, prepareRecognitionInput, type RecognitionStages,
} from '../src/model/landmarks/face-recognition-net.ts';
import type { ChwImage } from '../src/model/landmarks/face-landmark-net.ts';
import { generateSample } from '../src/train/data/synthfer.ts';
import { degradeUdc } from '../src/train/data/udc.ts';
import { backward } from '../src/engine/autograd.ts';
import { sumAll } from '../src/engine/ops/reduce.ts';
import type { Engine } from '../src/engine/engine.ts';
import { referenceNet, referenceWeightMap } from './face-api-reference.ts';
import { astronautFace } from './face-images.ts';
import { expectClose, freshSeed, getEngine, read, relErr, rng } from './helpers.ts';

// ------------------------------------------------------------------ the reference: face-api itself

/* eslint-disable @typescript-eslint/no-explicit-any */
let reference: Promise<{ faceapi: any; tf: any; net: any }> | null = null;
/* eslint-enable @typescript-eslint/no-explicit-any */

function faceApi() {
  reference ??= referenceNet('FaceRecognitionNet', FACE_RECOGNITION_MANIFEST);
  return reference;
}


const STAGE_NAMES: (keyof RecognitionStages)[] = ['conv32', 'conv64', 'conv128', 'conv256', 'conv256DownOut'];

interface ReferenceResult {
  /** face-api's NetInput.toBatchTensor(150, true), transposed to CHW [3, 150, 150], 0–255. */
  input: Float32Array;
  /** Stage maps transposed to CHW. */
  stages: Record<keyof RecognitionStages, { shape: number[]; data: Float32Array }>;
  descriptor: Float32Array;
  /** face-api's own FaceRecognitionNet.forward on the same image. */
  forward: Float32Array;
}

/** face-api's layers transcribed in tf ops (NHWC) on its loaded params, with every stage kept. */
function referenceStages(tf: any, faceapi: any, params: any, batch: any): { stages: any[]; descriptor: any } {
  const convLayer = (x: any, p: any, strides: number, withRelu: boolean, padding: 'same' | 'valid' = 'same') => {
    let out = tf.conv2d(x, p.conv.filters, [strides, strides], padding);
    out = tf.add(out, p.conv.bias);
    out = tf.add(tf.mul(out, p.scale.weights), p.scale.biases);
    return withRelu ? tf.relu(out) : out;
  };
  const residual = (x: any, p: any) => tf.relu(tf.add(convLayer(convLayer(x, p.conv1, 1, true), p.conv2, 1, false), x));
  const residualDown = (x: any, p: any) => {
    let out = convLayer(convLayer(x, p.conv1, 2, true, 'valid'), p.conv2, 1, false);
    let pooled = tf.avgPool(x, 2, 2, 'valid');
    const zeros = tf.zeros(pooled.shape);
    const isPad = pooled.shape[3] !== out.shape[3];
    if (pooled.shape[1] !== out.shape[1] || pooled.shape[2] !== out.shape[2]) {
      const padX = [...out.shape];
      padX[1] = 1;
      out = tf.concat([out, tf.zeros(padX)], 1);
      const padY = [...out.shape];
      padY[2] = 1;
      out = tf.concat([out, tf.zeros(padY)], 2);
    }
    pooled = isPad ? tf.concat([pooled, zeros], 3) : pooled;
    return tf.relu(tf.add(pooled, out));
  };
  const x = faceapi.normalize(batch, [122.782, 117.001, 104.298]).div(255);
  let out = tf.maxPool(convLayer(x, params.conv32_down, 2, true, 'valid'), 3, 2, 'valid');
  const stages: any[] = [];
  for (const name of ['conv32_1', 'conv32_2', 'conv32_3', 'conv64_down', 'conv64_1', 'conv64_2', 'conv64_3', 'conv128_down', 'conv128_1', 'conv128_2', 'conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out']) {
    out = name.endsWith('down') || name.endsWith('down_out') ? residualDown(out, params[name]) : residual(out, params[name]);
    if (['conv32_3', 'conv64_3', 'conv128_2', 'conv256_2', 'conv256_down_out'].includes(name)) stages.push(out);
  }
  return { stages, descriptor: tf.matMul(out.mean([1, 2]), params.fc) };
}

/** Everything face-api computes for one 8-bit HWC RGB image. */
async function referenceRun(hwc: Uint8Array, width: number, height: number): Promise<ReferenceResult> {
  const { faceapi, tf, net } = await faceApi();
  const x = tf.tensor3d(Int32Array.from(hwc), [height, width, 3], 'int32');
  const y = await net.forward(x);
  const forward = Float32Array.from(y.dataSync());
  const netInput = await faceapi.toNetInput(x);
  const result = tf.tidy(() => {
    const batch = tf.cast(netInput.toBatchTensor(150, true), 'float32');
    const r = referenceStages(tf, faceapi, net.params, batch);
    const chw = (t: any) => ({ shape: [t.shape[3], t.shape[1], t.shape[2]], data: Float32Array.from(tf.transpose(t, [0, 3, 1, 2]).dataSync()) });
    return {
      input: chw(batch).data,
      stages: Object.fromEntries(STAGE_NAMES.map((n, i) => [n, chw(r.stages[i])])),
      descriptor: Float32Array.from(r.descriptor.dataSync()),
    };
  });
  x.dispose();
  y.dispose();
  return { ...result, forward } as ReferenceResult;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ------------------------------------------------------------------ images

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

function cropChw(img: ChwImage, x: number, y: number, w: number, h: number): ChwImage {
  const out = new Float32Array(3 * w * h);
  const plane = img.width * img.height;
  for (let c = 0; c < 3; c++) for (let r = 0; r < h; r++) for (let q = 0; q < w; q++) out[(c * h + r) * w + q] = img.image[c * plane + (y + r) * img.width + x + q]!;
  return { width: w, height: h, image: out };
}

let engine: Engine;
let net: FaceRecognitionNet;

/** Our stage maps and descriptors for prepared [3, 150, 150] inputs, as one batch, per image. */
async function ours(inputs: Float32Array[]): Promise<{ stages: Record<keyof RecognitionStages, Float64Array>; descriptor: Float64Array }[]> {
  const n = FaceRecognitionNet.INPUT;
  const batch = new Float32Array(inputs.length * 3 * n * n);
  inputs.forEach((x, i) => batch.set(x, i * 3 * n * n));
  return engine.scope(async () => {
    const { stages, descriptor } = net.embed(engine.tensor(batch, [inputs.length, 3, n, n]));
    const maps = await Promise.all(STAGE_NAMES.map((s) => read(stages[s])));
    const desc = await read(descriptor);
    return inputs.map((_, i) => ({
      stages: Object.fromEntries(STAGE_NAMES.map((s, k) => {
        const per = maps[k]!.length / inputs.length;
        return [s, maps[k]!.slice(i * per, (i + 1) * per)];
      })) as Record<keyof RecognitionStages, Float64Array>,
      descriptor: desc.slice(i * 128, (i + 1) * 128),
    }));
  });
}

beforeAll(async () => {
  engine = await getEngine();
  net = loadFaceRecognitionNet(engine);
});

// ------------------------------------------------------------------ tests

describe('face recognition network', () => {
  it("decodes face-api's recognition manifest (uint8-quantised and plain float32 weights) exactly as tf.io.decodeWeights does", async () => {
    const { tf } = await faceApi();
    const mine = loadTfjsWeights(join(faceApiModelDir(), FACE_RECOGNITION_MANIFEST));
    const theirs = referenceWeightMap(tf, FACE_RECOGNITION_MANIFEST);
    expect(mine.size).toBe(4 + 14 * 8 + 1);
    expect([...mine.keys()].sort()).toEqual(Object.keys(theirs).sort());
    for (const [name, w] of mine) {
      expect(w.shape, name).toEqual(theirs[name].shape);
      // Bitwise (a plain toEqual on 600k-element arrays takes seconds).
      const t = theirs[name].dataSync() as Float32Array;
      expect(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength).equals(Buffer.from(t.buffer, t.byteOffset, t.byteLength)), name).toBe(true);
    }
  });

  it('registers every weight under its manifest name, in our layouts, frozen', () => {
    const params = new Map([...net.namedParameters()].map(([n, t]) => [n, t.shape]));
    expect(params.size).toBe(4 + 14 * 8 + 1);
    expect(params.get('conv32_down.conv.filters')).toEqual([32, 3, 7, 7]);
    expect(params.get('conv64_down.conv1.conv.filters')).toEqual([64, 32, 3, 3]);
    expect(params.get('conv256_down_out.conv2.scale.biases')).toEqual([256]);
    expect(params.get('fc')).toEqual([128, 256]);
    expect(net.trainable()).toEqual([]);
    expect(net.numParameters()).toBe([...loadTfjsWeights(join(faceApiModelDir(), FACE_RECOGNITION_MANIFEST)).values()].reduce((s, w) => s + w.data.length, 0));
  });

  it('matches face-api on the astronaut crop and SynthFER faces, clean and through T-OLED: every stage and the descriptor (< 1e-5 relative)', async () => {
    const seed = freshSeed('face recognition agreement');
    const synth = [0, 1, 2].map((i) => ({ width: 112, height: 112, image: generateSample(i, { seed, size: 112 }).image }));
    const degraded = await engine.scope(async () => {
      const batch = new Float32Array(3 * 3 * 112 * 112);
      synth.forEach((s, i) => batch.set(s.image, i * 3 * 112 * 112));
      const out = await read(degradeUdc(engine, engine.tensor(batch, [3, 3, 112, 112]), { panel: 'toled', seed }));
      return synth.map((s, i) => ({ ...s, image: Float32Array.from(out.subarray(i * 3 * 112 * 112, (i + 1) * 3 * 112 * 112)) }));
    });
    const faces = [
      { name: 'astronaut', image: astronautFace() },
      ...synth.map((image, i) => ({ name: `synthfer ${seed}/${i}`, image })),
      ...degraded.map((image, i) => ({ name: `synthfer ${seed}/${i} T-OLED`, image })),
    ];
    const q = faces.map((f) => quantise(f.image));
    const got = await ours(q.map((x) => prepareRecognitionInput(x.chw)));
    const worst: Record<string, number> = {};
    for (let i = 0; i < faces.length; i++) {
      const ref = await referenceRun(q[i]!.hwc, 112, 112);
      // The transcription is face-api's network (same tf ops, same order).
      expect(relErr(ref.descriptor, ref.forward), `${faces[i]!.name}: transcribed reference vs face-api forward`).toBeLessThan(1e-6);
      for (const s of STAGE_NAMES) {
        expect(got[i]!.stages[s].length).toBe(ref.stages[s].data.length);
        worst[s] = Math.max(worst[s] ?? 0, relErr(got[i]!.stages[s], ref.stages[s].data));
        expectClose(got[i]!.stages[s], ref.stages[s].data, 1e-5, `${faces[i]!.name} ${s} ${ref.stages[s].shape.join('×')}`);
      }
      worst.descriptor = Math.max(worst.descriptor ?? 0, relErr(got[i]!.descriptor, ref.forward));
      expectClose(got[i]!.descriptor, ref.forward, 1e-5, `${faces[i]!.name} descriptor`);
    }
    console.log(`[face-recognition] worst relative error over ${faces.length} faces: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
    // Sanity of the embedding: the same face is closer to itself through the display than to another face.
    const dist = (a: Float64Array, b: Float64Array) => Math.hypot(...a.map((v, k) => v - b[k]!));
    expect(dist(got[1]!.descriptor, got[4]!.descriptor)).toBeLessThan(dist(got[1]!.descriptor, got[0]!.descriptor));
  });

  it("prepares non-square images as face-api's toBatchTensor(150) (pad to square, bilinear) and embeds them the same", async () => {
    const seed = freshSeed('face recognition preprocessing');
    const r = rng(seed);
    const astro = quantise(astronautFace()).chw;
    // Portrait and landscape crops with odd size differences (uneven padding), and a larger noise image (downscaling).
    const noise: ChwImage = { width: 203, height: 171, image: Float32Array.from({ length: 3 * 203 * 171 }, () => Math.floor(256 * r()) / 255) };
    const images = [cropChw(astro, 10, 5, 71, 100), cropChw(astro, 3, 20, 105, 64), noise];
    const inputs = images.map(prepareRecognitionInput);
    const got = await ours(inputs);
    const errors: string[] = [];
    for (let i = 0; i < images.length; i++) {
      const im = images[i]!;
      const hwc = new Uint8Array(3 * im.width * im.height);
      const plane = im.width * im.height;
      for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) hwc[3 * p + c] = Math.round(255 * im.image[c * plane + p]!);
      const ref = await referenceRun(hwc, im.width, im.height);
      const label = `${im.width}×${im.height}`;
      const prepared = Float32Array.from(inputs[i]!, (v) => 255 * v);
      errors.push(`${label}: input ${relErr(prepared, ref.input).toExponential(2)}, descriptor ${relErr(got[i]!.descriptor, ref.forward).toExponential(2)}`);
      expectClose(prepared, ref.input, 1e-6, `${label} prepared input`);
      expectClose(got[i]!.descriptor, ref.forward, 1e-5, `${label} descriptor`);
    }
    console.log(`[face-recognition] non-square relative errors: ${errors.join('; ')}`);
    expect(() => prepareRecognitionInput({ width: 4, height: 3, image: new Float32Array(5) })).toThrow(/image 4×3 must have .* got 5/);
  });

  it('embed() equals stages() and descriptor(), records nothing and keeps only what it returns; gradients reach the input', async () => {
    const n = FaceRecognitionNet.INPUT;
    const input = prepareRecognitionInput(quantise(astronautFace()).chw);
    const x = engine.tensor(input, [1, 3, n, n]).keep();
    await engine.sync();
    const live = engine.poolStats().liveBuffers;
    const tape = engine.tape.length;
    const { stages, descriptor } = net.embed(x);
    expect(engine.tape.length).toBe(tape);
    expect(engine.poolStats().liveBuffers).toBe(live + 6);
    expect(STAGE_NAMES.map((s) => stages[s].shape)).toEqual([[1, 32, 35, 35], [1, 64, 17, 17], [1, 128, 8, 8], [1, 256, 4, 4], [1, 256, 2, 2]]);
    const viaEmbed = await read(descriptor);
    for (const t of [descriptor, ...Object.values(stages)]) t.dispose();
    await engine.scope(async () => {
      const xp = engine.tensor(input, [1, 3, n, n]).asParameter();
      const d = net.descriptor(xp);
      expect(Array.from(await read(d))).toEqual(Array.from(viaEmbed));
      backward(sumAll(d));
      const g = await read(xp.grad!);
      expect(g.every(Number.isFinite)).toBe(true);
      expect(relErr(g, new Float64Array(g.length))).toBeGreaterThan(0);
      for (const p of net.parameters()) expect(p.grad ?? null).toBeNull();
      xp.grad!.dispose();
      xp.dispose();
    });
    x.dispose();
  });

  it('rejects wrong inputs and incomplete or wrong-shape weights with messages naming them', () => {
    const x = engine.tensor(new Float32Array(3 * 112 * 112), [1, 3, 112, 112]);
    expect(() => net.stages(x)).toThrow(/images \[1, 3, 112, 112\] must be \[B, 3, 150, 150\]/);
    x.dispose();
    const weights = loadTfjsWeights(join(faceApiModelDir(), FACE_RECOGNITION_MANIFEST));
    const missing = new Map(weights);
    missing.delete('conv128_1/conv2/scale/weights');
    expect(() => new FaceRecognitionNet(engine, missing)).toThrow(/weight "conv128_1\/conv2\/scale\/weights" missing/);
    const badShape = new Map(weights);
    badShape.set('conv64_down/conv1/conv/filters', { ...weights.get('conv64_down/conv1/conv/filters')!, shape: [3, 3, 64, 64] });
    expect(() => new FaceRecognitionNet(engine, badShape)).toThrow(/"conv64_down\/conv1\/conv\/filters" has shape \[3, 3, 64, 64\], expected \[3, 3, 32, 64\]/);
    const badFc = new Map(weights);
    badFc.set('fc', { ...weights.get('fc')!, shape: [128, 256] });
    expect(() => new FaceRecognitionNet(engine, badFc)).toThrow(/"fc" has shape \[128, 256\], expected \[256, 128\]/);
    const ints = new Map(weights);
    ints.set('conv32_down/conv/bias', { ...weights.get('conv32_down/conv/bias')!, dtype: 'int32', data: new Int32Array(32) });
    expect(() => new FaceRecognitionNet(engine, ints)).toThrow(/"conv32_down\/conv\/bias" must be float32, got int32/);
    expect(() => loadFaceRecognitionNet(engine, '/nonexistent')).toThrow(/face_recognition_model-weights_manifest\.json not found/);
  });
});
