/**
 * A training step on random inputs of a preset's shapes, encoded as the trainer does (forward,
 * loss, backward, Adam update, no readback): what the train benchmark times (bench/train.ts) and
 * scripts/profile-step.ts profiles. frozen: the default model on pretrained backbones, stepping on
 * cached frozen features (random tensors of their shapes stand in: their values do not change the
 * cost, and the frozen networks are not part of the step); otherwise the from-scratch model.
 */
import { Adam, add, backward, crossEntropy, klDivergence, randomUniform, zeroGrad, type Engine, type Tensor } from '../engine/index.ts';
import { FROM_SCRATCH, levelSizes, makeConfig, type LrdifConfig } from '../model/config.ts';
import { FROZEN_EMBEDDING_DIM, FROZEN_IMAGE_CHANNELS, FROZEN_LANDMARK_CHANNELS, type FrozenFeatures } from '../model/frozen-features.ts';
import { LrdifModel } from '../model/lrdif.ts';

export interface SyntheticStepConfig {
  preset: string;
  stage: 1 | 2;
  batch: number;
  frozen?: boolean;
}

export interface SyntheticStep {
  config: LrdifConfig;
  model: LrdifModel;
  /** One step on fresh random inputs (stage 2 adds the KL loss of the prior to the target). */
  step(): void;
  /** Frees the optimiser state and the model's parameters. */
  dispose(): void;
}

export function syntheticStep(e: Engine, c: SyntheticStepConfig): SyntheticStep {
  const config = makeConfig(c.preset, c.frozen ? {} : FROM_SCRATCH);
  const model = new LrdifModel(e, config, c.stage, 1);
  const sizes = levelSizes(config);
  const B = c.batch;
  const features = (seed: number): FrozenFeatures | undefined =>
    c.frozen
      ? {
          image: FROZEN_IMAGE_CHANNELS.map((ch, i) => randomUniform(e, [B, ch, sizes[i]!, sizes[i]!], seed + 10 + i)) as [Tensor, Tensor, Tensor],
          landmark: FROZEN_LANDMARK_CHANNELS.map((ch, i) => randomUniform(e, [B, ch, sizes[i]!, sizes[i]!], seed + 20 + i)) as [Tensor, Tensor, Tensor],
          embedding: randomUniform(e, [B, FROZEN_EMBEDDING_DIM], seed + 30),
        }
      : undefined;
  const opt = new Adam(model.trainable(), { lr: 3.5e-4, weightDecay: 1e-4 });
  const S = config.inputSize;
  let seed = 1;
  const step = () =>
    e.scope(() => {
      seed++;
      const image = randomUniform(e, [B, 3, S, S], seed);
      const landmarks = c.frozen ? null : randomUniform(e, [B, 68, 2], seed + 1000);
      const labels = e.tensor(Array.from({ length: B }, (_, i) => i % config.numClasses), [B], 'u32');
      const batch = { image, landmarks, labels, features: features(seed) };
      let loss;
      if (c.stage === 1) loss = crossEntropy(model.forwardStage1(batch).logits, labels);
      else {
        const r = model.forwardStage2Train(batch, seed);
        loss = add(crossEntropy(r.logits, labels), klDivergence(r.target!, r.z!, { tau: 1 }));
      }
      backward(loss);
      opt.step();
      zeroGrad(model.parameters());
    });
  return {
    config,
    model,
    step,
    dispose() {
      opt.dispose();
      for (const p of model.parameters()) p.dispose();
    },
  };
}
