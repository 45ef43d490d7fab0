import { describe, it, expect } from 'vitest';
import { concat, flip, permute, pixelShuffle, pixelUnshuffle, slice, split, transpose } from '../src/engine/ops/layout.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { stridesOf } from '../src/engine/ops/shape-util.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** For every output coordinate (row-major), the flat source index given by `src`. */
function indexMap(outShape: readonly number[], src: (c: number[]) => number): Int32Array {
  const n = numel(outShape);
  const st = stridesOf(outShape);
  const map = new Int32Array(n);
  for (let i = 0; i < n; i++) map[i] = src(outShape.map((d, k) => Math.floor(i / st[k]!) % d));
  return map;
}

const flat = (shape: readonly number[], c: readonly number[]) => c.reduce((acc, v, k) => acc * shape[k]! + v, 0);

/** Data movement must be bit-exact: any difference (or NaN from an unwritten element) fails. */
function expectExact(out: ArrayLike<number>, ref: ArrayLike<number>, what: string): void {
  expect(out.length, `${what}: length`).toBe(ref.length);
  let bad = -1;
  for (let i = 0; i < ref.length && bad < 0; i++) if (!(out[i] === ref[i])) bad = i;
  expect(bad, bad < 0 ? what : `${what}: element ${bad} is ${out[bad]}, expected ${ref[bad]}`).toBe(-1);
  expectClose(out, ref, 1e-7, what);
}

/**
 * Runs a one-input op on fresh data; checks the forward against out[i] = x[map[i]] and the input
 * gradient against the float64 scatter dx[map[i]] += dy[i].
 */
async function checkMapped(e: Engine, r: () => number, label: string, shape: number[], f: (x: Tensor) => Tensor, outShape: number[], map: Int32Array) {
  await e.scope(async () => {
    const xv = f32round(randn(r, numel(shape)));
    const x = e.tensor(Float32Array.from(xv), shape).asParameter();
    const y = f(x);
    expect(y.shape, `${label} shape`).toEqual(outShape);
    const gy = f32round(randn(r, y.size));
    backward(y, e.tensor(Float32Array.from(gy), outShape));
    expectExact(await read(y), Array.from(map, (j) => xv[j]!), `${label} forward`);
    const dx = new Float64Array(xv.length);
    map.forEach((j, i) => (dx[j]! += gy[i]!));
    expectExact(await read(x.grad!), dx, `${label} gradient`);
    x.grad!.dispose();
    x.dispose();
  });
}

function shuffled(r: () => number, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}

describe('flip', () => {
  it('reverses one axis (any axis, negative axes too), forward and backward', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('flip'));
    for (const [shape, axis] of [[[7], 0], [[3, 5], 1], [[2, 3, 5], 0], [[4, 3, 1, 6], -1], [[2, 3, 4, 5], 2], [[2, 1, 3], 1], [[3, 8], -1]] as [number[], number][]) {
      const a = axis < 0 ? axis + shape.length : axis;
      const map = indexMap(shape, (c) => flat(shape, c.map((v, k) => (k === a ? shape[k]! - 1 - v : v))));
      await checkMapped(e, r, `flip ${JSON.stringify(shape)} axis ${axis}`, shape, (x) => flip(x, axis), shape, map);
    }
    expect(() => flip(e.tensor([1, 2], [2]), 1)).toThrow(/flip/);
  });
});

