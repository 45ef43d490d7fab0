#!/usr/bin/env bun
/**
 * The `lrdif` command line: run (the whole pipeline on SynthFER-UDC), train, eval, predict,
 * synth, udc, ablate. Parsing by commander, progress by cli-progress; the work is in src/train.
 */
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { Engine } from './engine/engine.ts';
import { getMatmulTuning, setMatmulTuning, tuneMatmul } from './engine/ops/matmul.ts';
import { getConv2dTuning, setConv2dTuning, tuneConv2d } from './engine/ops/conv2d.ts';
import { PRESET_NAMES } from './model/config.ts';
import { readCheckpoint } from './model/checkpoint.ts';
import { FsStore } from './train/store-fs.ts';
import { loadModel, trainStage, writeReport, type StageResult, type StageSpec } from './train/pipeline.ts';
import { Trainer, type TrainOptions } from './train/trainer.ts';
import { openData, type DataPair } from './train/data/open.ts';
import { CLASS_NAMES, WithoutLandmarks } from './train/data/dataset.ts';
import { metricsMarkdown } from './train/report.ts';
import type { UdcPanel } from './train/data/udc.ts';
import { convertUdc, predictImages, writeSynth } from './train/commands.ts';
import { ablationMarkdown, ablationSvg, runAblation } from './train/ablate.ts';
import { runCurriculum } from './train/curriculum.ts';
import { FsViewCache } from './train/feature-cache-fs.ts';
import { outsideReferences, referencesMarkdown } from './train/references.ts';
import { loadFaceExpressionNet } from './model/landmarks/face-api-files.ts';
import { landmarksCommand } from './model/landmarks/command.ts';

async function engine(): Promise<Engine> {
  const e = await Engine.create();
  await tuneMatmul(e);
  await tuneConv2d(e);
  return e;
}

