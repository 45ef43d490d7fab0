/**
 * RAF-DB basic (reference §10.1): `EmoLabel/list_patition_label.txt` rows `train_00001.jpg 5`,
 * aligned images `Image/aligned/train_00001_aligned.jpg`, labels 1..7 in RAF order (= canonical
 * order, so label − 1), split by the `train_` / `test_` name prefix.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BadItems, ListedItem, Listing, ListOptions } from './source.ts';

const LABEL_FILES = ['EmoLabel/list_patition_label.txt', 'EmoLabel/list_partition_label.txt'];

/** Accepts the `basic` folder itself or a folder that contains `basic/`. */
export function rafdbRoot(dir: string): string {
  if (!existsSync(join(dir, 'EmoLabel')) && existsSync(join(dir, 'basic', 'EmoLabel'))) return join(dir, 'basic');
  return dir;
}

export async function listRafdb(root: string, opts: ListOptions, bad: BadItems): Promise<Listing> {
  const labelFile = LABEL_FILES.find((f) => existsSync(join(root, f)));
  if (!labelFile) return bad.fatal({ file: LABEL_FILES[0]!, reason: 'label file not found' });
  const text = await readFile(join(root, labelFile), 'utf8');
  const lines = text.split(/\r?\n/);
  const items: ListedItem[] = [];
  const seen = new Map<string, number>();
  let otherSplit = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const where = { file: labelFile, line: i + 1 };
    const fields = line.split(/\s+/);
    if (fields.length !== 2) {
      bad.report({ ...where, reason: `expected "<image name> <label>", got ${JSON.stringify(line)}` });
      continue;
    }
    const [name, labelText] = fields as [string, string];
    const m = /^(train|test)_\d+\.jpg$/.exec(name);
    if (!m) {
      bad.report({ ...where, reason: `image name ${JSON.stringify(name)} is not train_<n>.jpg or test_<n>.jpg` });
      continue;
    }
    const label = /^\d+$/.test(labelText) ? Number(labelText) : NaN;
    if (!(label >= 1 && label <= 7)) {
      bad.report({ ...where, reason: `label ${labelText} is not in 1..7` });
      continue;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      bad.report({ ...where, reason: `${name} is listed again (first on line ${first})` });
      continue;
    }
    seen.set(name, i + 1);
    if (m[1] !== opts.split) {
      otherSplit++;
      continue;
    }
    const file = `Image/aligned/${name.replace(/\.jpg$/, '_aligned.jpg')}`;
    const path = join(root, file);
    let st;
    try {
      st = await stat(path);
    } catch {
      bad.report({ file, reason: `image not found (listed at ${labelFile}:${i + 1})` });
      continue;
    }
    items.push({ file, listedAt: `${labelFile}:${i + 1}`, label: label - 1, source: { path }, stamp: `${st.mtimeMs}:${st.size}` });
  }
  return {
    items,
    numClasses: 7,
    notes: [`${labelFile}: ${items.length} ${opts.split} rows listed, ${otherSplit} rows of the other split`],
    keyParts: [],
  };
}
