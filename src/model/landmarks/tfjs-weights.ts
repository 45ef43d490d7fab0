/**
 * Reader for TensorFlow.js "weights-only" models: a JSON manifest (groups of shard paths plus the
 * ordered list of weights they hold) and binary shards. Each group's shards are concatenated and its
 * weights lie back to back in that byte stream, little-endian. Quantised weights store uint8 / uint16
 * codes (value = code · scale + min, as tf.io.decodeWeights computes it) or float16 halves.
 */
export type TfjsDtype = 'float32' | 'int32';

/** One decoded weight; float32 weights (quantised or not) come back as Float32Array. */
export interface TfjsWeight {
  name: string;
  shape: number[];
  dtype: TfjsDtype;
  data: Float32Array | Int32Array;
}

export interface TfjsQuantization {
  dtype: 'uint8' | 'uint16' | 'float16';
  scale?: number;
  min?: number;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: TfjsQuantization;
}

export interface TfjsWeightsGroup {
  paths: string[];
  weights: TfjsWeightSpec[];
}

const STORED_BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

/** Validates a parsed manifest (an array of groups); `where` names the file in errors. */
export function parseWeightsManifest(json: unknown, where: string): TfjsWeightsGroup[] {
  if (!Array.isArray(json)) throw new Error(`tfjs weights ${where}: the manifest must be a JSON array of {paths, weights} groups`);
  return json.map((g: unknown, gi: number) => {
    const group = g as Partial<TfjsWeightsGroup>;
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new Error(`tfjs weights ${where}: group ${gi} must have "paths" and "weights" arrays`);
    }
    for (const w of group.weights) {
      if (!w || typeof w.name !== 'string' || !Array.isArray(w.shape) || typeof w.dtype !== 'string') {
        throw new Error(`tfjs weights ${where}: group ${gi} has a weight without name, shape or dtype: ${JSON.stringify(w)}`);
      }
      if (!w.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`tfjs weights ${where}: weight "${w.name}" has a bad shape ${JSON.stringify(w.shape)}`);
    }
    return { paths: group.paths as string[], weights: group.weights as TfjsWeightSpec[] };
  });
}

/** Bytes a weight occupies in its shard stream; throws on a dtype this reader does not decode. */
function storedBytes(w: TfjsWeightSpec, where: string): number {
  const count = w.shape.reduce((a, b) => a * b, 1);
  if (w.dtype !== 'float32' && w.dtype !== 'int32') {
    throw new Error(`tfjs weights ${where}: weight "${w.name}" has unknown dtype "${w.dtype}" (supported: float32, int32)`);
  }
  const q = w.quantization;
  if (!q) return count * STORED_BYTES[w.dtype]!;
  if (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16') {
    throw new Error(`tfjs weights ${where}: weight "${w.name}" has unknown quantization dtype "${String(q.dtype)}" (supported: uint8, uint16, float16)`);
  }
  if (q.dtype !== 'float16' && (typeof q.scale !== 'number' || typeof q.min !== 'number')) {
    throw new Error(`tfjs weights ${where}: weight "${w.name}" is ${q.dtype}-quantised but lacks numeric "scale" and "min"`);
  }
  if (q.dtype === 'float16' && w.dtype !== 'float32') throw new Error(`tfjs weights ${where}: weight "${w.name}": float16 quantization of ${w.dtype} is not supported`);
  return count * STORED_BYTES[q.dtype]!;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

function decodeOne(w: TfjsWeightSpec, bytes: Uint8Array): TfjsWeight {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dtype = w.dtype as TfjsDtype;
  const out = dtype === 'float32' ? new Float32Array(count) : new Int32Array(count);
  const q = w.quantization;
  if (!q) {
    for (let i = 0; i < count; i++) out[i] = dtype === 'float32' ? view.getFloat32(4 * i, true) : view.getInt32(4 * i, true);
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    const scale = q.scale!;
    const min = q.min!;
    for (let i = 0; i < count; i++) {
      const code = q.dtype === 'uint8' ? bytes[i]! : view.getUint16(2 * i, true);
      const v = code * scale + min;
      out[i] = dtype === 'int32' ? Math.round(v) : v;
    }
  }
  return { name: w.name, shape: [...w.shape], dtype, data: out };
}

/**
 * Decodes every weight of a manifest. `readShard(path)` returns a shard's bytes (path as written in
 * the manifest) or null when it does not exist; `where` names the manifest in errors.
 */
export function decodeTfjsWeights(groups: TfjsWeightsGroup[], readShard: (path: string) => Uint8Array | null, where: string): Map<string, TfjsWeight> {
  const out = new Map<string, TfjsWeight>();
  groups.forEach((g, gi) => {
    const shards = g.paths.map((p) => {
      const b = readShard(p);
      if (!b) throw new Error(`tfjs weights ${where}: shard "${p}" of group ${gi} is missing`);
      return b;
    });
    const total = shards.reduce((a, s) => a + s.byteLength, 0);
    const need = g.weights.reduce((a, w) => a + storedBytes(w, where), 0);
    if (total !== need) {
      throw new Error(`tfjs weights ${where}: group ${gi} shards [${g.paths.join(', ')}] hold ${total} bytes, its ${g.weights.length} weights need ${need}`);
    }
    const stream = new Uint8Array(total);
    let at = 0;
    for (const s of shards) {
      stream.set(s, at);
      at += s.byteLength;
    }
    let offset = 0;
    for (const w of g.weights) {
      const n = storedBytes(w, where);
      if (out.has(w.name)) throw new Error(`tfjs weights ${where}: weight "${w.name}" appears twice`);
      out.set(w.name, decodeOne(w, stream.subarray(offset, offset + n)));
      offset += n;
    }
  });
  return out;
}
