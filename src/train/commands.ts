/** The file-producing CLI commands: synth (write SynthFER to disk), udc (degrade a folder), predict. */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import cliProgress from 'cli-progress';
import { type Engine, softmax, add, div, sub } from '../engine/index.ts';
import { writeSynthFolder, type SynthFolderOptions } from './data/synth-folder.ts';
import { convertUdcDataset, udcSummary } from './data/udc-dataset.ts';
import { degradeUdc, type UdcPanel } from './data/udc.ts';
import { readImageFile } from './data/images.ts';
import { detectAndAlignFaces } from './data/face-crops.ts';
import { CLASS_NAMES, MemoryDataset, type Dataset } from './data/dataset.ts';
import { withPredictedLandmarks } from './data/predicted-landmarks.ts';
import { readCheckpoint } from '../model/checkpoint.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './batch.ts';
import { loadModel } from './models-fs.ts';
import { noFaceMessage } from '../model/landmarks/face-locator.ts';

function bar(label: string, total: number): cliProgress.SingleBar {
  const b = new cliProgress.SingleBar({ format: `${label} |{bar}| {value}/{total} | {rate}/s | ETA {eta_formatted}`, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
  b.start(total, 0, { rate: '0' });
  return b;
}

/** Writes one SynthFER split as an image-folder dataset (synth-folder.ts: `--data folder:DIR` reads it). */
export function writeSynth(out: string, opts: Omit<SynthFolderOptions, 'onProgress'>): void {
  const b = bar('synth', opts.count);
  const t0 = performance.now();
  let dir: string;
  try {
    dir = writeSynthFolder(out, {
      ...opts,
      onProgress: (done) => {
        if (done % 50 === 0 || done === opts.count) b.update(done, { rate: ((1000 * done) / (performance.now() - t0)).toFixed(0) });
      },
    });
  } finally {
    b.stop();
  }
  const other = opts.split === 'test' ? 'train' : 'test';
  console.log(
    `wrote ${opts.count} ${opts.size}×${opts.size} ${opts.split} images to ${dir}/<class>/ (labels.csv, landmarks.json) at ${((1000 * opts.count) / (performance.now() - t0)).toFixed(0)} images/s; ` +
      (opts.split === 'val' ? `read it with --data folder:${dir}` : `--data folder:${out} reads it once ${join(out, other)} is written too (lrdif synth --split ${other}); --data folder:${dir} reads this split alone (80/20)`),
  );
}

/** Degrades a dataset folder as an under-display camera would, keeping its layout, names, formats and label files (udc-dataset.ts). */
export async function convertUdc(e: Engine, input: string, out: string, opts: { panel: UdcPanel; strength: number; seed: number }): Promise<void> {
  const progress: { bar?: cliProgress.SingleBar } = {};
  let r: Awaited<ReturnType<typeof convertUdcDataset>>;
  try {
    r = await convertUdcDataset(e, input, out, { ...opts, onProgress: (done, total) => (progress.bar ??= bar('udc', total)).update(done) });
  } finally {
    progress.bar?.stop();
  }
  console.log(udcSummary(r, out, opts));
}

/**
 * Class probabilities for image files (stage-2 models from seeded Gaussian starts). Unless `detect`
 * is false, each image's largest face is found (face-api's tiny face detector + landmark net) and
 * cropped to the square that frames it like a training face (face-locator.ts), resized to the
 * model's input; with `detect: false` each whole image is taken as an aligned face crop. A model
 * whose DIL network was trained with landmarks gets them from face-api's 68-point network (the
 * model's input image whole as the face crop); one trained without (or `landmarks: 'none'`) runs the
 * landmark-free path. Images without a face are reported (and listed in JSON); it throws when no
 * image had one.
 */
export async function predictImages(
  e: Engine,
  checkpoint: string,
  images: string[],
  opts: { draws: number; seed: number; udc: UdcPanel | null; json: boolean; landmarks?: 'auto' | 'predict' | 'none'; detect?: boolean },
): Promise<void> {
  const bytes = new Uint8Array(readFileSync(checkpoint));
  const model = loadModel(e, bytes, checkpoint);
  if (model.stage === 1 && model.fpenS1) throw new Error(`${checkpoint} is a stage-1 LRDif model: it needs the label to form its EPR, so it cannot classify; use a stage-2 (or baseline) checkpoint`);
  const S = model.cfg.inputSize;
  const names = CLASS_NAMES.slice(0, model.cfg.numClasses);
  const faces = opts.detect === false
    ? await Promise.all(images.map(async (file) => Float32Array.from(await readImageFile(file, { size: S }), (v) => v / 255)))
    : await detectAndAlignFaces(e, images, S);
  const missing = images.filter((_, i) => !faces[i]);
  for (const file of missing) console.error(noFaceMessage(file));
  if (missing.length === images.length) throw new Error(`no face found in ${images.length === 1 ? images[0] : `any of the ${images.length} images`}`);
  const files = images.filter((_, i) => faces[i]);
  const samples = faces.filter((f): f is Float32Array => !!f).map((image) => ({ image, landmarks: null, label: 0 }));
  // Checkpoints written before the flag existed were all trained on SynthFER, which has landmarks.
  const trainedWithLandmarks = readCheckpoint(bytes, checkpoint).file.metadata.trained_with_landmarks !== 'false';
  const mode = opts.landmarks ?? 'auto';
  const useLandmarks = model.cfg.landmarkFeatures === 'heatmap' && (mode === 'predict' || (mode === 'auto' && trainedWithLandmarks));
  let ds: Dataset = new MemoryDataset('images', S, model.cfg.numClasses, samples);
  if (useLandmarks) ds = (await withPredictedLandmarks(e, ds)).dataset;
  if (!opts.json) {
    console.error(opts.detect === false ? 'faces: each whole image (--no-detect)' : "faces: largest face found by face-api's tiny face detector, cropped and framed like a training face");
    console.error(useLandmarks ? "landmarks: predicted by face-api's 68-point network" : 'landmarks: none (landmark-free path)');
  }
  const results: { file: string; probabilities: Record<string, number>; prediction: string }[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const s = ds.get(i);
    const probs = await e.noGrad(() =>
      e.scope(async () => {
        let img = e.tensor(s.image, [1, 3, S, S]);
        if (opts.udc) img = degradeUdc(e, img, { panel: opts.udc, seed: opts.seed });
        img = div(sub(img, e.tensor(IMAGENET_MEAN, [1, 3, 1, 1])), e.tensor(IMAGENET_STD, [1, 3, 1, 1]));
        const landmarks = s.landmarks ? e.tensor(s.landmarks, [1, 68, 2]) : null;
        let acc = null as ReturnType<typeof softmax> | null;
        const draws = model.stage === 2 ? opts.draws : 1;
        for (let d = 0; d < draws; d++) {
          const p = softmax(model.predict({ image: img, landmarks }, opts.seed + d).logits);
          acc = acc ? add(acc, p) : p;
        }
        const v = (await acc!.read()) as Float32Array;
        return Array.from(v, (x) => x / draws);
      }),
    );
    const best = probs.indexOf(Math.max(...probs));
    results.push({ file, probabilities: Object.fromEntries(names.map((n, i) => [n, +probs[i]!.toFixed(4)])), prediction: names[best]! });
  }
  let k = 0;
  if (opts.json) console.log(JSON.stringify(images.map((file, i) => (faces[i] ? results[k++] : { file, error: 'no face found' })), null, 2));
  else {
    console.log(['image'.padEnd(28), ...names.map((n) => n.slice(0, 9).padStart(10)), '  prediction'].join(''));
    for (const r of results) console.log([basename(r.file).slice(0, 27).padEnd(28), ...names.map((n) => (100 * r.probabilities[n]!).toFixed(1).padStart(9) + '%'), `  ${r.prediction}`].join(''));
    for (const file of missing) console.log(`${basename(file).slice(0, 27).padEnd(28)}no face found`);
  }
}
