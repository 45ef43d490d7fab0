/**
 * LRDif (reference §1): stage 1 (FPEN_S1 sees the label, the UDCformer is modulated by Z) and
 * stage 2 (FPEN_S2 + the diffusion prior predict Ẑ from the image alone; the stage-1 branch is
 * frozen and only produces the target). With `modulation: false` the same network is the
 * no-EPR baseline.
 */
import { type Tensor, concat, randomNormal, type Engine } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { Rng } from './init.ts';
import type { LrdifConfig } from './config.ts';
import { DtNetwork } from './dt-network.ts';
import { DilNetwork } from './dil-network.ts';
import { usesFrozenFeatures } from './config.ts';
import type { FrozenFeatureExtractor, FrozenFeatures, FrozenNeeds } from './frozen-features.ts';
import { FusionHead } from './fusion.ts';
import { FpenS1, FpenS2 } from './fpen.ts';
import { Denoiser, makeSchedule, qSample, reverseChain, type Schedule } from './diffusion.ts';

export type Stage = 1 | 2;

export interface Batch {
  /** [B, 3, H, W], normalised. */
  image: Tensor;
  /** [B, 68, 2] in [0, 1]: read only by the oracle heatmap stem (landmarkFeatures 'heatmap'); else null. */
  landmarks: Tensor | null;
  /** The frozen networks' features of `image`, precomputed (cached); else the model's extractor computes them. */
  features?: FrozenFeatures;
  /** u32 [B]; needed by stage 1 and by stage-2 training (target only). */
  labels?: Tensor;
}

export interface ForwardResult {
  logits: Tensor;
  /** The EPR that drove the DT network (Z in stage 1, Ẑ in stage 2), null for the baseline. */
  z: Tensor | null;
  /** Stage-2 training: the stage-1 target Z_S1 (no gradient). */
  target?: Tensor;
}

export class LrdifModel extends Module {
  readonly fpenS1: FpenS1 | null;
  readonly fpenS2: FpenS2 | null;
  readonly denoiser: Denoiser | null;
  readonly dt: DtNetwork;
  readonly dil: DilNetwork;
  readonly fusion: FusionHead;
  readonly schedule: Schedule;

  /** Runs the frozen pretrained networks for batches that do not carry their features. */
  extractor: FrozenFeatureExtractor | null;

  constructor(e: Engine, readonly cfg: LrdifConfig, readonly stage: Stage, seed = 0, opts: { extractor?: FrozenFeatureExtractor } = {}) {
    const rng = new Rng(seed);
    const ctx: ModuleContext = { e, rng };
    super(ctx);
    this.extractor = opts.extractor ?? null;
    const sub = (label: string): ModuleContext => ({ e, rng: rng.fork(label) });
    const usesEpr = cfg.modulation;
    this.fpenS1 = usesEpr ? this.child('fpen_s1', new FpenS1(sub('fpen_s1'), cfg)) : null;
    this.fpenS2 = usesEpr && stage === 2 ? this.child('fpen_s2', new FpenS2(sub('fpen_s2'), cfg)) : null;
    this.denoiser = usesEpr && stage === 2 && cfg.diffusion.mode === 'diffusion' ? this.child('denoise', new Denoiser(sub('denoise'), cfg.eprDim, cfg.diffusion.steps)) : null;
    this.dt = this.child('dt', new DtNetwork(sub('dt'), cfg));
    this.dil = this.child('dil', new DilNetwork(sub('dil'), cfg));
    const [d1, d2, d3] = [cfg.dt.dims[1], cfg.dt.dims[2], cfg.dt.dims[3]];
    this.fusion = this.child('fusion', new FusionHead(sub('fusion'), cfg, [d1 + cfg.dil.dims[0], d2 + cfg.dil.dims[1], d3 + cfg.dil.dims[2]]));
    this.schedule = makeSchedule(cfg.diffusion.steps, cfg.diffusion.betaStart, cfg.diffusion.betaEnd);
    // Stage 2: the stage-1 branch only produces targets (frozen, DECISIONS §2).
    if (stage === 2) this.fpenS1?.setTrainable(false);
  }

