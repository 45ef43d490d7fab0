/**
 * Adam over ~10M parameters in ~200 tensors of mixed sizes (a model-like spread: many small biases
 * and norms, a few large weights): median ms per step, GB/s of the update's minimum traffic
 * (read p, g, m, v; write p, m, v = 28 bytes per parameter), dispatches per step. Beside it: the
 * same optimiser with one instance (hence one dispatch) per tensor, a naive per-tensor composition
 * of elementwise ops, and the arena copies alone (what the flat layout costs).
 *   bun bench/adam.ts [--quick] [--runs N] [--skip-naive]
 */
import { parseArgs } from 'node:util';
import { Engine, type Tensor, Adam, add, addScalar, div, mulScalar, sqrt, square, sub } from '../src/engine/index.ts';
import { measureBandwidth, ratioBasis, timeMedian } from './harness.ts';
import { basisMs, type Measured } from './cpu-time.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
    'skip-naive': { type: 'boolean', default: false },
  },
});
const quick = values.quick!;
const runs = parseInt(values.runs!, 10);
const TOTAL = quick ? 1_000_000 : 10_000_000;
const COUNT = 200;

const e = await Engine.create();
console.log(`adapter: ${e.info.description}`);

/** Log-uniform sizes between 48 and ~0.6M, then scaled so they sum to TOTAL. */
function sizes(): number[] {
  let seed = 12345;
  const r = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const raw = Array.from({ length: COUNT }, () => Math.exp(Math.log(48) + r() * (Math.log(600_000) - Math.log(48))));
  const sum = raw.reduce((a, b) => a + b, 0);
  const s = raw.map((x) => Math.max(1, Math.round((x * TOTAL) / sum)));
  s[0]! += TOTAL - s.reduce((a, b) => a + b, 0);
  return s;
}
const shapes = sizes();
const params: Tensor[] = shapes.map((n, i) => e.fill(e.empty([n]), 0.01 * (i % 7)).asParameter(`p${i}`));
for (const [i, p] of params.entries()) p.grad = e.fill(e.empty([p.size]), 1e-3 * ((i % 5) - 2)).keep();
await e.sync();
const n = params.reduce((s, p) => s + p.size, 0);
const bytes = 28 * n;

const bw = await measureBandwidth(e, quick ? 1 << 20 : 16 << 20);
console.log(`${COUNT} tensors, ${n} parameters (smallest ${Math.min(...shapes)}, largest ${Math.max(...shapes)}); streaming axpy probe ${bw.wall.toFixed(2)} GB/s (${bw.cpu.toFixed(2)} GB per CPU-second)`);

interface Row { name: string; ms: Measured; dispatches: number }
const basis = ratioBasis(e);
const rows: Row[] = [];

async function measure(name: string, fn: () => void, r = runs): Promise<void> {
  fn();
  await e.sync();
  const before = e.getStats().dispatches;
  fn();
  const dispatches = e.getStats().dispatches - before;
  await e.sync();
  rows.push({ name, ms: await timeMedian(e, fn, 1, r), dispatches });
}

// Fused: every tensor in one update dispatch (+2 for clipping).
const fused = new Adam(params, { lr: 1e-3, weightDecay: 1e-4 });
await measure('fused Adam (arena, 1 update dispatch)', () => fused.step());
fused.dispose();
const clipped = new Adam(params, { lr: 1e-3, weightDecay: 1e-4, clipGradNorm: 1 });
await measure('fused Adam + global-norm clipping', () => clipped.step());
clipped.dispose();

// What the flat layout costs by itself: copying grads and params in, params out.
const arenaP = e.empty([n]).keep();
const arenaG = e.empty([n]).keep();
await measure('arena copies alone (g in, p in, p out)', () => {
  let o = 0;
  for (const p of params) {
    e.copy(p.grad!.buffer, 0, arenaG.buffer, o * 4, p.size * 4);
    e.copy(p.buffer, 0, arenaP.buffer, o * 4, p.size * 4);
    o += p.size;
  }
  o = 0;
  for (const p of params) {
    e.copy(arenaP.buffer, o * 4, p.buffer, 0, p.size * 4);
    o += p.size;
  }
});
arenaP.dispose();
arenaG.dispose();

// One optimiser per tensor: the same kernel, one dispatch per tensor.
const perTensor = params.map((p) => new Adam([p], { lr: 1e-3, weightDecay: 1e-4 }));
await measure('same kernel, one dispatch per tensor', () => perTensor.forEach((o) => o.step()));
perTensor.forEach((o) => o.dispose());

if (!values['skip-naive']) {
  // Naive composition of elementwise ops per tensor (new tensors each step, copied back).
  const m = params.map((p) => e.fill(e.empty(p.shape), 0).keep());
  const v = params.map((p) => e.fill(e.empty(p.shape), 0).keep());
  let t = 0;
  const [b1, b2, lr, eps, wd] = [0.9, 0.999, 1e-3, 1e-8, 1e-4];
  await measure('naive per-tensor elementwise composition', () => {
    t++;
    e.noGrad(() =>
      params.forEach((p, i) =>
        e.scope(() => {
          const g = add(p.grad!, mulScalar(p, wd));
          const m2 = add(mulScalar(m[i]!, b1), mulScalar(g, 1 - b1));
          const v2 = add(mulScalar(v[i]!, b2), mulScalar(square(g), 1 - b2));
          const denom = addScalar(mulScalar(sqrt(v2), 1 / Math.sqrt(1 - b2 ** t)), eps);
          const p2 = sub(p, div(mulScalar(m2, lr / (1 - b1 ** t)), denom));
          e.copy(p2.buffer, 0, p.buffer, 0, p.size * 4);
          e.copy(m2.buffer, 0, m[i]!.buffer, 0, p.size * 4);
          e.copy(v2.buffer, 0, v[i]!.buffer, 0, p.size * 4);
        }),
      ),
    );
  }, Math.min(runs, 5));
  [...m, ...v].forEach((x) => x.dispose());
}

console.log(`\n| variant | median ms/step | median CPU ms/step | GB (28 B/param) per ${basis === 'cpu' ? 'CPU-second' : 'second'} | dispatches/step |`);
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.name} | ${r.ms.wallMs.toFixed(2)} | ${r.ms.cpuMs.toFixed(2)} | ${(bytes / (basisMs(r.ms, basis) * 1e6)).toFixed(2)} | ${r.dispatches} |`);
const base = rows.find((r) => r.name.startsWith('fused Adam ('))!;
for (const r of rows) if (r !== base && !r.name.startsWith('arena')) console.log(`speed-up of fused over "${r.name}" (${basis} time): ${(basisMs(r.ms, basis) / basisMs(base.ms, basis)).toFixed(2)}×`);
