/**
 * Image decoding/resizing (sharp/libvips), the packed in-memory dataset the loaders return, and the
 * on-disk cache of decoded, resized images. Every image file the Bun side reads (datasets, `predict`,
 * `landmarks`, `udc`, tests, fixture scripts) is decoded here; the browser demo decodes through the
 * page's canvas (web/images.ts), since libvips is a native library.
 *
 * Pixels are kept as 8-bit CHW: sharp's output is 8-bit anyway, so this is exact and a quarter of the
 * memory of float (FERPlus at 112×112 would be 4.3 GB as float32); `get()` converts to float [0, 1].
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { PixelBox } from '../../model/landmarks/face-detector.ts';
import type { ChwImage } from '../../model/landmarks/face-landmark-net.ts';
import type { Dataset, Sample } from './dataset.ts';
import type { SkippedItem } from './source.ts';

export interface ResizeOptions {
  /** Output side length. */
  size: number;
  /** When set, first crop a centred square of side `centerCrop × min(width, height)`; (0, 1]. */
  centerCrop?: number;
}

/**
 * Decodes an encoded image (JPEG, PNG, WebP, TIFF; EXIF orientation applied) to 8-bit CHW RGB,
 * resized to size×size with bilinear interpolation (libvips' linear kernel, which widens when
 * downscaling, so large reductions are antialiased). Corrupt or truncated files throw.
 */
/** The one decoder: sharp/libvips; a truncated or corrupt file fails instead of decoding partly. */
const decoder = (bytes: Uint8Array) => sharp(bytes, { failOn: 'warning', autoOrient: true });

export async function decodeImageFile(bytes: Uint8Array, opts: ResizeOptions): Promise<Uint8Array> {
  let img = decoder(bytes);
  if (opts.centerCrop !== undefined) {
    const meta = await img.metadata();
    const w = meta.autoOrient?.width ?? meta.width;
    const h = meta.autoOrient?.height ?? meta.height;
    if (!w || !h) throw new Error('image has no size');
    const side = Math.max(1, Math.round(opts.centerCrop * Math.min(w, h)));
    img = img.extract({ left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side });
  }
  const { data, info } = await img
    .toColourspace('srgb')
    .removeAlpha()
    .resize(opts.size, opts.size, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== opts.size || info.height !== opts.size) {
    throw new Error(`decoder returned ${info.width}×${info.height}×${info.channels}, expected ${opts.size}×${opts.size}×3`);
  }
  return hwcToChw(data, opts.size * opts.size);
}

/** An error naming the image file: `<path>: cannot read|decode image (<cause>)`. */
export function imageFileError(path: string, action: 'read' | 'decode', err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  return new Error(`${path}: cannot ${action} image (${action === 'read' && e?.code ? e.code : (e?.message ?? String(err))})`);
}

async function readImageBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw imageFileError(path, 'read', err);
  }
}

/** Reads and decodes an image file (see decodeImageFile); every error names the file. */
export async function readImageFile(path: string, opts: ResizeOptions): Promise<Uint8Array> {
  const bytes = await readImageBytes(path);
  try {
    return await decodeImageFile(bytes, opts);
  } catch (err) {
    throw imageFileError(path, 'decode', err);
  }
}

