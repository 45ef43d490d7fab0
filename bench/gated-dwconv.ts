/**
 * Fused gatedDepthwiseConv against its composition from core ops (depthwise conv2d, two slices,
 * gelu, mul), forward and forward+backward, at the GDFN shapes of the paper preset (expansion
 * 2.66: C = 48 → x [8, 254, 56, 56], C = 96 → x [8, 510, 28, 28]). Median of --runs synchronised
 * runs after warm-up; --quick uses batch 1.
 *   ./node_modules/.bin/bun bench/gated-dwconv.ts [--quick] [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, backward, zeroGrad, type Tensor, gatedDepthwiseConv, gatedDepthwiseConvComposed } from '../src/engine/index.ts';
import { comparisonCells, comparisonHead, ratioBasis, timeMedian, type BenchCase } from './harness.ts';

type Op = (x: Tensor, weight: Tensor, bias: Tensor) => Tensor;
const fused: Op = (x, weight, bias) => gatedDepthwiseConv(x, weight, bias);
const composed: Op = (x, weight, bias) => gatedDepthwiseConvComposed(x, weight, bias);

/** GDFN hidden size of Restormer: int(C · 2.66). */
const hiddenOf = (c: number) => Math.floor(c * 2.66);

/** Shapes [B, 2·Hd, H, W] of the paper preset's first two U-Net levels. */
export function gatedDwconvShapes(quick: boolean): [number, number, number, number][] {
  const b = quick ? 1 : 8;
  return [
    [b, 2 * hiddenOf(48), 56, 56],
    [b, 2 * hiddenOf(96), 28, 28],
  ];
}

/**
 * Work and traffic of one call, N2 = B·2Hd·H·W (x, dx) and N1 = B·Hd·H·W (out, dy): forward 18·N2
 * FLOPs (the 3×3 multiply-adds of both halves) + 2·N1 (GELU's product and the gate; erf not
 * counted), bytes 4·(N2 + N1) + weights; backward recomputes the forward, then 18·N2 for dx and
 * 18·N2 for dweight, reading x and dy and writing dx.
 */
export function gatedDwconvCost([b, c2, h, w]: readonly number[]) {
  const n2 = b! * c2! * h! * w!;
  const n1 = n2 / 2;
  const params = 4 * c2! * 10;
  const flops = 18 * n2 + 2 * n1;
  const bytes = 4 * (n2 + n1) + params;
  return { flops, bytes, flopsFwdBwd: 2 * flops + 36 * n2, bytesFwdBwd: bytes + 4 * (n2 + n1 + n2) + 2 * params };
}

/** Cases for bench/run.ts: the fused kernel at the preset shapes. */
export function gatedDwconvCases(quick: boolean): BenchCase[] {
  return gatedDwconvShapes(quick).map((shape) => ({
    name: 'gatedDepthwiseConv',
    shape: `x [${shape.join(', ')}]`,
    ...gatedDwconvCost(shape),
    setup: (e: Engine) => {
      const { x, weight, bias } = makeInputs(e, shape);
      return { forward: () => fused(x, weight, bias), inputs: [x, weight, bias] };
    },
  }));
}

function makeInputs(e: Engine, shape: readonly number[]) {
  const rand = (s: readonly number[], scale: number) => {
    const n = s.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (Math.random() * 2 - 1) * scale;
    return e.tensor(data, s).asParameter();
  };
  const c2 = shape[1]!;
  return { x: rand(shape, 1), weight: rand([c2, 1, 3, 3], 0.3), bias: rand([c2], 0.1) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '10' } } });
  const runs = Math.max(10, parseInt(values.runs!, 10));
  const e = await Engine.create();
  console.log(`adapter: ${e.info.description}; median of ${runs} runs after 2 warm-up runs`);
  const basis = ratioBasis(e);
  const head = ['x shape', 'pass', ...comparisonHead('GB', basis)];
  console.log(head.map((h, i) => (i < 2 ? h.padEnd(i ? 8 : 22) : h.padStart(16))).join(' '));
  for (const shape of gatedDwconvShapes(values.quick!)) {
    const { x, weight, bias } = makeInputs(e, shape);
    const dy = e.fill(e.empty([shape[0]!, shape[1]! / 2, shape[2]!, shape[3]!]), 0.5).keep();
    const time = async (op: Op, withBackward: boolean) =>
      timeMedian(e, () => {
        if (!withBackward) return e.noGrad(() => e.scope(() => { op(x, weight, bias); }));
        e.scope(() => backward(op(x, weight, bias), dy));
        zeroGrad([x, weight, bias]);
      }, 2, runs);
    const cost = gatedDwconvCost(shape);
    for (const withBackward of [false, true]) {
      const f = await time(fused, withBackward);
      const c = await time(composed, withBackward);
      const bytes = withBackward ? cost.bytesFwdBwd : cost.bytes;
      console.log([`[${shape.join(', ')}]`.padEnd(22), (withBackward ? 'fwd+bwd' : 'fwd').padEnd(8), ...comparisonCells(f, c, bytes, basis).map((x) => x.padStart(16))].join(' '));
    }
    for (const t of [x, weight, bias, dy]) t.dispose();
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
