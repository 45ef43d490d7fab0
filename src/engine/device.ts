/**
 * Device acquisition: one function that returns a ready GPUDevice in Bun (bun-webgpu / Dawn)
 * and in browsers (navigator.gpu). The only module that knows about the runtime.
 */

export type AdapterChoice = 'auto' | 'hardware' | 'llvmpipe' | 'swiftshader' | 'browser';

export interface DeviceInfo {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** Which path we took: a real GPU, one of the software rasterisers, or the page's own WebGPU. */
  kind: 'hardware' | 'llvmpipe' | 'swiftshader' | 'browser';
  /** Human-readable description printed at start-up. */
  description: string;
  /**
   * Which CPU rasteriser runs the adapter, or false for a GPU (in a browser, a fallback adapter that
   * names neither counts as SwiftShader, Chrome's): kernels then take their CPU-adapter variants
   * before any autotune has run. Decided once here, not per dispatch.
   */
  software: false | 'llvmpipe' | 'swiftshader';
  /** True when the adapter runs in WebGPU compatibility mode (GLES backend). */
  compatibility: boolean;
  timestampQuery: boolean;
}

export interface DeviceOptions {
  adapter?: AdapterChoice;
  /** Print the chosen adapter (default true). */
  log?: boolean;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

const INSTALL_HINT =
  'No usable WebGPU adapter. On a machine without a GPU install a software adapter:\n' +
  '  Mesa llvmpipe (OpenGL ES):  apt-get install libegl1 libgles2 libegl-mesa0 libgl1-mesa-dri\n' +
  '  SwiftShader (Vulkan):       apt-get install chromium libvulkan1\n' +
  'then choose one with LRDIF_ADAPTER=llvmpipe|swiftshader (default: auto).';

/** Limits the kernels want, raised up to what the adapter allows. */
const WANTED_LIMITS = [
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
  'maxBindGroups',
  'maxUniformBufferBindingSize',
] as const;

function envChoice(): AdapterChoice {
  const g = globalThis as { process?: { env?: Record<string, string | undefined> } };
  const v = g.process?.env?.LRDIF_ADAPTER ?? 'auto';
  const ok: AdapterChoice[] = ['auto', 'hardware', 'llvmpipe', 'swiftshader', 'browser'];
  if (!ok.includes(v as AdapterChoice)) {
    throw new Error(`LRDIF_ADAPTER=${v} is not one of ${ok.join('|')}`);
  }
  return v as AdapterChoice;
}

function buildLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  const lim = adapter.limits as unknown as Record<string, number>;
  // bun-webgpu quirk (DECISIONS §1): unspecified limits get core defaults, which fail against a
  // compatibility adapter's zero-valued ones, so pass every zero limit through explicitly.
  for (const key in lim) {
    const v = lim[key];
    if (typeof v === 'number' && v === 0) out[key] = 0;
  }
  for (const key of WANTED_LIMITS) {
    const v = lim[key];
    if (typeof v === 'number' && v > 0) out[key] = v;
  }
  return out;
}

/**
 * Runs one of bun-webgpu's (0.1.7) requestAdapter/requestDevice calls so that its descriptor
 * survives until Dawn reads it. bun-webgpu packs descriptors into ArrayBuffers and then holds them
 * only by raw address (bun:ffi ptr()); a garbage collection before the native call frees them and
 * Dawn reads reused memory: about one process start in a hundred failed with "Unexpected chained
 * struct of type SType::… found on DeviceDescriptor chain" (under BUN_JSC_slowPathAllocsBetweenGCs=20,
 * which collects every 20th slow-path allocation, 29 of 50 raw requestDevice calls did). Both calls
 * pack and call synchronously, so while they run every ArrayBuffer made through the global
 * constructor (descriptor, limits, feature list, callback info) is also kept in a list until the
 * request settles. A full collection first makes one during the call unlikely for what is not
 * made that way (label strings, from TextEncoder).
 */
async function keepingArrayBuffers<T>(call: () => Promise<T>): Promise<T> {
  const g = globalThis as { ArrayBuffer: ArrayBufferConstructor; Bun?: { gc(sync: boolean): void } };
  if (!g.Bun) return call(); // a browser's WebGPU copies what it needs
  g.Bun.gc(true);
  const Original = g.ArrayBuffer;
  const kept: ArrayBuffer[] = [];
  class KeptArrayBuffer extends Original {
    constructor(...args: ConstructorParameters<ArrayBufferConstructor>) {
      super(...args);
      kept.push(this);
    }
  }
  let request: Promise<T>;
  g.ArrayBuffer = KeptArrayBuffer as ArrayBufferConstructor;
  try {
    request = call();
  } finally {
    g.ArrayBuffer = Original;
  }
  try {
    return await request;
  } finally {
    kept.length = 0;
  }
}

