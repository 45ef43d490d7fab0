/**
 * face-api itself as the reference our re-implementations are tested against: its browser bundle
 * (which carries tfjs with the CPU backend), weights from node_modules, no network. Its tfjs would
 * pick the Node platform, which needs Node's util.TextEncoder that the bundle stubs out, so it is
 * imported with process.versions.node hidden and given a minimal platform.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { faceApiModelDir } from '../src/model/landmarks/face-api-files.ts';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface FaceApiReference {
  faceapi: any;
  tf: any;
}

let loaded: Promise<FaceApiReference> | null = null;

/** The bundle and its tfjs, loaded once per test worker. */
export function faceApiReference(): Promise<FaceApiReference> {
  loaded ??= (async () => {
    const versions = process.versions;
    Object.defineProperty(process, 'versions', { value: { ...versions, node: undefined }, configurable: true, writable: true });
    let faceapi: any;
    try {
      faceapi = await import('@vladmandic/face-api/dist/face-api.esm.js');
    } finally {
      Object.defineProperty(process, 'versions', { value: versions, configurable: true, writable: true });
    }
    faceapi.env.initialize();
    const tf = faceapi.tf;
    tf.setPlatform('bun-test', {
      fetch: () => Promise.reject(new Error('no network in tests')),
      now: () => performance.now(),
      encode: (s: string) => new TextEncoder().encode(s),
      decode: (b: Uint8Array, enc: string) => new TextDecoder(enc).decode(b),
      isTypedArray: (a: unknown) => ArrayBuffer.isView(a) && !(a instanceof DataView),
      setTimeoutCustom: (fn: () => void, ms: number) => setTimeout(fn, ms),
    });
    await tf.setBackend('cpu');
    await tf.ready();
    return { faceapi, tf };
  })();
  return loaded;
}

/** A manifest's weights decoded by tfjs itself (tf.io.decodeWeights), keyed by name. */
export function referenceWeightMap(tf: any, manifestName: string): Record<string, any> {
  const dir = faceApiModelDir();
  const manifest = JSON.parse(readFileSync(join(dir, manifestName), 'utf8'));
  const bin = readFileSync(join(dir, manifest[0].paths[0]));
  return tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), manifest[0].weights);
}

/** One of face-api's networks (e.g. 'FaceRecognitionNet') with the weights of `manifestName`. */
export async function referenceNet(className: string, manifestName: string): Promise<FaceApiReference & { net: any }> {
  const r = await faceApiReference();
  const net = new r.faceapi[className]();
  net.loadFromWeightMap(referenceWeightMap(r.tf, manifestName));
  return { ...r, net };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
