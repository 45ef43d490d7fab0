/**
 * Peers on the same adapter in the same process: TensorFlow.js's WebGPU backend (gradients
 * registered) and jax-js (jit-compiled) on WebGPU, plus jax-js's Wasm backend on CPU-only machines.
 * Both libraries find WebGPU through `navigator.gpu`; bun-webgpu gives us a GPU instance, and
 * `installNavigatorGpu` puts a wrapper there whose requestAdapter ignores the library's options and
 * asks for OUR adapter (llvmpipe's OpenGL ES compatibility adapter, SwiftShader's Vulkan, or the
 * hardware one), and whose requestDevice works around bun-webgpu's compatibility-mode limits quirk
 * (DECISIONS §1: every limit the adapter reports as 0 is passed through explicitly). bun-webgpu
 * does not expose the GPUBuffer/GPUTexture classes as globals, which TF.js's `instanceof GPUBuffer`
 * needs, so they are taken from the first device's objects.
 *
 * Every op is timed the same way for every library: median wall clock of synchronised runs after
 * warm-up (ours: e.sync(); TF.js: submitQueue + onSubmittedWorkDone; jax-js: blockUntilReady).
 * fwd+bwd is the gradient of sum(f(inputs)) with respect to every input.
 */
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { Adam } from '../src/engine/ops/adam.ts';
import { transposedChannelAttention } from '../src/engine/ops/channel-attention.ts';
import { channelAttentionCost } from './channel-attention.ts';
import { convCase, matmulCase, param, rowwiseCase, sizeOf, type Size } from './cases.ts';
import { runCase, type BenchCase, type Peaks } from './harness.ts';

export type PeerName = 'tfjs-webgpu' | 'jax-webgpu' | 'jax-wasm';

export type PeerSpec =
  | { kind: 'matmul'; M: number; N: number; K: number; batch: number }
  | { kind: 'conv'; n: number; ci: number; co: number; hw: number; k: number; groups: number }
  | { kind: 'softmax' | 'layerNorm' | 'gelu'; shape: number[] }
  | { kind: 'channelAttention'; shape: [number, number, number, number]; heads: number }
  | { kind: 'adam'; total: number; count: number };

export interface PeerOp {
  name: string;
  shape: string;
  spec: PeerSpec;
  /** Our case (null for Adam, timed as one optimiser step). */
  ours: BenchCase | null;
}

export function peerOps(quick: boolean | Size): PeerOp[] {
  const size = sizeOf(quick);
  const s = (full: number, q: number, smoke: number) => (size === 'full' ? full : size === 'quick' ? q : smoke);
  const ops: PeerSpec[] = [
    { kind: 'matmul', M: s(512, 256, 32), N: s(512, 256, 32), K: s(512, 256, 32), batch: 1 },
    { kind: 'matmul', M: s(1024, 512, 48), N: s(1024, 512, 48), K: s(1024, 512, 48), batch: 1 },
    { kind: 'matmul', M: 64, N: 64, K: 64, batch: s(64, 16, 2) },
    { kind: 'conv', n: s(8, 1, 1), ci: s(96, 96, 8), co: s(96, 96, 8), hw: s(28, 28, 6), k: 3, groups: s(96, 96, 8) },
    { kind: 'conv', n: s(8, 1, 1), ci: s(96, 96, 8), co: s(192, 192, 16), hw: s(28, 28, 6), k: 1, groups: 1 },
    { kind: 'softmax', shape: [s(4096, 1024, 16), s(256, 256, 32)] },
    { kind: 'layerNorm', shape: [s(6272, 1568, 16), s(96, 96, 24)] },
    { kind: 'gelu', shape: [s(4 << 20, 1 << 20, 1024)] },
    { kind: 'channelAttention', shape: [s(8, 1, 1), s(48, 48, 8), s(56, 56, 5), s(56, 56, 5)], heads: s(1, 1, 2) },
    { kind: 'adam', total: s(10_000_000, 1_000_000, 4096), count: s(20, 20, 4) },
  ];
  return ops.map((spec) => {
    switch (spec.kind) {
      case 'matmul': {
        const c = matmulCase(spec.M, spec.N, spec.K, spec.batch);
        return { name: 'matmul', shape: c.shape, spec, ours: c };
      }
      case 'conv': {
        const c = convCase(spec.n, spec.ci, spec.co, spec.hw, spec.k, spec.groups);
        return { name: c.name, shape: c.shape, spec, ours: c };
      }
      case 'softmax':
      case 'layerNorm':
      case 'gelu': {
        const c = rowwiseCase(spec.kind, spec.shape);
        return { name: spec.kind, shape: c.shape, spec, ours: c };
      }
      case 'channelAttention': {
        const { shape, heads } = spec;
        const c: BenchCase = {
          name: 'Restormer transposed attention', shape: `q,k,v [${shape.join(',')}] heads ${heads}`, ...channelAttentionCost(shape, heads),
          setup: (e) => {
            const xs = [param(e, shape, 11), param(e, shape, 12), param(e, shape, 13), param(e, [heads], 14)];
            return { inputs: xs, forward: () => transposedChannelAttention(xs[0]!, xs[1]!, xs[2]!, xs[3]!, heads) };
          },
        };
        return { name: c.name, shape: c.shape, spec, ours: c };
      }
      case 'adam':
        return { name: 'Adam step', shape: `${spec.total.toLocaleString('en')} params in ${spec.count} tensors`, spec, ours: null };
    }
  });
}

