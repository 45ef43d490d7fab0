/**
 * Batch assembly: host samples → GPU tensors, then the GPU preprocessing (horizontal flip, UDC
 * degradation, ImageNet normalisation, random-erasing mask). Everything random derives from (seed, epoch,
 * position), so a run is reproducible and resumable.
 */
import { type Engine, type Tensor, add, div, mul, sub, flip } from '../engine/index.ts';
import { Rng } from '../model/init.ts';
import { degradeUdc, type UdcPanel } from './data/udc.ts';
import type { Dataset } from './data/dataset.ts';
import { flipLandmarks } from './data/landmarks68.ts';
import { IMAGENET_NORMALISATION } from '../model/landmarks/normalisation.ts';

export const IMAGENET_MEAN = IMAGENET_NORMALISATION.mean;
export const IMAGENET_STD = IMAGENET_NORMALISATION.std;

export interface Augment {
  flip: boolean;
  /** Random erasing (POSTER++: p 0.5, scale 0.02–0.1), applied after normalisation (erased = 0). */
  erase: boolean;
}

export interface UdcSetting {
  panel: UdcPanel;
  strength: number;
}

export interface GpuBatch {
  image: Tensor;
  landmarks: Tensor | null;
  labels: Tensor;
  /** Host copy of the labels (for metrics). */
  hostLabels: number[];
}

export class BatchMaker {
  private mean: Tensor;
  private std: Tensor;
  constructor(private readonly e: Engine, readonly size: number) {
    this.mean = e.tensor(IMAGENET_MEAN, [1, 3, 1, 1]).keep();
    this.std = e.tensor(IMAGENET_STD, [1, 3, 1, 1]).keep();
  }

  /**
   * Builds a batch of `indices` from `ds`. `rng` drives flips and erasing; `udcSeed` the degradation
   * noise. Runs without gradients; returns tensors in the caller's scope.
   */
  make(ds: Dataset, indices: readonly number[], aug: Augment, rng: Rng, udc: UdcSetting | null, udcSeed: number): GpuBatch {
    const S = this.size;
    const B = indices.length;
    const flipped = new Float32Array(B);
    const erase = aug.erase ? new Float32Array(B * S * S).fill(1) : null;
    // The draws happen in this order per sample (flip, then erase) so runs stay reproducible.
    for (let i = 0; i < B; i++) {
      if (aug.flip && rng.next() < 0.5) flipped[i] = 1;
      if (erase && rng.next() < 0.5) eraseBox(erase.subarray(i * S * S, (i + 1) * S * S), S, rng);
    }
    return this.assemble(ds, indices, flipped, udc, udcSeed, erase);
  }

  /**
   * The batch of `indices` with the given per-sample flips (1 = mirrored), UDC degradation and an
   * optional erasing mask [B·S·S] (1 = keep). Runs without gradients; tensors land in the caller's scope.
   */
  assemble(ds: Dataset, indices: readonly number[], flipped: Float32Array, udc: UdcSetting | null, udcSeed: number, erase: Float32Array | null = null): GpuBatch {
    const e = this.e;
    const S = this.size;
    if (ds.imageSize !== S) throw new Error(`${ds.name}: images are ${ds.imageSize}×${ds.imageSize}, the model expects ${S}×${S}`);
    const B = indices.length;
    const images = new Float32Array(B * 3 * S * S);
    let landmarks: Float32Array | null = new Float32Array(B * 136);
    const labels: number[] = [];
    for (let i = 0; i < B; i++) {
      const s = ds.get(indices[i]!);
      // Horizontal flips happen on the GPU (below); the landmarks are mirrored here (68 points).
      const lm = s.landmarks && flipped[i] === 1 ? flipLandmarks(s.landmarks) : s.landmarks;
      images.set(s.image, i * 3 * S * S);
      if (lm && landmarks) landmarks.set(lm, i * 136);
      else landmarks = null;
      if (s.label < 0 || s.label >= ds.numClasses) throw new Error(`${ds.name}: sample ${indices[i]} has label ${s.label}, expected 0..${ds.numClasses - 1}`);
      labels.push(s.label);
    }
    return e.noGrad(() => {
      let image = e.tensor(images, [B, 3, S, S]);
      if (flipped.some((f) => f === 1)) {
        // image·(1 − m) + flip(image)·m with m ∈ {0, 1} per sample: exact (no rounding) either way.
        const m = e.tensor(flipped, [B, 1, 1, 1]);
        const keep = e.tensor(flipped.map((f) => 1 - f), [B, 1, 1, 1]);
        image = add(mul(image, keep), mul(flip(image, 3), m));
      }
      if (udc && udc.strength > 0) image = degradeUdc(e, image, { panel: udc.panel, strength: udc.strength, seed: udcSeed });
      image = div(sub(image, this.mean), this.std);
      if (erase) image = mul(image, e.tensor(erase, [B, 1, S, S]));
      return {
        image,
        landmarks: landmarks ? e.tensor(landmarks, [B, 68, 2]) : null,
        labels: e.tensor(labels, [B], 'u32'),
        hostLabels: labels,
      };
    });
  }

  dispose(): void {
    this.mean.dispose();
    this.std.dispose();
  }
}

/** torchvision RandomErasing geometry: area 2–10 % of the image, aspect ratio in [0.3, 3.3] (log-uniform). */
function eraseBox(mask: Float32Array, S: number, rng: Rng): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    const area = S * S * (0.02 + 0.08 * rng.next());
    const logR = Math.log(0.3) + (Math.log(3.3) - Math.log(0.3)) * rng.next();
    const r = Math.exp(logR);
    const h = Math.round(Math.sqrt(area * r));
    const w = Math.round(Math.sqrt(area / r));
    if (h >= S || w >= S || h < 1 || w < 1) continue;
    const y0 = Math.floor(rng.next() * (S - h + 1));
    const x0 = Math.floor(rng.next() * (S - w + 1));
    for (let y = y0; y < y0 + h; y++) mask.fill(0, y * S + x0, y * S + x0 + w);
    return;
  }
}
