/**
 * Cross-checks against PyTorch, shared by each op's own test: fixtures computed in float64 by torch
 * autograd from float32 inputs, stored in test/fixtures/torch/<op>.json by scripts/torch-fixtures.py
 * (regenerate with `/usr/bin/python3 scripts/torch-fixtures.py`; CI needs no PyTorch). Each case runs
 * our op on the fixture's inputs, back-propagates the fixture's upstream gradient dy, and compares
 * the output and every input gradient with torch's.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backward } from '../src/engine/autograd.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { getEngine, read, relErr } from './helpers.ts';

export interface StoredTensor {
  shape: number[];
  data: number[];
}
export interface TorchCase {
  name: string;
  options: Record<string, unknown>;
  tensors: Record<string, StoredTensor>;
}
interface TorchFixture {
  torch: string;
  seed: number;
  cases: TorchCase[];
}

export const TORCH_FORWARD_TOL = 1e-5;
export const TORCH_GRAD_TOL = 1e-4;

function loadFixture(op: string): TorchFixture {
  const path = fileURLToPath(new URL(`./fixtures/torch/${op}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as TorchFixture;
}

/** Relative error of `got` against torch's `ref`, logged, and required to be under `tol`. */
export function checkAgainstTorch(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: number): void {
  const err = relErr(got, ref);
  console.log(`${label}: relative error ${err.toExponential(2)}`);
  expect(err, `${label}: relative error ${err.toExponential(3)} (tolerance ${tol})`).toBeLessThan(tol);
}

export function storedTensor(c: TorchCase, name: string): StoredTensor {
  const t = c.tensors[name];
  if (!t) throw new Error(`torch fixture case "${c.name}" has no tensor "${name}"`);
  return t;
}

/** Uploads a stored tensor as a plain (non-parameter) input. */
export function uploadStored(e: Engine, c: TorchCase, name: string): Tensor {
  const s = storedTensor(c, name);
  return e.tensor(Float32Array.from(s.data), s.shape);
}

/**
 * Uploads the named inputs as parameters, runs `f`, back-propagates the fixture's dy, and compares
 * y with torch's forward and each parameter's gradient with grad_<name>.
 */
export async function compareWithTorch(
  e: Engine, c: TorchCase, inputNames: string[], f: (x: Record<string, Tensor>) => Tensor, forwardTol = TORCH_FORWARD_TOL,
): Promise<void> {
  const params: Record<string, Tensor> = {};
  for (const n of inputNames) params[n] = uploadStored(e, c, n).asParameter(n);
  try {
    await e.scope(async () => {
      const y = f(params);
      const yRef = storedTensor(c, 'y');
      expect(y.shape, `${c.name}: output shape`).toEqual(yRef.shape);
      backward(y, uploadStored(e, c, 'dy'));
      checkAgainstTorch(`${c.name}: forward`, await read(y), yRef.data, forwardTol);
      for (const n of inputNames) {
        const g = params[n]!.grad;
        expect(g, `${c.name}: gradient of ${n}`).toBeTruthy();
        checkAgainstTorch(`${c.name}: grad ${n}`, await read(g!), storedTensor(c, `grad_${n}`).data, TORCH_GRAD_TOL);
      }
    });
  } finally {
    for (const p of Object.values(params)) {
      p.grad?.dispose();
      p.grad = null;
      p.dispose();
    }
  }
}

/** One `it` per case of test/fixtures/torch/<op>.json, inside a "<op> vs PyTorch <version>" block. */
export function describeTorchFixture(op: string, body: (e: Engine, c: TorchCase) => Promise<void>): void {
  const fx = loadFixture(op);
  describe(`${op} vs PyTorch ${fx.torch}`, () => {
    for (const c of fx.cases) {
      it(c.name, async () => {
        const e = await getEngine();
        await body(e, c);
      });
    }
  });
}
