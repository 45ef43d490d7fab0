/**
 * Real-dataset loaders on fixtures in each real format (dataset-fixtures.ts): RAF-DB basic, FERPlus
 * CSV pair, KDEF names, image folders. Checks the exact items, labels and splits, every bad-input message,
 * skipBad reporting, and the decoded-image cache.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ferplusMajority, splitCsvLine } from '../src/train/data/ferplus.ts';
import { parseKdefName } from '../src/train/data/kdef.ts';
import { DatasetError, loadDataset, parseDatasetSpec, type LoadOptions } from '../src/train/data/loaders.ts';
import { encodePng } from '../src/train/data/png.ts';
import { stratifiedSplit } from '../src/train/data/source.ts';
import { C, classColour, FER_ROWS, ferPixels, KDEF_ANGLE_CODES, KDEF_CODES, LABEL_FILE, RAF_ROWS, solidJpeg, solidPng, write, writeFerplus, writeRafdb } from './dataset-fixtures.ts';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lrdif-loaders-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Mean of each channel of a CHW float image. */
function channelMeans(img: Float32Array, size: number): number[] {
  const plane = size * size;
  return [0, 1, 2].map((c) => img.subarray(c * plane, (c + 1) * plane).reduce((a, b) => a + b, 0) / plane);
}

function expectColour(img: Float32Array, size: number, rgb: number[], tol = 4 / 255): void {
  expect(img.length).toBe(3 * size * size);
  const plane = size * size;
  for (let c = 0; c < 3; c++) {
    let maxErr = 0;
    for (let i = 0; i < plane; i++) maxErr = Math.max(maxErr, Math.abs(img[c * plane + i]! - rgb[c]! / 255));
    expect(maxErr, `channel ${c}`).toBeLessThanOrEqual(tol);
  }
}

async function expectError(p: Promise<unknown>, text: string): Promise<DatasetError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, `expected an error containing ${JSON.stringify(text)}`).toBeInstanceOf(Error);
  expect((err as Error).message).toContain(text);
  return err as DatasetError;
}

describe('dataset spec', () => {
  it('parses the four formats and rejects unknown prefixes', async () => {
    expect(parseDatasetSpec('rafdb:/data/raf/basic')).toEqual({ format: 'rafdb', dir: '/data/raf/basic' });
    expect(parseDatasetSpec('folder:C:/x')).toEqual({ format: 'folder', dir: 'C:/x' });
    await expectError(loadDataset('imagenet:/x', { imageSize: 8, split: 'train' }), 'unknown dataset spec "imagenet:/x"');
    await expectError(loadDataset('synth', { imageSize: 8, split: 'train' }), 'expected rafdb:DIR, ferplus:DIR, kdef:DIR, folder:DIR');
    await expectError(loadDataset('synth:x', { imageSize: 8, split: 'train' }), 'synthetic dataset');
    await expectError(loadDataset(`rafdb:${join(tmp, 'nope')}`, { imageSize: 8, split: 'train' }), 'is not a directory');
  });
});

