/**
 * The kernel tuner (src/engine/tuning.ts) as a mechanism, not by its timings: forced variants give
 * the same results and are the kernels that run (matmul; conv2d in every pass); tuneAll picks what
 * a fake clock says is fastest, per shape key, and keeps the fallback on near-ties; decisions
 * round-trip through JSON and a file; a damaged file is rebuilt; two engines sharing a file (two
 * processes on one machine) choose the same variants without timing again; a training run's
 * tuning.json makes its resume time nothing and end bitwise where the uninterrupted run ends. One
 * run on the real clock checks that costs are measured.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { backward } from '../src/engine/autograd.ts';
import { MATMUL_VARIANTS, matmul } from '../src/engine/ops/matmul.ts';
import { CONV2D_VARIANTS, conv2d } from '../src/engine/ops/conv2d.ts';
import { enableAutotune, loadTunings, memoryTuningStore, recordShapes, saveTunings, tuneAll, withVariants, type TuneClock, type TuningsJson } from '../src/engine/tuning.ts';
import { fileTuningStore, tuningCachePath } from '../src/train/tuning-cache-fs.ts';
import { CachedDataset } from '../src/train/data/dataset.ts';
import { SynthFerDataset } from '../src/train/data/synthfer.ts';
import { trainStage } from '../src/train/pipeline.ts';
import { newModel } from '../src/train/models-fs.ts';
import { MemoryStore } from '../src/train/store.ts';
import { StoppedEarly, TUNING_FILE } from '../src/train/trainer.ts';
import { decodeSafetensors } from '../src/model/safetensors.ts';
import { MICRO_CONFIG } from './kill-resume-run.ts';
import { expectClose, f32round, freshSeed, getEngine, randn, read, rng } from './helpers.ts';

/** Fresh engines on the shared device (each with its own tuning state), destroyed after each test. */
const engines: Engine[] = [];
async function freshEngine(): Promise<Engine> {
  const e = new Engine((await getEngine()).info, { poison: true });
  engines.push(e);
  return e;
}
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'lrdif-tuning-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const e of engines.splice(0)) {
    await e.sync();
    e.destroy();
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Kernel keys (shader:entry:constants) of what fn dispatches. */
function dispatched(e: Engine, fn: () => void): string[] {
  const keys: string[] = [];
  const encode = e.encodeDispatch.bind(e);
  e.encodeDispatch = (kernel, spec) => {
    keys.push(kernel.key);
    encode(kernel, spec);
  };
  try {
    fn();
  } finally {
    delete (e as { encodeDispatch?: unknown }).encodeDispatch;
  }
  return keys;
}

/** The matmul variants behind dispatched kernel keys (see kernelConfig in matmul.ts). */
function matmulVariants(keys: string[]): string[] {
  return keys
    .filter((k) => k.startsWith('matmul:'))
    .map((k) => (k.includes(':workgroup_tiled:') ? 'workgroup' : k.includes(':register_named:') ? 'registerNamed' : k.includes('TM=8') ? 'register8x8' : 'register'));
}

/** A clock that runs fn (so the path executes) and reports cost(what). */
function fakeClock(cost: (what: { tunable: string; key: string; variant: string }) => number, timed: string[] = []): TuneClock {
  return {
    by: 'fake',
    async time(e, fn, what) {
      fn();
      await e.sync();
      timed.push(`${what.tunable} ${what.key} ${what.variant}`);
      return cost(what);
    },
  };
}
const refusingClock: TuneClock = {
  by: 'refusing',
  time: async (_e, _fn, what) => {
    throw new Error(`timed ${what.tunable} ${what.key} ${what.variant}: every choice should have been loaded`);
  },
};

/** Runs one product of the shape (no gradient) and returns the matmul variants it dispatched. */
function runMatmul(e: Engine, M: number, N: number, K: number): string[] {
  return e.noGrad(() => e.scope(() => matmulVariants(dispatched(e, () => void matmul(e.fill(e.empty([M, K]), 1), e.fill(e.empty([K, N]), 1))))));
}

