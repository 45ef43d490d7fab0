/**
 * Real-dataset loaders: `loadDataset('rafdb:DIR' | 'ferplus:DIR' | 'kdef:DIR' | 'folder:DIR', …)`
 * lists the items of one split (format modules), decodes and resizes them (images.ts) or takes them
 * from the cache, and returns an in-memory dataset with a report (counts per class, rows dropped by
 * the format's rules, bad items skipped).
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { CLASS_NAMES } from './dataset.ts';
import { listFerplus } from './ferplus.ts';
import { listImageFolder } from './image-folder.ts';
import { cacheKey, cachePath, decodeImageFile, PackedImageDataset, parseGreyText, readCache, resizeGrey, writeCache, type CacheHeader } from './images.ts';
import { listKdef } from './kdef.ts';
import { listRafdb, rafdbRoot } from './rafdb.ts';
import { BadItems, DatasetError, formatItem, type ListedItem, type Listing, type ListOptions, type SkippedItem } from './source.ts';

export { DatasetError, type SkippedItem } from './source.ts';
export { PackedImageDataset } from './images.ts';

export const DATASET_FORMATS = ['rafdb', 'ferplus', 'kdef', 'folder'] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

export interface LoadOptions {
  /** Output side length (images are resized to imageSize×imageSize, bilinear). */
  imageSize: number;
  split: 'train' | 'test';
  /** Seed of the stratified 80/20 split (KDEF, and image folders without train/test folders). Default 0. */
  seed?: number;
  /** Skip bad items (listing them in `skipped`) instead of throwing on the first one. */
  skipBad?: boolean;
  /** Directory for the decoded-image cache; no caching when unset. */
  cacheDir?: string;
  onProgress?: (done: number, total: number) => void;
  /** Centre square crop of side `centerCrop × min(w, h)` before resizing, in (0, 1]; default: whole image, stretched. */
  centerCrop?: number;
  /** FERPlus test rows: PublicTest (default), PrivateTest, or both. */
  ferplusTest?: 'public' | 'private' | 'both';
  /** Images decoded at once (default 4). */
  concurrency?: number;
}

const LISTERS: Record<DatasetFormat, (root: string, opts: ListOptions, bad: BadItems) => Promise<Listing>> = {
  rafdb: listRafdb,
  ferplus: listFerplus,
  kdef: listKdef,
  folder: listImageFolder,
};

/** Splits `format:DIR`; throws for an unknown format. */
export function parseDatasetSpec(spec: string): { format: DatasetFormat; dir: string } {
  const m = /^([A-Za-z]+):(.+)$/.exec(spec);
  const format = m?.[1]!.toLowerCase();
  if (!m || !(DATASET_FORMATS as readonly string[]).includes(format!)) {
    const hint = format === 'synth' ? ' (the synthetic dataset is built by the synth generator, not loaded from files)' : '';
    throw new Error(`unknown dataset spec ${JSON.stringify(spec)}${hint}: expected ${DATASET_FORMATS.map((f) => `${f}:DIR`).join(', ')}`);
  }
  return { format: format as DatasetFormat, dir: m[2]! };
}

