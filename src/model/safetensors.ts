/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
 * length, a JSON header {name: {dtype, shape, data_offsets}, __metadata__: {…strings}}, then the
 * raw little-endian data. Pure bytes in / bytes out, so it serves Bun and the browser alike.
 */
export interface StTensor {
  dtype: 'F32' | 'I32' | 'U32';
  shape: number[];
  data: Float32Array | Int32Array | Uint32Array;
}

export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string>;
}

/** Serialises tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: ReadonlyMap<string, Readonly<Omit<StTensor, 'shape'> & { shape: readonly number[] }>>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has ${t.data.length} values for shape [${t.shape}]`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - ((8 + hb.length) % 8)) % 8;
  json += ' '.repeat(pad);
  hb = enc.encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), p);
    p += t.data.byteLength;
  }
  return out;
}

/** Longest header accepted: real headers are kilobytes; a larger length means a corrupt or foreign file. */
const MAX_HEADER = 100 * 1024 * 1024;
const DTYPE_BYTES: Record<StTensor['dtype'], number> = { F32: 4, I32: 4, U32: 4 };

/** A JSON value as it reads in a message: `null`, `an array`, `"text"`, `12`. */
function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a safetensors file; `what` names the file in every error message. Checks the
 * header length, that the header is a UTF-8 JSON object, that metadata maps strings to strings, each
 * tensor's dtype, shape and data_offsets, and that the tensors tile the data section exactly.
 */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors file'): StFile {
  if (bytes.length < 8) throw new Error(`${what}: truncated (${bytes.length} bytes; a safetensors file starts with an 8-byte header length)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen === 0) throw new Error(`${what}: header length is 0 (expected a JSON header): not a safetensors file`);
  if (hlen > MAX_HEADER) throw new Error(`${what}: header length ${hlen} exceeds the ${MAX_HEADER}-byte limit: corrupt or not a safetensors file`);
  if (8 + hlen > bytes.length) throw new Error(`${what}: header length ${hlen} runs past the end of the file (${bytes.length} bytes): truncated or not a safetensors file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + hlen));
  } catch {
    throw new Error(`${what}: header is not valid UTF-8: corrupt or not a safetensors file`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!isRecord(header)) throw new Error(`${what}: header is ${describe(header)}, expected a JSON object`);
  const dataStart = 8 + hlen;
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: StTensor['dtype']; shape: number[]; start: number; end: number }[] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isRecord(v)) throw new Error(`${what}: __metadata__ is ${describe(v)}, expected an object of strings`);
      for (const [k, s] of Object.entries(v)) if (typeof s !== 'string') throw new Error(`${what}: metadata ${JSON.stringify(k)} is ${describe(s)}, expected a string`);
      metadata = Object.fromEntries(Object.entries(v)) as Record<string, string>;
      continue;
    }
    const where = `${what}: tensor ${name}`;
    if (!isRecord(v)) throw new Error(`${where}: header entry is ${describe(v)}, expected {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: off } = v;
    if (dtype !== 'F32' && dtype !== 'I32' && dtype !== 'U32') throw new Error(`${where} has dtype ${describe(dtype)}; supported: F32, I32, U32`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where} has an invalid shape ${JSON.stringify(shape)} (expected an array of non-negative integers)`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where} has invalid data_offsets ${JSON.stringify(off)} (expected [begin, end], non-negative integers)`);
    const [start, end] = off as [number, number];
    if (end < start || end > dataLen) throw new Error(`${where} data_offsets [${start}, ${end}] lie outside the ${dataLen}-byte data section`);
    const need = shape.reduce((p: number, d: number) => p * d, 1) * DTYPE_BYTES[dtype];
    if (end - start !== need) throw new Error(`${where} spans ${end - start} bytes but shape [${shape}] of ${dtype} needs ${need}`);
    entries.push({ name, dtype, shape: shape as number[], start, end });
  }
  // The data regions must tile the data section exactly, with no overlap and no gap.
  const sorted = [...entries].sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = 0;
  for (const { name, start, end } of sorted) {
    if (start !== cursor) throw new Error(`${what}: tensor ${name} starts at byte ${start}, expected ${cursor} (${start < cursor ? 'overlapping' : 'gapped'} data_offsets)`);
    cursor = end;
  }
  if (cursor !== dataLen) throw new Error(`${what}: tensors cover ${cursor} bytes of a ${dataLen}-byte data section (trailing bytes)`);
  const tensors = new Map<string, StTensor>();
  for (const { name, dtype, shape, start, end } of entries) {
    const copy = bytes.slice(dataStart + start, dataStart + end);
    const data = dtype === 'F32' ? new Float32Array(copy.buffer) : dtype === 'I32' ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}
