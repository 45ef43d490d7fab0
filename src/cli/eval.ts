/** `lrdif eval`: a checkpoint on held-out data — by default the run's own split and settings, read from its config.json. */
import { existsSync, readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { readCheckpoint } from '../model/checkpoint.ts';
import { loadModel } from '../train/models-fs.ts';
import { Trainer } from '../train/trainer.ts';
import { CLASS_NAMES } from '../train/data/dataset.ts';
import { outsideReferences, referencesMarkdown } from '../train/references.ts';
import { loadFaceExpressionNet } from '../model/landmarks/face-api-files.ts';
import { engine, openDataFor, protocolLine } from './common.ts';
import { confusionTable, metricsJson, metricsTable } from './eval-output.ts';
import { batchOption, COUNT, dataOption, difficultyOption, numberOption, resolveData, SEED, seedOption, testCountOption, trainCountOption, udcStrengthOption } from './options.ts';
import { applyHeldOut, commandOptions, recordBeside, RECORD_FILE } from './run-record.ts';

export function evalCommand(): Command {
  const cmd = new Command('eval')
    .description(
      `evaluate a checkpoint: accuracy, macro-F1, per-class accuracy, precision and F1, confusion matrix. When the run's ${RECORD_FILE} sits beside the checkpoint, ` +
        "its held-out split and settings (--data, --train/--test, --data-seed, --difficulty, --udc, --udc-strength, --draws) replace the defaults below; flags given override them, with a note",
    )
    .requiredOption('--checkpoint <file>', 'model checkpoint (.safetensors)')
    .addOption(dataOption())
    .addOption(trainCountOption())
    .addOption(testCountOption())
    .addOption(difficultyOption())
    .addOption(numberOption('--data-seed <n>', "synth data: the seed the model was trained with (its held-out identities)", SEED, 0))
    .addOption(new Option('--udc <panel>', 'UDC degradation of the held-out images').choices(['toled', 'poled', 'off']).default('toled'))
    .addOption(udcStrengthOption())
    .addOption(numberOption('--draws <k>', 'stage 2: seeded Gaussian starts averaged', COUNT, 1))
    .addOption(seedOption('evaluation seed (UDC draws and Gaussian starts)', 1234))
    .addOption(batchOption(32))
    .option('--skip-bad', 'real datasets: skip (and report) bad items instead of stopping')
    .option('--json', 'print one JSON object (settings, metrics, confusion matrix, outside references) instead of tables');
  return cmd.action(() => evaluate(cmd));
}

async function evaluate(cmd: Command): Promise<void> {
  const checkpoint: string = cmd.opts().checkpoint;
  if (!existsSync(checkpoint)) throw new Error(`--checkpoint ${checkpoint}: no such file`);
  const found = recordBeside(checkpoint);
  if (found?.record.heldOut) for (const line of applyHeldOut(cmd, found.record.heldOut, found.where)) console.error(line);
  else console.error(`eval: ${found ? `${found.where} records no held-out settings` : `no ${RECORD_FILE} beside ${checkpoint}`}: evaluating on the data the flags give`);
  const o = cmd.opts();
  const data = resolveData(cmd);

  const e = await engine();
  const bytes = new Uint8Array(readFileSync(checkpoint));
  const model = loadModel(e, bytes, checkpoint);
  // The landmark source is the model's: the network on the image, or (heatmap stem) landmarks with the data when it was trained with them.
  const trainedWithLandmarks = readCheckpoint(bytes, checkpoint).file.metadata.trained_with_landmarks !== 'false';
  const landmarks = model.cfg.landmarkFeatures === 'backbone' ? 'net' : trainedWithLandmarks ? 'oracle' : 'none';
  const pair = await openDataFor(e, { spec: data.spec, difficulty: o.difficulty, skipBad: !!o.skipBad, landmarks }, model.cfg.preset, o.dataSeed);
  if (pair.test.numClasses > model.cfg.numClasses) throw new Error(`${pair.test.name} has ${pair.test.numClasses} classes; the checkpoint's model has ${model.cfg.numClasses}`);
  const t = new Trainer(e, model, pair.train, pair.test, { batchSize: o.batch, udc: o.udc === 'off' ? null : { panel: o.udc, strength: o.udcStrength }, evalDraws: o.draws, evalSeed: o.seed });
  const r = await t.evaluate(pair.test);
  const names = CLASS_NAMES.slice(0, model.cfg.numClasses);
  const protocol = protocolLine(model.cfg.landmarkFeatures, model.cfg.backbone, landmarks !== 'none');
  const refs = await outsideReferences(t, loadFaceExpressionNet(e));
  const heldOut = `${data.synth ? `SynthFER ${data.spec}, seed ${o.dataSeed}, difficulty ${o.difficulty}` : `${data.spec}`}; UDC ${o.udc === 'off' ? 'off' : `${o.udc} strength ${o.udcStrength}`}`;
  if (o.json) {
    console.log(JSON.stringify({
      checkpoint, stage: model.stage, preset: model.cfg.preset, settings: commandOptions(cmd, ['checkpoint', 'json']), data: data.spec, protocol, ...metricsJson(r.metrics, names),
      references: { expressionNet: metricsJson(refs.expressionNet, names), descriptorProbe: refs.descriptorProbe ? metricsJson(refs.descriptorProbe, names) : null },
    }, null, 2));
    return;
  }
  console.log(`${checkpoint}: stage ${model.stage}, ${model.cfg.preset} preset; held-out: ${heldOut}`);
  console.log(protocol);
  console.log(`\n${metricsTable(r.metrics, names)}\n\n${confusionTable(r.metrics, names)}\n`);
  console.log(referencesMarkdown(refs, model.cfg.numClasses));
}
