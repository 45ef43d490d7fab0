/**
 * face-api's expression network on our engine: agreement of the 7 probabilities and the 256 pooled
 * features with @vladmandic/face-api itself (its bundled tfjs CPU backend, weights from node_modules,
 * no network) on a public-domain photo crop and SynthFER faces, clean and through a T-OLED panel; the
 * class mapping; loading errors; and the zero-shot judge's bookkeeping.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faceApiModelDir, loadFaceExpressionNet, loadTfjsWeights } from '../src/model/landmarks/face-api-files.ts';
import {
  FACE_API_EXPRESSIONS, FACE_EXPRESSION_MANIFEST, FACE_LANDMARK_MANIFEST, FaceExpressionNet,
  type ChwImage,
} from '../src/model/landmarks/face-landmark-net.ts';
import { FACE_API_EXPRESSION_TO_OURS, expressionProbabilitiesInOurOrder, judgeDataset } from '../src/train/expression-judge.ts';
import { CLASS_NAMES } from '../src/train/data/dataset.ts';
import { SynthFerDataset, generateSample } from '../src/train/data/synthfer.ts';
import { degradeUdc } from '../src/train/data/udc.ts';
import type { Engine } from '../src/engine/engine.ts';
import { referenceNet } from './face-api-reference.ts';
import { freshSeed, getEngine, read, relErr } from './helpers.ts';
import { astronautFace } from './face-images.ts';

// ------------------------------------------------------------------ the reference: face-api itself

/* eslint-disable @typescript-eslint/no-explicit-any */
let reference: Promise<{ faceapi: any; tf: any; net: any }> | null = null;
/* eslint-enable @typescript-eslint/no-explicit-any */

function faceApi() {
  reference ??= referenceNet('FaceExpressionNet', FACE_EXPRESSION_MANIFEST);
  return reference;
}

