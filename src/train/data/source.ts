/**
 * Shared pieces of the real-dataset loaders: what a format lister returns, the error type, and the
 * collector that either throws on a bad item or records it (skipBad), so nothing is dropped silently.
 */
import { readdir } from 'node:fs/promises';
import { Rng } from '../../model/init.ts';
import { CLASS_NAMES } from './dataset.ts';

/** One bad input item: `file` is relative to the dataset directory; `line` is 1-based. */
export interface SkippedItem {
  file: string;
  line?: number;
  reason: string;
}

/** Thrown for bad input; the message reads `<format> <dir>: <file>:<line>: <reason>`. */
export class DatasetError extends Error {
  constructor(
    readonly format: string,
    readonly dir: string,
    readonly item: SkippedItem,
  ) {
    super(`${format} ${dir}: ${formatItem(item)}`);
    this.name = 'DatasetError';
  }
}

export function formatItem(item: SkippedItem): string {
  return `${item.file}${item.line !== undefined ? `:${item.line}` : ''}: ${item.reason}`;
}

/**
 * Where an item's pixels come from: an encoded image file, or 8-bit grey values as space-separated
 * text (a FERPlus CSV field; parsed at decode time, so a cached load skips it).
 */
export type ItemSource = { path: string } | { greyText: string; width: number; height: number };

/** One image the lister found for the requested split, before decoding. */
export interface ListedItem {
  /** Relative to the dataset directory (for messages and the cache key). */
  file: string;
  /** The line of `file` that holds the item (CSV sources). */
  line?: number;
  /** Where another file lists it (RAF-DB: `EmoLabel/list_patition_label.txt:17`), for messages. */
  listedAt?: string;
  /** What the dataset's `files` list shows for it; defaults to `file` (FERPlus: the image name). */
  name?: string;
  /** Canonical class index (CLASS_NAMES order). */
  label: number;
  source: ItemSource;
  /** Changes whenever the pixels may have changed (mtime and size of the file); part of the cache key. */
  stamp: string;
}

export interface Listing {
  items: ListedItem[];
  numClasses: number;
  /** Extra lines for the summary (rows dropped by the format's own rules, ignored files, split details). */
  notes: string[];
  /** Per-format settings that change which items are listed or their pixels; part of the cache key. */
  keyParts: string[];
}

export interface ListOptions {
  split: 'train' | 'test';
  seed: number;
  ferplusTest: 'public' | 'private' | 'both';
}

/** Throws on the first bad item, or records it when `skipBad` is set. */
export class BadItems {
  readonly skipped: SkippedItem[] = [];
  constructor(
    readonly format: string,
    readonly dir: string,
    readonly skipBad: boolean,
  ) {}
  report(item: SkippedItem): void {
    if (!this.skipBad) throw new DatasetError(this.format, this.dir, item);
    this.skipped.push(item);
  }
  /** A problem that makes the whole source unusable (missing label file, header mismatch): never skippable. */
  fatal(item: SkippedItem): never {
    throw new DatasetError(this.format, this.dir, item);
  }
}

/** Class-name synonyms accepted for folder names (lower case) → canonical index. */
const CLASS_SYNONYMS: Record<string, number> = {
  surprise: 0, surprised: 0, suprise: 0,
  fear: 1, fearful: 1, afraid: 1, scared: 1,
  disgust: 2, disgusted: 2,
  happiness: 3, happy: 3, joy: 3,
  sadness: 4, sad: 4,
  anger: 5, angry: 5,
  neutral: 6, neutrality: 6, calm: 6,
  contempt: 7, contemptuous: 7,
};

/** Canonical class index for a (case-insensitive) class name or common synonym; -1 if unknown. */
export function classIndexOf(name: string): number {
  return CLASS_SYNONYMS[name.trim().toLowerCase()] ?? -1;
}

/**
 * Seeded stratified split: within each class the items (already in a stable order) are shuffled and
 * the first round(trainFraction·n) go to train. Returns the items of the requested split, in the
 * original order.
 */
export function stratifiedSplit<T extends { label: number }>(items: T[], split: 'train' | 'test', seed: number, trainFraction = 0.8): T[] {
  const byClass = new Map<number, number[]>();
  items.forEach((it, i) => {
    const list = byClass.get(it.label) ?? [];
    list.push(i);
    byClass.set(it.label, list);
  });
  const inTrain = new Uint8Array(items.length);
  for (const [label, idx] of [...byClass].sort((a, b) => a[0] - b[0])) {
    const rng = new Rng((seed ^ Math.imul(label + 1, 0x9e3779b1)) >>> 0);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [idx[i], idx[j]] = [idx[j]!, idx[i]!];
    }
    const nTrain = Math.round(trainFraction * idx.length);
    for (let k = 0; k < nTrain; k++) inTrain[idx[k]!] = 1;
  }
  return items.filter((_, i) => (inTrain[i] === 1) === (split === 'train'));
}

export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.tif', '.tiff']);

export function className(label: number): string {
  return CLASS_NAMES[label] ?? `class${label}`;
}

/** Every file under `dir`, as sorted '/'-separated paths relative to `dir` (hidden entries skipped). */
export async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (rel: string): Promise<void> => {
    const entries = await readdir(rel ? `${dir}/${rel}` : dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await visit('');
  return out.sort();
}

export function extensionOf(file: string): string {
  const m = /\.[^./]+$/.exec(file);
  return m ? m[0].toLowerCase() : '';
}