/** Sizes of Adam's tensors: `count` equal parts of `total`. */
function adamSizes(total: number, count: number): number[] {
  const base = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => (i === 0 ? total - base * (count - 1) : base));
}

/** Deterministic uniform [-1, 1) data, the same for every library. */
function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------- navigator.gpu for the peers

/** The requestAdapter options that select the adapter our engine runs on. */
export function adapterOptions(e: Engine): GPURequestAdapterOptions & Record<string, unknown> {
  if (e.info.kind === 'llvmpipe') return { backendType: 'OpenGLES', featureLevel: 'compatibility' };
  if (e.info.kind === 'swiftshader') return { backendType: 'Vulkan' };
  return { powerPreference: 'high-performance' };
}

let installed = false;

/** Installs navigator.gpu (and the WebGPU globals) so that peers get the engine's adapter. */
export async function installNavigatorGpu(e: Engine): Promise<void> {
  if (installed) return;
  const bw = await import('bun-webgpu');
  bw.globals();
  const gpu = bw.createGPUInstance() as unknown as GPU;
  const opts = adapterOptions(e);
  const patch = (adapter: GPUAdapter): GPUAdapter => {
    const request = adapter.requestDevice.bind(adapter);
    (adapter as { requestDevice: unknown }).requestDevice = async (desc: GPUDeviceDescriptor = {}) => {
      const lim = adapter.limits as unknown as Record<string, number>;
      const limits: Record<string, number> = {};
      for (const key in lim) if (lim[key] === 0) limits[key] = 0;
      for (const [key, v] of Object.entries(desc.requiredLimits ?? {})) if (typeof v === 'number' && v > 0) limits[key] = v;
      // TF.js 4.22 pushes ['bgra8unorm-storage'] (an array) into requiredFeatures, which Dawn
      // rejects on adapters that have the feature (SwiftShader): flatten, keep what the adapter has.
      const features = [...(desc.requiredFeatures ?? [])].flat(2).filter((f) => adapter.features.has(f as string)) as GPUFeatureName[];
      const device = await request({ ...desc, requiredFeatures: features, requiredLimits: limits });
      const g = globalThis as Record<string, unknown>;
      if (!g.GPUBuffer) {
        const b = device.createBuffer({ size: 4, usage: 8 /* COPY_DST */ });
        g.GPUBuffer = b.constructor;
        b.destroy();
      }
      if (!g.GPUTexture) {
        const t = device.createTexture({ size: [1, 1], format: 'rgba8unorm', usage: 4 /* TEXTURE_BINDING */ });
        g.GPUTexture = t.constructor;
        t.destroy();
      }
      return device;
    };
    return adapter;
  };
  const wrapper = {
    requestAdapter: async () => {
      const a = await gpu.requestAdapter(opts);
      return a ? patch(a) : null;
    },
    getPreferredCanvasFormat: () => 'rgba8unorm',
    wgslLanguageFeatures: new Set<string>(),
  };
  const old = (globalThis as { navigator?: Navigator }).navigator;
  const nav = { userAgent: old?.userAgent ?? 'Bun', hardwareConcurrency: old?.hardwareConcurrency ?? 1, language: 'en-US', platform: 'linux', gpu: wrapper };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  installed = true;
}

// ---------------------------------------------------------------- timing

export interface Timing { ms: number; runs: number }

