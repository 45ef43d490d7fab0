/**
 * Data movement: permute/transpose, flip, slice, concat/split and pixel (un)shuffle. Every one is a
 * launch of the single strided-copy kernel (shaders/strided_copy.wgsl); reshape is Tensor.view.
 * Copies move raw 32-bit words, so these ops work for every dtype; gradients flow for f32.
 */
import type { Tensor } from '../tensor.ts';
import { MAX_RANK, broadcastStrides, coalesceDims, fmt, normAxis, pad8, stridesOf } from './shape-util.ts';

/** dst[dstBase + Σ c·dstStrides] = src[srcBase + Σ c·srcStrides] for every coordinate c of `shape`. */
interface CopyPlan {
  shape: readonly number[];
  srcStrides: readonly number[];
  dstStrides: readonly number[];
  srcBase: number;
  dstBase: number;
}

/** Encodes one strided copy from src into dst (no autograd). */
function stridedCopy(op: string, src: Tensor, dst: Tensor, plan: CopyPlan): void {
  const n = plan.shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const { shape, strides } = coalesceDims(plan.shape, [plan.srcStrides, plan.dstStrides]);
  const [ss, ds] = strides as [number[], number[]];
  if (shape.length > MAX_RANK) {
    throw new Error(`${op}: copying ${src.describe()} needs ${shape.length} non-mergeable dimensions; the strided-copy kernel supports ${MAX_RANK}`);
  }
  const e = src.engine;
  // Whole groups of 4 along the innermost dimension share one index decomposition.
  const group = shape.length > 0 && shape[shape.length - 1]! % 4 === 0 ? 4 : 1;
  const g = e.grid(n / group, 256);
  const sh = pad8(shape, 1);
  // A negative stride reads backwards (flip): the kernel's u32 index arithmetic wraps modulo 2³²,
  // so it is passed as its two's-complement u32.
  const s = pad8(ss, 0).map((v) => v >>> 0);
  const d = pad8(ds, 0).map((v) => v >>> 0);
  e.dispatch('strided_copy', {
    constants: { RANK: shape.length, GROUP: group },
    bindings: { src, dst },
    params: {
      n, stride: g.stride, src_base: plan.srcBase, dst_base: plan.dstBase,
      shape_lo: sh.slice(0, 4), shape_hi: sh.slice(4), ss_lo: s.slice(0, 4), ss_hi: s.slice(4), ds_lo: d.slice(0, 4), ds_hi: d.slice(4),
    },
    workgroups: g.workgroups,
  });
}

/**
 * x broadcast to `shape` as a dense tensor, in one strided copy (stride 0 on broadcast
 * dimensions). No autograd: elementwise.expandTo records it. The caller checks broadcastability.
 */
export function broadcastCopy(x: Tensor, shape: readonly number[]): Tensor {
  const out = x.engine.empty(shape, x.dtype);
  stridedCopy('expandTo', x, out, { shape, srcStrides: broadcastStrides(x.shape, shape), dstStrides: stridesOf(shape), srcBase: 0, dstBase: 0 });
  return out;
}

/**
 * Reads x as if it had shape `viewShape` (same element count), permutes by `dims`, and returns a
 * dense tensor of `outShape` (whose element order is that of the permuted view). No autograd.
 */
function permuteView(op: string, x: Tensor, viewShape: readonly number[], dims: readonly number[], outShape: readonly number[]): Tensor {
  const vs = stridesOf(viewShape);
  const shape = dims.map((d) => viewShape[d]!);
  const out = x.engine.empty(outShape, x.dtype);
  stridedCopy(op, x, out, { shape, srcStrides: dims.map((d) => vs[d]!), dstStrides: stridesOf(shape), srcBase: 0, dstBase: 0 });
  return out;
}

// ------------------------------------------------------------------ flip

