import { describe, it, expect } from 'vitest';
import { gather, indexTensor } from '../src/engine/ops/gather.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** float64 reference: rows of the table (zero rows for out-of-range indices) and the scatter-add gradient. */
function reference(table: Float64Array, V: number, D: number, idx: ArrayLike<number>, gy: Float64Array) {
  const out = new Float64Array(idx.length * D);
  const dtable = new Float64Array(V * D);
  for (let m = 0; m < idx.length; m++) {
    const v = idx[m]!;
    if (v < 0 || v >= V) continue;
    for (let d = 0; d < D; d++) {
      out[m * D + d] = table[v * D + d]!;
      dtable[v * D + d]! += gy[m * D + d]!;
    }
  }
  return { out, dtable };
}

type Mode = 'u32 tensor' | 'i32 tensor' | 'host';

describe('gather (embedding lookup)', () => {
  const cases: { V: number; D: number; shape: number[] }[] = [
    { V: 7, D: 5, shape: [11] },
    { V: 13, D: 37, shape: [3, 4] },
    // Many repeats per row: the gradient sums ~333 contributions per row.
    { V: 3, D: 300, shape: [1000] },
    { V: 1, D: 1, shape: [2, 3, 5] },
  ];
  for (const mode of ['u32 tensor', 'i32 tensor', 'host'] as Mode[]) {
    it(`forward and table gradient match float64 (${mode} indices)`, async () => {
      const e = await getEngine();
      const r = rng(freshSeed(`gather ${mode}`));
      for (const { V, D, shape } of cases) {
        await e.scope(async () => {
          const tv = f32round(randn(r, V * D));
          const idx = Array.from({ length: numel(shape) }, () => Math.floor(r() * V));
          const table = e.tensor(Float32Array.from(tv), [V, D]).asParameter();
          const indices = mode === 'host' ? { data: idx, shape } : e.tensor(idx, shape, mode === 'u32 tensor' ? 'u32' : 'i32');
          const y = gather(table, indices);
          expect(y.shape).toEqual([...shape, D]);
          const gy = f32round(randn(r, y.size));
          backward(y, e.tensor(Float32Array.from(gy), y.shape));
          const ref = reference(tv, V, D, idx, gy);
          const label = `gather V=${V} D=${D} indices ${JSON.stringify(shape)} (${mode})`;
          expectClose(await read(y), ref.out, 1e-7, `${label} forward`);
          expectClose(await read(table.grad!), ref.dtable, 1e-5, `${label} gradient`);
          table.grad!.dispose();
          table.dispose();
        });
      }
    });
  }

  it('host-CSR and GPU-scan backward give bit-identical gradients (same summation order)', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('gather determinism'));
    const V = 5;
    const D = 33;
    const M = 777;
    const tv = f32round(randn(r, V * D));
    const idx = Array.from({ length: M }, () => Math.floor(r() * r() * V));
    const gy = Float32Array.from(randn(r, M * D));
    const grads: Float32Array[] = [];
    for (const host of [true, false]) {
      await e.scope(async () => {
        const table = e.tensor(Float32Array.from(tv), [V, D]).asParameter();
        const y = gather(table, host ? idx : indexTensor(e, idx, [M], V));
        backward(y, e.tensor(gy, [M, D]));
        grads.push((await table.grad!.read()) as Float32Array);
        table.grad!.dispose();
        table.dispose();
      });
    }
    expect(Array.from(grads[0]!)).toEqual(Array.from(grads[1]!));
  });

  it('out-of-range tensor indices give zero rows and no gradient (deterministic in-kernel guard)', async () => {
    const e = await getEngine();
    const r = rng(freshSeed('gather out of range'));
    const V = 4;
    const D = 6;
    const idx = [0, -1, 3, 4, 2, -7, 1000, 3];
    const tv = f32round(randn(r, V * D));
    const gy = f32round(randn(r, idx.length * D));
    await e.scope(async () => {
      const table = e.tensor(Float32Array.from(tv), [V, D]).asParameter();
      const y = gather(table, e.tensor(idx, [idx.length], 'i32'));
      backward(y, e.tensor(Float32Array.from(gy), y.shape));
      const ref = reference(tv, V, D, idx, gy);
      expectClose(await read(y), ref.out, 1e-7, 'out-of-range forward');
      expectClose(await read(table.grad!), ref.dtable, 1e-6, 'out-of-range gradient');
      const yv = await read(y);
      expect(Array.from(yv.slice(1 * D, 2 * D))).toEqual(new Array(D).fill(0));
      table.grad!.dispose();
      table.dispose();
    });
  });

  it('finite-difference gradient (gather then a nonlinearity of the rows)', async () => {
    const e = await getEngine();
    const seed = freshSeed('gather fd');
    const r = rng(seed);
    const { mul } = await import('../src/engine/ops/elementwise.ts');
    await gradCheck({
      e,
      seed,
      label: 'gather',
      inputs: [{ data: randn(r, 4 * 3), shape: [4, 3] }],
      f: ([t]: Tensor[]) => {
        const y = gather(t!, { data: [2, 0, 2, 3, 2], shape: [5] });
        return mul(y, y);
      },
      probes: 8,
    });
  });

  it('bad arguments throw messages naming the op and the shapes', async () => {
    const e = await getEngine();
    await e.scope(() => {
      const table = e.tensor(new Float32Array(12), [4, 3]);
      expect(() => gather(table, [0, 4, 1])).toThrow(/gather: index 4 at position 1 is out of range for table #\d+\[4, 3\] \(indices \[3\]\)/);
      expect(() => gather(table, [0, -1])).toThrow(/gather: index -1 at position 1 is out of range/);
      expect(() => gather(table, { data: [0, 1, 2], shape: [2, 2] })).toThrow(/gather: 3 indices for shape \[2, 2\]/);
      expect(() => gather(table, e.tensor([0, 1], [2]))).toThrow(/gather: indices must be u32 or i32, got f32 #\d+\[2\] \(table #\d+\[4, 3\]\)/);
      expect(() => gather(e.tensor(new Float32Array(12), [12]), [0])).toThrow(/gather: table must be \[V, D\], got #\d+\[12\]/);
      expect(() => indexTensor(e, [5], [1], 4)).toThrow(/indexTensor: index 5 at position 0 is out of range for 4 rows/);
    });
  });
});