/** Median of synchronised runs after one warm-up; fewer runs when one takes over a second. */
export async function timeSynced(run: () => void, sync: () => Promise<void>, runs: number): Promise<Timing> {
  let t0 = performance.now();
  run();
  await sync();
  const first = performance.now() - t0;
  const n = first > 3000 ? 3 : first > 1000 ? Math.min(runs, 5) : runs;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    t0 = performance.now();
    run();
    await sync();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, runs: n };
}

/** One library's implementation of one op: fwd and (optionally) fwd+bwd closures plus a sync. */
interface PeerImpl {
  fwd: () => void;
  fwdBwd?: () => void;
  sync: () => Promise<void>;
  dispose: () => void;
}

interface PeerLib {
  name: PeerName;
  version: string;
  build: (spec: PeerSpec) => PeerImpl;
  close?: () => void;
}

// ---------------------------------------------------------------- TensorFlow.js

async function loadTf(): Promise<PeerLib> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  type T = import('@tensorflow/tfjs-core').Tensor;
  const backend = tf.backend() as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
  let pending: T[] = [];
  const sync = async () => {
    // What TF.js itself does before a readback: close the open pass, submit the encoder.
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
    for (const t of pending) t.dispose();
    pending = [];
  };
  const build = (spec: PeerSpec): PeerImpl => {
    const made: T[] = [];
    const input = (shape: number[], seed: number) => {
      const t = tf.tensor(randomData(prod(shape), seed), shape);
      made.push(t);
      return t;
    };
    let f: (...xs: T[]) => T;
    let xs: T[];
    switch (spec.kind) {
      case 'matmul': {
        const b = spec.batch > 1 ? [spec.batch] : [];
        xs = [input([...b, spec.M, spec.K], 1), input([...b, spec.K, spec.N], 2)];
        f = (a, w) => tf.matMul(a!, w!);
        break;
      }
      case 'conv': {
        // TF.js's native layout is NHWC (its WebGPU convolutions take no NCHW): same work, same bytes.
        const { n, ci, co, hw, k, groups } = spec;
        const depthwise = groups === ci && groups > 1;
        xs = [input([n, hw, hw, ci], 3), input(depthwise ? [k, k, ci, 1] : [k, k, ci, co], 4)];
        f = depthwise ? (x, w) => tf.depthwiseConv2d(x as never, w as never, 1, 'same') : (x, w) => tf.conv2d(x as never, w as never, 1, 'same');
        break;
      }
      case 'softmax':
        xs = [input(spec.shape, 5)];
        f = (x) => tf.softmax(x!);
        break;
      case 'layerNorm': {
        // TF.js has no layer-norm op: the usual composition (what tfjs-layers' LayerNormalization does).
        xs = [input(spec.shape, 5), input([spec.shape.at(-1)!], 6)];
        f = (x, w) => {
          const { mean, variance } = tf.moments(x!, -1, true);
          return tf.mul(tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-5))), w!);
        };
        break;
      }
      case 'gelu':
        // Exact GELU (erf), as ours: TF.js core has no gelu op.
        xs = [input(spec.shape, 5)];
        f = (x) => tf.mul(tf.mul(x!, 0.5), tf.add(1, tf.erf(tf.mul(x!, Math.SQRT1_2))));
        break;
      case 'channelAttention': {
        const { shape, heads } = spec;
        const [B, C, H, W] = shape;
        const d = C / heads;
        xs = [input(shape, 11), input(shape, 12), input(shape, 13), input([heads], 14)];
        const split = (x: T) => tf.reshape(x, [B, heads, d, H * W]);
        const norm = (x: T) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-12));
        f = (q, k, v, t) => {
          const logits = tf.mul(tf.matMul(norm(split(q!)), norm(split(k!)), false, true), tf.reshape(t!, [1, heads, 1, 1]));
          return tf.reshape(tf.matMul(tf.softmax(logits), split(v!)), shape);
        };
        break;
      }
      case 'adam': {
        const sizes = adamSizes(spec.total, spec.count);
        const vars = sizes.map((n, i) => tf.variable(tf.tensor(randomData(n, 100 + i)), true, `adam_p${i}_${Math.random()}`));
        const grads = sizes.map((n, i) => input([n], 200 + i));
        const opt = tf.train.adam(1e-3);
        const named = vars.map((v, i) => ({ name: v.name, tensor: grads[i]! }));
        return {
          fwd: () => opt.applyGradients(named),
          sync,
          dispose: () => {
            opt.dispose();
            for (const v of vars) v.dispose();
            for (const t of made) t.dispose();
          },
        };
      }
    }
    const g = tf.grads((...a: T[]) => tf.sum(f(...a)));
    return {
      fwd: () => { pending.push(tf.tidy(() => f(...xs))); },
      fwdBwd: () => { pending.push(...tf.tidy(() => g(xs))); },
      sync,
      dispose: () => { for (const t of made) t.dispose(); },
    };
  };
  const version = (tf.version_core as string | undefined) ?? 'unknown';
  return { name: 'tfjs-webgpu', version, build };
}

