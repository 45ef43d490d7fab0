/**
 * Size-bucketed GPU buffer pool. Page faults and buffer creation are expensive (especially on
 * CPU adapters), so every tensor buffer comes from here and goes back here; nothing is created
 * per op once a training step has warmed the pool up.
 */
export interface PoolStats {
  /** Buffers currently handed out. */
  liveBuffers: number;
  /** Bytes of buffers currently handed out (bucket sizes). */
  liveBytes: number;
  /** Buffers held by the pool for reuse. */
  freeBuffers: number;
  freeBytes: number;
  /** High-water mark of liveBytes. */
  peakLiveBytes: number;
  /** Buffers ever created. */
  created: number;
}

const USAGE = GPUBufferUsageFlags();
function GPUBufferUsageFlags(): number {
  // GPUBufferUsage is a global in browsers and after bun-webgpu's setup; fall back to the spec values.
  const u = (globalThis as unknown as { GPUBufferUsage?: Record<string, number> }).GPUBufferUsage;
  return u ? u.STORAGE! | u.COPY_SRC! | u.COPY_DST! : 0x80 | 0x04 | 0x08;
}

/** Bucket size: 256-byte minimum, then four buckets per power of two (at most 25 % waste). */
export function bucketSize(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.floor(Math.log2(bytes));
  const step = Math.max(256, p / 4);
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private sizeOf = new WeakMap<GPUBuffer, number>();
  /** Creation order, for settle(). */
  private serial = new WeakMap<GPUBuffer, number>();
  private stats: PoolStats = { liveBuffers: 0, liveBytes: 0, freeBuffers: 0, freeBytes: 0, peakLiveBytes: 0, created: 0 };

  /** beforeDestroy: told of each buffer just before trim() destroys it (the engine drops the bind groups that bind it). */
  constructor(private device: GPUDevice, private maxBufferSize: number, private beforeDestroy: (b: GPUBuffer) => void = () => {}) {}

  acquire(bytes: number, label?: string): GPUBuffer {
    const size = bucketSize(Math.max(4, bytes));
    if (size > this.maxBufferSize) {
      throw new Error(`buffer of ${bytes} bytes${label ? ` for ${label}` : ''} exceeds this device's maxStorageBufferBindingSize (${this.maxBufferSize}); use a smaller batch size`);
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.stats.freeBuffers--;
      this.stats.freeBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage: USAGE, label });
      this.sizeOf.set(buf, size);
      this.stats.created++;
      this.serial.set(buf, this.stats.created);
    }
    this.stats.liveBuffers++;
    this.stats.liveBytes += size;
    this.stats.peakLiveBytes = Math.max(this.stats.peakLiveBytes, this.stats.liveBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizeOf.get(buf);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.stats.liveBuffers--;
    this.stats.liveBytes -= size;
    this.stats.freeBuffers++;
    this.stats.freeBytes += size;
  }

  /**
   * Orders every free list so the oldest buffer is handed out first. Called between training
   * steps: a step then starts from the same pool state as the last one whatever order its buffers
   * came back in, takes the same buffers for the same tensors, and finds its bind groups cached
   * (with plain LIFO lists the assignment drifts from step to step and nearly every dispatch
   * needs a new bind group). Buffers created later sit below, so extra free ones do not disturb it.
   */
  settle(): void {
    const serial = (b: GPUBuffer) => this.serial.get(b)!;
    for (const list of this.free.values()) {
      let sorted = true;
      for (let i = 1; i < list.length && sorted; i++) sorted = serial(list[i - 1]!) > serial(list[i]!);
      if (!sorted) list.sort((a, b) => serial(b) - serial(a));
    }
  }

  /** Destroys every free buffer (live ones are untouched). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.beforeDestroy(b);
        b.destroy();
      }
    }
    this.free.clear();
    this.stats.freeBuffers = 0;
    this.stats.freeBytes = 0;
  }

  getStats(): PoolStats {
    return { ...this.stats };
  }
}
