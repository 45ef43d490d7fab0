/**
 * SynthFER's counter-based RNG: every draw is a hash of (key, draw number), so any sample can be
 * generated on its own, in any order.
 */

/** A 32-bit integer finaliser (lowbias32, Chris Wellons): good avalanche, cheap. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes a tuple of integers into one 32-bit key. */
export function hashKey(...keys: number[]): number {
  let h = 0x9e3779b9;
  for (const k of keys) h = mix32((h ^ mix32((k | 0) + 0x632be5ab)) + 0x85ebca6b);
  return h;
}

/** Draw n of a stream keyed by `key`: uniform in [0, 1). Random access by (key, n). */
export function hashUniform(key: number, n: number): number {
  return mix32(mix32(key ^ Math.imul(n + 1, 0x9e3779b9)) + n) / 4294967296;
}

/** A stream of draws from one key; the i-th draw depends only on (key, i). */
export class CounterRng {
  private n = 0;
  constructor(private readonly key: number) {}
  uniform(): number {
    return hashUniform(this.key, this.n++);
  }
  range(a: number, b: number): number {
    return a + (b - a) * this.uniform();
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.uniform() * n));
  }
  normal(): number {
    const u = Math.max(this.uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

// Stream tags, so different uses of one (seed, index) never share draws.
export const TAG_IDENTITY = 0x1d;
export const TAG_SAMPLE = 0x5a;
export const TAG_PIXELS = 0x9c;
export const TAG_EXPRESSION = 0x3e;
export const TAG_RESTING = 0x71;
