/**
 * Embedding lookup: gather(table [V, D], indices [...]) → [..., D], with a race-free backward
 * (no float atomics): every gradient element is summed by exactly one invocation, in increasing
 * lookup order, so repeated rows get exact and reproducible gradients.
 */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { assertF32, fmt } from './shape-util.ts';

/** Host index data: validated on the host before upload. */
export type HostIndices = ArrayLike<number> | { data: ArrayLike<number>; shape: readonly number[] };

/**
 * Rows of `table` picked by `indices`.
 * - `indices` a u32/i32 Tensor: an out-of-range index (negative, or ≥ V) yields a zero row and
 *   contributes no gradient; the tensor must stay alive until backward has run.
 * - `indices` host data (an array, or { data, shape }): every index is checked here and an
 *   out-of-range one throws; the backward then sums through a host-built CSR in O(count·D).
 */
export function gather(table: Tensor, indices: Tensor | HostIndices): Tensor {
  assertF32('gather', table);
  if (table.rank !== 2) throw new Error(`gather: table must be [V, D], got ${table.describe()}`);
  const [V, D] = table.shape as [number, number];
  const e = table.engine;
  let idx: Tensor;
  let host: Uint32Array | null = null;
  if (isTensor(indices)) {
    if (indices.dtype === 'f32') throw new Error(`gather: indices must be u32 or i32, got f32 ${indices.describe()} (table ${table.describe()})`);
    idx = indices;
  } else {
    const data = 'data' in indices ? indices.data : indices;
    const shape = 'data' in indices ? [...indices.shape] : [data.length];
    host = checkIndices('gather', data, shape, V, `table ${table.describe()}`);
    idx = e.tensor(host, shape, 'u32');
  }
  const count = idx.size;
  const out = e.empty([...idx.shape, D]);
  const g = e.grid(out.size, 256);
  e.dispatch('gather', { entry: 'forward', bindings: { table, indices: idx, out }, params: { n: out.size, stride: g.stride, rows: V, dim: D, count }, workgroups: g.workgroups });
  if (host) idx.dispose();
  return e.record('gather', [table], out, (dy) => {
    const dtable = e.empty([V, D]);
    const bg = e.grid(V * D, 256);
    const params = { n: V * D, stride: bg.stride, rows: V, dim: D, count };
    if (host) {
      const { offsets, order } = csr(host, V);
      const offT = e.tensor(offsets, [V + 1], 'u32');
      const ordT = e.tensor(order, [order.length], 'u32');
      e.dispatch('gather', { entry: 'backward_csr', bindings: { dy, offsets: offT, order: ordT, dtable }, params, workgroups: bg.workgroups });
      offT.dispose();
      ordT.dispose();
    } else {
      e.dispatch('gather', { entry: 'backward_scan', bindings: { dy, indices: idx, dtable }, params, workgroups: bg.workgroups });
    }
    return [dtable];
  });
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === 'object' && x !== null && 'storage' in x && 'engine' in x;
}

/** Lookup positions grouped by row (counting sort, stable): row v's are order[offsets[v]..offsets[v+1]). */
function csr(indices: Uint32Array, rows: number): { offsets: Uint32Array; order: Uint32Array } {
  const offsets = new Uint32Array(rows + 1);
  for (const v of indices) offsets[v + 1]!++;
  for (let v = 0; v < rows; v++) offsets[v + 1]! += offsets[v]!;
  const next = offsets.slice(0, rows);
  const order = new Uint32Array(indices.length);
  indices.forEach((v, m) => (order[next[v]!++] = m));
  return { offsets, order };
}

/** Range-checks host indices (integers in [0, rows)), naming the op, the position and the shapes. */
function checkIndices(op: string, data: ArrayLike<number>, shape: readonly number[], rows: number, what: string): Uint32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`${op}: ${data.length} indices for shape ${fmt(shape)} (${what})`);
  const out = new Uint32Array(data.length);
  for (let m = 0; m < data.length; m++) {
    const v = data[m]!;
    if (!Number.isInteger(v) || v < 0 || v >= rows) throw new Error(`${op}: index ${v} at position ${m} is out of range for ${what} (indices ${fmt(shape)})`);
    out[m] = v;
  }
  return out;
}

/** A u32 index tensor from host data, range-checked like gather()'s host path (for indices reused across calls). */
export function indexTensor(e: Engine, data: ArrayLike<number>, shape: readonly number[], rows: number): Tensor {
  return e.tensor(checkIndices('indexTensor', data, shape, rows, `${rows} rows`), shape, 'u32');
}
