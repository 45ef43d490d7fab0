/**
 * The engine's public API: every layer above the engine (src/model, src/train, src/cli, web/,
 * bench/, scripts/) imports the engine from here and only from here (test/layering.test.ts checks
 * it). The modules behind it are the engine's own business; tests of the engine may reach them.
 */
export { Engine, type EngineOptions, type DispatchSpec } from './engine.ts';
export { Tensor, type DType } from './tensor.ts';
export { backward, zeroGrad } from './autograd.ts';
export { getDevice, createDevice, type DeviceInfo, type AdapterChoice } from './device.ts';
export * from './ops/index.ts';
/** Shapes in messages, as the ops print them: [2, 3, 4]. */
export { fmt } from './ops/shape-util.ts';
export {
  enableAutotune, autotuneEnabled, recordShapes, tuneAll, withVariants, saveTunings, loadTunings, shareTuning, memoryTuningStore, pageTuningStore,
  type TuningStore, type TuningsJson, type TunableRecord, type Decision, type TuneClock, type TuneOptions, type TuneReport,
} from './tuning.ts';
export { medianMs, timesMs, costClock, type CostClock } from './timing.ts';
