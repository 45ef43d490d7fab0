/**
 * Tiny datasets in each real format (RAF-DB basic, FERPlus CSV pair, KDEF names, image folders),
 * written by the loader and conversion tests.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { CLASS_NAMES } from '../src/train/data/dataset.ts';
import { encodePng } from '../src/train/data/png.ts';

export const C = Object.fromEntries(CLASS_NAMES.map((n, i) => [n, i])) as Record<(typeof CLASS_NAMES)[number], number>;

/** A distinct, JPEG-friendly (saturation-limited) colour per class. */
export function classColour(label: number): [number, number, number] {
  return [40 + 25 * label, 200 - 20 * label, 60 + ((label * 53) % 140)];
}

export function write(path: string, bytes: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

export async function solidJpeg(rgb: [number, number, number], w = 20, h = 20): Promise<Uint8Array> {
  const raw = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) raw.set(rgb, 3 * i);
  return new Uint8Array(await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer());
}

export function solidPng(rgb: [number, number, number], w = 9, h = 7): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], 4 * i);
  return encodePng({ width: w, height: h, data });
}

export const LABEL_FILE = 'EmoLabel/list_patition_label.txt';

/** A RAF-DB `basic` folder: rows `name label` (1..7) and one aligned JPEG per row. */
export async function writeRafdb(dir: string, rows: [string, number][], extraLines: string[] = []): Promise<void> {
  write(join(dir, LABEL_FILE), [...rows.map(([n, l]) => `${n} ${l}`), ...extraLines].join('\n') + '\n');
  for (const [n, l] of rows) write(join(dir, 'Image/aligned', n.replace('.jpg', '_aligned.jpg')), await solidJpeg(classColour(l - 1)));
}

export const RAF_ROWS: [string, number][] = [
  ['train_00001.jpg', 1],
  ['train_00002.jpg', 2],
  ['train_00003.jpg', 3],
  ['train_00004.jpg', 4],
  ['train_00005.jpg', 5],
  ['train_00006.jpg', 6],
  ['train_00007.jpg', 7],
  ['train_00008.jpg', 4],
  ['test_0001.jpg', 7],
  ['test_0002.jpg', 1],
  ['test_0003.jpg', 4],
];

export const VOTE_HEADER = 'Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF';

export interface FerRow {
  usage: 'Training' | 'PublicTest' | 'PrivateTest';
  name: string;
  votes: number[];
  /** Canonical label, or the drop reason. */
  expect: number | string;
}

export const FER_ROWS: FerRow[] = [
  { usage: 'Training', name: 'fer0000000.png', votes: [6, 1, 1, 1, 1, 0, 0, 0, 0, 0], expect: C.neutral },
  { usage: 'Training', name: 'fer0000001.png', votes: [4, 5, 0, 0, 0, 0, 0, 0, 1, 0], expect: C.happiness }, // 5 > 4.5
  { usage: 'Training', name: 'fer0000002.png', votes: [5, 5, 0, 0, 0, 0, 0, 0, 0, 0], expect: 'no majority' }, // tie
  { usage: 'Training', name: 'fer0000003.png', votes: [4, 2, 2, 0, 0, 0, 0, 0, 1, 1], expect: 'no majority' }, // exactly half
  { usage: 'Training', name: 'fer0000004.png', votes: [3, 1, 1, 1, 1, 1, 1, 1, 0, 0], expect: C.neutral }, // majority only after zeroing 1s
  { usage: 'Training', name: 'fer0000005.png', votes: [0, 0, 0, 0, 0, 0, 0, 1, 8, 1], expect: 'majority unknown' },
  { usage: 'Training', name: 'fer0000006.png', votes: [0, 2, 0, 0, 0, 0, 0, 0, 0, 8], expect: 'majority NF' },
  { usage: 'Training', name: '', votes: [10, 0, 0, 0, 0, 0, 0, 0, 0, 0], expect: 'empty image name' },
  { usage: 'Training', name: 'fer0000008.png', votes: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], expect: 'no majority' }, // nothing left
  { usage: 'Training', name: 'fer0000009.png', votes: [0, 0, 7, 3, 0, 0, 0, 0, 0, 0], expect: C.surprise },
  { usage: 'Training', name: 'fer0000010.png', votes: [2, 0, 0, 8, 0, 0, 0, 0, 0, 0], expect: C.sadness },
  { usage: 'Training', name: 'fer0000011.png', votes: [0, 0, 0, 0, 9, 1, 0, 0, 0, 0], expect: C.anger },
  { usage: 'Training', name: 'fer0000012.png', votes: [0, 0, 0, 0, 3, 6, 0, 0, 1, 0], expect: C.disgust },
  { usage: 'Training', name: 'fer0000013.png', votes: [0, 0, 4, 0, 0, 0, 6, 0, 0, 0], expect: C.fear },
  { usage: 'Training', name: 'fer0000014.png', votes: [3, 0, 0, 0, 0, 0, 0, 7, 0, 0], expect: C.contempt },
  { usage: 'PublicTest', name: 'fer0000015.png', votes: [0, 0, 0, 0, 0, 0, 10, 0, 0, 0], expect: C.fear },
  { usage: 'PublicTest', name: 'fer0000016.png', votes: [4, 4, 2, 0, 0, 0, 0, 0, 0, 0], expect: 'no majority' },
  { usage: 'PublicTest', name: 'fer0000017.png', votes: [0, 0, 0, 0, 0, 0, 0, 10, 0, 0], expect: C.contempt },
  { usage: 'PrivateTest', name: 'fer0000018.png', votes: [0, 0, 0, 0, 10, 0, 0, 0, 0, 0], expect: C.anger },
];

/** Row r's 48×48 grey pattern. */
export function ferPixels(r: number): number[] {
  return Array.from({ length: 48 * 48 }, (_, i) => (i * 7 + r * 31) % 256);
}

export function writeFerplus(dir: string, rows: FerRow[], edit?: (pixelLines: string[], voteLines: string[]) => void): void {
  const pixelLines = ['emotion,pixels,Usage', ...rows.map((r, i) => `${i % 7},${ferPixels(i).join(' ')},${r.usage}`)];
  const voteLines = [VOTE_HEADER, ...rows.map((r) => `${r.usage},${r.name},${r.votes.join(',')}`)];
  edit?.(pixelLines, voteLines);
  write(join(dir, 'fer2013.csv'), pixelLines.join('\n') + '\n');
  write(join(dir, 'fer2013new.csv'), voteLines.join('\r\n') + '\r\n');
}

export const KDEF_CODES: [string, number][] = [
  ['AF', C.fear],
  ['AN', C.anger],
  ['DI', C.disgust],
  ['HA', C.happiness],
  ['NE', C.neutral],
  ['SA', C.sadness],
  ['SU', C.surprise],
];
export const KDEF_ANGLE_CODES = ['FL', 'HL', 'S', 'HR', 'FR'];
