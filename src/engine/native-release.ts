/**
 * Explicit release of WebGPU objects the engine is done with. bun-webgpu (0.1.7) has no
 * finalizers: a bind group, compute pass or command buffer that JS drops keeps its native memory
 * for the life of the process (~0.3–1.5 KB each; a long training run makes millions). Its objects
 * carry their FFI library and native pointer, through which the matching wgpu*Release is called.
 * Browsers free these objects when they are collected; there the calls do nothing.
 */
type NativeHandle = { lib?: Record<string, unknown>; ptr?: unknown };

function release(obj: object, symbol: string): void {
  const h = obj as NativeHandle;
  const fn = h.lib?.[symbol];
  if (typeof fn === 'function' && h.ptr) fn.call(h.lib, h.ptr);
}

/** Call once the group is out of the cache; passes that set it hold their own reference. */
export function releaseBindGroup(g: GPUBindGroup): void {
  release(g, 'wgpuBindGroupRelease');
}

/** Call after end(). */
export function releaseComputePass(p: GPUComputePassEncoder): void {
  release(p, 'wgpuComputePassEncoderRelease');
}

/** Call after queue.submit(). */
export function releaseCommandBuffer(c: GPUCommandBuffer): void {
  release(c, 'wgpuCommandBufferRelease');
}