describe('permute / transpose', () => {
  it('match the reference index formula, forward and backward', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('permute'));
    const shapes = [[7], [3, 5], [2, 3, 5], [3, 1, 4, 5], [2, 3, 1, 2, 3, 2, 1, 3]];
    for (const shape of shapes) {
      for (let trial = 0; trial < 2; trial++) {
        const dims = shuffled(r, shape.length);
        const outShape = dims.map((d) => shape[d]!);
        const map = indexMap(outShape, (c) => {
          const src = new Array<number>(shape.length);
          dims.forEach((d, k) => (src[d] = c[k]!));
          return flat(shape, src);
        });
        await checkMapped(e, r, `permute ${JSON.stringify(shape)} by ${JSON.stringify(dims)}`, shape, (x) => permute(x, dims), outShape, map);
      }
    }
    const shape = [4, 3, 6];
    const map = indexMap([6, 3, 4], ([a, b, c]) => flat(shape, [c!, b!, a!]));
    await checkMapped(e, r, 'transpose(0, -1)', shape, (x) => transpose(x, 0, -1), [6, 3, 4], map);
  });

  it('a rank-9 view whose dimensions merge still fits the kernel', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('permute rank 9'));
    const shape = [2, 1, 3, 2, 1, 2, 3, 1, 2];
    const dims = [6, 7, 8, 0, 1, 2, 3, 4, 5];
    const outShape = dims.map((d) => shape[d]!);
    const map = indexMap(outShape, (c) => {
      const src = new Array<number>(shape.length);
      dims.forEach((d, k) => (src[d] = c[k]!));
      return flat(shape, src);
    });
    await checkMapped(e, r, 'permute rank 9', shape, (x) => permute(x, dims), outShape, map);
  });

  it('copies u32 tensors bit-exactly and keeps the dtype', async () => {
    const e = await getEngine();
    await e.scope(async () => {
      const data = Uint32Array.from({ length: 24 }, (_, i) => (0xdeadbeef + i * 0x01010101) >>> 0);
      const x = e.tensor(data, [2, 3, 4], 'u32');
      const y = permute(x, [2, 0, 1]);
      expect(y.dtype).toBe('u32');
      const ref = indexMap([4, 2, 3], ([a, b, c]) => flat([2, 3, 4], [b!, c!, a!]));
      expect(Array.from(await y.read())).toEqual(Array.from(ref, (j) => data[j]!));
      const z = concat([x, x], 1);
      expect(z.dtype).toBe('u32');
      expect(Array.from(await slice(z, 1, 3, 6).read())).toEqual(Array.from(data));
    });
  });
});

describe('slice / split / concat', () => {
  it('slice with start, end, step and negative bounds', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('slice'));
    const cases: [number[], number, number, number | undefined, number][] = [
      [[11], 0, 2, 9, 1],
      [[5, 7], 1, 1, 6, 2],
      [[3, 9, 4], 1, -7, -1, 3],
      [[2, 3, 5, 6], -2, 0, undefined, 2],
      [[4, 3], 0, 2, 2, 1],
    ];
    for (const [shape, axis, start, end, step] of cases) {
      const a = axis < 0 ? axis + shape.length : axis;
      const s = start < 0 ? start + shape[a]! : start;
      const t = end === undefined ? shape[a]! : end < 0 ? end + shape[a]! : end;
      const outShape = [...shape];
      outShape[a] = Math.ceil((t - s) / step);
      const map = indexMap(outShape, (c) => {
        const src = [...c];
        src[a] = s + step * c[a]!;
        return flat(shape, src);
      });
      await checkMapped(e, r, `slice ${JSON.stringify([shape, axis, start, end, step])}`, shape, (x) => slice(x, axis, start, end, step), outShape, map);
    }
  });

  it('concat of several inputs (one empty) matches the reference; each input gets its slice of the gradient', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('concat'));
    const cases: { shapes: number[][]; axis: number }[] = [
      { shapes: [[3], [5], [1]], axis: 0 },
      { shapes: [[2, 3, 5], [2, 1, 5], [2, 0, 5], [2, 4, 5]], axis: 1 },
      { shapes: [[3, 2, 7], [3, 2, 1]], axis: -1 },
      { shapes: [[1, 4, 3], [5, 4, 3]], axis: 0 },
    ];
    for (const { shapes, axis } of cases) {
      await e.scope(async () => {
        const a = axis < 0 ? axis + shapes[0]!.length : axis;
        const vals = shapes.map((s) => f32round(randn(r, numel(s))));
        const xs = vals.map((v, k) => e.tensor(Float32Array.from(v), shapes[k]!).asParameter());
        const y = concat(xs, axis);
        const outShape = [...shapes[0]!];
        outShape[a] = shapes.reduce((p, s) => p + s[a]!, 0);
        expect(y.shape).toEqual(outShape);
        // Reference: find which input an output coordinate falls in.
        const ref = new Float64Array(numel(outShape));
        const owner = new Int32Array(ref.length);
        const at = new Int32Array(ref.length);
        const st = stridesOf(outShape);
        for (let i = 0; i < ref.length; i++) {
          const c = outShape.map((d, k) => Math.floor(i / st[k]!) % d);
          let k = 0;
          let off = c[a]!;
          while (off >= shapes[k]![a]!) off -= shapes[k++]![a]!;
          const src = [...c];
          src[a] = off;
          owner[i] = k;
          at[i] = flat(shapes[k]!, src);
          ref[i] = vals[k]![at[i]!]!;
        }
        const gy = f32round(randn(r, ref.length));
        backward(y, e.tensor(Float32Array.from(gy), outShape));
        const label = `concat ${JSON.stringify(shapes)} axis ${axis}`;
        expectExact(await read(y), ref, `${label} forward`);
        for (let k = 0; k < xs.length; k++) {
          const g = new Float64Array(vals[k]!.length);
          for (let i = 0; i < ref.length; i++) if (owner[i] === k) g[at[i]!] = gy[i]!;
          expectExact(await read(xs[k]!.grad!), g, `${label} gradient of input ${k}`);
          xs[k]!.grad!.dispose();
          xs[k]!.dispose();
        }
      });
    }
  });

  it('split then concat is the identity, and split gradients from every piece sum into the input', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('split'));
    for (const [shape, sizes, axis] of [
      [[4, 10, 3], [3, 0, 5, 2], 1],
      [[9, 5], 4, 0],
      [[2, 3, 7], 3, -1],
    ] as [number[], number | number[], number][]) {
      await e.scope(async () => {
        const xv = f32round(randn(r, numel(shape)));
        const x = e.tensor(Float32Array.from(xv), shape).asParameter();
        const parts = split(x, sizes, axis);
        const a = axis < 0 ? axis + shape.length : axis;
        const expected = typeof sizes === 'number' ? Array.from({ length: Math.ceil(shape[a]! / sizes) }, (_, i) => Math.min(sizes, shape[a]! - i * sizes)) : sizes;
        expect(parts.map((p) => p.shape[a])).toEqual(expected);
        const y = concat(parts, axis);
        const gy = f32round(randn(r, y.size));
        backward(y, e.tensor(Float32Array.from(gy), shape));
        const label = `split ${JSON.stringify([shape, sizes, axis])}`;
        expectExact(await read(y), xv, `${label} round trip`);
        expectExact(await read(x.grad!), gy, `${label} gradient`);
        x.grad!.dispose();
        x.dispose();
      });
    }
  });
});

