/**
 * Benchmark harness: synchronised timing (median of N runs after warm-up), peak probes for the
 * current adapter, and the table/JSON output. Timing is wall clock around a submit that is waited
 * for (`queue.onSubmittedWorkDone`); adapters without timestamp queries (llvmpipe's compatibility
 * mode) allow nothing finer, and each run is one submit so the overhead is one round trip.
 */
import { Engine } from '../src/engine/engine.ts';
import { medianMs } from '../src/engine/ops/tune.ts';
import { backward, zeroGrad } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { axpyInPlace } from '../src/engine/ops/axpy.ts';

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
  medianMs: number;
  gflops: number;
  gbps: number;
  /** Fraction of the roofline bound min(peakFlops, intensity · peakBandwidth) achieved. */
  rooflineFraction: number;
  timing: 'wall-clock-synchronised' | 'timestamp-query';
}

/** Median ms of synchronised runs after warm-up (the same timer the autotuners use). */
export function timeMedian(e: Engine, fn: () => void, warmup = 2, runs = 10): Promise<number> {
  return medianMs(e, fn, warmup, runs);
}

export interface Peaks {
  /** GB/s of a streaming y += a·x over 64 MiB. */
  bandwidthGBs: number;
  /** GFLOP/s of the best matmul variant at 1024³ (set by the caller when matmul is available). */
  flopsG: number;
}

export async function measureBandwidth(e: Engine, n = 16 * 1024 * 1024): Promise<number> {
  const x = e.fill(e.empty([n]), 1).keep();
  const y = e.fill(e.empty([n]), 0).keep();
  const ms = await timeMedian(e, () => axpyInPlace(y, x, 0.5), 2, 10);
  x.dispose();
  y.dispose();
  return (3 * n * 4) / (ms * 1e6); // read x, read y, write y
}

/** Times a case forward and forward+backward. */
export async function runCase(e: Engine, c: BenchCase, peaks: Peaks, runs = 10): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const { forward, inputs } = e.scope(() => c.setup(e));
  const withGrad = inputs.some((t) => t.requiresGrad) && c.flopsFwdBwd !== undefined;
  const fwdMs = await timeMedian(e, () => e.noGrad(() => e.scope(() => { forward(); })), 2, runs);
  rows.push(row(c, 'fwd', fwdMs, c.flops, c.bytes, peaks));
  if (withGrad) {
    const probe = e.noGrad(() => forward());
    const w = e.fill(e.empty(probe.shape), 1).keep();
    probe.dispose();
    // Seed backward with an upstream gradient directly: a loss like sum(y ⊙ w) would add a
    // reduction and its broadcast backward to every measurement.
    const ms = await timeMedian(e, () => e.scope(() => {
      backward(forward(), w);
      zeroGrad(inputs);
    }), 2, runs);
    w.dispose();
    rows.push(row(c, 'fwd+bwd', ms, c.flopsFwdBwd!, c.bytesFwdBwd ?? c.bytes * 3, peaks));
  }
  for (const t of inputs) t.dispose();
  return rows;
}

function row(c: BenchCase, mode: BenchRow['mode'], ms: number, flops: number, bytes: number, peaks: Peaks): BenchRow {
  const gflops = flops / (ms * 1e6);
  const gbps = bytes / (ms * 1e6);
  const intensity = flops / Math.max(1, bytes);
  const bound = Math.min(peaks.flopsG, intensity * peaks.bandwidthGBs); // GFLOP/s attainable
  const rooflineFraction = flops === 0 ? gbps / peaks.bandwidthGBs : gflops / bound;
  return { name: c.name, shape: c.shape, mode, medianMs: ms, gflops, gbps, rooflineFraction, timing: 'wall-clock-synchronised' };
}

export function printTable(rows: BenchRow[]): void {
  const head = ['op', 'shape', 'mode', 'median ms', 'GFLOP/s', 'GB/s', 'of roofline'];
  const body = rows.map((r) => [r.name, r.shape, r.mode, r.medianMs.toFixed(3), r.gflops.toFixed(2), r.gbps.toFixed(2), `${(100 * r.rooflineFraction).toFixed(1)} %`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
}
