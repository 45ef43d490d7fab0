/**
 * Trains a small CNN for 5 Adam steps on SynthFER batches and writes initial weights, batches,
 * first-step gradients, losses and final weights to /tmp/torch-train-check.safetensors; then run
 * `/usr/bin/python3 scripts/torch-train-check.py` to replay the same steps in PyTorch and compare.
 */
import { writeFileSync } from 'node:fs';
import { Engine, crossEntropy, backward, zeroGrad, Adam } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { Rng } from '../src/model/init.ts';
import { smallCnn } from './small-cnn.ts';
import { encodeSafetensors, type StTensor } from '../src/model/safetensors.ts';

const e = await Engine.create({ log: false });
await useTuningCache(e);
const ctx = { e, rng: new Rng(3) };
const { named, params, forward: net } = smallCnn(ctx);
const out = new Map<string, StTensor>();
for (const [n, t] of named) out.set(`init.${n}`, { dtype: 'F32', shape: [...t.shape], data: (await t.read()) as Float32Array });
const ds = new SynthFerDataset(64, { seed: 1, size: 64, difficulty: 0 });
const bm = new BatchMaker(e, 64);
const opt = new Adam(params, { lr: 3e-3 });
const losses: number[] = [];
for (let s = 0; s < 5; s++) {
  const idx = Array.from({ length: 32 }, (_, i) => (i + 32 * s) % 64);
  await e.scope(async () => {
    const b = bm.make(ds, idx, { flip: false, erase: false }, new Rng(1), null, 0);
    out.set(`x${s}`, { dtype: 'F32', shape: [...b.image.shape], data: (await b.image.read()) as Float32Array });
    out.set(`y${s}`, { dtype: 'I32', shape: [32], data: Int32Array.from(b.hostLabels) });
    const loss = crossEntropy(net(b.image), b.labels);
    backward(loss);
    if (s === 0) for (const [n, t] of named) out.set(`grad0.${n}`, { dtype: 'F32', shape: [...t.shape], data: (await t.grad!.read()) as Float32Array });
    opt.step();
    zeroGrad(params);
    losses.push((await loss.read())[0]!);
  });
}
for (const [n, t] of named) out.set(`final.${n}`, { dtype: 'F32', shape: [...t.shape], data: (await t.read()) as Float32Array });
out.set('losses', { dtype: 'F32', shape: [5], data: Float32Array.from(losses) });
writeFileSync('/tmp/torch-train-check.safetensors', encodeSafetensors(out));
console.log(`losses ${losses.map((l) => l.toFixed(6)).join(' ')}; wrote /tmp/torch-train-check.safetensors`);
process.exit(0);
