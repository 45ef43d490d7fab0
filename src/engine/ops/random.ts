/**
 * Counter-based random numbers on the GPU (shaders/random.wgsl) and the same generator on the host.
 *
 * Philox4x32-10 (Salmon et al., SC'11), key = 64-bit seed, counter = (block lo, block hi, 0, 0).
 * Global element g = offset + i takes word g % 4 of block ⌊g / 4⌋. Values depend only on
 * (seed, g): a tensor drawn at offset k equals elements k.. of one drawn at offset 0, whatever
 * the dispatch shape or adapter. Consecutive draws with one seed should advance `offset` by the
 * number of elements drawn.
 *
 * Conversions: uniform = (word >> 8)·2⁻²⁴ ∈ [0, 1) (exact in f32). Normal: Box–Muller on the word
 * pairs (0,1) and (2,3) of a block, with u1 = ((w0 >> 8) + 1)·2⁻²⁴ ∈ (0, 1],
 * θ = π·(2·u2 − 1): z = √(−2 ln u1)·(cos θ, sin θ). The kernel evaluates ln and sincos itself
 * (adapters' builtins differ by up to ~5e-5), so normals match the float64 formula to ~1e-7
 * relative on llvmpipe and SwiftShader alike. The host versions below compute the same words
 * bit-exactly and the float conversions in float64.
 */
import type { Engine } from '../engine.ts';
import { RANDOM_MODES } from '../op-codes.ts';
import type { Tensor } from '../tensor.ts';
import { fmt } from './shape-util.ts';

const TWO32 = 4294967296;

function checkCounter(op: string, shape: readonly number[], seed: number, offset: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${op}: seed must be an integer in [0, 2^53), got ${seed} (shape ${fmt(shape)})`);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new Error(`${op}: offset must be an integer in [0, 2^53), got ${offset} (shape ${fmt(shape)})`);
}

function launch(e: Engine, op: keyof typeof RANDOM_MODES, shape: readonly number[], seed: number, offset: number, mean: number, std: number): Tensor {
  const name = `random${op[0]!.toUpperCase()}${op.slice(1)}`;
  checkCounter(name, shape, seed, offset);
  const out = e.empty(shape, op === 'bits' ? 'u32' : 'f32');
  const n = out.size;
  if (n === 0) return out;
  const skip = offset % 4;
  const blocks = Math.ceil((n + skip) / 4);
  const g = e.grid(blocks, 256);
  e.dispatch('random', {
    constants: { MODE: RANDOM_MODES[op] },
    bindings: { out },
    params: {
      n, stride: g.stride, blocks, seed_lo: seed % TWO32,
      seed_hi: Math.floor(seed / TWO32), off_lo: offset % TWO32, off_hi: Math.floor(offset / TWO32), pad0: 0,
      mean, scale: std, pad1: 0, pad2: 0,
    },
    workgroups: g.workgroups,
  });
  return out;
}

/** Raw Philox words (u32), for masks and tests. */
export function randomBits(e: Engine, shape: readonly number[], seed: number, offset = 0): Tensor {
  return launch(e, 'bits', shape, seed, offset, 0, 1);
}

/** Uniform values in [0, 1) with 24 random bits each. */
export function randomUniform(e: Engine, shape: readonly number[], seed: number, offset = 0): Tensor {
  return launch(e, 'uniform', shape, seed, offset, 0, 1);
}

/** Normal(mean, std²) values by Box–Muller. */
export function randomNormal(e: Engine, shape: readonly number[], seed: number, offset = 0, mean = 0, std = 1): Tensor {
  return launch(e, 'normal', shape, seed, offset, mean, std);
}

// ------------------------------------------------------------------ host generator

/** High and low words of the 64-bit product a·b, via 16-bit halves (exact in doubles). */
function mulhilo(a: number, b: number): [number, number] {
  const al = a & 0xffff;
  const ah = a >>> 16;
  const bl = b & 0xffff;
  const bh = b >>> 16;
  const ll = al * bl;
  const lh = al * bh;
  const hl = ah * bl;
  const hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return [hi, Math.imul(a, b) >>> 0];
}

/** One Philox4x32-10 block: four u32 words for a 128-bit counter and a 64-bit key. */
export function philox4x32(counter: readonly number[], key: readonly number[]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0) as [number, number, number, number];
  let [k0, k1] = key.map((v) => v >>> 0) as [number, number];
  for (let r = 0; r < 10; r++) {
    const [hi0, lo0] = mulhilo(0xd2511f53, c0);
    const [hi1, lo1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return Uint32Array.of(c0, c1, c2, c3);
}

/** The words randomBits would produce for n elements at `offset`. */
export function hostRandomBits(n: number, seed: number, offset = 0): Uint32Array {
  checkCounter('hostRandomBits', [n], seed, offset);
  const out = new Uint32Array(n);
  const key = [seed % TWO32, Math.floor(seed / TWO32)];
  let block = -1;
  let words: Uint32Array = new Uint32Array(4);
  for (let i = 0; i < n; i++) {
    const g = offset + i;
    const b = Math.floor(g / 4);
    if (b !== block) {
      block = b;
      words = philox4x32([b % TWO32, Math.floor(b / TWO32), 0, 0], key);
    }
    out[i] = words[g % 4]!;
  }
  return out;
}

const unit = (w: number) => (w >>> 8) * 2 ** -24;

/** The values randomUniform produces (exact: every value is representable in f32). */
export function hostRandomUniform(n: number, seed: number, offset = 0): Float32Array {
  return Float32Array.from(hostRandomBits(n, seed, offset), unit);
}

/** randomNormal's values, evaluated in float64 (the GPU rounds log/cos/sin to f32). */
export function hostRandomNormal(n: number, seed: number, offset = 0, mean = 0, std = 1): Float64Array {
  // Box–Muller pairs are whole blocks' word pairs: draw from the pair's start.
  const first = offset - (offset % 2);
  const words = hostRandomBits(n + (offset - first) + 1, seed, first);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = offset - first + i;
    const p = k - (k % 2);
    const r = Math.sqrt(-2 * Math.log(unit(words[p]!) + 2 ** -24));
    const t = Math.PI * (2 * unit(words[p + 1]!) - 1);
    out[i] = mean + std * r * (k % 2 === 0 ? Math.cos(t) : Math.sin(t));
  }
  return out;
}
