/**
 * LRDif's frozen pretrained backbones (face-api's recognition and landmark networks): the extractor
 * against the networks run directly (its resizing against face-api's own host-side preprocessing),
 * the DIL / FPEN projections that train on top of them, a model fed precomputed features against
 * the same model extracting them itself, and the cached views the trainer uses.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import { backward, zeroGrad } from '../src/engine/autograd.ts';
import { sumAll } from '../src/engine/ops/reduce.ts';
import { crossEntropy } from '../src/engine/ops/losses.ts';
import { loadFaceLandmarkNet, loadFaceRecognitionNet } from '../src/model/landmarks/face-api-files.ts';
import type { FaceLandmarkNet } from '../src/model/landmarks/face-landmark-net.ts';
import { FaceRecognitionNet, prepareRecognitionInput } from '../src/model/landmarks/face-recognition-net.ts';
import { FaceApiFeatureExtractor } from '../src/model/landmarks/frozen-extractor.ts';
import { IMAGENET_NORMALISATION } from '../src/model/landmarks/normalisation.ts';
import { makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';
import { FROZEN_EMBEDDING_DIM } from '../src/model/frozen-features.ts';
import { generateSample, SynthFerDataset } from '../src/train/data/synthfer.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { FeatureViews, PART_NAMES, type ViewPersistence } from '../src/train/feature-cache.ts';
import { expectClose, getEngine, read } from './helpers.ts';
import { astronautFace } from './face-images.ts';

let e: Engine;
let recognition: FaceRecognitionNet;
let landmarks: FaceLandmarkNet;
let extractor: FaceApiFeatureExtractor;

beforeAll(async () => {
  e = await getEngine();
  recognition = loadFaceRecognitionNet(e);
  landmarks = loadFaceLandmarkNet(e);
  extractor = new FaceApiFeatureExtractor(e, recognition, landmarks);
});

/** RGB CHW images in [0, 1] → the model's ImageNet-normalised input. */
function normalised(rgb: Float32Array, b: number, s: number): Float32Array {
  const { mean, std } = IMAGENET_NORMALISATION;
  return Float32Array.from(rgb, (v, k) => {
    const c = Math.floor(k / (s * s)) % 3;
    return (v - mean[c]!) / std[c]!;
  });
}

function faces(size: number): Float32Array {
  const astronaut = astronautFace().image;
  const synth = generateSample(3, { seed: 17, size }).image;
  if (size !== 112) return Float32Array.from([...synth, ...generateSample(4, { seed: 17, size }).image]);
  return Float32Array.from([...astronaut, ...synth]);
}

const ALL = { image: true, landmark: true, embedding: true };

describe('frozen feature extractor', () => {
  it('at 112×112 (paper levels 28/14/7): landmark maps are the landmark net\'s own, the embedding is the descriptor of face-api\'s 150×150 input ++ the pooled last stage', async () => {
    const rgb = faces(112);
    await e.noGrad(() =>
      e.scope(async () => {
        const f = extractor.extract(e.tensor(normalised(rgb, 2, 112), [2, 3, 112, 112]), ALL);
        expect(f.landmark!.map((t) => t.shape)).toEqual([[2, 64, 28, 28], [2, 128, 14, 14], [2, 256, 7, 7]]);
        expect(f.image!.map((t) => t.shape)).toEqual([[2, 64, 28, 28], [2, 128, 14, 14], [2, 256, 7, 7]]);
        expect(f.embedding!.shape).toEqual([2, FROZEN_EMBEDDING_DIM]);
        const direct = landmarks.features(e.tensor(rgb, [2, 3, 112, 112]));
        for (let l = 0; l < 3; l++) expectClose(await read(f.landmark![l]!), await read(direct[l + 1]!), 1e-5, `landmark level ${l + 1}`);
        // The recognition input resized on the host exactly as face-api prepares it (not by our GPU resize).
        const host = new Float32Array(2 * 3 * 150 * 150);
        for (let i = 0; i < 2; i++) host.set(prepareRecognitionInput({ width: 112, height: 112, image: rgb.subarray(i * 3 * 112 * 112, (i + 1) * 3 * 112 * 112) }), i * 3 * 150 * 150);
        const r = recognition.embed(e.tensor(host, [2, 3, 150, 150]));
        const emb = await read(f.embedding!);
        const desc = await read(r.descriptor);
        const last = await read(r.stages.conv256DownOut);
        for (let i = 0; i < 2; i++) {
          expectClose(emb.subarray(i * 384, i * 384 + 128), desc.subarray(i * 128, (i + 1) * 128), 1e-5, `descriptor ${i}`);
          const pooled = Array.from({ length: 256 }, (_, c) => (last[(i * 256 + c) * 4]! + last[(i * 256 + c) * 4 + 1]! + last[(i * 256 + c) * 4 + 2]! + last[(i * 256 + c) * 4 + 3]!) / 4);
          expectClose(emb.subarray(i * 384 + 128, (i + 1) * 384), pooled, 1e-5, `pooled last stage ${i}`);
        }
      }),
    );
  });

  it('at 64×64 (tiny levels 16/8/4): maps at the level sizes, only what is asked for, no gradients into the networks', async () => {
    await e.noGrad(() =>
      e.scope(async () => {
        const img = e.tensor(normalised(faces(64), 2, 64), [2, 3, 64, 64]);
        const f = extractor.extract(img, { image: true, landmark: false, embedding: false });
        expect(f.image!.map((t) => t.shape)).toEqual([[2, 64, 16, 16], [2, 128, 8, 8], [2, 256, 4, 4]]);
        expect(f.landmark).toBeUndefined();
        expect(f.embedding).toBeUndefined();
        expect(() => extractor.extract(e.tensor(new Float32Array(3 * 40 * 40), [1, 3, 40, 40]), ALL)).toThrow(/multiple of 16/);
      }),
    );
    expect(recognition.trainable()).toEqual([]);
    expect(landmarks.trainable()).toEqual([]);
  });
});

