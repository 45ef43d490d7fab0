/** Quick learning probe: trains the tiny baseline/stage-1 on SynthFER for N steps and prints the loss curve. */
import { Engine } from '../src/engine/engine.ts';
import { tuneMatmul } from '../src/engine/ops/matmul.ts';
import { tuneConv2d } from '../src/engine/ops/conv2d.ts';
import { FROM_SCRATCH, makeConfig } from '../src/model/config.ts';
import { LrdifModel } from '../src/model/lrdif.ts';
import { crossEntropy, accuracyCounts } from '../src/engine/ops/losses.ts';
import { backward, zeroGrad } from '../src/engine/autograd.ts';
import { Adam } from '../src/engine/ops/adam.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { Rng } from '../src/model/init.ts';

const [lr, udc, aug, steps, mod, diff] = [Number(process.argv[2] ?? 1e-3), process.argv[3] === 'udc', process.argv[4] === 'aug', Number(process.argv[5] ?? 60), process.argv[6] === 'mod', Number(process.argv[7] ?? 0)];
const e = await Engine.create({ log: false });
await tuneMatmul(e);
await tuneConv2d(e);
const m = new LrdifModel(e, makeConfig('tiny', { ...FROM_SCRATCH, modulation: mod, dil: { layerScaleInit: Number(process.argv[8] ?? 1e-5) } }), 1, 1);
const ds = new CachedDataset(new SynthFerDataset(448, { seed: 1, size: 64, difficulty: diff }));
const bm = new BatchMaker(e, 64);
const opt = new Adam(m.trainable(), { lr, weightDecay: 1e-4 });
const B = 16;
const rng = new Rng(7);
let acc = 0, lossSum = 0, n = 0;
for (let s = 0; s < steps; s++) {
  const idx = Array.from({ length: B }, () => Math.floor(rng.next() * ds.length));
  const [l, c] = await e.scope(async () => {
    const b = bm.make(ds, idx, { flip: aug, erase: aug }, rng, udc ? { panel: 'toled', strength: 1 } : null, s);
    const r = m.forwardStage1({ image: b.image, landmarks: b.landmarks, labels: b.labels });
    const loss = crossEntropy(r.logits, b.labels);
    const cc = e.noGrad(() => accuracyCounts(r.logits, b.labels));
    backward(loss);
    opt.step();
    zeroGrad(m.parameters());
    return [(await loss.read())[0]!, (await cc.read())[0]!];
  });
  lossSum += l; acc += c; n++;
  if ((s + 1) % 10 === 0) { console.log(`step ${s + 1}: loss ${(lossSum / n).toFixed(3)} acc ${(acc / (n * B)).toFixed(3)}`); lossSum = 0; acc = 0; n = 0; }
}
process.exit(0);
