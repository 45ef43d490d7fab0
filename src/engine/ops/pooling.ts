/**
 * 2-D max and average pooling over NCHW tensors, 'valid' (no padding): Ho = ⌊(H − kh) / sh⌋ + 1
 * (likewise Wo). Both are compositions of strided slices (one per kernel tap) and elementwise
 * maximum / add, so their gradients come from those ops' backward on the tape; no kernel of their own.
 * Max pooling sends a tied window's gradient to the first tap (row-major) holding the maximum.
 */
import type { Tensor } from '../tensor.ts';
import { add, maximum, mulScalar } from './elementwise.ts';
import { slice } from './layout.ts';
import { mean } from './reduce.ts';
import { assertF32, fmt } from './shape-util.ts';

type Pair = number | readonly [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

interface PoolGeometry {
  kh: number; kw: number; sh: number; sw: number; ho: number; wo: number;
}

function poolGeometry(op: string, x: Tensor, kernel: Pair, stride: Pair): PoolGeometry {
  const [kh, kw] = pair(kernel);
  const [sh, sw] = pair(stride);
  const what = `${op}(x ${fmt(x.shape)}, kernel ${kh}x${kw}, stride ${sh}x${sw})`;
  if (x.rank !== 4) throw new Error(`${what}: x must be [N, C, H, W]`);
  assertF32(op, x);
  if (![kh, kw, sh, sw].every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`${what}: kernel and stride must be positive integers`);
  const [, , h, w] = x.shape as [number, number, number, number];
  if (kh > h || kw > w) throw new Error(`${what}: kernel ${kh}x${kw} is larger than the input ${h}x${w} ('valid' pooling, no padding)`);
  return { kh, kw, sh, sw, ho: Math.floor((h - kh) / sh) + 1, wo: Math.floor((w - kw) / sw) + 1 };
}

/**
 * Calls `combine(acc, tap)` over the kernel taps in row-major order, tap (i, j) being
 * x[:, :, i + sh·oy, j + sw·ox] for every output position: the row slice of each kernel row is
 * shared by its taps.
 */
function foldTaps(x: Tensor, g: PoolGeometry, combine: (acc: Tensor, tap: Tensor) => Tensor): Tensor {
  // Without a tape node holding them, the taps and partial results can go back to the pool at once.
  const free = !x.engine.gradEnabled || !x.requiresGrad;
  let acc: Tensor | null = null;
  for (let i = 0; i < g.kh; i++) {
    const rows = slice(x, 2, i, i + g.sh * (g.ho - 1) + 1, g.sh);
    for (let j = 0; j < g.kw; j++) {
      const tap = slice(rows, 3, j, j + g.sw * (g.wo - 1) + 1, g.sw);
      if (!acc) {
        acc = tap;
        continue;
      }
      const next = combine(acc, tap);
      if (free) {
        acc.dispose();
        tap.dispose();
      }
      acc = next;
    }
    if (free) rows.dispose();
  }
  return acc!;
}

/** Max over each kh×kw window, stepping by the stride, no padding: [N, C, H, W] → [N, C, Ho, Wo]. */
export function maxPool2d(x: Tensor, kernel: Pair, stride: Pair = kernel): Tensor {
  const g = poolGeometry('maxPool2d', x, kernel, stride);
  return foldTaps(x, g, maximum);
}

/**
 * Mean over each kh×kw window, stepping by the stride, no padding: [N, C, H, W] → [N, C, Ho, Wo].
 * The taps are summed in row-major order and the sum scaled by 1/(kh·kw), as tfjs's avgPool does.
 */
export function avgPool2d(x: Tensor, kernel: Pair, stride: Pair = kernel): Tensor {
  const g = poolGeometry('avgPool2d', x, kernel, stride);
  const sum = foldTaps(x, g, add);
  if (g.kh * g.kw === 1) return sum;
  const out = mulScalar(sum, 1 / (g.kh * g.kw));
  if (!x.engine.gradEnabled || !x.requiresGrad) sum.dispose();
  return out;
}

/** Global average pooling: [N, C, H, W] → [N, C], the mean over H·W (differentiable). */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.rank !== 4) throw new Error(`globalAvgPool: x ${fmt(x.shape)} must be [N, C, H, W]`);
  assertF32('globalAvgPool', x);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const flat = x.view([n, c, h * w]);
  const y = mean(flat, 2);
  flat.dispose();
  return y;
}
