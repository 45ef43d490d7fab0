/**
 * Per-kernel profiling for adapters without timestamp queries: while active, every dispatch is
 * recorded (pipeline, bindings, a copy of its uniform values); replay() runs each one alone,
 * synchronised, subtracts the measured round trip of an empty submit, and sums time per kernel:
 * wall time, and on runtimes with a process clock the process's CPU time too (all threads, so on a
 * CPU adapter the kernel's cost, which other load on the machine hardly moves).
 */
import type { Kernel } from './kernel.ts';
import { releaseBindGroup, releaseCommandBuffer, releaseComputePass } from './native-release.ts';

const COPY_DST = 0x08;
const UNIFORM = 0x40;

/** Time of one kernel entry point over the profiled dispatches. */
export interface KernelTime {
  /** `shader:entry`. */
  kernel: string;
  count: number;
  /** Wall time, the empty-submit round trip subtracted. */
  ms: number;
  /** Process CPU time (user + system, all threads), the empty submit's subtracted; NaN without a process clock. */
  cpuMs: number;
}

type CpuUsage = () => { user: number; system: number };

/** CPU ms of the process so far, or null where the runtime has no process clock (browsers). */
function cpuClock(): (() => number) | null {
  const p = (globalThis as { process?: { cpuUsage?: CpuUsage } }).process;
  if (typeof p?.cpuUsage !== 'function') return null;
  return () => {
    const u = p.cpuUsage!();
    return (u.user + u.system) / 1000;
  };
}

interface Recorded {
  name: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  entries: GPUBindGroupEntry[];
  uniform: Uint8Array | null;
  uniformCount: number;
  workgroups: [number, number, number];
}

export class KernelProfiler {
  private recs: Recorded[] | null = null;
  private uniformBuffer: GPUBuffer | null = null;
  private readonly zeroOffsets = Array.from({ length: 9 }, (_, n) => new Uint32Array(n));

  constructor(private readonly device: GPUDevice) {}

  get active(): boolean {
    return this.recs !== null;
  }

  start(): void {
    this.recs = [];
  }

  private get uniform(): GPUBuffer {
    this.uniformBuffer ??= this.device.createBuffer({ size: 4096, usage: UNIFORM | COPY_DST, label: 'profile-uniform' });
    return this.uniformBuffer;
  }

  /**
   * Records one dispatch. `uniformBytes(u, size)` gives the values of its u-th uniform binding
   * (kernels have one); the replay binds a copy at offset 0 of a buffer of its own.
   */
  record(kernel: Kernel, entries: GPUBindGroupEntry[], uniformBytes: (u: number, size: number) => Uint8Array, uniformCount: number, workgroups: [number, number, number]): void {
    let uniform: Uint8Array | null = null;
    let u = 0;
    const copied = entries.map((en) => {
      const b = kernel.bindings.find((k) => k.binding === en.binding)!;
      if (b.kind !== 'uniform') return en;
      uniform = uniformBytes(u++, b.size).slice();
      return { binding: en.binding, resource: { buffer: this.uniform, offset: 0, size: b.size } };
    });
    this.recs!.push({ name: `${kernel.shader}:${kernel.entry}`, pipeline: kernel.pipeline, layout: kernel.layout, entries: copied, uniform, uniformCount, workgroups });
  }

  /**
   * Replays the recorded dispatches one by one (the caller has synchronised) and stops recording.
   * With repeats > 1 each dispatch runs that many times and its fastest run counts (per clock), which
   * keeps a loaded machine's noise out of the per-kernel times.
   */
  async replay(repeats = 1): Promise<KernelTime[]> {
    const recs = this.recs ?? [];
    this.recs = null;
    const q = this.device.queue;
    const cpu = cpuClock();
    const submit = async (commands: GPUCommandBuffer) => {
      const t0 = performance.now();
      const c0 = cpu?.() ?? NaN;
      q.submit([commands]);
      await q.onSubmittedWorkDone();
      return { ms: performance.now() - t0, cpuMs: (cpu?.() ?? NaN) - c0 };
    };
    // Cost of an empty submit, subtracted from every measurement.
    let overhead = Infinity;
    let cpuOverhead = Infinity;
    for (let i = 0; i < 5; i++) {
      const empty = this.device.createCommandEncoder().finish();
      const t = await submit(empty);
      releaseCommandBuffer(empty);
      overhead = Math.min(overhead, t.ms);
      cpuOverhead = Math.min(cpuOverhead, t.cpuMs);
    }
    const byKernel = new Map<string, KernelTime>();
    for (const r of recs) {
      if (r.uniform) q.writeBuffer(this.uniform, 0, r.uniform.buffer, r.uniform.byteOffset, r.uniform.byteLength);
      const bg = this.device.createBindGroup({ layout: r.layout, entries: r.entries });
      let ms = Infinity;
      let cpuMs = Infinity;
      for (let k = 0; k < Math.max(1, repeats); k++) {
        const enc = this.device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(r.pipeline);
        // The replay binds its uniform copy at offset 0 of the profile buffer: dynamic offsets 0.
        if (r.uniformCount > 0) pass.setBindGroup(0, bg, this.zeroOffsets[r.uniformCount]!);
        else pass.setBindGroup(0, bg);
        pass.dispatchWorkgroups(...r.workgroups);
        pass.end();
        releaseComputePass(pass);
        const commands = enc.finish();
        const t = await submit(commands);
        releaseCommandBuffer(commands);
        ms = Math.min(ms, Math.max(0, t.ms - overhead));
        cpuMs = Math.min(cpuMs, Math.max(0, t.cpuMs - cpuOverhead));
      }
      releaseBindGroup(bg);
      const rec = byKernel.get(r.name) ?? { kernel: r.name, count: 0, ms: 0, cpuMs: cpu ? 0 : NaN };
      rec.count++;
      rec.ms += ms;
      rec.cpuMs += cpu ? cpuMs : 0;
      byKernel.set(r.name, rec);
    }
    return [...byKernel.values()].sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.uniformBuffer?.destroy();
    this.uniformBuffer = null;
  }
}
