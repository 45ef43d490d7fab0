/**
 * 2-D convolution over NCHW tensors (PyTorch semantics: weight [Co, Ci/groups, kh, kw], zero
 * padding, stride, groups) with gradients for input, weight and bias, and global average pooling.
 * Kernels: shaders/conv2d.wgsl (one entry point per pass, tiles chosen here as override constants).
 */
import type { Tensor } from '../tensor.ts';
import { mean } from './reduce.ts';
import { assertF32, fmt } from './shape-util.ts';

export interface Conv2dOptions {
  /** Stride, one number or [sh, sw] (default 1). */
  stride?: number | readonly [number, number];
  /** Zero padding on each side, one number or [ph, pw] (default 0). */
  padding?: number | readonly [number, number];
  groups?: number;
}

interface Geometry {
  batch: number; cin: number; h: number; w: number;
  cout: number; cig: number; cog: number; kh: number; kw: number;
  sh: number; sw: number; ph: number; pw: number;
  ho: number; wo: number; groups: number;
}

const pair = (v: number | readonly [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

function geometry(x: Tensor, weight: Tensor, bias: Tensor | undefined, opts: Conv2dOptions): Geometry {
  const what = `conv2d(x ${fmt(x.shape)}, weight ${fmt(weight.shape)}${bias ? `, bias ${fmt(bias.shape)}` : ''})`;
  if (x.rank !== 4) throw new Error(`${what}: x must be [N, C, H, W]`);
  if (weight.rank !== 4) throw new Error(`${what}: weight must be [Co, Ci/groups, kh, kw]`);
  const [batch, cin, h, w] = x.shape as [number, number, number, number];
  const [cout, cig, kh, kw] = weight.shape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  const [sh, sw] = pair(opts.stride ?? 1);
  const [ph, pw] = pair(opts.padding ?? 0);
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${what}: groups = ${groups} must be a positive integer`);
  if (cin % groups !== 0 || cout % groups !== 0) {
    throw new Error(`${what}: input channels ${cin} and output channels ${cout} must both be divisible by groups = ${groups}`);
  }
  if (cig !== cin / groups) throw new Error(`${what}: weight dimension 1 is ${cig}, expected Ci/groups = ${cin}/${groups} = ${cin / groups}`);
  for (const [name, v, min] of [['stride', sh, 1], ['stride', sw, 1], ['padding', ph, 0], ['padding', pw, 0]] as const) {
    if (!Number.isInteger(v) || v < min) throw new Error(`${what}: ${name} ${v} must be an integer >= ${min}`);
  }
  if (kh < 1 || kw < 1) throw new Error(`${what}: empty kernel`);
  if (bias && (bias.rank !== 1 || bias.shape[0] !== cout)) throw new Error(`${what}: bias must be [${cout}]`);
  const ho = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const wo = Math.floor((w + 2 * pw - kw) / sw) + 1;
  if (ho < 1 || wo < 1) throw new Error(`${what}: kernel ${kh}x${kw} with padding ${ph},${pw} is larger than the padded input ${h}x${w}`);
  // The kernels keep a row window of 3·sw + kw inputs and up to 32 weight-gradient sums in registers.
  if (3 * sw + kw > 40 || kw > 32) throw new Error(`${what}: kernel width ${kw} with stride ${sw} exceeds the kernel's window (3·stride + kw <= 40, kw <= 32)`);
  assertF32('conv2d', x, weight, ...(bias ? [bias] : []));
  return { batch, cin, h, w, cout, cig, cog: cout / groups, kh, kw, sh, sw, ph, pw, ho, wo, groups };
}

/** Largest tile from `choices` that divides n. */
function tileFor(n: number, choices: readonly number[]): number {
  return choices.find((t) => n % t === 0) ?? 1;
}

function params(g: Geometry, extra: { has_bias?: number; tiles_w?: number; tiles_c?: number; wg_stride?: number }) {
  return {
    batch: g.batch, cin: g.cin, h: g.h, w: g.w, cout: g.cout, ho: g.ho, wo: g.wo, cig: g.cig,
    cog: g.cog, stride_h: g.sh, pad_h: g.ph, pad_w: g.pw,
    has_bias: extra.has_bias ?? 0, tiles_w: extra.tiles_w ?? 0, tiles_c: extra.tiles_c ?? 0, wg_stride: extra.wg_stride ?? 0,
  };
}

/** 2-D launch of `count` workgroups spread over x and y; returns the x extent for the kernel. */
function spread(e: Tensor['engine'], count: number): { workgroups: [number, number, number]; stride: number } {
  const g = e.grid(count, 1);
  return { workgroups: g.workgroups, stride: g.workgroups[0] };
}

function convForward(x: Tensor, weight: Tensor, bias: Tensor | undefined, g: Geometry): Tensor {
  const e = x.engine;
  const y = e.empty([g.batch, g.cout, g.ho, g.wo]);
  const tc = tileFor(g.cog, [4, 2, 1]);
  const tilesW = Math.ceil(g.wo / 4);
  const tilesC = g.cout / tc;
  e.dispatch('conv2d', {
    entry: 'forward',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, TC: tc },
    bindings: { x, weight, bias: bias ?? e.dummy, y },
    params: params(g, { has_bias: bias ? 1 : 0, tiles_w: tilesW, tiles_c: tilesC }),
    workgroups: [Math.ceil((g.ho * tilesW) / 64), g.batch * tilesC, 1],
  });
  return y;
}

function convGradInput(dy: Tensor, weight: Tensor, g: Geometry): Tensor {
  const e = dy.engine;
  const dx = e.empty([g.batch, g.cin, g.h, g.w]);
  const tc = tileFor(g.cig, [4, 2, 1]);
  const tilesW = Math.ceil(Math.ceil(g.w / g.sw) / 4);
  const tilesC = g.cin / tc;
  const rows = Math.ceil(g.h / g.sh);
  e.dispatch('conv2d', {
    entry: 'grad_input',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, TC: tc },
    bindings: { dy, weight, dx },
    params: params(g, { tiles_w: tilesW, tiles_c: tilesC }),
    workgroups: [Math.ceil((rows * tilesW) / 64), g.batch * tilesC * g.sh * g.sw, 1],
  });
  return dx;
}

