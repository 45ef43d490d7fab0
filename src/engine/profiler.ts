/**
 * Per-kernel profiling for adapters without timestamp queries: while active, every dispatch is
 * recorded (pipeline, bindings, a copy of its uniform values); replay() runs each one alone,
 * synchronised, subtracts the measured round trip of an empty submit, and sums time per kernel.
 */
import type { Kernel } from './kernel.ts';
import { releaseBindGroup, releaseCommandBuffer, releaseComputePass } from './native-release.ts';

const COPY_DST = 0x08;
const UNIFORM = 0x40;

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

  /** Replays the recorded dispatches one by one (the caller has synchronised) and stops recording. */
  async replay(): Promise<{ kernel: string; count: number; ms: number }[]> {
    const recs = this.recs ?? [];
    this.recs = null;
    const q = this.device.queue;
    // Round-trip cost of an empty submit, subtracted from every measurement.
    let overhead = Infinity;
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const empty = this.device.createCommandEncoder().finish();
      q.submit([empty]);
      await q.onSubmittedWorkDone();
      releaseCommandBuffer(empty);
      overhead = Math.min(overhead, performance.now() - t0);
    }
    const byKernel = new Map<string, { count: number; ms: number }>();
    for (const r of recs) {
      if (r.uniform) q.writeBuffer(this.uniform, 0, r.uniform.buffer, r.uniform.byteOffset, r.uniform.byteLength);
      const bg = this.device.createBindGroup({ layout: r.layout, entries: r.entries });
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
      const t0 = performance.now();
      q.submit([commands]);
      await q.onSubmittedWorkDone();
      releaseCommandBuffer(commands);
      releaseBindGroup(bg);
      const ms = Math.max(0, performance.now() - t0 - overhead);
      const rec = byKernel.get(r.name) ?? { count: 0, ms: 0 };
      rec.count++;
      rec.ms += ms;
      byKernel.set(r.name, rec);
    }
    return [...byKernel].map(([kernel, r]) => ({ kernel, ...r })).sort((a, b) => b.ms - a.ms);
  }

  destroy(): void {
    this.uniformBuffer?.destroy();
    this.uniformBuffer = null;
  }
}
