/**
 * Model configuration and the three presets of docs/design.md §3. A preset is only numbers: one
 * code path serves all of them, and any field can be overridden from JSON.
 */
export interface LrdifConfig {
  preset: string;
  /** Input size (square), a multiple of 16. */
  inputSize: number;
  numClasses: number;
  /** EPR width C. */
  eprDim: number;
  /** Label / image embedding width D. */
  embedDim: number;
  imageEncoder: { width: number; resBlocks: number };
  dt: { dims: [number, number, number, number]; blocks: [number, number, number, number]; heads: [number, number, number, number]; ffnExpansion: number };
  dil: {
    dims: [number, number, number];
    heads: [number, number, number];
    /** Window size per level; 0 = the whole map. */
    windows: [number, number, number];
    qProj: boolean;
    /** 'pooled': the landmark map is average-pooled to the window and shared by every window. */
    windowQueries: 'pooled' | 'per-window';
    mlpRatio: number;
    layerScaleInit: number;
    /**
     * The attention residual's shortcut: 'normalised' = LN(x) as in POSTER++ (its IR stem is pretrained
     * and batch-normalised); 'input' = x itself (pre-norm residual), which lets a from-scratch stem's
     * features reach the fusion head un-normalised.
     */
    shortcut: 'normalised' | 'input';
  };
  /**
   * linearInit: 'trunc-normal' = trunc-normal(0.01) weights with zero bias (POSTER++, DECISIONS §2);
   * 'default' = PyTorch's Linear default. The tiny preset uses the default so that its
   * fusion head passes input-dependent signal from the first step (see README, training from scratch).
   * readout: 'cls' = POSTER++ (class token → final LayerNorm → SE gate → head); 'pooled' = the mean of
   * all tokens → head, with the ViT blocks' branches scaled by a learnable layer scale (init
   * `layerScaleInit`). Trained from scratch, the tiny model stays at chance for hundreds of steps with
   * the CLS/LayerNorm readout and learns with the pooled one (README, "what the probes found").
   */
  vit: { width: number; heads: number; depth: number; mlpRatio: number; linearInit: 'trunc-normal' | 'default'; readout: 'cls' | 'pooled'; layerScaleInit: number };
  /** 'direct' = FPEN_S2 predicts the EPR itself (the no-diffusion ablation "V1"). */
  diffusion: { steps: number; betaStart: number; betaEnd: number; insertNoise: boolean; mode: 'diffusion' | 'direct' };
  /** Ablation switches. */
  modulation: boolean;
  /**
   * Where the landmark features come from. 'backbone' (default, the paper's protocol): the frozen
   * landmark network (face-api's 68-point net standing in for MobileFaceNet) run on the very image
   * the model sees. 'heatmap': heatmaps of landmarks given with the data (for SynthFER the
   * generator's exact points: an oracle no camera provides) through a trainable stem.
   */
  landmarkFeatures: 'heatmap' | 'backbone';
  /**
   * The image paths' backbone. 'face-api' (default): frozen pretrained face networks (face-api's
   * recognition net standing in for IR-50 as the DIL image features and for CLIP's image encoder in
   * FPEN), with trainable projections; 'none': the from-scratch stems (DIL's IR-style stem, FPEN's
   * CPEN-style encoder).
   */
  backbone: 'face-api' | 'none';
  /**
   * Normalise the frozen features (LayerNorm over channels, learnable affine) before their trainable
   * projections: the networks' maps differ in scale by 10× (landmark maps ~0.1, recognition ~1).
   */
  adapterNorm: boolean;
}

type Preset = Omit<LrdifConfig, 'preset' | 'numClasses' | 'diffusion' | 'modulation' | 'landmarkFeatures' | 'backbone' | 'adapterNorm' | 'dil'> & { dil: Pick<LrdifConfig['dil'], 'dims' | 'heads'> & Partial<Pick<LrdifConfig['dil'], 'shortcut'>> };

const PRESETS: Record<string, Preset> = {
  paper: {
    inputSize: 112, eprDim: 256, embedDim: 512,
    imageEncoder: { width: 64, resBlocks: 6 },
    dt: { dims: [48, 96, 192, 384], blocks: [4, 6, 6, 8], heads: [1, 2, 4, 8], ffnExpansion: 2.66 },
    dil: { dims: [64, 128, 256], heads: [2, 4, 8] },
    vit: { width: 768, heads: 8, depth: 2, mlpRatio: 4, linearInit: 'trunc-normal', readout: 'cls', layerScaleInit: 1 },
  },
  small: {
    inputSize: 112, eprDim: 128, embedDim: 256,
    imageEncoder: { width: 32, resBlocks: 2 },
    dt: { dims: [24, 48, 96, 192], blocks: [2, 2, 2, 2], heads: [1, 2, 4, 8], ffnExpansion: 2.0 },
    dil: { dims: [32, 64, 128], heads: [1, 2, 4] },
    vit: { width: 192, heads: 4, depth: 2, mlpRatio: 4, linearInit: 'trunc-normal', readout: 'cls', layerScaleInit: 1 },
  },
  tiny: {
    inputSize: 64, eprDim: 64, embedDim: 128,
    imageEncoder: { width: 16, resBlocks: 1 },
    dt: { dims: [16, 32, 64, 128], blocks: [1, 1, 1, 1], heads: [1, 1, 2, 4], ffnExpansion: 2.0 },
    dil: { dims: [16, 32, 64], heads: [1, 1, 2], shortcut: 'input' },
    vit: { width: 64, heads: 2, depth: 1, mlpRatio: 4, linearInit: 'default', readout: 'pooled', layerScaleInit: 1e-3 },
  },
};

