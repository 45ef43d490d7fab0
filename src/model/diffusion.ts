/**
 * Diffusion on the EPR (reference §7): the DiffIR linear-in-√β schedule, q_sample, the x0-predicting
 * denoiser MLP on [c, t/(10T), Z_t], and the deterministic posterior-mean reverse chain.
 */
import { type Tensor, add, affine, leakyRelu, mulScalar, concat, randomNormal } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { Linear } from './layers.ts';

export interface Schedule {
  T: number;
  betas: number[];
  alphas: number[];
  alphasCumprod: number[];
  sqrtAlphasCumprod: number[];
  sqrtOneMinusAlphasCumprod: number[];
  posteriorCoef1: number[];
  posteriorCoef2: number[];
  posteriorVariance: number[];
}

/** betas = linspace(√start, √end, T)², computed in float64. */
export function makeSchedule(T: number, start = 0.1, end = 0.99): Schedule {
  const betas: number[] = [];
  for (let i = 0; i < T; i++) {
    const s = T === 1 ? Math.sqrt(start) : Math.sqrt(start) + ((Math.sqrt(end) - Math.sqrt(start)) * i) / (T - 1);
    betas.push(s * s);
  }
  const alphas = betas.map((b) => 1 - b);
  const alphasCumprod: number[] = [];
  alphas.reduce((p, a, i) => (alphasCumprod[i] = p * a), 1);
  const prev = [1, ...alphasCumprod.slice(0, -1)];
  return {
    T,
    betas,
    alphas,
    alphasCumprod,
    sqrtAlphasCumprod: alphasCumprod.map(Math.sqrt),
    sqrtOneMinusAlphasCumprod: alphasCumprod.map((a) => Math.sqrt(1 - a)),
    posteriorCoef1: betas.map((b, i) => (b * Math.sqrt(prev[i]!)) / (1 - alphasCumprod[i]!)),
    posteriorCoef2: alphas.map((a, i) => ((1 - prev[i]!) * Math.sqrt(a)) / (1 - alphasCumprod[i]!)),
    posteriorVariance: betas.map((b, i) => (b * (1 - prev[i]!)) / (1 - alphasCumprod[i]!)),
  };
}

/** The x0-predicting denoiser: [c, t/(10T), Z_t] → Linear(2C+1→C) → LReLU(0.1) → Linear(C→C) → LReLU(0.1). */
export class Denoiser extends Module {
  readonly fc1: Linear;
  readonly fc2: Linear;
  constructor(ctx: ModuleContext, readonly dim: number, readonly T: number) {
    super(ctx);
    this.fc1 = this.child('mlp.0', new Linear(ctx, 2 * dim + 1, dim));
    this.fc2 = this.child('mlp.2', new Linear(ctx, dim, dim));
  }
  forward(zt: Tensor, t: number, c: Tensor): Tensor {
    const e = this.e;
    const tcol = e.fill(e.empty([zt.shape[0]!, 1]), t / (10 * this.T));
    const h = concat([c, tcol, zt], 1);
    return leakyRelu(this.fc2.forward(leakyRelu(this.fc1.forward(h), 0.1)), 0.1);
  }
}

export interface ReverseOptions {
  /** Add posterior noise σ_t·z at every step but the last (the "insert noise" ablation). */
  insertNoise?: boolean;
  /** Seed and offset for the posterior noise. */
  seed?: number;
  /** Called with Z_t after every reverse step (for the demo's diffusion strip). */
  onStep?: (t: number, z: Tensor) => void;
}

/** Runs the T-step reverse chain from Z_T, returning Ẑ = Z_0. Gradients flow through every step. */
export function reverseChain(denoiser: Denoiser, s: Schedule, zT: Tensor, c: Tensor, opts: ReverseOptions = {}): Tensor {
  let z = zT;
  for (let t = s.T - 1; t >= 0; t--) {
    const x0 = denoiser.forward(z, t, c);
    let next = add(mulScalar(x0, s.posteriorCoef1[t]!), mulScalar(z, s.posteriorCoef2[t]!));
    if (opts.insertNoise && t > 0) {
      const noise = randomNormal(z.engine, z.shape, (opts.seed ?? 0) + 7919 * t, 0, 0, Math.sqrt(s.posteriorVariance[t]!));
      next = add(next, noise);
    }
    opts.onStep?.(t, next);
    z = next;
  }
  return z;
}

/** q_sample at step t: √ᾱ_t · z0 + √(1−ᾱ_t) · ε with ε ~ N(0, I) from (seed, offset). */
export function qSample(s: Schedule, z0: Tensor, t: number, seed: number, offset = 0): Tensor {
  const eps = randomNormal(z0.engine, z0.shape, seed, offset, 0, s.sqrtOneMinusAlphasCumprod[t]!);
  return add(affine(z0, s.sqrtAlphasCumprod[t]!, 0), eps);
}
