/** `lrdif run` (the whole pipeline on SynthFER-UDC) and `lrdif ablate` (the paper's ablations as a paired experiment over seeds). */
import { join } from 'node:path';
import { Command, Option } from 'commander';
import type { StageResult } from '../train/pipeline.ts';
import { newModel } from '../train/models-fs.ts';
import { writeReport } from '../train/stage-report.ts';
import type { TrainOptions } from '../train/trainer.ts';
import { openData } from '../train/data/open.ts';
import { FsStore } from '../train/store-fs.ts';
import { runCurriculum, type CurriculumRun } from '../train/curriculum.ts';
import { ablationMarkdown, ablationSvg, runAblation } from '../train/ablate.ts';
import { FsViewCache } from '../train/feature-cache-fs.ts';
import { outsideReferences, referencesMarkdown } from '../train/references.ts';
import { loadFaceExpressionNet } from '../model/landmarks/face-api-files.ts';
import { curriculumEpochs, engine, FEATURE_CACHE_DIR, prepareOut, protocolLine } from './common.ts';
import { progressHooks, taskProgress } from './progress.ts';
import { batchOption, checkBatchFits, COUNT, difficultyOption, listOption, lrOption, presetOption, SEED, seedOption, testCountOption, trainCountOption, udcDrawsOption } from './options.ts';
import { appendToReport, commandOptions, typedArgs, recordMarkdown, VERSION, writeRecord, type RunRecord } from './run-record.ts';

/** A command's default epochs: "W,S1,S2" with the warm start (the default), "S1,S2" without. */
interface DefaultEpochs {
  warm: [number, number, number];
  cold: [number, number];
}

const RUN_EPOCHS: DefaultEpochs = { warm: [4, 1, 2], cold: [1, 4] };
const ABLATE_EPOCHS: DefaultEpochs = { warm: [1, 1, 2], cold: [1, 2] };

/**
 * The options `run` and `ablate` share (SynthFER-UDC data, the curriculum's epochs, optimiser, UDC
 * panel, landmark source), declared once; `epochs` holds each command's defaults.
 */
function addCurriculumOptions(cmd: Command, epochs: DefaultEpochs): Command {
  return cmd
    .addOption(trainCountOption())
    .addOption(testCountOption())
    .addOption(
      listOption('--epochs <list>', 'epochs of the baseline warm start, stage 1 and stage 2 ("W,S1,S2"; in ablate, S2 is each stage-2 run\'s), or "S1,S2" with --no-warm-start', COUNT, epochs.warm)
        .default(null, `${epochs.warm.join(',')}, or ${epochs.cold.join(',')} with --no-warm-start`),
    )
    .addOption(new Option('--no-warm-start', "train stage 1 from scratch instead of from the baseline's UDCformer after its first W epochs (with pretrained backbones, the warm start gives stage 2 a better start at a smaller budget: docs/experiments/quickstart.md)"))
    .addOption(batchOption(16))
    .addOption(lrOption(2e-3))
    .addOption(difficultyOption())
    .addOption(new Option('--udc <panel>', 'under-display-camera panel').choices(['toled', 'poled']).default('toled'))
    .addOption(new Option('--landmarks <source>', "'net' = the landmark network on the image the model sees (the paper's protocol); 'oracle' = SynthFER's exact landmarks (not available to a camera)").choices(['net', 'oracle']).default('net'));
}

/** What the shared options mean, read once for both commands. */
function curriculumSettings(cmd: Command, d: DefaultEpochs) {
  const o = cmd.opts();
  const warmStart = o.warmStart !== false;
  if (o.epochs === null) {
    // Recorded as the value used (config.json, --resume), still marked as a default.
    cmd.setOptionValueWithSource('epochs', warmStart ? d.warm : d.cold, 'default');
  }
  checkBatchFits(o.batch, o.train, `--train ${o.train}`);
  return {
    warmStart,
    epochs: curriculumEpochs(cmd.opts().epochs, warmStart),
    landmarkFeatures: o.landmarks === 'oracle' ? ('heatmap' as const) : ('backbone' as const),
    options: { batchSize: o.batch, lr: o.lr, lrGamma: 0.85, udc: { panel: o.udc, strength: 1 } } satisfies Partial<TrainOptions>,
  };
}

export function runCommand(): Command {
  const cmd = new Command('run')
    .description('the whole pipeline on built-in SynthFER with UDC degradation (tiny preset): LRDif stage 1, stage 2, the equal-budget baseline, outside references, report')
    .addOption(new Option('--out <dir>', 'output directory').default(null, 'runs/quickstart-<date>-<time>, so earlier runs are kept'))
    .option('--force', 'overwrite an existing run')
    .addOption(seedOption());
  addCurriculumOptions(cmd, RUN_EPOCHS)
    .addOption(new Option('--backbone <name>', "image paths: 'face-api' = frozen pretrained face networks; 'none' = trained from scratch").choices(['face-api', 'none']).default('face-api'))
    .addOption(udcDrawsOption())
    .option('--no-flip', 'no mirrored training views');
  return cmd.action(() => run(cmd));
}

