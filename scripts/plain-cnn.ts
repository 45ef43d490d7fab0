/**
 * SynthFER difficulty check with a small plain CNN (conv-ReLU ×4 with stride, global average pool,
 * linear): trains on clean or UDC-degraded images and reports held-out accuracy.
 *   bun scripts/plain-cnn.ts [clean|toled|poled] [steps] [difficulty]
 */
import { Engine, crossEntropy, accuracyCounts, backward, zeroGrad, Adam } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { Rng } from '../src/model/init.ts';
import { smallCnn } from './small-cnn.ts';

const mode = process.argv[2] ?? 'clean';
const steps = Number(process.argv[3] ?? 300);
const difficulty = Number(process.argv[4] ?? 0.5);
const udc = mode === 'clean' ? null : { panel: mode as 'toled' | 'poled', strength: 1 };
const e = await Engine.create({ log: false });
await useTuningCache(e);
const ctx = { e, rng: new Rng(3) };
const cnn = smallCnn(ctx);
const params = cnn.params;
const net = cnn.forward;
const train = new CachedDataset(new SynthFerDataset(2100, { seed: 1, size: 64, split: 'train', difficulty }));
const test = new CachedDataset(new SynthFerDataset(700, { seed: 1, size: 64, split: 'test', difficulty }));
const bm = new BatchMaker(e, 64);
const opt = new Adam(params, { lr: 3e-3 });
const rng = new Rng(5);
const B = 32;
const t0 = performance.now();
for (let s = 0; s < steps; s++) {
  const idx = Array.from({ length: B }, () => Math.floor(rng.next() * train.length));
  e.scope(() => {
    const b = bm.make(train, idx, { flip: true, erase: false }, rng, udc, s);
    backward(crossEntropy(net(b.image), b.labels));
    opt.step();
    zeroGrad(params);
  });
}
let correct = 0;
for (let i = 0; i < test.length; i += 100) {
  const idx = Array.from({ length: Math.min(100, test.length - i) }, (_, k) => i + k);
  correct += await e.noGrad(() => e.scope(async () => {
    const b = bm.make(test, idx, { flip: false, erase: false }, rng, udc, 100000 + i);
    return (await accuracyCounts(net(b.image), b.labels).read())[0]!;
  }));
}
console.log(`plain CNN, ${mode}, difficulty ${difficulty}, ${steps} steps of ${B}: held-out accuracy ${(100 * correct / test.length).toFixed(1)} % (chance 14.3 %), ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(0);
