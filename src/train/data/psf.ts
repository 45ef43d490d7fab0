/**
 * Point-spread functions of a camera behind an OLED display (reference §9.2, step 2), computed once
 * on the host. The display is a periodic aperture A (transparent gaps between the light-emitting
 * pixels and their wiring) over the lens pupil P; in the Fraunhofer regime the PSF is the far-field
 * intensity |FFT2(A·P)|², whose spatial scale on the sensor grows with the wavelength (position =
 * λ·f·frequency). Each colour channel integrates a band of wavelengths, which smears the
 * diffraction orders radially into coloured streaks, as real UDC PSFs show.
 */

export type UdcPanel = 'toled' | 'poled';
export const UDC_PANELS: readonly UdcPanel[] = ['toled', 'poled'];

export interface PanelOptics {
  /** Display pixel pitch on the aperture grid, in grid samples (the tile period). */
  period: number;
  /** Lens pupil diameter in display periods: fewer periods → a wider core around each order. */
  pupilPeriods: number;
  /** Distance of the first diffraction order from the centre at the reference wavelength, in pixels of a 112-pixel image. */
  orderPixelsAt112: number;
}

/** Grid size of the aperture simulation (power of two). */
export const PSF_GRID = 512;
/** Wavelength the order distance refers to (green), nm. */
export const REFERENCE_WAVELENGTH = 530;
/** Each channel's band (nm), sampled at evenly spaced wavelengths: R, G, B centred on 640/530/460 nm. */
export const CHANNEL_BANDS: readonly (readonly [number, number])[] = [[605, 675], [500, 560], [435, 485]];
const BAND_SAMPLES = 7;
/** Kernel width at 112×112 images (odd), scaled with image size and capped by the conv2d window. */
export const KERNEL_AT_112 = 31;
export const MAX_KERNEL = 31;

export const PANEL_OPTICS: Record<UdcPanel, PanelOptics> = {
  // Transparent OLED: a grid of vertical slits crossed by thinner horizontal ones; the slits
  // spread light mostly horizontally (and weaker vertically).
  toled: { period: 16, pupilPeriods: 8, orderPixelsAt112: 4 },
  // Pentile OLED: small openings between diamond-arranged sub-pixels; lower fill factor, so more
  // energy leaves the zeroth order and the image gets hazier.
  poled: { period: 16, pupilPeriods: 6, orderPixelsAt112: 3.5 },
};

export function checkPanel(op: string, panel: unknown): asserts panel is UdcPanel {
  if (panel !== 'toled' && panel !== 'poled') throw new Error(`${op}: unknown panel ${JSON.stringify(panel)} (expected 'toled' or 'poled')`);
}

// ------------------------------------------------------------------------------- FFT

