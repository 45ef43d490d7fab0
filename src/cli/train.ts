/** `lrdif train`: one stage of LRDif (or the no-EPR baseline), with config.json so that --resume and eval know the run's settings. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { makeConfig, type DeepPartial, type LrdifConfig } from '../model/config.ts';
import { trainStage } from '../train/pipeline.ts';
import { newModel } from '../train/models-fs.ts';
import { writeReport } from '../train/stage-report.ts';
import { DEFAULT_TRAIN, type TrainOptions } from '../train/trainer.ts';
import type { UdcPanel } from '../train/data/udc.ts';
import { FsViewCache } from '../train/feature-cache-fs.ts';
import { outsideReferences, referencesMarkdown } from '../train/references.ts';
import { loadFaceExpressionNet } from '../model/landmarks/face-api-files.ts';
import { engine, FEATURE_CACHE_DIR, openDataFor, prepareOut, protocolLine } from './common.ts';
import { progressHooks, taskProgress } from './progress.ts';
import {
  batchOption, checkBatchFits, configFileOf, COUNT, DEFAULT_SYNTH, dataOption, difficultyOption, lrOption, NON_NEGATIVE, NON_NEGATIVE_INT, numberOption,
  POSITIVE, presetOption, readConfigFile, resolveData, SCALE_UP_HINT, seedOption, testCountOption, trainCountOption, udcDrawsOption, udcStrengthOption,
} from './options.ts';
import { appendToReport, commandLine, commandOptions, readRecord, RECORD_FILE, recordMarkdown, restoreOptions, typedArgs, VERSION, writeRecord, type RunRecord } from './run-record.ts';

/** Defaults sized for a CPU: the SynthFER sizes, batch and learning rate of `lrdif run`, a few minutes per stage. */
export const TRAIN_DEFAULTS = { epochs: 2, batch: 16, lr: 2e-3 };

/** Options that say where and how to write, not what to train: never recorded or compared on --resume. */
const NOT_SETTINGS = ['out', 'resume', 'force'];

export const landmarksOption = () =>
  new Option(
    '--landmarks <source>',
    "'net' = the landmark network run on the image the model sees (the paper's protocol); 'oracle' = landmarks given with the data through the heatmap stem (SynthFER's exact points; for real data face-api's points predicted once from the clean decoded image) — neither exists for a real UDC photo; 'none' = the landmark-free path",
  ).choices(['net', 'oracle', 'none']).default('net');
export const backboneOption = () => new Option('--backbone <name>', "image paths: 'face-api' = frozen pretrained face networks with trainable projections; 'none' = trained from scratch").choices(['face-api', 'none']).default('face-api');

/** --landmarks / --backbone → model config overrides. */
function protocolConfig(o: Record<string, unknown>): { backbone: 'face-api' | 'none'; landmarkFeatures: 'heatmap' | 'backbone' } {
  return { backbone: o.backbone === 'none' ? 'none' : 'face-api', landmarkFeatures: o.landmarks === 'net' ? 'backbone' : 'heatmap' };
}

