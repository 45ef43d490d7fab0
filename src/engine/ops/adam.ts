/**
 * Adam and AdamW with torch.optim.Adam semantics (bias correction, L2 or decoupled weight decay,
 * per-parameter step counts) and optional global-norm gradient clipping, for every parameter of a
 * model in a few dispatches.
 *
 * Layout: the parameters are laid out back to back in flat arenas (parameter copy, gradient,
 * first and second moments). A step copies each parameter and its gradient into the arenas
 * (buffer copies, not dispatches), runs one update dispatch over a chunk table of the parameters
 * that have a gradient, and copies the parameters back. Copying the parameters in every step keeps
 * the tensors the model reads authoritative: anything that writes them (checkpoint loading, an EMA
 * swap) is seen by the next step. Arenas are split only when a model exceeds one storage binding.
 *
 * The learning rate and bias corrections are uniforms written each step, so `opt.lr = …` between
 * steps compiles nothing; nothing is read back.
 */
import type { Tensor } from '../tensor.ts';

export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** true: AdamW (p ← p·(1 − lr·wd)); false: Adam's L2 term wd·p added to the gradient. */
  decoupled?: boolean;
  /** Clip the total L2 norm of all gradients to this value (torch.nn.utils.clip_grad_norm_). */
  clipGradNorm?: number;
  /** Largest arena in elements (default: what one storage binding holds); for tests of the split. */
  maxArenaElements?: number;
}

/** Moments and step counts per parameter (in the order the parameters were given). */
export interface AdamState {
  /** Number of step() calls that updated at least one parameter. */
  step: number;
  /** Per-parameter step counts (a parameter without a gradient in a step does not count it). */
  steps: number[];
  m: Float32Array[];
  v: Float32Array[];
}

/** Elements per chunk of the work table: one workgroup of 256 invocations, 4 vec4s each. */
const CHUNK = 4096;
/** Most workgroups of norm_partial (each loops over several chunks; fewer partial sums and barriers). */
const NORM_WORKGROUPS = 256;
/** Arena offsets are multiples of 64 elements (256 bytes), so every chunk starts on a vec4 (the kernel binds the arenas as vec4 arrays) and copies stay aligned. */
const ALIGN = 64;

interface Arena {
  /** Indices into Adam.params of the parameters in this arena, and their element offsets. */
  members: number[];
  offsets: number[];
  size: number;
  param: Tensor;
  grad: Tensor;
  m: Tensor;
  v: Tensor;
  /** Chunk table of this step's layout, and per step-count group its range in the table. */
  chunks: Tensor | null;
  chunkCount: number;
  groups: { base: number; count: number }[];
  partialBase: number;
}

export class Adam {
  readonly params: readonly Tensor[];
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean;
  clipGradNorm: number | undefined;
  /** step() calls that updated something. */
  stepCount = 0;

  private steps: number[];
  private arenas: Arena[] = [];
  /** Per-parameter group id of the current chunk tables (-1 = no gradient), joined. */
  private layoutKey = '';
  /** Distinct step counts of the current layout's groups, in group order. */
  private groupSteps: number[] = [];
  private clipState: Tensor;
  private partials: Tensor | null = null;
  private disposed = false;

  constructor(params: Iterable<Tensor>, options: AdamOptions) {
    const list = [...params];
    this.params = list;
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.decoupled = options.decoupled ?? false;
    this.clipGradNorm = options.clipGradNorm;
    this.checkHyperparameters();
    if (list.length === 0) throw new Error('Adam: the parameter list is empty');
    const e = list[0]!.engine;
    const seen = new Set<Tensor>();
    for (const p of list) {
      if (p.dtype !== 'f32') throw new Error(`Adam: parameter ${p.describe()} is ${p.dtype}, expected f32`);
      if (p.isDisposed) throw new Error(`Adam: parameter ${p.describe()} is disposed`);
      if (seen.has(p)) throw new Error(`Adam: parameter ${p.describe()} appears twice`);
      if (p.engine !== e) throw new Error(`Adam: parameter ${p.describe()} belongs to another engine`);
      seen.add(p);
    }
    this.steps = list.map(() => 0);

    const limit = Math.min(e.device.limits.maxStorageBufferBindingSize, e.device.limits.maxBufferSize);
    // The pool rounds sizes up by at most 25 %: stay below limit / 1.25.
    const maxElems = options.maxArenaElements ?? Math.floor((limit * 0.75) / 4);
    let current: { members: number[]; offsets: number[]; size: number } = { members: [], offsets: [], size: 0 };
    const partition = [current];
    list.forEach((p, i) => {
      if (p.size > maxElems) throw new Error(`Adam: parameter ${p.describe()} has ${p.size} elements, more than one arena holds (${maxElems})`);
      let offset = Math.ceil(current.size / ALIGN) * ALIGN;
      if (offset + p.size > maxElems) {
        partition.push((current = { members: [], offsets: [], size: 0 }));
        offset = 0;
      }
      current.members.push(i);
      current.offsets.push(offset);
      current.size = offset + p.size;
    });
    for (const g of partition) {
      if (g.size === 0) continue;
      const zeroArena = () => e.fill(e.empty([g.size]), 0).keep();
      this.arenas.push({ ...g, param: zeroArena(), grad: zeroArena(), m: zeroArena(), v: zeroArena(), chunks: null, chunkCount: 0, groups: [], partialBase: 0 });
    }
    this.clipState = e.fill(e.empty([2]), 0).keep();
  }

