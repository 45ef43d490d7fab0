/**
 * The summary of bench/gpu-check.sh: reads its work folder (phases.jsonl, the adapter line, one
 * vitest JSON per test file, the bench and train JSON) and writes summary.json there, printing a
 * short text version. Every part that is missing (a phase that timed out, a file that never ran) is
 * said so, not left out.
 *   bun bench/gpu-check-summary.ts bench/results/gpu-check [--dry]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BenchResult } from './suites.ts';

interface Phase { name: string; rc: number; seconds: number; limitSeconds: number; timedOut: boolean }

/** The parts of vitest's JSON reporter output that the summary reads. */
interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  testResults: { name: string; status: string; assertionResults: { fullName: string; status: string; failureMessages: string[] }[] }[];
}

export interface TestFileResult { file: string; status: 'passed' | 'failed' | 'not finished'; tests: number; passed: number; failed: number; skipped: number }

export interface GpuCheckSummary {
  dry: boolean;
  date: string;
  gpu: string | null;
  bun: string | null;
  adapter: { description: string; kind: string; software: false | string; timestampQuery: boolean } | null;
  phases: Phase[];
  tests: {
    planned: number;
    files: TestFileResult[];
    totals: { tests: number; passed: number; failed: number; skipped: number };
    failures: { file: string; test: string; message: string }[];
  };
  bench: { ratioBasis: string; peaks: BenchResult['peaks']; peerGeomeans: Record<string, number>; kernelRows: number; notes: string[] } | null;
  train: { preset: string; stage: number; batch: number; frozen: boolean; msPerStep: number; cpuMsPerImage: number; imagesPerSecond: number; peakPoolMiB: number }[];
  notes: string[];
}

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
const json = <T>(p: string): T | null => {
  const t = read(p);
  if (t === null) return null;
  try {
    return JSON.parse(t) as T;
  } catch {
    return null;
  }
};

export function summarise(dir: string, dry: boolean): GpuCheckSummary {
  const notes: string[] = [];
  const phases = (read(join(dir, 'phases.jsonl')) ?? '').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Phase);
  for (const p of phases) if (p.timedOut) notes.push(`phase ${p.name} reached its ${p.limitSeconds} s limit`);
  const adapterLine = (read(join(dir, 'adapter.log')) ?? '').split('\n').find((l) => l.startsWith('{'));
  const adapter = adapterLine ? (JSON.parse(adapterLine) as GpuCheckSummary['adapter']) : null;
  if (!adapter) notes.push('no WebGPU adapter: nothing ran on the GPU (adapter.log has the error)');
  else if (!dry && adapter.software !== false) notes.push(`the adapter is a CPU rasteriser (${adapter.description}), not the GPU`);

  const planned = (read(join(dir, 'tests', 'planned.txt')) ?? '').split('\n').filter(Boolean);
  const files: TestFileResult[] = [];
  const failures: GpuCheckSummary['tests']['failures'] = [];
  for (const file of planned) {
    const r = json<VitestJson>(join(dir, 'tests', `${basename(file, '.test.ts')}.json`));
    if (!r) {
      files.push({ file, status: 'not finished', tests: 0, passed: 0, failed: 0, skipped: 0 });
      continue;
    }
    files.push({ file, status: r.numFailedTests > 0 || r.testResults.some((t) => t.status === 'failed') ? 'failed' : 'passed', tests: r.numTotalTests, passed: r.numPassedTests, failed: r.numFailedTests, skipped: r.numPendingTests });
    for (const t of r.testResults) for (const a of t.assertionResults) if (a.status === 'failed') failures.push({ file, test: a.fullName, message: (a.failureMessages[0] ?? '').split('\n')[0]!.slice(0, 300) });
  }
  const sum = (k: 'tests' | 'passed' | 'failed' | 'skipped') => files.reduce((a, f) => a + f[k], 0);
  const unfinished = files.filter((f) => f.status === 'not finished').length;
  if (unfinished) notes.push(`${unfinished} of ${planned.length} test files did not finish (time limit or crash: see tests/<file>.log)`);

  const b = json<BenchResult>(join(dir, 'bench.json'));
  const bench = b
    ? {
        ratioBasis: b.ratioBasis, peaks: b.peaks, kernelRows: b.kernels.length, notes: b.notes,
        peerGeomeans: Object.fromEntries(Object.entries(b.peers?.geomean ?? {}).map(([k, v]) => [k, v!.value])),
      }
    : null;
  if (!b) notes.push('no bench JSON (the bench phase failed or timed out: bench.log)');
  const t = json<BenchResult>(join(dir, 'train.json'));
  if (!t) notes.push('no training-step JSON (train.log)');
  const train = (t?.train ?? []).map((r) => ({ preset: r.preset, stage: r.stage, batch: r.batch, frozen: r.frozen ?? false, msPerStep: r.msPerStep, cpuMsPerImage: r.cpuMsPerImage, imagesPerSecond: r.imagesPerSecond, peakPoolMiB: r.peakPoolBytes / 2 ** 20 }));

  return {
    dry, date: new Date().toISOString(), gpu: read(join(dir, 'gpu.txt'))?.trim() || null, bun: read(join(dir, 'bun.txt'))?.trim() || null, adapter, phases,
    tests: { planned: planned.length, files, totals: { tests: sum('tests'), passed: sum('passed'), failed: sum('failed'), skipped: sum('skipped') }, failures },
    bench, train, notes,
  };
}

export function summaryText(s: GpuCheckSummary): string {
  const lines = [
    `GPU check${s.dry ? ' (DRY RUN on a CPU adapter: not a GPU result)' : ''}: ${s.gpu ?? 'no nvidia-smi'}; Bun ${s.bun ?? '?'}; adapter ${s.adapter?.description ?? 'none'}`,
    `phases: ${s.phases.map((p) => `${p.name} rc ${p.rc} in ${p.seconds} s${p.timedOut ? ' (TIMED OUT)' : ''}`).join('; ')}`,
    `tests: ${s.tests.totals.passed}/${s.tests.totals.tests} passed, ${s.tests.totals.failed} failed, ${s.tests.totals.skipped} skipped in ${s.tests.files.filter((f) => f.status !== 'not finished').length}/${s.tests.planned} files`,
    ...s.tests.failures.slice(0, 20).map((f) => `  FAIL ${f.file}: ${f.test}: ${f.message}`),
  ];
  if (s.bench?.peaks) lines.push(`bench: matmul ${s.bench.peaks.matmulN}³ ${s.bench.peaks.flopsG.toFixed(1)} GFLOP/s, axpy ${s.bench.peaks.bandwidthGBs.toFixed(1)} GB/s; peers (geomean of our speed-up, ${s.bench.ratioBasis} time): ${Object.entries(s.bench.peerGeomeans).map(([k, v]) => `${k} ${v.toFixed(2)}×`).join(', ') || 'none'}`);
  for (const r of s.train) lines.push(`train: ${r.preset}${r.frozen ? ' (frozen features)' : ''} stage ${r.stage} batch ${r.batch}: ${r.msPerStep.toFixed(1)} ms/step, ${r.imagesPerSecond.toFixed(1)} images/s, peak pool ${r.peakPoolMiB.toFixed(0)} MiB`);
  for (const n of s.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: bun bench/gpu-check-summary.ts <work folder of bench/gpu-check.sh> [--dry]');
  const s = summarise(dir, process.argv.includes('--dry'));
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(s, null, 2));
  console.log(summaryText(s));
}
