/**
 * A run's resumable checkpoint as one file: the weights, each optimiser's moments and step counts,
 * the epoch, global step, best accuracy and history, and what fixes the data order (seed, batch size,
 * number of training images). The trainer writes it last and atomically, after the epoch's other
 * outputs, so a resume never mixes the weights of one epoch with the optimiser state of another.
 * Store-agnostic (bytes in, bytes out): it serves the CLI and the browser alike.
 */
import type { AdamState } from '../engine/index.ts';
import { decodeSafetensors, encodeSafetensors, type StFile, type StTensor } from '../model/safetensors.ts';
import type { RunStore } from './store.ts';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** The final (user-facing) weights: what `eval` and `predict` read, written from the checkpoint's snapshot. */
export const MODEL_FILE = 'model.safetensors';
/** Optimiser state as earlier versions wrote it, apart from the weights (resumable only when both name the same epoch). */
export const LEGACY_STATE_FILE = 'state.safetensors';

const WEIGHT_PREFIX = 'model/';

/** What fixes the order of the training data in every epoch (Trainer.order). */
export interface DataOrder {
  seed: number;
  batchSize: number;
  trainImages: number;
}

export interface RunCheckpoint {
  /** The model's tensors and checkpoint metadata (config, stage …), as `model.safetensors` holds them. */
  weights: StFile;
  /** Optimiser name ('opt', 'prior_opt') → its state. */
  optimisers: Map<string, AdamState>;
  epoch: number;
  globalStep: number;
  bestAccuracy: number;
  /** JSON of the trainer's EpochLog[]. */
  history: string;
  /** JSON of the run's TrainOptions. */
  options: string;
  /** Absent in checkpoints of earlier versions. */
  dataOrder: DataOrder | null;
}

export function encodeRunCheckpoint(ck: RunCheckpoint): Uint8Array {
  const tensors = new Map<string, StTensor>();
  for (const [name, t] of ck.weights.tensors) tensors.set(`${WEIGHT_PREFIX}${name}`, t);
  const meta: Record<string, string> = { model_metadata: JSON.stringify(ck.weights.metadata) };
  for (const [name, s] of ck.optimisers) {
    s.m.forEach((d, i) => tensors.set(`${name}.m.${i}`, { dtype: 'F32', shape: [d.length], data: d }));
    s.v.forEach((d, i) => tensors.set(`${name}.v.${i}`, { dtype: 'F32', shape: [d.length], data: d }));
    meta[`${name}.step`] = String(s.step);
    meta[`${name}.steps`] = JSON.stringify(s.steps);
  }
  return encodeSafetensors(tensors, {
    ...meta,
    run_checkpoint: '1',
    epoch: String(ck.epoch),
    global_step: String(ck.globalStep),
    best_accuracy: String(ck.bestAccuracy),
    history: ck.history,
    options: ck.options,
    ...(ck.dataOrder ? { data_order: JSON.stringify(ck.dataOrder) } : {}),
  });
}

function intField(meta: Record<string, string>, key: string, what: string): number {
  const v = Number(meta[key]);
  if (meta[key] === undefined || !Number.isInteger(v) || v < 0) throw new Error(`${what}: metadata ${key} is ${meta[key] === undefined ? 'missing' : `"${meta[key]}"`}, expected a non-negative integer`);
  return v;
}

/** Every optimiser's state from tensors `<name>.m.<i>`, `<name>.v.<i>` and metadata `<name>.step(s)`. */
function optimisersOf(file: StFile, what: string): Map<string, AdamState> {
  const out = new Map<string, AdamState>();
  for (const name of ['opt', 'prior_opt']) {
    const stepsText = file.metadata[`${name}.steps`];
    if (stepsText === undefined) continue;
    const steps = JSON.parse(stepsText) as number[];
    const moment = (kind: 'm' | 'v', i: number) => {
      const t = file.tensors.get(`${name}.${kind}.${i}`);
      if (!t || t.dtype !== 'F32') throw new Error(`${what}: ${t ? `tensor ${name}.${kind}.${i} is ${t.dtype}, expected F32` : `missing tensor ${name}.${kind}.${i}`} (optimiser moments of parameter ${i})`);
      return t.data as Float32Array;
    };
    out.set(name, {
      step: intField(file.metadata, `${name}.step`, what),
      steps,
      m: steps.map((_, i) => moment('m', i)),
      v: steps.map((_, i) => moment('v', i)),
    });
  }
  return out;
}

