/**
 * PNG encode/decode helpers around `pngjs` (pure JavaScript; uses Node's zlib, so Node/Bun only).
 * Images in this project are CHW float RGB in [0, 1]; PNGs are 8-bit RGBA.
 */
import { PNG } from 'pngjs';

export interface Rgba8Image {
  width: number;
  height: number;
  /** Row-major RGBA, 4 bytes per pixel. */
  data: Uint8Array;
}

/** Float CHW RGB [3, H, W] in [0, 1] → 8-bit RGBA (alpha 255), rounding and clamping. */
export function chwToRgba8(image: Float32Array, width: number, height: number): Uint8Array {
  const plane = width * height;
  if (image.length !== 3 * plane) {
    throw new Error(`chwToRgba8: image has ${image.length} values, expected 3×${height}×${width} = ${3 * plane}`);
  }
  const out = new Uint8Array(4 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const v = image[c * plane + i]!;
      out[4 * i + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    out[4 * i + 3] = 255;
  }
  return out;
}

/** 8-bit RGBA → float CHW RGB [3, H, W] in [0, 1] (alpha is dropped). */
export function rgba8ToChw(data: Uint8Array, width: number, height: number): Float32Array {
  const plane = width * height;
  if (data.length !== 4 * plane) throw new Error(`rgba8ToChw: data has ${data.length} bytes, expected 4×${height}×${width}`);
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = data[4 * i + c]! / 255;
  return out;
}

/** Encodes 8-bit RGBA to PNG bytes. */
export function encodePng(img: Rgba8Image): Uint8Array {
  if (img.data.length !== 4 * img.width * img.height) {
    throw new Error(`encodePng: data has ${img.data.length} bytes, expected 4×${img.height}×${img.width}`);
  }
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/**
 * Decodes any PNG (grey, palette, 16-bit, with or without alpha) to 8-bit RGBA. `what` (the file's
 * path) names the source in the error a corrupt, truncated or empty PNG throws.
 */
export function decodePng(bytes: Uint8Array, what = 'PNG data'): Rgba8Image {
  let png: PNG;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (err) {
    throw new Error(`${what}: cannot decode PNG (${(err as Error).message})`);
  }
  return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
}

/** Float CHW RGB [3, H, W] in [0, 1] → PNG bytes. */
export function encodePngChw(image: Float32Array, width: number, height: number): Uint8Array {
  return encodePng({ width, height, data: chwToRgba8(image, width, height) });
}

/** PNG bytes → float CHW RGB [3, H, W] in [0, 1]; `what` as for decodePng. */
export function decodePngChw(bytes: Uint8Array, what?: string): { width: number; height: number; image: Float32Array } {
  const img = decodePng(bytes, what);
  return { width: img.width, height: img.height, image: rgba8ToChw(img.data, img.width, img.height) };
}
