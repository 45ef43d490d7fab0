/** The shared program: deterministic inputs, a composition of ops, forward values and gradients. */
import { Engine } from '../../src/engine/engine.ts';
import { backward } from '../../src/engine/autograd.ts';
import { add, gelu, mul, tanh } from '../../src/engine/ops/elementwise.ts';
import { max, mean, sumAll } from '../../src/engine/ops/reduce.ts';

export interface EngineCheckResult {
  adapter: string;
  loss: number[];
  gradA: number[];
  gradB: number[];
  rowMax: number[];
}

export async function runEngineCheck(): Promise<EngineCheckResult> {
  const e = await Engine.create({ log: false });
  const n = 6 * 37;
  const av = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 2);
  const bv = Float32Array.from({ length: 37 }, (_, i) => Math.cos(i * 0.11));
  return e.scope(async () => {
    const a = e.tensor(av, [6, 37]).asParameter();
    const b = e.tensor(bv, [37]).asParameter();
    const h = gelu(add(mul(a, b), tanh(a)));
    const rowMax = max(h, 1);
    const loss = add(sumAll(h), mean(rowMax, 0, true));
    backward(loss);
    const out: EngineCheckResult = {
      adapter: e.info.description,
      loss: [...((await loss.read()) as Float32Array)],
      gradA: [...((await a.grad!.read()) as Float32Array)],
      gradB: [...((await b.grad!.read()) as Float32Array)],
      rowMax: [...((await rowMax.read()) as Float32Array)],
    };
    for (const p of [a, b]) {
      p.grad?.dispose();
      p.dispose();
    }
    return out;
  });
}
