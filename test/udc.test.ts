import { describe, it, expect } from 'vitest';
import { fft1d, fft2d, udcPsf, apertureMask, UDC_PANELS, psfKernelSize, type UdcPanel } from '../src/train/data/psf.ts';
import { degradeUdc, udcImageParams, UDC_NOISE_BASE } from '../src/train/data/udc.ts';
import { hostRandomNormal } from '../src/engine/ops/random.ts';
import { SHADER_NAMES } from '../src/engine/shaders.ts';
import { freshSeed, getEngine, rng, uniform, read } from './helpers.ts';

/** Naive O(n²) DFT, the reference for the FFT. */
function dft(re: ArrayLike<number>, im: ArrayLike<number>, inverse = false): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    for (let j = 0; j < n; j++) {
      const a = (sign * 2 * Math.PI * ((k * j) % n)) / n;
      outRe[k] += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      outIm[k] += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
  }
  return [outRe, outIm];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('FFT', () => {
  it('fft1d matches a naive DFT (forward and inverse) for n = 1 … 128', () => {
    const r = rng(freshSeed('fft1d'));
    for (const n of [1, 2, 4, 8, 16, 32, 128]) {
      for (const inverse of [false, true]) {
        const re = uniform(r, n);
        const im = uniform(r, n);
        const [refRe, refIm] = dft(re, im, inverse);
        const gotRe = Float64Array.from(re);
        const gotIm = Float64Array.from(im);
        fft1d(gotRe, gotIm, inverse);
        expect(maxAbsDiff(gotRe, refRe), `n=${n} inverse=${inverse} re`).toBeLessThan(1e-10 * n);
        expect(maxAbsDiff(gotIm, refIm), `n=${n} inverse=${inverse} im`).toBeLessThan(1e-10 * n);
      }
    }
  });

  it('fft2d matches a naive 2-D DFT and inverts (scaled by n²)', () => {
    const r = rng(freshSeed('fft2d'));
    const n = 8;
    const re = uniform(r, n * n);
    const im = uniform(r, n * n);
    // Reference: DFT of every row, then of every column.
    const rows = Array.from({ length: n }, (_, y) => dft(re.subarray(y * n, (y + 1) * n), im.subarray(y * n, (y + 1) * n)));
    const refRe = new Float64Array(n * n);
    const refIm = new Float64Array(n * n);
    for (let x = 0; x < n; x++) {
      const [cr, ci] = dft(rows.map((row) => row[0][x]!), rows.map((row) => row[1][x]!));
      for (let y = 0; y < n; y++) {
        refRe[y * n + x] = cr[y]!;
        refIm[y * n + x] = ci[y]!;
      }
    }
    const gotRe = Float64Array.from(re);
    const gotIm = Float64Array.from(im);
    fft2d(gotRe, gotIm, n);
    expect(maxAbsDiff(gotRe, refRe)).toBeLessThan(1e-10);
    expect(maxAbsDiff(gotIm, refIm)).toBeLessThan(1e-10);
    fft2d(gotRe, gotIm, n, true);
    expect(maxAbsDiff(gotRe.map((v) => v / (n * n)), re)).toBeLessThan(1e-12);
    expect(maxAbsDiff(gotIm.map((v) => v / (n * n)), im)).toBeLessThan(1e-12);
  });

  it('rejects lengths that are not powers of two', () => {
    expect(() => fft1d(new Float64Array(12), new Float64Array(12))).toThrow(/fft1d: length 12 is not a power of two/);
  });
});