/** conv2d forward and backward of a 3×3 padded convolution (large enough to be timed): the kernel keys per pass. */
function runConv(e: Engine): { forward: string[]; backward: string[] } {
  return e.scope(() => {
    const x = e.fill(e.empty([2, 8, 16, 12]), 0.5).asParameter();
    const w = e.fill(e.empty([16, 8, 3, 3]), 0.25).asParameter();
    let y!: Tensor;
    const forward = dispatched(e, () => (y = conv2d(x, w, undefined, { padding: 1 })));
    const back = dispatched(e, () => backward(y, e.fill(e.empty(y.shape), 1)));
    x.grad!.dispose();
    w.grad!.dispose();
    return { forward, backward: back };
  });
}
const has = (keys: string[], entry: string) => keys.some((k) => k.startsWith(`conv2d:${entry}:`));
/** The matmul variants timed on an adapter: workgroup tiles are not, on CPU adapters. */
const timedMatmulVariants = (e: Engine) => (e.info.software ? MATMUL_VARIANTS.filter((v) => v !== 'workgroup') : MATMUL_VARIANTS);

describe('forced variants', () => {
  it('every matmul variant gives the same product and gradients, and is the kernel that runs in both passes', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('tuning matmul variants'));
    const [A, B, G] = [f32round(randn(r, 3 * 37 * 29)), f32round(randn(r, 29 * 45)), f32round(randn(r, 3 * 37 * 45))];
    const outs = new Map<string, Float64Array[]>();
    for (const v of MATMUL_VARIANTS) {
      await withVariants(e, { matmul: v }, () =>
        e.scope(async () => {
          const a = e.tensor(Float32Array.from(A), [3, 37, 29]).asParameter();
          const b = e.tensor(Float32Array.from(B), [29, 45]).asParameter();
          let y!: Tensor;
          const keys = dispatched(e, () => {
            y = matmul(a, b);
            backward(y, e.tensor(Float32Array.from(G), [3, 37, 45]));
          });
          expect(matmulVariants(keys), v).toEqual([v, v, v]); // forward, grad a, grad b
          outs.set(v, [await read(y), await read(a.grad!), await read(b.grad!)]);
          a.grad!.dispose();
          b.grad!.dispose();
        }),
      );
    }
    const first = outs.get(MATMUL_VARIANTS[0]!)!;
    for (const [v, o] of outs) o.forEach((x, i) => expectClose(x, first[i]!, 1e-5, `${v} vs ${MATMUL_VARIANTS[0]} ${['y', 'grad a', 'grad b'][i]}`));
  });

  it('conv2d direct and gemm give the same output and gradients, and run their own kernels in every pass', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('tuning conv2d variants'));
    const [X, W, Bv, G] = [f32round(randn(r, 2 * 5 * 9 * 8)), f32round(randn(r, 6 * 5 * 9, 0.3)), f32round(randn(r, 6)), f32round(randn(r, 2 * 6 * 9 * 8))];
    const outs = new Map<string, Float64Array[]>();
    for (const v of CONV2D_VARIANTS) {
      await withVariants(e, { conv2d: v }, () =>
        e.scope(async () => {
          const x = e.tensor(Float32Array.from(X), [2, 5, 9, 8]).asParameter();
          const w = e.tensor(Float32Array.from(W), [6, 5, 3, 3]).asParameter();
          const b = e.tensor(Float32Array.from(Bv), [6]).asParameter();
          let y!: Tensor;
          const keys = dispatched(e, () => {
            y = conv2d(x, w, b, { padding: 1 });
            backward(y, e.tensor(Float32Array.from(G), y.shape));
          });
          const direct = ['forward', 'grad_input', 'grad_weight'];
          const gemm = ['im2col', 'col2im'];
          expect(direct.map((k) => has(keys, k)), `${v}: direct kernels`).toEqual(direct.map(() => v === 'direct'));
          expect(gemm.map((k) => has(keys, k)), `${v}: lowering kernels`).toEqual(gemm.map(() => v === 'gemm'));
          expect(matmulVariants(keys).length > 0, `${v}: matmuls`).toBe(v === 'gemm');
          outs.set(v, [await read(y), await read(x.grad!), await read(w.grad!), await read(b.grad!)]);
          for (const t of [x, w, b]) t.grad!.dispose();
        }),
      );
    }
    const [d, g] = [outs.get('direct')!, outs.get('gemm')!];
    d.forEach((x, i) => expectClose(g[i]!, x, 1e-5, `gemm vs direct ${['y', 'grad x', 'grad w', 'grad b'][i]}`));
  });

  it('withVariants restores the previous choice after returning, throwing or settling, nests, and refuses unknown names', async () => {
    const e = await getEngine();
    const fallback = runMatmul(e, 8, 8, 8)[0]!;
    const other = MATMUL_VARIANTS.find((v) => v !== fallback)!;
    const third = MATMUL_VARIANTS.find((v) => v !== fallback && v !== other)!;
    expect(withVariants(e, { matmul: other }, () => [runMatmul(e, 8, 8, 8)[0], withVariants(e, { matmul: third }, () => runMatmul(e, 8, 8, 8)[0]), runMatmul(e, 8, 8, 8)[0]])).toEqual([other, third, other]);
    expect(runMatmul(e, 8, 8, 8)).toEqual([fallback]);
    expect(() => withVariants(e, { matmul: other }, () => { throw new Error('inside'); })).toThrow('inside');
    expect(runMatmul(e, 8, 8, 8)).toEqual([fallback]);
    await expect(withVariants(e, { matmul: other }, async () => { await e.sync(); throw new Error('later'); })).rejects.toThrow('later');
    expect(runMatmul(e, 8, 8, 8)).toEqual([fallback]);
    expect(() => withVariants(e, { matmull: 'register' }, () => 0)).toThrow(/withVariants: no tunable named "matmull" \(known: .*matmul.*conv2d/);
    expect(() => withVariants(e, { matmul: 'fast' }, () => 0)).toThrow('withVariants: matmul has no variant "fast" (known: register, register8x8, registerNamed, workgroup)');
    expect(() => withVariants(e, { 'row-reduction': 'diagonal' }, () => 0)).toThrow('withVariants: row-reduction has no variant "diagonal" (known: gpu, cpu)');
    expect(() => withVariants(e, { 'channel-attention': 'diagonal' }, () => 0)).toThrow('withVariants: channel-attention has no variant "diagonal" (known: gpu, cpu)');
  });
});