describe('pixelShuffle / pixelUnshuffle', () => {
  const unshuffleRef = (N: number, C: number, H: number, W: number, rr: number) => {
    const h = H / rr;
    const w = W / rr;
    const outShape = [N, C * rr * rr, h, w];
    return { outShape, map: indexMap(outShape, ([n, cc, y, x]) => {
      const c = Math.floor(cc! / (rr * rr));
      const i = Math.floor(cc! / rr) % rr;
      const j = cc! % rr;
      return flat([N, C, H, W], [n!, c, y! * rr + i, x! * rr + j]);
    }) };
  };

  it('pixelUnshuffle follows PyTorch channel order: out[c·r² + i·r + j, h, w] = x[c, h·r + i, w·r + j]', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('pixelUnshuffle'));
    for (const [N, C, H, W, rr] of [[1, 1, 4, 4, 2], [2, 3, 6, 9, 3], [1, 5, 8, 4, 4], [3, 2, 5, 7, 1]] as const) {
      const { outShape, map } = unshuffleRef(N, C, H, W, rr);
      await checkMapped(e, r, `pixelUnshuffle ${JSON.stringify([N, C, H, W])} r=${rr}`, [N, C, H, W], (x) => pixelUnshuffle(x, rr), outShape, map);
    }
  });

  it('pixelShuffle is the inverse map (also for a rank-3 input), and the round trips are the identity', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('pixelShuffle'));
    for (const [N, C, H, W, rr] of [[2, 3, 6, 9, 3], [1, 2, 4, 8, 2]] as const) {
      const { outShape, map } = unshuffleRef(N, C, H, W, rr);
      // pixelShuffle maps out' = x[outShape] back to [N, C, H, W]: inverse of the unshuffle map.
      const inv = new Int32Array(map.length);
      map.forEach((j, i) => (inv[j] = i));
      await checkMapped(e, r, `pixelShuffle ${JSON.stringify(outShape)} r=${rr}`, outShape, (x) => pixelShuffle(x, rr), [N, C, H, W], inv);
    }
    const { map } = unshuffleRef(1, 2, 6, 4, 2);
    const inv = new Int32Array(map.length);
    map.forEach((j, i) => (inv[j] = i));
    await checkMapped(e, r, 'pixelShuffle rank 3', [8, 3, 2], (x) => pixelShuffle(x, 2), [2, 6, 4], inv);
    await e.scope(async () => {
      const xv = f32round(randn(r, 2 * 3 * 8 * 12));
      const x = e.tensor(Float32Array.from(xv), [2, 3, 8, 12]);
      expectExact(await read(pixelShuffle(pixelUnshuffle(x, 4), 4)), xv, 'shuffle(unshuffle(x))');
      const z = e.tensor(Float32Array.from(xv), [2, 12, 4, 6]);
      expectExact(await read(pixelUnshuffle(pixelShuffle(z, 2), 2)), xv, 'unshuffle(shuffle(x))');
    });
  });
});

