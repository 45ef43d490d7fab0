/**
 * Benchmark harness: synchronised timing (median of N runs after warm-up, in wall time and in
 * process CPU time), peak probes for the current adapter, and the table output. Timing is wall clock
 * and process CPU time around a submit that is waited for (`queue.onSubmittedWorkDone`); adapters
 * without timestamp queries (llvmpipe's compatibility mode) allow nothing finer, and each run is one
 * submit so the overhead is one round trip. Ratios (roofline fractions, speed-ups) use CPU time on
 * CPU adapters, where it is the stable measure, and wall time on GPUs (`ratioBasis`).
 */
import { type Engine, backward, zeroGrad, type Tensor, axpyInPlace } from '../src/engine/index.ts';
import { basisMs, measureRuns, type Measured, type RatioBasis, type RowLoad } from './cpu-time.ts';

export interface BenchCase {
  name: string;
  /** Shape description for the table. */
  shape: string;
  /** FLOPs of one forward (multiply-add = 2). */
  flops: number;
  /** Minimum bytes moved by one forward: each input read once, each output written once. */
  bytes: number;
  /** FLOPs and bytes of forward+backward, when the case has a backward. */
  flopsFwdBwd?: number;
  bytesFwdBwd?: number;
  /** Creates the inputs (as parameters when backward is wanted) and returns the forward. */
  setup: (e: Engine) => { forward: () => Tensor; inputs: Tensor[] };
}

export interface BenchRow {
  name: string;
  shape: string;
  mode: 'fwd' | 'fwd+bwd';
  /** Median wall-clock ms of the synchronised runs. */
  medianMs: number;
  /** Median process CPU ms (all threads) of the same runs. */
  cpuMs: number;
  /** Per wall-clock second. */
  gflops: number;
  gbps: number;
  /** Per CPU-second of this process. */
  gflopsPerCpuSecond: number;
  gbpsPerCpuSecond: number;
  /** Fraction of the roofline bound min(peakFlops, intensity · peakBandwidth), both sides on `basis`. */
  rooflineFraction: number;
  basis: RatioBasis;
  load: RowLoad;
  timing: 'wall-clock-synchronised' | 'timestamp-query';
}

/** CPU time on CPU adapters (the kernels run on this process's threads), wall time on GPUs. */
export function ratioBasis(e: Engine): RatioBasis {
  return e.info.software === false ? 'wall' : 'cpu';
}

/** Median wall and CPU ms of synchronised runs after warm-up. */
export function timeMedian(e: Engine, fn: () => void, warmup = 2, runs = 10): Promise<Measured> {
  return measureRuns(fn, () => e.sync(), { warmup, runs });
}

/** A peak per wall-clock second and per CPU-second. */
export interface Rate { wall: number; cpu: number }

export interface Peaks {
  /** GB/s of a streaming y += a·x over 64 MiB. */
  bandwidthGBs: number;
  /** GFLOP/s of the best matmul variant at 1024³ (set by the caller when matmul is available). */
  flopsG: number;
  /** The same peaks per CPU-second of this process. */
  bandwidthGBsPerCpuSecond: number;
  flopsGPerCpuSecond: number;
}

/** GB/s of a streaming axpy, per wall second and per CPU-second. */
export async function measureBandwidth(e: Engine, n = 16 * 1024 * 1024): Promise<Rate> {
  const x = e.fill(e.empty([n]), 1).keep();
  const y = e.fill(e.empty([n]), 0).keep();
  const m = await timeMedian(e, () => axpyInPlace(y, x, 0.5), 2, 10);
  x.dispose();
  y.dispose();
  const bytes = 3 * n * 4; // read x, read y, write y
  return { wall: bytes / (m.wallMs * 1e6), cpu: bytes / (m.cpuMs * 1e6) };
}

