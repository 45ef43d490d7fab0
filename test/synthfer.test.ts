import { describe, expect, it } from 'vitest';
import {
  AU_NAMES,
  EXPRESSION_NAMES,
  EXPRESSION_PROTOTYPES,
  NUM_EXPRESSIONS,
  PART_COLORS,
  SynthFerDataset,
  flipSample,
  generateSample,
  renderFace,
  sampleFaceParams,
  type ActionUnits,
  type FaceParams,
  type SynthFerSample,
} from '../src/train/data/synthfer.ts';
import { FLIP_PERMUTATION, flipLandmarks } from '../src/train/data/landmarks68.ts';
import { encodePngChw } from '../src/train/data/png.ts';
import { decodeImageChw } from '../src/train/data/images.ts';

/** A fresh seed per run (override with TEST_SEED), printed so a failure can be replayed. */
function freshSeed(label: string): number {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.TEST_SEED;
  const seed = env ? parseInt(env, 10) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: ${seed} (replay with TEST_SEED=${seed})`);
  return seed;
}

function pixel(s: { image: Float32Array; size: number }, xNorm: number, yNorm: number): [number, number, number] {
  const n = s.size;
  const x = Math.min(n - 1, Math.max(0, Math.floor(xNorm * n)));
  const y = Math.min(n - 1, Math.max(0, Math.floor(yNorm * n)));
  const i = y * n + x;
  return [s.image[i]!, s.image[n * n + i]!, s.image[2 * n * n + i]!];
}

const pt = (lm: Float32Array, i: number): [number, number] => [lm[2 * i]!, lm[2 * i + 1]!];

describe('SynthFER determinism and shapes', () => {
  it('same (seed, split, index) gives identical bytes, in any generation order', () => {
    const seed = freshSeed('synthfer determinism');
    for (const size of [64, 112]) {
      const a = generateSample(12, { seed, size, split: 'train' });
      for (let i = 0; i < 5; i++) generateSample(i, { seed: seed + 1, size, split: 'test' }); // unrelated work in between
      const b = generateSample(12, { seed, size, split: 'train' });
      expect(a.image.length).toBe(3 * size * size);
      expect(a.landmarks.length).toBe(136);
      expect(new Uint8Array(a.image.buffer)).toEqual(new Uint8Array(b.image.buffer));
      expect(new Uint8Array(a.landmarks.buffer)).toEqual(new Uint8Array(b.landmarks.buffer));
      expect([a.label, a.identity]).toEqual([b.label, b.identity]);
      for (const v of a.image) expect(v >= 0 && v <= 1).toBe(true);
      for (const v of a.landmarks) expect(v > 0 && v < 1).toBe(true);
    }
  });

  it('different seeds and indices give different faces', () => {
    const seed = freshSeed('synthfer seeds');
    const a = generateSample(3, { seed, size: 64 });
    const b = generateSample(3, { seed: seed + 1, size: 64 });
    const c = generateSample(10, { seed, size: 64 }); // same class as index 3
    for (const other of [b, c]) {
      let diff = 0;
      for (let i = 0; i < a.image.length; i++) diff += Math.abs(a.image[i]! - other.image[i]!);
      expect(diff / a.image.length).toBeGreaterThan(0.03);
      let lmDiff = 0;
      for (let i = 0; i < 136; i++) lmDiff = Math.max(lmDiff, Math.abs(a.landmarks[i]! - other.landmarks[i]!));
      expect(lmDiff).toBeGreaterThan(0.01);
    }
  });

  it('geometry is resolution independent: the same sample has the same landmarks at 64 and 112', () => {
    const seed = freshSeed('synthfer resolution');
    const a = generateSample(5, { seed, size: 64 });
    const b = generateSample(5, { seed, size: 112 });
    for (let i = 0; i < 136; i++) expect(Math.abs(a.landmarks[i]! - b.landmarks[i]!)).toBeLessThan(1e-6);
  });

  it('landmarks follow the 300-W layout (image-left features are the subject’s right)', () => {
    const seed = freshSeed('synthfer layout');
    for (let index = 0; index < 14; index++) {
      const lm = generateSample(index, { seed, size: 64 }).landmarks;
      const x = (i: number) => lm[2 * i]!;
      const y = (i: number) => lm[2 * i + 1]!;
      expect(x(0)).toBeLessThan(x(8));
      expect(x(8)).toBeLessThan(x(16));
      expect(y(8)).toBeGreaterThan(y(57)); // chin below the mouth
      expect(x(17)).toBeLessThan(x(21));
      expect(x(21)).toBeLessThan(x(22));
      expect(x(22)).toBeLessThan(x(26));
      expect(x(36)).toBeLessThan(x(39));
      expect(x(39)).toBeLessThan(x(42));
      expect(x(42)).toBeLessThan(x(45));
      expect(y(27)).toBeLessThan(y(30));
      expect(y(30)).toBeLessThan(y(33));
      expect(x(48)).toBeLessThan(x(51));
      expect(x(51)).toBeLessThan(x(54));
      expect(x(60)).toBeGreaterThan(x(48));
      expect(x(64)).toBeLessThan(x(54));
      expect(y(62)).toBeLessThanOrEqual(y(66) + 1e-6);
    }
  });
});

describe('SynthFER landmarks land on the rendered features', () => {
  const size = 112;
  const count = 21;

  it('mouth corners 48 and 54 are the extreme points of the rendered lips (within 1 px)', () => {
    const seed = freshSeed('synthfer mouth corners');
    for (let index = 0; index < count; index++) {
      const s = generateSample(index, { seed, size, style: 'parts' });
      const [lx, ly] = pt(s.landmarks, 48);
      const [rx, ry] = pt(s.landmarks, 54);
      const ax = (rx - lx) * size, ay = (ry - ly) * size;
      const len = Math.hypot(ax, ay);
      const ux = ax / len, uy = ay / len;
      // Lip coverage = R − G in the parts palette (skin, mouth interior and teeth are grey).
      let minProj = Infinity, maxProj = -Infinity;
      const n = size * size;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const i = y * size + x;
          if (s.image[i]! - s.image[n + i]! < 0.05) continue;
          const proj = (x + 0.5 - lx * size) * ux + (y + 0.5 - ly * size) * uy;
          minProj = Math.min(minProj, proj);
          maxProj = Math.max(maxProj, proj);
        }
      }
      expect(Math.abs(minProj - 0), `index ${index}: left corner`).toBeLessThanOrEqual(1);
      expect(Math.abs(maxProj - len), `index ${index}: right corner`).toBeLessThanOrEqual(1);
    }
  });

  it('pupils sit at the iris centres and inside the eye opening', () => {
    const seed = freshSeed('synthfer pupils');
    let checked = 0;
    for (let index = 0; index < count; index++) {
      const s = generateSample(index, { seed, size, style: 'parts' });
      for (const [eye, up1, up2, lo1, lo2] of [[0, 37, 38, 41, 40], [1, 43, 44, 47, 46]] as const) {
        const px = s.pupils[2 * eye]!, py = s.pupils[2 * eye + 1]!;
        const interp = (a: number, b: number): number => {
          const [xa, ya] = pt(s.landmarks, a), [xb, yb] = pt(s.landmarks, b);
          return ya + ((yb - ya) * (px - xa)) / (xb - xa);
        };
        const [x1] = pt(s.landmarks, up1), [x2] = pt(s.landmarks, up2);
        if (px < Math.min(x1, x2) || px > Math.max(x1, x2)) continue;
        const roomAbove = (py - interp(up1, up2)) * size;
        const roomBelow = (interp(lo1, lo2) - py) * size;
        if (roomAbove < 1.6 || roomBelow < 1.6) continue; // lids cover the pupil
        const c = pixel(s, px, py);
        expect(Math.max(...c), `index ${index} eye ${eye}: pupil pixel ${c}`).toBeLessThan(0.15);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(count / 2);
  });

  it('the inner mouth between landmarks 62 and 66 is dark when the jaw drops', () => {
    const seed = freshSeed('synthfer open mouth');
    let lipsChecked = 0;
    for (let index = 0; index < count; index++) {
      const p = sampleFaceParams(index, { seed });
      p.aus.jawDrop = 0.8 + 0.4 * ((index * 7) % 10) / 10;
      const r = renderFace(p, size, 'natural');
      const s = { image: r.image, size };
      const [x62, y62] = pt(r.landmarks, 62), [x66, y66] = pt(r.landmarks, 66);
      expect((y66 - y62) * size).toBeGreaterThan(5);
      const [cr, cg, cb] = pixel(s, (x62 + x66) / 2, (y62 + y66) / 2);
      expect(0.299 * cr + 0.587 * cg + 0.114 * cb, `index ${index}`).toBeLessThan(0.3);
      // …and the upper lip (between 51 and 62) is lip-coloured in the parts palette.
      const parts = renderFace(p, size, 'parts');
      const [x51, y51] = pt(parts.landmarks, 51);
      if (Math.hypot(x62 - x51, y62 - y51) * size >= 2.5) {
        const lip = pixel({ image: parts.image, size }, (x51 + x62) / 2, (y51 + y62) / 2);
        expect(lip[0] - lip[1], `index ${index}: upper lip`).toBeGreaterThan(0.4);
        lipsChecked++;
      }
    }
    expect(lipsChecked).toBeGreaterThanOrEqual(3);
  });

  it('brow landmarks lie on the brows and jaw landmarks on the face boundary', () => {
    const seed = freshSeed('synthfer brows and jaw');
    const close = (c: readonly number[], ref: readonly number[], tol: number): boolean => c.every((v, k) => Math.abs(v - ref[k]!) <= tol);
    for (let index = 0; index < count; index++) {
      const s = generateSample(index, { seed, size, style: 'parts' });
      for (const b of [19, 20, 23, 24]) {
        // Mostly brow-coloured: brow green over grey skin (anti-aliased edges allowed).
        const c = pixel(s, ...pt(s.landmarks, b));
        expect(c[1] - c[0], `index ${index} brow ${b}: ${c}`).toBeGreaterThan(0.6);
      }
      let cx = 0, cy = 0;
      for (let i = 0; i < 68; i++) {
        cx += s.landmarks[2 * i]! / 68;
        cy += s.landmarks[2 * i + 1]! / 68;
      }
      for (let j = 2; j <= 14; j++) {
        const [x, y] = pt(s.landmarks, j);
        const dx = cx - x, dy = cy - y, d = Math.hypot(dx, dy) * size;
        const step = 2 / d; // 2 px, normalised
        const inside = pixel(s, x + dx * step, y + dy * step);
        const ox = x - dx * step, oy = y - dy * step;
        if (ox < 0 || ox >= 1 || oy < 0 || oy >= 1) continue;
        const outside = pixel(s, ox, oy);
        expect(close(inside, PART_COLORS.skin, 0.02), `index ${index} jaw ${j} inside: ${inside}`).toBe(true);
        expect(close(outside, PART_COLORS.skin, 0.05), `index ${index} jaw ${j} outside: ${outside}`).toBe(false);
      }
    }
  });
});

describe('SynthFER expressions move the landmarks as the action units say', () => {
  /**
   * Each class's drawn AUs (difficulty 0) against the same face with every AU at rest, frontal, in
   * units of the inter-ocular distance (y down): the displacement the FACS description of the class
   * predicts, per sample.
   */
  const X = (l: Float32Array, k: number) => l[2 * k]!;
  const Y = (l: Float32Array, k: number) => l[2 * k + 1]!;
  function displacements(p: FaceParams) {
    const frontal = { ...p, pose: { ...p.pose, roll: 0, yaw: 0 } };
    const rest = { ...frontal, aus: Object.fromEntries(AU_NAMES.map((k) => [k, 0])) as ActionUnits, asymmetry: 0 };
    const e = renderFace(frontal, 64, 'parts').landmarks;
    const n = renderFace(rest, 64, 'parts').landmarks;
    const iod = X(n, 45) - X(n, 36);
    const f = (v: number) => v / iod;
    /** Mean height of the two eye openings (lids 37–41, 38–40, 43–47, 44–46). */
    const eyeOpening = (l: Float32Array) => (Y(l, 41) - Y(l, 37) + Y(l, 40) - Y(l, 38) + Y(l, 47) - Y(l, 43) + Y(l, 46) - Y(l, 44)) / 4;
    return {
      innerBrowDown: f((Y(e, 21) + Y(e, 22) - Y(n, 21) - Y(n, 22)) / 2),
      innerBrowsCloser: f(X(n, 22) - X(n, 21) - (X(e, 22) - X(e, 21))),
      midBrowUp: f((Y(n, 19) + Y(n, 24) - Y(e, 19) - Y(e, 24)) / 2),
      upperLipUp: f(Y(n, 51) - Y(e, 51)),
      noseToLipShorter: f(Y(n, 51) - Y(n, 33) - (Y(e, 51) - Y(e, 33))),
      nostrilWingsUp: f((Y(n, 31) + Y(n, 35) - Y(e, 31) - Y(e, 35)) / 2),
      noseShorter: f(Y(n, 30) - Y(n, 27) - (Y(e, 30) - Y(e, 27))),
      /** Eye opening as a fraction of the same face's at rest. */
      eyeOpening: eyeOpening(e) / eyeOpening(n),
      mouthWider: f(X(e, 54) - X(e, 48) - (X(n, 54) - X(n, 48))),
      cornersUp: f((Y(n, 48) + Y(n, 54) - Y(e, 48) - Y(e, 54)) / 2),
      chinDown: f(Y(e, 8) - Y(n, 8)),
      mouthOpens: f(Y(e, 66) - Y(e, 62) - (Y(n, 66) - Y(n, 62))),
    };
  }
  type D = ReturnType<typeof displacements>;
  const expected: Record<string, (d: D) => [string, boolean][]> = {
    surprise: (d) => [['brows raised', d.midBrowUp > 0.05], ['inner brows not drawn together', d.innerBrowsCloser < 0.03], ['jaw dropped', d.chinDown > 0.08], ['mouth open', d.mouthOpens > 0.12]],
    fear: (d) => [['brows raised', d.midBrowUp > 0.005 && d.innerBrowDown < -0.01], ['and drawn together', d.innerBrowsCloser > 0.04], ['corners stretched sideways', d.mouthWider > 0.08]],
    disgust: (d) => [
      ['upper lip raised', d.upperLipUp > 0.03], ['toward the nose', d.noseToLipShorter > 0.01], ['nostril wings pulled up', d.nostrilWingsUp > 0.08],
      ['nose shortened', d.noseShorter > 0.015], ['eyes squeezed to under half their opening', d.eyeOpening < 0.5], ['inner brows pulled down a little', d.innerBrowDown > 0.01],
      ['lips apart', d.mouthOpens > 0.015],
    ],
    happiness: (d) => [['corners up', d.cornersUp > 0.04], ['mouth wider', d.mouthWider > 0.05]],
    sadness: (d) => [['inner brows raised', d.innerBrowDown < -0.03], ['corners down', d.cornersUp < -0.03]],
    // What tells anger from disgust in the landmarks: open, glaring eyes and a nose at rest.
    anger: (d) => [['inner brows lowered', d.innerBrowDown > 0.08], ['and drawn together', d.innerBrowsCloser > 0.08], ['eyes not narrowed', d.eyeOpening > 0.7], ['nostril wings near rest', d.nostrilWingsUp < 0.06]],
  };

  it('anger lowers and draws the brows together over open eyes, disgust wrinkles the nose (wings up, nose shorter), squints and lifts the upper lip, fear raises and knits the brows and stretches the lips, surprise drops the jaw', () => {
    const seed = freshSeed('synthfer AU displacements');
    for (let index = 0; index < 6 * 7; index++) {
      const p = sampleFaceParams(index, { seed, split: 'test', difficulty: 0 });
      const name = EXPRESSION_NAMES[p.trueLabel]!;
      if (name === 'neutral') continue;
      const d = displacements(p);
      for (const [what, ok] of expected[name]!(d)) expect(ok, `index ${index} (${name}): ${what}; ${JSON.stringify(d, (_k, v) => (typeof v === 'number' ? +v.toFixed(3) : v))}`).toBe(true);
    }
  });

  it('neutral faces keep every AU near rest at difficulty 0', () => {
    const seed = freshSeed('synthfer neutral');
    for (let index = 6; index < 70; index += 7) {
      const p = sampleFaceParams(index, { seed, difficulty: 0 });
      for (const k of AU_NAMES) expect(Math.abs(p.aus[k]), `index ${index} ${k}`).toBeLessThan(0.3);
    }
  });

  it('asymmetry makes one side stronger: the image-right mouth corner rises more when asymmetry > 0', () => {
    const seed = freshSeed('synthfer asymmetry');
    const p = sampleFaceParams(3, { seed, difficulty: 0 }); // happiness
    const lift = (asymmetry: number): [number, number] => {
      const rest = renderFace({ ...p, aus: Object.fromEntries(AU_NAMES.map((k) => [k, 0])) as ActionUnits, asymmetry: 0, pose: { ...p.pose, roll: 0, yaw: 0 } }, 64, 'parts').landmarks;
      const e = renderFace({ ...p, asymmetry, pose: { ...p.pose, roll: 0, yaw: 0 } }, 64, 'parts').landmarks;
      return [Y(rest, 48) - Y(e, 48), Y(rest, 54) - Y(e, 54)];
    };
    const [left, right] = lift(0.4);
    expect(right).toBeGreaterThan(left * 1.5);
    const [left0, right0] = lift(0);
    expect(Math.abs(right0 - left0)).toBeLessThan(0.1 * Math.abs(right0));
  });
});

describe('SynthFER flip', () => {
  it('the permutation is an involution with the standard pairs', () => {
    for (let i = 0; i < 68; i++) expect(FLIP_PERMUTATION[FLIP_PERMUTATION[i]!]).toBe(i);
    const pairs: [number, number][] = [[0, 16], [8, 8], [17, 26], [21, 22], [27, 27], [30, 30], [31, 35], [33, 33], [36, 45], [39, 42], [37, 44], [41, 46], [48, 54], [51, 51], [57, 57], [60, 64], [62, 62], [66, 66], [67, 65]];
    for (const [a, b] of pairs) expect(FLIP_PERMUTATION[a], `${a}`).toBe(b);
    expect(() => flipLandmarks(new Float32Array(10))).toThrow(/flipLandmarks: expected 136 values/);
  });

  it('flipSample mirrors the image and the landmarks (36 ↔ 45 etc.) consistently', () => {
    const seed = freshSeed('synthfer flip');
    for (let index = 0; index < 7; index++) {
      const s = generateSample(index, { seed, size: 112, style: 'parts' });
      const f = flipSample(s);
      const n = s.size;
      for (let c = 0; c < 3; c++)
        for (let y = 0; y < n; y += 7)
          for (let x = 0; x < n; x++) expect(f.image[(c * n + y) * n + x]).toBe(s.image[(c * n + y) * n + n - 1 - x]);
      for (const [a, b] of [[36, 45], [39, 42], [48, 54], [0, 16], [17, 26], [31, 35], [8, 8], [62, 62]]) {
        expect(f.landmarks[2 * a]).toBeCloseTo(1 - s.landmarks[2 * b]!, 6);
        expect(f.landmarks[2 * a + 1]).toBe(s.landmarks[2 * b + 1]);
      }
      // The flipped face still has the 300-W layout and its landmarks sit on its features.
      expect(f.landmarks[2 * 36]!).toBeLessThan(f.landmarks[2 * 45]!);
      expect(f.landmarks[2 * 48]!).toBeLessThan(f.landmarks[2 * 54]!);
      for (const b of [20, 23]) {
        const brow = pixel(f, ...pt(f.landmarks, b));
        expect(brow[1] - brow[0]).toBeGreaterThan(0.6);
      }
      const back = flipSample(f);
      expect(back.image).toEqual(s.image);
      for (let i = 0; i < 136; i++) expect(back.landmarks[i]).toBeCloseTo(s.landmarks[i]!, 6);
      expect(back.pupils[0]).toBeCloseTo(s.pupils[0]!, 6);
    }
  });
});

describe('SynthFER splits, classes and labels', () => {
  it('train and test identities are disjoint; one identity looks the same across samples', () => {
    const seed = freshSeed('synthfer splits');
    const ids = (split: 'train' | 'val' | 'test') => new Set(Array.from({ length: 400 }, (_, i) => sampleFaceParams(i, { seed, split }).identityId));
    const train = ids('train'), val = ids('val'), test = ids('test');
    for (const id of test) expect(train.has(id) || val.has(id)).toBe(false);
    for (const id of val) expect(train.has(id)).toBe(false);
    expect(train.size).toBeGreaterThan(300); // many identities, not a handful
    // Few identities: repeated ids share identity parameters.
    const byId = new Map<number, string>();
    for (let i = 0; i < 50; i++) {
      const p = sampleFaceParams(i, { seed, identities: 5 });
      const key = JSON.stringify(p.identity);
      const prev = byId.get(p.identityId);
      if (prev) expect(key).toBe(prev);
      byId.set(p.identityId, key);
    }
    expect(byId.size).toBeGreaterThan(1);
  });

  it('classes are balanced: label = index mod 7 without label noise', () => {
    const seed = freshSeed('synthfer balance');
    const counts = new Array<number>(NUM_EXPRESSIONS).fill(0);
    for (let i = 0; i < 700; i++) {
      const p = sampleFaceParams(i, { seed });
      expect(p.label).toBe(i % 7);
      counts[p.label]!++;
    }
    expect(counts).toEqual(new Array(7).fill(100));
    const ds = new SynthFerDataset(14, { seed, size: 64 });
    expect(ds.get(9).label).toBe(2);
    expect(() => ds.get(14)).toThrow(/out of range/);
  });

  it('label noise replaces the configured fraction of labels by other classes', () => {
    const seed = freshSeed('synthfer label noise');
    const n = 7000;
    for (const rate of [0.1, 0.3]) {
      let flipped = 0;
      const to = new Array<number>(7).fill(0);
      for (let i = 0; i < n; i++) {
        const p = sampleFaceParams(i, { seed, labelNoise: rate });
        if (p.label !== p.trueLabel) {
          flipped++;
          to[(p.label - p.trueLabel + 7) % 7]!++;
        }
      }
      const sd = Math.sqrt((rate * (1 - rate)) / n);
      expect(Math.abs(flipped / n - rate)).toBeLessThan(5 * sd);
      expect(to[0]).toBe(0);
      for (let k = 1; k < 7; k++) expect(Math.abs(to[k]! / flipped - 1 / 6)).toBeLessThan(5 * Math.sqrt(5 / 36 / flipped));
    }
    expect(() => sampleFaceParams(0, { seed, labelNoise: 1.5 })).toThrow(/labelNoise/);
  });

  it('difficulty makes expressions more ambiguous (nearest-prototype accuracy on the AUs drops)', () => {
    const seed = freshSeed('synthfer difficulty');
    const accuracy = (difficulty: number): number => {
      let correct = 0;
      for (let i = 0; i < 1400; i++) {
        const p = sampleFaceParams(i, { seed, difficulty });
        let best = -1, bestD = Infinity;
        EXPRESSION_PROTOTYPES.forEach((proto, c) => {
          const d = AU_NAMES.reduce((acc, k) => acc + (p.aus[k] - proto[k]) ** 2, 0);
          if (d < bestD) [best, bestD] = [c, d];
        });
        if (best === p.trueLabel) correct++;
      }
      return correct / 1400;
    };
    const easy = accuracy(0), hard = accuracy(1);
    console.log(`nearest-prototype AU accuracy: easy ${easy.toFixed(3)}, hard ${hard.toFixed(3)}`);
    expect(easy).toBeGreaterThan(0.9);
    expect(hard).toBeLessThan(easy - 0.1);
    expect(hard).toBeGreaterThan(2 / 7);
  });

  it('rejects bad sizes and indices', () => {
    expect(() => generateSample(0, { seed: 1, size: 3 })).toThrow(/size must be an integer/);
    expect(() => generateSample(-1, { seed: 1 })).toThrow(/index must be a non-negative integer/);
  });
});

describe('PNG helpers', () => {
  it('round-trips a rendered face through PNG with 8-bit quantisation', async () => {
    const seed = freshSeed('synthfer png');
    const s: SynthFerSample = generateSample(4, { seed, size: 64 });
    const png = encodePngChw(s.image, 64, 64);
    expect([...png.slice(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    const back = await decodeImageChw(png);
    expect([back.width, back.height]).toEqual([64, 64]);
    for (let i = 0; i < s.image.length; i++) expect(Math.abs(back.image[i]! - s.image[i]!)).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
    expect(() => encodePngChw(s.image, 63, 64)).toThrow(/chwToRgba8/);
  });
});
