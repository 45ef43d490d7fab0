export { Engine, type EngineOptions, type DispatchSpec } from './engine.ts';
export { Tensor, type DType } from './tensor.ts';
export { backward, zeroGrad } from './autograd.ts';
export { getDevice, createDevice, type DeviceInfo, type AdapterChoice } from './device.ts';
export * from './ops/index.ts';
