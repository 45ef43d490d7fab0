/** The small plain CNN the diagnostic scripts share: 4 × (Conv3×3 + ReLU, strides 2,2,2,1), global average pool, Linear. */
import { type Tensor, globalAvgPool, relu } from '../src/engine/index.ts';
import { Conv2d, Linear } from '../src/model/layers.ts';
import type { ModuleContext } from '../src/model/module.ts';

export function smallCnn(ctx: ModuleContext, classes = 7) {
  const convs = [new Conv2d(ctx, 3, 16, 3, { stride: 2 }), new Conv2d(ctx, 16, 32, 3, { stride: 2 }), new Conv2d(ctx, 32, 64, 3, { stride: 2 }), new Conv2d(ctx, 64, 64, 3)];
  const head = new Linear(ctx, 64, classes);
  const named: [string, Tensor][] = [...convs.flatMap((c, i) => [[`c${i}.weight`, c.weight], [`c${i}.bias`, c.bias!]] as [string, Tensor][]), ['head.weight', head.weight], ['head.bias', head.bias!]];
  return {
    named,
    params: named.map(([, t]) => t),
    forward: (x: Tensor) => head.forward(globalAvgPool(convs.reduce((h, c) => relu(c.forward(h)), x))),
  };
}
