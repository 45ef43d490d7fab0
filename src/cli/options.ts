/**
 * The `lrdif` flags shared by several commands and their parsers: every numeric flag is parsed and
 * range-checked when the command line is read, so a bad value stops the command before any work,
 * with commander's "option '--lr <x>' argument 'abc' is invalid." followed by the accepted range.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PRESET_NAMES } from '../model/config.ts';

/** An accepted interval; open ends exclude the bound. */
export interface Range {
  integer?: boolean;
  min?: number;
  max?: number;
  minOpen?: boolean;
  maxOpen?: boolean;
}

export const COUNT: Range = { integer: true, min: 1 };
export const NON_NEGATIVE_INT: Range = { integer: true, min: 0 };
/** Seeds reach the generators as 32-bit words. */
export const SEED: Range = { integer: true, min: 0, max: 2 ** 32 - 1 };
export const UNIT: Range = { min: 0, max: 1 };
export const LEARNING_RATE: Range = { min: 0, minOpen: true, max: 1 };
export const POSITIVE: Range = { min: 0, minOpen: true };
export const NON_NEGATIVE: Range = { min: 0 };

/** "an integer ≥ 1", "a number in (0, 1]" … */
export function describeRange(r: Range): string {
  const what = r.integer ? 'an integer' : 'a number';
  if (r.min !== undefined && r.max !== undefined) return `${what} in ${r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.maxOpen ? ')' : ']'}`;
  if (r.min !== undefined) return `${what} ${r.minOpen ? '>' : '≥'} ${r.min}`;
  if (r.max !== undefined) return `${what} ${r.maxOpen ? '<' : '≤'} ${r.max}`;
  return what;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** The number `text` spells if it is a decimal in the range, else null (words, hex, '', 1.5 for an integer). */
function numberIn(text: string, r: Range): number | null {
  const v = DECIMAL.test(text.trim()) ? Number(text) : NaN;
  const ok =
    Number.isFinite(v) &&
    (!r.integer || Number.isSafeInteger(v)) &&
    (r.min === undefined || (r.minOpen ? v > r.min : v >= r.min)) &&
    (r.max === undefined || (r.maxOpen ? v < r.max : v <= r.max));
  return ok ? v : null;
}

/** Parses a decimal number in a range; anything else throws naming the range. */
export function parseNumber(text: string, r: Range): number {
  const v = numberIn(text, r);
  if (v === null) throw new InvalidArgumentError(`Expected ${describeRange(r)}.`);
  return v;
}

/** A commander argParser for a range. */
export const inRange = (r: Range) => (text: string) => parseNumber(text, r);

/** A numeric flag; `def` null = off by default (shown as `shownAs`). */
export function numberOption(flags: string, description: string, range: Range, def?: number | null, shownAs?: string): Option {
  const o = new Option(flags, `${description} (${describeRange(range)})`).argParser(inRange(range));
  return def === undefined ? o : o.default(def, shownAs);
}

/** A comma-separated list of numbers in a range ("1,4"); `distinct` refuses repeats. */
export function listOption(flags: string, description: string, range: Range, def: number[], opts: { distinct?: boolean } = {}): Option {
  const parse = (text: string) => {
    const xs = text.split(',').map((t) => numberIn(t, range));
    if (xs.some((v) => v === null) || (opts.distinct && new Set(xs).size !== xs.length)) {
      throw new InvalidArgumentError(`Expected comma-separated values${opts.distinct ? ', all different,' : ''} each ${describeRange(range)}, e.g. ${def.join(',')}.`);
    }
    return xs as number[];
  };
  return new Option(flags, description).argParser(parse).default(def, def.join(','));
}

/** The file name a parsed --config object was read from (for messages about its contents). */
export const configFileOf = new WeakMap<object, string>();

/** --config FILE → the JSON object it holds; a missing file or bad JSON names the file. */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(`Cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${path} is not valid JSON (${(err as Error).message}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(`${path} must hold a JSON object of model-config fields, e.g. {"diffusion": {"steps": 8}}.`);
  }
  configFileOf.set(value, path);
  return value as Record<string, unknown>;
}

const REAL_DATA = ['rafdb', 'ferplus', 'kdef', 'folder'];
const DATA_FORMS = 'synth (sized by --train/--test), synth:TRAIN:TEST, rafdb:DIR, ferplus:DIR, kdef:DIR or folder:DIR';

/** --data: synth, synth:N[:M], or KIND:DIR of an existing directory. */
export function parseDataSpec(text: string): string {
  if (text === 'synth') return text;
  if (text.startsWith('synth:')) {
    const parts = text.slice(6).split(':');
    if (parts.length > 2 || !parts.every((p) => /^\d+$/.test(p) && Number(p) >= 1)) throw new InvalidArgumentError(`Expected synth:TRAIN:TEST with counts ≥ 1 (or synth with --train N --test N).`);
    return text;
  }
  const i = text.indexOf(':');
  const kind = i < 0 ? text : text.slice(0, i);
  const dir = i < 0 ? '' : text.slice(i + 1);
  if (!REAL_DATA.includes(kind) || dir.length === 0) throw new InvalidArgumentError(`Expected ${DATA_FORMS}.`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InvalidArgumentError(`${dir} is not a directory.`);
  return text;
}

export const DEFAULT_DIFFICULTY = 0.3;
/** SynthFER sizes of `lrdif run`: minutes on a CPU. */
export const DEFAULT_SYNTH = { train: 490, test: 210 };
export const SCALE_UP_HINT = 'the paper-scale SynthFER is --train 2800 --test 700';

export const presetOption = () => new Option('--preset <name>', 'model preset').choices(PRESET_NAMES).default('tiny');
export const dataOption = () => new Option('--data <spec>', `the data: ${DATA_FORMS}`).argParser(parseDataSpec).default('synth');
export const trainCountOption = () => numberOption('--train <n>', 'SynthFER: training images', COUNT, DEFAULT_SYNTH.train);
export const testCountOption = () => numberOption('--test <n>', 'SynthFER: held-out images (disjoint identities)', COUNT, DEFAULT_SYNTH.test);
export const difficultyOption = () => numberOption('--difficulty <d>', 'SynthFER difficulty, 0 (clear) … 1 (subtle)', UNIT, DEFAULT_DIFFICULTY);
export const seedOption = (description = 'seed', def = 0) => numberOption('--seed <n>', description, SEED, def);
export const batchOption = (def: number) => numberOption('--batch <n>', 'batch size', COUNT, def);
export const lrOption = (def: number) => numberOption('--lr <x>', 'learning rate', LEARNING_RATE, def);
export const udcStrengthOption = (flags = '--udc-strength <s>') => numberOption(flags, 'UDC degradation strength', UNIT, 1);
export const udcDrawsOption = () => numberOption('--udc-draws <k>', 'fixed UDC draws per training image, their frozen features cached', COUNT, 1);

/** Where a value came from: typed (or from the environment) counts as given; defaults and restored values do not. */
export function given(cmd: Command, key: string): boolean {
  const s = cmd.getOptionValueSource(key);
  return s === 'cli' || s === 'env';
}

export interface ResolvedData {
  /** What openData reads: synth:TRAIN:TEST, or the real dataset's spec. */
  spec: string;
  synth: { train: number; test: number } | null;
}

/**
 * --data with --train/--test: synth:N:M keeps working (flags that contradict it are refused); a real
 * dataset has its own split, so SynthFER's --train/--test/--difficulty given with it are refused
 * rather than ignored.
 */
export function resolveData(cmd: Command): ResolvedData {
  const o = cmd.opts();
  const spec = String(o.data);
  if (spec === 'synth' || spec.startsWith('synth:')) {
    const [tr, te] = spec.split(':').slice(1).map(Number);
    const sizes = { train: tr ?? Number(o.train), test: te ?? Number(o.test) };
    for (const [key, v] of [['train', tr], ['test', te]] as const) {
      if (v !== undefined && given(cmd, key) && Number(o[key]) !== v) throw new Error(`--data ${spec} and --${key} ${o[key]} give different sizes: use one of them`);
    }
    return { spec: `synth:${sizes.train}:${sizes.test}`, synth: sizes };
  }
  for (const key of ['train', 'test', 'difficulty']) {
    if (given(cmd, key)) throw new Error(`--${key} applies to SynthFER; --data ${spec} uses the dataset's own images and split`);
  }
  return { spec, synth: null };
}

/** An epoch of 0 steps trains nothing (the last partial batch is dropped): refuse it before any work. */
export function checkBatchFits(batch: number, trainImages: number, where: string): void {
  if (batch > trainImages) throw new Error(`--batch ${batch} is larger than the ${trainImages} training images of ${where}: an epoch would have 0 steps; use --batch ≤ ${trainImages} or more training images`);
}
