/**
 * Kernel tuning: the one place where an op chooses between kernel variants (matmul strategies,
 * conv2d strategies per pass, the row-reduction and channel-attention layouts). An op family
 * declares a tunable once (defineTunable) and asks `choose(e, tunable, problem)` at every call:
 * a variant forced by `withVariants` (tests, benchmarks) wins, then a measured decision for the
 * problem's key, then the tunable's per-adapter fallback.
 *
 * Decisions are keyed by the real problem (shapes rounded up to powers of two, as Burn's tune keys
 * are anchored), not by a few representative shapes: while `recordShapes(e, dryStep)` runs, every
 * key an op meets without a decision is noted (with the first problem that produced it), and
 * `tuneAll` times every variant on those problems. The trainer records one step and one evaluation
 * batch and tunes them before its first real step, so a run uses one set of kernels throughout.
 * Costs are process CPU time on CPU adapters (stable under load) and wall time on GPUs, the fastest
 * of several interleaved runs; near-ties keep the fallback (docs/tuning.md).
 *
 * State is per engine (a WeakMap), and decisions are plain JSON (saveTunings / loadTunings) keyed
 * by adapter. With enableAutotune a store keeps them between processes (a file in the CLI and the
 * benchmarks, localStorage in the page), so two runs of one command choose the same kernels. The
 * engine never touches the file system: the file store lives in src/train/tuning-cache-fs.ts.
 */
import type { DeviceInfo } from './device.ts';
import type { Engine } from './engine.ts';
import { resolveShader } from './shaders.ts';
import { costClock } from './timing.ts';

export interface TunableSpec<P, V extends string> {
  name: string;
  variants: readonly V[];
  /** The WGSL files the variants run: choices measured against other source are dropped when loaded. */
  shaders: readonly string[];
  /** The decision's key for a problem (problems that share a key share a decision). */
  key(p: P): string;
  /** The variant without a decision: the per-adapter default (CPU adapters differ from GPUs). */
  fallback(info: DeviceInfo, p: P): V;
  /** Whether a problem is worth timing (default: all); others always run the fallback. */
  worthTiming?(p: P): boolean;
  /** The variants worth timing on an adapter (default: all); the fallback must be one of them. */
  candidates?(info: DeviceInfo): readonly V[];
  /**
   * Inputs to time a problem on (made once for all variants); run() encodes the problem once and
   * the registry forces each variant around it. Without bench, a tunable is never timed: its
   * fallback decides unless a variant is forced.
   */
  bench?(e: Engine, p: P): { run(): void; dispose(): void };
}

export interface Tunable<P, V extends string> extends TunableSpec<P, V> {
  /** Hash of the variants and the shaders' source, stored with the decisions. */
  readonly fingerprint: string;
}

/** Tunables by name, in definition order (a tunable's bench may use ops defined before it, never after). */
const TUNABLES = new Map<string, Tunable<unknown, string>>();

/** FNV-1a, 32 bits, as 8 hex digits. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

export function defineTunable<P, V extends string>(spec: TunableSpec<P, V>): Tunable<P, V> {
  if (TUNABLES.has(spec.name)) throw new Error(`defineTunable: a tunable named "${spec.name}" is already defined`);
  const sources = spec.shaders.map((s) => {
    try {
      return resolveShader(s).code;
    } catch (err) {
      throw new Error(`defineTunable ${spec.name}: shader "${s}": ${(err as Error).message}`);
    }
  });
  const t: Tunable<P, V> = { ...spec, fingerprint: hash([spec.variants.join(','), ...sources].join('\0')) };
  TUNABLES.set(t.name, t as unknown as Tunable<unknown, string>);
  return t;
}

/**
 * A layout chosen by adapter kind, not timed: 'cpu' on CPU adapters (llvmpipe, SwiftShader), where
 * barriers and idle lanes cost more than splitting work gains, 'gpu' elsewhere. Tests force both.
 */
export function defineAdapterLayout(name: string): Tunable<null, 'gpu' | 'cpu'> {
  return defineTunable<null, 'gpu' | 'cpu'>({ name, variants: ['gpu', 'cpu'], shaders: [], key: () => 'all', fallback: (info) => (info.software ? 'cpu' : 'gpu') });
}

