/**
 * Process CPU time and machine load around measured work. On a CPU adapter (llvmpipe, SwiftShader)
 * the kernels run on this process's threads, so its CPU time (every thread, user + system:
 * `process.cpuUsage()`) is their cost; other load on a shared machine moves wall time 2–10× and CPU
 * time by a few per cent. On a GPU the process mostly waits, and only wall time measures the work.
 */
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

/** Which clock the ratios of a report use: CPU time on CPU adapters, wall time on GPUs. */
export type RatioBasis = 'cpu' | 'wall';

/** The other load on the machine while a row was measured. */
export interface RowLoad {
  /** The 1-minute load average when the row ended (includes this process). */
  loadAverage1: number;
  /**
   * CPUs kept busy by other processes during the row: the machine's busy fraction from /proc/stat
   * times its CPU count, minus this process's CPU time per wall time. Null without /proc/stat or when
   * the row was too short for its 10-ms clock ticks to say anything (under 0.25 s).
   */
  otherBusyCpus: number | null;
}

/** One measured quantity: the median wall-clock and the median process-CPU milliseconds of its runs. */
export interface Measured {
  wallMs: number;
  cpuMs: number;
  runs: number;
  load: RowLoad;
}

/** Busy and total jiffies over all CPUs (the first line of /proc/stat). */
function statTicks(): { busy: number; total: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user).
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

const processCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Starts a measurement of process CPU, wall time and the machine's other load; `stop` ends it. */
export function startMeter(): { stop: () => { wallMs: number; cpuMs: number; load: RowLoad } } {
  const t0 = performance.now();
  const c0 = processCpuMs();
  const s0 = statTicks();
  return {
    stop() {
      const wallMs = performance.now() - t0;
      const cpuMs = processCpuMs() - c0;
      const s1 = statTicks();
      let otherBusyCpus: number | null = null;
      if (s0 && s1 && wallMs >= 250 && s1.total > s0.total) {
        const machineBusyCpus = ((s1.busy - s0.busy) / (s1.total - s0.total)) * cpus().length;
        otherBusyCpus = Math.max(0, machineBusyCpus - cpuMs / wallMs);
      }
      return { wallMs, cpuMs, load: { loadAverage1: loadavg()[0]!, otherBusyCpus } };
    },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Median wall and median process-CPU ms of synchronised runs (each `run()` then `await sync()`)
 * after `warmup` runs; the load covers the timed runs. With `adaptive`, one run over a second cuts
 * the count to 5 and over three seconds to 3 (the first timed run decides).
 */
export async function measureRuns(run: () => void, sync: () => Promise<void>, o: { warmup: number; runs: number; adaptive?: boolean }): Promise<Measured> {
  await sync();
  for (let i = 0; i < o.warmup; i++) {
    run();
    await sync();
  }
  const wall: number[] = [];
  const cpu: number[] = [];
  const whole = startMeter();
  let n = o.runs;
  for (let i = 0; i < n; i++) {
    const m = startMeter();
    run();
    await sync();
    const r = m.stop();
    wall.push(r.wallMs);
    cpu.push(r.cpuMs);
    if (o.adaptive && i === 0) n = r.wallMs > 3000 ? Math.min(n, 3) : r.wallMs > 1000 ? Math.min(n, 5) : n;
  }
  return { wallMs: median(wall), cpuMs: median(cpu), runs: wall.length, load: whole.stop().load };
}

/** The milliseconds a ratio uses under a basis. */
export const basisMs = (m: { wallMs: number; cpuMs: number }, basis: RatioBasis) => (basis === 'cpu' ? m.cpuMs : m.wallMs);
