/**
 * Landmarks for datasets that have none: face-api's network run once per image and cached
 * (src/train/data/predicted-landmarks.ts), and their path through openData for a real dataset.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LandmarkedDataset, predictLandmarks, withPredictedLandmarks } from '../src/train/data/predicted-landmarks.ts';
import { MemoryDataset, type Sample } from '../src/train/data/dataset.ts';
import { generateSample } from '../src/train/data/synthfer.ts';
import { encodePngChw } from '../src/train/data/png.ts';
import { openData } from '../src/train/data/open.ts';
import type { Engine } from '../src/engine/engine.ts';
import { freshSeed, getEngine } from './helpers.ts';

let e: Engine;
const tmp = mkdtempSync(join(tmpdir(), 'lrdif-lm-'));
beforeAll(async () => {
  e = await getEngine();
});

/** Mean distance in pixels (at `size`) between two n × 136 point sets in [0, 1]. */
function meanErrorPx(a: ArrayLike<number>, b: ArrayLike<number>, size: number): number {
  let sum = 0;
  for (let k = 0; k < a.length; k += 2) sum += size * Math.hypot(a[k]! - b[k]!, a[k + 1]! - b[k + 1]!);
  return sum / (a.length / 2);
}

describe('predicted landmarks', () => {
  it('finds SynthFER landmarks on 64-pixel images (whole image as the crop) and caches them by pixels and weights', async () => {
    const seed = freshSeed('predicted landmarks');
    const faces = Array.from({ length: 10 }, (_, i) => generateSample(i, { seed, size: 64, difficulty: 0.3 }));
    const exact = new Float32Array(faces.flatMap((f) => [...f.landmarks]));
    const ds = new MemoryDataset('synth64', 64, 7, faces.map((f): Sample => ({ image: f.image, landmarks: null, label: f.label })));
    const cacheDir = join(tmp, 'cache');
    const first = await predictLandmarks(e, ds, { pixelsKey: `synth-${seed}`, cacheDir, batch: 4 });
    expect(first.fromCache).toBe(false);
    expect(first.landmarks.every(Number.isFinite)).toBe(true);
    const err = meanErrorPx(first.landmarks, exact, 64);
    console.log(`[predicted landmarks] mean error ${err.toFixed(2)} px at 64×64 over ${faces.length} SynthFER faces, ${first.msPerImage.toFixed(1)} ms/image`);
    // A pretrained net on rendered faces upsampled from 64 px: a couple of pixels. Swapped axes or a
    // pixel-vs-[0, 1] mix-up give > 10 px.
    expect(err).toBeLessThan(4);
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('landmarks-'))).toHaveLength(1);

    const again = await predictLandmarks(e, ds, { pixelsKey: `synth-${seed}`, cacheDir });
    expect(again.fromCache).toBe(true);
    expect([...again.landmarks]).toEqual([...first.landmarks]);
    // Other pixels (another key) are predicted afresh, not served from the cache.
    const other = await predictLandmarks(e, ds, { pixelsKey: `synth-${seed}-other`, cacheDir });
    expect(other.fromCache).toBe(false);

    // A damaged cache file is rebuilt, not trusted.
    const file = first.cacheFile!;
    writeFileSync(file, 'LRDIFLM1garbage');
    const rebuilt = await predictLandmarks(e, ds, { pixelsKey: `synth-${seed}`, cacheDir });
    expect(rebuilt.fromCache).toBe(false);
    expect(Math.max(...rebuilt.landmarks.map((v, i) => Math.abs(v - first.landmarks[i]!)))).toBeLessThan(1e-5);

    const { dataset } = await withPredictedLandmarks(e, ds, { pixelsKey: `synth-${seed}`, cacheDir });
    expect([...dataset.get(3).landmarks!]).toEqual([...first.landmarks.subarray(3 * 136, 4 * 136)]);
    expect(dataset.get(3).label).toBe(faces[3]!.label);
  });

  it('checks the number of points against the dataset', () => {
    const ds = new MemoryDataset('two', 8, 7, [0, 1].map((): Sample => ({ image: new Float32Array(192), landmarks: null, label: 0 })));
    expect(() => new LandmarkedDataset(ds, new Float32Array(136), 'test')).toThrow('two: 136 landmark values for 2 images (expected 272)');
  });

  it("gives a real dataset (image folder) predicted landmarks through openData, or none with landmarks: 'none'", async () => {
    const seed = freshSeed('openData landmarks');
    const root = join(tmp, 'folder');
    const exact = new Map<string, Float32Array>();
    for (const [cls, label] of [['happy', 3], ['sad', 4]] as const) {
      mkdirSync(join(root, cls), { recursive: true });
      for (let k = 0; k < 5; k++) {
        const f = generateSample(7 * k + label, { seed, size: 64, difficulty: 0 });
        writeFileSync(join(root, cls, `f${k}.png`), encodePngChw(f.image, 64, 64));
        exact.set(`${cls}/f${k}.png`, f.landmarks);
      }
    }
    const cacheDir = join(tmp, 'open-cache');
    const data = await openData(`folder:${root}`, 'tiny', 0, {}, { engine: e, cacheDir });
    for (const ds of [data.train, data.test]) {
      const files = (ds as LandmarkedDataset).inner as unknown as { files: string[] };
      for (let i = 0; i < ds.length; i++) {
        const lm = ds.get(i).landmarks;
        expect(lm).not.toBeNull();
        expect(meanErrorPx(lm!, exact.get(files.files[i]!)!, 64)).toBeLessThan(5);
      }
    }
    expect(readdirSync(cacheDir).filter((f) => f.startsWith('landmarks-folder-'))).toHaveLength(2);
    const none = await openData(`folder:${root}`, 'tiny', 0, {}, { landmarks: 'none', cacheDir });
    expect(none.train.get(0).landmarks).toBeNull();
    await expect(openData(`folder:${root}`, 'tiny', 0, {}, { cacheDir })).rejects.toThrow("predicting landmarks needs the engine (or pass landmarks: 'none')");
  });
});
