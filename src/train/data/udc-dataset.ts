/**
 * `lrdif udc IN OUT`: a dataset degraded as an under-display camera would see it (degradeUdc), written
 * in the dataset's own layout so that the `--data` loader that reads IN reads OUT the same way:
 *  - every image file (the loaders' extensions) is degraded at its own size and written under the same
 *    relative path in the same format: a JPEG stays a JPEG (re-encoded at quality 95, 4:4:4 chroma),
 *    PNG stays PNG, WebP (lossless) and TIFF (LZW) likewise;
 *  - FERPlus's fer2013.csv has every 48×48 grey row degraded on its own line (as RGB, then back to
 *    grey by Rec. 601 luma: the panel's colour cast is lost, its blur, noise and exposure are kept);
 *  - every other file (RAF-DB's label list, fer2013new.csv, read-mes) is copied byte for byte.
 * Images are numbered in walk order (sorted files; a CSV's rows in turn) and image k gets the
 * degradation of global index k, so a conversion is a function of (IN, panel, strength, seed).
 * OUT must be new or empty and must not overlap IN.
 */
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import sharp from 'sharp';
import type { Engine } from '../../engine/index.ts';
import { FERPLUS_SIDE, PIXELS_FILE, PIXELS_HEADER, splitCsvLine } from './ferplus.ts';
import { parseGreyText, readImageFileRgb } from './images.ts';
import { encodePngChw } from './png.ts';
import { extensionOf, IMAGE_EXTENSIONS } from './source.ts';
import { degradeUdc, type UdcPanel } from './udc.ts';

export interface UdcConvertOptions {
  panel: UdcPanel;
  strength: number;
  seed: number;
  /** Images done / to do (image files and CSV rows). */
  onProgress?: (done: number, total: number) => void;
}

export interface UdcConversion {
  /** Image files degraded. */
  images: number;
  /** FER2013 CSV rows degraded. */
  csvRows: number;
  /** Other files copied unchanged (relative to IN). */
  copied: string[];
  meanPsnr: number;
  /** Mean of (degraded brightness / clean brightness). */
  meanBrightnessRatio: number;
  /** Side-by-side clean | degraded pairs (hidden, so that no loader takes it for an item); null when no image was square. */
  preview: string | null;
}

/** Rows of fer2013.csv degraded per GPU batch. */
const CSV_BATCH = 64;
const PREVIEW_PAIRS = 8;
export const PREVIEW_FILE = '.udc-preview.png';

/** The path with symlinks resolved; for a path that does not exist yet, its nearest existing ancestor's. */
function realPath(p: string): string {
  const abs = resolve(p);
  if (existsSync(abs)) return realpathSync(abs);
  const parent = dirname(abs);
  return parent === abs ? abs : join(realPath(parent), basename(abs));
}

const within = (inner: string, outer: string) => inner === outer || inner.startsWith(outer.endsWith(sep) ? outer : outer + sep);

/** Refuses an OUT that would mix the output into IN (or IN into OUT) or overwrite files. */
export function checkUdcFolders(input: string, out: string): void {
  if (!existsSync(input) || !statSync(input).isDirectory()) throw new Error(`udc: input ${input} is not a directory`);
  const [rin, rout] = [realPath(input), realPath(out)];
  if (within(rout, rin)) throw new Error(`udc: output ${out} is ${rout === rin ? 'the input folder' : `inside the input folder ${input}`}: the degraded copies would be mixed into the dataset; choose a folder outside it`);
  if (within(rin, rout)) throw new Error(`udc: the input folder ${input} is inside the output ${out}; choose an output folder outside the input`);
  if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0)) {
    throw new Error(`udc: output ${out} already exists and is not an empty folder; choose a new folder (nothing is overwritten)`);
  }
}

/** Every file under `dir` (hidden ones too, symlinks followed), as sorted '/'-separated relative paths. */
function allFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(rel ? join(dir, rel) : dir).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(dir, r)).isDirectory()) out.push(...allFiles(dir, r));
    else out.push(r);
  }
  return out;
}

/** 8-bit RGB (HWC) in the format a file extension names. */
async function encodeAs(ext: string, rgb: Uint8Array, width: number, height: number): Promise<Uint8Array> {
  const img = sharp(rgb, { raw: { width, height, channels: 3 } });
  const f =
    ext === '.jpg' || ext === '.jpeg' ? img.jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    : ext === '.png' ? img.png()
    : ext === '.webp' ? img.webp({ lossless: true })
    : ext === '.tif' || ext === '.tiff' ? img.tiff({ compression: 'lzw' })
    : null;
  if (!f) throw new Error(`udc: no encoder for ${ext} files`);
  return new Uint8Array(await f.toBuffer());
}

