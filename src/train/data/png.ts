/**
 * PNG encoding around `pngjs` (pure JavaScript, synchronous; uses Node's zlib, so Node/Bun only).
 * Images in this project are CHW float RGB in [0, 1]; PNGs are 8-bit RGBA. Decoding goes through
 * images.ts (sharp), the one decoder for every image file.
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

/** Encodes 8-bit RGBA to PNG bytes. */
export function encodePng(img: Rgba8Image): Uint8Array {
  if (img.data.length !== 4 * img.width * img.height) {
    throw new Error(`encodePng: data has ${img.data.length} bytes, expected 4×${img.height}×${img.width}`);
  }
  const png = new PNG({ width: img.width, height: img.height });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return new Uint8Array(PNG.sync.write(png));
}

/** Float CHW RGB [3, H, W] in [0, 1] → PNG bytes. */
export function encodePngChw(image: Float32Array, width: number, height: number): Uint8Array {
  return encodePng({ width, height, data: chwToRgba8(image, width, height) });
}
