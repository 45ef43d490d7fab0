/**
 * The per-kernel profiler (src/engine/profiler.ts): every recorded dispatch is replayed alone and
 * counted under its kernel, with wall and process CPU time; repeats keep each dispatch's fastest run.
 */
import { describe, it, expect } from 'vitest';
import { axpyInPlace } from '../src/engine/ops/axpy.ts';
import { getEngine } from './helpers.ts';

describe('kernel profiler', () => {
  for (const repeats of [1, 3]) {
    it(`counts each dispatch under its kernel with wall and CPU time (repeats ${repeats})`, async () => {
      const e = await getEngine();
      const y = e.fill(e.empty([4096]), 1);
      const x = e.fill(e.empty([4096]), 2);
      await e.startProfile();
      e.fill(y, 1);
      for (let i = 0; i < 3; i++) axpyInPlace(y, x, 0.5);
      const prof = await e.stopProfile(repeats);
      expect(prof.map((p) => [p.kernel, p.count]).sort()).toEqual([['axpy:main', 3], ['fill:main', 1]]);
      for (const p of prof) {
        expect(Number.isFinite(p.ms) && p.ms >= 0, `${p.kernel} wall ms ${p.ms}`).toBe(true);
        // Bun has a process clock, so the CPU time is measured (NaN only where there is none).
        expect(Number.isFinite(p.cpuMs) && p.cpuMs >= 0, `${p.kernel} CPU ms ${p.cpuMs}`).toBe(true);
      }
      // The replays run the dispatches again in order, each `repeats` times: the fill resets y to 1
      // and every axpy adds 0.5 · 2 per run, so a profiled step's in-place results are not its own.
      expect(Array.from(await y.toFloat32()).every((v) => v === 1 + 3 * repeats)).toBe(true);
      x.dispose();
      y.dispose();
    });
  }

  it('refuses stopProfile without startProfile', async () => {
    const e = await getEngine();
    await expect(e.stopProfile()).rejects.toThrow(/stopProfile\(\) without startProfile\(\)/);
  });
});
