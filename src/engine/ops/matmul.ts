/**
 * Matrix products: batched `matmul` with transposed operands, fused bias and scale, and `linear`
 * (PyTorch layout) on top of it. One WGSL file (shaders/matmul.wgsl) holds two kernel strategies —
 * register-blocked (no workgroup memory; fast on CPU adapters) and workgroup-tiled (fast on GPUs) —
 * and the tuner (../tuning.ts) picks one per adapter and problem shape.
 *
 * Backward uses the same kernels with transpose flags, never a materialised transpose; the
 * gradient of a broadcast operand is summed over the broadcast batch dimensions inside the kernel
 * (the kernel's "reduction" batch dimensions).
 */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { sumToShape } from './elementwise.ts';
import { assertF32, broadcastStrides, fmt, stridesOf } from './shape-util.ts';
import { anchor, choose, defineTunable } from '../tuning.ts';

// ------------------------------------------------------------------ kernel variants

/** Kernel configurations the tuner chooses from (tests force each one with withVariants). */
export type MatmulVariant = 'register' | 'register8x8' | 'registerNamed' | 'workgroup';
export const MATMUL_VARIANTS: readonly MatmulVariant[] = ['register', 'register8x8', 'registerNamed', 'workgroup'];

interface KernelConfig {
  entry: string;
  constants: Record<string, number>;
  /** Output rows and columns covered by one workgroup. */
  rows: number;
  cols: number;
}

/**
 * register_blocked with a TM×TN block per invocation and 8 × 4 invocations per workgroup, whatever
 * the shape. Measured on llvmpipe (8×8 blocks, fastest of 7): wide workgroups leave lanes idle on
 * the model's narrow outputs (6272×96·96×96ᵀ: 64 × 1 9.9 ms, 8 × 4 7.0 ms; 64 × 64³ products:
 * 8 × 4 2.2 ms, 8 × 8 3.0, 8 × 1 4.4), and on large squares every shape ties (1024³: 95–100 ms).
 * One shape also means one pipeline per flag combination.
 */
function registerConfig(tm: number, tn: number): KernelConfig {
  const wgX = 8;
  const wgY = 4;
  return { entry: 'register_blocked', constants: { TM: tm, TN: tn, WG_X: wgX, WG_Y: wgY }, rows: tm * wgY, cols: tn * wgX };
}

function kernelConfig(e: Engine, v: MatmulVariant): KernelConfig {
  switch (v) {
    case 'register':
      return registerConfig(4, 4);
    case 'register8x8':
      // Twice the multiply-adds per loaded value of 4×4: what bounds llvmpipe is its per-lane loads.
      return registerConfig(8, 8);
    case 'registerNamed':
      // 4×4 blocks without private arrays (SwiftShader keeps those in memory).
      return { entry: 'register_named', constants: { WG_X: 8, WG_Y: 4 }, rows: 16, cols: 32 };
    case 'workgroup': {
      // 16×16 invocations (64×64 tiles) where the device allows 256 per workgroup, else 16×8.
      const wgY = e.maxInvocations >= 256 ? 16 : 8;
      return { entry: 'workgroup_tiled', constants: { WG_X: 16, WG_Y: wgY, BK: 16 }, rows: 4 * wgY, cols: 64 };
    }
  }
}

// ------------------------------------------------------------------ launch

interface Launch {
  a: Tensor;
  b: Tensor;
  transA: boolean;
  transB: boolean;
  M: number;
  N: number;
  K: number;
  alpha: number;
  bias: Tensor | null;
  /** Batch dimensions of the product with each operand's element strides (0 = broadcast). */
  dims: readonly number[];
  sa: readonly number[];
  sb: readonly number[];
  /** Dimensions summed into the output instead of kept. */
  reduce: readonly boolean[];
  outShape: readonly number[];
}

interface BatchDim {
  d: number;
  sa: number;
  sb: number;
  red: boolean;
}

