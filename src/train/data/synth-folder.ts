/**
 * `lrdif synth --out DIR`: SynthFER written as an image-folder dataset that `--data folder:DIR` reads:
 *
 *   DIR/<split>/<class>/<index>.png    one PNG per sample, in its (possibly noisy) label's folder
 *   DIR/<split>/labels.csv             file,label,class,true_label,identity (file relative to DIR/<split>)
 *   DIR/<split>/landmarks.json         the generator's exact 68 points per file
 *
 * Write `--split train` and `--split test` into the same DIR and `folder:DIR` trains and tests on
 * disjoint identities (its train/ and test/ folders); one split alone reads as `folder:DIR/<split>`
 * (then a seeded 80/20 split of that split's images). The folder loader ignores labels.csv and
 * landmarks.json (they are for other tools); the class folders carry the labels.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXPRESSION_NAMES, generateSample, type Split } from './synthfer.ts';
import { encodePngChw } from './png.ts';

export interface SynthFolderOptions {
  count: number;
  split: Split;
  size: number;
  seed: number;
  difficulty: number;
  labelNoise: number;
  onProgress?: (done: number) => void;
}

/** The file of sample `index` relative to DIR/<split>. */
export function synthFile(index: number, label: number): string {
  return `${EXPRESSION_NAMES[label]}/${String(index).padStart(6, '0')}.png`;
}

/** Writes `count` samples of one split under out/<split>/ (which must not hold files yet); returns that folder. */
export function writeSynthFolder(out: string, o: SynthFolderOptions): string {
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`synth: --count ${o.count} must be a positive integer`);
  if (!Number.isInteger(o.size) || o.size < 8) throw new Error(`synth: --size ${o.size} must be an integer ≥ 8`);
  const dir = join(out, o.split);
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`synth: ${dir} already holds files (an earlier ${o.split} split?); choose another --out or remove it (nothing is overwritten)`);
  }
  for (const name of EXPRESSION_NAMES) mkdirSync(join(dir, name), { recursive: true });
  const rows = ['file,label,class,true_label,identity'];
  const landmarks: Record<string, number[]> = {};
  for (let i = 0; i < o.count; i++) {
    const s = generateSample(i, { seed: o.seed, size: o.size, split: o.split, difficulty: o.difficulty, labelNoise: o.labelNoise });
    const file = synthFile(i, s.label);
    writeFileSync(join(dir, file), encodePngChw(s.image, o.size, o.size));
    rows.push(`${file},${s.label},${EXPRESSION_NAMES[s.label]},${s.trueLabel},${s.identity}`);
    landmarks[file] = Array.from(s.landmarks, (v) => +v.toFixed(6));
    o.onProgress?.(i + 1);
  }
  writeFileSync(join(dir, 'labels.csv'), `${rows.join('\n')}\n`);
  writeFileSync(join(dir, 'landmarks.json'), JSON.stringify({ format: 'x,y pairs in [0,1] from the top-left, iBUG/300-W order', landmarks }));
  return dir;
}
