/**
 * Views of a dataset with the frozen networks' features computed once. A view is one image as the
 * model sees it: UDC-degraded with a fixed draw (K draws per training image, seeded), optionally
 * mirrored, normalised. Because the pretrained networks are frozen, their outputs for a view never
 * change, so they are computed once and every epoch only gathers rows: a training step touches only
 * the trainable parts. Pixel augmentations that would change a view after extraction (random
 * erasing) are therefore not applied on this path.
 */
import type { Engine, Tensor } from '../engine/index.ts';
import type { LrdifModel } from '../model/lrdif.ts';
import type { FrozenFeatures } from '../model/frozen-features.ts';
import type { Dataset } from './data/dataset.ts';
import type { BatchMaker, GpuBatch, UdcSetting } from './batch.ts';
import { decodeSafetensors, encodeSafetensors, type StTensor } from '../model/safetensors.ts';

/**
 * Where built views persist between processes (the CLI's is a folder on disk, see
 * feature-cache-fs.ts). `key` identifies the dataset's pixels, the settings and the networks' weights.
 */
export interface ViewPersistence {
  load(key: string): Promise<Uint8Array | null>;
  save(key: string, bytes: Uint8Array): Promise<void>;
  /** Where a key lives, for messages. */
  describe(key: string): string;
}

