/**
 * Cross-checks of the fused LRDif kernels (and a few core ops) against PyTorch: fixtures computed
 * in float64 by torch autograd from float32 inputs, stored in test/fixtures/torch/*.json by
 * scripts/torch-fixtures.py (regenerate with `/usr/bin/python3 scripts/torch-fixtures.py`; CI needs
 * no PyTorch). Each case runs our op on the fixture's inputs, back-propagates the fixture's upstream
 * gradient dy, and compares the output and every input gradient with torch's.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backward } from '../src/engine/autograd.ts';
import type { Engine } from '../src/engine/engine.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { transposedChannelAttention } from '../src/engine/ops/channel-attention.ts';
import { gatedDepthwiseConv } from '../src/engine/ops/gated-dwconv.ts';
import { modulatedLayerNorm } from '../src/engine/ops/modulated-layernorm.ts';
import { windowCrossAttention } from '../src/engine/ops/window-cross-attention.ts';
import { scaledDotProductAttention } from '../src/engine/ops/attention.ts';
import { crossEntropy, klDivergence, l1Loss } from '../src/engine/ops/losses.ts';
import { Adam, type AdamOptions } from '../src/engine/ops/adam.ts';
import { conv2d } from '../src/engine/ops/conv2d.ts';
import { layerNorm } from '../src/engine/ops/layernorm.ts';
import { gelu } from '../src/engine/ops/elementwise.ts';
import { pixelShuffle, pixelUnshuffle } from '../src/engine/ops/layout.ts';
import { getEngine, read, relErr } from './helpers.ts';

interface Stored {
  shape: number[];
  data: number[];
}
interface FixtureCase {
  name: string;
  options: Record<string, unknown>;
  tensors: Record<string, Stored>;
}
interface Fixture {
  torch: string;
  seed: number;
  cases: FixtureCase[];
}

function loadFixture(name: string): Fixture {
  const path = fileURLToPath(new URL(`./fixtures/torch/${name}.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')) as Fixture;
}

const FORWARD_TOL = 1e-5;
const GRAD_TOL = 1e-4;

function check(label: string, got: ArrayLike<number>, ref: ArrayLike<number>, tol: number): void {
  const err = relErr(got, ref);
  console.log(`${label}: relative error ${err.toExponential(2)}`);
  expect(err, `${label}: relative error ${err.toExponential(3)} (tolerance ${tol})`).toBeLessThan(tol);
}

function stored(c: FixtureCase, name: string): Stored {
  const t = c.tensors[name];
  if (!t) throw new Error(`fixture case "${c.name}" has no tensor "${name}"`);
  return t;
}

/**
 * Uploads the named inputs as parameters, runs `f`, back-propagates the fixture's dy, and compares
 * y with torch's forward and each parameter's gradient with grad_<name>.
 */
