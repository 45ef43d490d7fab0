/** Every engine op, by module. Each module holds one op family: shape checks, dispatch, backward. */
export * from './elementwise.ts';
export * from './reduce.ts';
export * from './axpy.ts';
export * from './softmax.ts';
export * from './layernorm.ts';
export * from './conv2d.ts';
export * from './layout.ts';
export * from './gather.ts';
export * from './random.ts';
export * from './matmul.ts';
export * from './heatmap.ts';
export * from './gated-dwconv.ts';
export * from './modulated-layernorm.ts';
export * from './attention.ts';
export * from './adam.ts';
export * from './losses.ts';
export * from './channel-attention.ts';
