/** The dataset interface every source (SynthFER, RAF-DB, FERPlus, KDEF, image folders) provides. */

/** Canonical class order (RAF-DB's); FERPlus may add contempt as class 7. */
export const CLASS_NAMES = ['surprise', 'fear', 'disgust', 'happiness', 'sadness', 'anger', 'neutral', 'contempt'] as const;

export interface Sample {
  /** CHW [3, S, S] RGB in [0, 1]. */
  image: Float32Array;
  /** 68 (x, y) pairs in [0, 1] from the top-left, or null when the source has none. */
  landmarks: Float32Array | null;
  label: number;
}

export interface Dataset {
  readonly name: string;
  readonly length: number;
  readonly imageSize: number;
  readonly numClasses: number;
  get(index: number): Sample;
}

/** A dataset held in memory (decoded once). */
export class MemoryDataset implements Dataset {
  constructor(readonly name: string, readonly imageSize: number, readonly numClasses: number, private readonly samples: Sample[]) {}
  get length(): number {
    return this.samples.length;
  }
  get(index: number): Sample {
    const s = this.samples[index];
    if (!s) throw new Error(`${this.name}: index ${index} out of range (0..${this.samples.length - 1})`);
    return s;
  }
}

/** A dataset that wraps another: same name, size and classes; subclasses change what `get` returns. */
export abstract class DatasetWrapper implements Dataset {
  constructor(readonly inner: Dataset) {}
  get name(): string {
    return this.inner.name;
  }
  get length(): number {
    return this.inner.length;
  }
  get imageSize(): number {
    return this.inner.imageSize;
  }
  get numClasses(): number {
    return this.inner.numClasses;
  }
  abstract get(index: number): Sample;
}

/** Keeps every sample after its first access (for generated or decoded sources read every epoch). */
export class CachedDataset extends DatasetWrapper {
  private readonly cache: (Sample | undefined)[];
  constructor(inner: Dataset) {
    super(inner);
    this.cache = new Array(inner.length);
  }
  get(index: number): Sample {
    return (this.cache[index] ??= this.inner.get(index));
  }
}

/** The same images without landmarks (for the landmark-free path on data that has them). */
export class WithoutLandmarks extends DatasetWrapper {
  get(index: number): Sample {
    return { ...this.inner.get(index), landmarks: null };
  }
}
