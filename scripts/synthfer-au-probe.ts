/**
 * Which action units make face-api's expression net (zero-shot) read a SynthFER face as its class?
 * Renders the first N faces of one class (test split), then the same faces with AUs (or the
 * asymmetry) overridden, and prints per variant the mean probability of every class / how many faces
 * the net judged as it. How disgust's prototype was chosen (src/train/data/synthfer/expressions.ts).
 *
 *   bun scripts/synthfer-au-probe.ts [--class disgust] [--n 21] [--difficulty 0] [--seed 1]
 *       [--set 'noseWrinkle=0' --set 'browLower=+0.3,asym=0' ...] [--png OUT.png]
 *
 * A value sets the AU; '+x' or '-x' adds to the drawn one. --png writes the first 8 faces of every
 * variant, one row each (the drawn faces first).
 */
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.ts';
import { loadFaceExpressionNet } from '../src/model/landmarks/face-api-files.ts';
import { FACE_LANDMARK_INPUT, prepareCrop } from '../src/model/landmarks/face-landmark-net.ts';
import { expressionProbabilitiesInOurOrder } from '../src/train/expression-judge.ts';
import { noGradRead } from '../src/train/readback.ts';
import { encodePngChw } from '../src/train/data/png.ts';
import { AU_NAMES, EXPRESSION_NAMES, NUM_EXPRESSIONS, renderFace, sampleFaceParams, type ActionUnits } from '../src/train/data/synthfer.ts';

const argv = process.argv.slice(2);
const flag = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : def;
};
const cls = EXPRESSION_NAMES.indexOf(flag('class', 'disgust') as (typeof EXPRESSION_NAMES)[number]);
if (cls < 0) throw new Error(`synthfer-au-probe: --class must be one of ${EXPRESSION_NAMES.join(', ')}`);
const n = Number(flag('n', '21'));
const difficulty = Number(flag('difficulty', '0'));
const seed = Number(flag('seed', '1'));
const pngOut = flag('png', '');
const variants: string[] = ['', ...argv.flatMap((a, i) => (argv[i - 1] === '--set' ? [a] : []))];

/** 'noseWrinkle=0.5,asym=0.3' → the AUs and asymmetry with those set ('+x' / '-x': added). */
function apply(spec: string, aus: ActionUnits, asym: number): { aus: ActionUnits; asym: number } {
  const out = { ...aus };
  for (const part of spec.split(',').filter(Boolean)) {
    const [k, v] = part.split('=') as [string, string | undefined];
    if (v === undefined || Number.isNaN(Number(v))) throw new Error(`synthfer-au-probe: "${part}" is not NAME=NUMBER`);
    const add = v.startsWith('+') || v.startsWith('-');
    if (k === 'asym') asym = add ? asym + Number(v) : Number(v);
    else {
      if (!(AU_NAMES as readonly string[]).includes(k)) throw new Error(`synthfer-au-probe: unknown AU "${k}" (one of ${AU_NAMES.join(', ')}, or asym)`);
      const name = k as keyof ActionUnits;
      out[name] = add ? out[name] + Number(v) : Number(v);
    }
  }
  return { aus: out, asym };
}

const e = await Engine.create({ log: false });
const net = loadFaceExpressionNet(e);
const S = 112, N = FACE_LANDMARK_INPUT, cols = 8;
const sheetW = cols * S, sheetH = variants.length * S;
const sheet = new Float32Array(3 * sheetW * sheetH);
for (const [row, spec] of variants.entries()) {
  const input = new Float32Array(n * 3 * N * N);
  for (let j = 0; j < n; j++) {
    const p = sampleFaceParams(cls + NUM_EXPRESSIONS * j, { seed, split: 'test', difficulty });
    const v = apply(spec, p.aus, p.asymmetry);
    const img = renderFace({ ...p, aus: v.aus, asymmetry: v.asym }, S).image;
    if (j < cols) for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) sheet.set(img.subarray((c * S + y) * S, (c * S + y + 1) * S), (c * sheetH + row * S + y) * sheetW + j * S);
    input.set(prepareCrop({ width: S, height: S, image: img }).input, j * 3 * N * N);
  }
  const probs = expressionProbabilitiesInOurOrder(await noGradRead(e, () => net.probabilities(e.tensor(input, [n, 3, N, N]))));
  const mean = new Array<number>(NUM_EXPRESSIONS).fill(0), won = new Array<number>(NUM_EXPRESSIONS).fill(0);
  for (let j = 0; j < n; j++) {
    const p = probs.subarray(j * NUM_EXPRESSIONS, (j + 1) * NUM_EXPRESSIONS);
    p.forEach((v, k) => (mean[k]! += v / n));
    won[p.indexOf(Math.max(...p))]!++;
  }
  const cells = EXPRESSION_NAMES.map((name, k) => `${name.slice(0, 4)} ${(100 * mean[k]!).toFixed(0).padStart(2)}/${String(won[k]).padStart(2)}`);
  console.log(`${(spec || '(as drawn)').padEnd(40)} ${cells.join('  ')}`);
}
if (pngOut) writeFileSync(pngOut, encodePngChw(sheet, sheetW, sheetH));
process.exit(0);