  /**
   * Which frozen features this model's config reads (the embedding whenever the image backbone is
   * pretrained, even for the baseline, so that every model of one config shares cached features).
   */
  get frozenNeeds(): FrozenNeeds {
    const pretrained = this.cfg.backbone === 'face-api';
    return { image: pretrained, landmark: this.cfg.landmarkFeatures === 'backbone', embedding: pretrained };
  }

  /**
   * The batch with its frozen features: as given, or computed by the extractor (no gradients: the
   * networks are frozen). Call once per batch and pass the result on.
   */
  withFeatures(b: Batch): Batch {
    if (b.features || !usesFrozenFeatures(this.cfg)) return b;
    if (!this.extractor) throw new Error(`LRDif (${this.cfg.preset}, backbone ${this.cfg.backbone}, landmarks ${this.cfg.landmarkFeatures}): the batch has no frozen features and no extractor is attached`);
    const x = this.extractor;
    return { ...b, features: this.e.noGrad(() => x.extract(b.image, this.frozenNeeds)) };
  }

  /** The UDCformer (DT + DIL + fusion) driven by an EPR (or none for the baseline). */
  private classify(b: Batch, z: Tensor | null): Tensor {
    const f = this.dt.forward(b.image, z);
    const o = this.dil.forward(b.image, b.landmarks, b.features);
    return this.fusion.forward(concat([f.f1, o.o1], 1), concat([f.f2, o.o2], 1), concat([f.f3, o.o3], 1));
  }

  /** Stage-1 forward (needs labels) — also the baseline's forward when modulation is off. */
  forwardStage1(batch: Batch): ForwardResult {
    const b = this.withFeatures(batch);
    if (!this.fpenS1) return { logits: this.classify(b, null), z: null };
    if (!b.labels) throw new Error('LRDif stage 1: the batch has no labels (stage 1 conditions on the label)');
    const z = this.fpenS1.forward(b.image, b.labels, b.features);
    return { logits: this.classify(b, z), z };
  }

  /**
   * The stage-2 prior alone: Z_S1 from the frozen branch (the target, no gradient) and Ẑ from
   * q_sample(Z_S1, T−1) through the reverse chain (or FPEN_S2 directly in the "direct" ablation).
   */
  stage2Prior(batch: Batch, noiseSeed: number): { zHat: Tensor; target: Tensor } {
    const { fpenS1, fpenS2 } = this.requireStage2();
    const b = this.withFeatures(batch);
    if (!b.labels) throw new Error('LRDif stage 2 training: the batch has no labels (needed for the stage-1 target)');
    const target = this.e.noGrad(() => fpenS1.forward(b.image, b.labels!, b.features));
    const c = fpenS2.forward(b.image, b.features);
    if (!this.denoiser) return { zHat: c, target };
    const T = this.schedule.T;
    const zT = qSample(this.schedule, target, T - 1, noiseSeed);
    const zHat = reverseChain(this.denoiser, this.schedule, zT, c, { insertNoise: this.cfg.diffusion.insertNoise, seed: noiseSeed + 1 });
    return { zHat, target };
  }

  /** Stage-2 training forward: the prior, then the UDCformer driven by Ẑ. */
  forwardStage2Train(batch: Batch, noiseSeed: number): ForwardResult {
    const b = this.withFeatures(batch);
    const { zHat, target } = this.stage2Prior(b, noiseSeed);
    return { logits: this.classify(b, zHat), z: zHat, target };
  }

  /** Stage-2 inference: no label; Z_T ~ N(0, I) from `seed`. */
  forwardStage2Infer(batch: Batch, seed: number, onStep?: (t: number, z: Tensor) => void): ForwardResult {
    const { fpenS2 } = this.requireStage2();
    const b = this.withFeatures(batch);
    const c = fpenS2.forward(b.image, b.features);
    let zHat: Tensor;
    if (this.denoiser) {
      const zT = randomNormal(this.e, c.shape, seed);
      zHat = reverseChain(this.denoiser, this.schedule, zT, c, { insertNoise: this.cfg.diffusion.insertNoise, seed: seed + 1, onStep });
    } else zHat = c;
    return { logits: this.classify(b, zHat), z: zHat };
  }