describe('RAF-DB basic', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tmp, 'raf', 'basic');
    await writeRafdb(dir, RAF_ROWS);
  });

  it('reads each split with labels label−1 and aligned images resized to imageSize', async () => {
    const progress: [number, number][] = [];
    const train = await loadDataset(`rafdb:${dir}`, { imageSize: 16, split: 'train', onProgress: (d, t) => progress.push([d, t]) });
    expect(train.length).toBe(8);
    expect(train.numClasses).toBe(7);
    expect(train.imageSize).toBe(16);
    expect(train.files).toEqual(RAF_ROWS.slice(0, 8).map(([n]) => `Image/aligned/${n.replace('.jpg', '_aligned.jpg')}`));
    expect(Array.from({ length: 8 }, (_, i) => train.get(i).label)).toEqual([0, 1, 2, 3, 4, 5, 6, 3]);
    expect(train.get(0).landmarks).toBeNull();
    for (let i = 0; i < train.length; i++) expectColour(train.get(i).image, 16, classColour(train.get(i).label));
    expect(train.counts).toEqual([1, 1, 1, 2, 1, 1, 1]);
    expect(train.skipped).toEqual([]);
    expect(train.summary).toContain('8 images — surprise 1, fear 1, disgust 1, happiness 2, sadness 1, anger 1, neutral 1');
    expect(progress.at(-1)).toEqual([8, 8]);
    expect(progress.length).toBe(8);

    // The folder above `basic/` is accepted too.
    const test = await loadDataset(`rafdb:${dirname(dir)}`, { imageSize: 5, split: 'test' });
    expect(test.files).toEqual(['Image/aligned/test_0001_aligned.jpg', 'Image/aligned/test_0002_aligned.jpg', 'Image/aligned/test_0003_aligned.jpg']);
    expect(Array.from({ length: 3 }, (_, i) => test.get(i).label)).toEqual([C.neutral, C.surprise, C.happiness]);
    expect(test.summary).toContain('3 test rows listed, 8 rows of the other split');
    expect(() => test.get(3)).toThrow('index 3 out of range (0..2)');
  });

  it('names the file and line of each bad input', async () => {
    const cases: { name: string; setup: (d: string) => Promise<void>; message: string }[] = [
      {
        name: 'label',
        setup: (d) => writeRafdb(d, RAF_ROWS.slice(0, 2), ['train_00003.jpg 9']),
        message: `${LABEL_FILE}:3: label 9 is not in 1..7`,
      },
      {
        name: 'malformed',
        setup: (d) => writeRafdb(d, RAF_ROWS.slice(0, 2), ['', 'train_00003.jpg']),
        message: `${LABEL_FILE}:4: expected "<image name> <label>", got "train_00003.jpg"`,
      },
      {
        name: 'prefix',
        setup: (d) => writeRafdb(d, RAF_ROWS.slice(0, 2), ['val_0001.jpg 3']),
        message: `${LABEL_FILE}:3: image name "val_0001.jpg" is not train_<n>.jpg or test_<n>.jpg`,
      },
      {
        name: 'missing',
        setup: async (d) => {
          await writeRafdb(d, RAF_ROWS.slice(0, 2), ['train_00003.jpg 2']);
        },
        message: `Image/aligned/train_00003_aligned.jpg: image not found (listed at ${LABEL_FILE}:3)`,
      },
      {
        name: 'corrupt',
        setup: async (d) => {
          await writeRafdb(d, RAF_ROWS.slice(0, 3));
          write(join(d, 'Image/aligned/train_00002_aligned.jpg'), 'this is not a JPEG');
        },
        message: `Image/aligned/train_00002_aligned.jpg: cannot decode image (listed at ${LABEL_FILE}:2): `,
      },
      {
        name: 'truncated',
        setup: async (d) => {
          await writeRafdb(d, RAF_ROWS.slice(0, 3));
          const jpg = await solidJpeg([10, 20, 30], 64, 64);
          write(join(d, 'Image/aligned/train_00003_aligned.jpg'), jpg.subarray(0, jpg.length >> 1));
        },
        message: `Image/aligned/train_00003_aligned.jpg: cannot decode image (listed at ${LABEL_FILE}:3): `,
      },
      {
        name: 'empty split',
        setup: (d) => writeRafdb(d, RAF_ROWS.slice(8)),
        message: `.: the train split has no images`,
      },
      {
        name: 'no label file',
        setup: async (d) => {
          mkdirSync(d, { recursive: true });
        },
        message: `${LABEL_FILE}: label file not found`,
      },
    ];
    for (const c of cases) {
      const d = join(tmp, 'raf-bad', c.name);
      await c.setup(d);
      const err = await expectError(loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'train' }), c.message);
      expect(err).toBeInstanceOf(DatasetError);
      expect(err.message.startsWith(`rafdb ${d}: `)).toBe(true);
    }
  });

  it('skipBad skips and reports every bad item, and still fails on an empty split', async () => {
    const d = join(tmp, 'raf-skip');
    await writeRafdb(d, RAF_ROWS.slice(0, 4), ['train_00005.jpg 0', 'garbage', 'train_00006.jpg 3', 'train_00001.jpg 2']);
    write(join(d, 'Image/aligned/train_00002_aligned.jpg'), new Uint8Array([0xff, 0xd8, 0xff, 0x00]));
    const ds = await loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'train', skipBad: true });
    expect(ds.files).toEqual(['Image/aligned/train_00001_aligned.jpg', 'Image/aligned/train_00003_aligned.jpg', 'Image/aligned/train_00004_aligned.jpg']);
    expect(Array.from({ length: 3 }, (_, i) => ds.get(i).label)).toEqual([0, 2, 3]);
    expect(ds.skipped.map((s) => [s.file, s.line])).toEqual([
      [LABEL_FILE, 5],
      [LABEL_FILE, 6],
      ['Image/aligned/train_00006_aligned.jpg', undefined],
      [LABEL_FILE, 8],
      ['Image/aligned/train_00002_aligned.jpg', undefined],
    ]);
    expect(ds.skipped[0]!.reason).toBe('label 0 is not in 1..7');
    expect(ds.skipped[3]!.reason).toBe('train_00001.jpg is listed again (first on line 1)');
    expect(ds.skipped[4]!.reason).toMatch(/^cannot decode image \(listed at EmoLabel\/list_patition_label.txt:2\): /);
    expect(ds.summary).toContain('skipped 5 bad items:');
    expect(ds.summary).toContain(`${LABEL_FILE}:5: label 0 is not in 1..7`);
    await expectError(loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'test', skipBad: true }), 'the test split has no images (3 bad items skipped)');
  });
});

