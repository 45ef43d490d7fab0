/**
 * The benchmark suites behind `npm run bench`: peak probes, core-kernel and fused-kernel roofline
 * rows, peers on the same adapter, training steps. `runBench` runs the chosen suites on one engine,
 * prints console tables, and writes the JSON result and the HTML report.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Engine, MATMUL_VARIANTS, matmul, type MatmulVariant, saveTunings, withVariants, type TuningsJson } from '../src/engine/index.ts';
import { measureBandwidth, printTable, ratioBasis, runCase, timeMedian, type BenchRow, type Peaks } from './harness.ts';
import { basisMs, type RatioBasis } from './cpu-time.ts';
import { coreCases, sizeOf, type Size } from './cases.ts';
import { fusedPairs } from './fused.ts';
import { cpuPeak, type CpuPeak } from './cpu.ts';
import { printPeers, runPeers, type PeersResult } from './peers.ts';
import { printTrain, runTrain, type TrainConfig, type TrainRow } from './train.ts';
import { printTorchComparison, runTorchComparison, type TorchComparison } from './torch-peer.ts';
import { reportHtml } from './report.ts';

export const SUITES = ['kernels', 'fused', 'peers', 'train'] as const;
export type Suite = (typeof SUITES)[number];

export interface FusedRow { fused: BenchRow; composed: BenchRow; speedup: number }

export interface BenchResult {
  adapter: string;
  kind: string;
  date: string;
  suites: Suite[];
  size: Size;
  timing: string;
  /** The clock of every ratio (roofline fractions, peer speed-ups): CPU time on CPU adapters, wall time on GPUs. */
  ratioBasis: RatioBasis;
  timestampQuery: boolean;
  /** 1, 5 and 15 minute load averages when the run started (other processes share the CPU). */
  loadAverage: number[];
  cpu: CpuPeak | null;
  peaks: (Peaks & { matmulVariant: string; matmulN: number }) | null;
  /**
   * The kernel choices measured for this adapter when the rows started (bench/run.ts opens this
   * machine's tuning file, as the CLI does): rows whose shapes have one run it, others the
   * per-adapter default; the train rows time their steps' missing shapes first.
   */
  tuning: TuningsJson | null;
  kernels: BenchRow[];
  fused: FusedRow[];
  peers: PeersResult | null;
  train: TrainRow[];
  /** `--torch`: our training step's CPU time per image against the PyTorch twin's (single thread). */
  torch: TorchComparison | null;
  notes: string[];
}

export interface BenchOptions {
  suites: Suite[];
  size: boolean | Size;
  runs: number;
  /** JSON path; default bench/results/<adapter>-<date>.json. */
  out?: string;
  /** Directory of report.html; default bench/results. */
  reportDir?: string;
  filter?: string;
  log?: (s: string) => void;
  /** Print console tables (default true). */
  print?: boolean;
  /** Training configurations instead of the size's default list. */
  trainConfigs?: TrainConfig[];
  /** Time the PyTorch twin (scripts/torch-twin.py) on the train suite's configurations. */
  torch?: boolean;
}

/** Peak probes: streaming axpy bandwidth and the best matmul variant at n³. */
export async function measurePeaks(e: Engine, size: Size, runs: number): Promise<NonNullable<BenchResult['peaks']>> {
  const bandwidth = await measureBandwidth(e, size === 'full' ? 16 << 20 : size === 'quick' ? 1 << 20 : 1 << 16);
  const n = size === 'full' ? 1024 : size === 'quick' ? 256 : 64;
  const a = e.fill(e.empty([n, n]), 0.5).keep();
  const b = e.fill(e.empty([n, n]), 0.25).keep();
  const basis = ratioBasis(e);
  let best = { variant: 'register' as MatmulVariant, ms: Infinity, wallMs: Infinity, cpuMs: Infinity };
  for (const variant of MATMUL_VARIANTS) {
    const run = () => withVariants(e, { matmul: variant }, () => e.noGrad(() => e.scope(() => { matmul(a, b); })));
    const first = await timeMedian(e, run, 1, 1);
    // Slow variants at 1024³ take seconds per run on CPU adapters: one run shows they lose.
    const m = basisMs(first, basis) > 4 * best.ms || first.wallMs > 2000 ? first : await timeMedian(e, run, 1, runs);
    if (basisMs(m, basis) < best.ms) best = { variant, ms: basisMs(m, basis), wallMs: m.wallMs, cpuMs: m.cpuMs };
  }
  a.dispose();
  b.dispose();
  const flops = 2 * n ** 3;
  return {
    bandwidthGBs: bandwidth.wall, bandwidthGBsPerCpuSecond: bandwidth.cpu, flopsG: flops / (best.wallMs * 1e6), flopsGPerCpuSecond: flops / (best.cpuMs * 1e6),
    matmulVariant: best.variant, matmulN: n,
  };
}

