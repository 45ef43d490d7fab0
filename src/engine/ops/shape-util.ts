/** Shape helpers shared by ops: broadcasting, strides, and uniform packing of shapes. */
import type { Tensor } from '../tensor.ts';

/** Maximum rank of the generic strided kernels (shapes are packed into two vec4<u32>). */
export const MAX_RANK = 8;

export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcasting of two shapes; throws naming the op and both shapes. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`);
    out.push(da === 1 ? db : da);
  }
  if (r > MAX_RANK) throw new Error(`${op}: rank ${r} exceeds ${MAX_RANK}`);
  return out;
}

/** Strides of `shape` read as if broadcast to `out` (0 on broadcast dimensions), padded to out's rank. */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const st = stridesOf(shape);
  const r = out.length;
  const res: number[] = [];
  for (let i = 0; i < r; i++) {
    const j = shape.length - r + i;
    if (j < 0) res.push(0);
    else res.push(shape[j] === 1 && out[i] !== 1 ? 0 : st[j]!);
  }
  return res;
}

/**
 * Drops size-1 dimensions of an iteration shape and merges each dimension into the one before it
 * when every operand steps through the pair as through one dimension (stride[k−1] = stride[k]·d[k]
 * for every strides list). Fewer dimensions mean fewer integer divisions per element in the
 * kernels' index decomposition, the dominant cost of strided kernels on CPU adapters.
 */
export function coalesceDims(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let k = 0; k < shape.length; k++) {
    const d = shape[k]!;
    if (d === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, j) => out[j]![last] === s[k]! * d)) {
      outShape[last] = outShape[last]! * d;
      strides.forEach((s, j) => (out[j]![last] = s[k]!));
    } else {
      outShape.push(d);
      strides.forEach((s, j) => out[j]!.push(s[k]!));
    }
  }
  return { shape: outShape, strides: out };
}

/** Pads a list to MAX_RANK entries (leading entries) for the kernels' vec4 pairs. */
export function pad8(v: readonly number[], fill: number): number[] {
  if (v.length > MAX_RANK) throw new Error(`rank ${v.length} exceeds ${MAX_RANK}`);
  return [...new Array<number>(MAX_RANK - v.length).fill(fill), ...v];
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertF32(op: string, ...ts: Tensor[]): void {
  for (const t of ts) if (t.dtype !== 'f32') throw new Error(`${op}: expected an f32 tensor, got ${t.dtype} ${t.describe()}`);
}

export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}
