/** The file-producing CLI commands: synth (write SynthFER to disk), udc (degrade a folder), predict. */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative } from 'node:path';
import sharp from 'sharp';
import cliProgress from 'cli-progress';
import type { Engine } from '../engine/engine.ts';
import { softmax } from '../engine/ops/softmax.ts';
import { add, div, sub } from '../engine/ops/elementwise.ts';
import { generateSample, EXPRESSION_NAMES } from './data/synthfer.ts';
import { encodePngChw } from './data/png.ts';
import { degradeUdc, type UdcPanel } from './data/udc.ts';
import { decodeImageFile } from './data/images.ts';
import { CLASS_NAMES, MemoryDataset, type Dataset } from './data/dataset.ts';
import { withPredictedLandmarks } from './data/predicted-landmarks.ts';
import { readCheckpoint } from '../model/checkpoint.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from './batch.ts';
import { loadModel } from './pipeline.ts';
import { detectAndAlignFaces, noFaceMessage } from '../model/landmarks/face-locator.ts';

function bar(label: string, total: number): cliProgress.SingleBar {
  const b = new cliProgress.SingleBar({ format: `${label} |{bar}| {value}/{total} | {rate}/s | ETA {eta_formatted}`, noTTYOutput: !process.stderr.isTTY, notTTYSchedule: 5000 }, cliProgress.Presets.shades_classic);
  b.start(total, 0, { rate: '0' });
  return b;
}

/** Writes SynthFER as PNGs + labels.csv + landmarks.json. */
export function writeSynth(out: string, opts: { count: number; split: 'train' | 'val' | 'test'; size: number; seed: number; difficulty: number; labelNoise: number }): void {
  mkdirSync(join(out, 'images'), { recursive: true });
  const rows = ['file,label,class,identity'];
  const landmarks: Record<string, number[]> = {};
  const b = bar('synth', opts.count);
  const t0 = performance.now();
  for (let i = 0; i < opts.count; i++) {
    const s = generateSample(i, { seed: opts.seed, size: opts.size, split: opts.split, difficulty: opts.difficulty, labelNoise: opts.labelNoise });
    const file = `images/${String(i).padStart(6, '0')}.png`;
    writeFileSync(join(out, file), encodePngChw(s.image, opts.size, opts.size));
    rows.push(`${file},${s.label},${EXPRESSION_NAMES[s.label]},${s.identity}`);
    landmarks[file] = Array.from(s.landmarks, (v) => +v.toFixed(6));
    if (i % 50 === 0) b.update(i + 1, { rate: ((1000 * (i + 1)) / (performance.now() - t0)).toFixed(0) });
  }
  b.update(opts.count);
  b.stop();
  writeFileSync(join(out, 'labels.csv'), `${rows.join('\n')}\n`);
  writeFileSync(join(out, 'landmarks.json'), JSON.stringify({ format: 'x,y pairs in [0,1] from the top-left, iBUG/300-W order', landmarks }));
  console.log(`wrote ${opts.count} ${opts.size}×${opts.size} images to ${out} (labels.csv, landmarks.json) at ${((1000 * opts.count) / (performance.now() - t0)).toFixed(0)} images/s`);
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg', '.webp', '.bmp', '.tif', '.tiff']);

function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (IMAGE_EXT.has(extname(name).toLowerCase())) out.push(p);
    }
  };
  walk(dir);
  return out;
}

async function decodeFull(path: string): Promise<{ chw: Float32Array; w: number; h: number }> {
  let raw: { data: Buffer; info: { width: number; height: number } };
  try {
    raw = await sharp(readFileSync(path), { failOn: 'warning', autoOrient: true }).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new Error(`${path}: cannot decode image (${(e as Error).message})`);
  }
  const { width: w, height: h } = raw.info;
  const chw = new Float32Array(3 * w * h);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) chw[c * w * h + i] = raw.data[3 * i + c]! / 255;
  return { chw, w, h };
}

/** Converts every image under `input` the way the paper built UDC-RAF-DB, mirroring the folder layout as PNGs. */
export async function convertUdc(e: Engine, input: string, out: string, opts: { panel: UdcPanel; strength: number; seed: number }): Promise<void> {
  const files = listImages(input);
  if (files.length === 0) throw new Error(`${input}: no images found (${[...IMAGE_EXT].join(', ')})`);
  const b = bar('udc', files.length);
  let psnrSum = 0;
  let ratioSum = 0;
  const grid: Float32Array[] = [];
  let gridSize = 0;
  for (let i = 0; i < files.length; i++) {
    const f = files[i]!;
    const { chw, w, h } = await decodeFull(f);
    const deg = await e.noGrad(() =>
      e.scope(async () => (await degradeUdc(e, e.tensor(chw, [1, 3, h, w]), { panel: opts.panel, strength: opts.strength, seed: opts.seed, offset: i }).read()) as Float32Array),
    );
    const rel = relative(input, f);
    const dst = join(out, rel.slice(0, rel.length - extname(rel).length) + '.png');
    mkdirSync(join(dst, '..'), { recursive: true });
    writeFileSync(dst, encodePngChw(deg, w, h));
    let mse = 0, a = 0, c = 0;
    for (let k = 0; k < chw.length; k++) {
      mse += (deg[k]! - chw[k]!) ** 2;
      a += deg[k]!;
      c += chw[k]!;
    }
    psnrSum += 10 * Math.log10(1 / Math.max(mse / chw.length, 1e-12));
    ratioSum += a / Math.max(c, 1e-9);
    if (grid.length < 16 && (gridSize === 0 || (w === gridSize && h === gridSize))) {
      gridSize = w === h ? w : gridSize;
      if (w === h) grid.push(chw, deg);
    }
    b.update(i + 1);
  }
  b.stop();
  if (grid.length > 0) {
    // Side-by-side preview: pairs of (clean | UDC), one pair per row.
    const S = gridSize, rows = grid.length / 2;
    const img = new Float32Array(3 * rows * S * 2 * S);
    for (let r = 0; r < rows; r++)
      for (let side = 0; side < 2; side++)
        for (let ch = 0; ch < 3; ch++)
          for (let y = 0; y < S; y++)
            for (let x = 0; x < S; x++) img[(ch * rows * S + r * S + y) * 2 * S + side * S + x] = grid[2 * r + side]![(ch * S + y) * S + x]!;
    writeFileSync(join(out, 'udc-preview.png'), encodePngChw(img, 2 * S, rows * S));
  }
  console.log(`converted ${files.length} images (${opts.panel}, strength ${opts.strength}): mean brightness ratio ${(ratioSum / files.length).toFixed(3)}, mean PSNR ${(psnrSum / files.length).toFixed(2)} dB → ${out}${grid.length ? ` (preview ${join(out, 'udc-preview.png')})` : ''}`);
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
  const faces = opts.detect === false ? await Promise.all(images.map(async (file) => {
    try {
      return Float32Array.from(await decodeImageFile(new Uint8Array(readFileSync(file)), { size: S }), (v) => v / 255);
    } catch (err) {
      throw new Error(`${file}: cannot read image (${(err as Error).message})`);
    }
  })) : await detectAndAlignFaces(e, images, S);
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