function trainOptions(o: Record<string, any>): Partial<TrainOptions> {
  const out: Partial<TrainOptions> = {
    epochs: o.epochs, batchSize: o.batch, lr: o.lr, weightDecay: o.weightDecay, optimizer: o.optimizer, schedule: o.schedule, seed: o.seed,
    klTau: o.klTau, l1Weight: o.l1, warmupEpochs: o.warmup, evalDraws: o.draws, udcDraws: o.udcDraws,
    udc: o.udc === 'off' ? null : { panel: o.udc as UdcPanel, strength: o.udcStrength },
  };
  if (o.clip !== null && o.clip !== undefined) out.clipGradNorm = o.clip;
  // Random erasing would change a view after its frozen features were cached: off on that path.
  if (o.backbone !== 'none') out.augment = { flip: true, erase: false };
  return out;
}

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description(
      'train one stage of LRDif (stage 2 starts from a stage-1 checkpoint given with --from). The defaults take minutes on a CPU ' +
        `(SynthFER ${DEFAULT_SYNTH.train}/${DEFAULT_SYNTH.test} faces, ${TRAIN_DEFAULTS.epochs} epochs of batch ${TRAIN_DEFAULTS.batch}); ` +
        `scale up with e.g. --train 2800 --test 700 --epochs 100 --batch 64 --lr 3.5e-4 (${SCALE_UP_HINT}; the rest are the paper's settings)`,
    )
    .addOption(new Option('--stage <n>', 'training stage').choices(['1', '2']).makeOptionMandatory())
    .addOption(presetOption())
    .addOption(new Option('--config <file>', 'JSON file with model-config overrides, e.g. {"diffusion": {"steps": 8}}').argParser(readConfigFile).default(null, 'none'))
    .addOption(dataOption())
    .addOption(trainCountOption())
    .addOption(testCountOption())
    .addOption(difficultyOption())
    .addOption(landmarksOption())
    .addOption(backboneOption())
    .addOption(new Option('--udc <panel>', 'UDC degradation applied on the fly').choices(['toled', 'poled', 'off']).default('toled'))
    .addOption(udcStrengthOption())
    .addOption(udcDrawsOption())
    .addOption(numberOption('--epochs <n>', 'epochs', COUNT, TRAIN_DEFAULTS.epochs))
    .addOption(batchOption(TRAIN_DEFAULTS.batch))
    .addOption(lrOption(TRAIN_DEFAULTS.lr))
    .addOption(numberOption('--weight-decay <x>', 'weight decay', NON_NEGATIVE, DEFAULT_TRAIN.weightDecay))
    .addOption(new Option('--optimizer <name>').choices(['adam', 'adamw']).default(DEFAULT_TRAIN.optimizer))
    .addOption(new Option('--schedule <name>', 'learning-rate schedule per epoch').choices(['exponential', 'cosine']).default(DEFAULT_TRAIN.schedule))
    .addOption(numberOption('--clip <norm>', 'clip the global gradient norm', POSITIVE, null, 'off'))
    .addOption(numberOption('--kl-tau <t>', 'stage 2: KL temperature', POSITIVE, DEFAULT_TRAIN.klTau))
    .addOption(numberOption('--l1 <w>', 'stage 2: weight of the L1(Ẑ, Z) term', NON_NEGATIVE, DEFAULT_TRAIN.l1Weight))
    .addOption(numberOption('--warmup <epochs>', 'stage 2: epochs training only FPEN_S2 + denoiser on the KL target', NON_NEGATIVE_INT, DEFAULT_TRAIN.warmupEpochs))
    .addOption(numberOption('--draws <k>', 'stage 2 evaluation: Gaussian starts averaged', COUNT, DEFAULT_TRAIN.evalDraws))
    .addOption(seedOption('seed of the data (SynthFER faces and identities), data order and initial weights'))
    .addOption(new Option('--from <checkpoint>', 'stage 2: the stage-1 checkpoint; stage 1: a baseline checkpoint whose UDCformer it starts from (optional)').default(null, 'none'))
    .option('--baseline', 'stage 1 without an EPR: the no-EPR baseline (config modulation: false)')
    .addOption(new Option('--out <dir>', 'output directory').default(null, 'runs/<preset>-stage<N>, runs/<preset>-baseline with --baseline'))
    .option('--resume', `continue the run in --out from its last checkpoint, with the settings in its ${RECORD_FILE}`)
    .option('--force', 'replace a run in --out')
    .option('--skip-bad', 'real datasets: skip (and report) missing or corrupt images and bad label lines instead of stopping');
  return cmd.action(() => train(cmd));
}

