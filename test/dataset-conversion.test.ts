/**
 * Round trips through the files the CLI writes: `lrdif synth --out D` reads back with `folder:D`, and
 * `lrdif udc IN OUT` keeps each format's layout, names, encodings and label files so that the loader
 * that reads IN reads OUT (same items, labels and split), with degraded pixels. Also: udc refuses to
 * write into its input, and undecodable images are reported by file name on every decoding path.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../src/engine/engine.ts';
import { decodeImage, decodeImageChw, readImageFile, readImageFileRgb } from '../src/train/data/images.ts';
import { loadDataset } from '../src/train/data/loaders.ts';
import { encodePng } from '../src/train/data/png.ts';
import { synthFile, writeSynthFolder } from '../src/train/data/synth-folder.ts';
import { EXPRESSION_NAMES, generateSample } from '../src/train/data/synthfer.ts';
import { degradeUdc } from '../src/train/data/udc.ts';
import { checkUdcFolders, convertUdcDataset, PREVIEW_FILE, type UdcConvertOptions } from '../src/train/data/udc-dataset.ts';
import { C, classColour, FER_ROWS, KDEF_CODES, LABEL_FILE, RAF_ROWS, solidJpeg, solidPng, write, writeFerplus, writeRafdb } from './dataset-fixtures.ts';
import { freshSeed, getEngine, rng } from './helpers.ts';

let tmp: string;
let e: Engine;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'lrdif-conversion-'));
  e = await getEngine();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const UDC: UdcConvertOptions = { panel: 'toled', strength: 1, seed: freshSeed('udc conversion') };

/** Both splits of a loader spec: files, labels and class count. */
async function items(spec: string, size: number, opts: { seed?: number } = {}) {
  const out: Record<string, { files: string[]; labels: number[]; numClasses: number; pixels: Uint8Array }> = {};
  for (const split of ['train', 'test'] as const) {
    const ds = await loadDataset(spec, { imageSize: size, split, ...opts });
    out[split] = { files: ds.files, labels: Array.from(ds.labels), numClasses: ds.numClasses, pixels: ds.pixels };
  }
  return out;
}

/** Same items, labels and classes in both splits; pixels changed (degraded). */
async function expectSameDataset(format: string, input: string, out: string, size: number): Promise<void> {
  const a = await items(`${format}:${input}`, size);
  const b = await items(`${format}:${out}`, size);
  for (const split of ['train', 'test'] as const) {
    expect(b[split]!.files, `${format} ${split} files`).toEqual(a[split]!.files);
    expect(b[split]!.labels, `${format} ${split} labels`).toEqual(a[split]!.labels);
    expect(b[split]!.numClasses).toBe(a[split]!.numClasses);
    expect(Buffer.from(b[split]!.pixels).equals(Buffer.from(a[split]!.pixels)), `${format} ${split}: pixels unchanged`).toBe(false);
  }
}

