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

const MAX_HEADER = 100 * 1024 * 1024;

/** Serialises tensors (in the given order) and string metadata. */
export function encodeSafetensors(tensors: Map<string, StTensor>, metadata: Record<string, string> = {}): Uint8Array {
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

/** Parses and validates a safetensors file; `what` names the file in error messages. */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors file'): StFile {
  if (bytes.length < 8) throw new Error(`${what}: truncated (${bytes.length} bytes; a safetensors file starts with an 8-byte header length)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = Number(dv.getBigUint64(0, true));
  if (hlen > MAX_HEADER || 8 + hlen > bytes.length) throw new Error(`${what}: header length ${hlen} runs past the end of the file (${bytes.length} bytes): truncated or not a safetensors file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hlen)));
  } catch (e) {
    throw new Error(`${what}: header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error(`${what}: header is not a JSON object`);
  const dataStart = 8 + hlen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: [string, StTensor['dtype'], number[], number, number][] = [];
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, s] of Object.entries(v as Record<string, unknown>)) {
        if (typeof s !== 'string') throw new Error(`${what}: metadata ${k} is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const info = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (info.dtype !== 'F32' && info.dtype !== 'I32' && info.dtype !== 'U32') throw new Error(`${what}: tensor ${name} has dtype ${String(info.dtype)}; supported: F32, I32, U32`);
    if (!Array.isArray(info.shape) || !info.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${what}: tensor ${name} has an invalid shape ${JSON.stringify(info.shape)}`);
    const off = info.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`${what}: tensor ${name} has invalid data_offsets ${JSON.stringify(off)}`);
    const [s, eEnd] = off as [number, number];
    const n = (info.shape as number[]).reduce((p, d) => p * d, 1);
    if (eEnd < s || eEnd > dataLen) throw new Error(`${what}: tensor ${name} data_offsets [${s}, ${eEnd}] lie outside the ${dataLen}-byte data section`);
    if (eEnd - s !== n * 4) throw new Error(`${what}: tensor ${name} spans ${eEnd - s} bytes but shape [${info.shape}] of ${info.dtype} needs ${n * 4}`);
    entries.push([name, info.dtype, info.shape as number[], s, eEnd]);
  }
  // The data regions must tile the data section exactly, with no overlap and no gap.
  const sorted = [...entries].sort((a, b) => a[3] - b[3]);
  let cursor = 0;
  for (const [name, , , s, eEnd] of sorted) {
    if (s !== cursor) throw new Error(`${what}: tensor ${name} starts at byte ${s}, expected ${cursor} (overlapping or gapped data_offsets)`);
    cursor = eEnd;
  }
  if (cursor !== dataLen) throw new Error(`${what}: tensors cover ${cursor} bytes of a ${dataLen}-byte data section (trailing bytes)`);
  const tensors = new Map<string, StTensor>();
  for (const [name, dtype, shape, s, eEnd] of entries) {
    const copy = bytes.slice(dataStart + s, dataStart + eEnd);
    const data = dtype === 'F32' ? new Float32Array(copy.buffer) : dtype === 'I32' ? new Int32Array(copy.buffer) : new Uint32Array(copy.buffer);
    tensors.set(name, { dtype, shape, data });
  }
  return { tensors, metadata };
}
