/** Tensors: a shape and a dtype over a pooled GPU buffer (shared by views), plus autograd state. */
import type { Engine } from './engine.ts';

export type DType = 'f32' | 'u32' | 'i32';

/** A pooled buffer shared by a tensor and its views; returned to the pool when the last user lets go. */
export class Storage {
  refs = 1;
  constructor(readonly engine: Engine, readonly buffer: GPUBuffer, readonly bytes: number) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) this.engine.pool.release(this.buffer);
  }
}

/** One recorded operation on the tape. `backward` maps the output gradient to input gradients. */
export interface TapeNode {
  op: string;
  inputs: Tensor[];
  output: Tensor;
  backward: (grad: Tensor, needs: boolean[]) => (Tensor | null)[];
}

let nextId = 1;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** True for tensors that take part in autograd (parameters that are not frozen, and results computed from them). */
  requiresGrad = false;
  /** Trainable leaf tensor (a model parameter). */
  isParameter = false;
  /** Accumulated gradient of a leaf, set by backward(). */
  grad: Tensor | null = null;
  node: TapeNode | null = null;
  name?: string;
  private disposed = false;

  constructor(readonly engine: Engine, readonly storage: Storage, shape: readonly number[], readonly dtype: DType = 'f32') {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`invalid tensor shape [${shape.join(', ')}]`);
    }
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    if (this.size * 4 > storage.bytes) throw new Error(`tensor [${shape.join(', ')}] needs ${this.size * 4} bytes, storage has ${storage.bytes}`);
    engine.track(this);
  }

  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`tensor ${this.describe()} was used after dispose()`);
    return this.storage.buffer;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get rank(): number {
    return this.shape.length;
  }

  describe(): string {
    return `${this.name ?? `#${this.id}`}[${this.shape.join(', ')}]`;
  }

  /** Frees this tensor's hold on its buffer (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
    this.engine.untrack(this);
  }

  /** Takes this tensor out of the enclosing scope so it survives the scope's end. */
  keep(): this {
    this.engine.untrack(this);
    return this;
  }

  /** Async readback (flushes pending work first). */
  async read(): Promise<Float32Array | Uint32Array | Int32Array> {
    return (await this.engine.readTensors([this]))[0]!;
  }

  async toFloat32(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`toFloat32 on ${this.dtype} tensor ${this.describe()}`);
    return (await this.read()) as Float32Array;
  }

  /** Marks this tensor as a trainable parameter (a leaf that receives .grad) and takes it out of any scope. */
  asParameter(name?: string): this {
    this.requiresGrad = true;
    this.isParameter = true;
    if (name) this.name = name;
    return this.keep();
  }

  /** A view sharing storage that does not take part in autograd. */
  detach(): Tensor {
    this.storage.retain();
    return new Tensor(this.engine, this.storage, this.shape, this.dtype);
  }

  /** A view with another shape over the same storage (no copy). */
  view(shape: readonly number[]): Tensor {
    const s = resolveShape(shape, this.size, `view of ${this.describe()}`);
    this.storage.retain();
    const v = new Tensor(this.engine, this.storage, s, this.dtype);
    const from = this.shape;
    return this.engine.record('view', [this], v, (dy) => [dy.view(from)]);
  }
}

/** Resolves one -1 in a target shape and checks the element count. */
export function resolveShape(shape: readonly number[], size: number, what: string): number[] {
  const s = [...shape];
  const neg = s.indexOf(-1);
  if (neg >= 0) {
    const rest = numel(s.filter((_, i) => i !== neg));
    if (rest === 0 || size % rest !== 0) throw new Error(`${what}: cannot infer -1 in [${shape.join(', ')}] for ${size} elements`);
    s[neg] = size / rest;
  }
  if (numel(s) !== size) throw new Error(`${what}: shape [${shape.join(', ')}] has ${numel(s)} elements, expected ${size}`);
  return s;
}
