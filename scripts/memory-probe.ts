/**
 * Host- and GPU-memory probe for long training runs: trains the micro model (the browser demo's
 * size, from scratch) with the real Trainer on SynthFER for N steps and prints, every 100 steps,
 * process RSS, JS heap after a full GC, live pool buffers and bytes, and bind groups created per
 * step. A leak shows as RSS or heap growing linearly with steps.
 *
 *   bun scripts/memory-probe.ts [steps=500] [stage=1|2]
 */
import { Engine } from '../src/engine/index.ts';
import { makeConfig, type DeepPartial, type LrdifConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { StoppedEarly, Trainer } from '../src/train/trainer.ts';

const steps = parseInt(process.argv[2] ?? '500', 10);
const stage = (parseInt(process.argv[3] ?? '1', 10) === 2 ? 2 : 1) as 1 | 2;
if (!Number.isInteger(steps) || steps < 100) throw new Error(`steps: expected an integer ≥ 100, got ${process.argv[2]}`);

const MICRO: DeepPartial<LrdifConfig> = {
  backbone: 'none', landmarkFeatures: 'heatmap', inputSize: 32, eprDim: 32, embedDim: 64,
  imageEncoder: { width: 8, resBlocks: 0 }, dt: { dims: [8, 16, 32, 64], blocks: [0, 0, 0, 1] }, dil: { dims: [8, 16, 32] }, vit: { width: 32 }, diffusion: { steps: 2 },
};

const e = await Engine.create({ log: true });
const train = new CachedDataset(new SynthFerDataset(1000, { seed: 1, size: 32, split: 'train', difficulty: 0 }));
const test = new CachedDataset(new SynthFerDataset(8, { seed: 1, size: 32, split: 'test', difficulty: 0 }));
// Fill the dataset cache first so its growth is not mistaken for a leak.
for (let i = 0; i < train.length; i++) train.get(i);
for (let i = 0; i < test.length; i++) test.get(i);
const model = new LrdifModel(e, makeConfig('tiny', MICRO), stage, 1);
const trainer = new Trainer(e, model, train, test, { epochs: 1000, batchSize: 8, lr: 1e-3, seed: 1, logEvery: 10, stopAfterSteps: steps, udc: { panel: 'toled', strength: 0.3 } });

const mib = (b: number) => (b / 2 ** 20).toFixed(1);
let lastStep = 0;
let nextReport = 100;
let lastBindGroups = e.getStats().bindGroupsCreated;
console.log('step  rss MiB  heap MiB  live buffers  live MiB  bind groups/step  dispatches/step');
let lastDispatches = e.getStats().dispatches;
try {
  await trainer.run({
    onStep: async (log) => {
      if (log.step < nextReport) return;
      nextReport += 100;
      await e.sync();
      Bun.gc(true);
      const s = e.getStats();
      const pool = e.poolStats();
      const n = log.step - lastStep;
      console.log(
        `${String(log.step).padStart(4)}  ${mib(process.memoryUsage().rss).padStart(7)}  ${mib(process.memoryUsage().heapUsed).padStart(8)}  ${String(pool.liveBuffers).padStart(12)}  ${mib(pool.liveBytes).padStart(8)}  ${((s.bindGroupsCreated - lastBindGroups) / n).toFixed(1).padStart(16)}  ${((s.dispatches - lastDispatches) / n).toFixed(0).padStart(15)}`,
      );
      lastStep = log.step;
      lastBindGroups = s.bindGroupsCreated;
      lastDispatches = s.dispatches;
    },
  });
} catch (err) {
  if (!(err instanceof StoppedEarly)) throw err;
}
console.log(`total bind groups created: ${e.getStats().bindGroupsCreated}`);
