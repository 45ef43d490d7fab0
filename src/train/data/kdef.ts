/**
 * KDEF (reference §10.3): names like `AF01AFS.JPG` / `AF01ANFL.JPG` — session, gender, identity,
 * expression code at [4:6] (AF afraid, AN angry, DI disgusted, HA happy, NE neutral, SA sad,
 * SU surprised), then the angle (FL, HL, S, HR, FR). All angles are used. Files may sit in
 * per-person folders. Split: seeded, stratified by expression, 80/20.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { extensionOf, IMAGE_EXTENSIONS, stratifiedSplit, walkFiles, type BadItems, type ListedItem, type Listing, type ListOptions } from './source.ts';

/** KDEF expression code → canonical class index. */
export const KDEF_EXPRESSIONS: Record<string, number> = { SU: 0, AF: 1, DI: 2, HA: 3, SA: 4, AN: 5, NE: 6 };
export const KDEF_ANGLES = ['FL', 'HL', 'S', 'HR', 'FR'] as const;

const NAME = /^([AB])([FM])(\d\d)([A-Z]{2})([A-Z]+)$/;

/** Parses a KDEF file name (any case, with extension); an error string when it does not fit. */
export function parseKdefName(file: string): { label: number; angle: string } | string {
  const base = (file.split('/').pop() ?? file).replace(/\.[^.]*$/, '').toUpperCase();
  const m = NAME.exec(base);
  if (!m) return `name ${JSON.stringify(base)} is not <A|B><F|M><2-digit id><expression><angle>`;
  const label = KDEF_EXPRESSIONS[m[4]!];
  if (label === undefined) return `expression code ${m[4]} is not one of ${Object.keys(KDEF_EXPRESSIONS).join(', ')}`;
  if (!(KDEF_ANGLES as readonly string[]).includes(m[5]!)) return `angle code ${m[5]} is not one of ${KDEF_ANGLES.join(', ')}`;
  return { label, angle: m[5]! };
}

export async function listKdef(root: string, opts: ListOptions, bad: BadItems): Promise<Listing> {
  let files: string[];
  try {
    files = await walkFiles(root);
  } catch {
    return bad.fatal({ file: '.', reason: 'directory not readable' });
  }
  const all: (ListedItem & { angle: string })[] = [];
  let ignored = 0;
  for (const file of files) {
    if (!IMAGE_EXTENSIONS.has(extensionOf(file))) {
      ignored++;
      continue;
    }
    const parsed = parseKdefName(file);
    if (typeof parsed === 'string') {
      bad.report({ file, reason: parsed });
      continue;
    }
    const path = join(root, file);
    const st = await stat(path);
    all.push({ file, label: parsed.label, angle: parsed.angle, source: { path }, stamp: `${st.mtimeMs}:${st.size}` });
  }
  const items = stratifiedSplit(all, opts.split, opts.seed);
  const perAngle = KDEF_ANGLES.map((a) => `${a} ${items.filter((it) => it.angle === a).length}`).join(', ');
  return {
    items: items.map(({ angle: _angle, ...it }) => it),
    numClasses: 7,
    notes: [
      `${all.length} KDEF images found, ${items.length} in ${opts.split} (seeded stratified 80/20 split, seed ${opts.seed}); angles: ${perAngle}` +
        (ignored ? `; ignored ${ignored} non-image files` : ''),
    ],
    keyParts: [`seed=${opts.seed}`],
  };
}
