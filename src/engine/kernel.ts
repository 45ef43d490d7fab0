/**
 * Kernel registry: every kernel is a WGSL file in shaders/ (or registered at run time), its
 * includes resolved and reflected with wgsl_reflect when first loaded. Bind-group layouts and
 * pipelines are built from that reflection and cached per (shader, entry point, override
 * constants), so a binding the TypeScript side names differently from the WGSL is an error at load
 * time that names the file and the binding. Compile errors name the original file and line
 * through the include line map.
 */
import { WgslReflect } from 'wgsl_reflect';
import { resolveShader, SHADER_NAMES } from './shaders.ts';
import { mapWgslMessage, type ResolvedWgsl, type WgslFile } from './wgsl-include.ts';

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
  /** The shader's file, for messages ("shaders/softmax.wgsl", or where a registered kernel lives). */
  path: string;
  entry: string;
  key: string;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  bindings: BindingInfo[];
  workgroupSize: [number, number, number];
}

export type Constants = Record<string, number>;

interface Reflected {
  source: ResolvedWgsl;
  reflect: WgslReflect;
  module: GPUShaderModule;
  /** Settles once the device has compiled the module: its error, line-mapped, or null. */
  compiled: Promise<Error | null>;
}

function scalarOf(typeName: string, format?: string): 'f32' | 'u32' | 'i32' {
  const t = typeName.startsWith('vec') || typeName.startsWith('array') ? (format ?? 'f32') : typeName;
  if (t === 'f32' || t === 'u32' || t === 'i32') return t;
  throw new Error(`unsupported uniform member type ${typeName}`);
}

export class KernelRegistry {
  private modules = new Map<string, Reflected>();
  private kernels = new Map<string, Kernel>();
  /** Kernels from outside shaders/, by "<name>.wgsl". */
  private registered = new Map<string, WgslFile>();
  /** Compile and pipeline checks the device has not answered yet. */
  private pending = new Set<Promise<void>>();
  pipelinesCompiled = 0;

  /** onError receives compile and pipeline-creation errors, asynchronously, as the device reports them. */
  constructor(private device: GPUDevice, private maxInvocations: number, private onError: (e: Error) => void) {}

  /**
   * Adds kernel `name` from WGSL that does not live in shaders/ (it may include lib/ files);
   * `path` names it in errors. Registering the same WGSL under the same name again does nothing (a
   * feature registers its kernel before each use); other WGSL under a taken name, or a bundled
   * shader's name, is an error.
   */
  register(name: string, wgsl: string, path = `${name}.wgsl (registered)`): void {
    const taken = this.registered.get(`${name}.wgsl`);
    if (taken?.text === wgsl) return;
    if (SHADER_NAMES.includes(name) || taken) throw new Error(`${path}: a kernel named "${name}" is already registered`);
    this.registered.set(`${name}.wgsl`, { text: wgsl, path });
  }

  /** Resolves once every module and pipeline created so far has been checked (errors reported to onError). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }

  /** Tracks a device check until it has reported. */
  private track(check: Promise<void>): void {
    const done = check.finally(() => this.pending.delete(done));
    this.pending.add(done);
  }

  private pathOf(shader: string): string {
    return this.registered.get(`${shader}.wgsl`)?.path ?? `shaders/${shader}.wgsl`;
  }

  private module(shader: string): Reflected {
    let m = this.modules.get(shader);
    if (m) return m;
    const path = this.pathOf(shader);
    if (!SHADER_NAMES.includes(shader) && !this.registered.has(`${shader}.wgsl`)) {
      throw new Error(`unknown shader "${shader}": add ${path} and list it in src/engine/shaders.ts`);
    }
    const source = resolveShader(shader, (p) => this.registered.get(p));
    let reflect: WgslReflect;
    try {
      reflect = new WgslReflect(source.code);
    } catch (e) {
      throw new Error(`${path}: wgsl_reflect failed to parse: ${mapWgslMessage((e as Error).message, source)}`);
    }
    // The scope keeps a compile error from reaching the device's uncaptured-error handler with
    // line numbers of the resolved source; it is reported with the original file and line.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: source.code, label: shader });
    const compiled = this.device.popErrorScope().then(
      (err) => (err ? new Error(`${path}: WGSL compilation failed: ${mapWgslMessage(err.message, source)}`) : null),
      (err: unknown) => new Error(`${path}: ${String(err)}`),
    );
    this.track(compiled.then((err) => { if (err) this.onError(err); }));
    m = { source, reflect, module, compiled };
    this.modules.set(shader, m);
    return m;
  }

  /** Loads (or returns the cached) pipeline for shader/entry with override constants. */
  get(shader: string, entry = 'main', constants: Constants = {}): Kernel {
    const ckeys = Object.keys(constants).sort();
    const key = `${shader}:${entry}:${ckeys.map((k) => `${k}=${constants[k]}`).join(',')}`;
    const hit = this.kernels.get(key);
    if (hit) return hit;
    const { source, reflect, module, compiled } = this.module(shader);
    const path = this.pathOf(shader);
    const ep = reflect.entry.compute.find((e) => e.name === entry);
    if (!ep) {
      throw new Error(`${path} has no @compute entry point "${entry}" (has: ${reflect.entry.compute.map((e) => e.name).join(', ')})`);
    }
    const overrideNames = new Set(reflect.overrides.map((o) => o.name));
    for (const k of ckeys) {
      if (!overrideNames.has(k)) throw new Error(`${path} declares no override "${k}" (has: ${[...overrideNames].join(', ') || 'none'})`);
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
      const m = new RegExp(`override\\s+${s}\\s*:\\s*\\w+\\s*=\\s*(\\d+)`).exec(source.code);
      if (m) return parseInt(m[1]!, 10);
      throw new Error(`${path}: workgroup_size uses override "${s}" with no numeric default; pass it as a constant`);
    };
    const wg: [number, number, number] = [resolve(parts[0]), resolve(parts[1]), resolve(parts[2])];
    if (wg[0] * wg[1] * wg[2] > this.maxInvocations) {
      throw new Error(`${path}:${entry}: workgroup ${wg.join('x')} exceeds this device's ${this.maxInvocations} invocations`);
    }
    const used = new Set(ep.resources.map((r) => r.name));
    const bindings: BindingInfo[] = [];
    for (const group of reflect.getBindGroups()) {
      for (const b of group) {
        if (!b || !used.has(b.name)) continue;
        if (b.group !== 0) throw new Error(`${path}: binding ${b.name} must be in @group(0)`);
        let kind: BindingInfo['kind'];
        if (b.resourceType === 0) kind = 'uniform';
        else if (b.resourceType === 1) kind = b.access === 'read' ? 'storage-read' : 'storage';
        else throw new Error(`${path}: binding ${b.name} is not a buffer`);
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
    const pipelineLayout = this.device.createPipelineLayout({ bindGroupLayouts: [layout] });
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({ label: key, layout: pipelineLayout, compute: { module, entryPoint: entry, constants } });
    // A pipeline of a module that failed to compile fails too: report the compile error instead.
    this.track(Promise.all([this.device.popErrorScope(), compiled]).then(
      ([err, compileError]) => { if (err) this.onError(compileError ?? new Error(`${path}:${entry}: pipeline creation failed: ${err.message}`)); },
      (err: unknown) => this.onError(new Error(`${path}:${entry}: ${String(err)}`)),
    ));
    this.pipelinesCompiled++;
    const k: Kernel = { shader, path, entry, key, pipeline, layout, bindings, workgroupSize: wg };
    this.kernels.set(key, k);
    return k;
  }
}
