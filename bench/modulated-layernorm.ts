/**
 * Fused modulatedLayerNorm against its composition from core ops (channel layerNorm, then
 * broadcasting mul by scale [B, C, 1, 1] and add of shift), forward and forward+backward, at the
 * paper preset's first two U-Net levels: x [8, 48, 56, 56] and [8, 96, 28, 28]. Median of --runs
 * synchronised runs after warm-up; --quick uses batch 1.
 *   ./node_modules/.bin/bun bench/modulated-layernorm.ts [--quick] [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, backward, zeroGrad, type Tensor, modulatedLayerNorm, modulatedLayerNormComposed } from '../src/engine/index.ts';
import { comparisonCells, comparisonHead, ratioBasis, timeMedian, type BenchCase } from './harness.ts';

type Inputs = { x: Tensor; weight: Tensor; bias: Tensor; scale: Tensor; shift: Tensor };
type Op = (i: Inputs) => Tensor;
const fused: Op = ({ x, weight, bias, scale, shift }) => modulatedLayerNorm(x, weight, bias, scale, shift);
const composed: Op = ({ x, weight, bias, scale, shift }) => modulatedLayerNormComposed(x, weight, bias, scale, shift);

export function modulatedLayerNormShapes(quick: boolean): [number, number, number, number][] {
  const b = quick ? 1 : 8;
  return [
    [b, 48, 56, 56],
    [b, 96, 28, 28],
  ];
}

/**
 * Work and traffic of one call, N = B·C·H·W, P = B·H·W pixels: forward about 8·N FLOPs (sums,
 * normalise, affine, modulation), bytes 4·(2·N + 2·P + 2·B·C + 2·C) (x read, y written, mean and
 * rstd written, scale/shift and weight/bias read); backward about 12·N FLOPs, reading x, dy, mean,
 * rstd and writing dx plus the [B, C] and [C] gradients.
 */
export function modulatedLayerNormCost([b, c, h, w]: readonly number[]) {
  const n = b! * c! * h! * w!;
  const pixels = b! * h! * w!;
  const small = 2 * b! * c! + 2 * c!;
  const flops = 8 * n;
  const bytes = 4 * (2 * n + 2 * pixels + small);
  return { flops, bytes, flopsFwdBwd: flops + 12 * n, bytesFwdBwd: bytes + 4 * (3 * n + 2 * pixels + 2 * small) };
}

/** Cases for bench/run.ts: the fused kernel at the preset shapes. */
export function modulatedLayerNormCases(quick: boolean): BenchCase[] {
  return modulatedLayerNormShapes(quick).map((shape) => ({
    name: 'modulatedLayerNorm',
    shape: `x [${shape.join(', ')}]`,
    ...modulatedLayerNormCost(shape),
    setup: (e: Engine) => {
      const inputs = makeInputs(e, shape);
      return { forward: () => fused(inputs), inputs: Object.values(inputs) };
    },
  }));
}

function makeInputs(e: Engine, shape: readonly number[]): Inputs {
  const rand = (s: readonly number[], lo: number, hi: number) => {
    const n = s.reduce((a, d) => a * d, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = lo + Math.random() * (hi - lo);
    return e.tensor(data, s).asParameter();
  };
  const [b, c] = shape as [number, number];
  return { x: rand(shape, -2, 2), weight: rand([c], 0.5, 1.5), bias: rand([c], -0.2, 0.2), scale: rand([b, c], -0.1, 0.1), shift: rand([b, c], -0.1, 0.1) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, runs: { type: 'string', default: '10' } } });
  const runs = Math.max(10, parseInt(values.runs!, 10));
  const e = await Engine.create();
  console.log(`adapter: ${e.info.description}; median of ${runs} runs after 2 warm-up runs`);
  const basis = ratioBasis(e);
  const head = ['x shape', 'pass', ...comparisonHead('GB', basis)];
  console.log(head.map((h, i) => (i < 2 ? h.padEnd(i ? 8 : 22) : h.padStart(16))).join(' '));
  for (const shape of modulatedLayerNormShapes(values.quick!)) {
    const inputs = makeInputs(e, shape);
    const params = Object.values(inputs);
    const dy = e.fill(e.empty(shape), 0.5).keep();
    const time = async (op: Op, withBackward: boolean) =>
      timeMedian(e, () => {
        if (!withBackward) return e.noGrad(() => e.scope(() => { op(inputs); }));
        e.scope(() => backward(op(inputs), dy));
        zeroGrad(params);
      }, 2, runs);
    const cost = modulatedLayerNormCost(shape);
    for (const withBackward of [false, true]) {
      const f = await time(fused, withBackward);
      const c = await time(composed, withBackward);
      const bytes = withBackward ? cost.bytesFwdBwd : cost.bytes;
      console.log([`[${shape.join(', ')}]`.padEnd(22), (withBackward ? 'fwd+bwd' : 'fwd').padEnd(8), ...comparisonCells(f, c, bytes, basis).map((x) => x.padStart(16))].join(' '));
    }
    for (const t of [...params, dy]) t.dispose();
  }
}

if (import.meta.main) {
  await main();
  process.exit(0);
}