async function train(cmd: Command): Promise<void> {
  let o = cmd.opts();
  const out: string = o.out ?? `runs/${o.preset}-${o.baseline ? 'baseline' : `stage${o.stage}`}`;
  const recordFile = join(out, RECORD_FILE);
  const recorded = o.resume ? readRecord(out) : null;
  if (recorded) {
    if (recorded.command !== 'train') throw new Error(`${recordFile} records a \`lrdif ${recorded.command}\` run, not \`lrdif train\`: it cannot be resumed with train`);
    restoreOptions(cmd, recorded, recordFile, NOT_SETTINGS);
    o = cmd.opts();
    console.error(`[train] resuming with the settings in ${recordFile}`);
  } else if (o.resume) console.error(`[train] ${recordFile} is missing (a run from before lrdif recorded its settings): resuming with the flags as given`);
  const stage = Number(o.stage) as 1 | 2;
  if (o.baseline && stage !== 1) throw new Error('--baseline trains the no-EPR baseline, a stage-1 model: use --stage 1');
  if (stage === 2 && !o.from && !o.resume) throw new Error('stage 2 needs --from <stage-1 checkpoint>');
  if (o.from && !existsSync(o.from)) throw new Error(`--from ${o.from}: no such file`);
  const data = resolveData(cmd);
  if (data.synth) checkBatchFits(o.batch, data.synth.train, `--data ${data.spec}`);
  let config: DeepPartial<LrdifConfig> = { ...protocolConfig(o), ...(o.config ?? {}) };
  if (o.baseline) config = { ...config, modulation: false };
  try {
    makeConfig(o.preset, config);
  } catch (err) {
    throw new Error(`--config ${o.config ? (configFileOf.get(o.config) ?? `(recorded in ${recordFile})`) : ''}: ${(err as Error).message}`);
  }

  const store = prepareOut(out, !!o.resume, !!o.force);
  // Kernel choices change float rounding: the trainer keeps the run's in tuning.json and a resume
  // reuses them, so it ends bitwise where an uninterrupted run would (on the same adapter).
  const e = await engine();
  const pair = await openDataFor(e, { spec: data.spec, difficulty: o.difficulty, skipBad: !!o.skipBad, landmarks: o.landmarks }, o.preset, o.seed);
  if (!data.synth) checkBatchFits(o.batch, pair.train.length, pair.train.name);
  const argv = typedArgs();
  // The model config as buildModel makes it (the class count grows with the data's).
  const record: RunRecord = recorded ?? {
    version: VERSION, command: 'train', argv, options: commandOptions(cmd, NOT_SETTINGS),
    heldOut: { data: data.synth ? 'synth' : data.spec, ...(data.synth ?? {}), ...(data.synth ? { difficulty: o.difficulty } : {}), 'data-seed': o.seed, udc: o.udc, 'udc-strength': o.udcStrength, draws: o.draws, 'skip-bad': !!o.skipBad },
    model: makeConfig(o.preset, { numClasses: Math.max(7, pair.train.numClasses), ...config }),
  };
  if (!recorded) await writeRecord(store, record);

  const what = o.baseline ? 'baseline' : `stage ${stage}`;
  const hooks = progressHooks(`[${what}]`);
  const tasks = taskProgress();
  const r = await trainStage(e, {
    preset: o.preset, config, stage, train: pair.train, test: pair.test, store, resume: !!o.resume, seed: o.seed,
    from: o.from ? { bytes: new Uint8Array(readFileSync(o.from)), name: o.from } : undefined,
    options: trainOptions(o), ...hooks, onTask: tasks.onProgress, viewCache: new FsViewCache(FEATURE_CACHE_DIR), newModel,
  });
  hooks.stop();
  tasks.stop();
  await writeReport(e, r, store, `${o.baseline ? 'Baseline' : `Stage ${stage}`} (${o.preset})`, pair.test);
  const refs = await outsideReferences(r.trainer, loadFaceExpressionNet(e));
  const resumedBy = recorded ? `\nResumed by \`${commandLine(argv)}\`.\n` : '';
  await appendToReport(store, `${protocolLine(r.model.cfg.landmarkFeatures, r.model.cfg.backbone, o.landmarks !== 'none')}\n\n${referencesMarkdown(refs, r.model.cfg.numClasses)}\n${recordMarkdown(record)}${resumedBy}`);
  console.log(`${what}: held-out accuracy ${(100 * r.final.accuracy).toFixed(2)} % (outside references: face-api's expression net ${(100 * refs.expressionNet.accuracy).toFixed(1)} %${refs.descriptorProbe ? `, linear classifier on the frozen descriptor ${(100 * refs.descriptorProbe.accuracy).toFixed(1)} %` : ''}) — ${out}/model.safetensors, ${out}/report.md`);
}
