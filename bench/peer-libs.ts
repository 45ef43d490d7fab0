/**
 * The peer libraries of bench/peers.ts, each building the same ops from a PeerSpec: TensorFlow.js's
 * WebGPU backend and jax-js (WebGPU or Wasm). Loaded only when the peers suite runs.
 */
import type { PeerName, PeerSpec } from './peers.ts';

/** Sizes of Adam's tensors: `count` equal parts of `total`. */
export function adamSizes(total: number, count: number): number[] {
  const base = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => (i === 0 ? total - base * (count - 1) : base));
}

/** Deterministic uniform [-1, 1) data, the same for every library. */
export function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** One library's implementation of one op: fwd and (optionally) fwd+bwd closures plus a sync. */
export interface PeerImpl {
  fwd: () => void;
  fwdBwd?: () => void;
  sync: () => Promise<void>;
  dispose: () => void;
}

export interface PeerLib {
  name: PeerName;
  version: string;
  build: (spec: PeerSpec) => PeerImpl;
  close?: () => void;
}

// ---------------------------------------------------------------- TensorFlow.js

export async function loadTf(): Promise<PeerLib> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  type T = import('@tensorflow/tfjs-core').Tensor;
  const backend = tf.backend() as unknown as { ensureCommandEncoderReady(): void; endComputePassEncoder(): void; submitQueue(): void; device: GPUDevice };
  let pending: T[] = [];
  const sync = async () => {
    // What TF.js itself does before a readback: close the open pass, submit the encoder.
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
    for (const t of pending) t.dispose();
    pending = [];
  };
  const build = (spec: PeerSpec): PeerImpl => {
    const made: T[] = [];
    const input = (shape: number[], seed: number) => {
      const t = tf.tensor(randomData(prod(shape), seed), shape);
      made.push(t);
      return t;
    };
    let f: (...xs: T[]) => T;
    let xs: T[];
    switch (spec.kind) {
      case 'matmul': {
        const b = spec.batch > 1 ? [spec.batch] : [];
        xs = [input([...b, spec.M, spec.K], 1), input([...b, spec.K, spec.N], 2)];
        f = (a, w) => tf.matMul(a!, w!);
        break;
      }
      case 'conv': {
        // TF.js's native layout is NHWC (its WebGPU convolutions take no NCHW): same work, same bytes.
        const { n, ci, co, hw, k, groups } = spec;
        const depthwise = groups === ci && groups > 1;
        xs = [input([n, hw, hw, ci], 3), input(depthwise ? [k, k, ci, 1] : [k, k, ci, co], 4)];
        f = depthwise ? (x, w) => tf.depthwiseConv2d(x as never, w as never, 1, 'same') : (x, w) => tf.conv2d(x as never, w as never, 1, 'same');
        break;
      }
      case 'softmax':
        xs = [input(spec.shape, 5)];
        f = (x) => tf.softmax(x!);
        break;
      case 'layerNorm': {
        // TF.js has no layer-norm op: the usual composition (what tfjs-layers' LayerNormalization does).
        xs = [input(spec.shape, 5), input([spec.shape.at(-1)!], 6)];
        f = (x, w) => {
          const { mean, variance } = tf.moments(x!, -1, true);
          return tf.mul(tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, 1e-5))), w!);
        };
        break;
      }
      case 'gelu':
        // Exact GELU (erf), as ours: TF.js core has no gelu op.
        xs = [input(spec.shape, 5)];
        f = (x) => tf.mul(tf.mul(x!, 0.5), tf.add(1, tf.erf(tf.mul(x!, Math.SQRT1_2))));
        break;
      case 'channelAttention': {
        const { shape, heads } = spec;
        const [B, C, H, W] = shape;
        const d = C / heads;
        xs = [input(shape, 11), input(shape, 12), input(shape, 13), input([heads], 14)];
        const split = (x: T) => tf.reshape(x, [B, heads, d, H * W]);
        const norm = (x: T) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-12));
        f = (q, k, v, t) => {
          const logits = tf.mul(tf.matMul(norm(split(q!)), norm(split(k!)), false, true), tf.reshape(t!, [1, heads, 1, 1]));
          return tf.reshape(tf.matMul(tf.softmax(logits), split(v!)), shape);
        };
        break;
      }
      case 'adam': {
        const sizes = adamSizes(spec.total, spec.count);
        const vars = sizes.map((n, i) => tf.variable(tf.tensor(randomData(n, 100 + i)), true, `adam_p${i}_${Math.random()}`));
        const grads = sizes.map((n, i) => input([n], 200 + i));
        const opt = tf.train.adam(1e-3);
        const named = vars.map((v, i) => ({ name: v.name, tensor: grads[i]! }));
        return {
          fwd: () => opt.applyGradients(named),
          sync,
          dispose: () => {
            opt.dispose();
            for (const v of vars) v.dispose();
            for (const t of made) t.dispose();
          },
        };
      }
    }
    const g = tf.grads((...a: T[]) => tf.sum(f(...a)));
    return {
      fwd: () => { pending.push(tf.tidy(() => f(...xs))); },
      fwdBwd: () => { pending.push(...tf.tidy(() => g(xs))); },
      sync,
      dispose: () => { for (const t of made) t.dispose(); },
    };
  };
  const version = (tf.version_core as string | undefined) ?? 'unknown';
  return { name: 'tfjs-webgpu', version, build };
}

// ---------------------------------------------------------------- jax-js

type Jax = typeof import('@jax-js/jax');