// ---------------------------------------------------------------------------------------------
// FERPlus

describe('FERPlus', () => {
  let dir: string;
  beforeAll(() => {
    dir = join(tmp, 'ferplus');
    writeFerplus(dir, FER_ROWS);
  });

  it('applies the majority rule of microsoft/FERPlus', () => {
    for (const r of FER_ROWS) {
      if (r.name === '') continue;
      const m = ferplusMajority(r.votes);
      const canonical = [6, 3, 0, 4, 5, 2, 1, 7];
      expect('column' in m ? canonical[m.column] : m.drop, `${r.name} ${r.votes}`).toBe(r.expect);
    }
    expect(() => ferplusMajority([1, 2])).toThrow('expected 10 vote counts, got 2');
    expect(splitCsvLine('a,"b,c",d')).toEqual(['a', 'b,c', 'd']);
  });

  it('keeps exactly the majority rows of each split, grey replicated to RGB', async () => {
    const expected = (usages: string[]) =>
      FER_ROWS.map((r, i) => ({ ...r, i })).filter((r) => usages.includes(r.usage) && typeof r.expect === 'number');
    const train = await loadDataset(`ferplus:${dir}`, { imageSize: 48, split: 'train' });
    const want = expected(['Training']);
    expect(train.numClasses).toBe(8);
    expect(train.files).toEqual(want.map((r) => r.name));
    expect(Array.from({ length: train.length }, (_, i) => train.get(i).label)).toEqual(want.map((r) => r.expect));
    // 48 → 48: the pixels pass through exactly, replicated over the three channels.
    for (let k = 0; k < train.length; k++) {
      const img = train.get(k).image;
      const ref = ferPixels(want[k]!.i);
      for (let c = 0; c < 3; c++) for (let p = 0; p < 48 * 48; p += 97) expect(img[c * 48 * 48 + p]).toBeCloseTo(ref[p]! / 255, 6);
    }
    expect(train.summary).toContain('dropped by the FERPlus rules: 3 no majority, 1 majority unknown, 1 majority NF, 1 empty image name');
    expect(train.counts).toEqual([1, 1, 1, 1, 1, 1, 2, 1]);

    const pub = await loadDataset(`ferplus:${dir}`, { imageSize: 24, split: 'test' });
    expect(pub.files).toEqual(['fer0000015.png', 'fer0000017.png']);
    expect(Array.from({ length: 2 }, (_, i) => pub.get(i).label)).toEqual([C.fear, C.contempt]);
    expect(pub.summary).toContain('1 no majority');
    const img = pub.get(0).image;
    const plane = 24 * 24;
    expect(img.subarray(0, plane)).toEqual(img.subarray(plane, 2 * plane));
    expect(img.subarray(0, plane)).toEqual(img.subarray(2 * plane));
    const priv = await loadDataset(`ferplus:${dir}`, { imageSize: 24, split: 'test', ferplusTest: 'private' });
    expect(priv.files).toEqual(['fer0000018.png']);
    const both = await loadDataset(`ferplus:${dir}`, { imageSize: 24, split: 'test', ferplusTest: 'both' });
    expect(both.files).toEqual(['fer0000015.png', 'fer0000017.png', 'fer0000018.png']);
  });

  it('names the file and line of each bad row; skipBad continues', async () => {
    const cases: { name: string; edit: (p: string[], v: string[]) => void; message: string; skippable: boolean }[] = [
      { name: 'vote', edit: (_p, v) => (v[2] = v[2]!.replace(/,5,0,0/, ',x,0,0')), message: 'fer2013new.csv:3: vote count happiness = "x" is not a non-negative number', skippable: true },
      { name: 'fields', edit: (_p, v) => (v[1] = 'Training,fer0000000.png,6,1,1'), message: 'fer2013new.csv:2: expected 12 fields (Usage,Image name,10 vote counts), got 5', skippable: true },
      { name: 'pixels', edit: (p) => (p[1] = p[1]!.replace(/ \d+,Training$/, ',Training')), message: 'fer2013.csv:2: pixels has 2303 values, expected 2304 (48×48)', skippable: true },
      { name: 'pixel value', edit: (p) => (p[2] = p[2]!.replace(/^(\d),(\d+) /, '$1,300 ')), message: 'fer2013.csv:3: pixel 0 = "300" is not an integer in 0..255', skippable: true },
      { name: 'emotion', edit: (p) => (p[2] = p[2]!.replace(/^\d,/, '9,')), message: 'fer2013.csv:3: emotion "9" is not in 0..6', skippable: true },
      { name: 'usage', edit: (_p, v) => (v[2] = v[2]!.replace(/^Training/, 'PublicTest')), message: 'fer2013new.csv:3: Usage "PublicTest" differs from fer2013.csv:3 (Training)', skippable: true },
      { name: 'rows', edit: (_p, v) => v.pop(), message: 'fer2013new.csv: 18 data rows, but fer2013.csv has 19 (the rows must align 1:1)', skippable: false },
      { name: 'header', edit: (p) => (p[0] = 'emotion,Usage,pixels'), message: 'fer2013.csv:1: header is "emotion,Usage,pixels", expected "emotion,pixels,Usage"', skippable: false },
    ];
    for (const c of cases) {
      const d = join(tmp, 'fer-bad', c.name);
      writeFerplus(d, FER_ROWS, c.edit);
      await expectError(loadDataset(`ferplus:${d}`, { imageSize: 8, split: 'train' }), `ferplus ${d}: ${c.message}`);
      if (c.skippable) {
        const ds = await loadDataset(`ferplus:${d}`, { imageSize: 8, split: 'train', skipBad: true });
        expect(ds.length).toBe(8); // the 9 good training rows minus the bad one
        expect(ds.skipped.length).toBe(1);
        expect(`${ds.skipped[0]!.file}:${ds.skipped[0]!.line}: ${ds.skipped[0]!.reason}`).toBe(c.message);
      } else {
        await expectError(loadDataset(`ferplus:${d}`, { imageSize: 8, split: 'train', skipBad: true }), c.message);
      }
    }
    await expectError(loadDataset(`ferplus:${join(tmp, 'raf')}`, { imageSize: 8, split: 'train' }), 'fer2013.csv: file not found');
  });
});

