import { describe, it, expect } from 'vitest';
import { windowCrossAttention } from '../src/engine/ops/window-cross-attention.ts';
import { scaledDotProductAttentionComposed } from '../src/engine/ops/attention.ts';
import { linear } from '../src/engine/ops/matmul.ts';
import { permute, slice } from '../src/engine/ops/layout.ts';
import { mean } from '../src/engine/ops/reduce.ts';
import { backward } from '../src/engine/autograd.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { attentionOptions, refAttention } from './attention-ref.ts';
import { expectClose, f32round, freshSeed, getEngine, gradCheck, randn, read, rng } from './helpers.ts';
import { compareWithTorch, describeTorchFixture } from './torch-fixture.ts';

interface WcaCase { B: number; H: number; W: number; d: number; heads: number; window: number; lm: 'full' | 'pooled' | 'given'; qProj?: boolean }

/** float64 forward of the whole layer (host loops), from the same f32-rounded inputs. */
function refForward(c: WcaCase, x: Record<string, Float64Array>): Float64Array {
  const { B, H, W, d, heads, window: w } = c;
  const dh = d / heads, n = w * w, wy = H / w, wx = W / w, nW = wy * wx;
  const lin = (src: Float64Array, rows: number, wt: Float64Array, bias: Float64Array | undefined, out: number, inF: number, wOff = 0) => {
    const y = new Float64Array(rows * out);
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        let s = bias ? bias[wOff + o]! : 0;
        for (let i = 0; i < inF; i++) s += src[r * inF + i]! * wt[(wOff + o) * inF + i]!;
        y[r * out + o] = s;
      }
    }
    return y;
  };
  // token index of (batch, window, position in window) in the [B, H, W] map
  const mapIdx = (b: number, win: number, t: number) => {
    const y = Math.floor(win / wx) * w + Math.floor(t / w);
    const xx = (win % wx) * w + (t % w);
    return (b * H + y) * W + xx;
  };
  const gatherRows = (src: Float64Array, bw: number, idx: (b: number, win: number, t: number) => number) => {
    const outRows = new Float64Array(bw * n * d);
    for (let bb = 0; bb < bw; bb++) for (let t = 0; t < n; t++) for (let ch = 0; ch < d; ch++) outRows[(bb * n + t) * d + ch] = src[idx(Math.floor(bb / nW), bb % nW, t) * d + ch]!;
    return outRows;
  };
  const xw = gatherRows(x.img!, B * nW, mapIdx);
  let lm: Float64Array;
  let share: number;
  if (c.lm === 'full') {
    lm = gatherRows(x.lm!, B * nW, mapIdx);
    share = 1;
  } else {
    share = nW;
    lm = new Float64Array(B * n * d);
    if (c.lm === 'given') lm.set(x.lm!);
    else {
      const f = H / w, g = W / w;
      for (let b = 0; b < B; b++) for (let t = 0; t < n; t++) for (let ch = 0; ch < d; ch++) {
        let s = 0;
        for (let u = 0; u < f; u++) for (let vv = 0; vv < g; vv++) s += x.lm![((b * H + Math.floor(t / w) * f + u) * W + (t % w) * g + vv) * d + ch]!;
        lm[(b * n + t) * d + ch] = s / (f * g);
      }
    }
  }
  const bq = lm.length / (n * d);
  if (c.qProj) lm = lin(lm, bq * n, x.qW!, x.qB, d, d);
  const k = lin(xw, B * nW * n, x.kvW!, x.kvB, d, d, 0);
  const v = lin(xw, B * nW * n, x.kvW!, x.kvB, d, d, d);
  const heads4 = (t: Float64Array, bt: number) => {
    const o = new Float64Array(t.length);
    for (let b = 0; b < bt; b++) for (let i = 0; i < n; i++) for (let h = 0; h < heads; h++) for (let e = 0; e < dh; e++) o[((b * heads + h) * n + i) * dh + e] = t[(b * n + i) * d + h * dh + e]!;
    return o;
  };
  const att = refAttention({ bq, heads, nq: n, nk: n, dh, share, window: w, scale: dh ** -0.5 }, heads4(lm, bq), heads4(k, B * nW), heads4(v, B * nW), x.table!, new Float64Array(B * nW * heads * n * dh)).out;
  const merged = new Float64Array(B * nW * n * d);
  for (let b = 0; b < B * nW; b++) for (let i = 0; i < n; i++) for (let h = 0; h < heads; h++) for (let e = 0; e < dh; e++) merged[(b * n + i) * d + h * dh + e] = att[((b * heads + h) * n + i) * dh + e]!;
  const proj = lin(merged, B * nW * n, x.projW!, x.projB, d, d);
  const out = new Float64Array(B * H * W * d);
  for (let bb = 0; bb < B * nW; bb++) for (let t = 0; t < n; t++) for (let ch = 0; ch < d; ch++) out[mapIdx(Math.floor(bb / nW), bb % nW, t) * d + ch] = proj[(bb * n + t) * d + ch]!;
  return out;
}

