/**
 * The SynthFER realism check: face-api's expression net (zero-shot, on our engine) judging SynthFER
 * faces clean and through the UDC panels; its bookkeeping, report, example grid and input errors.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { loadFaceExpressionNet } from '../src/model/landmarks/face-api-files.ts';
import type { FaceExpressionNet } from '../src/model/landmarks/face-landmark-net.ts';
import { EXPRESSION_NAMES, SynthFerDataset } from '../src/train/data/synthfer.ts';
import { decodeImageChw } from '../src/train/data/images.ts';
import { judgeDataset } from '../src/train/expression-judge.ts';
import { judgeSynthFer, synthClassGridPng, synthJudgeMarkdown } from '../src/train/synth-judge.ts';
import { freshSeed, getEngine } from './helpers.ts';

let net: FaceExpressionNet;

beforeAll(async () => {
  net = loadFaceExpressionNet(await getEngine());
});

describe('judgeSynthFer', () => {
  it('judges one face per class clean, T-OLED and P-OLED with consistent recall, confusion and accuracy', async () => {
    const seed = freshSeed('synth judge bookkeeping');
    const r = await judgeSynthFer(net, { count: 7, seed, difficulty: 0, size: 64, batch: 4 });
    expect(r.conditions.map((c) => c.name)).toEqual(['clean', 'toled', 'poled']);
    expect(r.options).toMatchObject({ count: 7, seed, difficulty: 0, size: 64, split: 'test' });
    for (const c of r.conditions) {
      expect(c.confusion.length).toBe(7);
      // Indices 0…6 are one face of each class: every row holds exactly one face.
      c.confusion.forEach((row, k) => {
        expect(row.length).toBe(7);
        expect(row.reduce((a, b) => a + b, 0), `${c.name} row ${k}`).toBe(1);
        expect(c.recall[k]).toBe(row[k]);
      });
      expect(c.accuracy).toBeCloseTo(c.confusion.reduce((a, row, k) => a + row[k]!, 0) / 7, 12);
      console.log(`[synth judge] ${c.name}: ${c.confusion.map((row) => EXPRESSION_NAMES[row.indexOf(1)]).join(', ')}`);
    }
    // The clean condition is exactly the expression judge on the same SynthFER split.
    const direct = await judgeDataset(net, new SynthFerDataset(7, { seed, size: 64, split: 'test', difficulty: 0 }), { seed, batch: 7 });
    expect(r.conditions[0]!.confusion).toEqual(direct.confusion.slice(0, 7).map((row) => row.slice(0, 7)));

    const md = synthJudgeMarkdown(r);
    expect(md).toContain('| class | clean | toled | poled |');
    for (const name of EXPRESSION_NAMES) expect(md).toMatch(new RegExp(`^\\| ${name} \\| \\d+ % \\| \\d+ % \\| \\d+ % \\|$`, 'm'));
    expect(md).toContain(`| **overall** | **${(100 * r.conditions[0]!.accuracy).toFixed(0)} %** |`);
    expect(md.match(/^## Confusion, /gm)?.length).toBe(3);
    expect(md).toContain(`| true \\ judged | ${EXPRESSION_NAMES.join(' | ')} |`);
  });

  it('recognises clear (difficulty-0) SynthFER expressions far above chance', async () => {
    const seed = freshSeed('synth judge realism');
    const r = await judgeSynthFer(net, { count: 14, seed, difficulty: 0, panels: [] });
    const clean = r.conditions[0]!;
    console.log(`[synth judge] clean accuracy ${(100 * clean.accuracy).toFixed(0)} % on 14 faces; recall ${clean.recall.map((v) => v.toFixed(1)).join(' ')}`);
    // Measured on 700 faces: about 3/4 (`lrdif synth --judge`); chance is 1/7.
    expect(clean.accuracy).toBeGreaterThanOrEqual(0.5);
  });

  it('rejects bad options with the option and what was expected', async () => {
    await expect(judgeSynthFer(net, { count: 0, seed: 1, difficulty: 0 })).rejects.toThrow(/judgeSynthFer: count 0 must be a positive integer/);
    await expect(judgeSynthFer(net, { count: 7, seed: 1, difficulty: 1.5 })).rejects.toThrow(/judgeSynthFer: difficulty 1.5 must be in \[0, 1\]/);
    await expect(judgeSynthFer(net, { count: 7, seed: 1.5, difficulty: 0 })).rejects.toThrow(/judgeSynthFer: seed 1.5 must be an integer/);
    await expect(judgeSynthFer(net, { count: 7, seed: 1, difficulty: 0, panels: ['xoled' as never] })).rejects.toThrow(/judgeSynthFer: panel "xoled" is not one of toled, poled/);
  });
});

describe('synthClassGridPng', () => {
  it('lays out one row per class and `columns` faces per row, each face exactly as generated', async () => {
    const seed = freshSeed('synth grid');
    const size = 32, columns = 3, gap = 2;
    const png = await decodeImageChw(synthClassGridPng({ seed, difficulty: 0, columns, size, gap }));
    expect([png.width, png.height]).toEqual([columns * (size + gap) + gap, 7 * (size + gap) + gap]);
    const ds = new SynthFerDataset(7 * columns, { seed, size, split: 'test', difficulty: 0 });
    const plane = png.width * png.height;
    for (const [k, j] of [[0, 0], [3, 1], [6, 2]] as const) {
      const face = ds.get(k + 7 * j);
      expect(face.label).toBe(k);
      let worst = 0;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < size; y++)
          for (let x = 0; x < size; x++) {
            const v = png.image[c * plane + (gap + k * (size + gap) + y) * png.width + gap + j * (size + gap) + x]!;
            worst = Math.max(worst, Math.abs(v - face.image[(c * size + y) * size + x]!));
          }
      expect(worst, `row ${k} column ${j}`).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    }
    expect(png.image[0]).toBe(1); // white border
    expect(() => synthClassGridPng({ seed, difficulty: 0, columns: 0 })).toThrow(/synthClassGridPng: columns 0 must be a positive integer/);
  });
});