describe('display apertures and PSFs', () => {
  it('apertures are periodic masks in [0, 1] with a partial open area', () => {
    for (const panel of UDC_PANELS) {
      const n = 64;
      const a = apertureMask(panel, n, 16);
      const open = a.reduce((s, v) => s + v, 0) / a.length;
      expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a)).toBeLessThanOrEqual(1);
      expect(open, `${panel} open fraction`).toBeGreaterThan(0.05);
      expect(open, `${panel} open fraction`).toBeLessThan(0.6);
      for (let y = 0; y < n - 16; y += 3) {
        for (let x = 0; x < n - 16; x += 5) {
          expect(a[y * n + x + 16], `${panel} (${x}, ${y}) + 16 columns`).toBe(a[y * n + x]);
          expect(a[(y + 16) * n + x], `${panel} (${x}, ${y}) + 16 rows`).toBe(a[y * n + x]);
        }
      }
    }
  });

  it('each panel and channel PSF is non-negative, sums to 1, is centro-symmetric and spreads (not a delta)', () => {
    for (const panel of UDC_PANELS) {
      for (const [h, w] of [[112, 112], [64, 80]] as const) {
        const psf = udcPsf(panel, h, w);
        const k = psf.size;
        expect(k).toBe(psfKernelSize(Math.min(h, w)));
        expect(k % 2).toBe(1);
        const r = (k - 1) / 2;
        for (let c = 0; c < 3; c++) {
          const ker = psf.kernels.subarray(c * k * k, (c + 1) * k * k);
          const what = `${panel} ${h}x${w} channel ${c}`;
          expect(Math.min(...ker), what).toBeGreaterThanOrEqual(0);
          expect(Math.abs(ker.reduce((s, v) => s + v, 0) - 1), what).toBeLessThan(1e-5);
          for (let i = 0; i < k * k; i++) expect(Math.abs(ker[i]! - ker[k * k - 1 - i]!), what).toBeLessThan(1e-6);
          // Real spread: the centre pixel holds well under half the energy and > 20 % lies beyond radius 2.
          expect(ker[r * k + r]!, what).toBeLessThan(0.5);
          let far = 0;
          for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) if (Math.hypot(x - r, y - r) > 2) far += ker[y * k + x]!;
          expect(far, what).toBeGreaterThan(0.2);
        }
        // Longer wavelengths diffract further: red's second moment exceeds blue's.
        const spread = (c: number) => {
          let m = 0;
          for (let y = 0; y < k; y++) for (let x = 0; x < k; x++) m += psf.kernels[c * k * k + y * k + x]! * ((x - r) ** 2 + (y - r) ** 2);
          return m;
        };
        expect(spread(0), `${panel} red vs blue spread`).toBeGreaterThan(spread(2));
      }
    }
  });

  it('names the bad panel', () => {
    expect(() => udcPsf('lcd' as UdcPanel, 112)).toThrow(/udcPsf: unknown panel "lcd"/);
  });
});

/** Float64 reference of the whole pipeline (same host parameters, same Philox normals). */
function referenceUdc(x: Float64Array, b: number, h: number, w: number, panel: UdcPanel, seed: number, offset: number, gamma: number): Float64Array {
  const psf = udcPsf(panel, h, w);
  const k = psf.size;
  const r = (k - 1) / 2;
  const noise = hostRandomNormal(b * 3 * h * w, seed, UDC_NOISE_BASE + offset * 3 * h * w);
  const out = new Float64Array(x.length);
  for (let n = 0; n < b; n++) {
    const p = udcImageParams(panel, seed, offset + n);
    const [tr, tg, tb] = p.transmittance.map((v) => Math.fround(v));
    const t = [tr!, tg!, tb!];
    for (let c = 0; c < 3; c++) {
      const plane = (n * 3 + c) * h * w;
      const lin = (yy: number, xx: number) => x[plane + Math.min(h - 1, Math.max(0, yy)) * w + Math.min(w - 1, Math.max(0, xx))]! ** gamma;
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          let s = 0;
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) s += psf.kernels[c * k * k + i * k + j]! * lin(y + i - r, xx + j - r);
          s *= t[c]!;
          const sigma = Math.sqrt(Math.fround(p.shotVar) * Math.max(s, 0) + Math.fround(p.readVar));
          const v = Math.min(1, Math.max(0, Math.fround(p.gain) * (s + sigma * noise[plane + y * w + xx]!)));
          out[plane + y * w + xx] = Math.round(v ** (1 / gamma) * 255) / 255;
        }
      }
    }
  }
  return out;
}