/** The same layer from core ops only (linear, permute, slice, mean, and the composed attention). */
function composedLayer(c: WcaCase, img: Tensor, lmT: Tensor, kvW: Tensor, kvB: Tensor, table: Tensor, projW: Tensor, projB: Tensor, qW?: Tensor, qB?: Tensor): Tensor {
  const { B, H, W, d, heads, window: w } = c;
  const dh = d / heads, n = w * w, nW = (H / w) * (W / w);
  const part = (t: Tensor) => permute(t.view([B, H / w, w, W / w, w, d]), [0, 1, 3, 2, 4, 5]).view([B * nW, n, d]);
  let lm = c.lm === 'full' ? part(lmT) : c.lm === 'given' ? lmT.view([B, n, d]) : mean(mean(lmT.view([B, w, H / w, w, W / w, d]), 4), 2).view([B, n, d]);
  if (qW) lm = linear(lm, qW, qB);
  const bq = lm.shape[0]!;
  const q = permute(lm.view([bq, n, heads, dh]), [0, 2, 1, 3]);
  const kv = permute(linear(part(img), kvW, kvB).view([B * nW, n, 2, heads, dh]), [2, 0, 3, 1, 4]); // [2, B·nW, heads, n, dh]
  const k = slice(kv, 0, 0, 1).view([B * nW, heads, n, dh]);
  const v = slice(kv, 0, 1, 2).view([B * nW, heads, n, dh]);
  const att = scaledDotProductAttentionComposed(q, k, v, attentionOptions({ bq, heads, nq: n, nk: n, dh, share: B * nW / bq, window: w, scale: dh ** -0.5 }, table));
  const y = linear(permute(att, [0, 2, 1, 3]).view([B * nW, n, d]), projW, projB);
  return permute(y.view([B, H / w, W / w, w, w, d]), [0, 1, 3, 2, 4, 5]).view([B, H, W, d]);
}

function makeInputs(c: WcaCase, r: () => number) {
  const { B, H, W, d, heads, window: w } = c;
  const span = 2 * w - 1;
  const lmSize = c.lm === 'given' ? B * w * w * d : B * H * W * d;
  const x: Record<string, Float64Array> = {
    img: f32round(randn(r, B * H * W * d)),
    lm: f32round(randn(r, lmSize)),
    kvW: f32round(randn(r, 2 * d * d, d ** -0.5)),
    kvB: f32round(randn(r, 2 * d, 0.1)),
    table: f32round(randn(r, span * span * heads, 0.5)),
    projW: f32round(randn(r, d * d, d ** -0.5)),
    projB: f32round(randn(r, d, 0.1)),
  };
  if (c.qProj) {
    x.qW = f32round(randn(r, d * d, d ** -0.5));
    x.qB = f32round(randn(r, d, 0.1));
  }
  const shapes: Record<string, number[]> = {
    img: [B, H, W, d], lm: c.lm === 'given' ? [B, w, w, d] : [B, H, W, d], kvW: [2 * d, d], kvB: [2 * d], table: [span * span, heads],
    projW: [d, d], projB: [d], qW: [d, d], qB: [d],
  };
  return { x, shapes };
}

const NAMES = ['img', 'lm', 'kvW', 'kvB', 'table', 'projW', 'projB', 'qW', 'qB'];

async function checkLayer(c: WcaCase, label: string) {
  const e = await getEngine();
  const r = rng(freshSeed(label));
  const { x, shapes } = makeInputs(c, r);
  const names = NAMES.filter((k) => x[k]);
  const refOut = refForward(c, x);
  const dOut = f32round(randn(r, refOut.length));
  await e.scope(async () => {
    const t: Record<string, Tensor> = {};
    for (const k of names) t[k] = e.tensor(Float32Array.from(x[k]!), shapes[k]!).asParameter();
    const fused = () =>
      windowCrossAttention(t.img!, t.lm!, t.kvW!, t.kvB!, t.table!, t.projW!, t.projB!, {
        heads: c.heads, window: c.window, poolQueries: c.lm === 'pooled', qWeight: t.qW, qBias: t.qB,
      });
    const composed = () => composedLayer(c, t.img!, t.lm!, t.kvW!, t.kvB!, t.table!, t.projW!, t.projB!, t.qW, t.qB);
    const grads: Float64Array[][] = [];
    const outs: Float64Array[] = [];
    for (const f of [fused, composed]) {
      const y = f();
      expect(y.shape).toEqual([c.B, c.H, c.W, c.d]);
      backward(y, e.tensor(Float32Array.from(dOut), y.shape));
      outs.push(await read(y));
      grads.push(await Promise.all(names.map((k) => read(t[k]!.grad!))));
      for (const k of names) { t[k]!.grad!.dispose(); t[k]!.grad = null; }
    }
    expectClose(outs[0]!, refOut, 1e-5, `${label} forward vs float64`);
    expectClose(outs[1]!, refOut, 1e-5, `${label} composed forward vs float64`);
    names.forEach((k, i) => expectClose(grads[0]![i]!, grads[1]![i]!, 1e-4, `${label} gradient of ${k} vs composed ops`));
    for (const k of names) t[k]!.dispose();
  });
}

