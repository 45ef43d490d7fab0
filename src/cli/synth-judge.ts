/** `lrdif synth --judge`: SynthFER's realism check (src/train/synth-judge.ts) as files and a printed table. */
import { join } from 'node:path';
import { loadFaceExpressionNet } from '../model/landmarks/face-api-files.ts';
import type { Split } from '../train/data/synthfer.ts';
import { FsStore } from '../train/store-fs.ts';
import { judgeSynthFer, synthClassGridPng, synthJudgeMarkdown } from '../train/synth-judge.ts';
import { engine } from './common.ts';

export async function judgeSynthCommand(out: string, o: { count: number; split: Split; size: number; seed: number; difficulty: number }): Promise<void> {
  const e = await engine();
  const t0 = performance.now();
  const r = await judgeSynthFer(loadFaceExpressionNet(e), { count: o.count, seed: o.seed, difficulty: o.difficulty, size: o.size, split: o.split });
  const files = new FsStore(out);
  const md = synthJudgeMarkdown(r);
  await files.write('judge.md', `${md}\n![example faces per class (one row per class, in table order)](synthfer-classes.png)\n`);
  await files.write('judge.json', `${JSON.stringify(r, null, 2)}\n`);
  await files.write('synthfer-classes.png', synthClassGridPng({ seed: o.seed, difficulty: o.difficulty, columns: 6, size: o.size, split: o.split }));
  console.log(md);
  console.error(`judged ${o.count} faces in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${join(out, 'judge.md')}, judge.json, synthfer-classes.png`);
}
