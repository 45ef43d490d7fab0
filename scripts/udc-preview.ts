/**
 * UDC degradation preview: a grid with one row per test image and the columns clean | T-OLED |
 * P-OLED, plus (right) the three PSFs of each panel, and per panel the mean brightness ratio
 * (UDC / clean) and PSNR of UDC vs clean over the test images.
 *
 *   bun scripts/udc-preview.ts [out.png] [--size 112] [--seed 7]
 *
 * Test images are generated here (smooth gradients, hard edges, fine stripes and a cartoon face),
 * so the preview needs no dataset.
 */
import { writeFileSync } from 'node:fs';
import { Engine } from '../src/engine/index.ts';
import { degradeUdc, UDC_PANELS } from '../src/train/data/udc.ts';
import { udcPsf } from '../src/train/data/psf.ts';
import { encodePng } from '../src/train/data/png.ts';

const args = process.argv.slice(2);
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const outPath = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1]!.startsWith('--'))) ?? 'udc-preview.png';
const size = flag('--size', 112);
const seed = flag('--seed', 7);

/** Synthetic test images [N, 3, S, S] in [0, 1]. */
export function previewImages(s: number): { data: Float32Array; count: number } {
  const count = 4;
  const data = new Float32Array(count * 3 * s * s);
  const put = (i: number, x: number, y: number, rgb: readonly number[]) => {
    for (let c = 0; c < 3; c++) data[((i * 3 + c) * s + y) * s + x] = Math.min(1, Math.max(0, rgb[c]!));
  };
  for (let y = 0; y < s; y++) {
    for (let x = 0; x < s; x++) {
      const u = x / (s - 1);
      const v = y / (s - 1);
      // 0: colour gradients.
      put(0, x, y, [u, v, 1 - 0.5 * (u + v)]);
      // 1: hard-edged shapes on a mid-grey background, a bright square and a dark bar.
      const inSquare = Math.abs(u - 0.35) < 0.18 && Math.abs(v - 0.4) < 0.18;
      const inBar = Math.abs(u - 0.75) < 0.06 && v > 0.15 && v < 0.85;
      const inDisc = Math.hypot(u - 0.4, v - 0.8) < 0.12;
      put(1, x, y, inSquare ? [0.95, 0.9, 0.85] : inBar ? [0.05, 0.05, 0.1] : inDisc ? [0.8, 0.2, 0.2] : [0.45, 0.5, 0.55]);
      // 2: stripes of decreasing period (resolution chart) over a vertical ramp.
      const period = 2 + Math.floor(u * 8);
      const stripe = Math.floor(x / period) % 2 === 0 ? 1 : 0;
      put(2, x, y, v < 0.5 ? [stripe * 0.9, stripe * 0.9, stripe * 0.9] : [0.2 + 0.6 * u, 0.2 + 0.6 * u, 0.2 + 0.6 * u]);
      // 3: cartoon face: skin ellipse, eyes, brows, mouth on a dark background.
      const fx = (u - 0.5) / 0.32;
      const fy = (v - 0.52) / 0.42;
      let rgb: number[] = [0.12, 0.14, 0.2];
      if (fx * fx + fy * fy < 1) rgb = [0.87, 0.68, 0.56 + 0.05 * fy];
      for (const ex of [0.37, 0.63]) {
        if (Math.hypot(u - ex, (v - 0.45) * 1.6) < 0.05) rgb = [0.95, 0.95, 0.95];
        if (Math.hypot(u - ex, v - 0.45) < 0.022) rgb = [0.15, 0.1, 0.08];
        if (Math.abs(u - ex) < 0.07 && Math.abs(v - 0.36) < 0.012) rgb = [0.3, 0.2, 0.15];
      }
      if (Math.abs(v - 0.72 - 0.25 * (u - 0.5) ** 2 * 4) < 0.018 && Math.abs(u - 0.5) < 0.12) rgb = [0.6, 0.2, 0.25];
      put(3, x, y, rgb);
    }
  }
  return { data, count };
}

export function psnr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10(1 / (se / a.length));
}

async function main(): Promise<void> {
  const e = await Engine.create({ log: false });
  const { data, count } = previewImages(size);
  const clean = e.tensor(data, [count, 3, size, size]);
  const columns: Float32Array[] = [data];
  for (const panel of UDC_PANELS) {
    const out = degradeUdc(e, clean, { panel, seed });
    const v = (await out.read()) as Float32Array;
    out.dispose();
    columns.push(v);
    let sumU = 0;
    let sumC = 0;
    for (let i = 0; i < v.length; i++) {
      sumU += v[i]!;
      sumC += data[i]!;
    }
    const perImage = Array.from({ length: count }, (_, i) => psnr(v.subarray(i * 3 * size * size, (i + 1) * 3 * size * size), data.subarray(i * 3 * size * size, (i + 1) * 3 * size * size)));
    console.log(`${panel}: brightness ratio ${(sumU / sumC).toFixed(3)}, PSNR ${psnr(v, data).toFixed(2)} dB (per image ${perImage.map((p) => p.toFixed(1)).join(', ')})`);
  }
  clean.dispose();

  // Grid: rows = images, columns = clean | toled | poled, 4-pixel gaps; a PSF strip at the bottom.
  const gap = 4;
  const cols = columns.length;
  const psfs = UDC_PANELS.map((p) => udcPsf(p, size, size));
  const k = psfs[0]!.size;
  const zoom = Math.max(1, Math.floor(size / k));
  const W = cols * size + (cols + 1) * gap;
  const H = count * size + (count + 1) * gap + k * zoom + gap;
  const rgb = new Uint8Array(W * H * 4).fill(255);
  for (let r = 0; r < count; r++) {
    for (let c = 0; c < cols; c++) {
      const img = columns[c]!;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const o = ((gap + r * (size + gap) + y) * W + gap + c * (size + gap) + x) * 4;
          for (let ch = 0; ch < 3; ch++) rgb[o + ch] = Math.round(255 * img[((r * 3 + ch) * size + y) * size + x]!);
        }
      }
    }
  }
  // PSF strip under the UDC columns: RGB PSF, log-scaled so the side lobes show.
  psfs.forEach((psf, pi) => {
    const max = Math.max(...psf.kernels);
    for (let y = 0; y < k * zoom; y++) {
      for (let x = 0; x < k * zoom; x++) {
        const o = ((gap + count * (size + gap) + y) * W + gap + (pi + 1) * (size + gap) + x) * 4;
        for (let ch = 0; ch < 3; ch++) {
          const v = psf.kernels[ch * k * k + Math.floor(y / zoom) * k + Math.floor(x / zoom)]! / max;
          rgb[o + ch] = Math.round(255 * Math.max(0, 1 + Math.log10(Math.max(v, 1e-4)) / 4));
        }
      }
    }
  });
  writeFileSync(outPath, encodePng({ width: W, height: H, data: rgb }));
  console.log(`wrote ${outPath} (${W}x${H}): rows = test images; columns = clean | T-OLED | P-OLED; bottom: log-scaled PSFs`);
}

if (import.meta.main) await main();