/** Power-of-two workgroup size in [16, 64] giving each invocation about 8 or more of `items`. */
function reductionWorkgroup(items: number): number {
  let wg = 16;
  while (wg < 64 && items >= wg * 2 * 8) wg *= 2;
  return wg;
}

function convGradWeight(dy: Tensor, x: Tensor, g: Geometry): Tensor {
  const e = dy.engine;
  const dw = e.empty([g.cout, g.cig, g.kh, g.kw]);
  // Accumulators per invocation: TO·TI·RH·kw <= 32, preferring output channels (each x load then
  // serves TO outputs). Fewer invocations per workgroup when N·Ho·Wo is small keep each one busy.
  const rh = Math.max(1, Math.min(g.kh, Math.floor(32 / g.kw)));
  const room = Math.max(1, Math.floor(32 / (rh * g.kw)));
  const to = tileFor(g.cog, [8, 4, 2, 1].filter((t) => t <= room));
  const ti = tileFor(g.cig, [4, 2, 1].filter((t) => t * to <= room));
  const blocks = (g.cout / to) * (g.cig / ti) * Math.ceil(g.kh / rh);
  const grid = spread(e, blocks);
  const wg = reductionWorkgroup(g.batch * g.ho * Math.ceil(g.wo / 4));
  e.dispatch('conv2d', {
    entry: 'grad_weight',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, TO: to, TI: ti, RH: rh, WG: wg },
    bindings: { dy, x, dw },
    params: params(g, { tiles_w: Math.ceil(g.wo / 4), wg_stride: grid.stride }),
    workgroups: grid.workgroups,
  });
  return dw;
}

function convGradBias(dy: Tensor, g: Geometry): Tensor {
  const e = dy.engine;
  const db = e.empty([g.cout]);
  const grid = spread(e, g.cout);
  e.dispatch('conv2d', { entry: 'grad_bias', constants: { WG: reductionWorkgroup(g.batch * g.ho * g.wo) }, bindings: { dy, db }, params: params(g, { wg_stride: grid.stride }), workgroups: grid.workgroups });
  return db;
}

/**
 * y = conv2d(x, weight) + bias: x [N, Ci, H, W], weight [Co, Ci/groups, kh, kw], bias [Co] →
 * [N, Co, Ho, Wo] with Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (likewise Wo). groups = Ci = Co is a
 * depthwise convolution.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const g = geometry(x, weight, bias, opts);
  const y = convForward(x, weight, bias, g);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return x.engine.record('conv2d', inputs, y, (dy, needs) => [
    needs[0] ? convGradInput(dy, weight, g) : null,
    needs[1] ? convGradWeight(dy, x, g) : null,
    ...(bias ? [needs[2] ? convGradBias(dy, g) : null] : []),
  ]);
}

/** Global average pooling: [N, C, H, W] → [N, C], the mean over H·W (differentiable). */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`globalAvgPool: x ${fmt(x.shape)} must be [N, C, H, W]`);
  assertF32('globalAvgPool', x);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const flat = x.view([n, c, h * w]);
  const y = mean(flat, 2);
  flat.dispose();
  return y;
}