function progressHooks(label: string): Pick<StageSpec, 'onStep' | 'onEpoch' | 'log'> & { stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} epoch {epoch}/{epochs} |{bar}| {value}/{total} | loss {loss} | acc {acc} | {ips} img/s | ETA {etaEpoch}`,
      hideCursor: true,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  // The bar first appears after `logEvery` steps, too late for cli-progress's own ETA (it reads 0 s):
  // the epoch's ETA comes from the time per step since the epoch began.
  let epochStart = performance.now();
  const eta = (done: number, total: number) => {
    const s = ((performance.now() - epochStart) / 1000 / Math.max(1, done)) * (total - done);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
  };
  return {
    onStep: (l, p) => {
      const payload = { epoch: p.epoch + 1, epochs: p.epochs, loss: l.loss.toFixed(3), acc: (100 * l.accuracy).toFixed(1), ips: l.imagesPerSecond.toFixed(1), etaEpoch: eta(p.stepInEpoch, p.stepsPerEpoch) };
      if (!started || p.stepInEpoch <= 1 || (bar as unknown as { total: number }).total !== p.stepsPerEpoch) {
        if (started) bar.stop();
        bar.start(p.stepsPerEpoch, p.stepInEpoch, payload);
        started = true;
      } else bar.update(p.stepInEpoch, payload);
    },
    onEpoch: (l) => {
      if (started) bar.stop();
      started = false;
      console.error(`${label} epoch ${l.epoch + 1}: train loss ${l.trainLoss.toFixed(4)}, train acc ${(100 * l.trainAccuracy).toFixed(1)} %, held-out acc ${(100 * l.test.accuracy).toFixed(1)} %, macro-F1 ${(100 * l.test.macroF1).toFixed(1)} % (${l.seconds.toFixed(1)} s)`);
      epochStart = performance.now();
    },
    log: (line) => console.error(`${label} ${line}`),
    stop: () => {
      if (started) bar.stop();
    },
  };
}

/** Progress bars for one-off tasks (decoding a dataset, predicting its landmarks), one per task label. */
function taskProgress(): { onProgress: (task: string, done: number, total: number) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | null = null;
  let current = '';
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    onProgress: (task, done, total) => {
      if (task !== current || !bar) {
        stop();
        current = task;
        bar = new cliProgress.SingleBar(
          { format: `${task} |{bar}| {value}/{total} | {eta_formatted} left`, hideCursor: true, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 10_000 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done);
      } else bar.update(done);
      if (done >= total) stop();
    },
    stop,
  };
}

/** --data plus its options → train/test datasets (real datasets get predicted landmarks unless --landmarks none). */
async function openDataFor(e: Engine, o: Record<string, string | boolean | undefined>, preset: string, seed: number): Promise<DataPair> {
  const bars = taskProgress();
  try {
    // Only the oracle heatmap stem reads landmarks given with the data: real datasets get face-api's points then.
    const d = await openData(String(o.data), preset, seed, { difficulty: Number(o.difficulty) }, { skipBad: !!o.skipBad, landmarks: o.landmarks === 'oracle' ? 'predict' : 'none', engine: e, onProgress: bars.onProgress });
    return o.landmarks === 'none' ? { train: new WithoutLandmarks(d.train), test: new WithoutLandmarks(d.test) } : d;
  } finally {
    bars.stop();
  }
}

/** `lrdif run`'s default epochs (stage 1, stage 2). */
const RUN_EPOCHS = '1,4';
/** Where the frozen networks' features of the data's views are cached between runs. */
const FEATURE_CACHE_DIR = '.cache/features';

/** The landmark source and backbone, as every report states them ('heatmap' without landmarks in the data = the landmark-free path). */
function protocolLine(landmarks: 'heatmap' | 'backbone', backbone: 'face-api' | 'none', dataHasLandmarks = true): string {
  const lm =
    landmarks === 'backbone'
      ? 'landmark features from the landmark network on the (degraded) image the model sees'
      : dataHasLandmarks
        ? 'ORACLE landmarks given with the data (SynthFER: the exact points; real data: points predicted from the clean image), which no camera provides'
        : 'no landmarks (landmark-free DIL path)';
  return `${lm}; image backbone: ${backbone === 'face-api' ? "face-api's frozen pretrained networks" : 'trained from scratch'}`;
}

/** 'S1,S2' (or 'W,S1,S2' with a warm start) → the curriculum's epochs. */
function curriculumEpochs(text: string, warmStart: boolean): { warm: number; stage1: number; stage2: number } {
  const xs = String(text).split(',').map(Number);
  const want = warmStart ? 3 : 2;
  if (xs.length !== want || !xs.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new Error(`--epochs ${text}: expected ${want} positive integers (${warmStart ? 'baseline warm start, stage 1, stage 2, e.g. 3,1,5' : 'stage 1, stage 2, e.g. 2,6'})`);
  }
  return warmStart ? { warm: xs[0]!, stage1: xs[1]!, stage2: xs[2]! } : { warm: 0, stage1: xs[0]!, stage2: xs[1]! };
}

/** '3,1,5' → epochs of baseline, stage 1, stage 2; one number serves all three. */
function stageEpochs(text: string): [number, number, number] {
  const xs = String(text).split(',').map(Number);
  const ok = (xs.length === 1 || xs.length === 3) && xs.every((x) => Number.isInteger(x) && x >= 1);
  if (!ok) throw new Error(`--epochs ${text}: expected one positive integer or three (baseline, stage 1, stage 2), e.g. 3,1,5`);
  return xs.length === 1 ? [xs[0]!, xs[0]!, xs[0]!] : (xs as [number, number, number]);
}

function prepareOut(dir: string, resume: boolean, force: boolean): FsStore {
  if (existsSync(join(dir, 'model.safetensors')) && !resume && !force) {
    throw new Error(`${dir} already holds a run (model.safetensors); pass --resume to continue it or --force to overwrite`);
  }
  return new FsStore(dir);
}

function trainOptions(o: Record<string, string | boolean | undefined>): Partial<TrainOptions> {
  const num = (k: string) => (o[k] !== undefined ? Number(o[k]) : undefined);
  const out: Partial<TrainOptions> = {};
  const set = <K extends keyof TrainOptions>(k: K, v: TrainOptions[K] | undefined) => {
    if (v !== undefined && !(typeof v === 'number' && Number.isNaN(v))) out[k] = v;
  };
  set('epochs', num('epochs'));
  set('batchSize', num('batch'));
  set('lr', num('lr'));
  set('weightDecay', num('weightDecay'));
  set('seed', num('seed'));
  set('klTau', num('klTau'));
  set('l1Weight', num('l1'));
  set('warmupEpochs', num('warmup'));
  set('clipGradNorm', num('clip'));
  set('evalDraws', num('draws'));
  set('logEvery', num('logEvery'));
  set('udcDraws', num('udcDraws'));
  // Random erasing would change a view after its frozen features were cached: off on that path.
  if (o.backbone !== 'none') out.augment = { flip: true, erase: false };
  if (o.optimizer) out.optimizer = o.optimizer as TrainOptions['optimizer'];
  if (o.schedule) out.schedule = o.schedule as TrainOptions['schedule'];
  if (o.udc !== undefined) out.udc = o.udc === 'off' ? null : { panel: o.udc as UdcPanel, strength: num('udcStrength') ?? 1 };
  return out;
}

const program = new Command('lrdif').description('LRDif (diffusion models for under-display-camera emotion recognition) on WebGPU').showHelpAfterError();

const dataOption = new Option('--data <spec>', 'synth | rafdb:DIR | ferplus:DIR | kdef:DIR | folder:DIR').default('synth');
const presetOption = new Option('--preset <name>', 'model preset').choices(PRESET_NAMES).default('tiny');
const difficultyOption = new Option('--difficulty <d>', 'synth data: SynthFER difficulty, 0 (clear) … 1 (subtle)').default('0.5');
const landmarksOption = new Option(
  '--landmarks <source>',
  "'net' = the landmark network run on the image the model sees (the paper's protocol); 'oracle' = landmarks given with the data through the heatmap stem (SynthFER's exact points; for real data face-api's points predicted once from the clean decoded image) — neither exists for a real UDC photo; 'none' = the landmark-free path",
).choices(['net', 'oracle', 'none']).default('net');
const backboneOption = new Option('--backbone <name>', "image paths: 'face-api' = frozen pretrained face networks with trainable projections; 'none' = trained from scratch").choices(['face-api', 'none']).default('face-api');

/** --landmarks / --backbone → model config overrides. */
function protocolConfig(o: Record<string, unknown>): { backbone: 'face-api' | 'none'; landmarkFeatures: 'heatmap' | 'backbone' } {
  return { backbone: o.backbone === 'none' ? 'none' : 'face-api', landmarkFeatures: o.landmarks === 'net' ? 'backbone' : 'heatmap' };
}

program
  .command('train')
  .description('train one stage of LRDif (stage 2 starts from a stage-1 checkpoint given with --from)')
  .addOption(new Option('--stage <n>', 'training stage').choices(['1', '2']).makeOptionMandatory())
  .addOption(presetOption)
  .option('--config <file>', 'JSON file with config overrides')
  .addOption(dataOption)
  .addOption(difficultyOption)
  .addOption(landmarksOption)
  .addOption(backboneOption)
  .addOption(new Option('--udc <panel>', 'UDC degradation applied on the fly').choices(['toled', 'poled', 'off']).default('toled'))
  .option('--udc-strength <s>', 'UDC strength in [0, 1]', '1')
  .option('--udc-draws <k>', 'frozen backbones: fixed UDC draws per training image, their features cached')
  .option('--epochs <n>', 'epochs')
  .option('--batch <n>', 'batch size')
  .option('--lr <x>', 'learning rate')
  .option('--weight-decay <x>', 'weight decay')
  .addOption(new Option('--optimizer <name>').choices(['adam', 'adamw']))
  .addOption(new Option('--schedule <name>').choices(['exponential', 'cosine']))
  .option('--clip <norm>', 'clip the global gradient norm')
  .option('--kl-tau <t>', 'stage 2: KL temperature')
  .option('--l1 <w>', 'stage 2: weight of the L1(Ẑ, Z) term')
  .option('--warmup <epochs>', 'stage 2: epochs training only FPEN_S2 + denoiser on the KL target')
  .option('--draws <k>', 'stage 2 evaluation: Gaussian starts averaged')
  .option('--seed <n>', 'seed', '0')
  .option('--from <checkpoint>', 'stage 2: the stage-1 checkpoint; stage 1: a baseline checkpoint whose UDCformer it starts from (optional)')
  .option('--baseline', 'stage 1 without an EPR: the no-EPR baseline (config modulation: false)')
  .option('--out <dir>', 'output directory')
  .option('--resume', 'continue the run in --out from its last checkpoint')
  .option('--force', 'overwrite a run in --out')
  .option('--skip-bad', 'real datasets: skip (and report) missing or corrupt images and bad label lines instead of stopping')
  .action(async (o) => {
    const stage = Number(o.stage) as 1 | 2;
    if (o.baseline && stage !== 1) throw new Error('--baseline trains the no-EPR baseline, a stage-1 model: use --stage 1');
    const out = o.out ?? `runs/${o.preset}-${o.baseline ? 'baseline' : `stage${stage}`}`;
    const store = prepareOut(out, !!o.resume, !!o.force);
    if (stage === 2 && !o.from && !o.resume) throw new Error('stage 2 needs --from <stage-1 checkpoint>');
    const e = await engine();
    // Kernel choices change float rounding: a resumed run reuses the ones the run started with, so
    // it ends bitwise where an uninterrupted run would (on the same adapter).
    const tuningFile = join(out, 'tuning.json');
    if (o.resume && existsSync(tuningFile)) {
      const t = JSON.parse(readFileSync(tuningFile, 'utf8'));
      setMatmulTuning(e, t.matmul);
      setConv2dTuning(e, t.conv2d);
    } else await store.write('tuning.json', JSON.stringify({ matmul: getMatmulTuning(e), conv2d: getConv2dTuning(e) }, null, 2));
    const data = await openDataFor(e, o, o.preset, Number(o.seed));
    const what = o.baseline ? 'baseline' : `stage ${stage}`;
    const hooks = progressHooks(`[${what}]`);
    let config = { ...protocolConfig(o), ...(o.config ? JSON.parse(readFileSync(o.config, 'utf8')) : {}) };
    if (o.baseline) config = { ...config, modulation: false };
    const tasks = taskProgress();
    const r = await trainStage(e, {
      preset: o.preset, config, stage, train: data.train, test: data.test, store, resume: !!o.resume, seed: Number(o.seed),
      from: o.from ? { bytes: new Uint8Array(readFileSync(o.from)), name: o.from } : undefined,
      options: trainOptions(o), ...hooks, onTask: tasks.onProgress, viewCache: new FsViewCache(FEATURE_CACHE_DIR),
    });
    hooks.stop();
    tasks.stop();
    await writeReport(e, r, store, `${o.baseline ? 'Baseline' : `Stage ${stage}`} (${o.preset})`, data.test);
    const refs = await outsideReferences(r.trainer, loadFaceExpressionNet(e));
    const report = new TextDecoder().decode((await store.read('report.md'))!);
    await store.write('report.md', `${report}\n${protocolLine(config.landmarkFeatures, config.backbone, o.landmarks !== 'none')}\n\n${referencesMarkdown(refs, r.model.cfg.numClasses)}`);
    console.log(`${what}: held-out accuracy ${(100 * r.final.accuracy).toFixed(2)} % (outside references: face-api's expression net ${(100 * refs.expressionNet.accuracy).toFixed(1)} %${refs.descriptorProbe ? `, linear classifier on the frozen descriptor ${(100 * refs.descriptorProbe.accuracy).toFixed(1)} %` : ''}) — ${out}/model.safetensors, ${out}/report.md`);
  });

