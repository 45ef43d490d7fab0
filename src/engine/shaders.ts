/**
 * Every WGSL kernel, bundled as text so the same engine loads them in Bun and in the browser.
 * Add one line per shader file (the registry reports an unknown name with this hint).
 */
import heatmap from '../../shaders/heatmap.wgsl' with { type: 'text' };
import fill from '../../shaders/fill.wgsl' with { type: 'text' };
import unary from '../../shaders/unary.wgsl' with { type: 'text' };
import binary from '../../shaders/binary.wgsl' with { type: 'text' };
import reduce_to_shape from '../../shaders/reduce_to_shape.wgsl' with { type: 'text' };
import mask from '../../shaders/mask.wgsl' with { type: 'text' };
import axpy from '../../shaders/axpy.wgsl' with { type: 'text' };
import reduce from '../../shaders/reduce.wgsl' with { type: 'text' };
import softmax from '../../shaders/softmax.wgsl' with { type: 'text' };
import layernorm from '../../shaders/layernorm.wgsl' with { type: 'text' };
import conv2d from '../../shaders/conv2d.wgsl' with { type: 'text' };
import strided_copy from '../../shaders/strided_copy.wgsl' with { type: 'text' };
import gather from '../../shaders/gather.wgsl' with { type: 'text' };
import random from '../../shaders/random.wgsl' with { type: 'text' };
import matmul from '../../shaders/matmul.wgsl' with { type: 'text' };
import gated_dwconv from '../../shaders/gated_dwconv.wgsl' with { type: 'text' };
import modulated_layernorm from '../../shaders/modulated_layernorm.wgsl' with { type: 'text' };
import attention from '../../shaders/attention.wgsl' with { type: 'text' };
import adam from '../../shaders/adam.wgsl' with { type: 'text' };
import losses from '../../shaders/losses.wgsl' with { type: 'text' };
import channel_attention from '../../shaders/channel_attention.wgsl' with { type: 'text' };
import udc from '../../shaders/udc.wgsl' with { type: 'text' };
import strided_index from '../../shaders/strided_index.wgsl' with { type: 'text' };

export const SHADERS: Record<string, string> = {
  fill,
  heatmap,
  unary,
  binary: strided_index + binary,
  reduce_to_shape: strided_index + reduce_to_shape,
  mask,
  reduce,
  softmax,
  layernorm,
  axpy,
  conv2d,
  strided_copy: strided_index + strided_copy,
  gather,
  random,
  matmul,
  gated_dwconv,
  modulated_layernorm,
  attention,
  adam,
  losses,
  channel_attention,
  udc,
};
