/**
 * Model ↔ safetensors: PyTorch-style dotted names, (out, in) / NCHW layouts, the config, preset
 * and stage in the header metadata. Loading checks names, shapes and dtypes and reports every
 * mismatch at once.
 */
import type { Module } from './module.ts';
import { decodeSafetensors, encodeSafetensors, type StFile, type StTensor } from './safetensors.ts';
import type { LrdifConfig } from './config.ts';

export const FORMAT_VERSION = '1';

export interface CheckpointMeta {
  config: LrdifConfig;
  stage: number;
  /** Free-form extra metadata (epoch, accuracy …). */
  extra?: Record<string, string>;
}

/** Reads every parameter back from the GPU and encodes a safetensors file. */
export async function saveCheckpoint(model: Module, meta: CheckpointMeta): Promise<Uint8Array> {
  const tensors = new Map<string, StTensor>();
  for (const [name, t] of model.namedParameters()) {
    tensors.set(name, { dtype: 'F32', shape: [...t.shape], data: (await t.read()) as Float32Array });
  }
  return encodeSafetensors(tensors, {
    format: 'lrdif-webgpu',
    format_version: FORMAT_VERSION,
    preset: meta.config.preset,
    stage: String(meta.stage),
    input_size: String(meta.config.inputSize),
    config: JSON.stringify(meta.config),
    ...(meta.extra ?? {}),
  });
}

export function readCheckpoint(bytes: Uint8Array, what: string): { file: StFile; config: LrdifConfig; stage: number } {
  const file = decodeSafetensors(bytes, what);
  const cfgText = file.metadata.config;
  if (file.metadata.format !== 'lrdif-webgpu' || !cfgText) throw new Error(`${what}: not an LRDif checkpoint (metadata has no format "lrdif-webgpu" / config)`);
  const config = JSON.parse(cfgText) as LrdifConfig;
  // Checkpoints written before the pretrained backbones existed trained every image path from scratch.
  config.backbone ??= 'none';
  config.adapterNorm ??= false;
  return { file, config, stage: parseInt(file.metadata.stage ?? '0', 10) };
}

/**
 * Loads tensors into a model. strict: every model parameter must be present with the same shape,
 * and the file may hold nothing else. Throws one error listing every problem.
 */
export function loadIntoModel(model: Module, file: StFile, what: string, opts: { strict?: boolean } = {}): { loaded: string[]; missing: string[]; unexpected: string[] } {
  const strict = opts.strict ?? true;
  const problems: string[] = [];
  const loaded: string[] = [];
  const missing: string[] = [];
  const names = new Set<string>();
  for (const [name, t] of model.namedParameters()) {
    names.add(name);
    const src = file.tensors.get(name);
    if (!src) {
      missing.push(name);
      if (strict) problems.push(`missing tensor ${name} [${t.shape}]`);
      continue;
    }
    if (src.dtype !== 'F32') problems.push(`${name}: dtype ${src.dtype}, expected F32`);
    else if (src.shape.length !== t.shape.length || src.shape.some((d, i) => d !== t.shape[i])) problems.push(`${name}: shape [${src.shape}] in the file, the model has [${t.shape}]`);
    else loaded.push(name);
  }
  const unexpected = [...file.tensors.keys()].filter((n) => !names.has(n));
  if (strict) for (const n of unexpected) problems.push(`unexpected tensor ${n} (not in this model)`);
  if (problems.length > 0) throw new Error(`${what}: checkpoint does not match the model:\n  ${problems.join('\n  ')}`);
  const params = new Map(model.namedParameters());
  for (const name of loaded) model.e.write(params.get(name)!, file.tensors.get(name)!.data as Float32Array);
  return { loaded, missing, unexpected };
}
