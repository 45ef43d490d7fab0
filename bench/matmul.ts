/**
 * matmul GFLOP/s of every kernel variant at 512³, 1024³ and batched 64×(64×64×64), plus the
 * tuner's choice at each (measured afresh, in memory). Median (and best) of --runs synchronised
 * runs after warm-up.
 *   ./node_modules/.bin/bun bench/matmul.ts [--runs N] [--variant name] [--trans]
 */
import { parseArgs } from 'node:util';
import { Engine, MATMUL_VARIANTS, matmul, type MatmulVariant, medianMs, recordShapes, timesMs, tuneAll, withVariants } from '../src/engine/index.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    variant: { type: 'string' },
    /** Also time the transposed layouts the backward pass uses. */
    trans: { type: 'boolean', default: false },
  },
});
const runs = Math.max(10, parseInt(values.runs!, 10));
const variants = values.variant ? [values.variant as MatmulVariant] : MATMUL_VARIANTS;

const e = await Engine.create();
console.log(`adapter: ${e.info.description}; median of ${runs} runs after warm-up`);

const cases: { name: string; batch: number; M: number; N: number; K: number }[] = [
  { name: '512³', batch: 1, M: 512, N: 512, K: 512 },
  { name: '1024³', batch: 1, M: 1024, N: 1024, K: 1024 },
  { name: '64×(64³)', batch: 64, M: 64, N: 64, K: 64 },
];
const layouts: { name: string; transA: boolean; transB: boolean }[] = [{ name: 'NN', transA: false, transB: false }];
if (values.trans) layouts.push({ name: 'TN', transA: true, transB: false }, { name: 'NT', transA: false, transB: true });

const head = ['case', 'layout', ...variants.map((v) => `${v} GFLOP/s median`)];
const rows: string[][] = [];
for (const c of cases) {
  for (const l of layouts) {
    const a = e.fill(e.empty(l.transA ? [c.batch, c.K, c.M] : [c.batch, c.M, c.K]), 0.5).keep();
    const b = e.fill(e.empty(l.transB ? [c.batch, c.N, c.K] : [c.batch, c.K, c.N]), 0.25).keep();
    const flops = 2 * c.batch * c.M * c.N * c.K;
    const row = [c.name, l.name];
    for (const v of variants) {
      // Slow variants on big sizes would take minutes on CPU adapters: cap the runs by a first timing.
      const run = () => withVariants(e, { matmul: v }, () => e.noGrad(() => e.scope(() => { matmul(a, b, { transA: l.transA, transB: l.transB }); })));
      const first = await medianMs(e, run, 1, 1);
      const times = first > 2000 ? [first] : await timesMs(e, run, 1, runs);
      const median = times[Math.floor(times.length / 2)]!;
      const gf = (ms: number) => (flops / (ms * 1e6)).toFixed(2);
      // The best run shows what other processes sharing the CPU cost (CPU adapters).
      row.push(times.length === 1 ? `${gf(median)} (1 run)` : `${gf(median)} (best ${gf(times[0]!)})`);
      console.error(`  ${c.name} ${l.name} ${v}: median ${median.toFixed(2)} ms`);
    }
    rows.push(row);
    // Unforced, once: the tuner notes the shape, and tuneAll below times it.
    recordShapes(e, () => e.noGrad(() => e.scope(() => { matmul(a, b, { transA: l.transA, transB: l.transB }); })));
    a.dispose();
    b.dispose();
  }
}
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((x, i) => (i < 2 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
const tuned = await tuneAll(e);
for (const t of tuned.tuned) console.log(`tuner: ${t.key} → ${t.variant} (${tuned.by}: ${Object.entries(t.cost).map(([v, c]) => `${v} ${c.toFixed(2)}`).join(', ')})`);