/** A limit the device reports below what was required means the request did not get what it asked for. */
function limitsShortfall(device: GPUDevice, required: Record<string, number>): string | null {
  const got = device.limits as unknown as Record<string, number>;
  for (const key of WANTED_LIMITS) {
    const want = required[key];
    if (want !== undefined && !(got[key]! >= want)) return `${key} is ${got[key]}, required ${want}`;
  }
  return null;
}

/**
 * Requests the device, and once more on a fresh adapter if that fails or comes back with less than
 * it asked for (logged: a retry that succeeds still says why it was needed).
 */
async function makeDevice(firstAdapter: GPUAdapter, nextAdapter: () => Promise<GPUAdapter>): Promise<{ device: GPUDevice; adapter: GPUAdapter }> {
  let adapter = firstAdapter;
  for (let attempt = 1; ; attempt++) {
    const features: GPUFeatureName[] = [];
    if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
    const requiredLimits = buildLimits(adapter);
    let problem: string;
    try {
      const device = await keepingArrayBuffers(() => adapter.requestDevice({ requiredFeatures: features, requiredLimits } as GPUDeviceDescriptor));
      const shortfall = limitsShortfall(device, requiredLimits);
      if (!shortfall) return { device, adapter };
      device.destroy();
      problem = `the device came back with ${shortfall}`;
    } catch (e) {
      problem = (e as Error).message;
    }
    if (attempt === 2) throw new Error(`WebGPU device creation failed twice; last: ${problem}`);
    console.error(`[lrdif] WebGPU device creation failed (${problem}); retrying once with a fresh adapter`);
    adapter = await nextAdapter();
  }
}

function describe(adapter: GPUAdapter): string {
  const i = adapter.info;
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s && s.length > 0).join(' ') || 'unknown adapter';
}

function classify(adapter: GPUAdapter): 'hardware' | 'llvmpipe' | 'swiftshader' | 'null' {
  const d = describe(adapter).toLowerCase();
  if (d.includes('null')) return 'null';
  if (d.includes('llvmpipe')) return 'llvmpipe';
  if (d.includes('swiftshader') || d.includes('subzero')) return 'swiftshader';
  return 'hardware';
}

async function bunAdapter(choice: AdapterChoice): Promise<{ adapter: GPUAdapter; kind: DeviceInfo['kind']; compatibility: boolean }> {
  if (choice === 'llvmpipe' || choice === 'auto') await setNativeEnv('EGL_PLATFORM', 'surfaceless');
  // Mesa's loaders complain on every start when this is unset (headless CI, root shells).
  await setNativeEnv('XDG_RUNTIME_DIR', '/tmp');
  if (choice === 'swiftshader') await setNativeEnv('VK_ICD_FILENAMES', SWIFTSHADER_ICD);
  const gpu = await bunGpu();
  type Attempt = { opts: Record<string, unknown>; compat: boolean };
  const attempts: Attempt[] = [];
  const seen: string[] = [];
  // On Linux a GPU is reached through a Vulkan driver; with none installed, asking for one only
  // makes Dawn print "Found no drivers" / "Couldn't load Vulkan" on every start before llvmpipe.
  const vulkan = choice === 'hardware' || vulkanDriverInstalled();
  if (choice === 'hardware' || (choice === 'auto' && vulkan)) {
    attempts.push({ opts: { powerPreference: 'high-performance', backendType: 'Vulkan' }, compat: false });
    attempts.push({ opts: { powerPreference: 'high-performance' }, compat: false });
  } else if (choice === 'auto') seen.push('hardware: skipped, no Vulkan driver manifest (icd.d/*.json) installed');
  if (choice === 'llvmpipe' || choice === 'auto') {
    attempts.push({ opts: { backendType: 'OpenGLES', featureLevel: 'compatibility' }, compat: true });
  }
  if (choice === 'swiftshader') attempts.push({ opts: { backendType: 'Vulkan' }, compat: false });
  for (const a of attempts) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await keepingArrayBuffers(() => gpu.requestAdapter(a.opts as GPURequestAdapterOptions));
    } catch (e) {
      seen.push(`${JSON.stringify(a.opts)}: ${(e as Error).message}`);
      continue;
    }
    if (!adapter) {
      seen.push(`${JSON.stringify(a.opts)}: no adapter`);
      continue;
    }
    const k = classify(adapter);
    const reject = (why: string | null) => {
      if (why !== null) seen.push(`${JSON.stringify(a.opts)}: ${why}`);
      (adapter as { destroy?: () => void }).destroy?.(); // bun-webgpu: releases the native adapter
    };
    if (k === 'null') { reject('null backend'); continue; }
    if (choice === 'hardware' && k !== 'hardware') { reject(`${describe(adapter)} is not hardware`); continue; }
    if (choice === 'auto' && a.opts.backendType !== 'OpenGLES' && k !== 'hardware') { reject(null); continue; } // prefer llvmpipe as the CPU path
    if (choice === 'swiftshader' && k !== 'swiftshader') { reject(`${describe(adapter)} is not SwiftShader`); continue; }
    return { adapter, kind: k, compatibility: a.compat };
  }
  throw new Error(`${INSTALL_HINT}\nTried (LRDIF_ADAPTER=${choice}):\n  ${seen.join('\n  ')}`);
}

