/**
 * Runs the SynthFER realism check (face-api's expression net, zero-shot) at one or more difficulties and
 * writes, per difficulty, a Markdown report and the raw result as JSON, plus one PNG grid of clean
 * example faces per class.
 *
 *   bun scripts/synth-judge.ts OUT_DIR [--count 700] [--seed 1] [--difficulty 0,0.3,0.6]
 *                              [--panels toled,poled] [--columns 6] [--grid-difficulty 0]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/engine.ts';
import { loadFaceExpressionNet } from '../src/model/landmarks/face-api-files.ts';
import { UDC_PANELS, type UdcPanel } from '../src/train/data/udc.ts';
import { judgeSynthFer, synthClassGridPng, synthJudgeMarkdown } from '../src/train/synth-judge.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string', default: '700' },
    seed: { type: 'string', default: '1' },
    difficulty: { type: 'string', default: '0,0.3,0.6' },
    panels: { type: 'string', default: UDC_PANELS.join(',') },
    columns: { type: 'string', default: '6' },
    'grid-difficulty': { type: 'string', default: '0' },
  },
});
const dir = positionals[0];
if (!dir) throw new Error('usage: synth-judge.ts OUT_DIR [--count N] [--seed N] [--difficulty D,D,…] [--panels toled,poled|none] [--columns N]');
const number = (flag: string, v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new Error(`--${flag}: "${v}" is not a number`);
  return n;
};
const count = number('count', values.count!);
const seed = number('seed', values.seed!);
const difficulties = values.difficulty!.split(',').map((v) => number('difficulty', v));
const panels = values.panels === 'none' ? [] : (values.panels!.split(',') as UdcPanel[]);
mkdirSync(dir, { recursive: true });

const grid = join(dir, 'synthfer-classes.png');
writeFileSync(grid, synthClassGridPng({ seed, difficulty: number('grid-difficulty', values['grid-difficulty']!), columns: number('columns', values.columns!) }));
console.log(`wrote ${grid}`);

const e = await Engine.create({ log: false });
const net = loadFaceExpressionNet(e);
for (const difficulty of difficulties) {
  const t0 = performance.now();
  const r = await judgeSynthFer(net, { count, seed, difficulty, panels });
  const md = synthJudgeMarkdown(r);
  const base = join(dir, `judge-d${difficulty}`);
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, JSON.stringify(r, null, 1) + '\n');
  console.log(md);
  console.log(`wrote ${base}.md, ${base}.json (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
