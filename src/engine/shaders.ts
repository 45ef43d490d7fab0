/**
 * Every WGSL file, bundled as text so the same engine loads them in Bun and in the browser (the
 * page's bundle takes these imports as text too). A kernel shader is a file outside lib/; its
 * `// #include "lib/<name>.wgsl"` lines are resolved here when the engine first loads it
 * (src/engine/wgsl-include.ts), and "gen/<table>.wgsl" includes are the op-code constants
 * generated from src/engine/op-codes.ts. Add one import and one line per new file.
 */
import { OP_CODE_TABLES } from './op-codes.ts';
import { resolveIncludes, type ResolvedWgsl, type WgslFile } from './wgsl-include.ts';
import adam from '../../shaders/adam.wgsl' with { type: 'text' };
import attention from '../../shaders/attention.wgsl' with { type: 'text' };
import axpy from '../../shaders/axpy.wgsl' with { type: 'text' };
import binary from '../../shaders/binary.wgsl' with { type: 'text' };
import channel_attention from '../../shaders/channel_attention.wgsl' with { type: 'text' };
import conv2d from '../../shaders/conv2d.wgsl' with { type: 'text' };
import conv2d_depthwise from '../../shaders/conv2d_depthwise.wgsl' with { type: 'text' };
import fill from '../../shaders/fill.wgsl' with { type: 'text' };
import gated_dwconv from '../../shaders/gated_dwconv.wgsl' with { type: 'text' };
import gather from '../../shaders/gather.wgsl' with { type: 'text' };
import heatmap from '../../shaders/heatmap.wgsl' with { type: 'text' };
import layernorm from '../../shaders/layernorm.wgsl' with { type: 'text' };
import mask from '../../shaders/mask.wgsl' with { type: 'text' };
import matmul from '../../shaders/matmul.wgsl' with { type: 'text' };
import modulated_layernorm from '../../shaders/modulated_layernorm.wgsl' with { type: 'text' };
import random from '../../shaders/random.wgsl' with { type: 'text' };
import reduce from '../../shaders/reduce.wgsl' with { type: 'text' };
import reduce_to_shape from '../../shaders/reduce_to_shape.wgsl' with { type: 'text' };
import softmax from '../../shaders/softmax.wgsl' with { type: 'text' };
import strided_copy from '../../shaders/strided_copy.wgsl' with { type: 'text' };
import unary from '../../shaders/unary.wgsl' with { type: 'text' };
import losses_accuracy from '../../shaders/losses/accuracy.wgsl' with { type: 'text' };
import losses_cross_entropy from '../../shaders/losses/cross_entropy.wgsl' with { type: 'text' };
import losses_kl_divergence from '../../shaders/losses/kl_divergence.wgsl' with { type: 'text' };
import losses_l1 from '../../shaders/losses/l1.wgsl' with { type: 'text' };
import losses_sum_partials from '../../shaders/losses/sum_partials.wgsl' with { type: 'text' };
import lib_channel_base from '../../shaders/lib/channel_base.wgsl' with { type: 'text' };
import lib_conv2d_common from '../../shaders/lib/conv2d_common.wgsl' with { type: 'text' };
import lib_hsum from '../../shaders/lib/hsum.wgsl' with { type: 'text' };
import lib_neg_big from '../../shaders/lib/neg_big.wgsl' with { type: 'text' };
import lib_normal_cdf from '../../shaders/lib/normal_cdf.wgsl' with { type: 'text' };
import lib_plane_sums from '../../shaders/lib/plane_sums.wgsl' with { type: 'text' };
import lib_row_reduce from '../../shaders/lib/row_reduce.wgsl' with { type: 'text' };
import lib_strided_index from '../../shaders/lib/strided_index.wgsl' with { type: 'text' };
import lib_workgroup_sum from '../../shaders/lib/workgroup_sum.wgsl' with { type: 'text' };

