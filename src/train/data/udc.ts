/**
 * Synthetic under-display-camera (UDC) degradation on the GPU (reference §9.2), standing in for
 * MPGNet's learned generator: per-image per-channel attenuation by the display, blur by the
 * display's diffraction PSF (src/train/data/psf.ts), heteroscedastic sensor noise, the camera's
 * exposure gain, clamping and 8-bit quantisation. The physical order is kept: the display dims
 * the light before the sensor adds noise, and the gain that restores brightness amplifies that
 * noise, which is why the darker P-OLED preset also comes out noisier.
 *
 * Everything random is drawn from the Philox stream of `seed`: image i of a batch degraded at
 * `offset` k gets exactly what it would get as image k + i of a batch at offset 0, so a dataset
 * can be degraded in any batching and stays reproducible. Per-image parameters use stream words
 * [8·j, 8·j + 8) for global image index j; the noise uses words from NOISE_BASE on.
 *
 * Dispatches: attenuate + replicate-pad (udc.wgsl), depthwise conv2d with the PSF, randomNormal,
 * and noise + gain + clamp + quantise (udc.wgsl). udc.wgsl is this feature's own kernel, beside
 * it: it is registered with the engine (registerKernel) before use, so the engine bundles only its
 * own ops.
 */
import { type Engine, type Tensor, conv2d, hostRandomUniform, randomNormal, fmt } from '../../engine/index.ts';
import { checkPanel, udcPsf, type UdcPanel } from './psf.ts';
import udcWgsl from './udc.wgsl' with { type: 'text' };

const UDC_KERNEL = 'udc';

export { UDC_PANELS, type UdcPanel } from './psf.ts';

export interface UdcPreset {
  /** Range of the panel's mean transmittance (drawn uniformly per image). */
  transmittance: readonly [number, number];
  /** Relative transmittance of R, G, B (the panel's colour cast). */
  tint: readonly [number, number, number];
  /** Per-channel relative jitter: each channel is scaled by U(1 − j, 1 + j). */
  channelJitter: number;
  /** Fraction of the clean (linear) brightness the camera's auto-exposure restores, U(lo, hi). */
  exposure: readonly [number, number];
  /** Range of ln(shot variance a) for σ² = a·s + b on the sensor signal s (drawn uniformly). */
  logShotVar: readonly [number, number];
}

/**
 * Presets [OURS, tuned by eye]: T-OLED transmits about 20–40 %, P-OLED much less and less in green
 * (a purple cast, reference §9.2 "γ_G ≤ γ_R, γ_B"). The read noise follows Brooks et al. 2019
 * ("Unprocessing"): ln b = 2.18·ln a + 1.20 + N(0, 0.26²); the shot range is theirs (1e-4 … 1.2e-2)
 * narrowed to 5e-5 … 4e-3, since here the camera gain amplifies the noise by 2–8×.
 */
export const UDC_PRESETS: Record<UdcPanel, UdcPreset> = {
  toled: { transmittance: [0.2, 0.4], tint: [1, 1, 0.92], channelJitter: 0.08, exposure: [0.45, 0.85], logShotVar: [Math.log(5e-5), Math.log(4e-3)] },
  poled: { transmittance: [0.06, 0.16], tint: [1, 0.8, 0.95], channelJitter: 0.08, exposure: [0.3, 0.65], logShotVar: [Math.log(5e-5), Math.log(4e-3)] },
};

export interface UdcOptions {
  panel: UdcPanel;
  /** 0 leaves images unchanged up to quantisation, 1 is the full preset (default 1); in [0, 1]. */
  strength?: number;
  seed: number;
  /** Global index of the batch's first image (default 0). */
  offset?: number;
  /** Display gamma for linearisation (default 2.2; 1 degrades the values as given). */
  gamma?: number;
}

export interface UdcImageParams {
  /** Per-channel transmittance (after strength). */
  transmittance: [number, number, number];
  /** Camera gain applied after the noise (after strength). */
  gain: number;
  /** Shot-noise variance coefficient a and read-noise variance b of σ² = a·s + b (after strength). */
  shotVar: number;
  readVar: number;
}

/** Words of the Philox stream used per image for its parameters. */
const PARAM_WORDS = 8;
/** First stream word of the noise; parameters of image j use words below it (j < 2^43). */
export const UDC_NOISE_BASE = 2 ** 46;
const NOISE_BASE = UDC_NOISE_BASE;

function checkStrength(op: string, strength: number): void {
  if (!(strength >= 0 && strength <= 1)) throw new Error(`${op}: strength ${strength} must be in [0, 1]`);
}

/** The degradation parameters of global image `index` (drawn on the host, exactly as degradeUdc uses them). */
export function udcImageParams(panel: UdcPanel, seed: number, index: number, strength = 1): UdcImageParams {
  checkPanel('udcImageParams', panel);
  checkStrength('udcImageParams', strength);
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** 43) throw new Error(`udcImageParams: image index ${index} must be an integer in [0, 2^43)`);
  const pr = UDC_PRESETS[panel];
  const u = hostRandomUniform(PARAM_WORDS, seed, index * PARAM_WORDS);
  const lerp = (r: readonly [number, number], v: number) => r[0] + (r[1] - r[0]) * v;
  const base = lerp(pr.transmittance, u[0]!);
  const t = [0, 1, 2].map((c) => base * pr.tint[c]! * (1 + pr.channelJitter * (2 * u[1 + c]! - 1)));
  const meanT = (t[0]! + t[1]! + t[2]!) / 3;
  const gain = lerp(pr.exposure, u[4]!) / meanT;
  const a = Math.exp(lerp(pr.logShotVar, u[5]!));
  const z = Math.sqrt(-2 * Math.log(u[6]! + 2 ** -24)) * Math.cos(2 * Math.PI * u[7]!);
  const b = Math.exp(2.18 * Math.log(a) + 1.2 + 0.26 * z);
  // Strength interpolates geometrically in brightness (t^s, g^s) and scales the noise std by s.
  const s = strength;
  return {
    transmittance: [t[0]! ** s, t[1]! ** s, t[2]! ** s],
    gain: gain ** s,
    shotVar: s * s * a,
    readVar: s * s * b,
  };
}