/** Reverses the order along `axis` (torch.flip): one strided copy reading that axis backwards; backward flips back. */
export function flip(x: Tensor, axis: number): Tensor {
  const a = normAxis('flip', axis, x.rank);
  const e = x.engine;
  const xs = stridesOf(x.shape);
  const backwards = xs.map((v, k) => (k === a ? -v : v));
  const out = e.empty(x.shape, x.dtype);
  stridedCopy('flip', x, out, { shape: x.shape, srcStrides: backwards, dstStrides: xs, srcBase: Math.max(0, x.shape[a]! - 1) * xs[a]!, dstBase: 0 });
  return e.record('flip', [x], out, (dy) => [flip(dy, a)]);
}

// ------------------------------------------------------------------ permute / transpose

/** Reorders dimensions: out.shape[k] = x.shape[dims[k]] (negative dims count from the end). */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const r = x.rank;
  const bad = () => new Error(`permute: dims ${fmt(dims)} is not a permutation of 0..${r - 1} for ${x.describe()}`);
  if (dims.length !== r) throw bad();
  const norm = dims.map((d) => (d < 0 ? d + r : d));
  const seen = new Set<number>();
  for (const d of norm) {
    if (!Number.isInteger(d) || d < 0 || d >= r || seen.has(d)) throw bad();
    seen.add(d);
  }
  const outShape = norm.map((d) => x.shape[d]!);
  const out = permuteView('permute', x, x.shape, norm, outShape);
  const inverse = new Array<number>(r);
  norm.forEach((d, k) => (inverse[d] = k));
  return x.engine.record('permute', [x], out, (dy) => [permute(dy, inverse)]);
}

/** Swaps two dimensions. */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normAxis('transpose', dim0, x.rank);
  const b = normAxis('transpose', dim1, x.rank);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

// ------------------------------------------------------------------ slice / split

/**
 * Elements start, start+step, … < end along `axis` (negative start/end count from the end;
 * out-of-range bounds throw rather than clamp). Backward writes the gradient into zeros.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  const a = normAxis('slice', axis, x.rank);
  const size = x.shape[a]!;
  const s = start < 0 ? start + size : start;
  const t = end === undefined ? size : end < 0 ? end + size : end;
  if (!Number.isInteger(s) || !Number.isInteger(t) || s < 0 || t > size || s > t) {
    throw new Error(`slice: range [${start}, ${end ?? size}) is out of range for axis ${a} (size ${size}) of ${x.describe()}`);
  }
  if (!Number.isInteger(step) || step < 1) throw new Error(`slice: step ${step} must be a positive integer (axis ${a} of ${x.describe()})`);
  const len = Math.ceil((t - s) / step);
  const outShape = [...x.shape];
  outShape[a] = len;
  const e = x.engine;
  const xs = stridesOf(x.shape);
  const region = [...xs];
  region[a] = xs[a]! * step;
  const out = e.empty(outShape, x.dtype);
  stridedCopy('slice', x, out, { shape: outShape, srcStrides: region, dstStrides: stridesOf(outShape), srcBase: s * xs[a]!, dstBase: 0 });
  return e.record('slice', [x], out, (dy) => {
    const dx = e.fill(e.empty(x.shape), 0);
    stridedCopy('slice backward', dy, dx, { shape: outShape, srcStrides: stridesOf(outShape), dstStrides: region, srcBase: 0, dstBase: s * xs[a]! });
    return [dx];
  });
}

/**
 * Splits along `axis` into pieces of the given sizes, or (a number) into chunks of that size with
 * a smaller last chunk, as torch.split. Each piece is a slice; their gradients sum in backward.
 */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis('split', axis, x.rank);
  const total = x.shape[a]!;
  let parts: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1) throw new Error(`split: chunk size ${sizes} must be a positive integer (axis ${a} of ${x.describe()})`);
    parts = [];
    for (let o = 0; o < total; o += sizes) parts.push(Math.min(sizes, total - o));
  } else {
    parts = [...sizes];
    const sum = parts.reduce((p, d) => p + d, 0);
    if (parts.some((d) => !Number.isInteger(d) || d < 0) || sum !== total) {
      throw new Error(`split: sizes ${fmt(parts)} sum to ${sum} but axis ${a} of ${x.describe()} has ${total}`);
    }
  }
  const out: Tensor[] = [];
  let off = 0;
  for (const p of parts) {
    out.push(slice(x, a, off, off + p));
    off += p;
  }
  return out;
}