// ---------------------------------------------------------------------------------------------
// KDEF

describe('KDEF', () => {
  let dir: string;
  const allNames: string[] = [];
  beforeAll(async () => {
    dir = join(tmp, 'kdef');
    for (const person of ['AF01', 'BM02']) {
      for (const [code, label] of KDEF_CODES) {
        const jpg = await solidJpeg(classColour(label), 12, 16);
        for (const angle of KDEF_ANGLE_CODES) {
          const name = `${person}/${person}${code}${angle}.JPG`;
          allNames.push(name);
          write(join(dir, name), jpg);
        }
      }
    }
    write(join(dir, 'ReadMe.txt'), 'KDEF');
    allNames.sort();
  });

  it('parses expression and angle codes', () => {
    expect(parseKdefName('AF01AFS.JPG')).toEqual({ label: C.fear, angle: 'S' });
    expect(parseKdefName('x/bm35suhr.jpg')).toEqual({ label: C.surprise, angle: 'HR' });
    expect(parseKdefName('AF01XXS.JPG')).toBe('expression code XX is not one of SU, AF, DI, HA, SA, AN, NE');
    expect(parseKdefName('AF01HAZZ.JPG')).toBe('angle code ZZ is not one of FL, HL, S, HR, FR');
    expect(parseKdefName('face.jpg')).toMatch(/^name "FACE" is not/);
  });

  it('splits all expressions and angles 80/20, stratified and seeded', async () => {
    const train = await loadDataset(`kdef:${dir}`, { imageSize: 8, split: 'train', seed: 3 });
    const test = await loadDataset(`kdef:${dir}`, { imageSize: 8, split: 'test', seed: 3 });
    expect(train.length).toBe(56);
    expect(test.length).toBe(14);
    expect(train.counts).toEqual([8, 8, 8, 8, 8, 8, 8]);
    expect(test.counts).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect([...train.files, ...test.files].sort()).toEqual(allNames);
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.length; i++) {
        const code = ds.files[i]!.slice(9, 11);
        expect(ds.get(i).label, ds.files[i]).toBe(KDEF_CODES.find(([c]) => c === code)![1]);
        expectColour(ds.get(i).image, 8, classColour(ds.get(i).label));
      }
    }
    expect(train.summary).toContain('70 KDEF images found, 56 in train');
    expect(train.summary).toContain('ignored 1 non-image files');
    const again = await loadDataset(`kdef:${dir}`, { imageSize: 8, split: 'test', seed: 3 });
    expect(again.files).toEqual(test.files);
    const other = await loadDataset(`kdef:${dir}`, { imageSize: 8, split: 'test', seed: 4 });
    expect(other.files).not.toEqual(test.files);
  });

  it('reports a bad file name, or skips it', async () => {
    const d = join(tmp, 'kdef-bad');
    write(join(d, 'AF01AFS.JPG'), await solidJpeg([1, 2, 3]));
    write(join(d, 'AF01HAS.JPG'), await solidJpeg([1, 2, 3]));
    write(join(d, 'AF01QQS.JPG'), await solidJpeg([1, 2, 3]));
    await expectError(loadDataset(`kdef:${d}`, { imageSize: 8, split: 'train' }), `kdef ${d}: AF01QQS.JPG: expression code QQ is not one of`);
    const ds = await loadDataset(`kdef:${d}`, { imageSize: 8, split: 'train', skipBad: true });
    expect(ds.files).toEqual(['AF01AFS.JPG', 'AF01HAS.JPG']);
    expect(ds.skipped).toEqual([{ file: 'AF01QQS.JPG', reason: 'expression code QQ is not one of SU, AF, DI, HA, SA, AN, NE' }]);
  });
});

