/**
 * Kernel registry: every kernel is a WGSL file in shaders/, reflected with wgsl_reflect when first
 * loaded. Bind-group layouts and pipelines are built from that reflection and cached per
 * (shader, entry point, override constants), so a binding the TypeScript side names differently
 * from the WGSL is an error at load time that names the file and the binding.
 */
import { WgslReflect } from 'wgsl_reflect';
import { SHADERS } from './shaders.ts';

export interface BindingInfo {
  name: string;
  binding: number;
  kind: 'storage-read' | 'storage' | 'uniform';
  /** For uniform structs: member name -> (byte offset, scalar type, element count). */
  members?: Map<string, { offset: number; type: 'f32' | 'u32' | 'i32'; count: number }>;
  size: number;
}

export interface Kernel {
  shader: string;
  entry: string;
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: BindingInfo[];
  workgroupSize: [number, number, number];
}

export type Constants = Record<string, number>;

interface Reflected {
  reflect: WgslReflect;
  module: GPUShaderModule;
}

function scalarOf(typeName: string, format?: string): 'f32' | 'u32' | 'i32' {
  const t = typeName.startsWith('vec') || typeName.startsWith('array') ? (format ?? 'f32') : typeName;
  if (t === 'f32' || t === 'u32' || t === 'i32') return t;
  throw new Error(`unsupported uniform member type ${typeName}`);
}

export class KernelRegistry {
  private modules = new Map<string, Reflected>();
  private kernels = new Map<string, Kernel>();
  pipelinesCompiled = 0;

  constructor(private device: GPUDevice, private maxInvocations: number) {}

  private module(shader: string): Reflected {
    let m = this.modules.get(shader);
    if (m) return m;
    const code = SHADERS[shader];
    if (code === undefined) {
      throw new Error(`unknown shader "${shader}": add shaders/${shader}.wgsl and list it in src/engine/shaders.ts`);
    }
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(code);
    } catch (e) {
      throw new Error(`shaders/${shader}.wgsl: wgsl_reflect failed to parse: ${(e as Error).message}`);
    }
    const module = this.device.createShaderModule({ code, label: shader });
    m = { reflect, module };
    this.modules.set(shader, m);
    return m;
  }

  /** Loads (or returns the cached) pipeline for shader/entry with override constants. */
  get(shader: string, entry = 'main', constants: Constants = {}): Kernel {
    const ckeys = Object.keys(constants).sort();
    const key = `${shader}:${entry}:${ckeys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    const hit = this.kernels.get(key);
    if (hit) return hit;
    const { reflect, module } = this.module(shader);
    const ep = reflect.entry.compute.find((e) => e.name === entry);
    if (!ep) {
      throw new Error(`shaders/${shader}.wgsl has no @compute entry point "${entry}" (has: ${reflect.entry.compute.map((e) => e.name).join(', ')})`);
    }
    const overrideNames = new Set(reflect.overrides.map((o) => o.name));
    for (const k of ckeys) {
      if (!overrideNames.has(k)) throw new Error(`shaders/${shader}.wgsl declares no override "${k}" (has: ${[...overrideNames].join(', ') || 'none'})`);
    }
    // Workgroup size may refer to override constants; resolve it with the values we pass.
    const attr = ep.attributes?.find((a) => a.name === 'workgroup_size');
    const raw = (attr?.value as string[] | string | null) ?? null;
    const parts = Array.isArray(raw) ? raw : raw ? [raw] : ['1'];
    const resolve = (s: string | undefined): number => {
      if (s === undefined) return 1;
      const n = parseInt(s, 10);
      if (!Number.isNaN(n) && /^\d+u?$/.test(s.trim())) return n;
      if (s in constants) return constants[s]!;
      const m = new RegExp(`override\\s+${s}\\s*:\\s*\\w+\\s*=\\s*(\\d+)`).exec(SHADERS[shader]!);
      if (m) return parseInt(m[1]!, 10);
      throw new Error(`shaders/${shader}.wgsl: workgroup_size uses override "${s}" with no numeric default; pass it as a constant`);
    };
    const wg: [number, number, number] = [resolve(parts[0]), resolve(parts[1]), resolve(parts[2])];
    if (wg[0] * wg[1] * wg[2] > this.maxInvocations) {
      throw new Error(`shaders/${shader}.wgsl:${entry}: workgroup ${wg.join('x')} exceeds this device's ${this.maxInvocations} invocations`);
    }
    const used = new Set(ep.resources.map((r) => r.name));
    const bindings: BindingInfo[] = [];
    for (const group of reflect.getBindGroups()) {
      for (const b of group) {
        if (!b || !used.has(b.name)) continue;
        if (b.group !== 0) throw new Error(`shaders/${shader}.wgsl: binding ${b.name} must be in @group(0)`);
        let kind: BindingInfo['kind'];
        if (b.resourceType === 0) kind = 'uniform';
        else if (b.resourceType === 1) kind = b.access === 'read' ? 'storage-read' : 'storage';
        else throw new Error(`shaders/${shader}.wgsl: binding ${b.name} is not a buffer`);
        const info: BindingInfo = { name: b.name, binding: b.binding, kind, size: b.size };
        if (kind === 'uniform') {
          const st = b.type as unknown as { members?: { name: string; offset: number; size: number; type: { name: string; format?: { name: string } } }[] };
          info.members = new Map();
          for (const m of st.members ?? []) {
            const t = scalarOf(m.type.name, m.type.format?.name);
            info.members.set(m.name, { offset: m.offset, type: t, count: Math.max(1, m.size / 4) });
          }
        }
        bindings.push(info);
      }
    }
    bindings.sort((a, b) => a.binding - b.binding);
    const layout = this.device.createBindGroupLayout({
      label: `${shader}:${entry}`,
      entries: bindings.map((b) => ({
        binding: b.binding,
        visibility: 4 /* GPUShaderStage.COMPUTE (not a global under bun-webgpu) */,
        // Uniforms take a dynamic offset into the engine's arena, so bind groups do not depend on where a dispatch's parameters sit.
        buffer: b.kind === 'uniform' ? { type: 'uniform', hasDynamicOffset: true } : { type: b.kind === 'storage-read' ? 'read-only-storage' : 'storage' },
      })),
    });
    const pipeline = this.device.createComputePipeline({
      label: key,
      layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: entry, constants },
    });
    this.pipelinesCompiled++;
    const k: Kernel = { shader, entry, key, pipeline, layout, bindings, workgroupSize: wg };
    this.kernels.set(key, k);
    return k;
  }
}