/** In-place radix-2 complex FFT of length n = 2^m (forward: e^{-2πi kn/N}; inverse unscaled). */
export function fft1d(re: Float64Array, im: Float64Array, inverse = false, offset = 0, stride = 1, n = re.length): void {
  if (n < 1 || (n & (n - 1)) !== 0) throw new Error(`fft1d: length ${n} is not a power of two`);
  const at = (i: number) => offset + i * stride;
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      const a = at(i);
      const b = at(j);
      let t = re[a]!; re[a] = re[b]!; re[b] = t;
      t = im[a]!; im[a] = im[b]!; im[b] = t;
    }
  }
  const sign = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const ang = (sign * 2 * Math.PI) / len;
    for (let k = 0; k < half; k++) {
      // Twiddles from cos/sin per k (not a running product) keep the error at machine precision.
      const wr = Math.cos(ang * k);
      const wi = Math.sin(ang * k);
      for (let s = 0; s < n; s += len) {
        const a = at(s + k);
        const b = at(s + k + half);
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
}

/** In-place 2-D FFT of an n×n row-major complex array: every row, then every column. */
export function fft2d(re: Float64Array, im: Float64Array, n: number, inverse = false): void {
  if (re.length !== n * n || im.length !== n * n) throw new Error(`fft2d: arrays of ${re.length}/${im.length} values for a ${n}x${n} grid`);
  for (let r = 0; r < n; r++) fft1d(re, im, inverse, r * n, 1, n);
  for (let c = 0; c < n; c++) fft1d(re, im, inverse, c, n, n);
}

// ------------------------------------------------------------------------------- apertures

/** Transmission of one display tile at fractional position (u, v) ∈ [0, 1)² of a period. */
function tileTransmission(panel: UdcPanel, u: number, v: number): number {
  if (panel === 'toled') {
    // Vertical slit (30 % of the period wide, interrupted by row wiring) and a thinner horizontal slit.
    const vertical = Math.abs(u - 0.5) < 0.15 && Math.abs(v - 0.5) < 0.4;
    const horizontal = Math.abs(v - 0.06) < 0.06;
    return vertical || horizontal ? 1 : 0;
  }
  // Pentile: round openings at the corners/centre of the diamond lattice and smaller ones on the
  // edge midpoints (the gaps between the large green and the red/blue sub-pixels).
  const d = (x: number, y: number) => Math.hypot(u - x, v - y);
  const big = Math.min(d(0, 0), d(1, 0), d(0, 1), d(1, 1), d(0.5, 0.5));
  const small = Math.min(d(0.5, 0), d(0.5, 1), d(0, 0.5), d(1, 0.5));
  return big < 0.13 || small < 0.08 ? 1 : 0;
}

/**
 * The display aperture on an n×n grid: the tile repeated with period `period` samples, each sample
 * the tile's mean transmission over 4×4 sub-samples (greyscale edges, less aliasing).
 */
export function apertureMask(panel: UdcPanel, n = PSF_GRID, period = PANEL_OPTICS[panel].period): Float64Array {
  checkPanel('apertureMask', panel);
  const tile = new Float64Array(period * period);
  const ss = 4;
  for (let y = 0; y < period; y++) {
    for (let x = 0; x < period; x++) {
      let acc = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) acc += tileTransmission(panel, (x + (sx + 0.5) / ss) / period, (y + (sy + 0.5) / ss) / period);
      }
      tile[y * period + x] = acc / (ss * ss);
    }
  }
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) out[y * n + x] = tile[(y % period) * period + (x % period)]!;
  return out;
}

/** Mean transmission of the aperture (its open fraction). */
export function openFraction(panel: UdcPanel): number {
  const a = apertureMask(panel, PANEL_OPTICS[panel].period * 4);
  return a.reduce((s, v) => s + v, 0) / a.length;
}

/** Circular lens pupil of the given diameter (samples) centred on the grid, soft-edged by 4×4 sub-sampling. */
function pupil(n: number, diameter: number): Float64Array {
  const out = new Float64Array(n * n);
  const c = n / 2;
  const r2 = (diameter / 2) ** 2;
  const ss = 4;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let acc = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const dx = x + (sx + 0.5) / ss - c;
          const dy = y + (sy + 0.5) / ss - c;
          if (dx * dx + dy * dy <= r2) acc++;
        }
      }
      out[y * n + x] = acc / (ss * ss);
    }
  }
  return out;
}

const intensityCache = new Map<string, Float64Array>();

/**
 * Far-field intensity |FFT2(A·P)|² on the n×n frequency grid, shifted so zero frequency sits at
 * (n/2, n/2), normalised to sum 1. Frequency bin f maps to the order index f·period/n.
 */
export function diffractionIntensity(panel: UdcPanel, n = PSF_GRID): Float64Array {
  checkPanel('diffractionIntensity', panel);
  const key = `${panel}:${n}`;
  const hit = intensityCache.get(key);
  if (hit) return hit;
  const optics = PANEL_OPTICS[panel];
  const a = apertureMask(panel, n, optics.period);
  const p = pupil(n, Math.min(n - 2, optics.pupilPeriods * optics.period));
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) re[i] = a[i]! * p[i]!;
  fft2d(re, im, n);
  const out = new Float64Array(n * n);
  let total = 0;
  const h = n / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const v = re[y * n + x]! ** 2 + im[y * n + x]! ** 2;
      out[((y + h) % n) * n + ((x + h) % n)] = v;
      total += v;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = out[i]! / total;
  intensityCache.set(key, out);
  return out;
}

// ------------------------------------------------------------------------------- kernels