/** One bun-webgpu instance per process: each createDevice() asks it for adapters. */
let bunInstance: Promise<GPU> | null = null;
function bunGpu(): Promise<GPU> {
  bunInstance ??= import('bun-webgpu').then((mod) => mod.createGPUInstance() as unknown as GPU);
  return bunInstance;
}

/** Whether the Vulkan loader would find a driver: a VK_ICD_FILENAMES/VK_DRIVER_FILES override or a manifest in its search path (Linux; elsewhere assumed). */
function vulkanDriverInstalled(): boolean {
  const proc = (globalThis as { process?: { platform?: string; env: Record<string, string | undefined> } }).process!;
  if (proc.platform !== 'linux') return true;
  if (proc.env.VK_ICD_FILENAMES || proc.env.VK_DRIVER_FILES) return true;
  // Bun's Glob (a global, so the browser bundle pulls in no node:fs).
  const manifests = new (globalThis as unknown as { Bun: { Glob: new (p: string) => { scanSync(o: { cwd: string }): Iterable<string> } } }).Bun.Glob('*.json');
  const dataDirs = (proc.env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const configDirs = (proc.env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const home = proc.env.XDG_DATA_HOME ? [proc.env.XDG_DATA_HOME] : proc.env.HOME ? [`${proc.env.HOME}/.local/share`] : [];
  const dirs = [...configDirs, '/etc', ...home, ...dataDirs].map((d) => `${d}/vulkan/icd.d`);
  return dirs.some((d) => {
    try {
      for (const _ of manifests.scanSync({ cwd: d })) return true;
    } catch {
      // no such directory
    }
    return false;
  });
}

/**
 * Sets an environment variable for native code (Mesa's EGL, the Vulkan loader) unless the user set
 * it. Bun's process.env does not reach the C environment, so call libc's setenv.
 */
async function setNativeEnv(name: string, value: string): Promise<void> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process!.env;
  if (env[name] !== undefined) return;
  env[name] = value;
  if ((globalThis as { process?: { platform?: string } }).process?.platform !== 'linux') return;
  const ffi = await import('bun:ffi');
  const libc = ffi.dlopen('libc.so.6', { setenv: { args: [ffi.FFIType.cstring, ffi.FFIType.cstring, ffi.FFIType.i32], returns: ffi.FFIType.i32 } });
  const enc = (s: string) => ffi.ptr(new TextEncoder().encode(`${s}\0`));
  libc.symbols.setenv(enc(name) as never, enc(value) as never, 0);
  libc.close();
}

let cached: Promise<DeviceInfo> | null = null;

/** Returns the process-wide device (created once). */
export function getDevice(options: DeviceOptions = {}): Promise<DeviceInfo> {
  cached ??= createDevice(options);
  return cached;
}

/**
 * Destroys a device made by createDevice() and releases its adapter (bun-webgpu keeps native
 * adapters until released). Not for the process-wide one from getDevice(), which engines share.
 */
export function releaseDevice(info: DeviceInfo): void {
  info.device.destroy();
  (info.adapter as { destroy?: () => void }).destroy?.();
}

export async function createDevice(options: DeviceOptions = {}): Promise<DeviceInfo> {
  const choice = options.adapter ?? envChoice();
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';
  let first: GPUAdapter;
  let nextAdapter: () => Promise<GPUAdapter>;
  let kind: DeviceInfo['kind'];
  let compatibility = false;
  if (isBun && choice !== 'browser') {
    ({ adapter: first, kind, compatibility } = await bunAdapter(choice));
    nextAdapter = async () => (await bunAdapter(choice)).adapter;
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      throw new Error('WebGPU is not available in this browser (navigator.gpu is missing). Use a recent Chrome or Edge, or start Chromium with --enable-unsafe-webgpu.');
    }
    nextAdapter = async () => {
      const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      if (!a) throw new Error('navigator.gpu.requestAdapter() returned null: WebGPU is disabled or unsupported on this machine.');
      return a;
    };
    first = await nextAdapter();
    kind = 'browser';
  }
  const { device, adapter } = await makeDevice(first, nextAdapter);
  const description = `${kind}: ${describe(adapter)}${compatibility ? ' (compatibility mode)' : ''}`;
  if (options.log ?? true) console.error(`[lrdif] WebGPU adapter ${description}`);
  const fallback = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const seen = kind === 'browser' ? classify(adapter) : kind;
  const software = seen === 'llvmpipe' || seen === 'swiftshader' ? seen : fallback ? 'swiftshader' : false;
  return { device, adapter, kind, description, software, compatibility, timestampQuery: device.features.has('timestamp-query') };
}
