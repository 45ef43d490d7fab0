/**
 * `npm run bench -- --suite kernels|fused|peers|train|all [--quick] [--runs N] [--filter s] [--out file.json] [--train configs] [--torch]`
 * Peak probes, roofline rows of the core and fused kernels (forward and forward+backward, fused
 * beside composed), TF.js and jax-js on the same adapter, and full training steps. Console tables,
 * JSON under bench/results/<adapter>-<date>.json and bench/results/report.html. Several suites:
 * --suite kernels,peers. The adapter follows LRDIF_ADAPTER (llvmpipe by default on CPU machines).
 */
import { parseArgs } from 'node:util';
import { Engine } from '../src/engine/index.ts';
import { useTuningCache } from '../src/train/tuning-cache-fs.ts';
import { SUITES, runBench, type Suite } from './suites.ts';
import { parseTrainConfigs } from './train.ts';

const { values } = parseArgs({
  options: {
    suite: { type: 'string', default: 'kernels' },
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    runs: { type: 'string', default: '10' },
    filter: { type: 'string' },
    out: { type: 'string' },
    train: { type: 'string' },
    torch: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run bench -- [--suite ${SUITES.join('|')}|all (comma list allowed; default kernels)] [--quick|--smoke] [--runs N] [--filter substring] [--out file.json]
  [--train preset/stage/batch[/frozen],…  (the train suite's configurations, e.g. small/1/8,paper/2/4/frozen)]
  [--torch  (train suite: time the PyTorch twin, scripts/torch-twin.py, on the same configurations; needs python3 with torch)]`);
  process.exit(0);
}
const asked = values.suite!.split(',').map((s) => s.trim());
const suites = asked.includes('all') ? [...SUITES] : (asked as Suite[]);
for (const s of suites) if (!SUITES.includes(s)) throw new Error(`--suite ${s}: choose from ${SUITES.join(', ')} or all`);
const e = await Engine.create();
await useTuningCache(e);
const trainConfigs = values.train ? parseTrainConfigs(values.train) : undefined;
await runBench(e, { suites, size: values.smoke ? 'smoke' : values.quick!, runs: Math.max(1, parseInt(values.runs!, 10)), out: values.out, filter: values.filter, trainConfigs, torch: values.torch });
process.exit(0);