export interface UdcPsf {
  panel: UdcPanel;
  /** Kernel width and height (odd). */
  size: number;
  /** [3, size, size] row-major, R/G/B; each channel non-negative and summing to 1. */
  kernels: Float32Array;
  /** Fraction of each channel's energy inside the centre pixel (1 would be no blur). */
  centreFraction: [number, number, number];
}

/** Odd kernel width for an image whose shorter side is `side` pixels. */
export function psfKernelSize(side: number): number {
  const k = Math.round((KERNEL_AT_112 * side) / 112);
  return Math.max(3, Math.min(MAX_KERNEL, k % 2 === 0 ? k + 1 : k));
}

const psfCache = new Map<string, UdcPsf>();

/**
 * The per-channel PSFs for images of h×w pixels: the far-field intensity is resampled so the first
 * order lies `orderPixelsAt112·min(h,w)/112·λ/λ_ref` pixels from the centre, for wavelengths across
 * each channel's band; every frequency bin's energy is splatted bilinearly onto the pixel grid
 * (integrating over pixel areas), energy beyond the crop is dropped, and each channel is renormalised.
 */
export function udcPsf(panel: UdcPanel, h: number, w = h): UdcPsf {
  checkPanel('udcPsf', panel);
  if (!Number.isInteger(h) || !Number.isInteger(w) || h < 1 || w < 1) throw new Error(`udcPsf: image size ${h}x${w} must be positive integers`);
  const key = `${panel}:${h}x${w}`;
  const hit = psfCache.get(key);
  if (hit) return hit;
  const n = PSF_GRID;
  const optics = PANEL_OPTICS[panel];
  const intensity = diffractionIntensity(panel, n);
  const side = Math.min(h, w);
  const size = psfKernelSize(side);
  const r = (size - 1) / 2;
  const kernels = new Float64Array(3 * size * size);
  const orderBins = n / optics.period;
  for (let c = 0; c < 3; c++) {
    const [lo, hi] = CHANNEL_BANDS[c]!;
    const k = kernels.subarray(c * size * size, (c + 1) * size * size);
    for (let s = 0; s < BAND_SAMPLES; s++) {
      const lambda = lo + ((hi - lo) * (s + 0.5)) / BAND_SAMPLES;
      const pxPerBin = ((optics.orderPixelsAt112 * side) / 112) * (lambda / REFERENCE_WAVELENGTH) / orderBins;
      for (let fy = 0; fy < n; fy++) {
        const py = (fy - n / 2) * pxPerBin + r;
        if (py <= -1 || py >= size) continue;
        for (let fx = 0; fx < n; fx++) {
          const px = (fx - n / 2) * pxPerBin + r;
          if (px <= -1 || px >= size) continue;
          const v = intensity[fy * n + fx]!;
          const x0 = Math.floor(px);
          const y0 = Math.floor(py);
          const ax = px - x0;
          const ay = py - y0;
          for (const [dx, dy, wgt] of [[0, 0, (1 - ax) * (1 - ay)], [1, 0, ax * (1 - ay)], [0, 1, (1 - ax) * ay], [1, 1, ax * ay]] as const) {
            const xx = x0 + dx;
            const yy = y0 + dy;
            if (xx >= 0 && xx < size && yy >= 0 && yy < size) k[yy * size + xx] = k[yy * size + xx]! + v * wgt;
          }
        }
      }
    }
    // The grid is centro-symmetric about the centre pixel, so correlation (conv2d) equals convolution.
    let total = 0;
    for (const v of k) total += v;
    for (let i = 0; i < k.length; i++) k[i] = k[i]! / total;
  }
  const out = Float32Array.from(kernels);
  // Renormalise in f32 so the uploaded kernel itself sums to 1 as closely as f32 allows.
  for (let c = 0; c < 3; c++) {
    const k = out.subarray(c * size * size, (c + 1) * size * size);
    let total = 0;
    for (const v of k) total += v;
    for (let i = 0; i < k.length; i++) k[i] = k[i]! / total;
  }
  const centre = (c: number) => out[c * size * size + r * size + r]!;
  const psf: UdcPsf = { panel, size, kernels: out, centreFraction: [centre(0), centre(1), centre(2)] };
  psfCache.set(key, psf);
  return psf;
}