describe('tuneAll', () => {
  it('picks the variant the clock says is fastest, per recorded shape key; shapes that anchor alike share a key; a near-tie keeps the fallback; tiny problems are not timed', async () => {
    const e = await freshEngine();
    const fallback = recordShapes(e, () => runMatmul(e, 128, 128, 128))[0]!;
    const [want128, wantTall] = MATMUL_VARIANTS.filter((v) => v !== fallback);
    // 128³ and 800×16×32 want different variants; 72×80×48 is a near-tie (within 10 %) the fallback keeps.
    const cost = ({ key, variant }: { key: string; variant: string }) => {
      if (key.includes(' 128x128x128 ')) return variant === want128 ? 1 : 3;
      if (key.includes(' 1024x16x32 ')) return variant === wantTall ? 1 : 3;
      return variant === fallback ? 1.09 : variant === want128 ? 1 : 3;
    };
    recordShapes(e, () => {
      expect(runMatmul(e, 800, 16, 32)).toEqual([fallback]);
      expect(runMatmul(e, 72, 80, 48)).toEqual([fallback]);
      expect(runMatmul(e, 100, 128, 120)).toEqual([fallback]); // anchors to the 128³ key
      expect(runMatmul(e, 8, 8, 8)).toEqual([fallback]); // 512 multiply-adds: never timed
    });
    expect(runMatmul(e, 256, 256, 256)).toEqual([fallback]); // not recorded: not timed
    const timed: string[] = [];
    const report = await tuneAll(e, { clock: fakeClock(cost, timed), runs: 2 });
    expect(report.by).toBe('fake');
    expect(report.tuned.map((t) => t.variant)).toEqual([want128, wantTall, fallback]);
    expect(report.tuned.map((t) => t.key)).toEqual(['NN 128x128x128 batch 1 vec 11', 'NN 1024x16x32 batch 1 vec 11', 'NN 128x128x64 batch 1 vec 11']);
    // Round 1 times every candidate; round 2 only those within 2× of the fastest (1, 1 and 2 of them).
    const candidates = timedMatmulVariants(e);
    expect(timed.length).toBe(3 * candidates.length + 1 + 1 + 2);
    for (const t of report.tuned) expect(Object.keys(t.cost)).toEqual([...candidates]);
    expect([runMatmul(e, 128, 128, 128), runMatmul(e, 100, 128, 120), runMatmul(e, 800, 16, 32), runMatmul(e, 72, 80, 48)]).toEqual([[want128], [want128], [wantTall], [fallback]]);
    // Decided keys are not timed again.
    expect((await tuneAll(e, { clock: refusingClock })).tuned).toEqual([]);
    // Just past the tie margin, the faster variant wins.
    const e2 = await freshEngine();
    recordShapes(e2, () => runMatmul(e2, 72, 80, 48));
    const r2 = await tuneAll(e2, { clock: fakeClock(({ variant }) => (variant === fallback ? 1.11 : variant === want128 ? 1 : 3)), runs: 1 });
    expect(r2.tuned.map((t) => t.variant)).toEqual([want128]);
  });

  it('tunes conv2d per pass (keys per pass), and the matmuls its GEMM lowering meets in a further round', async () => {
    const e = await freshEngine();
    const before = recordShapes(e, () => runConv(e));
    // Forward and grad weight want the lowering, grad input the direct kernel.
    const cost = ({ tunable, key, variant }: { tunable: string; key: string; variant: string }) =>
      tunable === 'matmul' ? MATMUL_VARIANTS.indexOf(variant as never) + 1 : (key.startsWith('gradInput') ? variant === 'direct' : variant === 'gemm') ? 1 : 2;
    const report = await tuneAll(e, { clock: fakeClock(cost), runs: 1 });
    const conv = report.tuned.filter((t) => t.tunable === 'conv2d');
    expect(conv.map((t) => [t.key.split(' ')[0], t.variant])).toEqual([['forward', 'gemm'], ['gradInput', 'direct'], ['gradWeight', 'gemm']]);
    expect(conv.every((t) => t.key.endsWith(' n2 8->16 16x16 k3x3 s1x1 p1x1'))).toBe(true);
    // The lowering's products were timed too (first variant cheapest), so nothing is left.
    const mm = report.tuned.filter((t) => t.tunable === 'matmul');
    expect(mm.length).toBeGreaterThan(0);
    expect(mm.every((t) => t.variant === MATMUL_VARIANTS[0])).toBe(true);
    expect((await tuneAll(e, { clock: refusingClock })).tuned).toEqual([]);
    const after = runConv(e);
    expect([has(after.forward, 'im2col'), has(after.forward, 'forward')]).toEqual([true, false]);
    expect([has(after.backward, 'grad_input'), has(after.backward, 'col2im'), has(after.backward, 'grad_weight')]).toEqual([true, false, false]);
    expect(matmulVariants([...after.forward, ...after.backward]).every((v) => v === MATMUL_VARIANTS[0])).toBe(true);
    expect(has(before.forward, 'forward')).toBe(true); // this small problem's fallback on every adapter kind
  });

  it('measures real costs: process CPU time on CPU adapters, every variant timed, a variant chosen', async () => {
    const e = await freshEngine();
    recordShapes(e, () => {
      runMatmul(e, 96, 80, 64);
      runConv(e);
    });
    const report = await tuneAll(e);
    expect(report.by).toBe(e.info.software ? 'cpu-ms' : 'wall-ms');
    expect(report.tuned.length).toBeGreaterThanOrEqual(4); // 1 matmul + 3 conv2d passes (+ the lowering's matmuls)
    for (const t of report.tuned) {
      const variants: readonly string[] = t.tunable === 'matmul' ? timedMatmulVariants(e) : CONV2D_VARIANTS;
      expect(variants, `${t.tunable} ${t.key}`).toContain(t.variant);
      expect(Object.keys(t.cost)).toEqual([...variants]);
      for (const c of Object.values(t.cost)) expect(c, `${t.tunable} ${t.key}`).toBeGreaterThan(0);
      expect(Number.isFinite(t.cost[t.variant]!), `${t.tunable} ${t.key}`).toBe(true);
    }
    console.log(`[tuning real clock] ${report.tuned.length} keys in ${report.seconds.toFixed(1)} s: ${report.tuned.map((t) => `${t.tunable} ${t.key} → ${t.variant}`).join('; ')}`);
    expect((await tuneAll(e)).tuned).toEqual([]); // decided: not measured again
  });
});