async function run(cmd: Command): Promise<void> {
  const o = cmd.opts();
  const t0 = performance.now();
  const { warmStart, epochs, landmarkFeatures, options: shared } = curriculumSettings(cmd, RUN_EPOCHS);
  const modelConfig = { backbone: o.backbone, landmarkFeatures } as const;
  const outDir: string = o.out ?? `runs/quickstart-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
  const names = { baseline: 'baseline (no EPR)', stage1: 'LRDif stage 1', stage2: 'LRDif stage 2' } as const;
  const seed: number = o.seed;
  // Every model of the run is evaluated on the same held-out faces: `lrdif eval` finds these settings in each model's config.json.
  const record: RunRecord = {
    version: VERSION, command: 'run', argv: typedArgs(), options: { ...commandOptions(cmd, ['force']), out: outDir },
    heldOut: { data: 'synth', train: o.train, test: o.test, difficulty: o.difficulty, 'data-seed': seed, udc: o.udc, 'udc-strength': 1, draws: 1, 'skip-bad': false },
  };
  const stores = new Map<string, FsStore>();
  const store = (part: string) => stores.get(part) ?? stores.set(part, prepareOut(join(outDir, part), false, !!o.force)).get(part)!;
  // Open (and check) every model's directory before writing anything, so a refused run changes no file.
  const parts = Object.keys(names).map((part) => ({ part, s: store(part) }));
  await writeRecord(new FsStore(outDir), record);
  for (const { part, s } of parts) await writeRecord(s, { ...record, part });

  const e = await engine();
  const data = await openData(`synth:${o.train}:${o.test}`, 'tiny', seed, { difficulty: o.difficulty });
  const options: Partial<TrainOptions> = { ...shared, seed, logEvery: 5, udcDraws: o.udcDraws, augment: { flip: o.flip !== false, erase: o.backbone === 'none' } };
  const bars = new Map<string, ReturnType<typeof progressHooks>>();
  const results: { run: CurriculumRun; r: StageResult }[] = [];
  const c = await runCurriculum(e, {
    preset: 'tiny', config: modelConfig, train: data.train, test: data.test, seed, options, epochs, warmStart, store,
    viewCache: new FsViewCache(FEATURE_CACHE_DIR), newModel,
    hooks: (part) => {
      const h = bars.get(part) ?? bars.set(part, progressHooks(`[${names[part]}]`)).get(part)!;
      const tasks = taskProgress();
      return { ...h, onTask: tasks.onProgress };
    },
    onResult: async (part, r, s) => {
      bars.get(part)?.stop();
      const own = { ...record, part, model: r.model.cfg };
      await writeRecord(s, own);
      await writeReport(e, r, s, names[part], data.test);
      await appendToReport(s, recordMarkdown(own));
      results.push({ run: part, r });
    },
  });
  const protocol = protocolLine(modelConfig.landmarkFeatures, modelConfig.backbone);
  const refs = await outsideReferences(c.stage2.trainer, loadFaceExpressionNet(e));
  const minutes = (performance.now() - t0) / 60000;
  const order = ['stage2', 'baseline', 'stage1'] as const;
  const lines = [
    `# LRDif quick run (SynthFER + ${o.udc === 'poled' ? 'P-OLED' : 'T-OLED'} UDC, tiny preset)`,
    '',
    `adapter: ${e.info.description}; wall time ${minutes.toFixed(1)} min; ${data.train.length} training / ${data.test.length} held-out images (disjoint identities), difficulty ${o.difficulty}, chance = ${(100 / 7).toFixed(1)} %; ${protocol}`,
    `epochs: ${warmStart ? `stage 1 from the baseline after ${epochs.warm}, ` : 'stage 1 from scratch, '}stage 1 ${epochs.stage1}, stage 2 ${epochs.stage2} (from stage 1); the baseline ${c.baselineEpochs} (the epochs stage 2's UDCformer has seen)`,
    '',
    '| model | held-out accuracy | macro-F1 |',
    '|---|---|---|',
    ...order.flatMap((part) => results.filter((x) => x.run === part).map(({ r }) => `| ${names[part]}${part === 'stage1' ? ' (sees the label)' : ''} | ${(100 * r.final.accuracy).toFixed(1)} % | ${(100 * r.final.macroF1).toFixed(1)} % |`)),
    `| outside reference: face-api's expression net, zero-shot | ${(100 * refs.expressionNet.accuracy).toFixed(1)} % | ${(100 * refs.expressionNet.macroF1).toFixed(1)} % |`,
    ...(refs.descriptorProbe ? [`| outside reference: linear classifier on the frozen face descriptor | ${(100 * refs.descriptorProbe.accuracy).toFixed(1)} % | ${(100 * refs.descriptorProbe.macroF1).toFixed(1)} % |`] : []),
    '',
    "Stage 1 sees the label through its EPR (its accuracy is not a classifier's); stage 2 predicts the EPR from the image alone.",
    '',
    ...results.map(({ run: part }) => `- ${names[part]}: [${part}/report.md](${part}/report.md)`),
    '',
    referencesMarkdown(refs, 7),
    recordMarkdown(record),
  ];
  await new FsStore(outDir).write('report.md', `${lines.join('\n')}\n`);
  console.log(lines.slice(0, 12 + results.length).join('\n'));
}