const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const isPng = (b: Uint8Array) => Buffer.from(b.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

describe('lrdif synth → folder:', () => {
  it('writes <split>/<class>/NNNNNN.png that the folder loader reads back exactly, and refuses to overwrite', async () => {
    const out = join(tmp, 'synth');
    const seed = freshSeed('synth folder');
    const common = { size: 32, seed, difficulty: 0.3, labelNoise: 0.2 };
    writeSynthFolder(out, { ...common, split: 'train', count: 24 });
    writeSynthFolder(out, { ...common, split: 'test', count: 8 });
    for (const split of ['train', 'test'] as const) {
      const ds = await loadDataset(`folder:${out}`, { imageSize: 32, split });
      const n = split === 'train' ? 24 : 8;
      expect(ds.length).toBe(n);
      expect(ds.numClasses).toBe(7);
      expect(ds.summary).toContain('ignored 2 non-image files'); // labels.csv, landmarks.json
      const csv = readFileSync(join(out, split, 'labels.csv'), 'utf8').trim().split('\n');
      expect(csv[0]).toBe('file,label,class,true_label,identity');
      const landmarks = JSON.parse(readFileSync(join(out, split, 'landmarks.json'), 'utf8')).landmarks as Record<string, number[]>;
      const seen = new Set<number>();
      for (let k = 0; k < ds.length; k++) {
        const index = Number(/(\d+)\.png$/.exec(ds.files[k]!)![1]);
        seen.add(index);
        const s = generateSample(index, { ...common, split });
        expect(ds.files[k]).toBe(`${split}/${synthFile(index, s.label)}`);
        expect(ds.get(k).label, ds.files[k]).toBe(s.label);
        // PNG is lossless and the size matches: the loader returns the generator's pixels, rounded to 8 bits.
        expect(Array.from(ds.get(k).image, (v) => Math.round(255 * v))).toEqual(Array.from(s.image, (v) => Math.round(255 * Math.min(1, Math.max(0, v)))));
        expect(csv[1 + index]).toBe(`${synthFile(index, s.label)},${s.label},${EXPRESSION_NAMES[s.label]},${s.trueLabel},${s.identity}`);
        expect(landmarks[synthFile(index, s.label)]!.length).toBe(136);
      }
      expect(seen.size).toBe(n);
    }
    expect(() => writeSynthFolder(out, { ...common, split: 'train', count: 3 })).toThrow(`synth: ${join(out, 'train')} already holds files`);
  });
});

describe('lrdif udc keeps the dataset loadable by its own loader', () => {
  it('RAF-DB: label list copied, aligned .jpg stay JPEG, same items and labels', async () => {
    const input = join(tmp, 'raf-in', 'basic');
    const out = join(tmp, 'raf-out');
    await writeRafdb(input, RAF_ROWS);
    const r = await convertUdcDataset(e, input, out, UDC);
    expect(r.images).toBe(RAF_ROWS.length);
    expect(r.copied).toEqual([LABEL_FILE]);
    expect(readFileSync(join(out, LABEL_FILE))).toEqual(readFileSync(join(input, LABEL_FILE)));
    for (const [n] of RAF_ROWS) expect(isJpeg(readFileSync(join(out, 'Image/aligned', n.replace('.jpg', '_aligned.jpg'))))).toBe(true);
    await expectSameDataset('rafdb', input, out, 16);
  });

  it('FERPlus: fer2013.csv rows degraded line for line, fer2013new.csv copied, same rows kept', async () => {
    const input = join(tmp, 'fer-in');
    const out = join(tmp, 'fer-out');
    writeFerplus(input, FER_ROWS);
    const r = await convertUdcDataset(e, input, out, UDC);
    expect(r.images).toBe(0);
    expect(r.csvRows).toBe(FER_ROWS.length);
    expect(r.copied).toEqual(['fer2013new.csv']);
    expect(readFileSync(join(out, 'fer2013new.csv'))).toEqual(readFileSync(join(input, 'fer2013new.csv')));
    const [a, b] = [input, out].map((d) => readFileSync(join(d, 'fer2013.csv'), 'utf8').split('\n'));
    expect(b!.length).toBe(a!.length);
    for (let i = 0; i < a!.length; i++) {
      const [fa, fb] = [a![i]!.split(','), b![i]!.split(',')];
      expect([fb[0], fb[2]], `line ${i + 1}`).toEqual([fa[0], fa[2]]); // emotion and Usage unchanged
      if (i > 0 && fa.length === 3) {
        expect(fb[1]!.split(' ').length).toBe(48 * 48);
        expect(fb[1]).not.toBe(fa[1]);
      }
    }
    await expectSameDataset('ferplus', input, out, 48);
  });

  it('KDEF: names (upper-case .JPG) and per-person folders kept, JPEG bytes', async () => {
    const input = join(tmp, 'kdef-in');
    const out = join(tmp, 'kdef-out');
    for (const person of ['AF01', 'BM02'])
      for (const [code, label] of KDEF_CODES) for (const angle of ['S', 'HL']) write(join(input, person, `${person}${code}${angle}.JPG`), await solidJpeg(classColour(label), 12, 16));
    write(join(input, 'ReadMe.txt'), 'KDEF');
    const r = await convertUdcDataset(e, input, out, UDC);
    expect(r.images).toBe(2 * KDEF_CODES.length * 2);
    expect(r.copied).toEqual(['ReadMe.txt']);
    expect(r.preview).toBeNull(); // 12×16 images are not square
    expect(isJpeg(readFileSync(join(out, 'BM02', 'BM02HAS.JPG')))).toBe(true);
    await expectSameDataset('kdef', input, out, 8);
  });

  it('image folders: class folders, names and formats kept; a PNG holds exactly the degradation of its index', async () => {
    const input = join(tmp, 'folder-in');
    const out = join(tmp, 'folder-out');
    const r0 = rng(UDC.seed);
    const noisy = (w: number, h: number) => {
      const data = new Uint8Array(4 * w * h).map((_, i) => (i % 4 === 3 ? 255 : Math.floor(256 * r0())));
      return encodePng({ width: w, height: h, data });
    };
    for (const [folder, label] of [['happy', C.happiness], ['Angry', C.anger], ['sad', C.sadness]] as const)
      for (let k = 0; k < 5; k++) write(join(input, folder, `img${k}.png`), noisy(10, 10));
    write(join(input, 'happy', 'photo.jpg'), await solidJpeg(classColour(C.happiness), 10, 10));
    write(join(input, 'notes.md'), '# the folder dataset');
    const r = await convertUdcDataset(e, input, out, UDC);
    expect(r.images).toBe(16);
    expect(isJpeg(readFileSync(join(out, 'happy', 'photo.jpg')))).toBe(true);
    expect(isPng(readFileSync(join(out, 'Angry', 'img0.png')))).toBe(true);
    expect(readFileSync(join(out, 'notes.md'), 'utf8')).toBe('# the folder dataset');
    expect(isPng(readFileSync(r.preview!))).toBe(true);
    expect(r.preview).toBe(join(out, PREVIEW_FILE));
    // The walk is sorted: Angry/img0.png … Angry/img4.png, happy/img0.png …; image k gets offset k.
    const k = 5; // happy/img0.png
    const clean = await decodeImageChw(readFileSync(join(input, 'happy', 'img0.png')));
    const want = (await e.noGrad(() => e.scope(() => degradeUdc(e, e.tensor(clean.image, [1, 3, 10, 10]), { ...UDC, offset: k }).read()))) as Float32Array;
    const written = await decodeImage(readFileSync(join(out, 'happy', 'img0.png')));
    const plane = 10 * 10;
    expect(Array.from({ length: 3 * plane }, (_, i) => written.rgb[3 * (i % plane) + Math.floor(i / plane)])).toEqual(Array.from(want, (v) => Math.round(255 * v)));
    await expectSameDataset('folder', input, out, 10);
  });

  it('refuses an output inside, equal to, or containing the input, or one that holds files', async () => {
    const input = join(tmp, 'refuse-in');
    for (let k = 0; k < 5; k++) write(join(input, 'happy', `${k}.png`), solidPng([1, 2, 3]));
    expect(() => checkUdcFolders(input, input)).toThrow(`udc: output ${input} is the input folder`);
    expect(() => checkUdcFolders(input, `${input}/`)).toThrow('is the input folder');
    expect(() => checkUdcFolders(input, join(input, 'happy', 'udc'))).toThrow(`is inside the input folder ${input}`);
    expect(() => checkUdcFolders(join(input, 'happy'), input)).toThrow(`the input folder ${join(input, 'happy')} is inside the output ${input}`);
    mkdirSync(join(tmp, 'full'), { recursive: true });
    writeFileSync(join(tmp, 'full', 'keep.txt'), 'mine');
    await expect(convertUdcDataset(e, input, join(tmp, 'full'), UDC)).rejects.toThrow('already exists and is not an empty folder');
    expect(readFileSync(join(tmp, 'full', 'keep.txt'), 'utf8')).toBe('mine');
    expect(() => checkUdcFolders(join(tmp, 'nope'), join(tmp, 'x'))).toThrow(`udc: input ${join(tmp, 'nope')} is not a directory`);
    expect(existsSync(join(input, 'happy', 'udc'))).toBe(false);
  });
});

describe('image decoding errors name the file', () => {
  it('truncated PNG and empty file: readImageFile, readImageFileRgb, decodeImage, udc', async () => {
    const dir = join(tmp, 'broken');
    const png = solidPng([200, 10, 10], 64, 64);
    const truncated = join(dir, 'sad', 'truncated.png');
    const empty = join(dir, 'sad', 'empty.png');
    write(truncated, png.subarray(0, png.length >> 1));
    write(empty, new Uint8Array(0));
    for (const [path, cause] of [[truncated, /libpng read error|corrupt|truncated/i], [empty, /empty/i]] as const) {
      await expect(readImageFile(path, { size: 8 })).rejects.toThrow(new RegExp(`^${path}: cannot decode image \\(.*${cause.source}`, 'i'));
      await expect(readImageFileRgb(path)).rejects.toThrow(new RegExp(`^${path}: cannot decode image \\(.*${cause.source}`, 'i'));
      await expect(decodeImage(readFileSync(path), path)).rejects.toThrow(new RegExp(`^${path}: cannot decode image \\(.*${cause.source}`, 'i'));
    }
    await expect(readImageFile(join(dir, 'missing.png'), { size: 8 })).rejects.toThrow(`${join(dir, 'missing.png')}: cannot read image (ENOENT)`);
    await expect(convertUdcDataset(e, dir, join(tmp, 'broken-out'), UDC)).rejects.toThrow(new RegExp(`^${empty}: cannot decode image`));
  });
});
