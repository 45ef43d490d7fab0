/**
 * Difficulty check for SynthFER: nearest-centroid classifiers on (a) pose-normalised landmarks and
 * (b) 16×16 grey thumbnails, trained on the train split and scored on the (disjoint-identity) test
 * split, for several difficulty settings. Chance is 1/7 ≈ 0.143.
 *
 *   bun scripts/synthfer-difficulty.ts [--train 7000] [--test 2100] [--size 64] [--seed 1]
 */
import { NUM_EXPRESSIONS, generateSample, type SynthFerOptions } from '../src/train/data/synthfer.ts';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const nTrain = arg('train', 7000), nTest = arg('test', 2100), size = arg('size', 64), seed = arg('seed', 1);

/** Landmarks with translation, roll and scale removed (eye centres → (±0.5, 0)). */
function landmarkFeatures(lm: Float32Array): Float64Array {
  let lx = 0, ly = 0, rx = 0, ry = 0;
  for (let i = 36; i < 42; i++) [lx, ly] = [lx + lm[2 * i]! / 6, ly + lm[2 * i + 1]! / 6];
  for (let i = 42; i < 48; i++) [rx, ry] = [rx + lm[2 * i]! / 6, ry + lm[2 * i + 1]! / 6];
  const cx = (lx + rx) / 2, cy = (ly + ry) / 2;
  const dx = rx - lx, dy = ry - ly, d = Math.hypot(dx, dy);
  const c = dx / d, s = dy / d;
  const out = new Float64Array(136);
  for (let i = 0; i < 68; i++) {
    const x = lm[2 * i]! - cx, y = lm[2 * i + 1]! - cy;
    out[2 * i] = (x * c + y * s) / d;
    out[2 * i + 1] = (-x * s + y * c) / d;
  }
  return out;
}

/** 16×16 grey thumbnail, standardised per image. */
function pixelFeatures(img: Float32Array): Float64Array {
  const T = 16, f = size / T, plane = size * size;
  const out = new Float64Array(T * T);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      out[Math.floor(y / f) * T + Math.floor(x / f)]! += 0.299 * img[i]! + 0.587 * img[plane + i]! + 0.114 * img[2 * plane + i]!;
    }
  let m = 0, v = 0;
  for (const a of out) m += a / out.length;
  for (const a of out) v += (a - m) ** 2 / out.length;
  return out.map((a) => (a - m) / Math.sqrt(v + 1e-12));
}

function nearestCentroid(train: [Float64Array, number][], test: [Float64Array, number][]): number {
  const dim = train[0]![0].length;
  const cent = Array.from({ length: NUM_EXPRESSIONS }, () => new Float64Array(dim));
  const cnt = new Array<number>(NUM_EXPRESSIONS).fill(0);
  for (const [x, y] of train) {
    cnt[y]!++;
    for (let k = 0; k < dim; k++) cent[y]![k]! += x[k]!;
  }
  cent.forEach((c, y) => c.forEach((_, k) => (c[k]! /= cnt[y]!)));
  let ok = 0;
  for (const [x, y] of test) {
    let best = -1, bd = Infinity;
    cent.forEach((c, k) => {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (x[j]! - c[j]!) ** 2;
      if (d < bd) [best, bd] = [k, d];
    });
    if (best === y) ok++;
  }
  return ok / test.length;
}

/** Ridge-regression onto one-hot labels (a linear classifier), solved by Gaussian elimination. */
function ridge(train: [Float64Array, number][], test: [Float64Array, number][], lambda = 1e-3): number {
  const dim = train[0]![0].length + 1; // + bias
  const xtx = Array.from({ length: dim }, () => new Float64Array(dim + NUM_EXPRESSIONS));
  const mean = new Float64Array(dim - 1), sd = new Float64Array(dim - 1);
  for (const [x] of train) x.forEach((v, k) => (mean[k]! += v / train.length));
  for (const [x] of train) x.forEach((v, k) => (sd[k]! += (v - mean[k]!) ** 2 / train.length));
  const feat = (x: Float64Array): Float64Array => {
    const f = new Float64Array(dim);
    x.forEach((v, k) => (f[k] = (v - mean[k]!) / Math.sqrt(sd[k]! + 1e-12)));
    f[dim - 1] = 1;
    return f;
  };
  for (const [x, y] of train) {
    const f = feat(x);
    for (let a = 0; a < dim; a++) {
      const row = xtx[a]!;
      for (let b = 0; b < dim; b++) row[b]! += f[a]! * f[b]!;
      row[dim + y]! += f[a]!;
    }
  }
  for (let a = 0; a < dim; a++) xtx[a]![a]! += lambda * train.length;
  for (let c = 0; c < dim; c++) {
    let piv = c;
    for (let r = c + 1; r < dim; r++) if (Math.abs(xtx[r]![c]!) > Math.abs(xtx[piv]![c]!)) piv = r;
    [xtx[c], xtx[piv]] = [xtx[piv]!, xtx[c]!];
    const pr = xtx[c]!;
    for (let r = 0; r < dim; r++) {
      if (r === c) continue;
      const row = xtx[r]!, m = row[c]! / pr[c]!;
      if (m !== 0) for (let k = c; k < dim + NUM_EXPRESSIONS; k++) row[k]! -= m * pr[k]!;
    }
  }
  let ok = 0;
  for (const [x, y] of test) {
    const f = feat(x);
    let best = -1, bs = -Infinity;
    for (let k = 0; k < NUM_EXPRESSIONS; k++) {
      let sc = 0;
      for (let a = 0; a < dim; a++) sc += f[a]! * (xtx[a]![dim + k]! / xtx[a]![a]!);
      if (sc > bs) [best, bs] = [k, sc];
    }
    if (best === y) ok++;
  }
  return ok / test.length;
}

console.log(`SynthFER test accuracy of simple classifiers (train ${nTrain}, test ${nTest}, ${size}×${size}, chance 0.143)`);
for (const difficulty of [0, 0.5, 1]) {
  const feats = (split: 'train' | 'test', n: number) => {
    const lm: [Float64Array, number][] = [], px: [Float64Array, number][] = [];
    const opts: SynthFerOptions = { seed, size, split, difficulty };
    for (let i = 0; i < n; i++) {
      const s = generateSample(i, opts);
      lm.push([landmarkFeatures(s.landmarks), s.label]);
      px.push([pixelFeatures(s.image), s.label]);
    }
    return { lm, px };
  };
  const tr = feats('train', nTrain), te = feats('test', nTest);
  console.log(
    `difficulty ${difficulty}: nearest centroid — landmarks ${nearestCentroid(tr.lm, te.lm).toFixed(3)}, pixels ${nearestCentroid(tr.px, te.px).toFixed(3)}; ` +
      `linear (ridge) — landmarks ${ridge(tr.lm, te.lm).toFixed(3)}, pixels ${ridge(tr.px, te.px).toFixed(3)}`,
  );
}