/** Rounds a dimension up to a power of two: the anchor of a tune key. */
export function anchor(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

// ------------------------------------------------------------------ per-engine state

export interface Decision {
  variant: string;
  /** What the key ran before it was timed: the variant had to beat it by the tie margin. */
  fallback: string;
  /** Cost of each variant timed for this key, in the unit `by` names. */
  cost: Record<string, number>;
  by: string;
}

/** Where decisions persist between processes. */
export interface TuningStore {
  /** For messages: a path, or a name in the page's storage. */
  where: string;
  read(): Promise<string | null>;
  /** Replaces the whole content (a reader sees the old or the new, never a mix). */
  write(text: string): Promise<void>;
}

interface EngineTuning {
  decisions: Map<string, Map<string, Decision>>;
  forced: Map<string, string>;
  /** Keys met without a decision while recording: tunable → key → the first problem with it. */
  pending: Map<string, Map<string, unknown>>;
  /** Open recordShapes calls (and tuneAll's own benchmarks). */
  recording: number;
  /** Decisions of tunables this bundle does not define, kept as loaded so that saving keeps them. */
  foreign: Record<string, TunableRecord>;
  autotune: boolean;
  store: TuningStore | null;
  log: (line: string) => void;
  /** Defaults of this engine's tuneAll calls (a test's fake clock). */
  options: TuneOptions;
  /** The tuneAll in progress (calls run one after another). */
  running: Promise<unknown>;
}

const states = new WeakMap<Engine, EngineTuning>();

function stateOf(e: Engine): EngineTuning {
  let s = states.get(e);
  if (!s) {
    s = { decisions: new Map(), forced: new Map(), pending: new Map(), recording: 0, foreign: {}, autotune: false, store: null, log: () => {}, options: {}, running: Promise.resolve() };
    states.set(e, s);
  }
  return s;
}

/** The variant an op runs for a problem: forced, else decided for its key, else the fallback (noting the key for tuneAll while recording). */
export function choose<P, V extends string>(e: Engine, t: Tunable<P, V>, p: P): V {
  const s = stateOf(e);
  const forced = s.forced.get(t.name);
  if (forced !== undefined) return forced as V;
  if (!t.bench || (t.worthTiming && !t.worthTiming(p))) return t.fallback(e.info, p);
  const key = t.key(p);
  const d = s.decisions.get(t.name)?.get(key);
  if (d) return d.variant as V;
  if (s.recording > 0) {
    let pending = s.pending.get(t.name);
    if (!pending) s.pending.set(t.name, (pending = new Map()));
    if (!pending.has(key)) pending.set(key, p);
  }
  return t.fallback(e.info, p);
}

/** Runs fn, sync or async (a dry step), noting the keys its ops meet without a decision; tuneAll times them. */
export function recordShapes<T>(e: Engine, fn: () => T): T {
  return scoped(stateOf(e), (s) => s.recording++, (s) => s.recording--, fn);
}

/** fn between enter and leave, leave also when fn throws or its promise settles. */
function scoped<T>(s: EngineTuning, enter: (s: EngineTuning) => void, leave: (s: EngineTuning) => void, fn: () => T): T {
  enter(s);
  let out: T;
  try {
    out = fn();
  } catch (err) {
    leave(s);
    throw err;
  }
  if (out instanceof Promise) return out.finally(() => leave(s)) as T;
  leave(s);
  return out;
}

function tunableNamed(where: string, name: string): Tunable<unknown, string> {
  const t = TUNABLES.get(name);
  if (!t) throw new Error(`${where}: no tunable named "${name}" (known: ${[...TUNABLES.keys()].join(', ')})`);
  return t;
}

/**
 * Runs fn with the named tunables forced to the given variants on this engine (every op call
 * inside, backward passes included), restoring the previous choice when fn returns or its promise
 * settles: how tests run every variant on any adapter. Unknown names and variants throw.
 */
export function withVariants<T>(e: Engine, variants: Readonly<Record<string, string>>, fn: () => T): T {
  for (const [name, v] of Object.entries(variants)) {
    const t = tunableNamed('withVariants', name);
    if (!t.variants.includes(v)) throw new Error(`withVariants: ${name} has no variant "${v}" (known: ${t.variants.join(', ')})`);
  }
  const s = stateOf(e);
  const saved = s.forced;
  return scoped(s, () => (s.forced = new Map([...saved, ...Object.entries(variants)])), () => (s.forced = saved), fn);
}

// ------------------------------------------------------------------ measuring

/** A clock for tuneAll: the cost of fn() and its GPU work (the real one ignores `what`; a test's fake reads it). */
export interface TuneClock {
  by: string;
  time(e: Engine, fn: () => void, what: { tunable: string; key: string; variant: string }): Promise<number>;
}

export interface TuneOptions {
  /** Default: process CPU time on CPU adapters, wall time elsewhere (timing.ts). */
  clock?: TuneClock;
  /** Timed runs per variant after a warm-up run (default 3); the fastest counts. */
  runs?: number;
}

export interface TuneReport {
  /** What was timed, in order. */
  tuned: { tunable: string; key: string; variant: string; cost: Record<string, number> }[];
  by: string;
  seconds: number;
}

/**
 * A fallback within this fraction of the fastest is kept: near-ties do not flip with noise. (On
 * llvmpipe at load 12 on 2 vCPUs, one kernel's fastest-of-5 CPU time differed between processes
 * by 4 % in the median and 10 % at the 75th percentile.)
 */
const TIE = 0.1;
/** A variant this many times slower than the fastest after a round is not timed further. */
const HOPELESS = 2;

/**
 * Times every variant of every key recordShapes noted without a decision, decides, and saves the
 * decisions to the engine's store when there is one. Keys a benchmark itself meets (the matmuls
 * inside conv2d's GEMM lowering) are timed in a further round. Returns what it timed.
 */
export function tuneAll(e: Engine, opts: TuneOptions = {}): Promise<TuneReport> {
  const s = stateOf(e);
  const next = s.running.then(() => tunePending(e, s, { ...s.options, ...opts }));
  s.running = next.catch(() => {});
  return next;
}

async function tunePending(e: Engine, s: EngineTuning, opts: TuneOptions): Promise<TuneReport> {
  const clock = opts.clock ?? costClock(e);
  const t0 = performance.now();
  const tuned: TuneReport['tuned'] = [];
  // Recording, so that keys the benchmarks meet are noted for the next round.
  s.recording++;
  try {
    for (let round = 0; round < 4 && s.pending.size > 0; round++) {
      const work = [...TUNABLES.values()].flatMap((t) => [...(s.pending.get(t.name) ?? [])].map(([key, p]) => ({ t, key, p })));
      s.pending.clear();
      for (const { t, key, p } of work) {
        if (s.decisions.get(t.name)?.has(key)) continue;
        const d = await decide(e, t, key, p, clock, opts.runs ?? 3);
        let mine = s.decisions.get(t.name);
        if (!mine) s.decisions.set(t.name, (mine = new Map()));
        mine.set(key, d);
        tuned.push({ tunable: t.name, key, variant: d.variant, cost: d.cost });
      }
    }
  } finally {
    s.recording--;
  }
  const report = { tuned, by: clock.by, seconds: (performance.now() - t0) / 1000 };
  if (tuned.length > 0) {
    const counts = [...new Set(tuned.map((x) => x.tunable))].map((n) => `${n} ${tuned.filter((x) => x.tunable === n).length}`).join(', ');
    s.log(`[tuning] timed ${tuned.length} kernel shapes (${counts}) in ${report.seconds.toFixed(1)} s by ${clock.by}${s.store ? `; saved in ${s.store.where}` : ''}`);
    if (s.store) await writeStore(e, s, s.store);
  }
  return report;
}

/** Times the candidate variants of one problem and decides. */
async function decide(e: Engine, t: Tunable<unknown, string>, key: string, p: unknown, clock: TuneClock, runs: number): Promise<Decision> {
  const variants = t.candidates?.(e.info) ?? t.variants;
  const prepared = t.bench!(e, p);
  const cost: Record<string, number> = Object.fromEntries(variants.map((v) => [v, Infinity]));
  try {
    const run = (v: string) => () => withVariants(e, { [t.name]: v }, () => e.noGrad(() => e.scope(() => prepared.run())));
    // The warm-up compiles the pipelines and fills the pool.
    for (const v of variants) run(v)();
    await e.sync();
    // Rounds that time every variant once, so that load which comes and goes meets them all alike;
    // the fastest run of each counts (load only ever adds time).
    let timing = [...variants];
    for (let i = 0; i < runs; i++) {
      for (const v of timing) cost[v] = Math.min(cost[v]!, await clock.time(e, run(v), { tunable: t.name, key, variant: v }));
      const best = Math.min(...Object.values(cost));
      timing = timing.filter((v) => cost[v]! <= HOPELESS * best);
    }
  } finally {
    prepared.dispose();
  }
  const fastest = variants.reduce((a, b) => (cost[b]! < cost[a]! ? b : a));
  const fallback = t.fallback(e.info, p);
  return { variant: cost[fallback]! <= cost[fastest]! * (1 + TIE) ? fallback : fastest, fallback, cost, by: clock.by };
}

// ------------------------------------------------------------------ saving and loading

export interface TunableRecord {
  fingerprint: string;
  choices: Record<string, Decision>;
}

/** Decisions as plain JSON: adapter description → tunable → key → decision. */
export interface TuningsJson {
  version: 1;
  adapters: Record<string, Record<string, TunableRecord>>;
}

/** The key decisions are stored under: the adapter as the device module describes it. */
function adapterOf(e: Engine): string {
  return e.info.description;
}

const sortedEntries = <T>(m: Iterable<[string, T]>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** This engine's decisions (keys sorted, so equal decisions give equal files). */
export function saveTunings(e: Engine): TuningsJson {
  const s = stateOf(e);
  const mine: Record<string, TunableRecord> = { ...s.foreign };
  for (const [name, choices] of s.decisions) {
    if (choices.size === 0) continue;
    mine[name] = { fingerprint: TUNABLES.get(name)!.fingerprint, choices: Object.fromEntries(sortedEntries(choices).map(([k, d]) => [k, { ...d, cost: { ...d.cost } }])) };
  }
  return { version: 1, adapters: { [adapterOf(e)]: Object.fromEntries(sortedEntries(Object.entries(mine))) } };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the outer form; throws naming what was expected. */
function asTuningsJson(json: unknown, where: string): TuningsJson {
  if (!isObject(json) || json.version !== 1 || !isObject(json.adapters)) {
    throw new Error(`${where}: expected {"version": 1, "adapters": {…}}, got ${JSON.stringify(json)?.slice(0, 80)}`);
  }
  return json as unknown as TuningsJson;
}

/**
 * Adds the decisions `json` holds for this engine's adapter (saveTunings' form) to the engine,
 * replacing its own for the same keys. Choices for kernels whose source changed since they were
 * measured, and unknown variants, are left out (their keys are timed again), each with a line in
 * `dropped`. Throws when json is not tunings at all.
 */
export function loadTunings(e: Engine, json: unknown, where = 'tunings'): { loaded: number; dropped: string[]; adapterFound: boolean } {
  const all = asTuningsJson(json, where);
  const s = stateOf(e);
  const adapter = adapterOf(e);
  const mine = all.adapters[adapter];
  const dropped: string[] = [];
  if (!isObject(mine)) {
    const others = Object.keys(all.adapters);
    return { loaded: 0, dropped: [`${where}: no choices for this adapter (${adapter})${others.length ? `; it has ${others.join(' | ')}` : ''}`], adapterFound: false };
  }
  let loaded = 0;
  for (const [name, rec] of Object.entries(mine)) {
    if (!isObject(rec) || typeof rec.fingerprint !== 'string' || !isObject(rec.choices)) throw new Error(`${where}: ${name} must be {"fingerprint": "…", "choices": {…}}`);
    const t = TUNABLES.get(name);
    if (!t) {
      s.foreign[name] = rec as unknown as TunableRecord;
      continue;
    }
    if (rec.fingerprint !== t.fingerprint) {
      dropped.push(`${where}: ${name}'s kernels changed since its ${Object.keys(rec.choices).length} choices were measured; they are timed again`);
      continue;
    }
    let choices = s.decisions.get(name);
    if (!choices) s.decisions.set(name, (choices = new Map()));
    for (const [key, d] of Object.entries(rec.choices)) {
      if (!isObject(d) || typeof d.variant !== 'string' || !t.variants.includes(d.variant)) {
        dropped.push(`${where}: ${name} ${key}: unknown variant ${JSON.stringify(isObject(d) ? d.variant : d)} (known: ${t.variants.join(', ')})`);
        continue;
      }
      choices.set(key, { variant: d.variant, fallback: typeof d.fallback === 'string' ? d.fallback : '', cost: isObject(d.cost) ? (d.cost as Record<string, number>) : {}, by: typeof d.by === 'string' ? d.by : '' });
      s.pending.get(name)?.delete(key);
      loaded++;
    }
  }
  return { loaded, dropped, adapterFound: true };
}

/** Reads the store's other adapters back and writes them with this engine's decisions. */
async function writeStore(e: Engine, s: EngineTuning, store: TuningStore): Promise<void> {
  let others: TuningsJson['adapters'] = {};
  try {
    const text = await store.read();
    if (text !== null) others = asTuningsJson(JSON.parse(text), store.where).adapters;
  } catch {
    // Unreadable: enableAutotune already said so; it is replaced whole.
  }
  const merged: TuningsJson = { version: 1, adapters: { ...others, ...saveTunings(e).adapters } };
  try {
    await store.write(`${JSON.stringify(merged, null, 1)}\n`);
  } catch (err) {
    // The decisions still hold in this process; the next one times them again.
    s.log(`[tuning] warning: could not save to ${store.where} (${(err as Error).message})`);
  }
}

/**
 * Turns tuning on for this engine (callers that can afford a dry step check autotuneEnabled and
 * call tuneAll) and loads the store's decisions for its adapter. A damaged store is reported
 * through `log` and rewritten by the next tuneAll. `tune` sets the defaults of its tuneAll calls.
 */
export async function enableAutotune(e: Engine, opts: { store?: TuningStore | null; log?: (line: string) => void; tune?: TuneOptions } = {}): Promise<void> {
  const s = stateOf(e);
  s.autotune = true;
  s.store = opts.store ?? null;
  s.log = opts.log ?? (() => {});
  s.options = opts.tune ?? {};
  if (!s.store) return;
  try {
    const text = await s.store.read();
    if (text === null) return;
    const r = loadTunings(e, JSON.parse(text), s.store.where);
    // A file without this adapter is the normal first run on it: nothing to say.
    if (r.adapterFound) r.dropped.forEach((l) => s.log(`[tuning] ${l}`));
  } catch (err) {
    s.log(`[tuning] warning: ${s.store.where} is damaged (${(err as Error).message}); kernels are timed afresh and it is rewritten`);
  }
}

export function autotuneEnabled(e: Engine): boolean {
  return stateOf(e).autotune;
}

/** Gives `to`, an engine on the same device, `from`'s decisions, store and autotune setting. */
export function shareTuning(from: Engine, to: Engine): void {
  const f = stateOf(from);
  const t = stateOf(to);
  Object.assign(t, { autotune: f.autotune, store: f.store, log: f.log, options: f.options });
  loadTunings(to, saveTunings(from));
}

/** A store in memory (a page without localStorage, tests). */
export function memoryTuningStore(where = 'memory'): TuningStore & { text: string | null } {
  return {
    where,
    text: null,
    async read() {
      return this.text;
    },
    async write(text: string) {
      this.text = text;
    },
  };
}

/** The page's localStorage under `key`, or a memory store where there is none (Bun, private windows). */
export function pageTuningStore(key = 'lrdif.tunings'): TuningStore {
  const ls = (globalThis as { localStorage?: { getItem(k: string): string | null; setItem(k: string, v: string): void } }).localStorage;
  if (!ls) return memoryTuningStore();
  return {
    where: `localStorage["${key}"]`,
    async read() {
      return ls.getItem(key);
    },
    async write(text: string) {
      ls.setItem(key, text);
    },
  };
}
