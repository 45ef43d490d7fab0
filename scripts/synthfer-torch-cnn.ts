/**
 * Writes SynthFER train/test splits (clean, and UDC-degraded on the GPU for each panel) as raw
 * 8-bit CHW files for scripts/synthfer-torch-cnn.py, the PyTorch cross-check of SynthFER's difficulty:
 *
 *   bun scripts/synthfer-torch-cnn.ts [--dir /tmp/synthfer-cnn] [--train 2100] [--test 700] [--size 64] [--difficulty 0.3]
 *   /usr/bin/python3 scripts/synthfer-torch-cnn.py /tmp/synthfer-cnn
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../src/engine/index.ts';
import { degradeUdc, type UdcPanel } from '../src/train/data/udc.ts';
import { generateSample } from '../src/train/data/synthfer.ts';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
};
const dir = arg('dir', '/tmp/synthfer-cnn');
const size = Number(arg('size', '64'));
const difficulty = Number(arg('difficulty', '0.3'));
const counts = { train: Number(arg('train', '2100')), test: Number(arg('test', '700')) };
mkdirSync(dir, { recursive: true });
const e = await Engine.create({ log: false });
const per = 3 * size * size;
const toBytes = (v: ArrayLike<number>, out: Uint8Array, at: number) => {
  for (let k = 0; k < v.length; k++) out[at + k] = Math.round(255 * Math.min(1, Math.max(0, v[k]!)));
};
for (const split of ['train', 'test'] as const) {
  const n = counts[split];
  const clean = new Float32Array(n * per);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const s = generateSample(i, { seed: 1, size, split, difficulty });
    clean.set(s.image, i * per);
    labels[i] = s.label;
  }
  const sets: Record<string, Uint8Array> = { clean: new Uint8Array(n * per) };
  toBytes(clean, sets.clean!, 0);
  for (const panel of ['toled', 'poled'] as UdcPanel[]) {
    const out = new Uint8Array(n * per);
    for (let s = 0; s < n; s += 64) {
      const m = Math.min(64, n - s);
      const d = await e.noGrad(() => e.scope(async () => degradeUdc(e, e.tensor(clean.subarray(s * per, (s + m) * per), [m, 3, size, size]), { panel, strength: 1, seed: 1000 + s }).read()));
      toBytes(d, out, s * per);
    }
    sets[panel] = out;
  }
  for (const [name, bytes] of Object.entries(sets)) writeFileSync(join(dir, `${name}-${split}-x.bin`), bytes);
  writeFileSync(join(dir, `${split}-y.bin`), labels);
}
writeFileSync(join(dir, 'meta.json'), JSON.stringify({ size, difficulty, ...counts }));
console.log(`wrote ${counts.train} + ${counts.test} SynthFER images (${size}×${size}, difficulty ${difficulty}; clean, toled, poled) to ${dir}`);
process.exit(0);