  private checkHyperparameters(): void {
    const bad = (what: string, v: unknown): never => {
      throw new Error(`Adam: invalid ${what} ${String(v)}`);
    };
    if (!(this.lr >= 0) || !Number.isFinite(this.lr)) bad('learning rate', this.lr);
    if (!(this.beta1 >= 0 && this.beta1 < 1)) bad('beta1', this.beta1);
    if (!(this.beta2 >= 0 && this.beta2 < 1)) bad('beta2', this.beta2);
    if (!(this.eps >= 0)) bad('eps', this.eps);
    if (!(this.weightDecay >= 0)) bad('weight decay', this.weightDecay);
    if (this.clipGradNorm !== undefined && !(this.clipGradNorm > 0)) bad('clipGradNorm', this.clipGradNorm);
  }

  /**
   * (total gradient norm before clipping, scale applied) of the last step, as a [2] tensor on the
   * GPU; (0, 0) until a step with clipping has run. Read it only when you want to log it.
   */
  get gradNormStats(): Tensor {
    return this.clipState;
  }

  /** Encodes one update of every parameter that has a gradient. Parameters without one are left unchanged. */
  step(): void {
    if (this.disposed) throw new Error('Adam.step: the optimiser was disposed');
    this.checkHyperparameters();
    const active = this.params.map((p) => p.grad !== null && !p.grad.isDisposed);
    if (!active.some((a) => a)) return;
    this.params.forEach((p, i) => {
      if (!active[i]) return;
      const g = p.grad!;
      if (g.size !== p.size || g.dtype !== 'f32') throw new Error(`Adam.step: gradient ${g.describe()} (${g.dtype}) does not match parameter ${p.describe()}`);
      if (p.isDisposed) throw new Error(`Adam.step: parameter ${p.describe()} was disposed`);
    });
    this.params.forEach((_, i) => {
      if (active[i]) this.steps[i]!++;
    });
    this.stepCount++;
    const e = this.params[0]!.engine;

    // Parameters updated with the same step count share bias corrections: one group each.
    const distinct = [...new Set(this.params.flatMap((_, i) => (active[i] ? [this.steps[i]!] : [])))].sort((a, b) => b - a);
    const groupOf = this.params.map((_, i) => (active[i] ? distinct.indexOf(this.steps[i]!) : -1));
    const key = groupOf.join(',');
    if (key !== this.layoutKey) this.buildChunkTables(groupOf, distinct.length);
    this.groupSteps = distinct;

    for (const a of this.arenas) {
      a.members.forEach((pi, k) => {
        const p = this.params[pi]!;
        if (!active[pi] || p.size === 0) return;
        e.copy(p.grad!.buffer, 0, a.grad.buffer, a.offsets[k]! * 4, p.size * 4);
        e.copy(p.buffer, 0, a.param.buffer, a.offsets[k]! * 4, p.size * 4);
      });
    }

    const clipping = this.clipGradNorm !== undefined;
    if (clipping) {
      const total = this.arenas.reduce((s, a) => s + Math.min(a.chunkCount, NORM_WORKGROUPS), 0);
      if (!this.partials || this.partials.size < total) {
        this.partials?.dispose();
        this.partials = e.empty([total]).keep();
      }
      for (const a of this.arenas) {
        if (a.chunkCount === 0) continue;
        e.dispatch('adam', {
          entry: 'norm_partial',
          bindings: { grad: a.grad, chunks: a.chunks!, partials: this.partials },
          params: { chunk_base: 0, chunk_count: a.chunkCount, partial_base: a.partialBase, partial_count: 0, max_norm: 0 },
          workgroups: [Math.min(a.chunkCount, NORM_WORKGROUPS)],
        });
      }
      e.dispatch('adam', {
        entry: 'norm_finalize',
        bindings: { partials: this.partials, clip_out: this.clipState },
        params: { chunk_base: 0, chunk_count: 0, partial_base: 0, partial_count: total, max_norm: this.clipGradNorm! },
        workgroups: [1],
      });
    }

    const common = {
      one_minus_beta1: 1 - this.beta1,
      beta2: this.beta2,
      one_minus_beta2: 1 - this.beta2,
      eps: this.eps,
      weight_decay: this.weightDecay,
      decay_mul: this.decoupled ? 1 - this.lr * this.weightDecay : 1,
      decoupled: this.decoupled ? 1 : 0,
      use_clip: clipping ? 1 : 0,
    };
    for (const a of this.arenas) {
      a.groups.forEach((grp, gi) => {
        if (grp.count === 0) return;
        const t = this.groupSteps[gi]!;
        const g = e.grid(grp.count, 1);
        e.dispatch('adam', {
          entry: 'update',
          bindings: { param: a.param, grad: a.grad, moment1: a.m, moment2: a.v, chunks: a.chunks!, clip: this.clipState },
          params: {
            ...common,
            step_size: this.lr / (1 - this.beta1 ** t),
            inv_bc2_sqrt: 1 / Math.sqrt(1 - this.beta2 ** t),
            chunk_base: grp.base,
            chunk_count: grp.count,
            wg_stride: g.stride,
          },
          workgroups: g.workgroups,
        });
      });
    }

    for (const a of this.arenas) {
      a.members.forEach((pi, k) => {
        const p = this.params[pi]!;
        if (!active[pi] || p.size === 0) return;
        e.copy(a.param.buffer, a.offsets[k]! * 4, p.buffer, 0, p.size * 4);
      });
    }
  }

