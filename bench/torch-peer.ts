/**
 * `npm run bench -- --suite train --torch`: the PyTorch twin (scripts/torch-twin.py) times the same
 * training step as each train row — same config, its weights loaded by name from the checkpoint the
 * row saved, same batch size, on one thread in float32 — and the ratio of CPU time per image says
 * how far our step is from PyTorch's on this CPU. Needs a Python with torch and NumPy: LRDIF_PYTHON,
 * else the first of `python3` and /usr/bin/python3 that has them; without one the comparison is
 * reported as not run, with the reason.
 */
import { spawnSync } from 'node:child_process';
import type { TrainRow } from './train.ts';

export interface TorchRow {
  preset: string;
  stage: 1 | 2;
  batch: number;
  frozen?: boolean;
  oursCpuMsPerImage: number;
  torchCpuMsPerImage?: number;
  /** Ours ÷ PyTorch CPU ms per image (> 1: PyTorch is faster). */
  ratio?: number;
  error?: string;
}

export interface TorchComparison {
  available: boolean;
  /** Why PyTorch did not run (no interpreter, no torch). */
  reason?: string;
  python: string;
  torchVersion?: string;
  /** What was compared, for the report. */
  what: string;
  rows: TorchRow[];
}

const TWIN = 'scripts/torch-twin.py';
const oneLine = (s: string) => s.trim().split('\n').slice(-1)[0]!.slice(0, 300);

/** The first interpreter with torch and its version, or why none has it. */
export function findTorch(candidates = process.env.LRDIF_PYTHON ? [process.env.LRDIF_PYTHON] : ['python3', '/usr/bin/python3']): { python: string; version?: string; reason?: string } {
  const reasons: string[] = [];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import numpy, torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { python, version: r.stdout.trim() };
    reasons.push(r.error ? `${python} not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` : `${python} has no torch/numpy (${oneLine(r.stderr)})`);
  }
  return { python: candidates.join(', '), reason: `${reasons.join('; ')}; set LRDIF_PYTHON to an interpreter with torch` };
}

export function runTorchComparison(rows: TrainRow[], log: (s: string) => void = () => {}, steps = 3): TorchComparison {
  const what = 'CPU time per image of one training step (forward, loss, backward, Adam): ours = this process (all threads) on the adapter above; PyTorch = scripts/torch-twin.py, float32, torch.set_num_threads(1), the same config and weights (from the row\'s checkpoint), frozen features as inputs where the config uses them';
  const t = findTorch();
  if (!t.version) return { available: false, reason: t.reason, python: t.python, what, rows: [] };
  const out: TorchRow[] = [];
  for (const r of rows) {
    const row: TorchRow = { preset: r.preset, stage: r.stage, batch: r.batch, ...(r.frozen ? { frozen: true } : {}), oursCpuMsPerImage: r.cpuMsPerImage };
    out.push(row);
    if (!r.checkpoint) {
      row.error = 'the row saved no checkpoint';
      continue;
    }
    log(`  torch: ${r.preset}${r.frozen ? ' (cached frozen features)' : ''} stage ${r.stage} batch ${r.batch}`);
    const p = spawnSync(t.python, [TWIN, 'time', r.checkpoint, '--batch', String(r.batch), '--steps', String(steps), '--json'], { encoding: 'utf8', maxBuffer: 1 << 20 });
    if (p.status !== 0) {
      row.error = `${TWIN} failed: ${oneLine(p.stderr || p.stdout)}`;
      continue;
    }
    const res = JSON.parse(oneLine(p.stdout)) as { cpuMsPerImage: number };
    row.torchCpuMsPerImage = res.cpuMsPerImage;
    row.ratio = r.cpuMsPerImage / res.cpuMsPerImage;
  }
  return { available: true, python: t.python, torchVersion: t.version, what, rows: out };
}

export function printTorchComparison(c: TorchComparison): void {
  if (!c.available) {
    console.log(`PyTorch comparison NOT RUN: ${c.reason}`);
    return;
  }
  console.log(`\nours ÷ PyTorch ${c.torchVersion} (${c.python}, one thread), CPU ms per image of a training step:`);
  for (const r of c.rows) {
    const name = `${r.preset}${r.frozen ? ' (cached frozen features)' : ''} stage ${r.stage} batch ${r.batch}`;
    console.log(`  ${name.padEnd(44)} ours ${r.oursCpuMsPerImage.toFixed(1).padStart(8)}  PyTorch ${r.torchCpuMsPerImage?.toFixed(1).padStart(8) ?? '—'}  ${r.ratio !== undefined ? `${r.ratio.toFixed(2)}×` : r.error}`);
  }
}
