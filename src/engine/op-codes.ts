/**
 * Op codes that select a kernel's operation through its OP / MODE override constant. These tables
 * are the one source: src/engine/shaders.ts generates a `const OP_<NAME>: u32` block from each,
 * which the shader includes as "gen/<table>.wgsl", so TypeScript and WGSL cannot drift apart.
 */

/** shaders/unary.wgsl (y = f(x); affine and leakyRelu take parameters a, b). */
export const UNARY_OPS = {
  affine: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, tanh: 5, sigmoid: 6, gelu: 7, relu: 8, leakyRelu: 9, square: 10, recip: 11, abs: 12,
} as const;

/** shaders/binary.wgsl (out = a OP b with broadcasting). */
export const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 } as const;

/** shaders/reduce.wgsl (max also writes its argmax). */
export const REDUCE_OPS = { sum: 0, max: 1 } as const;

/** shaders/random.wgsl: raw Philox words, uniform in [0, 1), normal by Box–Muller. */
export const RANDOM_MODES = { bits: 0, uniform: 1, normal: 2 } as const;

/** Each table as its generated WGSL file and the prefix of its constants. */
export const OP_CODE_TABLES = {
  'gen/unary_ops.wgsl': { table: UNARY_OPS, name: 'UNARY_OPS', prefix: 'OP_' },
  'gen/binary_ops.wgsl': { table: BINARY_OPS, name: 'BINARY_OPS', prefix: 'OP_' },
  'gen/reduce_ops.wgsl': { table: REDUCE_OPS, name: 'REDUCE_OPS', prefix: 'OP_' },
  'gen/random_modes.wgsl': { table: RANDOM_MODES, name: 'RANDOM_MODES', prefix: 'MODE_' },
} as const;