/** Running PSNR / brightness statistics and the preview pairs. */
class Tally {
  count = 0;
  psnr = 0;
  ratio = 0;
  readonly pairs: { clean: Float32Array; degraded: Float32Array; side: number }[] = [];
  add(clean: Float32Array, degraded: Float32Array, width: number, height: number): void {
    let mse = 0, a = 0, c = 0;
    for (let k = 0; k < clean.length; k++) {
      mse += (degraded[k]! - clean[k]!) ** 2;
      a += degraded[k]!;
      c += clean[k]!;
    }
    this.psnr += 10 * Math.log10(1 / Math.max(mse / clean.length, 1e-12));
    this.ratio += a / Math.max(c, 1e-9);
    this.count++;
    const side = this.pairs[0]?.side ?? width;
    if (this.pairs.length < PREVIEW_PAIRS && width === height && width === side) this.pairs.push({ clean, degraded, side });
  }
  /** Pairs of (clean | UDC), one pair per row, as a PNG. */
  preview(): Uint8Array | null {
    if (this.pairs.length === 0) return null;
    const S = this.pairs[0]!.side;
    const rows = this.pairs.length;
    const img = new Float32Array(3 * rows * S * 2 * S);
    this.pairs.forEach((p, r) => {
      [p.clean, p.degraded].forEach((src, half) => {
        for (let ch = 0; ch < 3; ch++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) img[(ch * rows * S + r * S + y) * 2 * S + half * S + x] = src[(ch * S + y) * S + x]!;
      });
    });
    return encodePngChw(img, 2 * S, rows * S);
  }
}

/** Degrades a batch [n, 3, h, w] of images in [0, 1] as global images offset … offset + n − 1. */
async function degrade(e: Engine, chw: Float32Array, n: number, h: number, w: number, offset: number, o: UdcConvertOptions): Promise<Float32Array> {
  return e.noGrad(() => e.scope(async () => (await degradeUdc(e, e.tensor(chw, [n, 3, h, w]), { panel: o.panel, strength: o.strength, seed: o.seed, offset }).read()) as Float32Array));
}

function hwcToChwFloat(rgb: Uint8Array, plane: number): Float32Array {
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = rgb[3 * i + c]! / 255;
  return out;
}

function chwFloatToHwc(chw: Float32Array, plane: number): Uint8Array {
  const out = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[3 * i + c] = Math.round(255 * chw[c * plane + i]!);
  return out;
}

const csvField = (s: string) => (/[",]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

interface CsvRow {
  line: number;
  fields: string[];
  grey: Uint8Array;
}

/** fer2013.csv's lines, each data row's pixels parsed; a bad row throws naming file and line. */
function readPixelCsv(path: string, shown: string): { lines: string[]; eol: string; rows: CsvRow[] } {
  const text = readFileSync(path, 'utf8');
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((f) => f.trim()).join(',');
  if (header !== PIXELS_HEADER) throw new Error(`udc: ${shown}:1: header is ${JSON.stringify(header)}, expected "${PIXELS_HEADER}"`);
  const rows: CsvRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i]!.trim() === '') continue;
    const fields = splitCsvLine(lines[i]!);
    try {
      if (fields.length !== 3) throw new Error(`expected 3 fields (${PIXELS_HEADER}), got ${fields.length}`);
      rows.push({ line: i, fields, grey: parseGreyText(fields[1]!, FERPLUS_SIDE, FERPLUS_SIDE) });
    } catch (err) {
      throw new Error(`udc: ${shown}:${i + 1}: ${(err as Error).message}`);
    }
  }
  return { lines, eol, rows };
}

