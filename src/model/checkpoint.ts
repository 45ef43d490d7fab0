/**
 * Model ↔ safetensors: PyTorch-style dotted names, (out, in) / NCHW layouts, the config, preset
 * and stage in the header metadata. Loading checks names, shapes and dtypes and reports every
 * mismatch at once.
 */
import type { Module } from './module.ts';
import { decodeSafetensors, encodeSafetensors, type StFile, type StTensor } from './safetensors.ts';
import { makeConfig, type DeepPartial, type LrdifConfig } from './config.ts';

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

/**
 * Decodes and validates an LRDif checkpoint; `what` (the file's path) heads every error. Beyond the
 * safetensors structure: the metadata must say format lrdif-webgpu, version 1, stage 1 or 2 and a
 * valid model config (the same preset and input size as the metadata's own keys); every tensor must
 * be F32 and finite (NaN or ±Inf weights mean a corrupt file or a diverged run).
 */
export function readCheckpoint(bytes: Uint8Array, what: string): { file: StFile; config: LrdifConfig; stage: number } {
  const file = decodeSafetensors(bytes, what);
  const meta = file.metadata;
  if (meta.format !== 'lrdif-webgpu' || meta.config === undefined) throw new Error(`${what}: not an LRDif checkpoint (metadata has no format "lrdif-webgpu" / config)`);
  if (meta.format_version !== undefined && meta.format_version !== FORMAT_VERSION) {
    throw new Error(`${what}: checkpoint format_version ${JSON.stringify(meta.format_version)}, this program reads version ${FORMAT_VERSION}`);
  }
  if (meta.stage !== '1' && meta.stage !== '2') throw new Error(`${what}: metadata stage is ${JSON.stringify(meta.stage ?? null)}, expected "1" or "2"`);
  const config = checkpointConfig(meta.config, what);
  if (meta.preset !== undefined && meta.preset !== config.preset) throw new Error(`${what}: metadata preset ${JSON.stringify(meta.preset)} differs from the config's ${JSON.stringify(config.preset)}`);
  if (meta.input_size !== undefined && meta.input_size !== String(config.inputSize)) {
    throw new Error(`${what}: metadata input_size ${JSON.stringify(meta.input_size)} differs from the config's inputSize ${config.inputSize}`);
  }
  for (const [name, t] of file.tensors) {
    if (t.dtype !== 'F32') throw new Error(`${what}: tensor ${name} has dtype ${t.dtype}; an LRDif checkpoint holds F32 tensors only`);
    const bad = nonFinite(t.data as Float32Array);
    if (bad) {
      throw new Error(`${what}: tensor ${name} [${t.shape}] holds ${bad.count} non-finite value${bad.count === 1 ? '' : 's'} (the first, ${bad.value}, at index ${bad.index}): the file is corrupt or training diverged`);
    }
  }
  return { file, config, stage: Number(meta.stage) };
}

/** The metadata's config JSON as a validated config (unknown fields, bad values and foreign presets throw, naming the file). */
function checkpointConfig(text: string, what: string): LrdifConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: metadata config is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${what}: metadata config is ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}, expected a JSON object`);
  const { preset, ...overrides } = raw as Record<string, unknown>;
  // Checkpoints written before the pretrained backbones existed trained every image path from scratch.
  overrides.backbone ??= 'none';
  overrides.adapterNorm ??= false;
  try {
    if (typeof preset !== 'string') throw new Error(`preset is ${JSON.stringify(preset ?? null)}, expected a preset name`);
    return makeConfig(preset, overrides as DeepPartial<LrdifConfig>);
  } catch (e) {
    throw new Error(`${what}: metadata config is not a valid model config: ${(e as Error).message}`);
  }
}

/** The count of NaN/±Inf values and the first one, or null when every value is finite. */
function nonFinite(data: Float32Array): { count: number; index: number; value: number } | null {
  let count = 0;
  let index = -1;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!) && count++ === 0) index = i;
  return count === 0 ? null : { count, index, value: data[index]! };
}

/**
 * Loads tensors into a model. strict: every model parameter must be present with the same dtype (F32)
 * and shape, and the file may hold nothing else. Throws one error listing every problem, before
 * writing anything.
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
    if (src.dtype !== 'F32' || !(src.data instanceof Float32Array)) problems.push(`${name}: dtype ${src.dtype}, expected F32`);
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
