/**
 * Every WGSL kernel, bundled as text so the same engine loads them in Bun and in the browser.
 * Add one line per shader file (the registry reports an unknown name with this hint).
 */
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

export const SHADERS: Record<string, string> = {
  fill,
  unary,
  binary,
  reduce_to_shape,
  mask,
  reduce,
  softmax,
  layernorm,
  axpy,
  conv2d,
  strided_copy,
  gather,
  random,
};