/** Drops unit dimensions and merges neighbours that index both operands like one dimension. */
function mergeDims(L: Launch): BatchDim[] {
  const out: BatchDim[] = [];
  const fits = (outer: number, inner: number, d: number) => (outer === 0 && inner === 0) || (inner !== 0 && outer === inner * d);
  L.dims.forEach((d, i) => {
    if (d === 1) return;
    const cur = { d, sa: L.sa[i]!, sb: L.sb[i]!, red: L.reduce[i]! };
    const prev = out[out.length - 1];
    if (prev && prev.red === cur.red && fits(prev.sa, cur.sa, d) && fits(prev.sb, cur.sb, d)) {
      prev.d *= d;
      prev.sa = cur.sa;
      prev.sb = cur.sb;
    } else out.push(cur);
  });
  return out;
}

/** Packs up to 4 batch dimensions (slowest first) into the kernel's vec4 fields. */
function pack4(dims: BatchDim[], what: string): { shape: number[]; sa: number[]; sb: number[]; count: number } {
  if (dims.length > 4) throw new Error(`matmul: ${dims.length} ${what} batch dimensions that cannot be merged (at most 4)`);
  const pad = 4 - dims.length;
  return {
    shape: [...new Array<number>(pad).fill(1), ...dims.map((x) => x.d)],
    sa: [...new Array<number>(pad).fill(0), ...dims.map((x) => x.sa)],
    sb: [...new Array<number>(pad).fill(0), ...dims.map((x) => x.sb)],
    count: dims.reduce((p, x) => p * x.d, 1),
  };
}

/** Encodes one product into a new tensor of L.outShape. */
function launch(L: Launch): Tensor {
  const e = L.a.engine;
  const out = e.empty(L.outShape);
  const { M, N, K } = L;
  if (out.size === 0) return out;
  const merged = mergeDims(L);
  const kept = pack4(merged.filter((x) => !x.red), 'output');
  const red = pack4(merged.filter((x) => x.red), 'reduced');
  const variant = choose(e, MATMUL, { M, N, K, batch: kept.count, reduced: red.count, transA: L.transA, transB: L.transB });
  const cfg = kernelConfig(e, variant);
  const constants = {
    ...cfg.constants,
    TRANS_A: L.transA ? 1 : 0,
    TRANS_B: L.transB ? 1 : 0,
    HAS_BIAS: L.bias ? 1 : 0,
    // vec4 loads need every stored row to start on a 16-byte boundary.
    VEC_A: (L.transA ? M : K) % 4 === 0 ? 1 : 0,
    VEC_B: (L.transB ? K : N) % 4 === 0 ? 1 : 0,
  };
  const kernel = e.kernel('matmul', cfg.entry, constants);
  const bindings = { a: L.a, b: L.b, bias: L.bias ?? e.dummy, out };
  const gx = Math.ceil(N / cfg.cols);
  const gy = Math.ceil(M / cfg.rows);
  const maxDim = e.maxWorkgroupsPerDim;
  // Grids larger than the per-dimension limit are split into several dispatches (row0, batch0).
  for (let z0 = 0; z0 < kept.count; z0 += maxDim) {
    for (let y0 = 0; y0 < gy; y0 += maxDim) {
      e.encodeDispatch(kernel, {
        bindings,
        params: {
          M, N, K, alpha: L.alpha, batch0: z0, row0: y0, red_count: red.count, pad0: 0,
          out_shape: kept.shape, out_sa: kept.sa, out_sb: kept.sb,
          red_shape: red.shape, red_sa: red.sa, red_sb: red.sb,
        },
        workgroups: [gx, Math.min(maxDim, gy - y0), Math.min(maxDim, kept.count - z0)],
      });
    }
  }
  return out;
}

// ------------------------------------------------------------------ tuning

/** What the variant choice depends on: one launch's product size, batch, summed batch and layout. */
interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  /** Output batch entries, and batch entries summed into each output (a broadcast operand's gradient). */
  batch: number;
  reduced: number;
  transA: boolean;
  transB: boolean;
}

const MIN_TIMED_MACS = 1 << 18;

