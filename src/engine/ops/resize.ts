/**
 * Image / feature-map resizing of NCHW tensors as two matmuls with fixed interpolation matrices:
 * out = R_h · x · R_wᵀ. A resize is linear and separable, so this is exact, runs on the matmul
 * kernels (no kernel of its own to tune) and is differentiable through matmul's backward.
 *
 * Modes:
 * - 'bilinear': tf.image.resizeBilinear without corner alignment or half-pixel centres (what
 *   face-api's NetInput.toBatchTensor uses): source coordinate = o · in / out, clamped at the edge.
 * - 'area': each output pixel averages the input span it covers, weighted by overlap (a box filter;
 *   for integer factors it is average pooling). For shrinking feature maps without aliasing.
 */
import type { Engine } from '../engine.ts';
import type { Tensor } from '../tensor.ts';
import { matmul } from './matmul.ts';
import { fmt } from './shape-util.ts';

export type ResizeMode = 'bilinear' | 'area';

/** The [out, in] interpolation matrix of one axis (row-major, float64 weights). */
export function resizeMatrix(inSize: number, outSize: number, mode: ResizeMode): Float64Array {
  if (!Number.isInteger(inSize) || !Number.isInteger(outSize) || inSize < 1 || outSize < 1) {
    throw new Error(`resize: sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'bilinear') {
      const s = o * scale;
      const i0 = Math.min(Math.floor(s), inSize - 1);
      const i1 = Math.min(i0 + 1, inSize - 1);
      const f = s - i0;
      m[o * inSize + i0] = m[o * inSize + i0]! + 1 - f;
      m[o * inSize + i1] = m[o * inSize + i1]! + f;
    } else {
      const lo = o * scale;
      const hi = lo + scale;
      for (let i = Math.floor(lo); i < Math.min(inSize, Math.ceil(hi)); i++) {
        m[o * inSize + i] = (Math.min(i + 1, hi) - Math.max(i, lo)) / scale;
      }
    }
  }
  return m;
}

/** Cached interpolation matrices per engine (they are constants; building one costs a readback-free upload). */
const matrices = new WeakMap<Engine, Map<string, Tensor>>();

function matrixTensor(e: Engine, inSize: number, outSize: number, mode: ResizeMode, transposed: boolean): Tensor {
  let cache = matrices.get(e);
  if (!cache) matrices.set(e, (cache = new Map()));
  const key = `${mode}:${inSize}:${outSize}:${transposed ? 't' : 'n'}`;
  let t = cache.get(key);
  if (!t) {
    const m = resizeMatrix(inSize, outSize, mode);
    const data = new Float32Array(m.length);
    if (transposed) for (let o = 0; o < outSize; o++) for (let i = 0; i < inSize; i++) data[i * outSize + o] = m[o * inSize + i]!;
    else data.set(m);
    t = e.tensor(data, transposed ? [inSize, outSize] : [outSize, inSize]).keep();
    cache.set(key, t);
  }
  return t;
}

/** Resizes x [B, C, H, W] to [B, C, outH, outW]. */
export function resize2d(x: Tensor, outH: number, outW: number, mode: ResizeMode): Tensor {
  if (x.rank !== 4) throw new Error(`resize2d: x ${fmt(x.shape)} must be [B, C, H, W]`);
  const [, , H, W] = x.shape as [number, number, number, number];
  if (H === outH && W === outW) return x;
  const e = x.engine;
  // Width first: x [.., H, W] · R_wᵀ [W, outW] (one 2-D product over every row), then R_h [outH, H] · y.
  const y = W === outW ? x : matmul(x, matrixTensor(e, W, outW, mode, true));
  return H === outH ? y : matmul(matrixTensor(e, H, outH, mode, false), y);
}
