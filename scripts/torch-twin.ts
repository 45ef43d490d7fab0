/**
 * The Bun half of the PyTorch twin (scripts/torch-twin.py): one training step's forward and
 * backward of an LRDif model on one seeded batch, written for PyTorch to replay in float64.
 *
 *   bun scripts/torch-twin.ts [--preset tiny|small|paper] [--stage 1|2] [--batch 4] [--frozen]
 *                             [--checkpoint model.safetensors] [--seed 1] [--out /tmp/lrdif-twin]
 *   /usr/bin/python3 scripts/torch-twin.py check /tmp/lrdif-twin
 *
 * Writes <out>/checkpoint.safetensors (the model as `lrdif` saves it: the twin loads it by tensor
 * name) and <out>/check.safetensors: the batch (image, landmarks, labels, the frozen features as
 * random stand-ins, the stage-2 q_sample noise), our logits, loss, EPRs and the gradient of every
 * trainable parameter. --frozen: the default model on frozen face-api features (the features are
 * inputs; their networks are not part of a step); otherwise the from-scratch model. --checkpoint:
 * the weights (and config, stage) of an existing checkpoint instead of a fresh seeded model.
 * Kernels run untuned (the default variants); the kernel tests cover every variant.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  Engine, type Tensor, backward, crossEntropy, klDivergence, add, randomNormal, randomUniform, gaussianHeatmaps,
} from '../src/engine/index.ts';
import { FROM_SCRATCH, levelSizes, makeConfig, type LrdifConfig } from '../src/model/config.ts';
import { FROZEN_EMBEDDING_DIM, FROZEN_IMAGE_CHANNELS, FROZEN_LANDMARK_CHANNELS, type FrozenFeatures } from '../src/model/frozen-features.ts';
import { LrdifModel, type Stage } from '../src/model/lrdif.ts';
import { loadIntoModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { encodeSafetensors, type StTensor } from '../src/model/safetensors.ts';

const { values: a } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    stage: { type: 'string', default: '1' },
    batch: { type: 'string', default: '4' },
    frozen: { type: 'boolean', default: false },
    checkpoint: { type: 'string' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: '/tmp/lrdif-twin' },
  },
});

const e = await Engine.create({ log: false });
const B = Number(a.batch);
const seed = Number(a.seed);
let cfg: LrdifConfig;
let stage: Stage;
let model: LrdifModel;
if (a.checkpoint) {
  const ck = readCheckpoint(readFileSync(a.checkpoint), a.checkpoint);
  cfg = ck.config;
  stage = ck.stage as Stage;
  model = new LrdifModel(e, cfg, stage, seed);
  loadIntoModel(model, ck.file, a.checkpoint);
} else {
  cfg = makeConfig(a.preset!, a.frozen ? {} : FROM_SCRATCH);
  stage = Number(a.stage) as Stage;
  if (stage !== 1 && stage !== 2) throw new Error(`--stage ${a.stage}: expected 1 or 2`);
  model = new LrdifModel(e, cfg, stage, seed);
}
if (cfg.diffusion.insertNoise) throw new Error(`${cfg.preset}: diffusion.insertNoise draws noise inside the reverse chain; the twin replays the default chain (insertNoise false) only`);

const S = cfg.inputSize;
const sizes = levelSizes(cfg);
const image = randomNormal(e, [B, 3, S, S], seed + 1);
const landmarks = randomUniform(e, [B, 68, 2], seed + 2);
const labels = e.tensor(Array.from({ length: B }, (_, i) => (i * 3) % cfg.numClasses), [B], 'u32');
const map = (channels: readonly number[], offset: number) => channels.map((ch, i) => randomUniform(e, [B, ch, sizes[i]!, sizes[i]!], seed + offset + i)) as [Tensor, Tensor, Tensor];
const frozenNeeds = model.frozenNeeds;
const features: FrozenFeatures = {
  ...(frozenNeeds.image ? { image: map(FROZEN_IMAGE_CHANNELS, 10) } : {}),
  ...(frozenNeeds.landmark ? { landmark: map(FROZEN_LANDMARK_CHANNELS, 20) } : {}),
  ...(frozenNeeds.embedding ? { embedding: randomUniform(e, [B, FROZEN_EMBEDDING_DIM], seed + 30) } : {}),
};
const oracle = cfg.landmarkFeatures === 'heatmap';
const batch = { image, landmarks: oracle ? landmarks : null, labels, features };
const noiseSeed = seed + 100;

// Inside a scope, as the trainer steps: outside one, every op's own scope closing would prune the
// tape of views that a later backward still needs.
const { logits, loss, z, target } = e.scope(() => {
  if (stage === 1) {
    const r = model.forwardStage1(batch);
    const loss = crossEntropy(r.logits, labels);
    backward(loss);
    return { logits: r.logits, loss, z: r.z, target: null };
  }
  const r = model.forwardStage2Train(batch, noiseSeed);
  // The trainer's defaults: klTau 1, klWeight 1, l1Weight 0.
  const loss = add(crossEntropy(r.logits, labels), klDivergence(r.target!, r.z!, { tau: 1 }));
  backward(loss);
  return { logits: r.logits, loss, z: r.z, target: r.target! };
});

const out = new Map<string, StTensor>();
const put = async (name: string, t: Tensor) => {
  const data = await t.read();
  out.set(name, { dtype: t.dtype === 'f32' ? 'F32' : t.dtype === 'i32' ? 'I32' : 'U32', shape: [...t.shape], data });
};
await put('input.image', image);
await put('input.labels', labels);
if (oracle) {
  await put('input.landmarks', landmarks);
  await put('check.heatmaps', gaussianHeatmaps(landmarks, sizes[0], 1));
}
for (const part of ['image', 'landmark'] as const) for (const [l, t] of (features[part] ?? []).entries()) await put(`input.features.${part}.${l}`, t);
if (features.embedding) await put('input.features.embedding', features.embedding);
if (stage === 2 && model.denoiser) {
  // The q_sample noise of stage2Prior: the same seed, offset and σ give the same values.
  await put('input.noise', randomNormal(e, [B, cfg.eprDim], noiseSeed, 0, 0, model.schedule.sqrtOneMinusAlphasCumprod[model.schedule.T - 1]!));
}
await put('ours.logits', logits);
await put('ours.loss', loss);
if (z) await put('ours.z', z);
if (target) await put('ours.target', target);
let withGrad = 0;
for (const [name, t] of model.namedParameters()) {
  if (!t.requiresGrad) continue;
  if (!t.grad) throw new Error(`${name}: trainable but no gradient after backward`);
  await put(`grad.${name}`, t.grad);
  withGrad++;
}
mkdirSync(a.out!, { recursive: true });
writeFileSync(join(a.out!, 'checkpoint.safetensors'), await saveCheckpoint(model, { config: cfg, stage }));
writeFileSync(join(a.out!, 'check.safetensors'), encodeSafetensors(out, { stage: String(stage), kl_tau: '1', kl_weight: '1' }));
console.log(`${cfg.preset} stage ${stage} batch ${B} (${cfg.backbone === 'none' ? 'from scratch' : 'frozen features'}): loss ${(await loss.read())[0]!.toFixed(6)}, ${withGrad} gradients; wrote ${a.out}/checkpoint.safetensors and check.safetensors`);
process.exit(0);