  /** The inference path of this model: stage 1 uses the label, stage 2 does not. */
  predict(b: Batch, seed = 0): ForwardResult {
    if (this.stage === 2 && this.fpenS2) return this.forwardStage2Infer(b, seed);
    return this.forwardStage1(b);
  }

  private requireStage2(): { fpenS1: FpenS1; fpenS2: FpenS2 } {
    if (this.stage !== 2 || !this.fpenS1 || !this.fpenS2) throw new Error('this LRDif model is not a stage-2 model with an EPR prior');
    return { fpenS1: this.fpenS1, fpenS2: this.fpenS2 };
  }
}

/** A tensor of a source checkpoint for initFromCheckpoint (a safetensors StTensor fits; dtype absent = F32). */
export interface SourceTensor {
  dtype?: string;
  shape: readonly number[];
  data: Float32Array | Int32Array | Uint32Array;
}

/**
 * Initialisation from another checkpoint's weights: every tensor of the same name is copied. Stage 2
 * from stage 1 (DECISIONS §2): FPEN_S2's image encoder from stage 1's, its first layer from the e_I
 * columns of stage 1's first layer, the other MLP layers copied; the denoiser starts fresh. Stage 1
 * from a baseline: the UDCformer is copied, FPEN_S1 and the modulations start fresh. Strict about what
 * it copies: a source tensor of the right name but another dtype or shape, or one that this model
 * has no place for, is an error (`what` names the source), raised before any weight is written.
 * Returns what was loaded and what starts fresh.
 */
export function initFromCheckpoint(model: LrdifModel, src: ReadonlyMap<string, SourceTensor>, what = 'source checkpoint'): { loaded: string[]; fresh: string[] } {
  const D = model.cfg.embedDim;
  const problems: string[] = [];
  const used = new Set<string>();
  const copies: [Tensor, Float32Array][] = [];
  const fresh: string[] = [];
  const loaded: string[] = [];
  const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  for (const [name, t] of model.namedParameters()) {
    // FPEN_S2 is initialised from FPEN_S1 when the source has no FPEN_S2 of its own.
    const srcName = !src.has(name) && name.startsWith('fpen_s2.') && src.has(name.replace('fpen_s2.', 'fpen_s1.')) ? name.replace('fpen_s2.', 'fpen_s1.') : name;
    const s = src.get(srcName);
    if (!s) {
      fresh.push(name);
      continue;
    }
    used.add(srcName);
    if ((s.dtype ?? 'F32') !== 'F32' || !(s.data instanceof Float32Array)) {
      problems.push(`${srcName}: dtype ${s.dtype ?? s.data.constructor.name}, expected F32`);
      continue;
    }
    // Stage 1's first layer is [C, 2D] over [e_L, e_I]; FPEN_S2's is [C, D] over e_I: keep the e_I columns.
    const splitColumns = srcName !== name && name === 'fpen_s2.mlp.0.weight';
    const want = splitColumns ? [t.shape[0]!, 2 * D] : t.shape;
    if (!sameShape(s.shape, want) || s.data.length !== want.reduce((p, d) => p * d, 1)) {
      problems.push(`${srcName}: shape [${s.shape}], expected [${want}]${srcName !== name ? ` (to initialise ${name})` : ''}`);
      continue;
    }
    let data = s.data;
    if (splitColumns) {
      const C = t.shape[0]!;
      data = new Float32Array(C * D);
      for (let r = 0; r < C; r++) data.set(s.data.subarray(r * 2 * D + D, (r + 1) * 2 * D), r * D);
    }
    copies.push([t, data]);
    loaded.push(name);
  }
  for (const n of src.keys()) if (!used.has(n)) problems.push(`unexpected tensor ${n} (this stage-${model.stage} model has no place for it)`);
  if (problems.length > 0) throw new Error(`${what}: cannot initialise the stage-${model.stage} ${model.cfg.preset} model from it:\n  ${problems.join('\n  ')}`);
  for (const [t, data] of copies) Module.assign(t, data);
  return { loaded, fresh };
}
