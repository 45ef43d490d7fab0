/**
 * Timing of synchronised GPU work: what the kernel tuner (tuning.ts) compares and the benchmarks
 * report. On a CPU adapter (llvmpipe, SwiftShader) the kernels run on this process's threads, so
 * the process's CPU time measures their cost and other load on the machine hardly moves it; on a
 * GPU (or in a browser, which has no process clock) only wall time measures it.
 */
import type { Engine } from './engine.ts';

/** Sorted wall-clock milliseconds of `runs` synchronised calls of fn after `warmup` calls. */
export async function timesMs(e: Engine, fn: () => void, warmup: number, runs: number): Promise<number[]> {
  await e.sync();
  for (let i = 0; i < warmup; i++) {
    fn();
    await e.sync();
  }
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    await e.sync();
    times.push(performance.now() - t0);
  }
  return times.sort((x, y) => x - y);
}

/** Median wall-clock milliseconds of `runs` synchronised calls of fn after `warmup` calls. */
export async function medianMs(e: Engine, fn: () => void, warmup = 1, runs = 3): Promise<number> {
  const times = await timesMs(e, fn, warmup, runs);
  return times[Math.floor(times.length / 2)]!;
}

type CpuUsage = () => { user: number; system: number };

/** The process's CPU-time clock (user + system over all threads) where the runtime has one (Bun, Node). */
function processCpuUsage(): CpuUsage | null {
  const p = (globalThis as { process?: { cpuUsage?: CpuUsage } }).process;
  return typeof p?.cpuUsage === 'function' ? p.cpuUsage.bind(p) : null;
}

/** A cost clock: milliseconds of one synchronised call, by the measure `by` names. */
export interface CostClock {
  by: 'cpu-ms' | 'wall-ms';
  /** Cost in ms of fn() plus the wait for the GPU work it encoded. */
  time(e: Engine, fn: () => void): Promise<number>;
}

/** Process CPU time on CPU adapters where the runtime has a process clock; wall time otherwise. */
export function costClock(e: Engine): CostClock {
  const cpu = e.info.software ? processCpuUsage() : null;
  if (cpu) {
    return {
      by: 'cpu-ms',
      async time(en, fn) {
        await en.sync();
        const u0 = cpu();
        fn();
        await en.sync();
        const u1 = cpu();
        return (u1.user - u0.user + u1.system - u0.system) / 1000;
      },
    };
  }
  return {
    by: 'wall-ms',
    async time(en, fn) {
      await en.sync();
      const t0 = performance.now();
      fn();
      await en.sync();
      return performance.now() - t0;
    },
  };
}