// ---------------------------------------------------------------- jax-js

type Jax = typeof import('@jax-js/jax');

async function loadJax(): Promise<{ jax: Jax; devices: string[] }> {
  const jax = await import('@jax-js/jax');
  const devices = (await jax.init()) as string[];
  return { jax, devices };
}

function jaxLib(jax: Jax, device: 'webgpu' | 'wasm', version: string): PeerLib {
  const np = jax.numpy;
  type A = InstanceType<typeof jax.Array>;
  const build = (spec: PeerSpec): PeerImpl => {
    jax.defaultDevice(device);
    const made: A[] = [];
    const input = (shape: number[], seed: number) => {
      const a = np.array(randomData(prod(shape), seed) as never).reshape(shape) as A;
      made.push(a);
      return a;
    };
    let pending: unknown = null;
    const sync = async () => {
      if (pending) {
        await jax.blockUntilReady(pending as A);
        jax.tree.dispose(pending as A);
      }
      pending = null;
    };
    let f: (...xs: A[]) => A;
    let xs: A[];
    switch (spec.kind) {
      case 'matmul': {
        const b = spec.batch > 1 ? [spec.batch] : [];
        xs = [input([...b, spec.M, spec.K], 1), input([...b, spec.K, spec.N], 2)];
        f = (a, w) => np.matmul(a!, w!);
        break;
      }
      case 'conv': {
        const { n, ci, co, hw, k, groups } = spec;
        xs = [input([n, ci, hw, hw], 3), input([co, ci / groups, k, k], 4)];
        f = (x, w) => jax.lax.convGeneralDilated(x!, w!, [1, 1], 'SAME', { featureGroupCount: groups });
        break;
      }
      case 'softmax':
        xs = [input(spec.shape, 5)];
        f = (x) => jax.nn.softmax(x!, -1);
        break;
      case 'layerNorm':
        xs = [input(spec.shape, 5), input([spec.shape.at(-1)!], 6)];
        f = (x, w) => np.multiply(jax.nn.standardize(x!, -1, { epsilon: 1e-5 }), w!);
        break;
      case 'gelu':
        xs = [input(spec.shape, 5)];
        f = (x) => jax.nn.gelu(x!, { approximate: false });
        break;
      case 'channelAttention': {
        const { shape, heads } = spec;
        const [B, C, H, W] = shape;
        const d = C / heads;
        xs = [input(shape, 11), input(shape, 12), input(shape, 13), input([heads], 14)];
        const split = (x: A) => x.reshape([B, heads, d, H * W]) as A;
        // jax-js arrays are reference-counted: every use but the last takes a .ref.
        const norm = (x: A) => np.divide(x.ref, np.maximum(np.sqrt(np.sum(np.square(x), -1, { keepdims: true })), 1e-12));
        f = (q, k, v, t) => {
          const logits = np.multiply(np.matmul(norm(split(q!)), np.swapaxes(norm(split(k!)), 2, 3)), t!.reshape([1, heads, 1, 1]));
          return np.matmul(jax.nn.softmax(logits, -1), split(v!)).reshape(shape) as A;
        };
        break;
      }
      case 'adam': {
        const sizes = adamSizes(spec.total, spec.count);
        let state = [sizes.map((n, i) => input([n], 100 + i)), sizes.map((n) => np.zeros([n]) as A), sizes.map((n) => np.zeros([n]) as A)];
        made.length = 0; // the state arrays are consumed by each step; only the gradients stay
        const grads = sizes.map((n, i) => input([n], 200 + i));
        const [b1, b2, lr, eps] = [0.9, 0.999, 1e-3, 1e-8];
        // Bias corrections fixed at step 1's values: the same arithmetic per element as a real step.
        const lrc = lr / (1 - b1);
        const vs = 1 / Math.sqrt(1 - b2);
        const step = jax.jit((p: A[], g: A[], m: A[], v: A[]) => {
          const out = p.map((pi, i) => {
            const gi = g[i]!;
            const m2 = np.add(np.multiply(m[i]!, b1), np.multiply(gi.ref, 1 - b1));
            const v2 = np.add(np.multiply(v[i]!, b2), np.multiply(np.square(gi), 1 - b2));
            const p2 = np.subtract(pi, np.divide(np.multiply(m2.ref, lrc), np.add(np.multiply(np.sqrt(v2.ref), vs), eps)));
            return [p2, m2, v2] as const;
          });
          return [out.map((o) => o[0]), out.map((o) => o[1]), out.map((o) => o[2])];
        });
        return {
          fwd: () => {
            state = step(state[0]!, grads.map((g) => g.ref), state[1]!, state[2]!) as A[][];
            pending = null;
          },
          sync: async () => { await jax.blockUntilReady(state as never); },
          dispose: () => {
            jax.tree.dispose(state as never);
            for (const g of grads) g.dispose();
          },
        };
      }
    }
    const n = xs.length;
    const fwd = jax.jit((...a: A[]) => f(...a));
    const argnums = Array.from({ length: n }, (_, i) => i);
    const fwdBwd = jax.jit(jax.grad((...a: A[]) => np.sum(f(...a)), { argnums }) as (...a: A[]) => A[]);
    return {
      fwd: () => { pending = fwd(...xs.map((x) => x.ref)); },
      fwdBwd: () => { pending = fwdBwd(...xs.map((x) => x.ref)); },
      sync,
      dispose: () => { for (const x of made) x.dispose(); },
    };
  };
  return { name: device === 'webgpu' ? 'jax-webgpu' : 'jax-wasm', version, build };
}