describe('LRDif on frozen features', () => {
  for (const stage of [1, 2] as const) {
    it(`tiny stage ${stage}: precomputed features give bitwise the logits of the model's own extraction; the projections train, the networks do not`, async () => {
      const cfg = makeConfig('tiny');
      expect([cfg.backbone, cfg.landmarkFeatures]).toEqual(['face-api', 'backbone']);
      const m = new LrdifModel(e, cfg, stage, 7, { extractor });
      const names = [...m.namedParameters()].map(([n]) => n);
      for (const part of ['dil.image_proj.0.weight', 'dil.landmark_proj.2.weight', 'fpen_s1.image_encoder.proj.weight']) expect(names).toContain(part);
      expect(names.some((n) => n.startsWith('dil.image_stem.') || n.startsWith('dil.landmark_stem.') || n.includes('image_encoder.E1'))).toBe(false);
      await e.scope(async () => {
        const image = e.tensor(normalised(faces(64), 2, 64), [2, 3, 64, 64]);
        const labels = e.tensor([3, 5], [2], 'u32');
        const forward = (features?: ReturnType<typeof extractor.extract>) => {
          const b = { image, landmarks: null, labels, features };
          return stage === 1 ? m.forwardStage1(b).logits : m.forwardStage2Train(b, 5).logits;
        };
        const own = await read(e.noGrad(() => forward()));
        const given = await read(e.noGrad(() => forward(extractor.extract(image, m.frozenNeeds))));
        expect(Buffer.from(Float32Array.from(own).buffer).equals(Buffer.from(Float32Array.from(given).buffer))).toBe(true);
        backward(crossEntropy(forward(), labels));
        const g = (await read(sumAll(m.dil.imageProjection!.convs[2]!.weight.grad!)))[0]!;
        expect(Number.isFinite(g) && g !== 0).toBe(true);
        expect(m.dil.landmarkProjection!.convs[0]!.weight.grad).not.toBeNull();
        for (const t of [...recognition.parameters(), ...landmarks.parameters()]) expect(t.grad ?? null).toBeNull();
        zeroGrad(m.parameters());
      });
      m.dispose();
    });
  }

  it('without features or an extractor, the model says what is missing', async () => {
    const m = new LrdifModel(e, makeConfig('tiny'), 1, 1);
    await e.noGrad(() =>
      e.scope(async () => {
        const b = { image: e.tensor(new Float32Array(3 * 64 * 64), [1, 3, 64, 64]), landmarks: null, labels: e.tensor([0], [1], 'u32') };
        expect(() => m.forwardStage1(b)).toThrow(/no frozen features and no extractor/);
      }),
    );
    m.dispose();
  });
});

