/** In-place y += alpha·x. Not recorded on the tape: it is for optimisers and accumulation. */
import type { Tensor } from '../tensor.ts';
import { assertF32, fmt } from './shape-util.ts';

export function axpyInPlace(y: Tensor, x: Tensor, alpha: number): void {
  assertF32('axpyInPlace', x, y);
  if (x.size !== y.size) throw new Error(`axpyInPlace: x ${fmt(x.shape)} and y ${fmt(y.shape)} differ in size`);
  const e = y.engine;
  const g = e.grid(Math.ceil(y.size / 4), 64); // 4 elements per invocation
  e.dispatch('axpy', { bindings: { x, y }, params: { n: y.size, stride: g.stride, alpha }, workgroups: g.workgroups });
}

/** Plain SGD: p -= lr · p.grad for every parameter that has a gradient. */
export function sgdStep(params: Iterable<Tensor>, lr: number): void {
  for (const p of params) if (p.grad) axpyInPlace(p, p.grad, -lr);
}
