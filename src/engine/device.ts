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

async function makeDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  const features: GPUFeatureName[] = [];
  if (adapter.features.has('timestamp-query')) features.push('timestamp-query');
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: buildLimits(adapter),
  } as GPUDeviceDescriptor);
  return device;
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
  const mod = await import('bun-webgpu');
  const gpu = mod.createGPUInstance() as unknown as GPU;
  type Attempt = { opts: Record<string, unknown>; compat: boolean };
  const attempts: Attempt[] = [];
  if (choice === 'hardware' || choice === 'auto') {
    attempts.push({ opts: { powerPreference: 'high-performance', backendType: 'Vulkan' }, compat: false });
    attempts.push({ opts: { powerPreference: 'high-performance' }, compat: false });
  }
  if (choice === 'llvmpipe' || choice === 'auto') {
    attempts.push({ opts: { backendType: 'OpenGLES', featureLevel: 'compatibility' }, compat: true });
  }
  if (choice === 'swiftshader') attempts.push({ opts: { backendType: 'Vulkan' }, compat: false });
  const seen: string[] = [];
  for (const a of attempts) {
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(a.opts as GPURequestAdapterOptions);
    } catch (e) {
      seen.push(`${JSON.stringify(a.opts)}: ${(e as Error).message}`);
      continue;
    }
    if (!adapter) {
      seen.push(`${JSON.stringify(a.opts)}: no adapter`);
      continue;
    }
    const k = classify(adapter);
    if (k === 'null') { seen.push(`${JSON.stringify(a.opts)}: null backend`); continue; }
    if (choice === 'hardware' && k !== 'hardware') { seen.push(`${JSON.stringify(a.opts)}: ${describe(adapter)} is not hardware`); continue; }
    if (choice === 'auto' && a.opts.backendType !== 'OpenGLES' && k !== 'hardware') continue; // prefer llvmpipe as the CPU path
    if (choice === 'swiftshader' && k !== 'swiftshader') { seen.push(`${JSON.stringify(a.opts)}: ${describe(adapter)} is not SwiftShader`); continue; }
    return { adapter, kind: k, compatibility: a.compat };
  }
  throw new Error(`${INSTALL_HINT}\nTried (LRDIF_ADAPTER=${choice}):\n  ${seen.join('\n  ')}`);
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

export async function createDevice(options: DeviceOptions = {}): Promise<DeviceInfo> {
  const choice = options.adapter ?? envChoice();
  const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined';
  let adapter: GPUAdapter;
  let kind: DeviceInfo['kind'];
  let compatibility = false;
  if (isBun && choice !== 'browser') {
    ({ adapter, kind, compatibility } = await bunAdapter(choice));
  } else {
    const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    if (!gpu) {
      throw new Error('WebGPU is not available in this browser (navigator.gpu is missing). Use a recent Chrome or Edge, or start Chromium with --enable-unsafe-webgpu.');
    }
    const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!a) throw new Error('navigator.gpu.requestAdapter() returned null: WebGPU is disabled or unsupported on this machine.');
    adapter = a;
    kind = 'browser';
  }
  const device = await makeDevice(adapter);
  const description = `${kind}: ${describe(adapter)}${compatibility ? ' (compatibility mode)' : ''}`;
  if (options.log ?? true) console.error(`[lrdif] WebGPU adapter ${description}`);
  const fallback = (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const seen = kind === 'browser' ? classify(adapter) : kind;
  const software = seen === 'llvmpipe' || seen === 'swiftshader' ? seen : fallback ? 'swiftshader' : false;
  return { device, adapter, kind, description, software, compatibility, timestampQuery: device.features.has('timestamp-query') };
}
