/**
 * The engine: one device, its buffer pool and kernel registry, a shared command encoder that
 * every op encodes into (one queue.submit per flush), the uniform arena for kernel parameters,
 * scopes that free intermediates, and the autograd tape. It knows nothing of any model.
 */
import { BindGroupCache, type BindGroupStats } from './bind-groups.ts';
import { getDevice, type DeviceInfo, type DeviceOptions } from './device.ts';
import { KernelRegistry, type Constants, type Kernel } from './kernel.ts';
import { releaseCommandBuffer, releaseComputePass } from './native-release.ts';
import { BufferPool } from './pool.ts';
import { KernelProfiler, type KernelTime } from './profiler.ts';
import { StagingBuffers } from './staging.ts';
import { UniformArena } from './uniforms.ts';
import { Storage, Tensor, numel, type DType, type TapeNode } from './tensor.ts';

const COPY_DST = 0x08;
const COPY_SRC = 0x04;
const MAP_MODE_READ = 0x01;

export type BindingValue = Tensor | GPUBuffer | { buffer: GPUBuffer; offset?: number; size?: number };

export interface DispatchSpec {
  entry?: string;
  constants?: Constants;
  bindings: Record<string, BindingValue>;
  /** Values for the members of the kernel's uniform struct, by member name. */
  params?: Record<string, number | readonly number[]>;
  workgroups: readonly [number, number?, number?];
}

export interface EngineStats {
  dispatches: number;
  submits: number;
  pipelines: number;
  bindGroupsCreated: number;
  /** Staging buffers created for uploads and readbacks (they are reused, so this stops growing). */
  stagingBuffersCreated: number;
}

export interface EngineOptions extends DeviceOptions {
  /** Fill every buffer taken from the pool with NaN before use, so unwritten outputs show up in tests. */
  poison?: boolean;
  /** Bytes of the uniform arena (default 2 MiB); a flush that needs more submits early. Small values exercise that path in tests. */
  uniformArenaBytes?: number;
}

export class Engine {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly kernels: KernelRegistry;
  readonly maxWorkgroupsPerDim: number;
  readonly maxInvocations: number;
  poison: boolean;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private uniforms: UniformArena;
  private staging: StagingBuffers;
  readonly bindGroups: BindGroupCache;
  /** Dynamic uniform offsets of the dispatch being encoded: views of one array this engine keeps alive (bun-webgpu passes them by raw pointer). */
  private offsetStore = new Uint32Array(8);
  private offsetViews = Array.from({ length: 9 }, (_, n) => this.offsetStore.subarray(0, n));
  private error: Error | null = null;
  private stats = { dispatches: 0, submits: 0 };

  /** Per-kernel profile (startProfile … stopProfile). */
  private profiler: KernelProfiler | null = null;

  /** Tensors created inside each open scope. */
  private scopes: Set<Tensor>[] = [];
  /** Autograd tape in creation order (which is a topological order). */
  tape: TapeNode[] = [];
  private gradDepth = 0;

  constructor(readonly info: DeviceInfo, options: EngineOptions = {}) {
    this.device = info.device;
    const lim = this.device.limits;
    this.maxWorkgroupsPerDim = lim.maxComputeWorkgroupsPerDimension;
    this.maxInvocations = lim.maxComputeInvocationsPerWorkgroup;
    this.uniforms = new UniformArena(this.device, Math.max(256, lim.minUniformBufferOffsetAlignment), options.uniformArenaBytes);
    this.bindGroups = new BindGroupCache(this.device);
    // Groups that bind a buffer are released before the pool destroys it.
    this.pool = new BufferPool(this.device, Math.min(lim.maxStorageBufferBindingSize, lim.maxBufferSize), (b) => this.bindGroups.forget(b));
    this.staging = new StagingBuffers(this.device);
    // A kernel's compile error replaces a device error seen before it arrived: dispatches of its
    // invalid pipeline (an invalid command buffer) are consequences, not the cause.
    this.kernels = new KernelRegistry(this.device, this.maxInvocations, (err) => { this.error = err; });
    this.poison = options.poison ?? false;
    this.device.addEventListener('uncapturederror', this.onDeviceError);
    void this.device.lost.then((l) => {
      this.error ??= new Error(`WebGPU device lost (${l.reason}): ${l.message}`);
    });
  }

