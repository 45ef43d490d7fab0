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
 * Every op is timed the same way for every library: median wall clock and median process CPU time
 * of synchronised runs after warm-up (ours: e.sync(); TF.js: submitQueue + onSubmittedWorkDone;
 * jax-js: blockUntilReady). Speed-ups compare CPU time on CPU adapters (every library's kernels,
 * jax-js's Wasm workers too, run on this process's threads) and wall time on GPUs.
 * fwd+bwd is the gradient of sum(f(inputs)) with respect to every input.
 */
import { type Engine, type Tensor, Adam, transposedChannelAttention } from '../src/engine/index.ts';
import { channelAttentionCost } from './channel-attention.ts';
import { convCase, matmulCase, param, rowwiseCase, sizeOf, type Size } from './cases.ts';
import { ratioBasis, runCase, type BenchCase, type Peaks } from './harness.ts';
import { basisMs, measureRuns, type Measured, type RatioBasis } from './cpu-time.ts';
import { adamSizes, jaxLib, loadJax, loadTf, randomData, type PeerImpl, type PeerLib } from './peer-libs.ts';

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

/** Medians of synchronised runs after one warm-up; fewer runs when one takes over a second. */
export function timeSynced(run: () => void, sync: () => Promise<void>, runs: number): Promise<Measured> {
  return measureRuns(run, sync, { warmup: 1, runs, adaptive: true });
}

/** ms: median wall clock; cpuMs: median process CPU time; speedup: peer ÷ ours on the row's basis. */
export interface PeerResult { ms?: number; cpuMs?: number; runs?: number; speedup?: number; error?: string }

export interface PeerRow {
  op: string;
  shape: string;
  mode: 'fwd' | 'fwd+bwd';
  oursMs: number;
  oursCpuMs: number;
  /** The clock the speed-ups compare. */
  basis: RatioBasis;
  peers: Partial<Record<PeerName, PeerResult>>;
}

export interface PeerStatus { name: PeerName; version?: string; ok: boolean; reason?: string }

export interface PeersResult {
  peers: PeerStatus[];
  rows: PeerRow[];
  /** Geometric mean of our speed-up (peer ms / our ms, on the rows' basis) per peer over the rows both ran. */
  geomean: Partial<Record<PeerName, { value: number; rows: number }>>;
}

const short = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200);

async function oursRows(e: Engine, op: PeerOp, peaks: Peaks, runs: number): Promise<Map<string, { wallMs: number; cpuMs: number }>> {
  const out = new Map<string, { wallMs: number; cpuMs: number }>();
  if (op.ours) {
    for (const r of await runCase(e, op.ours, peaks, runs)) out.set(r.mode, { wallMs: r.medianMs, cpuMs: r.cpuMs });
    return out;
  }
  const spec = op.spec as Extract<PeerSpec, { kind: 'adam' }>;
  const params = adamSizes(spec.total, spec.count).map((n, i) => e.tensor(randomData(n, 100 + i), [n]).asParameter(`p${i}`));
  params.forEach((p, i) => { p.grad = e.tensor(randomData(p.size, 200 + i), [p.size]).keep(); });
  const opt = new Adam(params, { lr: 1e-3 });
  out.set('fwd', await timeSynced(() => opt.step(), () => e.sync(), runs));
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
  const basis = ratioBasis(e);
  for (const op of peerOps(quick)) {
    log(`  peers: ${op.name} ${op.shape}`);
    // Timing ours right after the previous op's peers (jax-js's Wasm backend last, whose worker
    // threads likely still spin) measured matmul 512³ at 19 ms instead of the kernel suite's 12;
    // with this pause it measured 13.
    await settle();
    const ours = await oursRows(e, op, peaks, runs);
    const opRows = new Map<string, PeerRow>();
    for (const [mode, m] of ours) opRows.set(mode, { op: op.name, shape: op.shape, mode: mode as PeerRow['mode'], oursMs: m.wallMs, oursCpuMs: m.cpuMs, basis, peers: {} });
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
            row.peers[lib.name] = { ms: t.wallMs, cpuMs: t.cpuMs, runs: t.runs, speedup: basisMs(t, basis) / basisMs({ wallMs: row.oursMs, cpuMs: row.oursCpuMs }, basis) };
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
  const head = ['op', 'shape', 'mode', 'ours ms', 'ours CPU ms', ...names.flatMap((n) => [`${n} ms`, 'CPU ms', 'speed-up'])];
  const body = r.rows.map((row) => [row.op, row.shape, row.mode, row.oursMs.toFixed(2), row.oursCpuMs.toFixed(2), ...names.flatMap((n) => {
    const p = row.peers[n];
    if (!p) return ['—', '—', '—'];
    if (p.error) return [`error`, '—', '—'];
    return [p.ms!.toFixed(2), p.cpuMs!.toFixed(2), `${p.speedup!.toFixed(2)}×`];
  })]);
  body.push(['geomean', '', '', '', '', ...names.flatMap((n) => ['', '', r.geomean[n] ? `${r.geomean[n]!.value.toFixed(2)}×` : '—'])]);
  if (r.rows.length) console.log(`speed-ups compare ${r.rows[0]!.basis === 'cpu' ? 'process CPU time (a CPU adapter)' : 'wall time'}; > 1× = we are faster`);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) console.log(line(b));
  for (const row of r.rows) for (const n of names) if (row.peers[n]?.error) console.log(`  ${n} on ${row.op} ${row.shape} ${row.mode}: ${row.peers[n]!.error}`);
}