// ---------------------------------------------------------------------------------------------
// Image folders

describe('image folder', () => {
  it('maps class folders (names and synonyms, any case) and splits 80/20', async () => {
    const d = join(tmp, 'folder');
    const folders: [string, number][] = [
      ['happy', C.happiness],
      ['Angry', C.anger],
      ['SAD', C.sadness],
      ['surprised', C.surprise],
      ['fearful', C.fear],
      ['disgusted', C.disgust],
      ['Neutral', C.neutral],
    ];
    for (const [f, label] of folders) for (let k = 0; k < 5; k++) write(join(d, f, `img${k}.png`), solidPng(classColour(label)));
    write(join(d, 'notes.md'), '# not an image');
    const train = await loadDataset(`folder:${d}`, { imageSize: 6, split: 'train' });
    const test = await loadDataset(`folder:${d}`, { imageSize: 6, split: 'test' });
    expect(train.numClasses).toBe(7);
    expect(train.counts).toEqual([4, 4, 4, 4, 4, 4, 4]);
    expect(test.counts).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect([...train.files, ...test.files].sort()).toEqual(folders.flatMap(([f]) => [0, 1, 2, 3, 4].map((k) => `${f}/img${k}.png`)).sort());
    for (const ds of [train, test])
      for (let i = 0; i < ds.length; i++) {
        const folder = ds.files[i]!.split('/')[0]!;
        expect(ds.get(i).label).toBe(folders.find(([f]) => f === folder)![1]);
        expectColour(ds.get(i).image, 6, classColour(ds.get(i).label), 1e-6); // PNG: exact
      }
    expect(train.summary).toContain('ignored 1 non-image files or files outside class folders');
  });

  it('uses train/test folders when present, with contempt as an eighth class', async () => {
    const d = join(tmp, 'folder-split');
    write(join(d, 'train/contempt/a.png'), solidPng([1, 2, 3]));
    write(join(d, 'train/happiness/b.png'), solidPng([1, 2, 3]));
    write(join(d, 'train/happiness/deeper/c.png'), solidPng([1, 2, 3]));
    write(join(d, 'test/happiness/d.png'), solidPng([1, 2, 3]));
    const train = await loadDataset(`folder:${d}`, { imageSize: 4, split: 'train' });
    const test = await loadDataset(`folder:${d}`, { imageSize: 4, split: 'test' });
    expect(train.files).toEqual(['train/contempt/a.png', 'train/happiness/b.png', 'train/happiness/deeper/c.png']);
    expect(Array.from({ length: 3 }, (_, i) => train.get(i).label)).toEqual([C.contempt, C.happiness, C.happiness]);
    expect(test.files).toEqual(['test/happiness/d.png']);
    expect(train.numClasses).toBe(8);
    expect(test.numClasses).toBe(8);
  });

  it('centre-crops before resizing when asked', async () => {
    const d = join(tmp, 'folder-crop');
    // 30×10: a blue 10×10 centre between red sides.
    const w = 30;
    const h = 10;
    const data = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(x >= 10 && x < 20 ? [0, 0, 255, 255] : [255, 0, 0, 255], 4 * (y * w + x));
    for (const k of [0, 1, 2, 3, 4]) write(join(d, 'happy', `${k}.png`), encodePng({ width: w, height: h, data }));
    const cropped = await loadDataset(`folder:${d}`, { imageSize: 5, split: 'test', centerCrop: 1 });
    expectColour(cropped.get(0).image, 5, [0, 0, 255], 1e-6);
    const whole = await loadDataset(`folder:${d}`, { imageSize: 5, split: 'test' });
    const means = channelMeans(whole.get(0).image, 5);
    expect(means[0]).toBeGreaterThan(0.4);
    expect(means[2]).toBeGreaterThan(0.2);
    await expectError(loadDataset(`folder:${d}`, { imageSize: 5, split: 'test', centerCrop: 1.5 }), 'centerCrop must be in (0, 1], got 1.5');
  });

  it('reports an unknown class folder, or skips it', async () => {
    const d = join(tmp, 'folder-bad');
    for (const k of [0, 1, 2, 3, 4]) write(join(d, 'happy', `${k}.png`), solidPng([1, 2, 3]));
    write(join(d, 'bored', '0.png'), solidPng([1, 2, 3]));
    await expectError(loadDataset(`folder:${d}`, { imageSize: 4, split: 'train' }), `folder ${d}: bored: folder name "bored" is not a class`);
    const ds = await loadDataset(`folder:${d}`, { imageSize: 4, split: 'train', skipBad: true });
    expect(ds.length).toBe(4);
    expect(ds.skipped.map((s) => s.file)).toEqual(['bored']);
  });
});

