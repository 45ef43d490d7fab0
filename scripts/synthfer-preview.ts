/**
 * Writes a SynthFER contact sheet: one row per class (0 surprise … 6 neutral), `--per-class` samples
 * per row, optionally with the 68 landmarks drawn on top.
 *
 *   bun scripts/synthfer-preview.ts OUT.png [--size 112] [--per-class 8] [--seed 1] [--split train]
 *                                   [--difficulty 0.5] [--style natural|parts] [--landmarks]
 */
import { writeFileSync } from 'node:fs';
import { EXPRESSION_NAMES, NUM_EXPRESSIONS, generateSample, type RenderStyle, type Split } from '../src/train/data/synthfer.ts';
import { encodePng } from '../src/train/data/png.ts';

function parseArgs(argv: string[]): { out: string; flags: Map<string, string> } {
  const flags = new Map<string, string>();
  let out = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) flags.set(a.slice(2), 'true');
      else {
        flags.set(a.slice(2), next);
        i++;
      }
    } else out = a;
  }
  if (!out) throw new Error('usage: synthfer-preview.ts OUT.png [--size N] [--per-class N] [--seed N] [--split train|val|test] [--difficulty D] [--style natural|parts] [--landmarks]');
  return { out, flags };
}

const { out, flags } = parseArgs(process.argv.slice(2));
const size = Number(flags.get('size') ?? 112);
const perClass = Number(flags.get('per-class') ?? 8);
const seed = Number(flags.get('seed') ?? 1);
const split = (flags.get('split') ?? 'train') as Split;
const difficulty = Number(flags.get('difficulty') ?? 0.5);
const style = (flags.get('style') ?? 'natural') as RenderStyle;
const drawLandmarks = flags.has('landmarks');

const gutter = 2;
const W = perClass * (size + gutter) + gutter;
const H = NUM_EXPRESSIONS * (size + gutter) + gutter;
const sheet = new Uint8Array(4 * W * H).fill(255);
const plane = size * size;

for (let c = 0; c < NUM_EXPRESSIONS; c++) {
  for (let j = 0; j < perClass; j++) {
    const smp = generateSample(c + NUM_EXPRESSIONS * j, { seed, size, split, difficulty, style });
    const ox = gutter + j * (size + gutter), oy = gutter + c * (size + gutter);
    const put = (x: number, y: number, rgb: readonly number[]): void => {
      if (x < 0 || y < 0 || x >= size || y >= size) return;
      const o = 4 * ((oy + y) * W + ox + x);
      for (let k = 0; k < 3; k++) sheet[o + k] = rgb[k]!;
    };
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = y * size + x;
        put(x, y, [0, 1, 2].map((k) => Math.round(255 * smp.image[k * plane + i]!)));
      }
    }
    if (drawLandmarks) {
      const r = size >= 100 ? 1 : 0;
      for (let p = 0; p < 68; p++) {
        const x = Math.floor(smp.landmarks[2 * p]! * size), y = Math.floor(smp.landmarks[2 * p + 1]! * size);
        const colour = p < 17 ? [255, 255, 0] : p < 27 ? [0, 255, 0] : p < 36 ? [0, 255, 255] : p < 48 ? [255, 0, 255] : [255, 64, 0];
        for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) put(x + dx, y + dy, colour);
      }
    }
  }
}
writeFileSync(out, encodePng({ width: W, height: H, data: sheet }));
console.log(`wrote ${out}: ${NUM_EXPRESSIONS} rows (${EXPRESSION_NAMES.join(', ')}) × ${perClass} samples at ${size}×${size}`);
