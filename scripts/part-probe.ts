/**
 * Which part of the tiny UDCformer learns slowly? Trains either the whole baseline (`full`) or one
 * part with a linear head on its globally pooled output, on easy SynthFER (difficulty 0, 490 faces),
 * and prints held-out accuracy every 50 steps (chance 0.143):
 *   stem3  the DIL image stem's last map          ln3   the same after the DIL block's LayerNorm
 *   blk3   the DIL block on it (self-queries)     dil3  the DIL network's level-3 output
 *   dt3    the DT network's latent                both3 DT latent + DIL level 3
 *   dtfusion  the fusion head on the DT features alone
 *   bun scripts/part-probe.ts PART [steps 300] [batch 16] [lr 2e-3]   (CFG='{"dil":{…}}' overrides the config)
 */
import { Engine } from '../src/engine/engine.ts';
import { tuneMatmul } from '../src/engine/ops/matmul.ts';
import { tuneConv2d, globalAvgPool } from '../src/engine/ops/conv2d.ts';
import { crossEntropy, accuracyCounts } from '../src/engine/ops/losses.ts';
import { backward, zeroGrad } from '../src/engine/autograd.ts';
import { Adam } from '../src/engine/ops/adam.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { BatchMaker } from '../src/train/batch.ts';
import { Rng } from '../src/model/init.ts';
import { Linear } from '../src/model/layers.ts';
import { buildModel } from '../src/train/pipeline.ts';
import { concat, permute } from '../src/engine/ops/layout.ts';
import { mean } from '../src/engine/ops/reduce.ts';
import type { Tensor } from '../src/engine/tensor.ts';
const [part, steps, B, lr] = [process.argv[2] ?? 'stem3', Number(process.argv[3] ?? 300), Number(process.argv[4] ?? 16), Number(process.argv[5] ?? 2e-3)];
const e = await Engine.create({ log: false });
await tuneMatmul(e); await tuneConv2d(e);
const ds = new CachedDataset(new SynthFerDataset(490, { seed: 1, size: 64, difficulty: 0 }));
const test = new CachedDataset(new SynthFerDataset(210, { seed: 1, size: 64, difficulty: 0, split: 'test' }));
const m = buildModel(e, { preset: 'tiny', config: { modulation: false, ...JSON.parse(process.env.CFG ?? '{}') }, stage: 1, train: ds, seed: 1 });
const ctx = { e, rng: new Rng(9) };
const dims: Record<string, number> = { dil3: 64, stem3: 64, ln3: 64, blk3: 64, dt3: 128, both3: 192 };
if (part !== 'full' && part !== 'dtfusion' && !(part in dims)) throw new Error(`unknown part ${part}: full, ${Object.keys(dims).join(', ')}`);
const head = part === 'full' || part === 'dtfusion' ? null : new Linear(ctx, dims[part]!, 7);
const fwd = (b: { image: Tensor; landmarks: Tensor | null; labels: Tensor }) => {
  if (!head && part === 'dtfusion') {
    // The fusion head on the DT network's features alone (the DIL's channels are zeros).
    const f = m.dt.forward(b.image, null);
    const z = (t: Tensor, c: number) => e.fill(e.empty([t.shape[0]!, c, t.shape[2]!, t.shape[3]!]), 0);
    const d = m.cfg.dil.dims;
    return m.fusion.forward(concat([f.f1, z(f.f1, d[0])], 1), concat([f.f2, z(f.f2, d[1])], 1), concat([f.f3, z(f.f3, d[2])], 1));
  }
  if (!head) return m.forwardStage1(b).logits;
  if (part === 'ln3' || part === 'blk3') {
    const st = m.dil.imageStem.forward(b.image)[2];
    const blk = m.dil.blocks[2]!;
    if (part === 'ln3') return head.forward(mean(mean(blk.norm1.forward(permute(st, [0, 2, 3, 1])), 2), 1));
    return head.forward(globalAvgPool(blk.forward(st, st, 'pooled')));
  }
  if (part === 'stem3') return head.forward(globalAvgPool(m.dil.imageStem.forward(b.image)[2]));
  const o = m.dil.forward(b.image, b.landmarks);
  if (part === 'dil3') return head.forward(globalAvgPool(o.o3));
  const f = m.dt.forward(b.image, null);
  if (part === 'dt3') return head.forward(globalAvgPool(f.f3));
  return head.forward(globalAvgPool(concat([f.f3, o.o3], 1)));
};
const params = [...m.trainable(), ...(head ? head.parameters() : [])];
const opt = new Adam(params, { lr });
const rng = new Rng(7);
const bm = new BatchMaker(e, 64);
const t0 = performance.now();
const log: string[] = [];
for (let s = 0; s < steps; s++) {
  const idx = Array.from({ length: B }, () => Math.floor(rng.next() * ds.length));
  e.scope(() => {
    const b = bm.make(ds, idx, { flip: true, erase: false }, rng, null, s);
    backward(crossEntropy(fwd({ image: b.image, landmarks: b.landmarks, labels: b.labels }), b.labels));
    opt.step(); zeroGrad(params);
  });
  if ((s + 1) % 50 === 0) {
    let ok = 0;
    for (let i = 0; i < test.length; i += 30) {
      const idx2 = Array.from({ length: Math.min(30, test.length - i) }, (_, k) => i + k);
      ok += await e.noGrad(() => e.scope(async () => { const b = bm.make(test, idx2, { flip: false, erase: false }, rng, null, 0); return (await accuracyCounts(fwd({ image: b.image, landmarks: b.landmarks, labels: b.labels }), b.labels).read())[0]!; }));
    }
    log.push(`${s + 1}:${(ok / test.length).toFixed(3)}`);
  }
}
console.log(`${part} B${B} lr ${lr} ${process.env.CFG ?? ''}: held-out ${log.join(' ')} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(0);