describe('undecodable images', () => {
  it('a truncated PNG and an empty file are reported by name, or skipped and listed under skipBad', async () => {
    const png = solidPng([200, 10, 10], 64, 64);
    const broken: [string, Uint8Array, RegExp][] = [
      ['truncated.png', png.subarray(0, png.length >> 1), /libpng read error|corrupt|truncated/i],
      ['empty.png', new Uint8Array(0), /empty/i],
    ];
    for (const [name, bytes, cause] of broken) {
      const d = join(tmp, `folder-broken-${name}`);
      for (const k of [0, 1, 2, 3, 4]) write(join(d, 'happy', `${k}.png`), solidPng([9, 9, 9], 32, 32));
      write(join(d, 'sad', name), bytes); // a class of one image: round(0.8) = 1 puts it in train
      const err = await expectError(loadDataset(`folder:${d}`, { imageSize: 8, split: 'train' }), `folder ${d}: sad/${name}: cannot decode image: `);
      expect(err).toBeInstanceOf(DatasetError);
      expect(err.message).toMatch(cause);
      const ds = await loadDataset(`folder:${d}`, { imageSize: 8, split: 'train', skipBad: true });
      expect(ds.length).toBe(4);
      expect(ds.skipped.map((s) => s.file)).toEqual([`sad/${name}`]);
      expect(ds.summary).toContain(`sad/${name}: cannot decode image: `);
    }
  });
});

