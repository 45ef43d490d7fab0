/** Reductions over one axis: sum, mean, max (with argmax for backward), and sumAll. */
import { REDUCE_OPS } from '../op-codes.ts';
import type { Tensor } from '../tensor.ts';
import { expandTo, mulScalar } from './elementwise.ts';
import { assertF32, normAxis } from './shape-util.ts';

function split(shape: readonly number[], axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, n: shape[axis]!, inner };
}

function outShape(shape: readonly number[], axis: number, keepDims: boolean): number[] {
  const s = [...shape];
  if (keepDims) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

function launch(op: keyof typeof REDUCE_OPS, x: Tensor, axis: number, keepDims: boolean, scale: number): { out: Tensor; arg: Tensor | null } {
  const e = x.engine;
  const { outer, n, inner } = split(x.shape, axis);
  if (n === 0) throw new Error(`${op}: axis ${axis} of ${x.describe()} is empty`);
  const out = e.empty(outShape(x.shape, axis, keepDims));
  const arg = op === 'max' ? e.empty(out.shape, 'u32') : null;
  const outputs = outer * inner;
  const perWorkgroup = n >= 256 && outputs < 65536;
  const g = perWorkgroup ? e.grid(outputs, 1) : e.grid(outputs, 64);
  const stride = perWorkgroup ? g.workgroups[0] : g.stride;
  e.dispatch('reduce', {
    entry: perWorkgroup ? 'per_workgroup' : 'per_thread',
    constants: { OP: REDUCE_OPS[op] },
    bindings: { x, out, arg: arg ?? e.dummy },
    params: { outer, n, inner, scale, stride },
    workgroups: g.workgroups,
  });
  return { out, arg };
}

/** Sum over `axis`. */
export function sum(x: Tensor, axis: number, keepDims = false): Tensor {
  assertF32('sum', x);
  const a = normAxis('sum', axis, x.rank);
  const { out } = launch('sum', x, a, keepDims, 1);
  return x.engine.record('sum', [x], out, (dy) => {
    const d = dy.view(outShape(x.shape, a, true));
    const r = expandTo(d, x.shape);
    d.dispose();
    return [r];
  });
}

/** Mean over `axis`. */
export function mean(x: Tensor, axis: number, keepDims = false): Tensor {
  assertF32('mean', x);
  const a = normAxis('mean', axis, x.rank);
  const n = x.shape[a]!;
  const { out } = launch('sum', x, a, keepDims, 1 / n);
  return x.engine.record('mean', [x], out, (dy) => {
    const d = dy.view(outShape(x.shape, a, true));
    const s = mulScalar(d, 1 / n);
    const r = expandTo(s, x.shape);
    d.dispose();
    s.dispose();
    return [r];
  });
}

/** Max over `axis` (gradient flows to the first maximal element). */
export function max(x: Tensor, axis: number, keepDims = false): Tensor {
  assertF32('max', x);
  const a = normAxis('max', axis, x.rank);
  const e = x.engine;
  const { out, arg } = launch('max', x, a, keepDims, 1);
  const { outer, n, inner } = split(x.shape, a);
  return e.record('max', [x], out, (dy) => {
    const dx = e.empty(x.shape);
    const g = e.grid(x.size, 64);
    e.dispatch('reduce', { entry: 'max_backward', constants: { OP: REDUCE_OPS.max }, bindings: { dy, argv: arg!, dx }, params: { outer, n, inner, scale: 1, stride: g.stride }, workgroups: g.workgroups });
    return [dx];
  });
}

/** Sum of every element, as a [1] tensor. */
export function sumAll(x: Tensor): Tensor {
  const flat = x.view([x.size]);
  const s = sum(flat, 0, true);
  flat.dispose();
  return s;
}

/** Mean of every element, as a [1] tensor. */
export function meanAll(x: Tensor): Tensor {
  const flat = x.view([x.size]);
  const s = mean(flat, 0, true);
  flat.dispose();
  return s;
}
