/** Runs fn without gradients in a scope and reads its result back to the host. */
import type { Engine, Tensor } from '../engine/index.ts';

export function noGradRead(e: Engine, fn: () => Tensor): Promise<Float32Array> {
  return e.noGrad(() => e.scope(async () => (await fn().read()) as Float32Array));
}
