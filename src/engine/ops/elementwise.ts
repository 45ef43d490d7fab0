/**
 * Elementwise ops: unary functions (one table, one shader), broadcasting binary ops, scalar
 * variants, and sumToShape (the reduction that undoes broadcasting in backward passes).
 */
import { BINARY_OPS as BINARY, UNARY_OPS as UNARY } from '../op-codes.ts';
import type { Tensor } from '../tensor.ts';
import { broadcastCopy } from './layout.ts';
import { assertF32, broadcastShapes, broadcastStrides, coalesceDims, fmt, pad8, sameShape, stridesOf } from './shape-util.ts';

// ------------------------------------------------------------------ unary

export type UnaryOp = keyof typeof UNARY;

/** Runs a unary op (with parameters a, b for affine / leaky slope) and records its backward. */
export function unary(op: UnaryOp, x: Tensor, a = 0, b = 0): Tensor {
  assertF32(op, x);
  const e = x.engine;
  const y = e.empty(x.shape);
  const g = e.grid(Math.ceil(x.size / 4), 64); // 4 elements per invocation
  const params = { n: x.size, stride: g.stride, a, b };
  e.dispatch('unary', { entry: 'forward', constants: { OP: UNARY[op] }, bindings: { x, y }, params, workgroups: g.workgroups });
  return e.record(op, [x], y, (dy) => {
    const dx = e.empty(x.shape);
    e.dispatch('unary', { entry: 'backward', constants: { OP: UNARY[op] }, bindings: { x, yv: y, dy, dx }, params, workgroups: g.workgroups });
    return [dx];
  });
}

export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const rsqrt = (x: Tensor) => unary('rsqrt', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** Exact (erf) GELU, as PyTorch's default. */
export const gelu = (x: Tensor) => unary('gelu', x);
export const relu = (x: Tensor) => unary('relu', x);
export const leakyRelu = (x: Tensor, slope = 0.01) => unary('leakyRelu', x, slope);
export const square = (x: Tensor) => unary('square', x);
export const recip = (x: Tensor) => unary('recip', x);
export const abs = (x: Tensor) => unary('abs', x);
/** y = a·x + b. */
export const affine = (x: Tensor, a: number, b: number) => unary('affine', x, a, b);
export const neg = (x: Tensor) => unary('affine', x, -1, 0);
export const addScalar = (x: Tensor, s: number) => unary('affine', x, 1, s);
export const mulScalar = (x: Tensor, s: number) => unary('affine', x, s, 0);
export const divScalar = (x: Tensor, s: number) => unary('affine', x, 1 / s, 0);

// ------------------------------------------------------------------ binary

export type BinaryOp = keyof typeof BINARY;

function binaryRaw(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  assertF32(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  const e = a.engine;
  const out = e.empty(shape);
  const g = e.grid(Math.ceil(out.size / 4), 64); // 4 outputs per invocation
  const same = sameShape(a.shape, shape) && sameShape(b.shape, shape);
  // The output is dense, so merging dimensions where both operands are also contiguous (or both
  // broadcast) keeps the linear output index valid.
  const merged = coalesceDims(shape, [broadcastStrides(a.shape, shape), broadcastStrides(b.shape, shape), stridesOf(shape)]);
  const sh = pad8(merged.shape, 1);
  const sa = pad8(merged.strides[0]!, 0);
  const sb = pad8(merged.strides[1]!, 0);
  e.dispatch('binary', {
    entry: same ? 'same_shape' : 'main',
    constants: same ? { OP: BINARY[op] } : { OP: BINARY[op], RANK: merged.shape.length },
    bindings: { a, b, out },
    params: {
      n: out.size, stride: g.stride, pad0: 0, pad1: 0,
      shape_lo: sh.slice(0, 4), shape_hi: sh.slice(4), sa_lo: sa.slice(0, 4), sa_hi: sa.slice(4), sb_lo: sb.slice(0, 4), sb_hi: sb.slice(4),
    },
    workgroups: g.workgroups,
  });
  return out;
}

/** out = a OP b with NumPy broadcasting. */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw(op, a, b);
  return a.engine.record(op, [a, b], out, (dy, needs) => {
    let ga: Tensor | null = null;
    let gb: Tensor | null = null;
    switch (op) {
      case 'add':
        if (needs[0]) ga = sumToShape(dy, a.shape);
        if (needs[1]) gb = sumToShape(dy, b.shape);
        break;
      case 'sub':
        if (needs[0]) ga = sumToShape(dy, a.shape);
        if (needs[1]) gb = sumToShape(neg(dy), b.shape);
        break;
      case 'mul':
        if (needs[0]) ga = sumToShape(binaryRaw('mul', dy, b), a.shape);
        if (needs[1]) gb = sumToShape(binaryRaw('mul', dy, a), b.shape);
        break;
      case 'div': {
        const q = binaryRaw('div', dy, b);
        if (needs[0]) ga = sumToShape(q, a.shape);
        // d(a/b)/db = -a/b² = -(dy/b)·(a/b) = -q·out
        if (needs[1]) gb = sumToShape(neg(binaryRaw('mul', q, out)), b.shape);
        break;
      }
      case 'maximum':
      case 'minimum': {
        // Gradient goes to the selected operand (to a on ties): chosenA = (out != b) || (a == b).
        const e = a.engine;
        const pick = binaryRaw('sub', out, b);
        const aMinusB = binaryRaw('sub', a, b);
        const chosenA = e.empty(out.shape);
        const mg = e.grid(out.size, 256);
        e.dispatch('mask', { bindings: { x: pick, y: aMinusB, out: chosenA }, params: { n: out.size, stride: mg.stride }, workgroups: mg.workgroups });
        if (needs[0]) ga = sumToShape(binaryRaw('mul', dy, chosenA), a.shape);
        if (needs[1]) gb = sumToShape(binaryRaw('mul', dy, affine(chosenA, -1, 1)), b.shape);
        break;
      }
    }
    return [ga, gb];
  });
}

export const add = (a: Tensor, b: Tensor) => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor) => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor) => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor) => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor) => binary('maximum', a, b);
export const minimum = (a: Tensor, b: Tensor) => binary('minimum', a, b);