  /** Chunk tables for a new set of parameters with gradients / step-count groups (rare: re-used while unchanged). */
  private buildChunkTables(groupOf: number[], groupCount: number): void {
    const e = this.params[0]!.engine;
    let partialBase = 0;
    for (const a of this.arenas) {
      const table: number[] = [];
      a.groups = [];
      for (let gi = 0; gi < groupCount; gi++) {
        const base = table.length / 2;
        a.members.forEach((pi, k) => {
          if (groupOf[pi] !== gi) return;
          const size = this.params[pi]!.size;
          for (let s = 0; s < size; s += CHUNK) table.push(a.offsets[k]! + s, Math.min(CHUNK, size - s));
        });
        a.groups.push({ base, count: table.length / 2 - base });
      }
      a.chunks?.dispose();
      a.chunkCount = table.length / 2;
      a.chunks = a.chunkCount > 0 ? e.tensor(Uint32Array.from(table), [a.chunkCount, 2], 'u32').keep() : null;
      a.partialBase = partialBase;
      partialBase += Math.min(a.chunkCount, NORM_WORKGROUPS);
    }
    this.layoutKey = groupOf.join(',');
  }

  /** Moments and step counts, read back from the GPU (for checkpoints). */
  async state(): Promise<AdamState> {
    const m = this.params.map(() => new Float32Array(0));
    const v = this.params.map(() => new Float32Array(0));
    for (const a of this.arenas) {
      const [am, av] = [(await a.m.read()) as Float32Array, (await a.v.read()) as Float32Array];
      a.members.forEach((pi, k) => {
        const o = a.offsets[k]!;
        const n = this.params[pi]!.size;
        m[pi] = am.slice(o, o + n);
        v[pi] = av.slice(o, o + n);
      });
    }
    return { step: this.stepCount, steps: [...this.steps], m, v };
  }

  /** Restores moments and step counts saved by state() for the same parameter list. */
  loadState(s: AdamState): void {
    const n = this.params.length;
    if (s.steps.length !== n || s.m.length !== n || s.v.length !== n) {
      throw new Error(`Adam.loadState: state for ${s.steps.length} parameters, optimiser has ${n}`);
    }
    this.params.forEach((p, i) => {
      if (s.m[i]!.length !== p.size || s.v[i]!.length !== p.size) {
        throw new Error(`Adam.loadState: moments of parameter ${i} have ${s.m[i]!.length}/${s.v[i]!.length} elements, ${p.describe()} has ${p.size}`);
      }
      if (!Number.isInteger(s.steps[i]) || s.steps[i]! < 0) throw new Error(`Adam.loadState: invalid step count ${s.steps[i]} for parameter ${i}`);
    });
    const e = this.params[0]!.engine;
    for (const a of this.arenas) {
      const hm = new Float32Array(a.size);
      const hv = new Float32Array(a.size);
      a.members.forEach((pi, k) => {
        hm.set(s.m[pi]!, a.offsets[k]!);
        hv.set(s.v[pi]!, a.offsets[k]!);
      });
      e.write(a.m, hm);
      e.write(a.v, hv);
    }
    this.steps = [...s.steps];
    this.stepCount = s.step;
  }

  /** Per-parameter step counts. */
  get stepCounts(): readonly number[] {
    return this.steps;
  }

  /** Frees the arenas. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const a of this.arenas) for (const t of [a.param, a.grad, a.m, a.v, a.chunks]) t?.dispose();
    this.partials?.dispose();
    this.clipState.dispose();
    this.arenas = [];
  }
}