/** FNV-1a over 32-bit words, two lanes (64 bits): identifies a dataset's pixels and labels. */
function datasetFingerprint(ds: Dataset): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  const mix = (w: number) => {
    a = Math.imul(a ^ w, 0x01000193) >>> 0;
    b = Math.imul(b ^ w ^ (a >>> 7), 0x85ebca6b) >>> 0;
  };
  mix(ds.length);
  mix(ds.imageSize);
  for (let i = 0; i < ds.length; i++) {
    const s = ds.get(i);
    mix(s.label);
    const words = new Uint32Array(s.image.buffer, s.image.byteOffset, s.image.length);
    for (let k = 0; k < words.length; k++) mix(words[k]!);
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

/** The frozen parts, flattened in a fixed order (image maps, landmark maps, embedding). */
export const PART_NAMES = ['image.0', 'image.1', 'image.2', 'landmark.0', 'landmark.1', 'landmark.2', 'embedding'] as const;
export type PartName = (typeof PART_NAMES)[number];

function partsOf(f: FrozenFeatures): [PartName, Tensor][] {
  const out: [PartName, Tensor][] = [];
  f.image?.forEach((t, l) => out.push([`image.${l}` as PartName, t]));
  f.landmark?.forEach((t, l) => out.push([`landmark.${l}` as PartName, t]));
  if (f.embedding) out.push(['embedding', f.embedding]);
  return out;
}

export interface ViewOptions {
  /** UDC draws per image (each a fixed, seeded degradation). */
  draws: number;
  /** Also keep each draw's mirror image as a view. */
  flips: boolean;
  udc: UdcSetting | null;
  seed: number;
  /** Images per extraction batch. */
  batch: number;
  /** Keep the dataset's landmarks (only the oracle heatmap stem reads them). */
  landmarks: boolean;
  onProgress?: (done: number, total: number) => void;
}

/** A short hex digest of a string (FNV-1a, two lanes). */
function fnvHex(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193) >>> 0;
    b = Math.imul(b ^ text.charCodeAt(i) ^ (a >>> 11), 0x85ebca6b) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

function hash(...xs: number[]): number {
  let h = 0x9e3779b9;
  for (const x of xs) h = Math.imul(h ^ (x >>> 0), 0x85ebca6b) ^ (h >>> 15);
  return h >>> 0;
}

/** Views already built in this process, per dataset and settings: every model of one config and seed (the ablation's variants) shares them. */
const built = new WeakMap<Dataset, Map<string, Promise<FeatureViews>>>();

export class FeatureViews {
  private constructor(
    readonly dataset: Dataset,
    readonly options: ViewOptions,
    readonly size: number,
    /** Views per image: draws × (flips ? 2 : 1); view v of image i is row i·perImage + v. */
    readonly perImage: number,
    private readonly images: Float32Array,
    private readonly landmarks: Float32Array | null,
    private readonly labels: Int32Array,
    private readonly parts: Map<PartName, { shape: number[]; data: Float32Array }>,
  ) {}

  get rows(): number {
    return this.labels.length;
  }

  /** The rows' images as RGB in [0, 1] (the views are stored normalised with `mean` / `std`). */
  rgbImages(rows: readonly number[], mean: readonly number[], std: readonly number[]): Float32Array {
    const plane = this.size * this.size;
    const out = new Float32Array(rows.length * 3 * plane);
    rows.forEach((r, i) => {
      for (let c = 0; c < 3; c++) {
        const src = this.images.subarray((r * 3 + c) * plane, (r * 3 + c + 1) * plane);
        const dst = (i * 3 + c) * plane;
        for (let k = 0; k < plane; k++) out[dst + k] = src[k]! * std[c]! + mean[c]!;
      }
    });
    return out;
  }

  /** Labels per row. */
  get rowLabels(): Int32Array {
    return this.labels;
  }

  /** One frozen part for every row: [rows, ...shape] flattened, or null when the model does not use it. */
  part(name: PartName): { shape: number[]; data: Float32Array } | null {
    return this.parts.get(name) ?? null;
  }

  /** Bytes held on the host. */
  get bytes(): number {
    let n = this.images.byteLength + this.labels.byteLength + (this.landmarks?.byteLength ?? 0);
    for (const p of this.parts.values()) n += p.data.byteLength;
    return n;
  }

  /**
   * The views of `ds` for these settings: built once per process and shared; with `persist`, also
   * read from (and written to) a store that outlives the process. A damaged stored copy is rebuilt.
   */
  static shared(e: Engine, model: LrdifModel, batches: BatchMaker, ds: Dataset, o: ViewOptions, persist: ViewPersistence | null = null, log?: (line: string) => void): Promise<FeatureViews> {
    let perDs = built.get(ds);
    if (!perDs) built.set(ds, (perDs = new Map()));
    const { onProgress: _, ...settings } = o;
    const key = JSON.stringify({ ...settings, size: batches.size, needs: model.frozenNeeds });
    let v = perDs.get(key);
    if (!v) {
      v = (async () => {
        const id = persist ? `${ds.name}-${fnvHex(`${key}|${model.extractor?.id ?? 'none'}|${datasetFingerprint(ds)}`)}` : '';
        const stored = persist ? await persist.load(id) : null;
        if (stored) {
          try {
            const views = FeatureViews.decode(ds, o, stored, persist!.describe(id));
            o.onProgress?.(ds.length, ds.length);
            log?.(`frozen features of ${ds.name}: ${views.rows} views read from ${persist!.describe(id)}`);
            return views;
          } catch (err) {
            log?.(`frozen features of ${ds.name}: ${(err as Error).message}; rebuilding`);
          }
        }
        const t0 = performance.now();
        const views = await FeatureViews.build(e, model, batches, ds, o);
        log?.(`frozen features of ${ds.name}: ${views.rows} views in ${((performance.now() - t0) / 1000).toFixed(1)} s (${((performance.now() - t0) / views.rows).toFixed(0)} ms/view)${persist ? `, cached in ${persist.describe(id)}` : ''}`);
        if (persist) await persist.save(id, views.encode());
        return views;
      })();
      perDs.set(key, v);
      // A failed build must not poison later attempts.
      v.catch(() => perDs.delete(key));
    }
    return v;
  }

  /** Serialised as safetensors (the inverse of decode). */
  encode(): Uint8Array {
    const t = new Map<string, StTensor>();
    const plane = 3 * this.size * this.size;
    t.set('image', { dtype: 'F32', shape: [this.rows, plane], data: this.images });
    t.set('labels', { dtype: 'I32', shape: [this.rows], data: this.labels });
    if (this.landmarks) t.set('landmarks', { dtype: 'F32', shape: [this.rows, 136], data: this.landmarks });
    for (const [n, p] of this.parts) t.set(`part.${n}`, { dtype: 'F32', shape: [this.rows, ...p.shape], data: p.data });
    return encodeSafetensors(t, { format: 'lrdif-feature-views', size: String(this.size), per_image: String(this.perImage) });
  }

  /** Reads views written by encode; throws (naming `what`) when they do not fit `ds` and `o`. */
  static decode(ds: Dataset, o: ViewOptions, bytes: Uint8Array, what: string): FeatureViews {
    const f = decodeSafetensors(bytes, what);
    const size = Number(f.metadata.size);
    const perImage = Number(f.metadata.per_image);
    const image = f.tensors.get('image');
    const labels = f.tensors.get('labels');
    const rows = ds.length * perImage;
    if (f.metadata.format !== 'lrdif-feature-views' || !image || !labels || perImage !== o.draws * (o.flips ? 2 : 1) || labels.shape[0] !== rows || image.shape[1] !== 3 * size * size) {
      throw new Error(`${what}: not the feature views of ${ds.name} with these settings`);
    }
    const parts = new Map<PartName, { shape: number[]; data: Float32Array }>();
    for (const n of PART_NAMES) {
      const p = f.tensors.get(`part.${n}`);
      if (p) parts.set(n, { shape: p.shape.slice(1), data: p.data as Float32Array });
    }
    const lm = f.tensors.get('landmarks');
    return new FeatureViews(ds, o, size, perImage, image.data as Float32Array, o.landmarks && lm ? (lm.data as Float32Array) : null, labels.data as Int32Array, parts);
  }

  /** Degrades, normalises and runs the frozen networks over every view of `ds`. */
  static async build(e: Engine, model: LrdifModel, batches: BatchMaker, ds: Dataset, o: ViewOptions): Promise<FeatureViews> {
    if (!Number.isInteger(o.draws) || o.draws < 1) throw new Error(`feature views of ${ds.name}: draws must be a positive integer, got ${o.draws}`);
    const S = batches.size;
    const flipsPer = o.flips ? 2 : 1;
    const perImage = o.draws * flipsPer;
    const rows = ds.length * perImage;
    const plane = 3 * S * S;
    const images = new Float32Array(rows * plane);
    const labels = new Int32Array(rows);
    let landmarks: Float32Array | null = null;
    const parts = new Map<PartName, { shape: number[]; data: Float32Array }>();
    let done = 0;
    for (let start = 0; start < ds.length; start += o.batch) {
      const indices = Array.from({ length: Math.min(o.batch, ds.length - start) }, (_, i) => start + i);
      for (let k = 0; k < o.draws; k++) {
        for (let f = 0; f < flipsPer; f++) {
          const flipped = new Float32Array(indices.length).fill(f);
          // The draw's noise depends on (seed, draw, first index) only: a mirrored view is the mirror of the same clean image, degraded with its own noise.
          const udcSeed = hash(o.seed, k, start, f) & 0x7fffffff;
          const host = await e.noGrad(() =>
            e.scope(async () => {
              const b = batches.assemble(ds, indices, flipped, o.udc, udcSeed);
              const named = partsOf(model.withFeatures({ image: b.image, landmarks: null }).features ?? {});
              const lm = o.landmarks ? b.landmarks : null;
              const lmCount = lm ? 1 : 0;
              const data = (await e.readTensors([b.image, ...(lm ? [lm] : []), ...named.map(([, t]) => t)])) as Float32Array[];
              return {
                labels: b.hostLabels,
                image: data[0]!,
                lm: lm ? data[1]! : null,
                feats: named.map(([name, t], j) => ({ name, shape: t.shape.slice(1), data: data[1 + lmCount + j]! })),
              };
            }),
          );
          for (let i = 0; i < indices.length; i++) {
            const row = indices[i]! * perImage + k * flipsPer + f;
            images.set(host.image.subarray(i * plane, (i + 1) * plane), row * plane);
            labels[row] = host.labels[i]!;
            if (host.lm) {
              landmarks ??= new Float32Array(rows * 136);
              landmarks.set(host.lm.subarray(i * 136, (i + 1) * 136), row * 136);
            }
            for (const p of host.feats) {
              const n = p.shape.reduce((a, d) => a * d, 1);
              let dst = parts.get(p.name);
              if (!dst) parts.set(p.name, (dst = { shape: p.shape, data: new Float32Array(rows * n) }));
              dst.data.set(p.data.subarray(i * n, (i + 1) * n), row * n);
            }
          }
        }
      }
      done += indices.length;
      o.onProgress?.(done, ds.length);
    }
    return new FeatureViews(ds, o, S, perImage, images, landmarks, labels, parts);
  }

  /** A GPU batch of the given rows, with its frozen features attached. */
  batch(e: Engine, rows: readonly number[]): GpuBatch & { features: FrozenFeatures } {
    const S = this.size;
    const B = rows.length;
    const plane = 3 * S * S;
    for (const r of rows) {
      if (!Number.isInteger(r) || r < 0 || r >= this.rows) throw new Error(`feature views of ${this.dataset.name}: row ${r} out of range (0..${this.rows - 1})`);
    }
    const gather = (src: Float32Array, n: number) => {
      const out = new Float32Array(B * n);
      rows.forEach((r, i) => out.set(src.subarray(r * n, (r + 1) * n), i * n));
      return out;
    };
    const hostLabels = rows.map((r) => this.labels[r]!);
    const t = (name: PartName) => {
      const p = this.parts.get(name)!;
      return e.tensor(gather(p.data, p.shape.reduce((a, d) => a * d, 1)), [B, ...p.shape]);
    };
    const has = (name: PartName) => this.parts.has(name);
    const features: FrozenFeatures = {};
    if (has('image.0')) features.image = [t('image.0'), t('image.1'), t('image.2')];
    if (has('landmark.0')) features.landmark = [t('landmark.0'), t('landmark.1'), t('landmark.2')];
    if (has('embedding')) features.embedding = t('embedding');
    return {
      image: e.tensor(gather(this.images, plane), [B, 3, S, S]),
      landmarks: this.landmarks ? e.tensor(gather(this.landmarks, 136), [B, 68, 2]) : null,
      labels: e.tensor(hostLabels, [B], 'u32'),
      hostLabels,
      features,
    };
  }
}
