/**
 * Time per image of face-api's face-recognition network on our engine:
 * `bun scripts/face-recognition-time.ts [batch …] [--runs N] [--no-tune] [--profile]` (default batches 16 32).
 * Each batch size: one warm-up pass (pipelines compile; the tuner times its new kernel shapes unless
 * --no-tune, which keeps the per-adapter defaults), then the median of N timed passes, each
 * synchronised by reading the descriptors back. --profile adds a per-kernel breakdown of one pass.
 */
import { Engine, recordShapes, tuneAll, randomUniform } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { loadFaceRecognitionNet } from '../src/model/landmarks/face-api-files.ts';
import { FaceRecognitionNet } from '../src/model/landmarks/face-recognition-net.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? parseInt(args[runsAt + 1]!, 10) : 5;
const batches = args.filter((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--runs').map(Number);
if (batches.length === 0) batches.push(16, 32);

const e = await Engine.create({ log: false });
if (!flag('--no-tune')) await useTuningCache(e);
const net = loadFaceRecognitionNet(e);
const n = FaceRecognitionNet.INPUT;
console.log(`${e.info.kind} adapter (${e.info.description}), ${flag('--no-tune') ? 'default' : 'tuned'} conv/matmul strategies, ${runs} timed runs`);

for (const b of batches) {
  const x = randomUniform(e, [b, 3, n, n], 7).keep();
  const pass = () => e.noGrad(() => e.scope(async () => { await net.descriptor(x).read(); }));
  await recordShapes(e, pass); // warm-up, and the dry pass whose kernel shapes tuneAll times (those not in the cache)
  if (!flag('--no-tune')) await tuneAll(e);
  const ms: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    await pass();
    ms.push(performance.now() - t0);
  }
  ms.sort((p, q) => p - q);
  const median = ms[Math.floor(ms.length / 2)]!;
  console.log(`batch ${String(b).padStart(3)}: ${median.toFixed(0)} ms per pass (median; min ${ms[0]!.toFixed(0)}, max ${ms[ms.length - 1]!.toFixed(0)}), ${(median / b).toFixed(1)} ms per image`);
  if (flag('--profile')) {
    await e.startProfile();
    await pass();
    const prof = await e.stopProfile();
    const total = prof.reduce((a, p) => a + p.ms, 0);
    console.log(`  profiled: ${total.toFixed(0)} ms over ${prof.reduce((a, p) => a + p.count, 0)} dispatches`);
    for (const p of prof.slice(0, 12)) console.log(`  ${p.kernel.padEnd(40)} ${String(p.count).padStart(5)} ${p.ms.toFixed(1).padStart(9)} ms ${((100 * p.ms) / total).toFixed(1).padStart(6)} %`);
  }
  x.dispose();
}
net.dispose();