describe('stratifiedSplit', () => {
  it('splits each class 80/20 and partitions the items', () => {
    const items = Array.from({ length: 23 }, (_, i) => ({ label: i % 3, i }));
    const train = stratifiedSplit(items, 'train', 9);
    const test = stratifiedSplit(items, 'test', 9);
    expect([...train, ...test].map((x) => x.i).sort((a, b) => a - b)).toEqual(items.map((x) => x.i));
    // class sizes 8, 8, 7 → 6, 6, 6 in train (round(6.4), round(6.4), round(5.6)).
    expect([0, 1, 2].map((c) => train.filter((x) => x.label === c).length)).toEqual([6, 6, 6]);
  });
});

// ---------------------------------------------------------------------------------------------
// Cache

describe('decoded-image cache', () => {
  it('decodes on the first load only, and again when a file changes', async () => {
    const d = join(tmp, 'raf-cache');
    await writeRafdb(d, RAF_ROWS);
    const cacheDir = join(tmp, 'cache');
    const opts: LoadOptions = { imageSize: 12, split: 'train', cacheDir };
    const first = await loadDataset(`rafdb:${d}`, opts);
    expect(first.decoded).toBe(8);
    expect(first.fromCache).toBe(false);
    const progress: [number, number][] = [];
    const second = await loadDataset(`rafdb:${d}`, { ...opts, onProgress: (a, b) => progress.push([a, b]) });
    expect(second.decoded).toBe(0);
    expect(second.fromCache).toBe(true);
    expect(progress).toEqual([[8, 8]]);
    expect(second.files).toEqual(first.files);
    expect(Array.from(second.labels)).toEqual(Array.from(first.labels));
    expect(second.pixels).toEqual(first.pixels);
    expect(second.summary).toContain('loaded from cache');
    // Another size or split is another cache entry.
    expect((await loadDataset(`rafdb:${d}`, { ...opts, imageSize: 10 })).decoded).toBe(8);
    expect((await loadDataset(`rafdb:${d}`, { ...opts, split: 'test' })).decoded).toBe(3);
    // A changed image (new mtime) invalidates the entry.
    const img = join(d, 'Image/aligned/train_00004_aligned.jpg');
    write(img, await solidJpeg([250, 250, 250]));
    utimesSync(img, new Date(), new Date(Date.now() + 5000));
    const third = await loadDataset(`rafdb:${d}`, opts);
    expect(third.decoded).toBe(8);
    expectColour(third.get(3).image, 12, [250, 250, 250]);
    // A damaged cache file is rebuilt, not trusted.
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync(cacheDir)) {
      const p = join(cacheDir, f);
      writeFileSync(p, readFileSync(p).subarray(0, 100));
    }
    expect((await loadDataset(`rafdb:${d}`, opts)).decoded).toBe(8);
  });

  it('keeps the decode failures of a skipBad load, and a strict load still throws on them', async () => {
    const d = join(tmp, 'raf-cache-bad');
    await writeRafdb(d, RAF_ROWS.slice(0, 3));
    write(join(d, 'Image/aligned/train_00002_aligned.jpg'), 'broken');
    const cacheDir = join(tmp, 'cache-bad');
    const first = await loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'train', cacheDir, skipBad: true });
    const second = await loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'train', cacheDir, skipBad: true });
    expect(second.fromCache).toBe(true);
    expect(second.files).toEqual(['Image/aligned/train_00001_aligned.jpg', 'Image/aligned/train_00003_aligned.jpg']);
    expect(second.skipped).toEqual(first.skipped);
    expect(second.skipped[0]!.file).toBe('Image/aligned/train_00002_aligned.jpg');
    await expectError(loadDataset(`rafdb:${d}`, { imageSize: 8, split: 'train', cacheDir }), `Image/aligned/train_00002_aligned.jpg: cannot decode image (listed at ${LABEL_FILE}:2)`);
  });
});
