/**
 * softmax and LayerNorm timing: forward, and backward alone (the recorded backward of one forward,
 * called directly), median of --runs synchronised runs after warm-up, wall and process CPU time. GB/s
 * (per CPU-second on CPU adapters) counts each input read once and each output written once.
 *   ./node_modules/.bin/bun bench/norm.ts [--runs N]
 */
import { parseArgs } from 'node:util';
import { Engine, type Tensor, softmax, logSoftmax, layerNorm } from '../src/engine/index.ts';
import { ratioBasis, timeMedian } from './harness.ts';
import { basisMs, type Measured } from './cpu-time.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Math.max(10, parseInt(values.runs!, 10));

const e = await Engine.create();
console.log(`adapter: ${e.info.description}; median of ${runs} runs`);
const basis = ratioBasis(e);
console.log(`${'case'.padEnd(34)} ${'pass'.padEnd(9)} ${'ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${(basis === 'cpu' ? 'GB/CPU-s' : 'GB/s').padStart(8)}`);
const cells = (m: Measured, bytes: number) => `${m.wallMs.toFixed(3).padStart(8)} ${m.cpuMs.toFixed(3).padStart(8)} ${(bytes / (basisMs(m, basis) * 1e6)).toFixed(2).padStart(8)}`;

interface Case {
  name: string;
  shape: number[];
  /** Inputs: x first, then per-channel parameters. */
  make: () => Tensor[];
  f: (xs: Tensor[]) => Tensor;
  /** Bytes of forward and backward: each input read once, each output written once. */
  bytes: { fwd: number; bwd: number };
}

const filled = (shape: number[], v: number) => e.fill(e.empty(shape), v);
const random = (shape: number[]) => e.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => Math.random() * 4 - 2), shape);

function lnCase(name: string, shape: number[], axis: number): Case {
  const n = shape.reduce((a, b) => a * b, 1);
  const C = shape[axis < 0 ? shape.length + axis : axis]!;
  const P = n / C;
  return {
    name, shape,
    make: () => [random(shape), filled([C], 1.5), filled([C], 0.25)],
    f: ([x, w, b]) => layerNorm(x!, w, b, { axis }),
    // fwd: x, w, b → y, mean, rstd.  bwd: x, dy, w, mean, rstd → dx, dw, db.
    bytes: { fwd: 4 * (2 * n + 2 * C + 2 * P), bwd: 4 * (3 * n + 3 * C + 2 * P) },
  };
}

const cases: Case[] = [
  { name: 'softmax', shape: [4096, 256], make: () => [random([4096, 256])], f: ([x]) => softmax(x!), bytes: { fwd: 8 * 4096 * 256, bwd: 12 * 4096 * 256 } },
  { name: 'logSoftmax', shape: [4096, 256], make: () => [random([4096, 256])], f: ([x]) => logSoftmax(x!), bytes: { fwd: 8 * 4096 * 256, bwd: 12 * 4096 * 256 } },
  { name: 'softmax (short rows)', shape: [65536, 7], make: () => [random([65536, 7])], f: ([x]) => softmax(x!), bytes: { fwd: 8 * 65536 * 7, bwd: 12 * 65536 * 7 } },
  { name: 'softmax (long rows)', shape: [64, 3136], make: () => [random([64, 3136])], f: ([x]) => softmax(x!), bytes: { fwd: 8 * 64 * 3136, bwd: 12 * 64 * 3136 } },
  lnCase('layerNorm last axis', [6272, 96], -1),
  lnCase('layerNorm NCHW channels', [8, 96, 28, 28], 1),
];

for (const c of cases) {
  const inputs = c.make().map((t) => t.asParameter());
  const fwdMs = await timeMedian(e, () => e.noGrad(() => e.scope(() => { c.f(inputs); })), 3, runs);
  const y = c.f(inputs);
  const dy = random([...y.shape]);
  const node = y.node!;
  const needs = inputs.map(() => true);
  const bwdMs = await timeMedian(e, () => e.noGrad(() => e.scope(() => { node.backward(dy, needs); })), 3, runs);
  const label = `${c.name} [${c.shape.join(', ')}]`;
  console.log(`${label.padEnd(34)} ${'forward'.padEnd(9)} ${cells(fwdMs, c.bytes.fwd)}`);
  console.log(`${label.padEnd(34)} ${'backward'.padEnd(9)} ${cells(bwdMs, c.bytes.bwd)}`);
  e.tape = [];
  for (const t of [y, dy, ...inputs]) t.dispose();
}
process.exit(0);