/** An image at its own size, 8-bit RGB, HWC. */
export interface Rgb8Image {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/**
 * Decodes encoded image bytes (PNG, JPEG, WebP, TIFF; EXIF orientation applied) at their own size to
 * 8-bit RGB, HWC; a corrupt, truncated or empty image throws `<what>: cannot decode image (<cause>)`.
 */
export async function decodeImage(bytes: Uint8Array, what = 'image data'): Promise<Rgb8Image> {
  try {
    const { data, info } = await decoder(bytes).toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`decoder returned ${info.channels} channels, expected 3`);
    return { width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw imageFileError(what, 'decode', err);
  }
}

/** decodeImage as CHW RGB float in [0, 1] (what the landmark and recognition networks take). */
export async function decodeImageChw(bytes: Uint8Array, what?: string): Promise<ChwImage> {
  const { width, height, rgb } = await decodeImage(bytes, what);
  const plane = width * height;
  return { width, height, image: Float32Array.from(hwcToChw(rgb, plane), (v) => v / 255) };
}

/** Reads and decodes an image file at its own size to 8-bit RGB, HWC; every error names the file. */
export async function readImageFileRgb(path: string): Promise<Rgb8Image> {
  return decodeImage(await readImageBytes(path), path);
}

/** Reads and decodes an image file at its own size to CHW RGB float in [0, 1]; every error names the file. */
export async function readImageChw(path: string): Promise<ChwImage> {
  return decodeImageChw(await readImageBytes(path), path);
}

/**
 * A square region of the image (it may reach past the borders: edge pixels are repeated there),
 * rounded to whole pixels and resized to size×size with libvips' linear kernel as the dataset
 * loaders resize: CHW in [0, 1], quantised to 8 bits like a decoded file.
 */
export async function cropResized(img: ChwImage, box: PixelBox, size: number): Promise<Float32Array> {
  const x0 = Math.round(box.x);
  const y0 = Math.round(box.y);
  const side = Math.max(1, Math.round(box.width));
  const ix = Math.max(0, x0);
  const iy = Math.max(0, y0);
  const iw = Math.min(img.width, x0 + side) - ix;
  const ih = Math.min(img.height, y0 + side) - iy;
  if (iw < 1 || ih < 1) throw new Error(`cropResized: square ${JSON.stringify(box)} does not overlap the ${img.width}×${img.height} image`);
  const plane = img.width * img.height;
  const hwc = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) hwc[3 * i + c] = Math.round(255 * Math.min(1, Math.max(0, img.image[c * plane + i]!)));
  // Two passes: libvips extends after resizing within one pipeline.
  const raw = { width: img.width, height: img.height, channels: 3 as const };
  const square = await sharp(hwc, { raw })
    .extract({ left: ix, top: iy, width: iw, height: ih })
    .extend({ left: ix - x0, top: iy - y0, right: x0 + side - (ix + iw), bottom: y0 + side - (iy + ih), extendWith: 'copy' })
    .raw()
    .toBuffer();
  const { data } = await sharp(square, { raw: { width: side, height: side, channels: 3 } })
    .resize(size, size, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return Float32Array.from(hwcToChw(data, size * size), (v) => v / 255);
}

/** Space-separated grey values (0..255) of a width×height image → bytes; throws naming the first bad value. */
export function parseGreyText(text: string, width: number, height: number): Uint8Array {
  const values = text.trim().split(/\s+/);
  if (values.length !== width * height) throw new Error(`pixels has ${values.length} values, expected ${width * height} (${width}×${height})`);
  const grey = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (!Number.isInteger(v) || v < 0 || v > 255 || !/^\d+$/.test(values[i]!)) throw new Error(`pixel ${i} = ${JSON.stringify(values[i])} is not an integer in 0..255`);
    grey[i] = v;
  }
  return grey;
}

/** Raw 8-bit grey pixels → 8-bit CHW RGB (grey replicated), resized bilinearly to size×size. */
export async function resizeGrey(pixels: Uint8Array, width: number, height: number, opts: ResizeOptions): Promise<Uint8Array> {
  let img = sharp(pixels, { raw: { width, height, channels: 1 } });
  if (opts.centerCrop !== undefined) {
    const side = Math.max(1, Math.round(opts.centerCrop * Math.min(width, height)));
    img = img.extract({ left: Math.floor((width - side) / 2), top: Math.floor((height - side) / 2), width: side, height: side });
  }
  const plane = opts.size * opts.size;
  if (width === opts.size && height === opts.size && opts.centerCrop === undefined) {
    if (pixels.length !== plane) throw new Error(`grey image has ${pixels.length} pixels, expected ${width}×${height}`);
    const out = new Uint8Array(3 * plane);
    for (let c = 0; c < 3; c++) out.set(pixels, c * plane);
    return out;
  }
  // libvips widens the grey band to sRGB on output; every channel carries the same value.
  const { data, info } = await img
    .resize(opts.size, opts.size, { fit: 'fill', kernel: 'linear' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || data.length !== 3 * plane) throw new Error(`grey resize returned ${info.width}×${info.height}×${info.channels}, expected ${opts.size}×${opts.size}×3`);
  return hwcToChw(data, plane);
}

function hwcToChw(hwc: Uint8Array, plane: number): Uint8Array {
  const out = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    out[i] = hwc[3 * i]!;
    out[plane + i] = hwc[3 * i + 1]!;
    out[2 * plane + i] = hwc[3 * i + 2]!;
  }
  return out;
}

/** Per-load facts the loaders attach to the dataset they return. */
export interface LoadReport {
  /** Human-readable: images read per split and class, rows dropped by format rules, skipped items. */
  summary: string;
  /** Bad items skipped under `skipBad` (empty otherwise: bad items throw). */
  skipped: SkippedItem[];
  /** Images per canonical class index. */
  counts: number[];
  /** Item file names (relative to the dataset directory), parallel to the samples. */
  files: string[];
  /** Images decoded by this load (0 when every image came from the cache). */
  decoded: number;
  fromCache: boolean;
  /** Identifies the decoded pixels (source, split, size, item list and file stamps): keys derived caches. */
  key: string;
}

