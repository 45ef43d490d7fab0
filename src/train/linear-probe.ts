/**
 * A linear classifier on fixed features (multinomial logistic regression): the reference a
 * representation is judged by. Features are standardised with the training set's mean and
 * standard deviation, then weights and bias are fitted by full-batch Adam on the mean
 * cross-entropy plus an L2 penalty, on the engine (no framework).
 */
import { type Engine, backward, zeroGrad, Adam, crossEntropy, linear } from '../engine/index.ts';
import { argmaxRows, computeMetrics, type Metrics } from './metrics.ts';

export interface LinearProbeOptions {
  /** Full-batch Adam steps. */
  steps: number;
  lr: number;
  /** L2 penalty on the weights (Adam's coupled weight decay). */
  weightDecay: number;
}

export const DEFAULT_PROBE: LinearProbeOptions = { steps: 300, lr: 0.05, weightDecay: 1e-3 };

export interface ProbeData {
  /** [n, dim] row-major. */
  x: Float32Array;
  labels: ArrayLike<number>;
}

/** Fits on `train`, returns held-out metrics and predictions on `test`. */
export async function linearProbe(e: Engine, train: ProbeData, test: ProbeData, numClasses: number, opts: Partial<LinearProbeOptions> = {}): Promise<{ metrics: Metrics; predictions: number[] }> {
  const o = { ...DEFAULT_PROBE, ...opts };
  const n = train.labels.length;
  const m = test.labels.length;
  if (n === 0 || train.x.length % n !== 0) throw new Error(`linearProbe: ${train.x.length} training values for ${n} labels`);
  const dim = train.x.length / n;
  if (test.x.length !== m * dim) throw new Error(`linearProbe: held-out features have ${test.x.length} values, expected ${m} × ${dim}`);
  for (const [what, d] of [['training', train], ['held-out', test]] as const) {
    for (let i = 0; i < d.labels.length; i++) {
      const y = d.labels[i]!;
      if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new Error(`linearProbe: ${what} label ${i} is ${y}, expected 0..${numClasses - 1}`);
    }
  }
  // Standardise by the training statistics (a constant feature stays 0).
  const mu = new Float64Array(dim);
  const sd = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mu[j] = mu[j]! + train.x[i * dim + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) sd[j] = sd[j]! + (train.x[i * dim + j]! - mu[j]!) ** 2 / n;
  const standardise = (x: Float32Array) => Float32Array.from(x, (v, k) => (v - mu[k % dim]!) / (Math.sqrt(sd[k % dim]!) || 1));
  return e.scope(async () => {
    const xTrain = e.tensor(standardise(train.x), [n, dim]);
    const xTest = e.tensor(standardise(test.x), [m, dim]);
    const yTrain = e.tensor(Array.from(train.labels), [n], 'u32');
    const w = e.tensor(new Float32Array(numClasses * dim), [numClasses, dim]).asParameter('probe.weight');
    const b = e.tensor(new Float32Array(numClasses), [numClasses]).asParameter('probe.bias');
    const opt = new Adam([w, b], { lr: o.lr, weightDecay: o.weightDecay });
    for (let s = 0; s < o.steps; s++) {
      e.scope(() => {
        backward(crossEntropy(linear(xTrain, w, b), yTrain));
        opt.step();
        zeroGrad([w, b]);
      });
    }
    const logits = (await e.noGrad(() => linear(xTest, w, b)).read()) as Float32Array;
    opt.dispose();
    for (const t of [w, b]) {
      t.grad?.dispose();
      t.dispose();
    }
    const predictions = argmaxRows(logits, numClasses);
    return { metrics: computeMetrics(test.labels, predictions, numClasses), predictions };
  });
}
