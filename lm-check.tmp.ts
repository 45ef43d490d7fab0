import { Engine } from './src/engine/engine.ts';
import { FaceLandmarkNet } from './src/model/landmarks/face-landmark-net.ts';
import { generateSample } from './src/train/data/synthfer.ts';
const realVersions = process.versions;
Object.defineProperty(process, 'versions', { value: { ...realVersions, node: undefined }, configurable: true, writable: true });
const faceapi: any = await import('@vladmandic/face-api/dist/face-api.esm.js');
Object.defineProperty(process, 'versions', { value: realVersions, configurable: true, writable: true });
faceapi.env.initialize();
const tf = faceapi.tf;
tf.setPlatform('bun', { fetch: (...a: any[]) => (globalThis.fetch as any)(...a), now: () => performance.now(), encode: (t: string) => new TextEncoder().encode(t), decode: (b: Uint8Array, enc: string) => new TextDecoder(enc).decode(b), isTypedArray: (a: unknown) => ArrayBuffer.isView(a) && !(a instanceof DataView), setTimeoutCustom: (fn: () => void, d: number) => setTimeout(fn, d) });
await tf.setBackend('cpu'); await tf.ready();
const net = faceapi.nets.faceLandmark68Net;
const dir='node_modules/@vladmandic/face-api/model/';
const manifest = await Bun.file(dir+'face_landmark_68_model-weights_manifest.json').json();
const bin = await Bun.file(dir+manifest[0].paths[0]).arrayBuffer();
net.loadFromWeightMap(tf.io.decodeWeights(bin, manifest[0].weights));
const e = await Engine.create({ log: false });
const ours = FaceLandmarkNet.load(e);
for (const i of [0, 1, 2]) {
  const s = generateSample(i, { seed: 7, size: 112 });
  const hwc = new Float32Array(112*112*3);
  for (let c=0;c<3;c++) for (let p=0;p<112*112;p++) hwc[p*3+c] = Math.round(s.image[c*112*112+p]!*255);
  const chw = new Float32Array(3*112*112); for (let c=0;c<3;c++) for (let p=0;p<112*112;p++) chw[c*112*112+p]=hwc[p*3+c]!/255;
  const ref = Array.from((await net.forward(tf.tensor3d(hwc, [112,112,3]))).dataSync() as Float32Array);
  const t0 = performance.now();
  const x = e.tensor(chw, [1,3,112,112]);
  const out = await ours.predict(x).read();
  const dt = performance.now()-t0;
  let num=0, den=0, px=0; for (let k=0;k<136;k++){num+=(out[k]-ref[k])**2; den+=ref[k]**2;}
  for (let k=0;k<68;k++) px += Math.hypot(out[2*k]-s.landmarks[2*k], out[2*k+1]-s.landmarks[2*k+1])*112/68;
  console.log(i, 'rel', Math.sqrt(num/den), 'ms', dt.toFixed(0), 'err px', px.toFixed(2), ref.slice(0,4), Array.from(out.slice(0,4)));
}