/** Times a case forward and forward+backward. */
export async function runCase(e: Engine, c: BenchCase, peaks: Peaks, runs = 10): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const basis = ratioBasis(e);
  const { forward, inputs } = e.scope(() => c.setup(e));
  const withGrad = inputs.some((t) => t.requiresGrad) && c.flopsFwdBwd !== undefined;
  const fwd = await timeMedian(e, () => e.noGrad(() => e.scope(() => { forward(); })), 2, runs);
  rows.push(row(c, 'fwd', fwd, c.flops, c.bytes, peaks, basis));
  if (withGrad) {
    const probe = e.noGrad(() => forward());
    const w = e.fill(e.empty(probe.shape), 1).keep();
    probe.dispose();
    // Seed backward with an upstream gradient directly: a loss like sum(y ⊙ w) would add a
    // reduction and its broadcast backward to every measurement.
    const m = await timeMedian(e, () => e.scope(() => {
      backward(forward(), w);
      zeroGrad(inputs);
    }), 2, runs);
    w.dispose();
    rows.push(row(c, 'fwd+bwd', m, c.flopsFwdBwd!, c.bytesFwdBwd ?? c.bytes * 3, peaks, basis));
  }
  for (const t of inputs) t.dispose();
  return rows;
}

function row(c: BenchCase, mode: BenchRow['mode'], m: Measured, flops: number, bytes: number, peaks: Peaks, basis: RatioBasis): BenchRow {
  const ms = basisMs(m, basis);
  const peakFlops = basis === 'cpu' ? peaks.flopsGPerCpuSecond : peaks.flopsG;
  const peakBandwidth = basis === 'cpu' ? peaks.bandwidthGBsPerCpuSecond : peaks.bandwidthGBs;
  const gflops = flops / (ms * 1e6);
  const gbps = bytes / (ms * 1e6);
  const intensity = flops / Math.max(1, bytes);
  const bound = Math.min(peakFlops, intensity * peakBandwidth); // GFLOP/s attainable
  return {
    name: c.name, shape: c.shape, mode, medianMs: m.wallMs, cpuMs: m.cpuMs,
    gflops: flops / (m.wallMs * 1e6), gbps: bytes / (m.wallMs * 1e6),
    gflopsPerCpuSecond: flops / (m.cpuMs * 1e6), gbpsPerCpuSecond: bytes / (m.cpuMs * 1e6),
    rooflineFraction: flops === 0 ? gbps / peakBandwidth : gflops / bound, basis, load: m.load, timing: 'wall-clock-synchronised',
  };
}

/** "0.42" CPUs of other load, or "—" where the row was too short to tell. */
export const otherLoad = (l: RowLoad) => (l.otherBusyCpus === null ? '—' : l.otherBusyCpus.toFixed(2));

export function printTable(rows: BenchRow[]): void {
  const head = ['op', 'shape', 'mode', 'median ms', 'CPU ms', 'GFLOP/s', 'GFLOP/CPU-s', 'GB/s', 'of roofline', 'other load'];
  const body = rows.map((r) => [r.name, r.shape, r.mode, r.medianMs.toFixed(3), r.cpuMs.toFixed(3), r.gflops.toFixed(2), r.gflopsPerCpuSecond.toFixed(2), r.gbps.toFixed(2), `${(100 * r.rooflineFraction).toFixed(1)} % (${r.basis})`, otherLoad(r.load)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}

/** Header cells of a fused-vs-composed probe row (bench/attention.ts and friends); `rate`: GFLOP or GB. */
export function comparisonHead(rate: 'GFLOP' | 'GB', basis: RatioBasis): string[] {
  return ['fused ms', 'fused CPU ms', 'composed ms', 'composed CPU ms', `speed-up (${basis})`, `fused ${rate}/${basis === 'cpu' ? 'CPU-s' : 's'}`];
}

/** Wall and CPU ms of both, the speed-up and the fused rate of `work` (FLOPs or bytes), on the basis. */
export function comparisonCells(fused: Measured, composed: Measured, work: number, basis: RatioBasis): string[] {
  const f = basisMs(fused, basis);
  return [fused.wallMs.toFixed(2), fused.cpuMs.toFixed(2), composed.wallMs.toFixed(2), composed.cpuMs.toFixed(2), `${(basisMs(composed, basis) / f).toFixed(2)}×`, (work / (f * 1e6)).toFixed(2)];
}
