/** Basic layers on the engine, initialised as PyTorch does by default. */
import { type Tensor, conv2d, linear, layerNorm, add, mul, minimum, relu } from '../engine/index.ts';
import { Module, type ModuleContext } from './module.ts';
import { constantInit, truncNormalInit, uniformInit } from './init.ts';

export interface LinearInit {
  /** 'default' = PyTorch's kaiming-uniform(a=√5) weight and U(±1/√fan_in) bias; 'trunc' = trunc-normal(std) weight, zero bias. */
  kind?: 'default' | 'trunc';
  std?: number;
}

/** y = x Wᵀ + b with W [out, in] (PyTorch layout). */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(ctx: ModuleContext, readonly inFeatures: number, readonly outFeatures: number, bias = true, init: LinearInit = {}) {
    super(ctx);
    const bound = 1 / Math.sqrt(inFeatures);
    const w = init.kind === 'trunc' ? truncNormalInit(ctx.rng, outFeatures * inFeatures, init.std ?? 0.02) : uniformInit(ctx.rng, outFeatures * inFeatures, bound);
    this.weight = this.param('weight', w, [outFeatures, inFeatures]);
    this.bias = bias ? this.param('bias', init.kind === 'trunc' ? constantInit(outFeatures, 0) : uniformInit(ctx.rng, outFeatures, bound), [outFeatures]) : null;
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias ?? undefined);
  }
}

export interface Conv2dConfig {
  stride?: number;
  padding?: number;
  groups?: number;
  bias?: boolean;
}

/** 2-D convolution, NCHW, weight [out, in/groups, k, k]; PyTorch default init. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: number;
  readonly padding: number;
  readonly groups: number;
  constructor(ctx: ModuleContext, readonly inChannels: number, readonly outChannels: number, readonly kernel: number, cfg: Conv2dConfig = {}) {
    super(ctx);
    this.stride = cfg.stride ?? 1;
    this.padding = cfg.padding ?? Math.floor(kernel / 2);
    this.groups = cfg.groups ?? 1;
    const fanIn = (inChannels / this.groups) * kernel * kernel;
    const bound = 1 / Math.sqrt(fanIn);
    this.weight = this.param('weight', uniformInit(ctx.rng, outChannels * fanIn, bound), [outChannels, inChannels / this.groups, kernel, kernel]);
    this.bias = cfg.bias ?? true ? this.param('bias', uniformInit(ctx.rng, outChannels, bound), [outChannels]) : null;
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias ?? undefined, { stride: this.stride, padding: this.padding, groups: this.groups });
  }
}

/** LayerNorm over the last axis ('tokens') or over the channels of NCHW ('channels'); weight 1, bias 0. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(ctx: ModuleContext, readonly channels: number, readonly layout: 'tokens' | 'channels' = 'tokens', readonly eps = 1e-5, withBias = true) {
    super(ctx);
    this.weight = this.param('weight', constantInit(channels, 1), [channels]);
    this.bias = withBias ? this.param('bias', constantInit(channels, 0), [channels]) : null;
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, { eps: this.eps, axis: this.layout === 'tokens' ? -1 : 1 });
  }
}

/** Per-channel PReLU on NCHW (weight init 0.25): relu(x) + a_c · min(x, 0). */
export class PReLU extends Module {
  readonly weight: Tensor;
  constructor(ctx: ModuleContext, readonly channels: number, init = 0.25) {
    super(ctx);
    this.weight = this.param('weight', constantInit(channels, init), [channels]);
  }
  forward(x: Tensor): Tensor {
    // Layers never open scopes: intermediates must live until backward (the caller's step scope frees them).
    const zero = this.e.fill(this.e.empty([1]), 0);
    const a = this.weight.view([this.channels, 1, 1]);
    return add(relu(x), mul(a, minimum(x, zero)));
  }
}