/** An in-memory dataset of 8-bit CHW images; `get()` returns float CHW RGB in [0, 1] (a fresh array). */
export class PackedImageDataset implements Dataset, LoadReport {
  readonly length: number;
  constructor(
    readonly name: string,
    readonly imageSize: number,
    readonly numClasses: number,
    /** n × 3 × S × S bytes. */
    readonly pixels: Uint8Array,
    readonly labels: Int32Array,
    readonly report: Omit<LoadReport, 'counts'>,
  ) {
    this.length = labels.length;
    const per = 3 * imageSize * imageSize;
    if (pixels.length !== this.length * per) throw new Error(`${name}: ${pixels.length} bytes for ${this.length} images of ${per}`);
  }
  get summary(): string {
    return this.report.summary;
  }
  get skipped(): SkippedItem[] {
    return this.report.skipped;
  }
  get files(): string[] {
    return this.report.files;
  }
  get decoded(): number {
    return this.report.decoded;
  }
  get fromCache(): boolean {
    return this.report.fromCache;
  }
  get key(): string {
    return this.report.key;
  }
  get counts(): number[] {
    const c = new Array<number>(this.numClasses).fill(0);
    for (const l of this.labels) c[l]!++;
    return c;
  }
  get(index: number): Sample {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new Error(`${this.name}: index ${index} out of range (0..${this.length - 1})`);
    }
    const per = 3 * this.imageSize * this.imageSize;
    const src = this.pixels.subarray(index * per, (index + 1) * per);
    const image = new Float32Array(per);
    for (let i = 0; i < per; i++) image[i] = src[i]! / 255;
    return { image, landmarks: null, label: this.labels[index]! };
  }
}

// ---------------------------------------------------------------------------------------------
// Cache: one file per (source, split, size, item list), framed (readFramedFile) with n × 3 × S × S
// bytes of CHW pixels as the payload.

const CACHE_MAGIC = 'LRDIFDS1';
/** Bump when the decoding pipeline changes, so old caches are not reused. */
const CACHE_VERSION = 1;

export interface CacheHeader {
  key: string;
  imageSize: number;
  labels: number[];
  files: string[];
  /** Items that failed to decode (recorded so a cached load reports them too). */
  decodeFailures: SkippedItem[];
}

export function cacheKey(parts: readonly string[]): string {
  const h = createHash('sha256');
  h.update(`v${CACHE_VERSION}\0`);
  for (const p of parts) h.update(p + '\0');
  return h.digest('hex');
}

export function cachePath(cacheDir: string, label: string, key: string): string {
  return join(cacheDir, `${label.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${key.slice(0, 20)}.bin`);
}

/**
 * A framed cache file: 8-byte magic, u32 LE header length, JSON header, zero padding to a multiple
 * of 8, then the payload. Null when the file is missing, truncated, of another kind, or its header
 * is not valid JSON (the caller then rebuilds it).
 */
export async function readFramedFile<H>(path: string, magic: string): Promise<{ header: H; payload: Uint8Array } | null> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    return null;
  }
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== magic) return null;
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLen > bytes.length) return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen))) as H;
    return { header, payload: bytes.subarray(align8(12 + headerLen)) };
  } catch {
    return null;
  }
}

/** Writes a framed cache file (see readFramedFile) atomically: temp file + rename, creating the directory. */
export async function writeFramedFile(path: string, magic: string, header: unknown, payload: Uint8Array): Promise<void> {
  if (magic.length !== 8) throw new Error(`writeFramedFile: magic must be 8 characters, got ${JSON.stringify(magic)}`);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = align8(12 + json.length);
  const out = new Uint8Array(start + payload.length);
  out.set(new TextEncoder().encode(magic), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(payload, start);
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, out);
  await rename(tmp, path);
}

/** Reads a decoded-image cache file; null when it is missing, truncated, or for another key (then it is rebuilt). */
export async function readCache(path: string, key: string): Promise<{ header: CacheHeader; pixels: Uint8Array } | null> {
  const f = await readFramedFile<CacheHeader>(path, CACHE_MAGIC);
  if (!f || f.header.key !== key) return null;
  const need = f.header.labels.length * 3 * f.header.imageSize * f.header.imageSize;
  if (f.payload.length !== need) return null;
  return { header: f.header, pixels: f.payload };
}

/** Writes a decoded-image cache file atomically. */
export async function writeCache(path: string, header: CacheHeader, pixels: Uint8Array): Promise<void> {
  await writeFramedFile(path, CACHE_MAGIC, header, pixels);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