describe('layout ops: finite differences and errors', () => {
  it('finite-difference gradient through permute → slice → concat → pixelShuffle → split', async () => {
    const e = await getEngine();
    const seed = freshSeed('layout fd');
    const r = rng(seed);
    await gradCheck({
      e,
      seed,
      label: 'layout composition',
      inputs: [
        { data: randn(r, 2 * 5 * 3 * 2), shape: [2, 5, 3, 2] },
        { data: randn(r, 2 * 2 * 2 * 3), shape: [2, 2, 2, 3] },
      ],
      f: ([a, b]) => {
        const p = slice(permute(a!, [0, 1, 3, 2]), 1, 1, 5, 1); // [2, 4, 2, 3]
        const c = concat([p, b!], 1); // [2, 6, 2, 3]
        const s = pixelShuffle(slice(c, 1, 2, 6), 2); // [2, 1, 4, 6]
        return split(s, [1, 3], 2)[1]!;
      },
    });
  });

  it('bad arguments throw messages naming the op and the shapes', async () => {
    const e = await getEngine();
    await e.scope(() => {
      const x = e.tensor(new Float32Array(2 * 3 * 5 * 6), [2, 3, 5, 6]);
      expect(() => permute(x, [0, 1, 1, 2])).toThrow(/permute: dims \[0, 1, 1, 2\] is not a permutation of 0\.\.3 for #\d+\[2, 3, 5, 6\]/);
      expect(() => permute(x, [0, 1, 2])).toThrow(/permute: .*not a permutation/);
      expect(() => slice(x, 2, 1, 6)).toThrow(/slice: range \[1, 6\) is out of range for axis 2 \(size 5\) of #\d+\[2, 3, 5, 6\]/);
      expect(() => slice(x, 4, 0, 1)).toThrow(/slice: axis 4 out of range for rank 4/);
      expect(() => slice(x, 0, 0, 1, 0)).toThrow(/slice: step 0/);
      const y = e.tensor(new Float32Array(2 * 4 * 5 * 5), [2, 4, 5, 5]);
      expect(() => concat([x, y], 1)).toThrow(/concat: shapes \[2, 3, 5, 6\], \[2, 4, 5, 5\] differ outside axis 1/);
      expect(() => split(x, [1, 1], 1)).toThrow(/split: sizes \[1, 1\] sum to 2 but axis 1 of #\d+\[2, 3, 5, 6\] has 3/);
      expect(() => pixelUnshuffle(x, 2)).toThrow(/pixelUnshuffle: H=5 and W=6 of #\d+\[2, 3, 5, 6\] must be divisible by r=2/);
      expect(() => pixelShuffle(x, 2)).toThrow(/pixelShuffle: channels 3 of #\d+\[2, 3, 5, 6\] must be divisible by r²=4/);
      expect(() => pixelShuffle(e.tensor(new Float32Array(4), [2, 2]), 2)).toThrow(/pixelShuffle: expected \[\.\.\., C, H, W\], got #\d+\[2, 2\]/);
    });
  });
});

describeTorchFixture('layout', (e, c) => {
  const r = c.options.r as number;
  if (c.name.startsWith('pixel_unshuffle')) return compareWithTorch(e, c, ['x'], (x) => pixelUnshuffle(x.x!, r));
  if (c.name.startsWith('pixel_shuffle')) return compareWithTorch(e, c, ['x'], (x) => pixelShuffle(x.x!, r));
  throw new Error(`layout torch fixture: unknown case "${c.name}" (expected pixel_shuffle or pixel_unshuffle)`);
});
