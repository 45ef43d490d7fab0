/** The core-op benchmark cases at realistic LRDif shapes, with FLOP and minimum-byte counts. */
import { type Engine, type Tensor, matmul, conv2d, softmax, layerNorm, gelu, randomUniform } from '../src/engine/index.ts';
import type { BenchCase } from './harness.ts';

const F = 4; // bytes per f32

/** A parameter tensor of uniform noise (requires grad, so fwd+bwd can be timed). */
export function param(e: Engine, shape: number[], seed: number): Tensor {
  return randomUniform(e, shape, seed).asParameter();
}

export function matmulCase(M: number, N: number, K: number, batch = 1): BenchCase {
  const flops = 2 * batch * M * N * K;
  const bytes = F * batch * (M * K + K * N + M * N);
  return {
    name: 'matmul',
    shape: batch > 1 ? `${batch}×(${M}×${K}·${K}×${N})` : `${M}×${K}·${K}×${N}`,
    flops,
    bytes,
    flopsFwdBwd: 3 * flops,
    // backward reads dC, A, B and writes dA, dB on top of the forward
    bytesFwdBwd: bytes + F * batch * (2 * M * N + 2 * M * K + 2 * K * N),
    setup: (e) => {
      const shapeA = batch > 1 ? [batch, M, K] : [M, K];
      const shapeB = batch > 1 ? [batch, K, N] : [K, N];
      const a = param(e, shapeA, 1);
      const b = param(e, shapeB, 2);
      return { inputs: [a, b], forward: () => matmul(a, b) };
    },
  };
}

export function convCase(n: number, ci: number, co: number, hw: number, k: number, groups: number): BenchCase {
  const flops = 2 * n * co * hw * hw * (ci / groups) * k * k;
  const bytes = F * (n * ci * hw * hw + co * (ci / groups) * k * k + n * co * hw * hw);
  return {
    name: groups === ci && groups > 1 ? 'conv depthwise' : `conv ${k}×${k}`,
    shape: `[${n},${ci},${hw},${hw}]→${co}${groups > 1 ? ` g${groups}` : ''}`,
    flops,
    bytes,
    flopsFwdBwd: 3 * flops,
    bytesFwdBwd: 3 * bytes,
    setup: (e) => {
      const x = param(e, [n, ci, hw, hw], 3);
      const w = param(e, [co, ci / groups, k, k], 4);
      return { inputs: [x, w], forward: () => conv2d(x, w, undefined, { padding: Math.floor(k / 2), groups }) };
    },
  };
}

export function rowwiseCase(name: 'softmax' | 'layerNorm' | 'gelu', shape: number[]): BenchCase {
  const n = shape.reduce((p, d) => p * d, 1);
  const flopsPer = name === 'softmax' ? 5 : name === 'layerNorm' ? 8 : 20;
  return {
    name,
    shape: `[${shape.join(',')}]`,
    flops: flopsPer * n,
    bytes: 2 * F * n,
    flopsFwdBwd: 3 * flopsPer * n,
    bytesFwdBwd: 5 * F * n,
    setup: (e) => {
      const x = param(e, shape, 5);
      const C = shape[shape.length - 1]!;
      const w = name === 'layerNorm' ? param(e, [C], 6) : null;
      const fwd = name === 'softmax' ? () => softmax(x) : name === 'layerNorm' ? () => layerNorm(x, w, null) : () => gelu(x);
      return { inputs: w ? [x, w] : [x], forward: fwd };
    },
  };
}

/** Problem-size level: realistic LRDif shapes, a quicker set, or tiny shapes for the harness's own test. */
export type Size = 'full' | 'quick' | 'smoke';

export function sizeOf(quick: boolean | Size): Size {
  return quick === true ? 'quick' : quick === false ? 'full' : quick;
}

export function coreCases(quick: boolean | Size): BenchCase[] {
  const size = sizeOf(quick);
  if (size === 'smoke') {
    return [
      matmulCase(24, 20, 16),
      matmulCase(8, 8, 8, 2),
      convCase(1, 4, 4, 6, 3, 4),
      convCase(1, 4, 8, 6, 1, 1),
      rowwiseCase('softmax', [8, 16]),
      rowwiseCase('layerNorm', [8, 12]),
      rowwiseCase('gelu', [256]),
    ];
  }
  if (size === 'quick') {
    return [
      matmulCase(128, 128, 128),
      matmulCase(32, 32, 32, 8),
      convCase(1, 16, 16, 14, 3, 16),
      convCase(1, 16, 32, 14, 1, 1),
      rowwiseCase('softmax', [256, 64]),
      rowwiseCase('layerNorm', [256, 48]),
      rowwiseCase('gelu', [65536]),
    ];
  }
  return [
    matmulCase(512, 512, 512),
    matmulCase(1024, 1024, 1024),
    matmulCase(64, 64, 64, 64),
    convCase(8, 96, 96, 28, 3, 96),
    convCase(8, 96, 192, 28, 1, 1),
    rowwiseCase('softmax', [4096, 256]),
    rowwiseCase('layerNorm', [6272, 96]),
    rowwiseCase('gelu', [4 * 1024 * 1024]),
  ];
}