// ---------------------------------------------------------------- the suite

export interface PeerResult { ms?: number; runs?: number; speedup?: number; error?: string }

export interface PeerRow {
  op: string;
  shape: string;
  mode: 'fwd' | 'fwd+bwd';
  oursMs: number;
  peers: Partial<Record<PeerName, PeerResult>>;
}

export interface PeerStatus { name: PeerName; version?: string; ok: boolean; reason?: string }

export interface PeersResult {
  peers: PeerStatus[];
  rows: PeerRow[];
  /** Geometric mean of our speed-up (peer ms / our ms) per peer over the rows both ran. */
  geomean: Partial<Record<PeerName, { value: number; rows: number }>>;
}

const short = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);

async function oursRows(e: Engine, op: PeerOp, peaks: Peaks, runs: number): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (op.ours) {
    for (const r of await runCase(e, op.ours, peaks, runs)) out.set(r.mode, r.medianMs);
    return out;
  }
  const spec = op.spec as Extract<PeerSpec, { kind: 'adam' }>;
  const params = adamSizes(spec.total, spec.count).map((n, i) => e.tensor(randomData(n, 100 + i), [n]).asParameter(`p${i}`));
  params.forEach((p, i) => { p.grad = e.tensor(randomData(p.size, 200 + i), [p.size]).keep(); });
  const opt = new Adam(params, { lr: 1e-3 });
  const t = await timeSynced(() => opt.step(), () => e.sync(), runs);
  out.set('fwd', t.ms);
  opt.dispose();
  for (const p of params) {
    p.grad?.dispose();
    p.dispose();
  }
  return out;
}

/**
 * Runs every peer op for us and each peer that loads. `log` gets progress lines. A peer that
 * fails to load is reported with its reason; an op a peer fails on is reported per row.
 */
/** Half a second with nothing to do, so other libraries' worker threads go idle before a timing. */
const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 500));

