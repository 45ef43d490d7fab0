/**
 * Reverse-mode autodiff over the engine's tape. Ops record nodes as they run (see Engine.record);
 * backward() walks the tape in reverse creation order, which is a reverse topological order,
 * and accumulates gradients. Leaves that require grad (parameters) receive `.grad`.
 */
import type { Tensor } from './tensor.ts';
import { add } from './ops/elementwise.ts';

/**
 * Back-propagates from `loss` (a scalar, or any tensor with an explicit `grad` of its shape).
 * Leaf gradients are accumulated into `.grad` (kept out of any scope: call zeroGrad to free them).
 * The tape is cleared afterwards.
 */
export function backward(loss: Tensor, grad?: Tensor): void {
  const e = loss.engine;
  if (!loss.requiresGrad) throw new Error(`backward: ${loss.describe()} does not depend on any tensor that requires grad`);
  if (!grad && loss.size !== 1) throw new Error(`backward: ${loss.describe()} is not a scalar; pass its gradient explicitly`);
  const seed = grad ?? e.fill(e.empty(loss.shape), 1);
  if (seed.shape.length !== loss.shape.length || seed.shape.some((d, i) => d !== loss.shape[i])) {
    throw new Error(`backward: gradient [${seed.shape.join(', ')}] does not match ${loss.describe()}`);
  }
  const grads = new Map<Tensor, Tensor>([[loss, seed]]);
  const tape = e.tape;
  e.noGrad(() => {
    for (let i = tape.length - 1; i >= 0; i--) {
      const node = tape[i]!;
      const g = grads.get(node.output);
      if (!g) continue;
      grads.delete(node.output);
      const needs = node.inputs.map((t) => t.requiresGrad);
      const ins = node.backward(g, needs);
      if (g !== seed || grad === undefined) g.dispose();
      for (let k = 0; k < node.inputs.length; k++) {
        const inp = node.inputs[k]!;
        const gi = ins[k];
        if (!gi || !needs[k]) {
          if (gi && gi !== g) gi.dispose();
          continue;
        }
        if (gi.size !== inp.size) throw new Error(`backward of ${node.op}: gradient [${gi.shape.join(', ')}] for input ${inp.describe()}`);
        const prev = grads.get(inp);
        if (prev) {
          grads.set(inp, add(prev, gi));
          prev.dispose();
          gi.dispose();
        } else grads.set(inp, gi.shape.length === inp.shape.length && gi.shape.every((d, j) => d === inp.shape[j]) ? gi : reshapeGrad(gi, inp));
      }
    }
  });
  // Whatever remains belongs to leaves.
  for (const [t, g] of grads) {
    if (t.node || !t.requiresGrad) {
      g.dispose();
      continue;
    }
    if (t.grad) {
      const sum = e.noGrad(() => add(t.grad!, g));
      t.grad.dispose();
      g.dispose();
      t.grad = sum.keep();
    } else t.grad = g.keep();
  }
  e.tape = [];
}

function reshapeGrad(g: Tensor, like: Tensor): Tensor {
  const v = g.view(like.shape);
  g.dispose();
  return v;
}

/** Frees and clears the gradients of the given tensors. */
export function zeroGrad(params: Iterable<Tensor>): void {
  for (const p of params) {
    p.grad?.dispose();
    p.grad = null;
  }
}