describe('degradeUdc', () => {
  it('matches a float64 reference of the pipeline (replicate padding, PSF, noise stream, gain, 8-bit)', async () => {
    const e = await getEngine();
    const seed = freshSeed('udc reference');
    const r = rng(seed);
    for (const panel of UDC_PANELS) {
      const [b, h, w, offset] = [2, 20, 23, 5];
      const x = uniform(r, b * 3 * h * w, 0, 1).map((v) => Math.fround(v));
      await e.scope(async () => {
        const out = await read(degradeUdc(e, e.tensor(Float32Array.from(x), [b, 3, h, w]), { panel, seed, offset }));
        const ref = referenceUdc(x, b, h, w, panel, seed, offset, 2.2);
        // f32 vs f64 can only flip values sitting on a rounding boundary, by one level.
        expect(maxAbsDiff(out, ref), panel).toBeLessThan(1 / 255 + 1e-6);
        let same = 0;
        for (let i = 0; i < out.length; i++) if (Math.abs(out[i]! - ref[i]!) < 1e-6) same++;
        expect(same / out.length, `${panel} fraction identical to the reference`).toBeGreaterThan(0.99);
      });
    }
  });

  it('constant image: mean = gain·transmittance·value and variance = gain²(a·s + b) + 1/(12·255²), per image and channel', async () => {
    const e = await getEngine();
    const seed = freshSeed('udc constant');
    const [b, h, w, value] = [4, 48, 48, 0.5];
    const n = h * w;
    let checked = 0;
    for (const panel of UDC_PANELS) {
      await e.scope(async () => {
        const out = await read(degradeUdc(e, e.fill(e.empty([b, 3, h, w]), value), { panel, seed, gamma: 1 }));
        for (let i = 0; i < b; i++) {
          const p = udcImageParams(panel, seed, i);
          for (let c = 0; c < 3; c++) {
            const s = p.transmittance[c]! * value;
            const mean = p.gain * s;
            const sd = p.gain * Math.sqrt(p.shotVar * s + p.readVar);
            if (mean - 5 * sd < 0 || mean + 5 * sd > 1) continue; // clamping would bias the moments
            const v = out.subarray((i * 3 + c) * n, (i * 3 + c + 1) * n);
            const m = v.reduce((a, x) => a + x, 0) / n;
            const varOut = v.reduce((a, x) => a + (x - m) ** 2, 0) / (n - 1);
            const expectVar = sd * sd + 1 / (12 * 255 * 255);
            const what = `${panel} image ${i} channel ${c}: mean ${m.toFixed(5)} vs ${mean.toFixed(5)}, var ${varOut.toExponential(3)} vs ${expectVar.toExponential(3)}`;
            expect(Math.abs(m - mean), what).toBeLessThan(5 * Math.sqrt(expectVar / n) + 1e-3);
            expect(Math.abs(varOut - expectVar), what).toBeLessThan(6 * Math.sqrt(2 / n) * expectVar + 2e-6);
            checked++;
          }
        }
      });
    }
    expect(checked, 'planes whose moments were checked').toBeGreaterThanOrEqual(12);
  });

  it('is seeded: same seed → identical, other seed → different noise; offsets address images globally', async () => {
    const e = await getEngine();
    const seed = freshSeed('udc determinism');
    const r = rng(seed);
    const [b, h, w] = [3, 17, 19];
    const x = e.tensor(Float32Array.from(uniform(r, b * 3 * h * w, 0.2, 0.8)), [b, 3, h, w]);
    for (const panel of UDC_PANELS) {
      await e.scope(async () => {
        const a = await read(degradeUdc(e, x, { panel, seed }));
        const again = await read(degradeUdc(e, x, { panel, seed }));
        const other = await read(degradeUdc(e, x, { panel, seed: seed + 1 }));
        expect(Array.from(again)).toEqual(Array.from(a));
        let differ = 0;
        for (let i = 0; i < a.length; i++) if (a[i] !== other[i]) differ++;
        expect(differ / a.length, `${panel}: fraction changed by another seed`).toBeGreaterThan(0.5);
        // Images 1 and 2 of the batch at offset 0 = images 0 and 1 of the last two at offset 1.
        const tail = e.tensor(Float32Array.from((await x.read()) as Float32Array).subarray(3 * h * w), [2, 3, h, w]);
        const shifted = await read(degradeUdc(e, tail, { panel, seed, offset: 1 }));
        expect(Array.from(shifted)).toEqual(Array.from(a.subarray(3 * h * w)));
      });
    }
    x.dispose();
  });

  it('outputs lie in [0, 1] on multiples of 1/255; strength 0 is the identity up to quantisation', async () => {
    const e = await getEngine();
    const seed = freshSeed('udc range');
    const r = rng(seed);
    const [b, h, w] = [2, 33, 30];
    const raw = uniform(r, b * 3 * h * w, 0, 1);
    for (let i = 0; i < raw.length; i += 7) raw[i] = i % 2 ? 0 : 1; // saturated pixels too
    const x = e.tensor(Float32Array.from(raw), [b, 3, h, w]);
    await e.scope(async () => {
      for (const panel of UDC_PANELS) {
        for (const strength of [1, 0.5]) {
          const out = await read(degradeUdc(e, x, { panel, seed, strength }));
          expect(out.every((v) => v >= 0 && v <= 1 && Math.abs(v * 255 - Math.round(v * 255)) < 1e-4), `${panel} strength ${strength}`).toBe(true);
        }
        // 8-bit inputs come back unchanged at strength 0 (γ round trip error ≪ half a level).
        const q = Float32Array.from(raw, (v) => Math.round(v * 255) / 255);
        const out0 = await read(degradeUdc(e, e.tensor(q, [b, 3, h, w]), { panel, seed, strength: 0 }));
        expect(maxAbsDiff(out0, q), panel).toBeLessThan(1e-6);
      }
    });
    x.dispose();
  });

  it('strength scales the darkening: brightness falls monotonically from 0 to 1', async () => {
    const e = await getEngine();
    const seed = freshSeed('udc strength');
    await e.scope(async () => {
      const x = e.fill(e.empty([2, 3, 24, 24]), 0.6);
      for (const panel of UDC_PANELS) {
        const means = [];
        for (const strength of [0, 0.5, 1]) {
          const out = await read(degradeUdc(e, x, { panel, seed, strength }));
          means.push(out.reduce((a, v) => a + v, 0) / out.length);
        }
        expect(means[0]!, panel).toBeCloseTo(Math.round(0.6 * 255) / 255, 5);
        expect(means[1]!, `${panel} ${means}`).toBeLessThan(means[0]!);
        expect(means[2]!, `${panel} ${means}`).toBeLessThan(means[1]!);
      }
    });
  });

  it('rejects a bad panel, non-[B,3,H,W] inputs and out-of-range strength with messages naming the shapes', async () => {
    const e = await getEngine();
    await e.scope(() => {
      const ok = e.empty([1, 3, 8, 8]);
      expect(() => degradeUdc(e, ok, { panel: 'lcd' as UdcPanel, seed: 1 })).toThrow(/degradeUdc: unknown panel "lcd"/);
      expect(() => degradeUdc(e, e.empty([2, 4, 8, 8]), { panel: 'toled', seed: 1 })).toThrow(/degradeUdc\(images \[2, 4, 8, 8\].*must be \[B, 3, H, W\]/);
      expect(() => degradeUdc(e, e.empty([3, 8, 8]), { panel: 'poled', seed: 1 })).toThrow(/degradeUdc\(images \[3, 8, 8\].*must be \[B, 3, H, W\]/);
      expect(() => degradeUdc(e, ok, { panel: 'toled', seed: 1, strength: 1.5 })).toThrow(/strength 1.5 must be in \[0, 1\]/);
      expect(() => degradeUdc(e, ok, { panel: 'toled', seed: -1 })).toThrow(/seed must be an integer/);
    });
  });

  it("ships its own kernel: the engine's bundle has no udc shader, degradeUdc registers it, other WGSL under its name is refused", async () => {
    expect(SHADER_NAMES).not.toContain('udc');
    const e = await getEngine();
    await e.scope(async () => {
      const out = degradeUdc(e, e.fill(e.empty([1, 3, 8, 8]), 0.5), { panel: 'toled', seed: 3 });
      expect((await read(out)).every((v) => v >= 0 && v <= 1)).toBe(true);
    });
    expect(e.kernel('udc', 'attenuate_pad').path).toBe('src/train/data/udc.wgsl');
    expect(() => e.registerKernel('udc', '@compute @workgroup_size(1) fn attenuate_pad() {}')).toThrow(/a kernel named "udc" is already registered/);
  });
});