export async function loadJax(): Promise<{ jax: Jax; devices: string[] }> {
  const jax = await import('@jax-js/jax');
  const devices = (await jax.init()) as string[];
  return { jax, devices };
}

export function jaxLib(jax: Jax, device: 'webgpu' | 'wasm', version: string): PeerLib {
  const np = jax.numpy;
  type A = InstanceType<typeof jax.Array>;
  const build = (spec: PeerSpec): PeerImpl => {
    jax.defaultDevice(device);
    const made: A[] = [];
    const input = (shape: number[], seed: number) => {
      const a = np.array(randomData(prod(shape), seed) as never).reshape(shape) as A;
      made.push(a);
      return a;
    };
    let pending: unknown = null;
    const sync = async () => {
      if (pending) {
        await jax.blockUntilReady(pending as A);
        jax.tree.dispose(pending as A);
      }
      pending = null;
    };
    let f: (...xs: A[]) => A;
    let xs: A[];
    switch (spec.kind) {
      case 'matmul': {
        const b = spec.batch > 1 ? [spec.batch] : [];
        xs = [input([...b, spec.M, spec.K], 1), input([...b, spec.K, spec.N], 2)];
        f = (a, w) => np.matmul(a!, w!);
        break;
      }
      case 'conv': {
        const { n, ci, co, hw, k, groups } = spec;
        xs = [input([n, ci, hw, hw], 3), input([co, ci / groups, k, k], 4)];
        f = (x, w) => jax.lax.convGeneralDilated(x!, w!, [1, 1], 'SAME', { featureGroupCount: groups });
        break;
      }
      case 'softmax':
        xs = [input(spec.shape, 5)];
        f = (x) => jax.nn.softmax(x!, -1);
        break;
      case 'layerNorm':
        xs = [input(spec.shape, 5), input([spec.shape.at(-1)!], 6)];
        f = (x, w) => np.multiply(jax.nn.standardize(x!, -1, { epsilon: 1e-5 }), w!);
        break;
      case 'gelu':
        xs = [input(spec.shape, 5)];
        f = (x) => jax.nn.gelu(x!, { approximate: false });
        break;
      case 'channelAttention': {
        const { shape, heads } = spec;
        const [B, C, H, W] = shape;
        const d = C / heads;
        xs = [input(shape, 11), input(shape, 12), input(shape, 13), input([heads], 14)];
        const split = (x: A) => x.reshape([B, heads, d, H * W]) as A;
        // jax-js arrays are reference-counted: every use but the last takes a .ref.
        const norm = (x: A) => np.divide(x.ref, np.maximum(np.sqrt(np.sum(np.square(x), -1, { keepdims: true })), 1e-12));
        f = (q, k, v, t) => {
          const logits = np.multiply(np.matmul(norm(split(q!)), np.swapaxes(norm(split(k!)), 2, 3)), t!.reshape([1, heads, 1, 1]));
          return np.matmul(jax.nn.softmax(logits, -1), split(v!)).reshape(shape) as A;
        };
        break;
      }
      case 'adam': {
        const sizes = adamSizes(spec.total, spec.count);
        let state = [sizes.map((n, i) => input([n], 100 + i)), sizes.map((n) => np.zeros([n]) as A), sizes.map((n) => np.zeros([n]) as A)];
        made.length = 0; // the state arrays are consumed by each step; only the gradients stay
        const grads = sizes.map((n, i) => input([n], 200 + i));
        const [b1, b2, lr, eps] = [0.9, 0.999, 1e-3, 1e-8];
        // Bias corrections fixed at step 1's values: the same arithmetic per element as a real step.
        const lrc = lr / (1 - b1);
        const vs = 1 / Math.sqrt(1 - b2);
        const step = jax.jit((p: A[], g: A[], m: A[], v: A[]) => {
          const out = p.map((pi, i) => {
            const gi = g[i]!;
            const m2 = np.add(np.multiply(m[i]!, b1), np.multiply(gi.ref, 1 - b1));
            const v2 = np.add(np.multiply(v[i]!, b2), np.multiply(np.square(gi), 1 - b2));
            const p2 = np.subtract(pi, np.divide(np.multiply(m2.ref, lrc), np.add(np.multiply(np.sqrt(v2.ref), vs), eps)));
            return [p2, m2, v2] as const;
          });
          return [out.map((o) => o[0]), out.map((o) => o[1]), out.map((o) => o[2])];
        });
        return {
          fwd: () => {
            state = step(state[0]!, grads.map((g) => g.ref), state[1]!, state[2]!) as A[][];
            pending = null;
          },
          sync: async () => { await jax.blockUntilReady(state as never); },
          dispose: () => {
            jax.tree.dispose(state as never);
            for (const g of grads) g.dispose();
          },
        };
      }
    }
    const n = xs.length;
    const fwd = jax.jit((...a: A[]) => f(...a));
    const argnums = Array.from({ length: n }, (_, i) => i);
    const fwdBwd = jax.jit(jax.grad((...a: A[]) => np.sum(f(...a)), { argnums }) as (...a: A[]) => A[]);
    return {
      fwd: () => { pending = fwd(...xs.map((x) => x.ref)); },
      fwdBwd: () => { pending = fwdBwd(...xs.map((x) => x.ref)); },
      sync,
      dispose: () => { for (const x of made) x.dispose(); },
    };
  };
  return { name: device === 'webgpu' ? 'jax-webgpu' : 'jax-wasm', version, build };
}

// ---------------------------------------------------------------- the suite

