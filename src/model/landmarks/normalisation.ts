/** How the model's input images are normalised (the frozen face-api networks undo it before running). */
export interface InputNormalisation {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** ImageNet statistics, as src/train/batch.ts applies them to every model input. */
export const IMAGENET_NORMALISATION: InputNormalisation = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