program
  .command('eval')
  .description('evaluate a checkpoint: accuracy, per-class accuracy, macro-F1, confusion matrix')
  .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
  .addOption(dataOption)
  .addOption(difficultyOption)
  .option('--data-seed <n>', 'synth data: the seed the model was trained with (its held-out identities)', '0')
  .addOption(new Option('--udc <panel>').choices(['toled', 'poled', 'off']).default('toled'))
  .option('--draws <k>', 'stage 2: seeded Gaussian starts averaged', '1')
  .option('--seed <n>', 'evaluation seed', '1234')
  .option('--batch <n>', 'batch size', '32')
  .option('--skip-bad', 'real datasets: skip (and report) bad items instead of stopping')
  .action(async (o) => {
    const e = await engine();
    const bytes = new Uint8Array(readFileSync(o.checkpoint));
    const model = loadModel(e, bytes, o.checkpoint);
    // The landmark source is the model's: the network on the image, or (heatmap stem) landmarks with the data when it was trained with them.
    const trainedWithLandmarks = readCheckpoint(bytes, o.checkpoint).file.metadata.trained_with_landmarks !== 'false';
    o.landmarks = model.cfg.landmarkFeatures === 'backbone' ? 'net' : trainedWithLandmarks ? 'oracle' : 'none';
    const data = await openDataFor(e, o, model.cfg.preset, Number(o.dataSeed));
    if (data.test.numClasses > model.cfg.numClasses) throw new Error(`${data.test.name} has ${data.test.numClasses} classes; the checkpoint's model has ${model.cfg.numClasses}`);
    const t = new Trainer(e, model, data.train, data.test, { batchSize: Number(o.batch), udc: o.udc === 'off' ? null : { panel: o.udc, strength: 1 }, evalDraws: Number(o.draws), evalSeed: Number(o.seed) });
    const r = await t.evaluate(data.test);
    console.log(protocolLine(model.cfg.landmarkFeatures, model.cfg.backbone, o.landmarks !== 'none'));
    console.log(metricsMarkdown(r.metrics, CLASS_NAMES.slice(0, model.cfg.numClasses)));
    console.log('\nconfusion (rows true, columns predicted):');
    for (const row of r.metrics.confusion) console.log(row.map((v) => String(v).padStart(5)).join(''));
    console.log(`\n${referencesMarkdown(await outsideReferences(t, loadFaceExpressionNet(e)), model.cfg.numClasses)}`);
  });