/** Loads one split of a real dataset into memory (see LoadOptions); bad input throws a DatasetError naming the file and line. */
export async function loadDataset(spec: string, opts: LoadOptions): Promise<PackedImageDataset> {
  const { format, dir } = parseDatasetSpec(spec);
  const size = opts.imageSize;
  if (!Number.isInteger(size) || size < 1) throw new Error(`loadDataset ${spec}: imageSize must be a positive integer, got ${size}`);
  if (opts.split !== 'train' && opts.split !== 'test') throw new Error(`loadDataset ${spec}: split must be 'train' or 'test', got ${JSON.stringify(opts.split)}`);
  if (opts.centerCrop !== undefined && !(opts.centerCrop > 0 && opts.centerCrop <= 1)) {
    throw new Error(`loadDataset ${spec}: centerCrop must be in (0, 1], got ${opts.centerCrop}`);
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`loadDataset ${spec}: ${dir} is not a directory`);
  const root = format === 'rafdb' ? rafdbRoot(dir) : dir;
  const listOpts: ListOptions = { split: opts.split, seed: opts.seed ?? 0, ferplusTest: opts.ferplusTest ?? 'public' };
  const bad = new BadItems(format, dir, opts.skipBad ?? false);
  const listing = await LISTERS[format](root, listOpts, bad);
  if (listing.items.length === 0) {
    bad.fatal({ file: '.', reason: `the ${opts.split} split has no images` + (bad.skipped.length ? ` (${bad.skipped.length} bad items skipped)` : '') });
  }
  const name = `${format}:${dir} (${opts.split})`;
  const per = 3 * size * size;
  const key = cacheKey([
    format,
    resolve(root),
    opts.split,
    `size=${size}`,
    `crop=${opts.centerCrop ?? 'none'}`,
    ...listing.keyParts,
    ...listing.items.map((it) => `${it.name ?? ''}|${it.file}|${it.line ?? ''}|${it.listedAt ?? ''}|${it.label}|${it.stamp}`),
  ]);
  const cacheFile = opts.cacheDir ? cachePath(opts.cacheDir, `${format}-${opts.split}-${size}`, key) : null;

  const cached = cacheFile ? await readCache(cacheFile, key) : null;
  let pixels: Uint8Array;
  let kept: ListedItem[];
  let decodeFailures: SkippedItem[];
  let decoded = 0;
  if (cached) {
    for (const f of cached.header.decodeFailures) bad.report(f);
    decodeFailures = cached.header.decodeFailures;
    const failed = new Set(decodeFailures.map((f) => `${f.file}|${f.line ?? ''}`));
    kept = listing.items.filter((it) => !failed.has(`${it.file}|${it.line ?? ''}`));
    pixels = cached.pixels;
    opts.onProgress?.(listing.items.length, listing.items.length);
  } else {
    const results = await decodeAll(listing.items, { size, centerCrop: opts.centerCrop }, opts.concurrency ?? 4, !bad.skipBad, opts.onProgress);
    decodeFailures = [];
    kept = [];
    for (let i = 0; i < listing.items.length; i++) {
      const r = results[i];
      if (r === undefined) continue; // not started: a strict load stopped at an earlier failure
      if (typeof r === 'string') {
        const it = listing.items[i]!;
        const failure: SkippedItem = { file: it.file, ...(it.line !== undefined ? { line: it.line } : {}), reason: r };
        bad.report(failure); // throws unless skipBad
        decodeFailures.push(failure);
      } else {
        decoded++;
        kept.push(listing.items[i]!);
      }
    }
    if (kept.length === 0) bad.fatal({ file: '.', reason: `the ${opts.split} split has no images (all ${listing.items.length} failed to decode)` });
    pixels = new Uint8Array(kept.length * per);
    let k = 0;
    for (const r of results) if (r instanceof Uint8Array) pixels.set(r, per * k++);
    if (cacheFile) {
      const header: CacheHeader = { key, imageSize: size, labels: kept.map((it) => it.label), files: kept.map(itemName), decodeFailures };
      await writeCache(cacheFile, header, pixels);
    }
  }

  const labels = Int32Array.from(kept.map((it) => it.label));
  const counts = new Array<number>(listing.numClasses).fill(0);
  for (const l of labels) counts[l]!++;
  const lines = [
    `${name}: ${kept.length} images — ` + counts.map((n, c) => `${CLASS_NAMES[c]} ${n}`).join(', '),
    ...listing.notes.map((n) => `  ${n}`),
  ];
  if (bad.skipped.length) lines.push(`  skipped ${bad.skipped.length} bad items:`, ...bad.skipped.map((s) => `    ${formatItem(s)}`));
  lines.push(cached ? `  loaded from cache ${cacheFile}` : `  decoded ${decoded} images` + (cacheFile ? `, cached in ${cacheFile}` : ''));
  return new PackedImageDataset(name, size, listing.numClasses, pixels, labels, {
    summary: lines.join('\n'),
    skipped: bad.skipped,
    files: kept.map(itemName),
    decoded,
    fromCache: cached !== null,
    key,
  });
}

function itemName(it: ListedItem): string {
  return it.name ?? it.file;
}

/**
 * Decodes every item with `concurrency` in flight. Each result is CHW bytes, or an error message.
 * With `stopOnError`, no new item starts after a failure (the caller reports the first in order).
 */
async function decodeAll(
  items: ListedItem[],
  resize: { size: number; centerCrop?: number },
  concurrency: number,
  stopOnError: boolean,
  onProgress?: (done: number, total: number) => void,
): Promise<(Uint8Array | string | undefined)[]> {
  const results: (Uint8Array | string | undefined)[] = new Array(items.length);
  let next = 0;
  let done = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !(stopOnError && failed)) {
      const i = next++;
      const src = items[i]!.source;
      try {
        if ('path' in src) {
          const bytes = await readFileOrThrow(src.path);
          results[i] = await decodeImageFile(bytes, resize).catch((err: Error) => {
            const listed = items[i]!.listedAt ? ` (listed at ${items[i]!.listedAt})` : '';
            throw new Error(`cannot decode image${listed}: ${err.message}`);
          });
        } else results[i] = await resizeGrey(parseGreyText(src.greyText, src.width, src.height), src.width, src.height, resize);
      } catch (err) {
        results[i] = (err as Error).message.split('\n')[0]!;
        failed = true;
      }
      onProgress?.(++done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

async function readFileOrThrow(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new Error(`cannot read image: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
