/**
 * The demo's settings, their defaults per adapter, and the events and phases the page shows: what
 * the form, the URL and the session agree on.
 */
import type { DeepPartial, LrdifConfig } from '../src/model/config.ts';
import type { UdcPanel } from '../src/train/data/udc.ts';
import type { Metrics } from '../src/train/metrics.ts';
import type { Snapshot } from './inspect.ts';

/**
 * The model's image and landmark features: 'face-api' = face-api's frozen pretrained networks run
 * on the image the model sees (the paper's protocol; default), 'none' = every image path trained
 * from scratch and no landmarks (the page never gives the model SynthFER's exact landmarks, which
 * no camera provides).
 */
export type DemoBackbone = 'face-api' | 'none';

export interface DemoSettings {
  preset: string;
  backbone: DemoBackbone;
  inputSize: number;
  /** Extra config overrides (JSON from the "advanced" field). */
  overrides: DeepPartial<LrdifConfig>;
  batchSize: number;
  lr: number;
  /** Diffusion steps T. */
  diffusionSteps: number;
  udcPanel: UdcPanel;
  udcStrength: number;
  /** Epochs of the no-EPR baseline that pretrains the UDCformer before stage 1 (0: stage 1 from scratch). */
  epochs0: number;
  epochs1: number;
  epochs2: number;
  trainImages: number;
  testImages: number;
  difficulty: number;
  seed: number;
  logEvery: number;
}

/** For a GPU: `lrdif run`'s protocol (frozen backbones, stage 1 from scratch, then stage 2) on fewer faces. */
export const DEFAULT_SETTINGS: DemoSettings = {
  preset: 'tiny', backbone: 'face-api', inputSize: 64, overrides: {}, batchSize: 16, lr: 2e-3, diffusionSteps: 4, udcPanel: 'toled', udcStrength: 1,
  epochs0: 0, epochs1: 1, epochs2: 4, trainImages: 448, testImages: 70, difficulty: 0.3, seed: 1, logEvery: 2,
};

/**
 * For a software adapter (and the browser test), where DEFAULT_SETTINGS would take hours: the tiny
 * preset at 32×32 with half its widths, one DT transformer block (at the last level, where the EPR
 * still modulates it) instead of four, no residual block in the image encoder, T = 2; 56 training
 * faces of easy SynthFER (and their mirror images), their frozen features computed once; 4 epochs
 * of stage 1 and 4 of stage 2, each 7 steps at batch 8.
 */
export const SOFTWARE_SETTINGS: DemoSettings = {
  preset: 'tiny', backbone: 'face-api', inputSize: 32, batchSize: 8, lr: 3e-3, diffusionSteps: 2, udcPanel: 'toled', udcStrength: 0.3,
  epochs0: 0, epochs1: 4, epochs2: 4, trainImages: 56, testImages: 28, difficulty: 0, seed: 1, logEvery: 2,
  overrides: { eprDim: 32, embedDim: 64, imageEncoder: { width: 8, resBlocks: 0 }, dt: { dims: [8, 16, 32, 64], blocks: [0, 0, 0, 1] }, dil: { dims: [8, 16, 32] }, vit: { width: 32 } },
};

/** Settings as the page's form values (and URL parameters: ?batchSize=8&inputSize=32…). */
export function settingsParams(s: DemoSettings): Record<string, string> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]));
}

/**
 * The phases of a demo run: 0 = the no-EPR baseline (a stage-1 model without modulation) whose
 * UDCformer stage 1 starts from, as `lrdif run` does; 1 and 2 = LRDif's stages.
 */
export type Phase = 0 | 1 | 2;
export const phaseName = (p: Phase): string => (p === 0 ? 'baseline' : `stage ${p}`);

/** 'pausing': asked to pause, the step in flight still finishing; 'paused': no step runs until resumed. */
export type DemoState = 'idle' | 'preparing' | 'training' | 'pausing' | 'paused' | 'stopping' | 'done' | 'error';

export interface StepInfo {
  stage: Phase;
  /** Steps over both stages. */
  step: number;
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  stepsPerSecond: number;
  lr: number;
}

export interface EpochInfo {
  stage: Phase;
  step: number;
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  heldOutLoss: number;
  heldOut: Metrics;
}

export interface DemoEvents {
  state(s: DemoState, detail?: string): void;
  status(text: string): void;
  step(info: StepInfo): void;
  epoch(info: EpochInfo): void;
  snapshot(s: Snapshot): void;
}