/** The PSF for a strength: (1 − s)·δ + s·k per channel, as conv2d weights [3, 1, k, k] (1×1 at s = 0). */
function psfWeights(panel: UdcPanel, h: number, w: number, strength: number): { size: number; data: Float32Array } {
  if (strength === 0) return { size: 1, data: Float32Array.of(1, 1, 1) };
  const psf = udcPsf(panel, h, w);
  const k = psf.size;
  const data = Float32Array.from(psf.kernels, (v) => strength * v);
  const centre = ((k - 1) / 2) * k + (k - 1) / 2;
  for (let c = 0; c < 3; c++) data[c * k * k + centre] = data[c * k * k + centre]! + (1 - strength);
  return { size: k, data };
}

const weightCache = new WeakMap<Engine, Map<string, Tensor>>();
const WEIGHT_CACHE_ENTRIES = 16;

function cachedWeights(e: Engine, panel: UdcPanel, h: number, w: number, strength: number): Tensor {
  let cache = weightCache.get(e);
  if (!cache) weightCache.set(e, (cache = new Map()));
  const key = `${panel}:${h}x${w}:${strength}`;
  let t = cache.get(key);
  if (t && !t.isDisposed) return t;
  const { size, data } = psfWeights(panel, h, w, strength);
  t = e.tensor(data, [3, 1, size, size]).keep();
  if (cache.size >= WEIGHT_CACHE_ENTRIES) {
    const [oldKey, old] = cache.entries().next().value as [string, Tensor];
    old.dispose();
    cache.delete(oldKey);
  }
  cache.set(key, t);
  return t;
}

/**
 * Degrades a batch of sRGB images [B, 3, H, W] in [0, 1] as seen through an OLED display;
 * returns a new tensor [B, 3, H, W] with values in {0, 1/255, …, 1}. Deterministic in
 * (seed, offset); records nothing on the autograd tape.
 */
export function degradeUdc(e: Engine, images: Tensor, opts: UdcOptions): Tensor {
  const what = `degradeUdc(images ${fmt(images.shape)}, panel ${JSON.stringify(opts.panel)})`;
  checkPanel('degradeUdc', opts.panel);
  if (images.rank !== 4 || images.shape[1] !== 3 || images.shape[0]! < 1) throw new Error(`${what}: images must be [B, 3, H, W] with B >= 1`);
  if (images.dtype !== 'f32') throw new Error(`${what}: images must be f32, got ${images.dtype}`);
  const strength = opts.strength ?? 1;
  checkStrength(what, strength);
  const gamma = opts.gamma ?? 2.2;
  if (!(gamma > 0)) throw new Error(`${what}: gamma ${gamma} must be positive`);
  const offset = opts.offset ?? 0;
  const [batch, , h, w] = images.shape as [number, number, number, number];
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + batch > 2 ** 43) throw new Error(`${what}: offset ${offset} must be an integer with offset + B <= 2^43`);
  const perImage = 3 * h * w;
  if (NOISE_BASE + (offset + batch) * perImage >= 2 ** 53) throw new Error(`${what}: offset ${offset} is too large for the noise stream`);
  if (!Number.isSafeInteger(opts.seed) || opts.seed < 0) throw new Error(`${what}: seed must be an integer in [0, 2^53), got ${opts.seed}`);

  return e.noGrad(() =>
    e.scope(() => {
      const params = new Float32Array(batch * PARAM_WORDS);
      for (let b = 0; b < batch; b++) {
        const p = udcImageParams(opts.panel, opts.seed, offset + b, strength);
        params.set([...p.transmittance, p.gain, p.shotVar, p.readVar, 0, 0], b * PARAM_WORDS);
      }
      const imageParams = e.tensor(params, [batch, PARAM_WORDS]);
      const weights = cachedWeights(e, opts.panel, h, w, strength);
      const pad = (weights.shape[2]! - 1) / 2;

      e.registerKernel(UDC_KERNEL, udcWgsl, 'src/train/data/udc.wgsl');
      const padded = e.empty([batch, 3, h + 2 * pad, w + 2 * pad]);
      const g1 = e.grid(padded.size, 256);
      const uniforms = (n: number, stride: number) => ({ batch, h, w, pad, n, stride, gamma, pad0: 0 });
      e.dispatch(UDC_KERNEL, {
        entry: 'attenuate_pad',
        bindings: { src: images, image_params: imageParams, dst: padded },
        params: uniforms(padded.size, g1.stride),
        workgroups: g1.workgroups,
      });
      const blurred = conv2d(padded, weights, undefined, { groups: 3 });
      const noise = randomNormal(e, [batch, 3, h, w], opts.seed, NOISE_BASE + offset * perImage);
      const out = e.empty([batch, 3, h, w]);
      const g2 = e.grid(out.size, 256);
      e.dispatch(UDC_KERNEL, {
        entry: 'expose_quantise',
        bindings: { src: blurred, image_params: imageParams, noise, dst: out },
        params: uniforms(out.size, g2.stride),
        workgroups: g2.workgroups,
      });
      return out;
    }),
  );
}