program
  .command('run')
  .description('the whole pipeline on built-in SynthFER with UDC degradation (tiny preset): LRDif stage 1, stage 2, the equal-budget baseline, outside references, report')
  .option('--out <dir>', 'output directory (default: runs/quickstart-<date>-<time>, so earlier runs are kept)')
  .option('--force', 'overwrite an existing run')
  .option('--seed <n>', 'seed', '0')
  .option('--train <n>', 'training images', '490')
  .option('--test <n>', 'held-out images (disjoint identities)', '210')
  .option('--epochs <list>', 'epochs of stage 1 and stage 2 ("S1,S2"), or of the baseline warm start, stage 1 and stage 2 with --warm-start ("W,S1,S2")', RUN_EPOCHS)
  .option('--warm-start', "start stage 1 from the baseline's UDCformer (needed by the from-scratch model)")
  .option('--batch <n>', 'batch size', '16')
  .option('--lr <x>', 'learning rate', '2e-3')
  .option('--difficulty <d>', 'SynthFER difficulty, 0 (clear) … 1 (subtle)', '0.3')
  .addOption(new Option('--udc <panel>', 'under-display-camera panel').choices(['toled', 'poled']).default('toled'))
  .addOption(new Option('--backbone <name>', "image paths: 'face-api' = frozen pretrained face networks; 'none' = trained from scratch").choices(['face-api', 'none']).default('face-api'))
  .addOption(new Option('--landmarks <source>', "'net' = the landmark network on the image the model sees (the paper's protocol); 'oracle' = SynthFER's exact landmarks (not available to a camera)").choices(['net', 'oracle']).default('net'))
  .option('--udc-draws <k>', 'fixed UDC draws per training image (cached frozen features)', '1')
  .option('--no-flip', 'no mirrored training views')
  .action(async (o) => {
    const t0 = performance.now();
    const warmStart = !!o.warmStart;
    const epochs = curriculumEpochs(o.epochs, warmStart);
    const modelConfig = { backbone: o.backbone, landmarkFeatures: o.landmarks === 'oracle' ? 'heatmap' : 'backbone' } as const;
    o.out ??= `runs/quickstart-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}`;
    const e = await engine();
    const seed = Number(o.seed);
    const data = await openData(`synth:${o.train}:${o.test}`, 'tiny', seed, { difficulty: Number(o.difficulty) });
    const options: Partial<TrainOptions> = {
      batchSize: Number(o.batch), seed, lr: Number(o.lr), lrGamma: 0.85, udc: { panel: o.udc, strength: 1 }, logEvery: 5, udcDraws: Number(o.udcDraws),
      augment: { flip: o.flip !== false, erase: o.backbone === 'none' },
    };
    const names = { baseline: 'baseline (no EPR)', stage1: 'LRDif stage 1', stage2: 'LRDif stage 2' } as const;
    const stores = new Map<string, FsStore>();
    const store = (run: string) => stores.get(run) ?? stores.set(run, prepareOut(join(o.out, run), false, !!o.force)).get(run)!;
    const bars = new Map<string, ReturnType<typeof progressHooks>>();
    const results: { run: keyof typeof names; r: StageResult }[] = [];
    const c = await runCurriculum(e, {
      preset: 'tiny', config: modelConfig, train: data.train, test: data.test, seed, options, epochs, warmStart, store,
      viewCache: new FsViewCache(FEATURE_CACHE_DIR),
      hooks: (run) => {
        const h = bars.get(run) ?? bars.set(run, progressHooks(`[${names[run]}]`)).get(run)!;
        const tasks = taskProgress();
        return { ...h, onTask: tasks.onProgress };
      },
      onResult: async (run, r, s) => {
        bars.get(run)?.stop();
        await writeReport(e, r, s, names[run], data.test);
        results.push({ run, r });
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
      ...order.flatMap((run) => results.filter((x) => x.run === run).map(({ r }) => `| ${names[run]}${run === 'stage1' ? ' (sees the label)' : ''} | ${(100 * r.final.accuracy).toFixed(1)} % | ${(100 * r.final.macroF1).toFixed(1)} % |`)),
      `| outside reference: face-api's expression net, zero-shot | ${(100 * refs.expressionNet.accuracy).toFixed(1)} % | ${(100 * refs.expressionNet.macroF1).toFixed(1)} % |`,
      ...(refs.descriptorProbe ? [`| outside reference: linear classifier on the frozen face descriptor | ${(100 * refs.descriptorProbe.accuracy).toFixed(1)} % | ${(100 * refs.descriptorProbe.macroF1).toFixed(1)} % |`] : []),
      '',
      "Stage 1 sees the label through its EPR (its accuracy is not a classifier's); stage 2 predicts the EPR from the image alone.",
      '',
      ...results.map(({ run }) => `- ${names[run]}: [${run}/report.md](${run}/report.md)`),
      '',
      referencesMarkdown(refs, 7),
    ];
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'report.md'), `${lines.join('\n')}\n`);
    console.log(lines.slice(0, 12 + results.length).join('\n'));
  });