function dataOrderOf(meta: Record<string, string>, what: string): DataOrder | null {
  if (meta.data_order === undefined) return null;
  const d = JSON.parse(meta.data_order) as DataOrder;
  if (![d.seed, d.batchSize, d.trainImages].every(Number.isInteger)) throw new Error(`${what}: metadata data_order ${meta.data_order} is not {seed, batchSize, trainImages}`);
  return d;
}

export function decodeRunCheckpoint(bytes: Uint8Array, what: string): RunCheckpoint {
  const file = decodeSafetensors(bytes, what);
  if (file.metadata.run_checkpoint !== '1') throw new Error(`${what}: not a run checkpoint (metadata run_checkpoint is ${file.metadata.run_checkpoint ?? 'missing'}, expected "1")`);
  const weights = new Map<string, StTensor>();
  for (const [name, t] of file.tensors) if (name.startsWith(WEIGHT_PREFIX)) weights.set(name.slice(WEIGHT_PREFIX.length), t);
  if (weights.size === 0) throw new Error(`${what}: holds no model weights (no tensor named ${WEIGHT_PREFIX}…)`);
  let metadata: Record<string, string>;
  try {
    metadata = JSON.parse(file.metadata.model_metadata ?? '') as Record<string, string>;
  } catch {
    throw new Error(`${what}: metadata model_metadata is ${file.metadata.model_metadata === undefined ? 'missing' : 'not JSON'} (the weights' config and stage)`);
  }
  return fromParts({ tensors: weights, metadata }, file, what);
}

function fromParts(weights: StFile, state: StFile, what: string): RunCheckpoint {
  return {
    weights,
    optimisers: optimisersOf(state, what),
    epoch: intField(state.metadata, 'epoch', what),
    globalStep: intField(state.metadata, 'global_step', what),
    bestAccuracy: parseFloat(state.metadata.best_accuracy ?? '-1'),
    history: state.metadata.history ?? '[]',
    options: state.metadata.options ?? '{}',
    dataOrder: dataOrderOf(state.metadata, what),
  };
}

/**
 * The store's checkpoint, or null when it holds none. Runs of earlier versions kept the weights
 * (model.safetensors) and the optimiser state (state.safetensors) apart; such a pair is used only
 * when both name the same epoch, since a kill between the two writes left them from different epochs.
 */
export async function readRunCheckpoint(store: RunStore): Promise<RunCheckpoint | null> {
  const bytes = await store.read(CHECKPOINT_FILE);
  if (bytes) return decodeRunCheckpoint(bytes, store.where(CHECKPOINT_FILE));
  const [w, st] = [await store.read(MODEL_FILE), await store.read(LEGACY_STATE_FILE)];
  if (!w || !st) return null;
  const weights = decodeSafetensors(w, store.where(MODEL_FILE));
  const state = decodeSafetensors(st, store.where(LEGACY_STATE_FILE));
  const ck = fromParts(weights, state, store.where(LEGACY_STATE_FILE));
  if (weights.metadata.epoch !== String(ck.epoch)) {
    throw new Error(
      `${store.where(LEGACY_STATE_FILE)} is the optimiser state after epoch ${ck.epoch} but ${store.where(MODEL_FILE)} holds the weights after epoch ${weights.metadata.epoch ?? '(unknown)'}: ` +
        'the run was stopped between the two writes, so they cannot be resumed together; start the run afresh with --force',
    );
  }
  return ck;
}
