/**
 * The uniform arena: kernel parameters of every dispatch in a flush, packed into one host array and
 * written to one GPU buffer just before the submit. Each dispatch binds that buffer at a dynamic
 * offset, so its bind group does not depend on where in a flush the dispatch falls and can be
 * cached. A flush that would need more room submits early (the engine asks fits() first).
 */
import type { BindingInfo, Kernel } from './kernel.ts';

const UNIFORM = 0x40;
const COPY_DST = 0x08;

/** 8192 dispatches of up to 256 bytes per submit. */
export const DEFAULT_UNIFORM_ARENA_BYTES = 1 << 21;

export class UniformArena {
  private gpu: GPUBuffer | null = null;
  private readonly data: Uint8Array;
  private used = 0;

  /** align: the device's uniform offset alignment (at least 256). */
  constructor(private readonly device: GPUDevice, private readonly align: number, readonly bytes = DEFAULT_UNIFORM_ARENA_BYTES) {
    if (!Number.isInteger(bytes) || bytes < align || bytes % align !== 0) {
      throw new Error(`EngineOptions.uniformArenaBytes = ${bytes}: expected a positive multiple of ${align} (the device's uniform offset alignment)`);
    }
    this.data = new Uint8Array(bytes);
  }

  /** The GPU buffer every uniform binding points into. */
  get buffer(): GPUBuffer {
    this.gpu ??= this.device.createBuffer({ size: this.bytes, usage: UNIFORM | COPY_DST, label: 'uniform-arena' });
    return this.gpu;
  }

  private stride(size: number): number {
    return Math.ceil(Math.ceil(size / 16) * 16 / this.align) * this.align;
  }

  /** Whether all of a dispatch's uniforms fit in what is left of this flush's arena. */
  fits(kernel: Kernel): boolean {
    let bytes = 0;
    for (const b of kernel.bindings) if (b.kind === 'uniform') bytes += this.stride(b.size);
    if (bytes > this.bytes) throw new Error(`${kernel.path}: uniforms of ${bytes} bytes exceed the ${this.bytes}-byte uniform arena`);
    return this.used + bytes <= this.bytes;
  }

  /** Packs the values of uniform binding `b` (members by name) into a new slot; returns its offset. `where` names the kernel in errors. */
  pack(b: BindingInfo, params: Record<string, number | readonly number[]>, where: string): number {
    const members = b.members!;
    for (const k of Object.keys(params)) {
      if (!members.has(k)) throw new Error(`${where}: uniform ${b.name} has no member "${k}" (has: ${[...members.keys()].join(', ')})`);
    }
    const offset = this.used;
    const view = new DataView(this.data.buffer, offset, Math.ceil(b.size / 16) * 16);
    for (const [name, m] of members) {
      const v = params[name];
      if (v === undefined) throw new Error(`${where}: missing value for uniform member ${b.name}.${name}`);
      const vals = typeof v === 'number' ? [v] : v;
      if (vals.length !== m.count) throw new Error(`${where}: uniform member ${b.name}.${name} takes ${m.count} values, got ${vals.length}`);
      vals.forEach((x, i) => {
        const o = m.offset + 4 * i;
        if (m.type === 'f32') view.setFloat32(o, x, true);
        else if (m.type === 'u32') {
          if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${where}: ${b.name}.${name} = ${x} is not a u32`);
          view.setUint32(o, x, true);
        } else view.setInt32(o, x, true);
      });
    }
    this.used += this.stride(b.size);
    return offset;
  }

  /** A copy of a packed slot (for the profiler's replay). */
  slot(offset: number, size: number): Uint8Array {
    return this.data.slice(offset, offset + Math.ceil(size / 16) * 16);
  }

  /** Queues the write of this flush's slots (call just before the submit) and starts the arena over. */
  upload(): void {
    if (this.used > 0) this.device.queue.writeBuffer(this.buffer, 0, this.data.buffer, 0, this.used);
    this.used = 0;
  }

  /** Starts over without writing (slots taken by dispatches that encoded nothing). */
  reset(): void {
    this.used = 0;
  }

  destroy(): void {
    this.gpu?.destroy();
    this.gpu = null;
    this.used = 0;
  }
}
