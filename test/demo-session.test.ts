/**
 * The demo's session under Bun (llvmpipe), weights read from node_modules instead of fetched: with
 * the default protocol the model gets its features from face-api's frozen networks run on the
 * image it sees, and the page never hands it SynthFER's exact landmarks. (test/demo.test.ts runs
 * the same session in Chromium.)
 */
import { describe, it, expect } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DemoSession, SOFTWARE_SETTINGS, type DemoSettings, type EpochInfo } from '../web/session.ts';
import { faceApiModelDir } from '../src/model/landmarks/face-api-files.ts';
import { getEngine } from './helpers.ts';

/** SOFTWARE_SETTINGS (the page's micro run) with fewer faces and epochs: one epoch per stage. */
const SETTINGS: DemoSettings = { ...SOFTWARE_SETTINGS, trainImages: 16, testImages: 7, epochs1: 1, epochs2: 1 };

describe('demo session', () => {
  it("trains stage 1 then stage 2 on face-api's frozen features without the dataset's landmarks, and classifies a new image", { timeout: 300_000 }, async () => {
    const epochs: EpochInfo[] = [];
    const statuses: string[] = [];
    let state = '';
    let detail = '';
    const dir = faceApiModelDir();
    const session = new DemoSession(
      {
        state: (s, d) => {
          state = s;
          detail = d ?? '';
        },
        status: (t) => statuses.push(t),
        step: () => {},
        epoch: (e) => epochs.push(e),
        snapshot: () => {},
      },
      { engine: getEngine, readWeights: async (name) => new Uint8Array(await readFile(join(dir, name))) },
    );
    session.start(SETTINGS);
    for (let i = 0; i < 600 && !['done', 'error'].includes(state); i++) await new Promise((r) => setTimeout(r, 500));
    expect(detail).toBe('trained stage 2');
    expect(state).toBe('done');
    expect(epochs.map((e) => e.stage)).toEqual([1, 2]);
    for (const e of epochs) expect(Number.isFinite(e.trainLoss) && Number.isFinite(e.heldOutLoss)).toBe(true);
    expect(statuses.some((s) => /frozen networks on the training features/.test(s))).toBe(true);
    const m = session.model!;
    expect(m.cfg.backbone).toBe('face-api');
    expect(m.cfg.landmarkFeatures).toBe('backbone');
    expect(m.extractor).not.toBeNull();
    // The frozen networks' activations were handed back after extraction: what the pool keeps free
    // is the training step's working set, not the extraction's (about 0.9 GiB at batch 32 before).
    const pool = session.poolStats()!;
    console.log(`[demo session] pool after training: ${pool.liveBuffers} live (${(pool.liveBytes / 2 ** 20).toFixed(1)} MiB), ${pool.freeBuffers} free (${(pool.freeBytes / 2 ** 20).toFixed(1)} MiB)`);
    expect(pool.freeBytes).toBeLessThan(256 * 2 ** 20);

    // The held-out samples the page feeds the model carry no landmarks.
    const probe = await session.probe(3, 5);
    expect(probe.samples.every((s) => s.landmarks === null)).toBe(true);
    expect(probe.logits.every(Number.isFinite)).toBe(true);

    // A new image: its features come from the frozen networks on the (degraded) image itself.
    const S = m.cfg.inputSize;
    const image = Float32Array.from(probe.samples[0]!.image);
    expect(image.length).toBe(3 * S * S);
    const r = await session.infer(image, true);
    expect(r.note).toMatch(/features from face-api's frozen networks on the image the model sees/);
    expect(r.landmarks).toBeNull();
    expect(r.probabilities.length).toBe(7);
    expect(Math.abs(r.probabilities.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-4);

    // Its checkpoint loads back (frozen-backbone checkpoints are accepted) and gives the same logits.
    const { bytes, name } = await session.download();
    await session.reset();
    await session.load(bytes, name);
    const again = await session.probe(3, 5);
    expect(again.logits).toEqual(probe.logits);
    await session.reset();
  });
});