describe('saved decisions', () => {
  /** An engine with decisions for two matmul shapes and the conv2d passes. */
  async function tunedEngine(): Promise<Engine> {
    const e = await freshEngine();
    recordShapes(e, () => {
      runMatmul(e, 128, 128, 128);
      runMatmul(e, 800, 16, 32);
      runConv(e);
    });
    await tuneAll(e, { clock: fakeClock(({ variant }) => (variant === 'register' || variant === 'direct' ? 1 : 2)), runs: 1 });
    return e;
  }

  it('round-trip through JSON: the same choices; other adapters, changed kernels and unknown variants are left out with a reason; non-tunings throw', async () => {
    const e1 = await tunedEngine();
    const json = JSON.parse(JSON.stringify(saveTunings(e1))) as TuningsJson;
    const adapter = e1.info.description;
    expect(Object.keys(json.adapters)).toEqual([adapter]);
    const mine = json.adapters[adapter]!;
    expect(Object.keys(mine).sort()).toEqual(['conv2d', 'matmul']);
    const n = Object.values(mine).reduce((a, r) => a + Object.keys(r.choices).length, 0);
    const e2 = await freshEngine();
    expect(loadTunings(e2, json)).toEqual({ loaded: n, dropped: [], adapterFound: true });
    expect(saveTunings(e2)).toEqual(saveTunings(e1));
    expect([runMatmul(e2, 128, 128, 128), runMatmul(e2, 800, 16, 32)]).toEqual([['register'], ['register']]);
    expect(has(runConv(e2).forward, 'forward')).toBe(true);

    const e3 = await freshEngine();
    const other = loadTunings(e3, { version: 1, adapters: { 'some other GPU': mine } });
    expect(other.loaded).toBe(0);
    expect(other.adapterFound).toBe(false);
    expect(other.dropped).toEqual([`tunings: no choices for this adapter (${adapter}); it has some other GPU`]);
    const changed = structuredClone(json);
    changed.adapters[adapter]!.matmul!.fingerprint = '00000000';
    const firstKey = Object.keys(mine.conv2d!.choices)[0]!;
    changed.adapters[adapter]!.conv2d!.choices[firstKey]!.variant = 'fft';
    const r3 = loadTunings(e3, changed, 'run/tuning.json');
    expect(r3.loaded).toBe(Object.keys(mine.conv2d!.choices).length - 1);
    expect(r3.dropped).toEqual([
      `run/tuning.json: conv2d ${firstKey}: unknown variant "fft" (known: direct, gemm)`,
      `run/tuning.json: matmul's kernels changed since its ${Object.keys(mine.matmul!.choices).length} choices were measured; they are timed again`,
    ]);
    expect(() => loadTunings(e3, { matmul: {}, conv2d: {} }, 'old/tuning.json')).toThrow('old/tuning.json: expected {"version": 1, "adapters": {…}}, got {"matmul":{},"conv2d":{}}');
    // Tunables this bundle does not define are kept as loaded.
    const e4 = await freshEngine();
    const foreign = { version: 1 as const, adapters: { [adapter]: { 'future-op': { fingerprint: 'abcd0123', choices: { k: { variant: 'x', cost: {}, by: 'cpu-ms' } } } } } };
    expect(loadTunings(e4, foreign).loaded).toBe(0);
    expect(saveTunings(e4)).toEqual(foreign);
  });

  it('the cache file: its path, a damaged file reported and rebuilt atomically, and two engines on it choosing the same variants without timing again', async () => {
    expect(tuningCachePath({ LRDIF_TUNING_CACHE: '/x/t.json', XDG_CACHE_HOME: '/c' })).toBe('/x/t.json');
    expect(tuningCachePath({ XDG_CACHE_HOME: '/c' })).toBe('/c/lrdif/tunings.json');
    expect(tuningCachePath({})).toBe(join(homedir(), '.cache', 'lrdif', 'tunings.json'));

    const dir = join(tempDir(), 'lrdif');
    const path = join(dir, 'tunings.json');
    mkdirSync(dir);
    writeFileSync(path, '{"version": 1, "adapt');
    const lines: string[] = [];
    const a = await freshEngine();
    await enableAutotune(a, { store: fileTuningStore(path), log: (l) => lines.push(l), tune: { clock: fakeClock(({ variant }) => (variant === 'registerNamed' || variant === 'gemm' ? 1 : 2)), runs: 1 } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^\\[tuning\\] warning: ${path} is damaged \\(.*\\); kernels are timed afresh and it is rewritten$`));
    const [mmA, convA] = recordShapes(a, () => [runMatmul(a, 64, 64, 64), runConv(a)] as const);
    const report = await tuneAll(a);
    expect(report.tuned.length).toBeGreaterThan(3);
    expect(lines[1]).toMatch(new RegExp(`^\\[tuning\\] timed ${report.tuned.length} kernel shapes \\(matmul \\d+, conv2d 3\\) in [\\d.]+ s by fake; saved in ${path}$`));
    const saved = JSON.parse(readFileSync(path, 'utf8')) as TuningsJson;
    expect(saved).toEqual(saveTunings(a));
    expect(readdirSync(dir)).toEqual(['tunings.json']); // the temporary file was renamed
    const chosenA = [runMatmul(a, 64, 64, 64), runConv(a)];
    expect(chosenA[0]).toEqual(['registerNamed']);
    expect(chosenA).not.toEqual([mmA, convA]);

    // A second "process": the same file, a clock that fails if anything is timed.
    const b = await freshEngine();
    await enableAutotune(b, { store: fileTuningStore(path), tune: { clock: refusingClock } });
    recordShapes(b, () => {
      runMatmul(b, 64, 64, 64);
      runConv(b);
    });
    expect((await tuneAll(b)).tuned).toEqual([]);
    expect([runMatmul(b, 64, 64, 64), runConv(b)]).toEqual(chosenA);

    // Another adapter's entry in the file survives this adapter's save.
    const withOther = { ...saved, adapters: { ...saved.adapters, 'some other GPU': saved.adapters[a.info.description]! } };
    writeFileSync(path, JSON.stringify(withOther));
    const c = await freshEngine();
    await enableAutotune(c, { store: fileTuningStore(path), tune: { clock: fakeClock(() => 1), runs: 1 } });
    recordShapes(c, () => runMatmul(c, 64, 64, 128));
    expect((await tuneAll(c)).tuned).toHaveLength(1);
    expect(Object.keys((JSON.parse(readFileSync(path, 'utf8')) as TuningsJson).adapters).sort()).toEqual([a.info.description, 'some other GPU'].sort());
  });

  it("a training run tunes in a dry step before its first step; a resume loads the run's tuning.json, times nothing and ends bitwise where the uninterrupted run ends", { timeout: 300_000 }, async () => {
    const easy = (split: 'train' | 'test', n: number) => new CachedDataset(new SynthFerDataset(n, { seed: 1, size: 32, split, difficulty: 0 }));
    const [train, test] = [easy('train', 8), easy('test', 4)];
    const options = { epochs: 2, batchSize: 4, lr: 3e-3, seed: 3, logEvery: 1, udc: { panel: 'toled' as const, strength: 0.3 } };
    const stage = (e: Engine, store: MemoryStore, extra: { resume?: boolean; stopAfterSteps?: number } = {}) =>
      trainStage(e, { newModel, preset: 'tiny', config: MICRO_CONFIG, stage: 1, train, test, store, seed: 1, resume: extra.resume, options: { ...options, stopAfterSteps: extra.stopAfterSteps } });
    // The first variant of each tunable is "fastest": choices that differ from the fallbacks.
    const clock = fakeClock(({ tunable, variant }) => (tunable === 'matmul' ? MATMUL_VARIANTS : CONV2D_VARIANTS).indexOf(variant as never) + 1);
    const machine = memoryTuningStore();

    const a = await freshEngine();
    await enableAutotune(a, { store: machine, tune: { clock, runs: 1 } });
    const full = new MemoryStore();
    const ra = await stage(a, full);
    const runTuning = JSON.parse(new TextDecoder().decode((await full.read(TUNING_FILE))!)) as TuningsJson;
    expect(runTuning).toEqual(saveTunings(a));
    const choices = runTuning.adapters[a.info.description]!;
    expect(Object.keys(choices.matmul!.choices).length).toBeGreaterThan(3);
    expect(Object.values(choices.matmul!.choices).every((d) => d.variant === 'register')).toBe(true);
    expect(JSON.parse(machine.text!)).toEqual(runTuning);

    // Same machine (its tuning store): a run of the same model times nothing.
    const b = await freshEngine();
    await enableAutotune(b, { store: machine, tune: { clock: refusingClock } });
    const part = new MemoryStore();
    await expect(stage(b, part, { stopAfterSteps: 3 })).rejects.toThrow(StoppedEarly);
    // Resumed where the machine's store is gone: the run's own tuning.json has every choice.
    const c = await freshEngine();
    await enableAutotune(c, { store: memoryTuningStore(), tune: { clock: refusingClock } });
    const rc = await stage(c, part, { resume: true });
    expect(rc.trainer.epoch).toBe(2);
    for (const file of ['model.safetensors', 'checkpoint.safetensors']) {
      const wa = decodeSafetensors((await full.read(file))!, `a/${file}`).tensors;
      const wc = decodeSafetensors((await part.read(file))!, `c/${file}`).tensors;
      const differing = [...wa].filter(([name, t]) => !Buffer.from(t.data.buffer).equals(Buffer.from(wc.get(name)!.data.buffer))).map(([name]) => name);
      expect(differing, file).toEqual([]);
    }
    for (const r of [ra, rc]) {
      r.trainer.dispose();
      r.model.dispose();
    }
  });
});
