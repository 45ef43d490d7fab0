/**
 * 2-D convolution over NCHW tensors (PyTorch semantics: weight [Co, Ci/groups, kh, kw], zero
 * padding, stride, groups) with gradients for input, weight and bias.
 *
 * Two strategies per pass, chosen per adapter and problem shape by the tuner (../tuning.ts):
 * - 'direct': one kernel per pass in shaders/conv2d.wgsl (tiles chosen here as override constants);
 * - 'gemm' (groups = 1 only): lowering to the matmul op. A 1×1 stride-1 unpadded convolution is a
 *   plain batched product W[Co, Ci] · x[n][Ci, H·W]; other kernels go through im2col patches
 *   (forward, grad weight) and a col2im gather (grad input). Patches are recomputed in backward
 *   rather than kept alive between the passes, and built for as many images at a time as fit in
 *   `im2colBytes`.
 * Grouped and depthwise convolutions always run direct (memory-bound, little to gain from matmul).
 */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { add } from './elementwise.ts';
import { matmul } from './matmul.ts';
import { sum } from './reduce.ts';
import { assertF32, fmt } from './shape-util.ts';
import { anchor, choose, defineTunable } from '../tuning.ts';

export interface Conv2dOptions {
  /** Stride, one number or [sh, sw] (default 1). */
  stride?: number | readonly [number, number];
  /** Zero padding on each side, one number or [ph, pw] (default 0). */
  padding?: number | readonly [number, number];
  groups?: number;
  /** Memory cap for the im2col patch buffers of one pass (default 64 MiB); the batch is split to fit. */
  im2colBytes?: number;
}

/** Strategies the tuner chooses from for groups = 1 (tests force each one with withVariants; grouped convolutions always run 'direct'). */
export type Conv2dVariant = 'direct' | 'gemm';
export const CONV2D_VARIANTS: readonly Conv2dVariant[] = ['direct', 'gemm'];
export type Conv2dPass = 'forward' | 'gradInput' | 'gradWeight';

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

function params(g: Geometry, extra: { has_bias?: number; tiles_w?: number; tiles_c?: number; wg_stride?: number; n0?: number }) {
  return {
    batch: g.batch, cin: g.cin, h: g.h, w: g.w, cout: g.cout, ho: g.ho, wo: g.wo, cig: g.cig,
    cog: g.cog, stride_h: g.sh, pad_h: g.ph, pad_w: g.pw,
    has_bias: extra.has_bias ?? 0, tiles_w: extra.tiles_w ?? 0, tiles_c: extra.tiles_c ?? 0, wg_stride: extra.wg_stride ?? 0,
    n0: extra.n0 ?? 0,
  };
}

/** 2-D launch of `count` workgroups spread over x and y; returns the x extent for the kernel. */
function spread(e: Tensor['engine'], count: number): { workgroups: [number, number, number]; stride: number } {
  const g = e.grid(count, 1);
  return { workgroups: g.workgroups, stride: g.workgroups[0] };
}

/**
 * Output rows per invocation of the depthwise kernels (vec4, scalar). Measured on llvmpipe,
 * [8, 96, 28, 28] 3×3, fastest of 15: vec4 1 / 2 / 4 / 8 rows 3.4 / 2.0 / 4.2 / 3.7 ms, scalar
 * 3.1 / 6.7 / 4.6 / 4.2 ms (not monotonic: beyond these the compiler spills).
 */
const DEPTHWISE_ROWS = { vec4: 2, scalar: 1 };

/** Stride-1 depthwise convolutions with small kernels have their own kernels (shaders/conv2d_depthwise.wgsl). */
function isDepthwise(g: Geometry): boolean {
  return g.cig === 1 && g.cog === 1 && g.sh === 1 && g.sw === 1 && g.kh * g.kw <= 49 && g.kw <= 37 && g.ph < g.kh && g.pw < g.kw;
}

/**
 * The depthwise kernel over `src` into a new [batch, C, ho, wo] tensor: the forward (src = x), or
 * with `flip` the grad input (src = dy; geometry with input and output swapped and padding k − 1 − p).
 */
function depthwise(src: Tensor, weight: Tensor, bias: Tensor | undefined, g: Geometry, flip: boolean): Tensor {
  const e = src.engine;
  const out = e.empty([g.batch, g.cout, g.ho, g.wo]);
  const tilesW = Math.ceil(g.wo / 4);
  // Rows of whole vec4s on both sides: vec4 loads and stores.
  const vec4 = depthwiseVec4(g);
  const rows = vec4 ? DEPTHWISE_ROWS.vec4 : DEPTHWISE_ROWS.scalar;
  const grid = e.grid(g.batch * g.cout * Math.ceil(g.ho / rows) * tilesW, 64);
  const constants = { KH: g.kh, KW: g.kw, RT: rows, FLIP: flip ? 1 : 0 };
  e.dispatch('conv2d_depthwise', {
    entry: vec4 ? 'depthwise_vec4' : 'depthwise',
    constants: vec4 ? { ...constants, PW_MOD: (4 - (g.pw % 4)) % 4 } : constants,
    bindings: vec4 ? { x4: src, weight, bias: bias ?? e.dummy, y4: out } : { x: src, weight, bias: bias ?? e.dummy, y: out },
    params: params(g, { has_bias: bias ? 1 : 0, tiles_w: tilesW, wg_stride: grid.stride }),
    workgroups: grid.workgroups,
  });
  return out;
}