export function ablateCommand(): Command {
  const cmd = new Command('ablate')
    .description("the paper's Table 5 and Fig. 6 on SynthFER-UDC as a paired experiment over seeds: CE + KL vs the equal-budget baseline, V1 (no diffusion), V2 (CE only), V4 (insert noise), pretrained backbones vs from scratch, T sweep; 95 % intervals")
    .addOption(new Option('--out <dir>', 'output directory').default('runs/ablate'))
    .addOption(presetOption())
    .addOption(listOption('--seeds <list>', 'comma-separated seeds (at least 2 for intervals)', SEED, [0, 1, 2, 3, 4], { distinct: true }))
    .addOption(listOption('--steps <list>', 'T values of the sweep (T = 1 is at chance by construction: README)', COUNT, [2, 4, 8]));
  addCurriculumOptions(cmd, ABLATE_EPOCHS)
    .option('--no-scratch', 'skip the from-scratch (--backbone none) comparison')
    .option('--flip', 'also train on mirrored views (twice the frozen-feature extraction)');
  return cmd.action(() => ablate(cmd));
}

async function ablate(cmd: Command): Promise<void> {
  const o = cmd.opts();
  const t0 = performance.now();
  const seeds: number[] = o.seeds;
  const steps: number[] = o.steps;
  const { warmStart, epochs, landmarkFeatures: landmarks, options } = curriculumSettings(cmd, ABLATE_EPOCHS);
  const record: RunRecord = { version: VERSION, command: 'ablate', argv: typedArgs(), options: commandOptions(cmd) };
  // Every output goes through the store: written to a temporary file, then renamed (a kill leaves the old file or the new one).
  const out = new FsStore(o.out);
  await writeRecord(out, record);
  const e = await engine();
  const data = new Map<number, Awaited<ReturnType<typeof openData>>>();
  for (const s of seeds) data.set(s, await openData(`synth:${o.train}:${o.test}`, o.preset, s, { difficulty: o.difficulty }));
  const r = await runAblation(e, {
    preset: o.preset, seeds, steps, train: (s) => data.get(s)!, epochs, warmStart, scratch: o.scratch !== false,
    config: { landmarkFeatures: landmarks },
    options: { ...options, logEvery: 1000, udcDraws: 1, augment: { flip: !!o.flip, erase: false } },
    viewCache: new FsViewCache(FEATURE_CACHE_DIR),
    onProgress: (l) => console.error(`[ablate] ${l}`),
    // Partial results after every seed, so a long run that is stopped still leaves its table.
    onSeed: (partial) => out.write('ablation.partial.md', `${ablationMarkdown(partial, `# LRDif ablation, seeds done so far (${((performance.now() - t0) / 60000).toFixed(1)} min)`)}\n`),
  });
  const md = ablationMarkdown(r, `# LRDif ablation on SynthFER-UDC (${o.preset}, ${o.train} train / ${o.test} held-out images, difficulty ${o.difficulty}, ${o.udc === 'poled' ? 'P-OLED' : 'T-OLED'}; epochs ${warmStart ? `warm start ${epochs.warm}, ` : ''}stage 1 ${epochs.stage1}, each stage-2 run ${epochs.stage2}; ${protocolLine(landmarks, 'face-api')}; ${e.info.description}; ${((performance.now() - t0) / 60000).toFixed(1)} min)`);
  await out.write('ablation.md', `${md}\n\n![T sweep](t-sweep.svg)\n\n${recordMarkdown(record)}`);
  await out.write('t-sweep.svg', ablationSvg(r));
  await out.write('ablation.json', JSON.stringify({ seeds: r.seeds, table: Object.fromEntries(r.table), sweep: Object.fromEntries(r.sweep) }, null, 2));
  console.log(md);
}