/** Files under shaders/ by path. */
const SHADER_FILES: Record<string, string> = {
  'adam.wgsl': adam,
  'attention.wgsl': attention,
  'axpy.wgsl': axpy,
  'binary.wgsl': binary,
  'channel_attention.wgsl': channel_attention,
  'conv2d.wgsl': conv2d,
  'conv2d_depthwise.wgsl': conv2d_depthwise,
  'fill.wgsl': fill,
  'gated_dwconv.wgsl': gated_dwconv,
  'gather.wgsl': gather,
  'heatmap.wgsl': heatmap,
  'layernorm.wgsl': layernorm,
  'mask.wgsl': mask,
  'matmul.wgsl': matmul,
  'modulated_layernorm.wgsl': modulated_layernorm,
  'random.wgsl': random,
  'reduce.wgsl': reduce,
  'reduce_to_shape.wgsl': reduce_to_shape,
  'softmax.wgsl': softmax,
  'strided_copy.wgsl': strided_copy,
  'unary.wgsl': unary,
  'losses/accuracy.wgsl': losses_accuracy,
  'losses/cross_entropy.wgsl': losses_cross_entropy,
  'losses/kl_divergence.wgsl': losses_kl_divergence,
  'losses/l1.wgsl': losses_l1,
  'losses/sum_partials.wgsl': losses_sum_partials,
  'lib/channel_base.wgsl': lib_channel_base,
  'lib/conv2d_common.wgsl': lib_conv2d_common,
  'lib/hsum.wgsl': lib_hsum,
  'lib/neg_big.wgsl': lib_neg_big,
  'lib/normal_cdf.wgsl': lib_normal_cdf,
  'lib/plane_sums.wgsl': lib_plane_sums,
  'lib/row_reduce.wgsl': lib_row_reduce,
  'lib/strided_index.wgsl': lib_strided_index,
  'lib/workgroup_sum.wgsl': lib_workgroup_sum,
};

/** `leakyRelu` → `LEAKY_RELU`. */
function constantName(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The WGSL of one op-code table: a `const <prefix><NAME>: u32 = <code>u;` line per entry. */
export function opCodeWgsl(table: Readonly<Record<string, number>>, prefix: string, origin: string): string {
  const consts = Object.entries(table).map(([key, code]) => `const ${prefix}${constantName(key)}: u32 = ${code}u;`);
  return [`// Generated from ${origin} in src/engine/op-codes.ts: edit the table there.`, ...consts].join('\n');
}

const GENERATED: Record<string, WgslFile> = Object.fromEntries(
  Object.entries(OP_CODE_TABLES).map(([path, t]) => [path, { text: opCodeWgsl(t.table, t.prefix, t.name), path: `${path} (generated from src/engine/op-codes.ts)` }]),
);

/** A file an include (or a kernel name + ".wgsl") may name: under shaders/, or generated. */
export function shaderFile(path: string): WgslFile | undefined {
  const text = SHADER_FILES[path];
  if (text !== undefined) return { text, path: `shaders/${path}` };
  return GENERATED[path];
}

/** Every bundled file's path under shaders/. */
export const SHADER_PATHS: readonly string[] = Object.keys(SHADER_FILES);

/** Kernel shaders by name: "softmax", "losses/l1" (every file but the included lib/ files). */
export const SHADER_NAMES: readonly string[] = SHADER_PATHS
  .filter((p) => !p.startsWith('lib/'))
  .map((p) => p.slice(0, -'.wgsl'.length));

/** The resolved source of every bundled kernel shader by name (resolved at load: a broken include fails here). */
export const SHADERS: Readonly<Record<string, string>> = Object.fromEntries(SHADER_NAMES.map((name) => [name, resolveShader(name).code]));

/**
 * Kernel shader `name` with its includes resolved, and its line map. `extra` supplies files from
 * outside shaders/ (kernels registered at run time); they may include lib/ files too.
 */
export function resolveShader(name: string, extra?: (path: string) => WgslFile | undefined): ResolvedWgsl {
  return resolveIncludes(`${name}.wgsl`, (path) => extra?.(path) ?? shaderFile(path));
}
