/**
 * Image folders: `DIR/<class>/…` (split by a seeded stratified 80/20 split), or `DIR/train/<class>/…`
 * and `DIR/test/<class>/…` (split by folder). Class folders are canonical class names or common
 * synonyms, case-insensitive (happy, angry, sad, surprised, fearful, disgusted, …); images may be
 * nested deeper inside a class folder.
 */
import { existsSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CLASS_NAMES } from './dataset.ts';
import {
  classIndexOf,
  extensionOf,
  IMAGE_EXTENSIONS,
  stratifiedSplit,
  walkFiles,
  type BadItems,
  type ListedItem,
  type Listing,
  type ListOptions,
} from './source.ts';

/** The split sub-folder of `dir` ("train"/"test", any case), or null when `dir` has no split folders. */
function splitFolder(dir: string, split: 'train' | 'test'): string | null {
  const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();
  const names = split === 'train' ? ['train', 'Train', 'TRAIN'] : ['test', 'Test', 'TEST'];
  const train = ['train', 'Train', 'TRAIN'].some((n) => isDir(join(dir, n)));
  const test = ['test', 'Test', 'TEST'].some((n) => isDir(join(dir, n)));
  if (!train && !test) return null;
  return names.find((n) => isDir(join(dir, n))) ?? (split === 'train' ? 'train' : 'test');
}

export async function listImageFolder(root: string, opts: ListOptions, bad: BadItems): Promise<Listing> {
  const sub = splitFolder(root, opts.split);
  const base = sub === null ? root : join(root, sub);
  if (!existsSync(base)) return bad.fatal({ file: sub ?? '.', reason: `folder not found (the dataset has split folders, but none for ${opts.split})` });
  // The class set is decided over both splits, so train and test agree on numClasses.
  const classRoots = sub === null ? [root] : ['train', 'test'].map((s) => splitFolder(root, s as 'train' | 'test')!).filter((s) => existsSync(join(root, s))).map((s) => join(root, s));
  let hasContempt = false;
  for (const r of classRoots) for (const f of await walkFiles(r)) if (classIndexOf(f.split('/')[0]!) === 7) hasContempt = true;

  const files = await walkFiles(base);
  const prefix = sub === null ? '' : `${sub}/`;
  const all: ListedItem[] = [];
  const badFolders = new Set<string>();
  let ignored = 0;
  for (const rel of files) {
    const parts = rel.split('/');
    if (parts.length < 2 || !IMAGE_EXTENSIONS.has(extensionOf(rel))) {
      ignored++;
      continue;
    }
    const folder = parts[0]!;
    const label = classIndexOf(folder);
    if (label < 0) {
      if (!badFolders.has(folder)) {
        badFolders.add(folder);
        bad.report({ file: `${prefix}${folder}`, reason: `folder name ${JSON.stringify(folder)} is not a class (${CLASS_NAMES.join(', ')} or a synonym)` });
      }
      continue;
    }
    const path = join(base, rel);
    const st = await stat(path);
    all.push({ file: `${prefix}${rel}`, label, source: { path }, stamp: `${st.mtimeMs}:${st.size}` });
  }
  const items = sub === null ? stratifiedSplit(all, opts.split, opts.seed) : all;
  return {
    items,
    numClasses: hasContempt ? 8 : 7,
    notes: [
      (sub === null
        ? `${all.length} images in class folders, ${items.length} in ${opts.split} (seeded stratified 80/20 split, seed ${opts.seed})`
        : `${items.length} images in ${sub}/`) + (ignored ? `; ignored ${ignored} non-image files or files outside class folders` : ''),
    ],
    keyParts: sub === null ? [`seed=${opts.seed}`] : [],
  };
}