const MATMUL = defineTunable<MatmulProblem, MatmulVariant>({
  name: 'matmul',
  variants: MATMUL_VARIANTS,
  shaders: ['matmul'],
  // Whether rows start on 16-byte boundaries picks the vec4 loads: part of the key.
  key: (p) =>
    `${p.transA ? 'T' : 'N'}${p.transB ? 'T' : 'N'} ${anchor(p.M)}x${anchor(p.N)}x${anchor(p.K)} batch ${anchor(p.batch)}` +
    `${p.reduced > 1 ? ` sum ${anchor(p.reduced)}` : ''} vec ${+((p.transA ? p.M : p.K) % 4 === 0)}${+((p.transB ? p.K : p.N) % 4 === 0)}`,
  // CPU adapters run the register kernels far faster (docs/design.md §1), GPUs the tiled one. The
  // 8×8 block won every size on llvmpipe (1024³: 22 GFLOP/s vs 4×4's ~12); on SwiftShader the
  // array-free 4×4 block (256³: 11.9 ms vs 8×8's 45).
  fallback: (info) => (!info.software ? 'workgroup' : info.software === 'llvmpipe' ? 'register8x8' : 'registerNamed'),
  // Below ~0.1 ms launch and synchronisation dominate: the variants differ by less than the noise.
  worthTiming: (p) => p.M * p.N * p.K * p.batch * p.reduced >= MIN_TIMED_MACS,
  // Workgroup tiles lose 5–10× on CPU adapters (a workgroup runs on one thread; bench/README.md):
  // timing them there only costs the tuner time (a third of it at the tiny preset).
  candidates: (info) => (info.software ? MATMUL_VARIANTS.filter((v) => v !== 'workgroup') : MATMUL_VARIANTS),
  bench(e, p) {
    const n = p.reduced * p.batch;
    const a = e.fill(e.empty([n, ...(p.transA ? [p.K, p.M] : [p.M, p.K])]), 0.5).keep();
    const b = e.fill(e.empty([n, ...(p.transB ? [p.N, p.K] : [p.K, p.N])]), 0.25).keep();
    const L: Launch = {
      a, b, transA: p.transA, transB: p.transB, M: p.M, N: p.N, K: p.K, alpha: 1, bias: null,
      dims: [p.reduced, p.batch], sa: [p.batch * p.M * p.K, p.M * p.K], sb: [p.batch * p.K * p.N, p.K * p.N], reduce: [true, false], outShape: [p.batch, p.M, p.N],
    };
    return {
      run: () => void launch(L),
      dispose: () => {
        a.dispose();
        b.dispose();
      },
    };
  },
});

// ------------------------------------------------------------------ public ops

export interface MatmulOptions {
  /** a is stored as [..., K, M]. */
  transA?: boolean;
  /** b is stored as [..., N, K]. */
  transB?: boolean;
  /** A [N] tensor added to every output row (fused into the kernel). */
  bias?: Tensor;
  /** Scale of the product (applied before the bias). */
  alpha?: number;
}