/** face-api's probabilities (its order) and bottleneck features for an 8-bit HWC RGB image. */
async function referenceOutputs(hwc: Uint8Array, width: number, height: number): Promise<{ probs: Float32Array; pooled: Float32Array }> {
  const { faceapi, tf, net } = await faceApi();
  const x = tf.tensor3d(Int32Array.from(hwc), [height, width, 3], 'int32');
  const p = await net.forward(x);
  const f = net.faceFeatureExtractor.forwardInput(await faceapi.toNetInput(x));
  const out = { probs: Float32Array.from(p.dataSync()), pooled: Float32Array.from(f.dataSync()) };
  expect(f.shape).toEqual([1, 1, 1, 256]);
  for (const t of [x, p, f]) t.dispose();
  return out;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

// ------------------------------------------------------------------ helpers

/** CHW float [0, 1] → 8-bit HWC (what face-api gets) and the CHW float of exactly those bytes (what we get). */
function quantise(img: ChwImage): { hwc: Uint8Array; chw: Float32Array } {
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
  return { hwc, chw };
}

let engine: Engine;
let net: FaceExpressionNet;

beforeAll(async () => {
  engine = await getEngine();
  net = loadFaceExpressionNet(engine);
});

// ------------------------------------------------------------------ agreement with face-api

describe('face expression network', () => {
  it('matches face-api (probabilities and pooled features ≤ 1e-5 relative) on a photo and SynthFER faces, clean and through T-OLED', async () => {
    const seed = freshSeed('expression agreement');
    const n = 112;
    const plane = 3 * n * n;
    const faces: { name: string; image: Float32Array }[] = [
      { name: 'astronaut', image: astronautFace().image },
      ...[0, 1, 2].map((i) => ({ name: `synthfer ${seed}/${i}`, image: generateSample(i, { seed, size: 112 }).image })),
    ];
    const clean = new Float32Array(faces.length * plane);
    faces.forEach((f, i) => clean.set(f.image, i * plane));
    const udc = await engine.noGrad(() => engine.scope(async () => (await degradeUdc(engine, engine.tensor(clean, [faces.length, 3, n, n]), { panel: 'toled', seed }).read()) as Float32Array));
    const cases = [
      ...faces.map((f) => ({ name: `${f.name} clean`, image: f.image })),
      ...faces.map((f, i) => ({ name: `${f.name} toled`, image: udc.subarray(i * plane, (i + 1) * plane) })),
    ].map((c) => ({ ...c, q: quantise({ width: n, height: n, image: c.image }) }));

    const input = new Float32Array(cases.length * plane);
    cases.forEach((c, i) => input.set(c.q.chw, i * plane));
    const x = engine.tensor(input, [cases.length, 3, n, n]);
    const probs = net.probabilities(x);
    const pooled = engine.noGrad(() => engine.scope(() => net.pooledFeatures(x)));
    expect(probs.shape).toEqual([cases.length, 7]);
    expect(pooled.shape).toEqual([cases.length, 256]);
    const [p, f] = [await read(probs), await read(pooled)];
    for (const t of [x, probs, pooled]) t.dispose();

    let worstP = 0;
    let worstF = 0;
    for (let i = 0; i < cases.length; i++) {
      const ref = await referenceOutputs(cases[i]!.q.hwc, n, n);
      const eP = relErr(p.subarray(i * 7, (i + 1) * 7), ref.probs);
      const eF = relErr(f.subarray(i * 256, (i + 1) * 256), ref.pooled);
      const top = FACE_API_EXPRESSIONS[ref.probs.indexOf(Math.max(...ref.probs))];
      console.log(`[expression] ${cases[i]!.name}: face-api says ${top}; relative error probabilities ${eP.toExponential(2)}, pooled ${eF.toExponential(2)}`);
      expect(eP, `${cases[i]!.name} probabilities`).toBeLessThanOrEqual(1e-5);
      expect(eF, `${cases[i]!.name} pooled features`).toBeLessThanOrEqual(1e-5);
      worstP = Math.max(worstP, eP);
      worstF = Math.max(worstF, eF);
    }
    console.log(`[expression] worst relative error over ${cases.length} images: probabilities ${worstP.toExponential(2)}, pooled ${worstF.toExponential(2)}`);
    // Rows are distributions.
    for (let i = 0; i < cases.length; i++) expect(p.subarray(i * 7, (i + 1) * 7).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("maps face-api's classes onto ours as a permutation", () => {
    expect([...FACE_API_EXPRESSION_TO_OURS].sort()).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const ours = (name: string) => CLASS_NAMES[FACE_API_EXPRESSION_TO_OURS[FACE_API_EXPRESSIONS.indexOf(name as never)]!];
    expect(['surprised', 'fearful', 'disgusted', 'happy', 'sad', 'angry', 'neutral'].map(ours)).toEqual(['surprise', 'fear', 'disgust', 'happiness', 'sadness', 'anger', 'neutral']);
    // Two rows in face-api's order (neutral, happy, sad, angry, fearful, disgusted, surprised).
    const row = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7];
    expect(Array.from(expressionProbabilitiesInOurOrder([...row, ...row.map((v) => 1 - v)]), (v) => Math.round(v * 10) / 10)).toEqual([
      0.7, 0.5, 0.6, 0.2, 0.3, 0.4, 0.1,
      0.3, 0.5, 0.4, 0.8, 0.7, 0.6, 0.9,
    ]);
    expect(() => expressionProbabilitiesInOurOrder([1, 2, 3])).toThrow(/3 values are not rows of 7/);
  });

  it('names the weight when loading fails', () => {
    const dir = faceApiModelDir();
    const weights = loadTfjsWeights(join(dir, FACE_EXPRESSION_MANIFEST));
    expect(weights.size).toBe(49);
    const noDw = new Map(weights);
    noDw.delete('dense3/conv2/depthwise_filter');
    expect(() => new FaceExpressionNet(engine, noDw)).toThrow(/FaceExpressionNet: weight "dense3\/conv2\/depthwise_filter" missing/);
    // The landmark net's weights have the same names but a 136-wide head.
    expect(() => new FaceExpressionNet(engine, loadTfjsWeights(join(dir, FACE_LANDMARK_MANIFEST)))).toThrow(/FaceExpressionNet: weight "fc\/weights" has shape \[256, 136\], expected \[256, 7\]/);
    expect(() => loadFaceExpressionNet(engine, mkdtempSync(join(tmpdir(), 'no-face-api-')))).toThrow(/FaceExpressionNet: .*face_expression_model-weights_manifest\.json not found/);
    expect(net.trainable()).toEqual([]);
    expect([...net.namedParameters()].map(([name]) => name).slice(-2)).toEqual(['fc.weights', 'fc.bias']);
  });
});

// ------------------------------------------------------------------ zero-shot judge

describe('expression judge', () => {
  it('returns consistent metrics in our class order (64 px faces, clean and T-OLED, any batch size)', async () => {
    const seed = freshSeed('expression judge');
    const ds = new SynthFerDataset(9, { seed, size: 64, split: 'test', difficulty: 0 });
    const labels = Array.from({ length: ds.length }, (_, i) => ds.get(i).label);
    for (const udc of [null, { panel: 'toled' as const, strength: 1 }]) {
      const m = await judgeDataset(net, ds, { udc, seed, batch: 4 });
      expect(m.count).toBe(ds.length);
      expect(m.confusion.length).toBe(7);
      const total = m.confusion.flat().reduce((a, b) => a + b, 0);
      const trace = m.confusion.reduce((a, r, k) => a + r[k]!, 0);
      expect(total).toBe(ds.length);
      expect(m.accuracy).toBeCloseTo(trace / ds.length, 12);
      m.confusion.forEach((row, k) => {
        const support = labels.filter((y) => y === k).length;
        expect(row.reduce((a, b) => a + b, 0)).toBe(support);
        if (support > 0) expect(m.perClassAccuracy[k]).toBeCloseTo(row[k]! / support, 12);
      });
      console.log(`[judge] ${udc ? 'toled' : 'clean'}: ${(100 * m.accuracy).toFixed(0)} % on ${ds.length} SynthFER faces (64 px, difficulty 0)`);
      // The UDC stream is indexed by image, so the batch size changes nothing.
      const again = await judgeDataset(net, ds, { udc, seed, batch: 9 });
      expect(again.confusion).toEqual(m.confusion);
    }
  });
});
