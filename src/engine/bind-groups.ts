/**
 * Bind-group cache. A training step binds the same pooled buffers to the same pipelines every
 * step, so bind groups are created once and reused: the key is the kernel plus, per binding, the
 * buffer's identity, offset and size. Uniforms do not enter the key: they are bound with a dynamic
 * offset into the engine's uniform arena, so only the arena chunk (a long-lived buffer) does.
 *
 * Correctness: a cached group must never bind a destroyed buffer. Buffers only leave through
 * forget() (the pool calls it before destroying one) or, under bun-webgpu, through their
 * 'destroyed' event, which this cache listens to for every buffer it has bound. A pooled buffer
 * returned and handed out again is the same GPUBuffer, so its groups stay valid.
 *
 * Memory: every group the cache lets go of (evicted or forgotten) is released explicitly
 * (native-release.ts: bun-webgpu never frees a group JS drops).
 */
import { releaseBindGroup } from './native-release.ts';

export interface BindGroupStats {
  /** Bind groups created since the cache was made. */
  created: number;
  /** Bind groups held now. */
  cached: number;
  /** Released because the cache was full (least recently used first). */
  evicted: number;
  /** Released because a buffer they bind was destroyed. */
  forgotten: number;
}

interface Entry {
  group: GPUBindGroup;
  bufferIds: number[];
}

type DestroyEvents = { once(event: 'destroyed', fn: () => void): unknown };

export class BindGroupCache {
  /** Insertion order is recency order: a hit moves its key to the end. */
  private groups = new Map<string, Entry>();
  /** Buffer id → keys of the groups that bind it. */
  private keysByBuffer = new Map<number, Set<string>>();
  private ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;
  private stats: BindGroupStats = { created: 0, cached: 0, evicted: 0, forgotten: 0 };

  /** capacity: groups held at most; must exceed the distinct groups of one training step, or steps thrash. */
  constructor(private readonly device: GPUDevice, readonly capacity = 16384) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`BindGroupCache: capacity must be a positive integer, got ${capacity}`);
  }

  /** A stable number per buffer object (never reused, so a key cannot match a different buffer). */
  bufferId(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
      const events = b as unknown as Partial<DestroyEvents>;
      if (typeof events.once === 'function') events.once('destroyed', () => this.forget(b));
    }
    return id;
  }

  /**
   * The bind group for `entries` under `layout`; `key` must identify the layout and `bufferIds` the
   * buffers of `entries` (with their offsets and sizes folded into the key by the caller).
   */
  get(layout: GPUBindGroupLayout, key: string, entries: GPUBindGroupEntry[], bufferIds: number[]): GPUBindGroup {
    const hit = this.groups.get(key);
    if (hit) {
      this.groups.delete(key);
      this.groups.set(key, hit);
      return hit.group;
    }
    const group = this.device.createBindGroup({ layout, entries });
    this.stats.created++;
    this.groups.set(key, { group, bufferIds });
    for (const id of bufferIds) {
      let keys = this.keysByBuffer.get(id);
      if (!keys) this.keysByBuffer.set(id, (keys = new Set()));
      keys.add(key);
    }
    if (this.groups.size > this.capacity) {
      const oldest = this.groups.keys().next().value!;
      this.drop(oldest);
      this.stats.evicted++;
    }
    return group;
  }

  /** Releases every group that binds `buffer`; call before destroying it. */
  forget(buffer: GPUBuffer): void {
    const id = this.ids.get(buffer);
    if (id === undefined) return;
    const keys = this.keysByBuffer.get(id);
    if (!keys) return;
    for (const key of [...keys]) {
      this.drop(key);
      this.stats.forgotten++;
    }
    this.keysByBuffer.delete(id);
  }

  /** How many cached groups bind `buffer`. */
  holding(buffer: GPUBuffer): number {
    const id = this.ids.get(buffer);
    return id === undefined ? 0 : (this.keysByBuffer.get(id)?.size ?? 0);
  }

  /** Releases every group. */
  clear(): void {
    for (const e of this.groups.values()) releaseBindGroup(e.group);
    this.groups.clear();
    this.keysByBuffer.clear();
  }

  getStats(): BindGroupStats {
    return { ...this.stats, cached: this.groups.size };
  }

  private drop(key: string): void {
    const e = this.groups.get(key);
    if (!e) return;
    this.groups.delete(key);
    for (const id of e.bufferIds) {
      const keys = this.keysByBuffer.get(id);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByBuffer.delete(id);
    }
    releaseBindGroup(e.group);
  }
}