const numel = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/**
 * out = alpha · op(a) · op(b) + bias with a [..., M, K], b [..., K, N] (op = transpose when
 * transA / transB say the operand is stored the other way round). Batch dimensions broadcast
 * (NumPy rules), so a 2-D operand is shared across the other's batch.
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  assertF32('matmul', a, b);
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const alpha = opts.alpha ?? 1;
  const bias = opts.bias ?? null;
  const desc = () => `a ${fmt(a.shape)}${transA ? ' (transA)' : ''} and b ${fmt(b.shape)}${transB ? ' (transB)' : ''}`;
  if (a.rank < 2 || b.rank < 2) throw new Error(`matmul: operands need rank ≥ 2, got ${desc()}`);
  const ra = a.rank;
  const rb = b.rank;
  const M = transA ? a.shape[ra - 1]! : a.shape[ra - 2]!;
  const Ka = transA ? a.shape[ra - 2]! : a.shape[ra - 1]!;
  const Kb = transB ? b.shape[rb - 1]! : b.shape[rb - 2]!;
  const N = transB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  if (Ka !== Kb) throw new Error(`matmul: inner dimensions differ (${Ka} vs ${Kb}) for ${desc()}`);
  const K = Ka;
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  const rank = Math.max(aBatch.length, bBatch.length);
  const batch: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = aBatch[aBatch.length - rank + i] ?? 1;
    const db = bBatch[bBatch.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`matmul: batch dimensions do not broadcast (${da} vs ${db}) for ${desc()}`);
    batch.push(da === 1 ? db : da);
  }
  if (bias) {
    assertF32('matmul', bias);
    if (bias.rank !== 1 || bias.shape[0] !== N) throw new Error(`matmul: bias ${fmt(bias.shape)} must be [${N}] for ${desc()}`);
  }
  const sa = broadcastStrides(aBatch, batch).map((s) => s * M * K);
  const sb = broadcastStrides(bBatch, batch).map((s) => s * K * N);
  const outShape = [...batch, M, N];
  const batchCount = numel(batch);
  // b shared by every batch entry of a row-major a: fold the batch into M (one 2-D product).
  const fold = !transA && batch.length > 0 && sb.every((s) => s === 0);
  const P = fold ? { M: M * batchCount, dims: [] as number[], sa: [] as number[], sb: [] as number[] } : { M, dims: batch, sa, sb };
  const dyStrides = stridesOf(P.dims).map((s) => s * P.M * N);
  const out = launch({ a, b, transA, transB, M: P.M, N, K, alpha, bias, dims: P.dims, sa: P.sa, sb: P.sb, reduce: P.dims.map(() => false), outShape });

  const inputs = bias ? [a, b, bias] : [a, b];
  return a.engine.record('matmul', inputs, out, (dy, needs) => {
    const common = { alpha, bias: null, dims: P.dims };
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    if (needs[0]) {
      // dA = alpha · dy · op(B)ᵀ, summed over the batch dimensions where a was broadcast.
      const reduce = P.sa.map((s) => s === 0);
      ga = transA
        ? launch({ ...common, a: b, transA: transB, b: dy, transB: true, M: K, N: P.M, K: N, sa: P.sb, sb: dyStrides, reduce, outShape: a.shape })
        : launch({ ...common, a: dy, transA: false, b, transB: !transB, M: P.M, N: K, K: N, sa: dyStrides, sb: P.sb, reduce, outShape: a.shape });
    }
    if (needs[1]) {
      // dB = alpha · op(A)ᵀ · dy, summed over the batch dimensions where b was broadcast.
      const reduce = P.sb.map((s) => s === 0);
      gb = transB
        ? launch({ ...common, a: dy, transA: true, b: a, transB: transA, M: N, N: K, K: P.M, sa: dyStrides, sb: P.sa, reduce, outShape: b.shape })
        : launch({ ...common, a, transA: !transA, b: dy, transB: false, M: K, N, K: P.M, sa: P.sa, sb: dyStrides, reduce, outShape: b.shape });
    }
    const gbias = bias && needs[2] ? sumToShape(dy, [N]) : null;
    return bias ? [ga, gb, gbias] : [ga, gb];
  });
}

/**
 * PyTorch's linear layer: x [..., in] · weightᵀ + bias with weight [out, in], bias [out]
 * → [..., out]; matmul with transB and the bias fused.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  if (weight.rank !== 2) throw new Error(`linear: weight ${fmt(weight.shape)} must be [out, in] (x ${fmt(x.shape)})`);
  const inF = weight.shape[1]!;
  if (x.rank < 1 || x.shape[x.rank - 1] !== inF) {
    throw new Error(`linear: x ${fmt(x.shape)} has ${x.shape[x.rank - 1] ?? 0} features, weight ${fmt(weight.shape)} expects ${inF}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== weight.shape[0])) {
    throw new Error(`linear: bias ${fmt(bias.shape)} must be [${weight.shape[0]}] for weight ${fmt(weight.shape)}`);
  }
  // A vector input is one row; its views stay alive in the caller's scope (backward reads them).
  if (x.rank === 1) return matmul(x.view([1, inF]), weight, { transB: true, bias }).view([weight.shape[0]!]);
  return matmul(x, weight, { transB: true, bias });
}
