/**
 * conv2d timing at LRDif-like shapes, per strategy (direct kernels, matmul lowering): forward, and
 * backward() alone for grad input and for grad weight + bias. Median (and minimum) of --runs
 * synchronised runs after 2 warm-up runs. The GEMM lowering's matmuls use this machine's tuning
 * file, as the training CLI does.
 *   ./node_modules/.bin/bun bench/conv2d.ts [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, backward, zeroGrad, CONV2D_VARIANTS, conv2d, type Conv2dOptions, withVariants, type Tensor } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Math.max(10, parseInt(values.runs!, 10));

/** Median and minimum ms of `runs` timed calls after 2 warm-up calls; `run` returns its own ms. */
async function stats(run: () => Promise<number>): Promise<{ median: number; min: number }> {
  for (let i = 0; i < 2; i++) await run();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await run());
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, min: times[0]! };
}

/** Times fn (encode + submit + wait for the GPU). */
async function timed(e: Engine, fn: () => void): Promise<number> {
  const t0 = performance.now();
  fn();
  await e.sync();
  return performance.now() - t0;
}

const cases: { name: string; x: number[]; w: number[]; opts: Conv2dOptions }[] = [
  { name: 'depthwise 3x3 pad 1', x: [8, 96, 28, 28], w: [96, 1, 3, 3], opts: { padding: 1, groups: 96 } },
  { name: '1x1 96->192', x: [8, 96, 28, 28], w: [192, 96, 1, 1], opts: {} },
  { name: '3x3 48->48 pad 1', x: [8, 48, 28, 28], w: [48, 48, 3, 3], opts: { padding: 1 } },
  { name: '3x3 s2 64->128 pad 1', x: [8, 64, 28, 28], w: [128, 64, 3, 3], opts: { padding: 1, stride: 2 } },
  { name: '3x3 16->16 pad 1 small', x: [8, 16, 14, 14], w: [16, 16, 3, 3], opts: { padding: 1 } },
];

const e = await Engine.create();
await useTuningCache(e);
console.log(`adapter: ${e.info.description}; median of ${runs} runs`);
console.log(`${'case'.padEnd(24)} ${'x shape'.padEnd(14)} ${'variant'.padEnd(7)} ${'pass'.padEnd(9)} ${'median ms'.padStart(8)} ${'GFLOP/s'.padStart(8)} ${'min ms'.padStart(8)}`);
for (const c of cases) for (const variant of CONV2D_VARIANTS) await withVariants(e, { conv2d: variant }, async () => {
  const x = e.fill(e.empty(c.x), 0.5).keep();
  const w = e.fill(e.empty(c.w), 0.25).keep();
  const b = e.fill(e.empty([c.w[0]!]), 0.1).keep();
  const y0 = e.noGrad(() => conv2d(x, w, b, c.opts));
  const gy = e.fill(e.empty(y0.shape), 1).keep();
  const flops = 2 * y0.size * c.w[1]! * c.w[2]! * c.w[3]!;
  y0.dispose();
  const fwd = await stats(() => timed(e, () => e.noGrad(() => e.scope(() => { conv2d(x, w, b, c.opts); }))));
  // Backward alone: the forward runs and finishes first, then only backward() is timed.
  const bwd = (params: Tensor[]) => {
    for (const p of [x, w, b]) p.requiresGrad = params.includes(p);
    return stats(() => e.scope(async () => {
      const y = conv2d(x, w, b, c.opts);
      await e.sync();
      const ms = await timed(e, () => backward(y, gy));
      zeroGrad(params);
      return ms;
    }));
  };
  const show = (pass: string, t: { median: number; min: number }) =>
    console.log(`${c.name.padEnd(24)} ${JSON.stringify(c.x).padEnd(14)} ${variant.padEnd(7)} ${pass.padEnd(9)} ${t.median.toFixed(2).padStart(8)} ${(flops / (t.median * 1e6)).toFixed(2).padStart(8)} ${t.min.toFixed(2).padStart(8)}`);
  show('forward', fwd);
  show('grad x', await bwd([x]));
  show('grad w+b', await bwd([w, b]));
  for (const t of [x, w, b, gy]) t.dispose();
});
process.exit(0);
