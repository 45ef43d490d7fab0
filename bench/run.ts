/**
 * `npm run bench`: times every core op forward and forward+backward on the current adapter at
 * realistic LRDif shapes, prints a table with median ms, GFLOP/s, GB/s and the fraction of the
 * roofline measured on this adapter, and writes JSON under bench/results/.
 *   bun bench/run.ts [--quick] [--runs N] [--filter substring]
 */
import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { measureBandwidth, printTable, runCase, timeMedian, type BenchRow, type Peaks } from './harness.ts';
import { coreCases } from './cases.ts';
import { matmul } from '../src/engine/ops/matmul.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
    filter: { type: 'string' },
    out: { type: 'string' },
  },
});

const e = await Engine.create();
const runs = parseInt(values.runs!, 10);
const quick = values.quick!;

console.error('measuring peaks …');
const bandwidthGBs = await measureBandwidth(e, quick ? 1 << 20 : 16 << 20);
const n = quick ? 256 : 1024;
const a = e.fill(e.empty([n, n]), 0.5).keep();
const b = e.fill(e.empty([n, n]), 0.25).keep();
const mmMs = await timeMedian(e, () => e.noGrad(() => e.scope(() => { matmul(a, b); })), 2, runs);
a.dispose();
b.dispose();
const peaks: Peaks = { bandwidthGBs, flopsG: (2 * n ** 3) / (mmMs * 1e6) };
console.log(`adapter: ${e.info.description}`);
console.log(`peak probes: streaming axpy ${peaks.bandwidthGBs.toFixed(2)} GB/s; matmul ${n}³ ${peaks.flopsG.toFixed(2)} GFLOP/s (the roofline uses these measured values)`);

const rows: BenchRow[] = [];
for (const c of coreCases(quick)) {
  if (values.filter && !c.name.includes(values.filter)) continue;
  console.error(`  ${c.name} ${c.shape}`);
  rows.push(...(await runCase(e, c, peaks, runs)));
}
printTable(rows);

const kind = e.info.kind;
const date = new Date().toISOString().slice(0, 10);
const out = values.out ?? `bench/results/${kind}-${date}.json`;
mkdirSync('bench/results', { recursive: true });
writeFileSync(out, JSON.stringify({ adapter: e.info.description, kind, date: new Date().toISOString(), timing: 'wall-clock-synchronised', peaks, rows }, null, 2));
console.log(`wrote ${out}`);
process.exit(0);