function convForward(x: Tensor, weight: Tensor, bias: Tensor | undefined, g: Geometry): Tensor {
  if (isDepthwise(g)) return depthwise(x, weight, bias, g, false);
  const e = x.engine;
  const y = e.empty([g.batch, g.cout, g.ho, g.wo]);
  const tc = tileFor(g.cog, [8, 4, 2, 1]);
  const tilesW = Math.ceil(g.wo / 4);
  const tilesC = g.cout / tc;
  e.dispatch('conv2d', {
    entry: 'forward',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, TC: tc },
    bindings: { x, weight, bias: bias ?? e.dummy, y },
    params: params(g, { has_bias: bias ? 1 : 0, tiles_w: tilesW, tiles_c: tilesC }),
    workgroups: [Math.ceil((g.batch * g.ho * tilesW) / 64), tilesC, 1],
  });
  return y;
}

function convGradInput(dy: Tensor, weight: Tensor, g: Geometry): Tensor {
  if (isDepthwise(g)) {
    const t: Geometry = { ...g, h: g.ho, w: g.wo, ho: g.h, wo: g.w, ph: g.kh - 1 - g.ph, pw: g.kw - 1 - g.pw };
    return depthwise(dy, weight, undefined, t, true);
  }
  const e = dy.engine;
  const dx = e.empty([g.batch, g.cin, g.h, g.w]);
  const tc = tileFor(g.cig, [8, 4, 2, 1]);
  const tilesW = Math.ceil(Math.ceil(g.w / g.sw) / 4);
  const tilesC = g.cin / tc;
  const rows = Math.ceil(g.h / g.sh);
  e.dispatch('conv2d', {
    entry: 'grad_input',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, TC: tc },
    bindings: { dy, weight, dx },
    params: params(g, { tiles_w: tilesW, tiles_c: tilesC }),
    workgroups: [Math.ceil((g.batch * rows * tilesW) / 64), tilesC * g.sh * g.sw, 1],
  });
  return dx;
}

/** Power-of-two workgroup size in [16, 64] giving each invocation about 8 or more of `items`. */
function reductionWorkgroup(items: number): number {
  let wg = 16;
  while (wg < 64 && items >= wg * 2 * 8) wg *= 2;
  return wg;
}

/** The depthwise kernels' vec4 variant applies: rows of whole vec4s on both sides, a window that fits. */
function depthwiseVec4(g: Geometry): boolean {
  return g.w % 4 === 0 && g.wo % 4 === 0 && g.kw <= 10;
}