describe('cached views', () => {
  it('hold each image × draw × flip once; a batch of rows carries exactly the extractor\'s features of that view', async () => {
    const ds = new CachedDataset(new SynthFerDataset(5, { seed: 2, size: 64, split: 'train', difficulty: 0.3 }));
    const m = new LrdifModel(e, makeConfig('tiny'), 1, 3, { extractor });
    const bm = new BatchMaker(e, 64);
    const udc = { panel: 'toled' as const, strength: 1 };
    const seen: number[] = [];
    const o = { draws: 2, flips: true, udc, seed: 9, batch: 3, landmarks: false, onProgress: (d: number) => seen.push(d) };
    const v = await FeatureViews.shared(e, m, bm, ds, o);
    expect(await FeatureViews.shared(e, m, bm, ds, { ...o, onProgress: undefined })).toBe(v);
    expect(seen).toEqual([3, 5]);
    expect([v.rows, v.perImage]).toEqual([20, 4]);
    expect(v.part('image.0')!.shape).toEqual([64, 16, 16]);
    expect(v.part('embedding')!.shape).toEqual([FROZEN_EMBEDDING_DIM]);
    // Row of image 4, draw 1, mirrored: the clean image mirrored, degraded with that draw's seed.
    const row = 4 * 4 + 1 * 2 + 1;
    await e.noGrad(() =>
      e.scope(async () => {
        const b = v.batch(e, [row, 0]);
        expect(b.hostLabels).toEqual([ds.get(4).label, ds.get(0).label]);
        const f = extractor.extract(b.image, m.frozenNeeds);
        for (const [got, want] of [[b.features.image![1]!, f.image![1]!], [b.features.landmark![2]!, f.landmark![2]!], [b.features.embedding!, f.embedding!]] as const) {
          expect([...(await read(got))]).toEqual([...(await read(want))]);
        }
        // Mirrored and unmirrored views of one draw differ; the two draws of one image differ.
        const imgs = await read(v.batch(e, [4 * 4, 4 * 4 + 1, 4 * 4 + 2]).image);
        const n = 3 * 64 * 64;
        expect(imgs.subarray(0, n)).not.toEqual(imgs.subarray(n, 2 * n));
        expect(imgs.subarray(0, n)).not.toEqual(imgs.subarray(2 * n, 3 * n));
      }),
    );
    expect(() => v.batch(e, [20])).toThrow(/row 20 out of range/);
    bm.dispose();
    m.dispose();
  });
});

describe('persisted views', () => {
  it('round-trip bitwise through their store, and a damaged or foreign stored copy is rebuilt', async () => {
    const ds = new CachedDataset(new SynthFerDataset(3, { seed: 8, size: 64, split: 'test', difficulty: 0.3 }));
    const m = new LrdifModel(e, makeConfig('tiny'), 1, 3, { extractor });
    const bm = new BatchMaker(e, 64);
    const files = new Map<string, Uint8Array>();
    const store: ViewPersistence = {
      load: async (k) => files.get(k) ?? null,
      save: async (k, b) => void files.set(k, b),
      describe: (k) => `memory:${k}`,
    };
    const o = { draws: 1, flips: false, udc: { panel: 'toled' as const, strength: 1 }, seed: 4, batch: 2, landmarks: false };
    const logs: string[] = [];
    const built = await FeatureViews.build(e, m, bm, ds, o);
    await FeatureViews.shared(e, m, bm, ds, o, store, (l) => logs.push(l));
    expect(files.size).toBe(1);
    const [key] = [...files.keys()];
    expect(key).toMatch(/^synthfer-test-[0-9a-f]{16}$/);
    const back = FeatureViews.decode(ds, o, files.get(key!)!, 'stored');
    for (const name of PART_NAMES) expect(Buffer.from(back.part(name)!.data.buffer).equals(Buffer.from(built.part(name)!.data.buffer)), name).toBe(true);
    expect([...back.rowLabels]).toEqual([...built.rowLabels]);
    // Another dataset object with the same pixels finds the stored copy (a fresh process would).
    const again = new CachedDataset(new SynthFerDataset(3, { seed: 8, size: 64, split: 'test', difficulty: 0.3 }));
    await FeatureViews.shared(e, m, bm, again, o, store, (l) => logs.push(l));
    expect(logs.at(-1)).toMatch(/3 views read from memory:/);
    // Damaged: rebuilt and rewritten.
    files.set(key!, files.get(key!)!.slice(0, 100));
    const third = new CachedDataset(new SynthFerDataset(3, { seed: 8, size: 64, split: 'test', difficulty: 0.3 }));
    const rebuilt = await FeatureViews.shared(e, m, bm, third, o, store, (l) => logs.push(l));
    expect(logs.join('\n')).toMatch(/rebuilding/);
    expect(Buffer.from(rebuilt.part('embedding')!.data.buffer).equals(Buffer.from(built.part('embedding')!.data.buffer))).toBe(true);
    expect(files.get(key!)!.length).toBeGreaterThan(100);
    // Views of other settings do not fit.
    expect(() => FeatureViews.decode(ds, { ...o, draws: 2 }, files.get(key!)!, 'stored')).toThrow(/stored: not the feature views of synthfer-test with these settings/);
    bm.dispose();
    m.dispose();
  });
});
