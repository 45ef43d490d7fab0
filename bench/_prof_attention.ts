import { Engine } from '/work/main/src/engine/engine.ts';
import { scaledDotProductAttention } from '/work/main/src/engine/ops/attention.ts';
import { timeMedian } from '/work/main/bench/harness.ts';
const e = await Engine.create();
const random = (shape: number[], s = 1) => e.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (Math.random() * 2 - 1) * s), shape);
for (const [h, n, dh, w] of [[4, 196, 32, 14], [8, 148, 96, 0], [2, 784, 32, 28]] as const) {
  const shape = [2, h, n, dh];
  const q = random(shape).asParameter(), k = random(shape).asParameter(), v = random(shape).asParameter();
  const span = 2 * w - 1;
  const table = w ? random([span * span, h], 0.05).asParameter() : null;
  const dy = random(shape).keep();
  const f = () => scaledDotProductAttention(q, k, v, { scale: 0.2, relPosBias: table ? { table, window: w } : undefined });
  const fwd = await timeMedian(e, () => e.noGrad(() => e.scope(() => { f(); })), 1, 5);
  const y = f();
  const node = y.node!;
  const res: string[] = [`fwd ${fwd.toFixed(1)}`];
  for (const [name, needs] of [['dq', [true, false, false, false]], ['dkdv', [false, true, true, false]], ['dtable', [false, false, false, true]]] as const) {
    if (name === 'dtable' && !table) continue;
    const ms = await timeMedian(e, () => e.noGrad(() => e.scope(() => { node.backward(dy, [...needs]); })), 1, 5);
    res.push(`${name} ${ms.toFixed(1)}`);
  }
  console.log(`h${h} n${n} dh${dh} w${w}: ${res.join('  ')}`);
  e.tape = [];
}
process.exit(0);
