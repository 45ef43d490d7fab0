/**
 * Reusable staging buffers for uploads made while commands are being encoded and for readbacks.
 * Creating one per write or read costs a native buffer and (under bun-webgpu) a JS callback, and a
 * destroyed buffer's handle is never released there, so every one would stay in host memory for
 * the life of the process. Buffers are kept per size bucket instead.
 *
 * Upload buffers are filled with queue.writeBuffer and copied from inside the encoder; the queue
 * runs that write before the encoder's submit, and a buffer goes back to the free list only when
 * the encoder that copies from it has been submitted, so a later write (ordered after that submit)
 * never overwrites data a pending copy still has to read.
 */
import { bucketSize } from './pool.ts';

const MAP_READ = 0x01;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;

class FreeLists {
  private free = new Map<number, GPUBuffer[]>();
  constructor(private readonly device: GPUDevice, private readonly usage: number, private readonly label: string) {}
  created = 0;

  take(bytes: number): GPUBuffer {
    const size = bucketSize(Math.max(4, bytes));
    const hit = this.free.get(size)?.pop();
    if (hit) return hit;
    this.created++;
    return this.device.createBuffer({ size, usage: this.usage, label: this.label });
  }

  give(b: GPUBuffer): void {
    let list = this.free.get(b.size);
    if (!list) this.free.set(b.size, (list = []));
    list.push(b);
  }

  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }
}

export class StagingBuffers {
  private uploads: FreeLists;
  private readbacks: FreeLists;
  /** Upload buffers copied from by the encoder that is not submitted yet. */
  private pending: GPUBuffer[] = [];

  constructor(private readonly device: GPUDevice) {
    this.uploads = new FreeLists(device, COPY_SRC | COPY_DST, 'upload-staging');
    this.readbacks = new FreeLists(device, MAP_READ | COPY_DST, 'readback-staging');
  }

  /** A buffer holding `data` (its byte length a multiple of 4), to be copied from inside the current encoder. */
  upload(data: Uint8Array): GPUBuffer {
    const b = this.uploads.take(data.byteLength);
    this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    this.pending.push(b);
    return b;
  }

  /** Call after the encoder that copies from this flush's uploads has been submitted. */
  submitted(): void {
    for (const b of this.pending) this.uploads.give(b);
    this.pending = [];
  }

  /** A mappable buffer of at least `bytes`; hand it back with returnReadback() once unmapped. */
  takeReadback(bytes: number): GPUBuffer {
    return this.readbacks.take(bytes);
  }

  returnReadback(b: GPUBuffer): void {
    this.readbacks.give(b);
  }

  /** Staging buffers ever created (uploads and readbacks). */
  get created(): number {
    return this.uploads.created + this.readbacks.created;
  }

  /** Destroys the free buffers (call with nothing encoded or mapped). */
  destroy(): void {
    this.submitted();
    this.uploads.destroy();
    this.readbacks.destroy();
  }
}
