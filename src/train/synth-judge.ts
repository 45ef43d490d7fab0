/**
 * A realism check for SynthFER: does a FER network trained on real photos (face-api's expression net,
 * zero-shot) recognise our rendered expressions? Generates one held-out split, judges it clean and
 * through each UDC panel, and renders the result as a Markdown report and a PNG grid of example faces
 * per class.
 */
import { CLASS_NAMES } from './data/dataset.ts';
import { encodePngChw } from './data/png.ts';
import { EXPRESSION_NAMES, NUM_EXPRESSIONS, SynthFerDataset, generateSample, type Split } from './data/synthfer.ts';
import { UDC_PANELS, type UdcPanel } from './data/udc.ts';
import { judgeDataset } from './expression-judge.ts';
import type { Metrics } from './metrics.ts';
import type { FaceExpressionNet } from '../model/landmarks/face-landmark-net.ts';

export interface SynthJudgeOptions {
  /** Faces to judge (index mod 7 is the class, so a multiple of 7 is balanced). */
  count: number;
  seed: number;
  /** SynthFER difficulty in [0, 1]. */
  difficulty: number;
  /** Image side (default 112, face-api's input size). */
  size?: number;
  /** Split to draw (default 'test': identities disjoint from training). */
  split?: Split;
  /** Conditions besides clean (default both panels, strength 1). */
  panels?: readonly UdcPanel[];
  /** Images per network call (default 32). */
  batch?: number;
}

export interface SynthJudgeCondition {
  /** 'clean' or a UDC panel. */
  name: 'clean' | UdcPanel;
  /** Recall per SynthFER class (EXPRESSION_NAMES order). */
  recall: number[];
  /** confusion[true][predicted], SynthFER classes × SynthFER classes. */
  confusion: number[][];
  accuracy: number;
}

export interface SynthJudgeResult {
  options: Required<Omit<SynthJudgeOptions, 'panels'>> & { panels: readonly UdcPanel[] };
  conditions: SynthJudgeCondition[];
}

function checkOptions(o: SynthJudgeOptions): void {
  if (!(Number.isInteger(o.count) && o.count >= 1)) throw new Error(`judgeSynthFer: count ${o.count} must be a positive integer`);
  if (!(o.difficulty >= 0 && o.difficulty <= 1)) throw new Error(`judgeSynthFer: difficulty ${o.difficulty} must be in [0, 1]`);
  if (!Number.isInteger(o.seed)) throw new Error(`judgeSynthFer: seed ${o.seed} must be an integer`);
  for (const p of o.panels ?? []) if (!UDC_PANELS.includes(p)) throw new Error(`judgeSynthFer: panel "${p}" is not one of ${UDC_PANELS.join(', ')}`);
}

/** SynthFER's class order is CLASS_NAMES' first seven; the judge's metrics use CLASS_NAMES. */
function synthCondition(name: SynthJudgeCondition['name'], m: Metrics): SynthJudgeCondition {
  for (let k = 0; k < NUM_EXPRESSIONS; k++) if (CLASS_NAMES[k] !== EXPRESSION_NAMES[k]) throw new Error(`judgeSynthFer: class ${k} is ${EXPRESSION_NAMES[k]} in SynthFER but ${CLASS_NAMES[k]} in CLASS_NAMES`);
  const confusion = m.confusion.slice(0, NUM_EXPRESSIONS).map((row) => row.slice(0, NUM_EXPRESSIONS));
  return { name, recall: m.perClassAccuracy.slice(0, NUM_EXPRESSIONS), confusion, accuracy: m.accuracy };
}

/**
 * Judges `count` SynthFER faces (split, seed, difficulty; no label noise) with face-api's expression
 * net, clean and through each panel in `panels` (same UDC seed as the set).
 */
export async function judgeSynthFer(net: FaceExpressionNet, options: SynthJudgeOptions): Promise<SynthJudgeResult> {
  checkOptions(options);
  const o = { size: 112, split: 'test' as Split, panels: UDC_PANELS, batch: 32, ...options };
  const ds = new SynthFerDataset(o.count, { seed: o.seed, size: o.size, split: o.split, difficulty: o.difficulty });
  const conditions: SynthJudgeCondition[] = [];
  for (const name of ['clean', ...o.panels] as const) {
    const udc = name === 'clean' ? null : { panel: name, strength: 1 };
    conditions.push(synthCondition(name, await judgeDataset(net, ds, { udc, seed: o.seed, batch: o.batch })));
  }
  return { options: o, conditions };
}

const pct = (v: number): string => (Number.isNaN(v) ? '–' : `${(100 * v).toFixed(0)} %`);

/** The result as Markdown: per-class recall per condition, then each condition's labelled confusion matrix. */
export function synthJudgeMarkdown(r: SynthJudgeResult): string {
  const o = r.options;
  const lines = [
    `# SynthFER through face-api's expression net (zero-shot)`,
    '',
    `${o.count} faces, split ${o.split}, seed ${o.seed}, difficulty ${o.difficulty}, ${o.size}×${o.size} px.`,
    '',
    `| class | ${r.conditions.map((c) => c.name).join(' | ')} |`,
    `|---|${r.conditions.map(() => '---:').join('|')}|`,
    ...EXPRESSION_NAMES.map((n, k) => `| ${n} | ${r.conditions.map((c) => pct(c.recall[k]!)).join(' | ')} |`),
    `| **overall** | ${r.conditions.map((c) => `**${pct(c.accuracy)}**`).join(' | ')} |`,
  ];
  for (const c of r.conditions) {
    lines.push('', `## Confusion, ${c.name} (rows: true class, columns: judged as)`, '');
    lines.push(`| true \\ judged | ${EXPRESSION_NAMES.join(' | ')} |`, `|---|${EXPRESSION_NAMES.map(() => '---:').join('|')}|`);
    c.confusion.forEach((row, k) => lines.push(`| ${EXPRESSION_NAMES[k]} | ${row.join(' | ')} |`));
  }
  return lines.join('\n') + '\n';
}

/**
 * A PNG of example faces: one row per class (EXPRESSION_NAMES order), `columns` faces each, clean,
 * with a `gap`-pixel white border. Faces are the split's first indices of each class.
 */
export function synthClassGridPng(opts: { seed: number; difficulty: number; columns: number; size?: number; split?: Split; gap?: number }): Uint8Array {
  const { seed, difficulty, columns } = opts;
  const size = opts.size ?? 112, split = opts.split ?? 'test', gap = opts.gap ?? 2;
  if (!(Number.isInteger(columns) && columns >= 1)) throw new Error(`synthClassGridPng: columns ${columns} must be a positive integer`);
  const W = columns * (size + gap) + gap, H = NUM_EXPRESSIONS * (size + gap) + gap;
  const grid = new Float32Array(3 * W * H).fill(1);
  for (let k = 0; k < NUM_EXPRESSIONS; k++) {
    for (let j = 0; j < columns; j++) {
      const img = generateSample(k + NUM_EXPRESSIONS * j, { seed, size, split, difficulty }).image;
      const x0 = gap + j * (size + gap), y0 = gap + k * (size + gap);
      for (let c = 0; c < 3; c++) for (let y = 0; y < size; y++) grid.set(img.subarray((c * size + y) * size, (c * size + y + 1) * size), (c * H + y0 + y) * W + x0);
    }
  }
  return encodePngChw(grid, W, H);
}
