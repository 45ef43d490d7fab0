/**
 * Training-step benchmark: full stage-1 and stage-2 steps (forward, loss, backward, Adam update,
 * encoded without readback as the trainer does) for each preset at batch sizes that fit a CPU
 * adapter: ms/step (median of synchronised steps after one warm-up step) in wall time and in process
 * CPU time (per step and per image: the stable measure on CPU adapters), images/s, dispatches
 * and submits per step, peak pool bytes (GPU memory in use), bind groups created per timed step
 * (0 once the cache is warm) and process RSS after them (host memory: a per-step leak shows as a
 * climb from row to row), and the time split by kernel from one profiled step
 * (Engine.startProfile/stopProfile: every dispatch replayed alone, synchronised).
 * Each configuration gets a fresh Engine on the shared device so its pool peak is its own; it is
 * destroyed afterwards, so its buffers and bind groups do not stay in the next rows' RSS.
 */
import { Engine, recordShapes, shareTuning, tuneAll } from '../src/engine/index.ts';
import { saveCheckpoint } from '../src/model/checkpoint.ts';
import { syntheticStep } from '../src/train/synthetic-step.ts';
import { sizeOf, type Size } from './cases.ts';
import { startMeter, type RowLoad } from './cpu-time.ts';
import { otherLoad } from './harness.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * frozen: the default model on pretrained backbones, stepping on cached features (their networks
 * are not part of the step); otherwise the from-scratch model (every image path trained).
 */
export interface TrainConfig { preset: string; stage: 1 | 2; batch: number; frozen?: boolean }

export interface KernelShare { kernel: string; count: number; ms: number; percent: number }

export interface TrainRow extends TrainConfig {
  parameters: number;
  /** Median wall-clock ms per step. */
  msPerStep: number;
  /** Median process CPU ms per step (all threads) and per image. */
  cpuMsPerStep: number;
  cpuMsPerImage: number;
  /** Other load on the machine during the timed steps. */
  load: RowLoad;
  steps: number;
  imagesPerSecond: number;
  dispatchesPerStep: number;
  submitsPerStep: number;
  peakPoolBytes: number;
  /** Bind groups created per timed step (after the warm-up and the counted step). */
  bindGroupsPerStep: number;
  /** Process resident set size after the timed steps (the whole process: earlier rows included). */
  rssBytes: number;
  /** Sum of the replayed kernels' times (a profiled step, without submit overhead). */
  profiledMs: number;
  topKernels: KernelShare[];
  /** The model's weights as an LRDif checkpoint (for the PyTorch twin), when asked for. */
  checkpoint?: string;
}

export function trainConfigs(quick: boolean | Size): { configs: TrainConfig[]; steps: number } {
  const size = sizeOf(quick);
  if (size === 'smoke') return { configs: [{ preset: 'tiny', stage: 1, batch: 1 }, { preset: 'tiny', stage: 2, batch: 1 }], steps: 1 };
  const [tinyB, smallB] = size === 'quick' ? [4, 2] : [8, 4];
  // Full runs also step tiny at batch 32: per-image cost should fall with the batch (issue #16).
  const tinyLarge: TrainConfig[] = size === 'full' ? [{ preset: 'tiny', stage: 1, batch: 32 }, { preset: 'tiny', stage: 2, batch: 32 }] : [];
  return {
    configs: [
      { preset: 'tiny', stage: 1, batch: tinyB },
      { preset: 'tiny', stage: 2, batch: tinyB },
      ...tinyLarge,
      { preset: 'tiny', stage: 1, batch: tinyB, frozen: true },
      { preset: 'tiny', stage: 2, batch: tinyB, frozen: true },
      { preset: 'small', stage: 1, batch: smallB },
      { preset: 'small', stage: 2, batch: smallB },
    ],
    steps: size === 'quick' ? 2 : 3,
  };
}

/**
 * Parses "preset/stage/batch[/frozen]" entries, comma-separated (e.g. "small/1/8,paper/2/4/frozen"):
 * frozen = the default model on cached frozen features, else the from-scratch model.
 */
export function parseTrainConfigs(text: string): TrainConfig[] {
  return text.split(',').map((item) => {
    const parts = item.trim().split('/');
    const [preset, stage, batch] = [parts[0]!, Number(parts[1]), Number(parts[2])];
    const frozen = parts[3] === 'frozen';
    if (parts.length < 3 || parts.length > 4 || (parts.length === 4 && !frozen) || (stage !== 1 && stage !== 2) || !Number.isInteger(batch) || batch < 1) {
      throw new Error(`train configuration "${item}": expected preset/stage/batch[/frozen] with stage 1 or 2 and a positive batch, e.g. small/1/8 or tiny/2/8/frozen`);
    }
    return { preset, stage, batch, ...(frozen ? { frozen } : {}) };
  });
}

