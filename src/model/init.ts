/**
 * Host-side parameter initialisation (seeded, so a seed gives bit-identical weights on every
 * adapter). Matches PyTorch's defaults where the reference says so.
 */

/**
 * The project's seeded host generator (mulberry32): parameter initialisation, data order and
 * augmentation, train/test splits, test inputs. SynthFER keeps its own counter-based hash
 * (src/train/data/synthfer/random.ts: any sample drawn on its own, in any order) and the GPU
 * streams are Philox (src/engine/ops/random.ts, with a host twin for checks).
 */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform in [0, 1) (mulberry32). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = Math.max(this.next(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  /** A derived generator, so adding a module does not shift the numbers of the others. */
  fork(label: string): Rng {
    let h = this.s ^ 0x811c9dc5;
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    return new Rng(h >>> 0);
  }
  get state(): number {
    return this.s;
  }
  set state(v: number) {
    this.s = v >>> 0;
  }
}

export function uniformInit(rng: Rng, n: number, bound: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * rng.next() - 1) * bound;
  return out;
}

/** Truncated normal with absolute bounds [lo, hi] (timm's trunc_normal_ defaults a = −2, b = 2). */
export function truncNormalInit(rng: Rng, n: number, std: number, lo = -2, hi = 2): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v: number;
    do v = rng.normal() * std;
    while (v < lo || v > hi);
    out[i] = v;
  }
  return out;
}

export function normalInit(rng: Rng, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal() * std;
  return out;
}

export function constantInit(n: number, v: number): Float32Array {
  return new Float32Array(n).fill(v);
}