/** Degrades every row of a fer2013.csv into `dst`, line for line. */
async function convertPixelCsv(e: Engine, csv: ReturnType<typeof readPixelCsv>, dst: string, first: number, o: UdcConvertOptions, tally: Tally, progress: () => void): Promise<void> {
  const S = FERPLUS_SIDE;
  const plane = S * S;
  const out = csv.lines.slice();
  for (let b = 0; b < csv.rows.length; b += CSV_BATCH) {
    const batch = csv.rows.slice(b, b + CSV_BATCH);
    const clean = new Float32Array(batch.length * 3 * plane);
    batch.forEach((r, k) => {
      for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) clean[(3 * k + c) * plane + i] = r.grey[i]! / 255;
    });
    const deg = await degrade(e, clean, batch.length, S, S, first + b, o);
    batch.forEach((r, k) => {
      const d = deg.subarray(3 * k * plane, 3 * (k + 1) * plane);
      const grey = new Array<number>(plane);
      // Rec. 601 luma of the 8-bit channels, as a greyscale camera (or FER2013's own conversion) would record it.
      for (let i = 0; i < plane; i++) grey[i] = Math.round(255 * (0.299 * d[i]! + 0.587 * d[plane + i]! + 0.114 * d[2 * plane + i]!));
      out[r.line] = [csvField(r.fields[0]!), grey.join(' '), csvField(r.fields[2]!)].join(',');
      const back = new Float32Array(3 * plane);
      for (let c = 0; c < 3; c++) for (let i = 0; i < plane; i++) back[c * plane + i] = grey[i]! / 255;
      tally.add(clean.subarray(3 * k * plane, 3 * (k + 1) * plane), back, S, S);
      progress();
    });
  }
  const fd = openSync(dst, 'w');
  try {
    // Line by line: FER2013's CSV is ~300 MB, too big to join into one string comfortably.
    out.forEach((l, i) => writeSync(fd, i < out.length - 1 ? l + csv.eol : l));
  } finally {
    closeSync(fd);
  }
}

/** Converts the dataset folder `input` into `out` (see the module comment). */
export async function convertUdcDataset(e: Engine, input: string, out: string, o: UdcConvertOptions): Promise<UdcConversion> {
  checkUdcFolders(input, out);
  const files = allFiles(input);
  const images = files.filter((f) => IMAGE_EXTENSIONS.has(extensionOf(f)));
  const csvs = files.filter((f) => basename(f) === PIXELS_FILE).map((f) => ({ file: f, csv: readPixelCsv(join(input, f), f) }));
  const copied = files.filter((f) => !IMAGE_EXTENSIONS.has(extensionOf(f)) && basename(f) !== PIXELS_FILE);
  if (images.length === 0 && csvs.length === 0) throw new Error(`udc: ${input} holds no images (${[...IMAGE_EXTENSIONS].join(', ')}) and no ${PIXELS_FILE}`);
  const total = images.length + csvs.reduce((n, c) => n + c.csv.rows.length, 0);
  let done = 0;
  const progress = () => o.onProgress?.(++done, total);
  const tally = new Tally();
  mkdirSync(out, { recursive: true });
  for (const f of copied) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    copyFileSync(join(input, f), join(out, f));
  }
  for (let k = 0; k < images.length; k++) {
    const f = images[k]!;
    const { width, height, rgb } = await readImageFileRgb(join(input, f));
    const plane = width * height;
    const clean = hwcToChwFloat(rgb, plane);
    const deg = await degrade(e, clean, 1, height, width, k, o);
    mkdirSync(dirname(join(out, f)), { recursive: true });
    writeFileSync(join(out, f), await encodeAs(extensionOf(f), chwFloatToHwc(deg, plane), width, height));
    tally.add(clean, deg, width, height);
    progress();
  }
  let next = images.length;
  for (const { file, csv } of csvs) {
    mkdirSync(dirname(join(out, file)), { recursive: true });
    await convertPixelCsv(e, csv, join(out, file), next, o, tally, progress);
    next += csv.rows.length;
  }
  const png = tally.preview();
  if (png) writeFileSync(join(out, PREVIEW_FILE), png);
  return {
    images: images.length,
    csvRows: next - images.length,
    copied,
    meanPsnr: tally.psnr / Math.max(1, tally.count),
    meanBrightnessRatio: tally.ratio / Math.max(1, tally.count),
    preview: png ? join(out, PREVIEW_FILE) : null,
  };
}

/** One line for the console: what was converted and copied, and how strongly. */
export function udcSummary(r: UdcConversion, out: string, o: Pick<UdcConvertOptions, 'panel' | 'strength'>): string {
  const what = [`${r.images} image files`, ...(r.csvRows ? [`${r.csvRows} ${PIXELS_FILE} rows`] : [])].join(' and ');
  const copied = r.copied.length ? `; copied ${r.copied.length} other files unchanged (${r.copied.slice(0, 4).join(', ')}${r.copied.length > 4 ? ', …' : ''})` : '';
  return `degraded ${what} (${o.panel}, strength ${o.strength}): mean brightness ratio ${r.meanBrightnessRatio.toFixed(3)}, mean PSNR ${r.meanPsnr.toFixed(2)} dB → ${out}${copied}${r.preview ? `; preview ${r.preview}` : ''}`;
}