describe('windowCrossAttention', () => {
  it('7×7 map, window 7, d=256, 8 heads (paper stage 3)', () => checkLayer({ B: 1, H: 7, W: 7, d: 256, heads: 8, window: 7, lm: 'full' }, 'wca 7x7'));
  it('14×14 map, window 14, d=128, 4 heads (paper stage 2)', () => checkLayer({ B: 1, H: 14, W: 14, d: 128, heads: 4, window: 14, lm: 'full' }, 'wca 14x14'));
  it('28×28 map, window 28, d=64, 2 heads (paper stage 1, 784 tokens)', () => checkLayer({ B: 1, H: 28, W: 28, d: 64, heads: 2, window: 28, lm: 'full' }, 'wca 28x28'));
  it('14×14 map, window 7: pooled landmark queries shared by 4 windows, batch 2', () => checkLayer({ B: 2, H: 14, W: 14, d: 32, heads: 2, window: 7, lm: 'pooled' }, 'wca 14/7 pooled'));
  it('14×14 map, window 7: queries pooled by the caller', () => checkLayer({ B: 2, H: 14, W: 14, d: 32, heads: 2, window: 7, lm: 'given' }, 'wca 14/7 given'));
  it('6×4 map, window 2: per-window queries (6 windows), qProj, dh=4', () => checkLayer({ B: 2, H: 6, W: 4, d: 12, heads: 3, window: 2, lm: 'full', qProj: true }, 'wca per-window qProj'));

  it('finite differences on a tiny shape (pooled queries, qProj)', async () => {
    const e = await getEngine();
    const seed = freshSeed('wca finite differences');
    const c: WcaCase = { B: 1, H: 4, W: 4, d: 4, heads: 2, window: 2, lm: 'pooled', qProj: true };
    const { x, shapes } = makeInputs(c, rng(seed));
    await gradCheck({
      e, seed, label: 'windowCrossAttention',
      inputs: NAMES.map((k) => ({ data: x[k]!, shape: shapes[k]! })),
      f: ([img, lm, kvW, kvB, table, projW, projB, qW, qB]) =>
        windowCrossAttention(img!, lm!, kvW!, kvB!, table!, projW!, projB!, { heads: 2, window: 2, poolQueries: true, qWeight: qW, qBias: qB }),
    });
  });

  it('rejects a window that does not divide the map and a table of the wrong size', async () => {
    const e = await getEngine();
    e.scope(() => {
      const d = 8;
      const img = e.empty([1, 14, 14, d]);
      const w = (n: number[]) => e.empty(n);
      expect(() => windowCrossAttention(img, img, w([2 * d, d]), w([2 * d]), w([81, 2]), w([d, d]), w([d]), { heads: 2, window: 5 })).toThrow(
        /windowCrossAttention: window 5 does not divide the 14×14 map \(image \[1, 14, 14, 8\]\)/,
      );
      expect(() => windowCrossAttention(img, img, w([2 * d, d]), w([2 * d]), w([81, 2]), w([d, d]), w([d]), { heads: 2, window: 7 })).toThrow(
        /windowCrossAttention: relTable .*\[81, 2\] should be \[169, 2\]/,
      );
      expect(() => windowCrossAttention(img, w([1, 5, 5, d]), w([2 * d, d]), w([2 * d]), w([169, 2]), w([d, d]), w([d]), { heads: 2, window: 7 })).toThrow(
        /landmark tokens \[1, 5, 5, 8\] must be/,
      );
    });
  });
});

describeTorchFixture('window-cross-attention', (e, c) => {
  const { heads, window, queries } = c.options as { heads: number; window: number; queries: string };
  return compareWithTorch(e, c, ['img', 'lm', 'kvWeight', 'kvBias', 'relTable', 'projWeight', 'projBias'], (x) =>
    windowCrossAttention(x.img!, x.lm!, x.kvWeight!, x.kvBias!, x.relTable!, x.projWeight!, x.projBias!, {
      heads, window, poolQueries: queries === 'pool',
    }));
});