  private onDeviceError = (ev: Event): void => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    this.error ??= new Error(`WebGPU error: ${e.message}`);
  };

  static async create(options: EngineOptions = {}): Promise<Engine> {
    return new Engine(await getDevice(options), options);
  }

  /** Throws the first device error seen (validation, out-of-memory, device loss). */
  checkError(): void {
    if (this.error) {
      const e = this.error;
      this.error = null;
      throw e;
    }
  }

  // ---------------------------------------------------------------- tensors and scopes

  /** An uninitialised tensor from the pool (NaN-filled when poisoning is on). */
  empty(shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
    const bytes = Math.max(4, numel(shape) * 4);
    const buf = this.pool.acquire(bytes, label);
    const t = new Tensor(this, new Storage(this, buf, bytes), shape, dtype);
    if (label) t.name = label;
    if (this.poison && t.size > 0) this.fillRaw(t, 0x7fc00000);
    return t;
  }

  /** Fills a tensor with a 32-bit pattern (f32 bits or integer). */
  fillRaw(t: Tensor, bits: number, count = t.size): void {
    if (count === 0) return;
    const wg = this.grid(Math.ceil(count / 4), 64); // 4 words per invocation
    this.dispatch('fill', { bindings: { out: t }, params: { n: count, bits: bits >>> 0, stride: wg.stride }, workgroups: wg.workgroups });
  }

  fill(t: Tensor, value: number): Tensor {
    const f = new Float32Array([value]);
    const bits = t.dtype === 'f32' ? new Uint32Array(f.buffer)[0]! : value >>> 0;
    this.fillRaw(t, bits);
    return t;
  }

  /** Uploads data into a new tensor. */
  tensor(data: ArrayLike<number> | Float32Array | Uint32Array | Int32Array, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const n = numel(shape);
    if (data.length !== n) throw new Error(`tensor(): ${data.length} values for shape [${shape.join(', ')}] (${n} elements)`);
    const t = this.empty(shape, dtype);
    this.write(t, data);
    return t;
  }

  /** Writes host data into a tensor's buffer, ordered after every op encoded so far. */
  write(t: Tensor, data: ArrayLike<number>): void {
    const n = t.size;
    if (data.length !== n) throw new Error(`write(): ${data.length} values for tensor ${t.describe()}`);
    const arr =
      t.dtype === 'f32' ? (data instanceof Float32Array ? data : Float32Array.from(data)) : t.dtype === 'u32' ? (data instanceof Uint32Array ? data : Uint32Array.from(data)) : data instanceof Int32Array ? data : Int32Array.from(data);
    if (n === 0) return;
    if (!this.encoder) {
      this.device.queue.writeBuffer(t.buffer, 0, arr.buffer, arr.byteOffset, arr.byteLength);
      return;
    }
    // Encoded-but-unsubmitted work may still use this (recycled) buffer: copy through a staging
    // buffer inside the encoder instead of writing at queue level, which would run before it.
    const staging = this.staging.upload(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
    this.endPass();
    this.encoder.copyBufferToBuffer(staging, 0, t.buffer, 0, arr.byteLength);
  }

  /** Called by the Tensor constructor: registers it with the innermost scope. */
  track(t: Tensor): void {
    this.scopes[this.scopes.length - 1]?.add(t);
  }

  untrack(t: Tensor): void {
    for (const s of this.scopes) s.delete(t);
  }

  /**
   * Runs fn and disposes every tensor created inside it except the ones it returns (a tensor, or
   * tensors inside a returned array or plain object) and ones marked keep(). Async functions are
   * supported; the scope closes when the promise settles.
   */
  scope<T>(fn: () => T): T {
    const set = new Set<Tensor>();
    this.scopes.push(set);
    let result: T;
    try {
      result = fn();
    } catch (e) {
      this.closeScope(set, undefined);
      throw e;
    }
    if (result instanceof Promise) {
      return result.then(
        (r) => {
          this.closeScope(set, r);
          return r;
        },
        (e) => {
          this.closeScope(set, undefined);
          throw e;
        },
      ) as T;
    }
    this.closeScope(set, result);
    return result;
  }

  private closeScope(set: Set<Tensor>, result: unknown): void {
    const idx = this.scopes.lastIndexOf(set);
    if (idx >= 0) this.scopes.splice(idx, 1);
    const keep = new Set<Tensor>();
    const visit = (v: unknown, depth: number) => {
      if (depth > 3 || v === null || typeof v !== 'object') return;
      if (v instanceof Tensor) keep.add(v);
      else if (Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
      else if (Object.getPrototypeOf(v) === Object.prototype) Object.values(v).forEach((x) => visit(x, depth + 1));
    };
    visit(result, 0);
    const parent = this.scopes[this.scopes.length - 1];
    for (const t of set) {
      if (keep.has(t)) parent?.add(t);
      else t.dispose();
    }
    // When the outermost scope closes, nodes whose output is gone can no longer be reached by a
    // backward pass: drop them. Not earlier: an inner scope (an op's temporaries) may close while
    // disposed views still link the graph of the enclosing step.
    if (this.scopes.length === 0 && this.tape.length > 0) this.tape = this.tape.filter((n) => !n.output.isDisposed);
    if (this.scopes.length === 0) this.pool.settle();
  }

  private dummyBuffer: GPUBuffer | null = null;

  /** A small permanent buffer for bindings a kernel variant declares but does not use. */
  get dummy(): GPUBuffer {
    this.dummyBuffer ??= this.device.createBuffer({ size: 256, usage: 0x80 | COPY_DST | COPY_SRC, label: 'dummy' });
    return this.dummyBuffer;
  }

  // ---------------------------------------------------------------- autograd

  get gradEnabled(): boolean {
    return this.gradDepth === 0;
  }

  /** Runs fn with the tape off: nothing inside records backward nodes. */
  noGrad<T>(fn: () => T): T {
    this.gradDepth++;
    try {
      const r = fn();
      if (r instanceof Promise) return r.finally(() => this.gradDepth--) as T;
      this.gradDepth--;
      return r;
    } catch (e) {
      this.gradDepth--;
      throw e;
    }
  }

  /** Records an op on the tape when grad mode is on and any input takes part in autograd. */
  record(op: string, inputs: Tensor[], output: Tensor, backward: TapeNode['backward']): Tensor {
    if (this.gradDepth > 0 || !inputs.some((t) => t.requiresGrad)) return output;
    output.requiresGrad = true;
    const node: TapeNode = { op, inputs, output, backward };
    output.node = node;
    this.tape.push(node);
    return output;
  }

  // ---------------------------------------------------------------- dispatch and submission

  /** 1-D launch helper: spreads n invocations over x and y when x alone would exceed the limit. */
  grid(n: number, wgSize: number): { workgroups: [number, number, number]; stride: number } {
    const groups = Math.max(1, Math.ceil(n / wgSize));
    if (groups <= this.maxWorkgroupsPerDim) return { workgroups: [groups, 1, 1], stride: groups * wgSize };
    const y = Math.ceil(groups / this.maxWorkgroupsPerDim);
    const x = Math.ceil(groups / y);
    return { workgroups: [x, y, 1], stride: x * wgSize };
  }

  private getEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      releaseComputePass(this.pass);
      this.pass = null;
    }
  }

  /**
   * Adds a kernel that is not one of the engine's own (shaders/): a feature outside the engine ships
   * its WGSL and registers it before dispatching it by `name` (see KernelRegistry.register).
   */
  registerKernel(name: string, wgsl: string, path?: string): void {
    this.kernels.register(name, wgsl, path);
  }

  /** Encodes one kernel dispatch into the shared encoder. */
  dispatch(shader: string, spec: DispatchSpec): void {
    const kernel = this.kernels.get(shader, spec.entry ?? 'main', spec.constants ?? {});
    this.encodeDispatch(kernel, spec);
  }

  kernel(shader: string, entry = 'main', constants: Constants = {}): Kernel {
    return this.kernels.get(shader, entry, constants);
  }

  encodeDispatch(kernel: Kernel, spec: DispatchSpec): void {
    const where = `${kernel.path}:${kernel.entry}`;
    const given = new Set(Object.keys(spec.bindings));
    const entries: GPUBindGroupEntry[] = [];
    const bufferIds: number[] = [];
    let uniforms = 0;
    let key = kernel.key;
    // A full arena submits what is encoded so far, before any of this dispatch's slots are taken.
    if (!this.uniforms.fits(kernel)) this.flush();
    for (const b of kernel.bindings) {
      if (b.kind === 'uniform') {
        if (uniforms === this.offsetStore.length) throw new Error(`${where}: more than ${this.offsetStore.length} uniform bindings`);
        // Bound at offset 0 with the slot as a dynamic offset, so the group does not depend on the slot.
        this.offsetStore[uniforms++] = this.uniforms.pack(b, spec.params ?? {}, where);
        const arena = this.uniforms.buffer;
        entries.push({ binding: b.binding, resource: { buffer: arena, offset: 0, size: b.size } });
        const id = this.bindGroups.bufferId(arena);
        bufferIds.push(id);
        key += `|u${id}`;
        continue;
      }
      const v = spec.bindings[b.name];
      if (v === undefined) throw new Error(`${where}: binding "${b.name}" was not given (given: ${[...given].join(', ')})`);
      given.delete(b.name);
      let buffer: GPUBuffer;
      let offset = 0;
      let size: number | undefined;
      if (v instanceof Tensor) {
        buffer = v.buffer;
        // Rounded up to 16 bytes (within the pool's 256-byte buckets) so any tensor can be bound as
        // array<vec4<f32>>; such kernels compute a last partial group of 4 whole, in the tensor's own
        // padding (data kept behind a tensor in its buffer starts after that group).
        size = Math.ceil(Math.max(4, v.size * 4) / 16) * 16;
      } else if ('buffer' in v && typeof (v as unknown as GPUBuffer).mapAsync !== 'function') {
        const r = v as { buffer: GPUBuffer; offset?: number; size?: number };
        buffer = r.buffer;
        offset = r.offset ?? 0;
        size = r.size;
      } else buffer = v as GPUBuffer;
      entries.push({ binding: b.binding, resource: size === undefined ? { buffer, offset } : { buffer, offset, size } });
      const id = this.bindGroups.bufferId(buffer);
      bufferIds.push(id);
      key += `|${id}:${offset}:${size ?? -1}`;
    }
    if (given.size > 0) throw new Error(`${where}: no binding named ${[...given].map((g) => `"${g}"`).join(', ')} (has: ${kernel.bindings.map((b) => b.name).join(', ')})`);
    const bg = this.bindGroups.get(kernel.layout, key, entries, bufferIds);
    const [x, y = 1, z = 1] = spec.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    for (const d of [x, y, z]) {
      if (d > this.maxWorkgroupsPerDim) throw new Error(`${where}: ${d} workgroups in one dimension exceeds the device limit ${this.maxWorkgroupsPerDim}`);
    }
    this.pass ??= this.getEncoder().beginComputePass();
    this.pass.setPipeline(kernel.pipeline);
    if (uniforms > 0) this.pass.setBindGroup(0, bg, this.offsetViews[uniforms]!);
    else this.pass.setBindGroup(0, bg);
    this.pass.dispatchWorkgroups(x, y, z);
    this.stats.dispatches++;
    if (this.profiler?.active) this.profiler.record(kernel, entries, (u, size) => this.uniforms.slot(this.offsetStore[u]!, size), uniforms, [x, y, z]);
  }

  /**
   * Starts per-kernel profiling: dispatches run normally and are also recorded; stopProfile()
   * replays each one alone, synchronised, and reports time per kernel entry point (profiler.ts).
   * The replays run the dispatches again, so in-place results (accumulations) of a profiled step change.
   */
  async startProfile(): Promise<void> {
    await this.sync();
    this.profiler ??= new KernelProfiler(this.device);
    this.profiler.start();
  }

  /** Ends profiling; `repeats` replays each dispatch that many times and keeps its fastest run. */
  async stopProfile(repeats = 1): Promise<KernelTime[]> {
    if (!this.profiler?.active) throw new Error('stopProfile() without startProfile()');
    await this.sync();
    const r = await this.profiler.replay(repeats);
    this.checkError();
    return r;
  }

  /** Encodes a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.getEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Submits everything encoded so far in one queue.submit. */
  flush(): void {
    this.checkError();
    if (!this.encoder) {
      this.uniforms.reset(); // slots of dispatches that encoded nothing (zero workgroups)
      return;
    }
    this.endPass();
    this.uniforms.upload();
    const commands = this.encoder.finish();
    this.device.queue.submit([commands]);
    releaseCommandBuffer(commands);
    this.encoder = null;
    this.stats.submits++;
    this.staging.submitted();
  }

  /** Flushes and waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.kernels.settled();
    this.checkError();
  }

  /**
   * Reads tensors back with one flush and one mapping (flushes pending work first): reading a
   * step's loss and accuracy counters together costs one round trip, not one per tensor.
   */
  async readTensors(tensors: readonly Tensor[]): Promise<(Float32Array | Uint32Array | Int32Array)[]> {
    const sizes = tensors.map((t) => Math.max(4, t.size * 4));
    const offsets: number[] = [];
    let total = 0;
    for (const b of sizes) {
      offsets.push(total);
      total += b;
    }
    const staging = this.staging.takeReadback(total);
    tensors.forEach((t, i) => this.copy(t.buffer, 0, staging, offsets[i]!, sizes[i]!));
    this.flush();
    await staging.mapAsync(MAP_MODE_READ, 0, total);
    const all = staging.getMappedRange(0, total);
    const out = tensors.map((t, i) => {
      const ab = all.slice(offsets[i]!, offsets[i]! + t.size * 4);
      return t.dtype === 'u32' ? new Uint32Array(ab) : t.dtype === 'i32' ? new Int32Array(ab) : new Float32Array(ab);
    });
    staging.unmap();
    this.staging.returnReadback(staging);
    await this.kernels.settled();
    this.checkError();
    return out;
  }

  getStats(): EngineStats {
    return { ...this.stats, pipelines: this.kernels.pipelinesCompiled, bindGroupsCreated: this.bindGroups.getStats().created, stagingBuffersCreated: this.staging.created };
  }

  bindGroupStats(): BindGroupStats {
    return this.bindGroups.getStats();
  }

  /**
   * Frees what this engine holds on its device: cached bind groups, free pool and staging buffers,
   * the uniform arena. For engines made and dropped on a shared device (benchmarks, tests); call
   * it after sync() with every tensor disposed, and do not use the engine afterwards.
   */
  destroy(): void {
    if (this.encoder) throw new Error('Engine.destroy(): work is still encoded; call sync() first');
    this.device.removeEventListener('uncapturederror', this.onDeviceError);
    this.bindGroups.clear();
    this.pool.trim();
    this.staging.destroy();
    this.uniforms.destroy();
    this.dummyBuffer?.destroy();
    this.dummyBuffer = null;
    this.profiler?.destroy();
    this.profiler = null;
  }

  /** Live-tensor bookkeeping for leak checks. */
  poolStats() {
    return this.pool.getStats();
  }
}