function convGradWeight(dy: Tensor, x: Tensor, g: Geometry): Tensor {
  const e = dy.engine;
  const dw = e.empty([g.cout, g.cig, g.kh, g.kw]);
  if (isDepthwise(g) && depthwiseVec4(g) && g.kh * g.kw <= 32) {
    // One workgroup per channel over vec4 rows (llvmpipe [8,96,28,28] 3×3: 4.9 → 3.4 ms vs grad_weight).
    const rows = DEPTHWISE_ROWS.vec4;
    const grid = spread(e, g.cout);
    e.dispatch('conv2d_depthwise', {
      entry: 'depthwise_grad_weight',
      constants: { KH: g.kh, KW: g.kw, RT: rows, PW_MOD: (4 - (g.pw % 4)) % 4, WG: 64 },
      bindings: { x4: x, dy4: dy, dw },
      params: params(g, { tiles_w: g.wo / 4, wg_stride: grid.stride }),
      workgroups: grid.workgroups,
    });
    return dw;
  }
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

// ------------------------------------------------------------------ matmul lowering (groups = 1)

const DEFAULT_IM2COL_BYTES = 64 << 20;

/** 1×1, stride 1, no padding: x[n] viewed as [Ci, H·W] already is the patch matrix. */
const isPointwise = (g: Geometry) => g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.ph === 0 && g.pw === 0;

/** Rows of the patch matrix (Ci·kh·kw) and its columns (Ho·Wo). */
const patchK = (g: Geometry) => g.cin * g.kh * g.kw;
const patchP = (g: Geometry) => g.ho * g.wo;

/** Images per im2col chunk: the whole batch when its patches fit in `bytes`, else fewer (at least 1). */
function chunkImages(g: Geometry, bytes: number): number {
  if (isPointwise(g)) return g.batch;
  return Math.max(1, Math.min(g.batch, Math.floor(bytes / (patchK(g) * patchP(g) * 4))));
}

/** Patches of images n0 .. n0 + nc as [nc, Ci·kh·kw, Ho·Wo]. */
function im2col(x: Tensor, g: Geometry, n0: number, nc: number): Tensor {
  const e = x.engine;
  if (isPointwise(g)) return x.view([g.batch, g.cin, g.h * g.w]);
  const cols = e.empty([nc, patchK(g), patchP(g)]);
  e.dispatch('conv2d', {
    entry: 'im2col',
    constants: { KH: g.kh, KW: g.kw, SW: g.sw, COLS_VEC: g.wo % 4 === 0 ? 1 : 0 },
    bindings: { x, cols },
    params: params(g, { n0, tiles_w: Math.ceil(g.wo / 4) }),
    workgroups: [Math.ceil((g.cin * g.ho * Math.ceil(g.wo / 4)) / 64), nc, 1],
  });
  return cols;
}

/** Images n0 .. n0 + nc of dy as [nc, Co, Ho·Wo] (a view when that is all of dy, else a copy). */
function dyChunk(dy: Tensor, g: Geometry, n0: number, nc: number): Tensor {
  const e = dy.engine;
  if (nc === g.batch) return dy.view([g.batch, g.cout, patchP(g)]);
  const out = e.empty([nc, g.cout, patchP(g)]);
  const per = g.cout * patchP(g) * 4;
  e.copy(dy.buffer, n0 * per, out.buffer, 0, nc * per);
  return out;
}

function gemmForward(x: Tensor, weight: Tensor, bias: Tensor | undefined, g: Geometry, bytes: number): Tensor {
  const e = x.engine;
  return e.noGrad(() =>
    e.scope(() => {
      const w2 = weight.view([g.cout, patchK(g)]);
      const nc = chunkImages(g, bytes);
      const shape = [g.batch, g.cout, g.ho, g.wo];
      let y: Tensor;
      if (nc === g.batch) y = matmul(w2, im2col(x, g, 0, nc)).view(shape);
      else {
        y = e.empty(shape);
        const per = g.cout * patchP(g) * 4;
        for (let n0 = 0; n0 < g.batch; n0 += nc) {
          const m = Math.min(nc, g.batch - n0);
          const cols = im2col(x, g, n0, m);
          const part = matmul(w2, cols);
          e.copy(part.buffer, 0, y.buffer, n0 * per, m * per);
          cols.dispose();
          part.dispose();
        }
      }
      if (bias) {
        const grid = e.grid(y.size, 64);
        e.dispatch('conv2d', { entry: 'add_bias_rows', bindings: { y, bias }, params: params(g, { wg_stride: grid.stride }), workgroups: grid.workgroups });
      }
      return y;
    }),
  );
}

function gemmGradInput(dy: Tensor, weight: Tensor, g: Geometry, bytes: number): Tensor {
  const e = dy.engine;
  return e.noGrad(() =>
    e.scope(() => {
      const w2 = weight.view([g.cout, patchK(g)]);
      const xShape = [g.batch, g.cin, g.h, g.w];
      if (isPointwise(g)) return matmul(w2, dyChunk(dy, g, 0, g.batch), { transA: true }).view(xShape);
      const dx = e.empty(xShape);
      const nc = chunkImages(g, bytes);
      // Columns of one residue modulo sw, 4 per invocation (see col2im in the shader).
      const tilesW = Math.ceil(Math.ceil(g.w / g.sw) / 4);
      for (let n0 = 0; n0 < g.batch; n0 += nc) {
        const m = Math.min(nc, g.batch - n0);
        const dyc = dyChunk(dy, g, n0, m);
        const dcols = matmul(w2, dyc, { transA: true });
        e.dispatch('conv2d', {
          entry: 'col2im',
          constants: { KH: g.kh, KW: g.kw, SW: g.sw },
          bindings: { dcols, dx },
          params: params(g, { n0, tiles_w: tilesW }),
          workgroups: [Math.ceil((g.cin * g.h * tilesW) / 64), m * g.sw, 1],
        });
        dyc.dispose();
        dcols.dispose();
      }
      return dx;
    }),
  );
}

function gemmGradWeight(dy: Tensor, x: Tensor, g: Geometry, bytes: number): Tensor {
  const e = dy.engine;
  return e.noGrad(() =>
    e.scope(() => {
      const nc = chunkImages(g, bytes);
      let dw: Tensor | null = null;
      for (let n0 = 0; n0 < g.batch; n0 += nc) {
        const m = Math.min(nc, g.batch - n0);
        // Per-image products dy[n] · cols[n]ᵀ, summed over the chunk's images afterwards.
        const perImage = matmul(dyChunk(dy, g, n0, m), im2col(x, g, n0, m), { transB: true });
        const part = m === 1 ? perImage.view([g.cout, patchK(g)]) : sum(perImage, 0);
        perImage.dispose();
        dw = dw ? add(dw, part) : part;
      }
      return dw!.view([g.cout, g.cig, g.kh, g.kw]);
    }),
  );
}

// ------------------------------------------------------------------ strategy choice

/** Convolutions of fewer than this many multiply-adds count as small (launch overhead dominates). */
const SMALL_MACS = 1 << 22;
const MIN_TIMED_MACS = 1 << 18;
const macsOf = (g: Geometry) => g.batch * g.cout * patchP(g) * patchK(g);

interface Conv2dProblem {
  g: Geometry;
  pass: Conv2dPass;
}

const CONV2D = defineTunable<Conv2dProblem, Conv2dVariant>({
  name: 'conv2d',
  variants: CONV2D_VARIANTS,
  shaders: ['conv2d', 'matmul'],
  key: ({ g, pass }) => `${pass} n${anchor(g.batch)} ${anchor(g.cin)}->${anchor(g.cout)} ${anchor(g.h)}x${anchor(g.w)} k${g.kh}x${g.kw} s${g.sh}x${g.sw} p${g.ph}x${g.pw}`,
  /**
   * GPUs run the direct kernels. CPU adapters run the matmul lowering (measured with
   * bench/conv2d.ts on llvmpipe: 1.2–3× faster on large problems, grad weight faster at every size)
   * except forward and grad input of small spatial problems, where its extra dispatches cost more.
   */
  fallback(info, { g, pass }) {
    if (!info.software) return 'direct';
    return macsOf(g) < SMALL_MACS && !isPointwise(g) && pass !== 'gradWeight' ? 'direct' : 'gemm';
  },
  // Below ~0.1 ms launch and synchronisation dominate: the strategies differ by less than the noise.
  worthTiming: ({ g }) => macsOf(g) >= MIN_TIMED_MACS,
  bench(e, { g, pass }) {
    const x = e.fill(e.empty([g.batch, g.cin, g.h, g.w]), 0.5).keep();
    const w = e.fill(e.empty([g.cout, g.cig, g.kh, g.kw]), 0.25).keep();
    const dy = e.fill(e.empty([g.batch, g.cout, g.ho, g.wo]), 1).keep();
    return {
      run: () => void runPass(pass, variantFor(e, g, pass), x, w, undefined, dy, g, DEFAULT_IM2COL_BYTES),
      dispose: () => [x, w, dy].forEach((t) => t.dispose()),
    };
  },
});

function variantFor(e: Engine, g: Geometry, pass: Conv2dPass): Conv2dVariant {
  return g.groups === 1 ? choose(e, CONV2D, { g, pass }) : 'direct';
}

/** One pass with one strategy (shared by the op and the tuner's bench). */
function runPass(pass: Conv2dPass, v: Conv2dVariant, x: Tensor, weight: Tensor, bias: Tensor | undefined, dy: Tensor, g: Geometry, bytes: number): Tensor {
  const gemm = v === 'gemm';
  switch (pass) {
    case 'forward':
      return gemm ? gemmForward(x, weight, bias, g, bytes) : convForward(x, weight, bias, g);
    case 'gradInput':
      return gemm ? gemmGradInput(dy, weight, g, bytes) : convGradInput(dy, weight, g);
    case 'gradWeight':
      return gemm ? gemmGradWeight(dy, x, g, bytes) : convGradWeight(dy, x, g);
  }
}

// ------------------------------------------------------------------ public ops

/**
 * y = conv2d(x, weight) + bias: x [N, Ci, H, W], weight [Co, Ci/groups, kh, kw], bias [Co] →
 * [N, Co, Ho, Wo] with Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (likewise Wo). groups = Ci = Co is a
 * depthwise convolution.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor, opts: Conv2dOptions = {}): Tensor {
  const g = geometry(x, weight, bias, opts);
  const e = x.engine;
  const bytes = opts.im2colBytes ?? DEFAULT_IM2COL_BYTES;
  const pass = (p: Conv2dPass, dy: Tensor) => runPass(p, variantFor(e, g, p), x, weight, bias, dy, g, bytes);
  const y = pass('forward', x);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return e.record('conv2d', inputs, y, (dy, needs) => [
    needs[0] ? pass('gradInput', dy) : null,
    needs[1] ? pass('gradWeight', dy) : null,
    ...(bias ? [needs[2] ? convGradBias(dy, g) : null] : []),
  ]);
}