program
  .command('predict')
  .description("class probabilities for image files (stage-2 or baseline checkpoint; landmarks from face-api's network when the model was trained with landmarks)")
  .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
  .argument('<images...>', 'image files (PNG, JPEG, WebP …)')
  .option('--draws <k>', 'stage 2: seeded Gaussian starts averaged', '1')
  .option('--seed <n>', 'seed of the Gaussian start', '0')
  .addOption(new Option('--udc <panel>', 'degrade the images first (for clean inputs to a UDC-trained model)').choices(['toled', 'poled', 'off']).default('off'))
  .addOption(new Option('--landmarks <mode>', "'auto' = predicted when the model was trained with landmarks; 'predict'; 'none' = landmark-free path").choices(['auto', 'predict', 'none']).default('auto'))
  .option('--json', 'print JSON')
  .option('--no-detect', 'images are already aligned face crops: no face detection, each whole image is the face')
  .action(async (images: string[], o) => {
    const e = await engine();
    await predictImages(e, o.checkpoint, images, { draws: Number(o.draws), seed: Number(o.seed), udc: o.udc === 'off' ? null : o.udc, json: !!o.json, landmarks: o.landmarks, detect: o.detect });
  });

program
  .command('synth')
  .description('write one SynthFER split (procedural faces, exact 68-point landmarks) as <out>/<split>/<class>/*.png + labels.csv + landmarks.json; write train and test to one <out> and --data folder:<out> reads it')
  .requiredOption('--out <dir>', 'output directory')
  .option('--count <n>', 'number of images', '700')
  .addOption(new Option('--split <name>').choices(['train', 'val', 'test']).default('train'))
  .option('--size <px>', 'image size', '112')
  .option('--seed <n>', 'seed', '0')
  .option('--difficulty <d>', '0 (clear expressions) … 1 (subtle, blended)', '0.5')
  .option('--label-noise <p>', 'probability of a wrong label', '0')
  .action((o) => {
    writeSynth(o.out, { count: Number(o.count), split: o.split, size: Number(o.size), seed: Number(o.seed), difficulty: Number(o.difficulty), labelNoise: Number(o.labelNoise) });
  });

