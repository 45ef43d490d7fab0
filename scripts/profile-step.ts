/**
 * One training step of a preset per kernel, in process CPU time (the stable measure on CPU
 * adapters: other load on the machine hardly moves it) beside wall time:
 *   bun scripts/profile-step.ts [preset] [batch] [stage] [frozen|scratch] [--runs N] [--repeats N] [--no-tune] [--top N]
 * frozen (default): the default model stepping on cached frozen features (random tensors of their
 * shapes); scratch: the from-scratch model. Prints the CPU ms of a whole step (fastest and median
 * of --runs synchronised steps, and per image), then each kernel's CPU and wall ms from one
 * profiled step whose dispatches are replayed alone --repeats times each, the fastest kept.
 * Kernel choices come from this machine's tuning file, tuned first where it has none (as the CLI
 * does); --no-tune runs every op's per-adapter fallback instead (the same kernels on any machine).
 */
import { Engine, recordShapes, tuneAll } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { syntheticStep } from '../src/train/synthetic-step.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(args.splice(i, 2)[1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`profile-step: ${name} takes a positive integer`);
  return v;
};
const runs = option('--runs', 5);
const repeats = option('--repeats', 3);
const top = option('--top', 30);
const tune = !args.includes('--no-tune');
const [preset = 'tiny', batch = '16', stage = '2', path = 'frozen'] = args.filter((a) => a !== '--no-tune');
if (path !== 'frozen' && path !== 'scratch') throw new Error(`profile-step: the fourth argument is frozen or scratch, got "${path}"`);
if (stage !== '1' && stage !== '2') throw new Error(`profile-step: stage is 1 or 2, got "${stage}"`);
const B = parseInt(batch, 10);

const e = await Engine.create();
if (tune) await useTuningCache(e);
const { step } = syntheticStep(e, { preset, stage: Number(stage) as 1 | 2, batch: B, frozen: path === 'frozen' });
recordShapes(e, step); // warm-up, and the dry step whose kernel shapes tuneAll times (those not in the cache)
if (tune) await tuneAll(e);
step(); // a step with the chosen kernels compiled
await e.sync();

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const times: number[] = [];
for (let i = 0; i < runs; i++) {
  await e.sync();
  const c0 = cpuMs();
  step();
  await e.sync();
  times.push(cpuMs() - c0);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(`${preset} ${path} stage ${stage} batch ${B}${tune ? '' : ' (fallback kernels)'}: CPU ms per step ${times[0]!.toFixed(0)} fastest, ${median.toFixed(0)} median of ${runs}; ${(times[0]! / B).toFixed(1)} CPU ms per image`);

await e.startProfile();
step();
const prof = (await e.stopProfile(repeats)).sort((a, b) => b.cpuMs - a.cpuMs);
const total = prof.reduce((a, p) => a + p.cpuMs, 0);
console.log(`profiled step: ${total.toFixed(0)} CPU ms over ${prof.reduce((a, p) => a + p.count, 0)} dispatches (each replayed ${repeats}×, fastest kept)`);
console.log(`${'kernel'.padEnd(44)} ${'count'.padStart(5)} ${'CPU ms'.padStart(8)} ${'%'.padStart(6)} ${'wall ms'.padStart(8)}`);
for (const p of prof.slice(0, top)) {
  console.log(`${p.kernel.padEnd(44)} ${String(p.count).padStart(5)} ${p.cpuMs.toFixed(1).padStart(8)} ${((100 * p.cpuMs) / total).toFixed(1).padStart(6)} ${p.ms.toFixed(1).padStart(8)}`);
}
process.exit(0);
