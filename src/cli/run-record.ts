/**
 * A run remembers its settings: `config.json` in the run directory holds the command, every resolved
 * option, the model config and the `lrdif eval` flags that reproduce its held-out evaluation.
 * `train --resume` restores the options from it (refusing conflicting flags); `eval --checkpoint`
 * takes its held-out settings from it; report.md quotes it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import type { LrdifConfig } from '../model/config.ts';
import type { RunStore } from '../train/store.ts';
import { given } from './options.ts';

export const RECORD_FILE = 'config.json';

export interface RunRecord {
  /** The lrdif version (package.json) that wrote it. */
  version: string;
  command: string;
  /** The command line after `lrdif`, as typed. */
  argv: string[];
  /** Every option of the command, defaults included, by flag name (without the leading --). */
  options: Record<string, unknown>;
  /** `lrdif eval` flags that reproduce the run's held-out evaluation (data, sizes, seed, difficulty, UDC). */
  heldOut?: Record<string, unknown>;
  /** Which model of a `lrdif run` directory this is (stage1, stage2, baseline). */
  part?: string;
  /** The model's full config. */
  model?: LrdifConfig;
}

export const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/** The flag name a commander option is recorded under: `udc-strength`, `flip` for --no-flip. */
function keyOf(attribute: string): string {
  return attribute.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
function attributeOf(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A value as it would be typed after its flag. */
function shown(key: string, v: unknown): string {
  if (v === true) return `--${key}`;
  if (v === false || v === null || v === undefined) return `no --${key}`;
  return `--${key} ${Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Every option of `cmd` except `exclude`, by flag name; unset ones as null so the record is complete. */
export function commandOptions(cmd: Command, exclude: readonly string[] = []): Record<string, unknown> {
  const o = cmd.opts();
  const out: Record<string, unknown> = {};
  for (const opt of cmd.options) {
    const key = keyOf(opt.attributeName());
    if (!exclude.includes(key)) out[key] = o[opt.attributeName()] ?? null;
  }
  return out;
}

/** The record in `dir`, or null when there is none; a damaged one is an error naming the file. */
export function readRecord(dir: string): RunRecord | null {
  const path = join(dir, RECORD_FILE);
  if (!existsSync(path)) return null;
  let r: RunRecord;
  try {
    r = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON (${(err as Error).message}): repair or remove it`);
  }
  if (typeof r !== 'object' || r === null || typeof r.command !== 'string' || typeof r.options !== 'object' || r.options === null) {
    throw new Error(`${path} is not a run record (expected {"command", "options", …} as lrdif writes it)`);
  }
  return r;
}

export async function writeRecord(store: RunStore, r: RunRecord): Promise<void> {
  await store.write(RECORD_FILE, `${JSON.stringify(r, null, 2)}\n`);
}

/**
 * `--resume`: every option of `cmd` (except `exclude`) takes the recorded value; a flag typed with a
 * different value is refused, all of them in one message. Options the record lacks keep their values.
 */
export function restoreOptions(cmd: Command, r: RunRecord, where: string, exclude: readonly string[]): void {
  const o = cmd.opts();
  const conflicts: string[] = [];
  for (const opt of cmd.options) {
    const attr = opt.attributeName();
    const key = keyOf(attr);
    if (exclude.includes(key) || !(key in r.options)) continue;
    const recorded = r.options[key];
    if (given(cmd, attr) && !same(o[attr], recorded)) conflicts.push(`  ${shown(key, o[attr])} (the run has ${shown(key, recorded)})`);
    else cmd.setOptionValueWithSource(attr, recorded ?? undefined, 'config');
  }
  if (conflicts.length > 0) {
    throw new Error(
      `--resume continues the run as it was started (${where}), but these flags differ from it:\n${conflicts.join('\n')}\n` +
        'drop them to continue the run, or start a new run (another --out, or --force to replace this one)',
    );
  }
}

/**
 * `eval`: the run's held-out settings become the defaults; flags typed with other values win, each
 * with a note. Returns the lines to print.
 */
export function applyHeldOut(cmd: Command, heldOut: Record<string, unknown>, where: string): string[] {
  const o = cmd.opts();
  const taken: string[] = [];
  const notes: string[] = [];
  for (const [key, v] of Object.entries(heldOut)) {
    const attr = attributeOf(key);
    if (!cmd.options.some((opt) => opt.attributeName() === attr)) continue;
    if (!given(cmd, attr)) {
      cmd.setOptionValueWithSource(attr, v ?? undefined, 'config');
      if (v !== null && v !== false) taken.push(shown(key, v));
    } else if (!same(o[attr], v)) notes.push(`eval: ${shown(key, o[attr])} overrides the run's ${shown(key, v)}: the held-out results are not the run's own`);
  }
  return [`eval: held-out settings of the run that wrote the checkpoint (${where}): ${taken.join(' ') || 'none taken (all given)'}`, ...notes];
}

/** The record of the run a checkpoint belongs to: config.json beside it. */
export function recordBeside(checkpoint: string): { record: RunRecord; where: string } | null {
  const dir = dirname(checkpoint);
  const record = readRecord(dir);
  return record ? { record, where: join(dir, RECORD_FILE) } : null;
}

/** This process's command line after `lrdif`. */
export const typedArgs = (): string[] => process.argv.slice(2);

/** A command line as a shell would take it back. */
export function commandLine(argv: readonly string[]): string {
  return ['lrdif', ...argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** report.md's closing section: the command line and the whole record. */
export function recordMarkdown(r: RunRecord): string {
  return ['## Command and configuration', '', '```sh', commandLine(r.argv), '```', '', `(${RECORD_FILE} in this directory:)`, '', '```json', JSON.stringify(r, null, 2), '```', ''].join('\n');
}

/** Appends a section to the store's report.md. */
export async function appendToReport(store: RunStore, text: string): Promise<void> {
  const bytes = await store.read('report.md');
  const report = bytes ? new TextDecoder().decode(bytes) : '';
  await store.write('report.md', `${report.replace(/\n*$/, '\n\n')}${text}`);
}