program
  .command('udc')
  .description('degrade a dataset folder as an under-display camera would (GPU) into a new <out> outside <in>: same layout, file names, formats and label files (RAF-DB, FERPlus fer2013.csv rows, KDEF, class folders), so the same --data loader reads it')
  .argument('<in>', 'input folder')
  .argument('<out>', 'output folder')
  .addOption(new Option('--panel <name>').choices(['toled', 'poled']).default('toled'))
  .option('--strength <s>', 'degradation strength in [0, 1]', '1')
  .option('--seed <n>', 'seed', '0')
  .action(async (input: string, out: string, o) => {
    const e = await engine();
    await convertUdc(e, input, out, { panel: o.panel, strength: Number(o.strength), seed: Number(o.seed) });
  });

program
  .command('ablate')
  .description("the paper's Table 5 and Fig. 6 on SynthFER-UDC as a paired experiment over seeds: CE + KL vs the equal-budget baseline, V1 (no diffusion), V2 (CE only), V4 (insert noise), pretrained backbones vs from scratch, T sweep; 95 % intervals")
  .option('--out <dir>', 'output directory', 'runs/ablate')
  .addOption(presetOption)
  .option('--seeds <list>', 'comma-separated seeds (at least 2 for intervals)', '0,1,2,3,4')
  .option('--steps <list>', 'T values of the sweep (T = 1 is at chance by construction: README)', '2,4,8')
  .option('--train <n>', 'training images', '490')
  .option('--test <n>', 'held-out images', '210')
  .option('--epochs <list>', 'epochs of stage 1 and of each stage-2 run ("S1,S2"), or "W,S1,S2" with --warm-start', '1,2')
  .option('--warm-start', "start stage 1 from the baseline's UDCformer")
  .option('--no-scratch', 'skip the from-scratch (--backbone none) comparison')
  .option('--flip', 'also train on mirrored views (twice the frozen-feature extraction)')
  .option('--batch <n>', 'batch size', '16')
  .option('--lr <x>', 'learning rate', '2e-3')
  .option('--difficulty <d>', 'SynthFER difficulty', '0.3')
  .addOption(new Option('--udc <panel>', 'under-display-camera panel').choices(['toled', 'poled']).default('toled'))
  .addOption(new Option('--landmarks <source>', "'net' (the paper's protocol) or 'oracle' (SynthFER's exact landmarks)").choices(['net', 'oracle']).default('net'))
  .action(async (o) => {
    const t0 = performance.now();
    const e = await engine();
    const seeds = String(o.seeds).split(',').map(Number);
    const steps = String(o.steps).split(',').map(Number);
    if (!seeds.every(Number.isInteger) || new Set(seeds).size !== seeds.length) throw new Error(`--seeds ${o.seeds}: expected distinct integers, e.g. 0,1,2,3,4`);
    if (!steps.every((t) => Number.isInteger(t) && t >= 1)) throw new Error(`--steps ${o.steps}: expected positive integers, e.g. 1,2,4,8`);
    const epochs = curriculumEpochs(o.epochs, !!o.warmStart);
    const landmarks = o.landmarks === 'oracle' ? 'heatmap' : 'backbone';
    const data = new Map<number, Awaited<ReturnType<typeof openData>>>();
    for (const s of seeds) data.set(s, await openData(`synth:${o.train}:${o.test}`, o.preset, s, { difficulty: Number(o.difficulty) }));
    const r = await runAblation(e, {
      preset: o.preset, seeds, steps, train: (s) => data.get(s)!, epochs, warmStart: !!o.warmStart, scratch: o.scratch !== false,
      config: { landmarkFeatures: landmarks },
      options: { batchSize: Number(o.batch), lr: Number(o.lr), lrGamma: 0.85, udc: { panel: o.udc, strength: 1 }, logEvery: 1000, udcDraws: 1, augment: { flip: !!o.flip, erase: false } },
      viewCache: new FsViewCache(FEATURE_CACHE_DIR),
      onProgress: (l) => console.error(`[ablate] ${l}`),
      onSeed: (partial) => {
        // Partial results after every seed, so a long run that is stopped still leaves its table.
        mkdirSync(o.out, { recursive: true });
        writeFileSync(join(o.out, 'ablation.partial.md'), `${ablationMarkdown(partial, `# LRDif ablation, seeds done so far (${((performance.now() - t0) / 60000).toFixed(1)} min)`)}\n`);
      },
    });
    const md = ablationMarkdown(r, `# LRDif ablation on SynthFER-UDC (${o.preset}, ${o.train} train / ${o.test} held-out images, difficulty ${o.difficulty}, ${o.udc === 'poled' ? 'P-OLED' : 'T-OLED'}; epochs ${o.warmStart ? `warm start ${epochs.warm}, ` : ''}stage 1 ${epochs.stage1}, each stage-2 run ${epochs.stage2}; ${protocolLine(landmarks, 'face-api')}; ${e.info.description}; ${((performance.now() - t0) / 60000).toFixed(1)} min)`);
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'ablation.md'), `${md}\n\n![T sweep](t-sweep.svg)\n`);
    writeFileSync(join(o.out, 't-sweep.svg'), ablationSvg(r));
    writeFileSync(join(o.out, 'ablation.json'), JSON.stringify({ seeds: r.seeds, table: Object.fromEntries(r.table), sweep: Object.fromEntries(r.sweep) }, null, 2));
    console.log(md);
  });

program.addCommand(landmarksCommand(engine));

program.hook('preAction', () => {
  process.on('unhandledRejection', (err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
});

try {
  await program.parseAsync(process.argv);
  process.exit(0);
} catch (err) {
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`lrdif: ${/out of memory/i.test(msg) ? `${msg}\nThe GPU ran out of memory: try a smaller --batch (e.g. half).` : msg}`);
  process.exit(1);
}
