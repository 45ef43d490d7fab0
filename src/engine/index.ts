export { Engine, type EngineOptions, type DispatchSpec } from './engine.ts';
export { Tensor, type DType } from './tensor.ts';
export { backward, zeroGrad } from './autograd.ts';
export { getDevice, createDevice, type DeviceInfo, type AdapterChoice } from './device.ts';
export * from './ops/index.ts';
export {
  enableAutotune, autotuneEnabled, recordShapes, tuneAll, withVariants, saveTunings, loadTunings, shareTuning, memoryTuningStore, pageTuningStore,
  type TuningStore, type TuningsJson, type TunableRecord, type Decision, type TuneClock, type TuneOptions, type TuneReport,
} from './tuning.ts';
export { medianMs, costClock, type CostClock } from './timing.ts';
