import { describe, it, expect } from 'vitest';
import { hostRandomBits, hostRandomNormal, hostRandomUniform, philox4x32, randomBits, randomNormal, randomUniform } from '../src/engine/ops/random.ts';
import { expectClose, freshSeed, getEngine, read } from './helpers.ts';

const hex = (a: Uint32Array) => Array.from(a, (v) => v.toString(16).padStart(8, '0')).join(' ');

/** A random seed below 2^53 (so both key words vary) from the logged test seed. */
function bigSeed(label: string): number {
  const s = freshSeed(label);
  return s * 1048573 + 12345;
}

describe('Philox4x32-10', () => {
  it('host implementation matches the Random123 known-answer vectors', () => {
    // Random123 tests/kat_vectors, "philox4x32 10" lines: counter[4] key[2] → result[4].
    expect(hex(philox4x32([0, 0, 0, 0], [0, 0]))).toBe('6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    expect(hex(philox4x32([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toBe('408f276d 41c83b0e a20bc7c6 6d5451fd');
    expect(hex(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toBe('d16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('GPU bits equal the host generator bit for bit (odd sizes, unaligned and > 2^32 offsets, 53-bit seeds)', async () => {
    const e = await getEngine();
    const seed = bigSeed('random bits');
    for (const [shape, offset] of [[[1], 0], [[7], 1], [[3, 37], 2], [[1000], 3], [[5, 13], 2 ** 32 - 6], [[257], 2 ** 45 + 7]] as [number[], number][]) {
      await e.scope(async () => {
        const n = shape.reduce((a, b) => a * b, 1);
        const t = randomBits(e, shape, seed, offset);
        expect(t.dtype).toBe('u32');
        expect(t.shape).toEqual(shape);
        expect(hex((await t.read()) as Uint32Array), `shape ${JSON.stringify(shape)} offset ${offset}`).toBe(hex(hostRandomBits(n, seed, offset)));
      });
    }
  });

  it('values depend only on (seed, offset + index): a draw at offset k equals elements k.. of a larger draw', async () => {
    const e = await getEngine();
    const seed = bigSeed('random offsets');
    await e.scope(async () => {
      const whole = Array.from((await randomBits(e, [1003], seed).read()) as Uint32Array);
      for (const [k, n] of [[1, 10], [5, 998], [2, 1], [999, 4]] as const) {
        expect(Array.from((await randomBits(e, [n], seed, k).read()) as Uint32Array), `offset ${k}`).toEqual(whole.slice(k, k + n));
      }
      const normals = Array.from(await read(randomNormal(e, [1003], seed)));
      const tail = Array.from(await read(randomNormal(e, [500], seed, 503)));
      expect(tail).toEqual(normals.slice(503));
    });
  });
});

describe('randomUniform / randomNormal', () => {
  it('uniform: bit-exact with the host, in [0, 1), same seed same numbers, other seed other numbers', async () => {
    const e = await getEngine();
    const seed = bigSeed('random uniform');
    await e.scope(async () => {
      const n = 100003;
      const a = (await randomUniform(e, [n], seed, 11).read()) as Float32Array;
      expect(Array.from(a.subarray(0, 4099))).toEqual(Array.from(hostRandomUniform(4099, seed, 11)));
      let lo = Infinity;
      let hi = -Infinity;
      let sum = 0;
      for (const v of a) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
        sum += v;
      }
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThan(1);
      expect(Math.abs(sum / n - 0.5), 'uniform mean').toBeLessThan(0.005);
      const again = (await randomUniform(e, [n], seed, 11).read()) as Float32Array;
      expect(again).toEqual(a);
      const other = (await randomUniform(e, [n], seed + 1, 11).read()) as Float32Array;
      let same = 0;
      for (let i = 0; i < n; i++) if (other[i] === a[i]) same++;
      expect(same, 'equal elements under a different seed').toBeLessThan(50);
    });
  });

  it('normal: matches the float64 host evaluation of the same words', async () => {
    const e = await getEngine();
    const seed = bigSeed('random normal host');
    for (const [n, offset, mean, std] of [[1, 0, 0, 1], [4101, 3, 0, 1], [999, 2 ** 33 + 1, 2.5, 0.3]] as const) {
      await e.scope(async () => {
        const gpu = await read(randomNormal(e, [n], seed, offset, mean, std));
        const ref = hostRandomNormal(n, seed, offset, mean, std);
        // The kernel's own ln/sincos keep this tight on every adapter (builtins would not on SwiftShader).
        expectClose(gpu, ref, 1e-6, `normal n=${n} offset=${offset}`);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(gpu[i]! - ref[i]!));
        expect(worst, 'largest absolute difference').toBeLessThan(2e-6 * Math.max(1, std, Math.abs(mean)));
      });
    }
  });

  it('1M normals have mean 0 and variance 1 within statistical tolerance; other seeds differ', async () => {
    const e = await getEngine();
    const seed = bigSeed('random normal moments');
    await e.scope(async () => {
      const n = 1 << 20;
      const t0 = performance.now();
      const z = await read(randomNormal(e, [1024, 1024], seed));
      console.log(`randomNormal 1M: ${(performance.now() - t0).toFixed(1)} ms including readback`);
      let s = 0;
      let s2 = 0;
      let s4 = 0;
      for (const v of z) {
        s += v;
        s2 += v * v;
        s4 += v ** 4;
      }
      const mean = s / n;
      const variance = s2 / n - mean * mean;
      // Standard errors: mean 1e-3, variance √2·1e-3, kurtosis √24·1e-3.
      expect(Math.abs(mean), `mean ${mean}`).toBeLessThan(0.005);
      expect(Math.abs(variance - 1), `variance ${variance}`).toBeLessThan(0.01);
      expect(Math.abs(s4 / n - 3), `fourth moment ${s4 / n}`).toBeLessThan(0.05);
      const other = await read(randomNormal(e, [16], seed + 1));
      expect(Array.from(other)).not.toEqual(Array.from(z.subarray(0, 16)));
    });
  });

  it('bad seeds and offsets throw messages naming the op and the shape', async () => {
    const e = await getEngine();
    expect(() => randomUniform(e, [2, 3], -1)).toThrow(/randomUniform: seed must be an integer in \[0, 2\^53\), got -1 \(shape \[2, 3\]\)/);
    expect(() => randomNormal(e, [4], 1.5)).toThrow(/randomNormal: seed must be an integer/);
    expect(() => randomBits(e, [4], 1, 2 ** 60)).toThrow(/randomBits: offset must be an integer in \[0, 2\^53\), got .* \(shape \[4\]\)/);
  });
});
