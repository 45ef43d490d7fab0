/**
 * Models in Bun: face-api's frozen networks read from node_modules (one set per engine) and
 * attached to every model whose config reads frozen features; checkpoints loaded into such models.
 * The page builds its models with the networks it fetches (web/session.ts).
 */
import { join } from 'node:path';
import type { Engine } from '../engine/index.ts';
import { usesFrozenFeatures, type LrdifConfig } from '../model/config.ts';
import { LrdifModel, type Stage } from '../model/lrdif.ts';
import { loadIntoModel, readCheckpoint } from '../model/checkpoint.ts';
import { FaceApiFeatureExtractor } from '../model/landmarks/frozen-extractor.ts';
import { faceApiModelDir, loadFaceLandmarkNet, loadFaceRecognitionNet, tfjsWeightsHash } from '../model/landmarks/face-api-files.ts';
import { FACE_LANDMARK_MANIFEST } from '../model/landmarks/face-landmark-net.ts';
import { FACE_RECOGNITION_MANIFEST } from '../model/landmarks/face-recognition-net.ts';
import { stageConfig, type ModelFactory, type StageSpec } from './pipeline.ts';

/** One set of frozen face-api networks per engine (weights from node_modules), shared by every model. */
const extractors = new WeakMap<Engine, FaceApiFeatureExtractor>();
export function faceApiExtractor(e: Engine): FaceApiFeatureExtractor {
  let x = extractors.get(e);
  if (!x) {
    const dir = faceApiModelDir();
    const id = [FACE_RECOGNITION_MANIFEST, FACE_LANDMARK_MANIFEST].map((m) => tfjsWeightsHash(join(dir, m)).slice(0, 16)).join('-');
    extractors.set(e, (x = new FaceApiFeatureExtractor(e, loadFaceRecognitionNet(e), loadFaceLandmarkNet(e), id)));
  }
  return x;
}

/** A model for a config, with the frozen pretrained networks attached when the config uses them. */
export function newModel(e: Engine, cfg: LrdifConfig, stage: Stage, seed: number): LrdifModel {
  return new LrdifModel(e, cfg, stage, seed, usesFrozenFeatures(cfg) ? { extractor: faceApiExtractor(e) } : {});
}
newModel satisfies ModelFactory;

/** The model a stage spec describes, before training (e.g. for probes of its frozen features). */
export function buildModel(e: Engine, spec: Pick<StageSpec, 'preset' | 'config' | 'stage' | 'train' | 'seed'>): LrdifModel {
  return newModel(e, stageConfig(spec), spec.stage, spec.seed ?? 0);
}

/** Loads a checkpoint into a fresh model of its own config (strict: see readCheckpoint and loadIntoModel). */
export function loadModel(e: Engine, bytes: Uint8Array, name: string): LrdifModel {
  const ck = readCheckpoint(bytes, name);
  const model = newModel(e, ck.config, ck.stage === 2 ? 2 : 1, 0);
  try {
    loadIntoModel(model, ck.file, name);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