// ------------------------------------------------------------------ concat

/** Joins tensors along `axis`; all other dimensions (and the dtype) must match. */
export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('concat: no tensors given');
  const first = xs[0]!;
  const a = normAxis('concat', axis, first.rank);
  const shapes = xs.map((t) => fmt(t.shape)).join(', ');
  for (const t of xs) {
    const ok = t.rank === first.rank && t.shape.every((d, i) => i === a || d === first.shape[i]);
    if (!ok) throw new Error(`concat: shapes ${shapes} differ outside axis ${a}`);
    if (t.dtype !== first.dtype) throw new Error(`concat: dtypes differ (${xs.map((u) => u.dtype).join(', ')}) for shapes ${shapes}`);
  }
  const offsets: number[] = [];
  let total = 0;
  for (const t of xs) {
    offsets.push(total);
    total += t.shape[a]!;
  }
  const outShape = [...first.shape];
  outShape[a] = total;
  const e = first.engine;
  const os = stridesOf(outShape);
  const out = e.empty(outShape, first.dtype);
  xs.forEach((t, i) => {
    stridedCopy('concat', t, out, { shape: t.shape, srcStrides: stridesOf(t.shape), dstStrides: os, srcBase: 0, dstBase: offsets[i]! * os[a]! });
  });
  return e.record('concat', [...xs], out, (dy, needs) => xs.map((t, i) => (needs[i] ? slice(dy, a, offsets[i]!, offsets[i]! + t.shape[a]!) : null)));
}

// ------------------------------------------------------------------ pixel (un)shuffle

function checkFactor(op: string, x: Tensor, r: number): void {
  if (x.rank < 3) throw new Error(`${op}: expected [..., C, H, W], got ${x.describe()}`);
  if (!Number.isInteger(r) || r < 1) throw new Error(`${op}: factor ${r} must be a positive integer (input ${x.describe()})`);
}

/**
 * [..., C, H·r, W·r] → [..., C·r², H, W] with PyTorch's channel order:
 * out[c·r² + i·r + j, h, w] = x[c, h·r + i, w·r + j]. Backward is pixelShuffle.
 */
export function pixelUnshuffle(x: Tensor, r: number): Tensor {
  checkFactor('pixelUnshuffle', x, r);
  const [C, H, W] = x.shape.slice(-3) as [number, number, number];
  if (H % r !== 0 || W % r !== 0) throw new Error(`pixelUnshuffle: H=${H} and W=${W} of ${x.describe()} must be divisible by r=${r}`);
  const lead = x.shape.slice(0, -3);
  const N = lead.reduce((p, d) => p * d, 1);
  const h = H / r;
  const w = W / r;
  // View [N, C, h, i, w, j] → [N, C, i, j, h, w].
  const out = permuteView('pixelUnshuffle', x, [N, C, h, r, w, r], [0, 1, 3, 5, 2, 4], [...lead, C * r * r, h, w]);
  return x.engine.record('pixelUnshuffle', [x], out, (dy) => [pixelShuffle(dy, r)]);
}

/** [..., C·r², H, W] → [..., C, H·r, W·r], the inverse of pixelUnshuffle. Backward is pixelUnshuffle. */
export function pixelShuffle(x: Tensor, r: number): Tensor {
  checkFactor('pixelShuffle', x, r);
  const [Cr, H, W] = x.shape.slice(-3) as [number, number, number];
  if (Cr % (r * r) !== 0) throw new Error(`pixelShuffle: channels ${Cr} of ${x.describe()} must be divisible by r²=${r * r}`);
  const lead = x.shape.slice(0, -3);
  const N = lead.reduce((p, d) => p * d, 1);
  const C = Cr / (r * r);
  // View [N, C, i, j, H, W] → [N, C, H, i, W, j].
  const out = permuteView('pixelShuffle', x, [N, C, r, r, H, W], [0, 1, 4, 2, 5, 3], [...lead, C, H * r, W * r]);
  return x.engine.record('pixelShuffle', [x], out, (dy) => [pixelUnshuffle(dy, r)]);
}