export async function runBench(e: Engine, o: BenchOptions): Promise<{ result: BenchResult; jsonPath: string; reportPath: string }> {
  const log = o.log ?? ((s: string) => console.error(s));
  const print = o.print ?? true;
  const size = sizeOf(o.size);
  const result: BenchResult = {
    adapter: e.info.description, kind: e.info.kind, date: new Date().toISOString(), suites: o.suites, size,
    timing: 'wall clock and process CPU time (all threads) around a synchronised submit (medians of runs after warm-up); the harness does not use timestamp queries',
    ratioBasis: ratioBasis(e), timestampQuery: e.info.timestampQuery, loadAverage: loadavg(), cpu: null, peaks: null, tuning: null, kernels: [], fused: [], peers: null, train: [], torch: null, notes: [],
  };
  const cpuAdapter = e.info.software !== false;
  if (cpuAdapter) result.cpu = cpuPeak();
  if (o.suites.some((s) => s !== 'train')) {
    result.tuning = saveTunings(e);
    log('measuring peaks …');
    result.peaks = await measurePeaks(e, size, o.runs);
    if (print) {
      console.log(`adapter: ${e.info.description}`);
      const p = result.peaks;
      console.log(`peak probes: streaming axpy ${p.bandwidthGBs.toFixed(2)} GB/s (${p.bandwidthGBsPerCpuSecond.toFixed(2)} GB per CPU-second); best matmul ${p.matmulVariant} ${p.matmulN}³ ${p.flopsG.toFixed(2)} GFLOP/s (${p.flopsGPerCpuSecond.toFixed(2)} GFLOP per CPU-second); the roofline uses these measured values, per ${result.ratioBasis === 'cpu' ? 'CPU-second' : 'wall second'}`);
      const counts = Object.entries(Object.values(result.tuning.adapters)[0] ?? {}).map(([name, r]) => `${name} ${Object.keys(r.choices).length}`);
      console.log(`kernel choices measured for this adapter: ${counts.join(', ') || 'none'} shapes (others run the per-adapter default)`);
      if (result.cpu) console.log(`CPU physical limit: ${result.cpu.formula}; best matmul = ${((100 * p.flopsG) / result.cpu.gflops).toFixed(1)} % of it per wall second, ${((100 * p.flopsGPerCpuSecond * result.cpu.cores) / result.cpu.gflops).toFixed(1)} % of one core's limit per CPU-second`);
    }
  }
  const peaks = result.peaks!;
  const wanted = (name: string) => !o.filter || name.includes(o.filter);
  if (o.suites.includes('kernels')) {
    for (const c of coreCases(size)) {
      if (!wanted(c.name)) continue;
      log(`  ${c.name} ${c.shape}`);
      result.kernels.push(...(await runCase(e, c, peaks, o.runs)));
    }
    if (print) printTable(result.kernels);
  }
  if (o.suites.includes('fused')) {
    for (const p of fusedPairs(size)) {
      if (!wanted(p.fused.name)) continue;
      log(`  ${p.fused.name} ${p.fused.shape}`);
      const f = await runCase(e, p.fused, peaks, o.runs);
      const c = await runCase(e, p.composed, peaks, o.runs);
      f.forEach((row, i) => result.fused.push({ fused: row, composed: c[i]!, speedup: c[i]!.medianMs / row.medianMs }));
    }
    if (print) {
      printTable(result.fused.map((f) => f.fused));
      console.log('speed-up of fused over composed:');
      for (const f of result.fused) console.log(`  ${f.fused.name} ${f.fused.shape} ${f.fused.mode}: fused ${f.fused.medianMs.toFixed(2)} ms, composed ${f.composed.medianMs.toFixed(2)} ms → ${f.speedup.toFixed(2)}×`);
    }
  }
  if (o.suites.includes('peers')) {
    result.peers = await runPeers(e, size, peaks, o.runs, log);
    if (print) printPeers(result.peers);
    for (const p of result.peers.peers) if (!p.ok) result.notes.push(`${p.name} not run: ${p.reason}`);
  }
  if (o.suites.includes('train')) {
    // The PyTorch twin loads each row's model from a checkpoint the row saves.
    const checkpointDir = o.torch ? mkdtempSync(join(tmpdir(), 'lrdif-bench-torch-')) : undefined;
    result.train = await runTrain(e, o.trainConfigs ?? size, log, checkpointDir);
    if (print) printTrain(result.train);
    if (o.torch) {
      result.torch = runTorchComparison(result.train, log);
      if (print) printTorchComparison(result.torch);
      if (!result.torch.available) result.notes.push(`PyTorch comparison not run: ${result.torch.reason}`);
    }
  }
  if (result.loadAverage[0]! > 1) result.notes.push(`Load average ${result.loadAverage[0]!.toFixed(2)} at the start: other processes shared the CPU, so CPU-adapter timings are noisy.`);
  const day = result.date.slice(0, 10);
  const jsonPath = o.out ?? join('bench', 'results', `${e.info.kind}-${day}.json`);
  const reportPath = join(o.reportDir ?? join('bench', 'results'), 'report.html');
  mkdirSync(join(jsonPath, '..'), { recursive: true });
  mkdirSync(join(reportPath, '..'), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  writeFileSync(reportPath, reportHtml(result));
  if (print) console.log(`wrote ${jsonPath} and ${reportPath}`);
  return { result, jsonPath, reportPath };
}
