/** Profiles one training step of a preset per kernel: `bun scripts/profile-step.ts [preset] [batch] [stage]`. */
import { Engine, recordShapes, tuneAll, randomUniform, crossEntropy, backward, zeroGrad } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { FROM_SCRATCH, makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';

const preset = process.argv[2] ?? 'tiny';
const B = parseInt(process.argv[3] ?? '8', 10);
const stage = parseInt(process.argv[4] ?? '1', 10) as 1 | 2;
const e = await Engine.create();
await useTuningCache(e);
const cfg = makeConfig(preset, FROM_SCRATCH);
const m = new LrdifModel(e, cfg, stage, 1);
const S = cfg.inputSize;
const step = () =>
  e.scope(() => {
    const image = randomUniform(e, [B, 3, S, S], 1);
    const landmarks = randomUniform(e, [B, 68, 2], 2);
    const labels = e.tensor(Array.from({ length: B }, (_, i) => i % 7), [B], 'u32');
    const r = stage === 1 ? m.forwardStage1({ image, landmarks, labels }) : m.forwardStage2Train({ image, landmarks, labels }, 5);
    backward(crossEntropy(r.logits, labels));
    zeroGrad(m.parameters());
  });
recordShapes(e, step); // warm-up, and the dry step whose kernel shapes tuneAll times (those not in the cache)
await tuneAll(e);
const t0 = performance.now();
step();
await e.sync();
console.log(`plain step: ${(performance.now() - t0).toFixed(0)} ms`);
await e.startProfile();
step();
const prof = await e.stopProfile();
const total = prof.reduce((a, p) => a + p.ms, 0);
console.log(`profiled step: ${total.toFixed(0)} ms over ${prof.reduce((a, p) => a + p.count, 0)} dispatches`);
for (const p of prof.slice(0, 25)) console.log(`${p.kernel.padEnd(40)} ${String(p.count).padStart(5)}  ${p.ms.toFixed(1).padStart(8)} ms  ${((100 * p.ms) / total).toFixed(1).padStart(5)} %`);
process.exit(0);