async function compareWithTorch(
  e: Engine, c: FixtureCase, inputNames: string[], f: (x: Record<string, Tensor>) => Tensor, forwardTol = FORWARD_TOL,
): Promise<void> {
  const params: Record<string, Tensor> = {};
  for (const n of inputNames) {
    const s = stored(c, n);
    params[n] = e.tensor(Float32Array.from(s.data), s.shape).asParameter(n);
  }
  try {
    await e.scope(async () => {
      const y = f(params);
      const yRef = stored(c, 'y');
      expect(y.shape, `${c.name}: output shape`).toEqual(yRef.shape);
      const dy = stored(c, 'dy');
      backward(y, e.tensor(Float32Array.from(dy.data), dy.shape));
      check(`${c.name}: forward`, await read(y), yRef.data, forwardTol);
      for (const n of inputNames) {
        const g = params[n]!.grad;
        expect(g, `${c.name}: gradient of ${n}`).toBeTruthy();
        check(`${c.name}: grad ${n}`, await read(g!), stored(c, `grad_${n}`).data, GRAD_TOL);
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

function forEachCase(file: string, body: (e: Engine, c: FixtureCase) => Promise<void>): void {
  const fx = loadFixture(file);
  describe(`${file} vs PyTorch ${fx.torch}`, () => {
    for (const c of fx.cases) {
      it(c.name, async () => {
        const e = await getEngine();
        await body(e, c);
      });
    }
  });
}

forEachCase('channel-attention', (e, c) =>
  compareWithTorch(e, c, ['q', 'k', 'v', 'temperature'], (x) => transposedChannelAttention(x.q!, x.k!, x.v!, x.temperature!, c.options.heads as number)));

forEachCase('gated-dwconv', (e, c) => {
  const names = c.options.bias ? ['x', 'weight', 'bias'] : ['x', 'weight'];
  return compareWithTorch(e, c, names, (x) => gatedDepthwiseConv(x.x!, x.weight!, x.bias ?? null));
});

forEachCase('modulated-layernorm', (e, c) => {
  const withBias = c.options.withBias as boolean;
  const names = withBias ? ['x', 'lnWeight', 'lnBias', 'scale', 'shift'] : ['x', 'lnWeight', 'scale', 'shift'];
  return compareWithTorch(e, c, names, (x) => modulatedLayerNorm(x.x!, x.lnWeight!, x.lnBias ?? null, x.scale!, x.shift!));
});

forEachCase('window-cross-attention', (e, c) => {
  const { heads, window, queries } = c.options as { heads: number; window: number; queries: string };
  return compareWithTorch(e, c, ['img', 'lm', 'kvWeight', 'kvBias', 'relTable', 'projWeight', 'projBias'], (x) =>
    windowCrossAttention(x.img!, x.lm!, x.kvWeight!, x.kvBias!, x.relTable!, x.projWeight!, x.projBias!, {
      heads, window, poolQueries: queries === 'pool',
    }));
});

forEachCase('attention', (e, c) =>
  compareWithTorch(e, c, ['q', 'k', 'v'], (x) => scaledDotProductAttention(x.q!, x.k!, x.v!, { scale: c.options.scale as number })));

forEachCase('losses', (e, c) => {
  if (c.name.startsWith('cross_entropy')) {
    const labels = c.options.labels as number[];
    return compareWithTorch(e, c, ['logits'], (x) => crossEntropy(x.logits!, labels, { labelSmoothing: c.options.labelSmoothing as number }));
  }
  if (c.name.startsWith('kl_div')) {
    const t = stored(c, 'target');
    return compareWithTorch(e, c, ['pred'], (x) =>
      klDivergence(e.tensor(Float32Array.from(t.data), t.shape), x.pred!, { tau: c.options.tau as number }));
  }
  if (c.name.startsWith('l1_loss')) return compareWithTorch(e, c, ['a', 'b'], (x) => l1Loss(x.a!, x.b!));
  throw new Error(`losses fixture: unknown case ${c.name}`);
});

forEachCase('adam', async (e, c) => {
  const { adam, steps, sizes } = c.options as { adam: AdamOptions; steps: number; sizes: number[] };
  const p0 = sizes.map((_, i) => stored(c, `p${i}`));
  const params = p0.map((s, i) => e.tensor(Float32Array.from(s.data), s.shape).asParameter(`p${i}`));
  const opt = new Adam(params, adam);
  try {
    for (let s = 0; s < steps; s++) {
      params.forEach((p, i) => {
        const g = stored(c, `grad${s}_${i}`);
        p.grad = e.tensor(Float32Array.from(g.data), g.shape).keep();
      });
      opt.step();
      for (const p of params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
    const flat = (xs: ArrayLike<number>[]) => xs.flatMap((x) => Array.from(x));
    const got = flat(await Promise.all(params.map((p) => read(p))));
    const ref = flat(sizes.map((_, i) => stored(c, `final_p${i}`).data));
    const start = flat(p0.map((s) => s.data));
    check(`${c.name}: parameters`, got, ref, FORWARD_TOL);
    // The displacement from the start is the stricter measure of the update itself.
    check(`${c.name}: displacement`, got.map((x, k) => x - start[k]!), ref.map((x, k) => x - start[k]!), GRAD_TOL);
    const st = await opt.state();
    check(`${c.name}: first moments`, flat(st.m), flat(sizes.map((_, i) => stored(c, `final_m${i}`).data)), FORWARD_TOL);
    check(`${c.name}: second moments`, flat(st.v), flat(sizes.map((_, i) => stored(c, `final_v${i}`).data)), FORWARD_TOL);
    expect(st.steps).toEqual(sizes.map(() => steps));
  } finally {
    opt.dispose();
    for (const p of params) p.dispose();
  }
});

forEachCase('core', (e, c) => {
  const o = c.options as { stride?: number; padding?: number; groups?: number; eps?: number; r?: number };
  if (c.name.startsWith('conv2d')) {
    return compareWithTorch(e, c, ['x', 'weight', 'bias'], (x) =>
      conv2d(x.x!, x.weight!, x.bias!, { stride: o.stride!, padding: o.padding!, groups: o.groups! }));
  }
  if (c.name.startsWith('layer_norm channels')) {
    const names = c.options.withBias ? ['x', 'weight', 'bias'] : ['x', 'weight'];
    return compareWithTorch(e, c, names, (x) => layerNorm(x.x!, x.weight!, x.bias ?? null, { eps: o.eps!, axis: 1 }));
  }
  if (c.name.startsWith('layer_norm')) return compareWithTorch(e, c, ['x', 'weight', 'bias'], (x) => layerNorm(x.x!, x.weight!, x.bias!, { eps: o.eps! }));
  if (c.name.startsWith('gelu')) return compareWithTorch(e, c, ['x'], (x) => gelu(x.x!));
  if (c.name.startsWith('pixel_unshuffle')) return compareWithTorch(e, c, ['x'], (x) => pixelUnshuffle(x.x!, o.r!));
  if (c.name.startsWith('pixel_shuffle')) return compareWithTorch(e, c, ['x'], (x) => pixelShuffle(x.x!, o.r!));
  throw new Error(`core fixture: unknown case ${c.name}`);
});
