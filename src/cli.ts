#!/usr/bin/env bun
/**
 * The `lrdif` command line: run (the whole pipeline on SynthFER-UDC), train, eval, predict, synth,
 * udc, ablate, landmarks. Parsing by commander (every flag checked as it is read: src/cli/options.ts),
 * one module per command group under src/cli/; the work is in src/train.
 */
import { Command, Option } from 'commander';
import { convertUdc, predictImages, writeSynth } from './train/commands.ts';
import type { AdapterChoice } from './engine/index.ts';
import { chooseAdapter, engine } from './cli/common.ts';
import { COUNT, difficultyOption, numberOption, seedOption, UNIT, udcStrengthOption } from './cli/options.ts';
import { VERSION } from './cli/run-record.ts';
import { trainCommand } from './cli/train.ts';
import { evalCommand } from './cli/eval.ts';
import { ablateCommand, runCommand } from './cli/experiments.ts';
import { judgeSynthCommand } from './cli/synth-judge.ts';
import { landmarksCommand } from './cli/landmarks.ts';

const program = new Command('lrdif')
  .description('LRDif (diffusion models for under-display-camera emotion recognition) on WebGPU')
  .version(VERSION)
  .addOption(new Option('--adapter <name>', "WebGPU adapter: 'auto' = a hardware GPU if there is one, else llvmpipe").choices(['auto', 'hardware', 'llvmpipe', 'swiftshader']).env('LRDIF_ADAPTER').default('auto'))
  .showHelpAfterError('(add --help for the options and their defaults)');

program.addCommand(runCommand());
program.addCommand(trainCommand());
program.addCommand(evalCommand());

program
  .command('predict')
  .description("class probabilities for image files (stage-2 or baseline checkpoint; landmarks from face-api's network when the model was trained with landmarks)")
  .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
  .argument('<images...>', 'image files (PNG, JPEG, WebP …)')
  .addOption(numberOption('--draws <k>', 'stage 2: seeded Gaussian starts averaged', COUNT, 1))
  .addOption(seedOption('seed of the Gaussian start'))
  .addOption(new Option('--udc <panel>', 'degrade the images first (for clean inputs to a UDC-trained model)').choices(['toled', 'poled', 'off']).default('off'))
  .addOption(new Option('--landmarks <mode>', "'auto' = predicted when the model was trained with landmarks; 'predict'; 'none' = landmark-free path").choices(['auto', 'predict', 'none']).default('auto'))
  .option('--json', 'print JSON')
  .option('--no-detect', 'images are already aligned face crops: no face detection, each whole image is the face')
  .action(async (images: string[], o) => {
    const e = await engine();
    await predictImages(e, o.checkpoint, images, { draws: o.draws, seed: o.seed, udc: o.udc === 'off' ? null : o.udc, json: !!o.json, landmarks: o.landmarks, detect: o.detect });
  });

program
  .command('synth')
  .description('write one SynthFER split (procedural faces, exact 68-point landmarks) as <out>/<split>/<class>/*.png + labels.csv + landmarks.json; write train and test to one <out> and --data folder:<out> reads it')
  .requiredOption('--out <dir>', 'output directory')
  .addOption(numberOption('--count <n>', 'number of images', COUNT, 700))
  .addOption(new Option('--split <name>').choices(['train', 'val', 'test']).default('train'))
  .addOption(numberOption('--size <px>', 'image size', { integer: true, min: 16, max: 2048 }, 112))
  .addOption(seedOption())
  .addOption(difficultyOption())
  .addOption(numberOption('--label-noise <p>', 'probability of a wrong label', UNIT, 0))
  .option('--judge', "instead of writing the split: judge its realism with face-api's expression net (trained on real photos, zero-shot), clean and through both UDC panels; writes judge.md, judge.json and synthfer-classes.png (example faces per class) to --out")
  .action(async (o) => {
    if (o.judge) {
      await judgeSynthCommand(o.out, { count: o.count, split: o.split, size: o.size, seed: o.seed, difficulty: o.difficulty });
      return;
    }
    writeSynth(o.out, { count: o.count, split: o.split, size: o.size, seed: o.seed, difficulty: o.difficulty, labelNoise: o.labelNoise });
  });

program
  .command('udc')
  .description('degrade a dataset folder as an under-display camera would (GPU) into a new <out> outside <in>: same layout, file names, formats and label files (RAF-DB, FERPlus fer2013.csv rows, KDEF, class folders), so the same --data loader reads it')
  .argument('<in>', 'input folder')
  .argument('<out>', 'output folder')
  .addOption(new Option('--panel <name>').choices(['toled', 'poled']).default('toled'))
  .addOption(udcStrengthOption('--strength <s>'))
  .addOption(seedOption())
  .action(async (input: string, out: string, o) => {
    const e = await engine();
    await convertUdc(e, input, out, { panel: o.panel, strength: o.strength, seed: o.seed });
  });

program.addCommand(ablateCommand());
program.addCommand(landmarksCommand(engine));

// Subcommands made with `new Command` do not inherit the program's settings.
for (const c of program.commands) c.showHelpAfterError('(add --help for the options and their defaults)').configureHelp({ showGlobalOptions: true });

program.hook('preAction', () => {
  chooseAdapter(program.opts().adapter as AdapterChoice);
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
