/** Builds a preset, prints parameter counts, and times a forward (+ backward) at a batch size. */
import { Engine } from '../src/engine/engine.ts';
import { makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';
import { randomUniform } from '../src/engine/ops/random.ts';
import { crossEntropy } from '../src/engine/ops/losses.ts';
import { backward } from '../src/engine/autograd.ts';

const preset = process.argv[2] ?? 'tiny';
const B = parseInt(process.argv[3] ?? '8', 10);
const stage = parseInt(process.argv[4] ?? '1', 10) as 1 | 2;
const e = await Engine.create();
const cfg = makeConfig(preset);
const m = new LrdifModel(e, cfg, stage, 1);
const count = (prefix: string) => [...m.namedParameters()].filter(([n]) => n.startsWith(prefix)).reduce((p, [, t]) => p + t.size, 0);
console.log(`${preset}: total ${m.numParameters()} | dt ${count('dt.')} | dil ${count('dil.')} | fusion ${count('fusion.')} | fpen_s1 ${count('fpen_s1.')} | fpen_s2 ${count('fpen_s2.')} | denoise ${count('denoise.')}`);
const S = cfg.inputSize;
for (let it = 0; it < 3; it++) {
  const s0 = e.getStats();
  const t0 = performance.now();
  await e.scope(async () => {
    const image = randomUniform(e, [B, 3, S, S], 1 + it);
    const landmarks = randomUniform(e, [B, 68, 2], 2 + it);
    const labels = e.tensor(Array.from({ length: B }, (_, i) => i % 7), [B], 'u32');
    const r = stage === 1 ? m.forwardStage1({ image, landmarks, labels }) : m.forwardStage2Train({ image, landmarks, labels }, 5);
    const loss = crossEntropy(r.logits, labels);
    backward(loss);
    for (const p of m.parameters()) { p.grad?.dispose(); p.grad = null; }
    console.log('loss', (await loss.read())[0]);
  });
  const s1 = e.getStats();
  console.log(`step ${it}: ${(performance.now() - t0).toFixed(0)} ms, dispatches ${s1.dispatches - s0.dispatches}, submits ${s1.submits - s0.submits}, pipelines ${s1.pipelines}, pool ${JSON.stringify(e.poolStats())}`);
}
process.exit(0);
