const realVersions = process.versions;
Object.defineProperty(process, 'versions', { value: { ...realVersions, node: undefined }, configurable: true, writable: true });
const faceapi: any = await import('@vladmandic/face-api/dist/face-api.esm.js');
Object.defineProperty(process, 'versions', { value: realVersions, configurable: true, writable: true });
faceapi.env.initialize();
const tf = faceapi.tf;
console.log(typeof tf.setPlatform, tf.env().platformName, tf.env().get('IS_NODE'));
tf.setPlatform('bun', {
  fetch: (...a: any[]) => (globalThis.fetch as any)(...a),
  now: () => performance.now(),
  encode: (t: string) => new TextEncoder().encode(t),
  decode: (b: Uint8Array, enc: string) => new TextDecoder(enc).decode(b),
  isTypedArray: (a: unknown) => ArrayBuffer.isView(a) && !(a instanceof DataView),
  setTimeoutCustom: (fn: () => void, d: number) => setTimeout(fn, d),
});
await tf.setBackend('cpu'); await tf.ready();
console.log(tf.getBackend(), faceapi.version);
const net = faceapi.nets.faceLandmark68Net;
const dir='node_modules/@vladmandic/face-api/model/';
const manifest = await Bun.file(dir+'face_landmark_68_model-weights_manifest.json').json();
const bin = await Bun.file(dir+manifest[0].paths[0]).arrayBuffer();
net.loadFromWeightMap(tf.io.decodeWeights(bin, manifest[0].weights));
const x = tf.fill([112,112,3], 128, 'float32');
const t0 = performance.now();
const out = await net.forward(x);
console.log(out.shape, Array.from(out.dataSync()).slice(0,6), performance.now()-t0);