// ------------------------------------------------------------------ sumToShape

/** Sums x over the dimensions that broadcasting expanded, returning a tensor of `shape`. */
export function sumToShape(x: Tensor, shape: readonly number[]): Tensor {
  // Same shape: nothing to reduce; a view shares the buffer (no copy, and no break in the compute pass).
  if (sameShape(x.shape, shape)) return x.view(shape);
  const r = x.shape.length;
  if (shape.length > r) throw new Error(`sumToShape: ${fmt(shape)} has higher rank than ${x.describe()}`);
  const target = [...new Array<number>(r - shape.length).fill(1), ...shape];
  const keep: number[] = [];
  const red: number[] = [];
  for (let i = 0; i < r; i++) {
    const t = target[i]!;
    const d = x.shape[i]!;
    if (t !== d && t !== 1) throw new Error(`sumToShape: cannot reduce ${x.describe()} to ${fmt(shape)}`);
    keep.push(t);
    red.push(t === 1 ? d : 1);
  }
  const e = x.engine;
  const out = e.empty(shape);
  const count = red.reduce((p, d) => p * d, 1);
  const g = e.grid(out.size, 64);
  // Kept and reduced dimensions as two iteration shapes over x's strides, each merged where it can.
  const st = stridesOf(x.shape);
  const kept = coalesceDims(keep, [st]);
  const reduced = coalesceDims(red, [st]);
  const k = pad8(kept.shape, 1);
  const kin = pad8(kept.strides[0]!, 0);
  const rd = pad8(reduced.shape, 1);
  const rin = pad8(reduced.strides[0]!, 0);
  e.dispatch('reduce_to_shape', {
    constants: { KEEP_RANK: kept.shape.length, RED_RANK: reduced.shape.length },
    bindings: { x, out },
    params: {
      n: out.size, stride: g.stride, count, pad0: 0,
      keep_lo: k.slice(0, 4), keep_hi: k.slice(4), keep_in_lo: kin.slice(0, 4), keep_in_hi: kin.slice(4),
      red_lo: rd.slice(0, 4), red_hi: rd.slice(4), red_in_lo: rin.slice(0, 4), red_in_hi: rin.slice(4),
    },
    workgroups: g.workgroups,
  });
  return e.record('sumToShape', [x], out, (dy) => [expandTo(dy, x.shape)]);
}

/** Broadcasts x to `shape` (materialised). Backward sums back. */
export function expandTo(x: Tensor, shape: readonly number[]): Tensor {
  const full = broadcastShapes('expandTo', x.shape, shape);
  if (!sameShape(full, shape)) throw new Error(`expandTo: ${x.describe()} does not broadcast to ${fmt(shape)}`);
  // One strided copy with stride 0 on broadcast dimensions (no zeros tensor, no extra fill).
  const out = broadcastCopy(x, shape);
  return x.engine.record('expandTo', [x], out, (dy) => [sumToShape(dy, x.shape)]);
}