export async function runTrainStep(base: Engine, c: TrainConfig, steps: number, tune: boolean, topK = 8, checkpointDir?: string): Promise<TrainRow> {
  const e = new Engine(base.info);
  // The base engine's kernel choices (bench/run.ts opens this machine's tuning file, as the CLI does).
  if (tune) shareTuning(base, e);
  const { config: cfg, model: m, step, dispose } = syntheticStep(e, c);
  const params = m.trainable();
  const B = c.batch;
  // Warm-up: pipelines compile, the pool fills; it is also the dry step whose kernel shapes without
  // a choice are timed before any timed step.
  recordShapes(e, step);
  if (tune) await tuneAll(e);
  await e.sync();
  const before = e.getStats();
  step();
  const after = e.getStats();
  await e.sync();
  const times: number[] = [];
  const cpuTimes: number[] = [];
  const groupsBefore = e.getStats().bindGroupsCreated;
  const whole = startMeter();
  for (let i = 0; i < steps; i++) {
    const m = startMeter();
    step();
    await e.sync();
    const r = m.stop();
    times.push(r.wallMs);
    cpuTimes.push(r.cpuMs);
  }
  const load = whole.stop().load;
  const bindGroupsPerStep = (e.getStats().bindGroupsCreated - groupsBefore) / steps;
  const rssBytes = process.memoryUsage().rss;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const ms = median(times);
  const cpuMs = median(cpuTimes);
  await e.startProfile();
  step();
  const prof = await e.stopProfile();
  const total = prof.reduce((a, p) => a + p.ms, 0);
  const row: TrainRow = {
    ...c,
    parameters: params.reduce((a, p) => a + p.size, 0),
    msPerStep: ms,
    cpuMsPerStep: cpuMs,
    cpuMsPerImage: cpuMs / B,
    load,
    steps,
    imagesPerSecond: (B * 1000) / ms,
    // One step's submits: the step itself plus the flush that sync() adds.
    dispatchesPerStep: after.dispatches - before.dispatches,
    submitsPerStep: after.submits - before.submits + 1,
    peakPoolBytes: e.poolStats().peakLiveBytes,
    bindGroupsPerStep,
    rssBytes,
    profiledMs: total,
    topKernels: prof.slice(0, topK).map((p) => ({ ...p, percent: total > 0 ? (100 * p.ms) / total : 0 })),
  };
  if (checkpointDir) {
    row.checkpoint = join(checkpointDir, `${c.preset}-stage${c.stage}-b${B}${c.frozen ? '-frozen' : ''}.safetensors`);
    writeFileSync(row.checkpoint, await saveCheckpoint(m, { config: cfg, stage: c.stage }));
  }
  dispose();
  await e.sync();
  e.destroy(); // give this configuration's buffers and bind groups back before the next one
  return row;
}

/**
 * Runs the size's configurations (or the given ones, 3 timed steps each); `checkpointDir` keeps
 * each model's weights there as an LRDif checkpoint.
 */
export async function runTrain(e: Engine, quick: boolean | Size | TrainConfig[], log: (s: string) => void = () => {}, checkpointDir?: string): Promise<TrainRow[]> {
  const { configs, steps } = Array.isArray(quick) ? { configs: quick, steps: 3 } : trainConfigs(quick);
  const tune = Array.isArray(quick) || sizeOf(quick) !== 'smoke';
  const rows: TrainRow[] = [];
  for (const c of configs) {
    log(`  train: ${c.preset}${c.frozen ? ' (cached frozen features)' : ''} stage ${c.stage} batch ${c.batch}`);
    rows.push(await runTrainStep(e, c, steps, tune, 8, checkpointDir));
  }
  return rows;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export function printTrain(rows: TrainRow[]): void {
  const head = ['preset', 'stage', 'batch', 'params', 'ms/step', 'CPU ms/step', 'CPU ms/image', 'other load', 'images/s', 'dispatches', 'submits', 'peak pool', 'bind groups/step', 'RSS', 'top kernels (share of profiled step)'];
  const body = rows.map((r) => [r.frozen ? `${r.preset} (cached frozen features)` : `${r.preset} (from scratch)`, String(r.stage), String(r.batch), r.parameters.toLocaleString('en'), r.msPerStep.toFixed(0), r.cpuMsPerStep.toFixed(0), r.cpuMsPerImage.toFixed(1), otherLoad(r.load), r.imagesPerSecond.toFixed(2), String(r.dispatchesPerStep), String(r.submitsPerStep), mib(r.peakPoolBytes),
    r.bindGroupsPerStep.toFixed(1), mib(r.rssBytes), r.topKernels.slice(0, 3).map((k) => `${k.kernel} ${k.percent.toFixed(0)}%`).join(', ')]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === head.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const r of rows) {
    console.log(`\n${r.preset} stage ${r.stage} batch ${r.batch}: profiled step ${r.profiledMs.toFixed(0)} ms of kernel time`);
    for (const k of r.topKernels) console.log(`  ${k.kernel.padEnd(44)} ${String(k.count).padStart(5)}×  ${k.ms.toFixed(1).padStart(8)} ms  ${k.percent.toFixed(1).padStart(5)} %`);
  }
}
