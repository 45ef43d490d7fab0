/**
 * Module: a named tree of parameters and sub-modules, PyTorch-style, so checkpoint names read
 * like `dt.encoder1.0.attn.qkv.weight`. Layers know nothing of training.
 */
import type { Engine, Tensor } from '../engine/index.ts';
import type { Rng } from './init.ts';

/** What a module needs to create its parameters. */
export interface ModuleContext {
  e: Engine;
  rng: Rng;
}

export abstract class Module {
  private readonly ownParams = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  constructor(protected readonly ctx: ModuleContext) {}

  get e(): Engine {
    return this.ctx.e;
  }

  /** Registers a parameter created from host data. */
  protected param(name: string, data: Float32Array, shape: number[]): Tensor {
    if (this.ownParams.has(name)) throw new Error(`parameter ${name} registered twice`);
    const t = this.ctx.e.tensor(data, shape).asParameter(name);
    this.ownParams.set(name, t);
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    if (this.children.has(name)) throw new Error(`module ${name} registered twice`);
    this.children.set(name, m);
    return m;
  }

  /** Every parameter with its dotted name, in registration order. */
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, t] of this.ownParams) yield [prefix + n, t];
    for (const [n, m] of this.children) yield* m.namedParameters(`${prefix}${n}.`);
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  /** Trainable parameters (requiresGrad). */
  trainable(): Tensor[] {
    return this.parameters().filter((t) => t.requiresGrad);
  }

  /** Freezes (or unfreezes) every parameter of this module. */
  setTrainable(on: boolean): this {
    for (const t of this.parameters()) t.requiresGrad = on;
    return this;
  }

  numParameters(): number {
    let n = 0;
    for (const t of this.parameters()) n += t.size;
    return n;
  }

  /** Replaces a parameter's values (same shape) — for checkpoint loading and stage-2 initialisation. */
  static assign(dst: Tensor, data: Float32Array): void {
    dst.engine.write(dst, data);
  }

  dispose(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }
}

/** A list of modules named 0, 1, 2 … (like nn.Sequential / nn.ModuleList). */
export class ModuleList<M extends Module> extends Module {
  readonly items: M[] = [];
  constructor(ctx: ModuleContext, make: (i: number) => M, n: number) {
    super(ctx);
    for (let i = 0; i < n; i++) this.items.push(this.child(String(i), make(i)));
  }
}
