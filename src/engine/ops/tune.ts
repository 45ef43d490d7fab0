/**
 * Per-adapter kernel tuning: synchronised timing of candidate kernels and an in-memory cache of the
 * choices keyed by adapter description. The engine never touches the file system: callers persist
 * a tuning (it is plain JSON) and restore it through the op family's get/set functions.
 */
import type { Engine } from '../engine.ts';

/** Sorted wall-clock milliseconds of `runs` synchronised calls of fn after `warmup` calls. */
async function timesMs(e: Engine, fn: () => void, warmup: number, runs: number): Promise<number[]> {
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

/**
 * Fastest of `runs` synchronised calls after `warmup`: what the autotunes compare. Other load on a
 * shared CPU only ever adds time, and a median of a few runs still flipped choices by 4× there.
 */
export async function bestMs(e: Engine, fn: () => void, warmup = 1, runs = 5): Promise<number> {
  return (await timesMs(e, fn, warmup, runs))[0]!;
}

/** The key a tuning is stored under: the adapter as the device module describes it. */
export function adapterKey(e: Engine): string {
  return e.info.description;
}

/**
 * Choices of one op family per adapter. Tuning runs at most once per adapter and process (later
 * calls share the pending promise); a restored tuning replaces it.
 */
export class TuningCache<T> {
  private done = new Map<string, T>();
  private pending = new Map<string, Promise<T>>();

  get(e: Engine): T | undefined {
    return this.done.get(adapterKey(e));
  }

  set(e: Engine, value: T): void {
    this.done.set(adapterKey(e), value);
  }

  /** Runs `tune` for this adapter unless a tuning exists or is in progress. */
  ensure(e: Engine, tune: () => Promise<T>): Promise<T> {
    const key = adapterKey(e);
    const hit = this.done.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.pending.get(key);
    if (!p) {
      p = tune().then(
        (v) => {
          this.done.set(key, v);
          this.pending.delete(key);
          return v;
        },
        (err: unknown) => {
          this.pending.delete(key);
          throw err;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }
}