export const PRESET_NAMES = Object.keys(PRESETS);

/** Builds a full config from a preset name plus overrides (e.g. parsed from a JSON file). */
export function makeConfig(preset: string, overrides: DeepPartial<LrdifConfig> = {}): LrdifConfig {
  const p = PRESETS[preset];
  if (!p) throw new Error(`unknown preset "${preset}" (choose one of ${PRESET_NAMES.join(', ')})`);
  const base: LrdifConfig = {
    preset,
    inputSize: p.inputSize,
    numClasses: 7,
    eprDim: p.eprDim,
    embedDim: p.embedDim,
    imageEncoder: { ...p.imageEncoder },
    dt: { ...p.dt, dims: [...p.dt.dims], blocks: [...p.dt.blocks], heads: [...p.dt.heads] },
    dil: { dims: [...p.dil.dims], heads: [...p.dil.heads], windows: [0, 0, 0], qProj: false, windowQueries: 'pooled', mlpRatio: 4, layerScaleInit: 1e-5, shortcut: p.dil.shortcut ?? 'normalised' },
    vit: { ...p.vit },
    diffusion: { steps: 4, betaStart: 0.1, betaEnd: 0.99, insertNoise: false, mode: 'diffusion' },
    modulation: true,
    landmarkFeatures: 'backbone',
    backbone: 'face-api',
    adapterNorm: true,
  };
  const cfg = deepMerge(base, overrides) as LrdifConfig;
  validateConfig(cfg);
  return cfg;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function deepMerge(a: unknown, b: unknown): unknown {
  if (b === undefined) return a;
  if (Array.isArray(a) || Array.isArray(b) || typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
    if (!(k in out)) throw new Error(`config: unknown field "${k}"`);
    out[k] = deepMerge(out[k], v);
  }
  return out;
}

export function validateConfig(c: LrdifConfig): void {
  const fail = (m: string) => {
    throw new Error(`config (${c.preset}): ${m}`);
  };
  if (!Number.isInteger(c.inputSize) || c.inputSize % 16 !== 0 || c.inputSize < 16) fail(`inputSize ${c.inputSize} must be a positive multiple of 16`);
  if (c.numClasses < 2) fail(`numClasses ${c.numClasses} must be ≥ 2`);
  c.dt.dims.forEach((d, i) => {
    if (d % c.dt.heads[i]! !== 0) fail(`dt.dims[${i}] = ${d} is not divisible by dt.heads[${i}] = ${c.dt.heads[i]}`);
  });
  for (let i = 0; i < 3; i++) {
    if (c.dt.dims[i]! % 2 !== 0) fail(`dt.dims[${i}] = ${c.dt.dims[i]} must be even (downsampling halves it)`);
    const d = c.dil.dims[i]!;
    if (d % c.dil.heads[i]! !== 0) fail(`dil.dims[${i}] = ${d} is not divisible by dil.heads[${i}]`);
    const map = c.inputSize / (4 << i);
    const w = c.dil.windows[i] || map;
    if (map % w !== 0) fail(`dil.windows[${i}] = ${w} does not divide the ${map}×${map} map`);
  }
  if (c.vit.width % c.vit.heads !== 0) fail(`vit.width ${c.vit.width} is not divisible by vit.heads ${c.vit.heads}`);
  if (c.vit.readout !== 'cls' && c.vit.readout !== 'pooled') fail(`vit.readout must be "cls" or "pooled", got ${JSON.stringify(c.vit.readout)}`);
  if (!(c.vit.layerScaleInit > 0)) fail(`vit.layerScaleInit must be positive, got ${c.vit.layerScaleInit}`);
  if (c.dil.shortcut !== 'normalised' && c.dil.shortcut !== 'input') fail(`dil.shortcut must be "normalised" or "input", got ${JSON.stringify(c.dil.shortcut)}`);
  if (c.diffusion.steps < 1) fail(`diffusion.steps must be ≥ 1`);
  if (c.landmarkFeatures !== 'heatmap' && c.landmarkFeatures !== 'backbone') fail(`landmarkFeatures must be "backbone" or "heatmap", got ${JSON.stringify(c.landmarkFeatures)}`);
  if (c.backbone !== 'face-api' && c.backbone !== 'none') fail(`backbone must be "face-api" or "none", got ${JSON.stringify(c.backbone)}`);
}

/**
 * Overrides for the from-scratch model: trainable image stems and the oracle landmark-heatmap stem,
 * no pretrained networks (the architecture of DECISIONS §2–3 as written; the browser demo's default).
 */
export const FROM_SCRATCH = { backbone: 'none', landmarkFeatures: 'heatmap' } as const satisfies DeepPartial<LrdifConfig>;

/** Whether a config needs the frozen pretrained networks (their features come with the batch or from an extractor). */
export function usesFrozenFeatures(c: LrdifConfig): boolean {
  return c.backbone === 'face-api' || c.landmarkFeatures === 'backbone';
}

/** Feature-map sizes of the three levels (H/4, H/8, H/16). */
export function levelSizes(c: LrdifConfig): [number, number, number] {
  return [c.inputSize / 4, c.inputSize / 8, c.inputSize / 16];
}