export async function runPeers(e: Engine, quick: boolean | Size, peaks: Peaks, runs: number, log: (s: string) => void = () => {}): Promise<PeersResult> {
  const statuses: PeerStatus[] = [];
  const libs: PeerLib[] = [];
  try {
    await installNavigatorGpu(e);
  } catch (err) {
    const reason = `navigator.gpu could not be installed: ${short(err)}`;
    statuses.push({ name: 'tfjs-webgpu', ok: false, reason }, { name: 'jax-webgpu', ok: false, reason });
  }
  if (installed) {
    try {
      const lib = await loadTf();
      libs.push(lib);
      statuses.push({ name: lib.name, version: lib.version, ok: true });
    } catch (err) {
      statuses.push({ name: 'tfjs-webgpu', ok: false, reason: `TF.js WebGPU backend failed to load: ${short(err)}` });
    }
  }
  const cpuOnly = e.info.kind === 'llvmpipe' || e.info.kind === 'swiftshader';
  try {
    const { jax, devices } = await loadJax();
    const version = '0.1.25';
    if (installed) {
      if (devices.includes('webgpu')) {
        libs.push(jaxLib(jax, 'webgpu', version));
        statuses.push({ name: 'jax-webgpu', version, ok: true });
      } else statuses.push({ name: 'jax-webgpu', ok: false, reason: `jax-js init() found no webgpu device (devices: ${devices.join(', ')})` });
    }
    if (cpuOnly) {
      if (devices.includes('wasm')) {
        libs.push(jaxLib(jax, 'wasm', version));
        statuses.push({ name: 'jax-wasm', version, ok: true });
      } else statuses.push({ name: 'jax-wasm', ok: false, reason: `jax-js init() found no wasm device (devices: ${devices.join(', ')})` });
    }
  } catch (err) {
    const reason = `jax-js failed to load: ${short(err)}`;
    statuses.push({ name: 'jax-webgpu', ok: false, reason });
    if (cpuOnly) statuses.push({ name: 'jax-wasm', ok: false, reason });
  }

  const rows: PeerRow[] = [];
  for (const op of peerOps(quick)) {
    log(`  peers: ${op.name} ${op.shape}`);
    // Timing ours right after the previous op's peers (jax-js's Wasm backend last, whose worker
    // threads likely still spin) measured matmul 512³ at 19 ms instead of the kernel suite's 12;
    // with this pause it measured 13.
    await settle();
    const ours = await oursRows(e, op, peaks, runs);
    const opRows = new Map<string, PeerRow>();
    for (const [mode, ms] of ours) opRows.set(mode, { op: op.name, shape: op.shape, mode: mode as PeerRow['mode'], oursMs: ms, peers: {} });
    for (const lib of libs) {
      let impl: PeerImpl | null = null;
      try {
        impl = lib.build(op.spec);
        for (const [mode, row] of opRows) {
          const run = mode === 'fwd' ? impl.fwd : impl.fwdBwd;
          if (!run) {
            row.peers[lib.name] = { error: 'not supported' };
            continue;
          }
          try {
            const t = await timeSynced(run, impl.sync, runs);
            row.peers[lib.name] = { ms: t.ms, runs: t.runs, speedup: t.ms / row.oursMs };
          } catch (err) {
            row.peers[lib.name] = { error: short(err) };
            await impl.sync().catch(() => {});
          }
        }
      } catch (err) {
        for (const row of opRows.values()) row.peers[lib.name] ??= { error: short(err) };
      } finally {
        try { impl?.dispose(); } catch { /* a failed build leaves nothing to free */ }
      }
    }
    rows.push(...opRows.values());
  }
  const geomean: PeersResult['geomean'] = {};
  for (const s of statuses) {
    const ratios = rows.map((r) => r.peers[s.name]?.speedup).filter((x): x is number => x !== undefined && x > 0);
    if (ratios.length) geomean[s.name] = { value: Math.exp(ratios.reduce((a, x) => a + Math.log(x), 0) / ratios.length), rows: ratios.length };
  }
  return { peers: statuses, rows, geomean };
}

export function printPeers(r: PeersResult): void {
  for (const s of r.peers) console.log(`peer ${s.name}${s.version ? ` ${s.version}` : ''}: ${s.ok ? 'loaded' : `NOT RUN — ${s.reason}`}`);
  const names = r.peers.filter((s) => s.ok).map((s) => s.name);
  const head = ['op', 'shape', 'mode', 'ours ms', ...names.flatMap((n) => [`${n} ms`, 'speed-up'])];
  const body = r.rows.map((row) => [row.op, row.shape, row.mode, row.oursMs.toFixed(2), ...names.flatMap((n) => {
    const p = row.peers[n];
    if (!p) return ['—', '—'];
    if (p.error) return [`error`, '—'];
    return [p.ms!.toFixed(2), `${p.speedup!.toFixed(2)}×`];
  })]);
  body.push(['geomean', '', '', '', ...names.flatMap((n) => ['', r.geomean[n] ? `${r.geomean[n]!.value.toFixed(2)}×` : '—'])]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const row of r.rows) for (const n of names) if (row.peers[n]?.error) console.log(`  ${n} on ${row.op} ${row.shape} ${row.mode}: ${row.peers[n]!.error}`);
}
