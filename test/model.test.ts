import { describe, it, expect } from 'vitest';
import { makeConfig } from '../src/model/config.ts';
import { LrdifModel, initFromCheckpoint } from '../src/model/lrdif.ts';
import { makeSchedule, reverseChain, type Denoiser } from '../src/model/diffusion.ts';
import { loadIntoModel, readCheckpoint, saveCheckpoint } from '../src/model/checkpoint.ts';
import { encodeSafetensors } from '../src/model/safetensors.ts';
import { crossEntropy } from '../src/engine/ops/losses.ts';
import { randomUniform } from '../src/engine/ops/random.ts';
import { backward, zeroGrad } from '../src/engine/autograd.ts';
import { sumAll } from '../src/engine/ops/reduce.ts';
import { abs } from '../src/engine/ops/elementwise.ts';
import type { Tensor } from '../src/engine/tensor.ts';
import { getEngine, read } from './helpers.ts';

/**
 * The from-scratch image paths and the oracle heatmap stem: the architecture of DECISIONS §2–3 as
 * written (the pretrained-backbone path is tested in frozen-features.test.ts).
 */
const SCRATCH = { backbone: 'none', landmarkFeatures: 'heatmap' } as const;

function count(m: LrdifModel, prefix: string): number {
  return [...m.namedParameters()].filter(([n]) => n.startsWith(prefix)).reduce((p, [, t]) => p + t.size, 0);
}

function batchFor(e: Awaited<ReturnType<typeof getEngine>>, size: number, B: number, seed: number) {
  return {
    image: randomUniform(e, [B, 3, size, size], seed),
    landmarks: randomUniform(e, [B, 68, 2], seed + 1),
    labels: e.tensor(Array.from({ length: B }, (_, i) => i % 7), [B], 'u32'),
  };
}

describe('LRDif model', () => {
  it('paper preset: parameter counts match DECISIONS §3', async () => {
    const e = await getEngine();
    const m1 = new LrdifModel(e, makeConfig('paper', SCRATCH), 1, 1);
    const blocks = ['encoder_level1', 'encoder_level2', 'encoder_level3', 'latent'].map((s) => count(m1, `dt.${s}.0.`));
    expect(blocks).toEqual([80431, 216176, 652960, 2189522]);
    expect(count(m1, 'dt.')).toBe(31900364);
    expect(m1.numParameters() / 1e6).toBeCloseTo(63.1, 1);
    m1.dispose();
    const m2 = new LrdifModel(e, makeConfig('paper', SCRATCH), 2, 1);
    // The stage-2 inference graph excludes the frozen stage-1 branch (it only produces targets).
    expect((m2.numParameters() - count(m2, 'fpen_s1.')) / 1e6).toBeCloseTo(63.2, 1);
    expect(count(m2, 'denoise.')).toBe(197376); // reference §11
    expect(count(m2, 'fpen_s1.')).toBeGreaterThan(0);
    m2.dispose();
  });

  it('paper preset at 112×112: DT, DIL and fusion shapes match reference §11', async () => {
    const e = await getEngine();
    const m = new LrdifModel(e, makeConfig('paper', SCRATCH), 1, 2);
    await e.noGrad(() =>
      e.scope(async () => {
        const b = batchFor(e, 112, 1, 3);
        const z = m.fpenS1!.forward(b.image, b.labels);
        expect(z.shape).toEqual([1, 256]);
        const f = m.dt.forward(b.image, z);
        expect([f.f1.shape, f.f2.shape, f.f3.shape]).toEqual([[1, 96, 28, 28], [1, 192, 14, 14], [1, 384, 7, 7]]);
        const o = m.dil.forward(b.image, b.landmarks);
        expect([o.o1.shape, o.o2.shape, o.o3.shape]).toEqual([[1, 64, 28, 28], [1, 128, 14, 14], [1, 256, 7, 7]]);
        expect(m.fusion.tokens).toBe(148);
        expect([...m.fusion.posEmbed.shape]).toEqual([1, 148, 768]);
        const blk = m.dil.blocks.map((x) => [...x.relTable.shape]);
        expect(blk).toEqual([[3025, 2], [729, 4], [169, 8]]);
      }),
    );
    m.dispose();
  });

  // Stage 1 and 2 with the tiny preset's pooled readout, and stage 1 with POSTER++'s CLS readout
  // (class token, final LayerNorm, SE gate) and normalised DIL shortcut at tiny sizes.
  const variants = [
    { stage: 1, name: 'tiny', over: {} },
    { stage: 2, name: 'tiny', over: {} },
    { stage: 1, name: 'tiny with the CLS readout', over: { vit: { readout: 'cls' as const }, dil: { shortcut: 'normalised' as const } } },
  ] as const;
  for (const { stage, name, over } of variants) {
    it(`${name} stage ${stage}: every trainable parameter gets a non-zero gradient, frozen ones none`, async () => {
      const e = await getEngine();
      const m = new LrdifModel(e, makeConfig('tiny', { ...SCRATCH, ...over }), stage, 4);
      if (name !== 'tiny') expect(m.fusion.norm).not.toBeNull();
      else expect([...m.namedParameters()].map(([n]) => n)).toContain('fusion.blocks.0.gamma1');
      await e.scope(async () => {
        const b = batchFor(e, 64, 3, 5);
        const r = stage === 1 ? m.forwardStage1(b) : m.forwardStage2Train(b, 9);
        expect(r.logits.shape).toEqual([3, 7]);
        backward(crossEntropy(r.logits, b.labels));
        const zero: string[] = [];
        const frozenWithGrad: string[] = [];
        const norms = await Promise.all([...m.namedParameters()].map(async ([n, t]) => [n, t, t.grad ? (await read(sumAll(abs(t.grad))))[0]! : null] as const));
        for (const [n, t, g] of norms) {
          if (!t.requiresGrad) {
            if (t.grad) frozenWithGrad.push(n);
          } else if (!(g !== null && g > 0 && Number.isFinite(g))) zero.push(`${n} (${g})`);
        }
        expect(zero, 'parameters without a gradient').toEqual([]);
        expect(frozenWithGrad).toEqual([]);
        if (stage === 2) expect(m.fpenS1!.parameters().every((p) => !p.requiresGrad)).toBe(true);
        zeroGrad(m.parameters());
      });
      m.dispose();
    });
  }

  it('tiny stage 2: inference needs no label and the same seed gives bit-identical logits', async () => {
    const e = await getEngine();
    const m = new LrdifModel(e, makeConfig('tiny', SCRATCH), 2, 6);
    const run = (seed: number) =>
      e.noGrad(() =>
        e.scope(async () => {
          const b = batchFor(e, 64, 2, 7);
          return (await m.predict({ image: b.image, landmarks: b.landmarks }, seed).logits.read()) as Float32Array;
        }),
      );
    const a = await run(11);
    const b = await run(11);
    const c = await run(12);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(Buffer.from(a.buffer).equals(Buffer.from(c.buffer))).toBe(false);
    m.dispose();
  });
});

describe('DIL network shortcut', () => {
  it("with layer scale 0 the output is the shortcut: LN of the image tokens ('normalised', POSTER++) or the image features ('input')", async () => {
    const e = await getEngine();
    for (const shortcut of ['normalised', 'input'] as const) {
      const m = new LrdifModel(e, makeConfig('tiny', { ...SCRATCH, dil: { layerScaleInit: 0, shortcut } }), 1, 3);
      const [o3, stem3] = await e.noGrad(() =>
        e.scope(async () => {
          const b = batchFor(e, 64, 2, 21);
          return [await read(m.dil.forward(b.image, b.landmarks).o3), await read(m.dil.imageStem!.forward(b.image)[2])];
        }),
      );
      const [B, C, HW] = [2, 64, 16];
      if (shortcut === 'input') expect([...o3]).toEqual([...stem3]);
      else {
        let worst = 0;
        for (let b = 0; b < B; b++)
          for (let p = 0; p < HW; p++) {
            const v = Array.from({ length: C }, (_, c) => o3[(b * C + c) * HW + p]!);
            const mean = v.reduce((a, x) => a + x, 0) / C;
            const varc = v.reduce((a, x) => a + (x - mean) ** 2, 0) / C;
            worst = Math.max(worst, Math.abs(mean), Math.abs(varc - 1));
          }
        expect(worst).toBeLessThan(1e-3); // every token normalised over its channels
        expect([...o3]).not.toEqual([...stem3]);
      }
      m.dispose();
    }
  });
});

describe('diffusion on the EPR', () => {
  it('the T = 4 schedule matches reference §7.1', () => {
    const s = makeSchedule(4, 0.1, 0.99);
    const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(1e-6));
    close(s.betas.map((v) => +v.toFixed(6)), [0.1, 0.294286, 0.590952, 0.99]);
    close(s.alphasCumprod.map((v) => +v.toFixed(6)), [0.9, 0.635143, 0.259804, 0.002598]);
    close(s.sqrtAlphasCumprod.map((v) => +v.toFixed(6)), [0.948683, 0.796959, 0.509709, 0.050971]);
    close(s.sqrtOneMinusAlphasCumprod.map((v) => +v.toFixed(6)), [0.316228, 0.604034, 0.860347, 0.9987]);
    close(s.posteriorCoef1.map((v) => +v.toFixed(6)), [1, 0.765187, 0.63627, 0.505927]);
    close(s.posteriorCoef2.map((v) => +v.toFixed(6)), [0, 0.230246, 0.315256, 0.074212]);
    close(s.posteriorVariance.map((v) => +v.toFixed(6)), [0, 0.080658, 0.291292, 0.734703]);
  });

  it('with a denoiser that returns the target, the reverse chain returns the target exactly', async () => {
    const e = await getEngine();
    const s = makeSchedule(4);
    await e.scope(async () => {
      const target = randomUniform(e, [3, 16], 21);
      const oracle = { forward: (_z: Tensor) => target } as unknown as Denoiser;
      const zT = randomUniform(e, [3, 16], 22);
      const out = reverseChain(oracle, s, zT, target);
      expect([...(await read(out))]).toEqual([...(await read(target))]);
    });
  });
});

describe('checkpoints', () => {
  it('save → load round trip is bitwise; stage 2 initialises from stage 1 as DECISIONS §2 says', async () => {
    const e = await getEngine();
    const cfg = makeConfig('tiny', SCRATCH);
    const a = new LrdifModel(e, cfg, 1, 31);
    const bytes = await saveCheckpoint(a, { config: cfg, stage: 1 });
    const ck = readCheckpoint(bytes, 'a.safetensors');
    expect(ck.config.preset).toBe('tiny');
    const b = new LrdifModel(e, cfg, 1, 32);
    loadIntoModel(b, ck.file, 'a.safetensors');
    for (const [[n, ta], [, tb]] of [...a.namedParameters()].map((x, i) => [x, [...b.namedParameters()][i]!] as const)) {
      const da = (await ta.read()) as Float32Array;
      const db = (await tb.read()) as Float32Array;
      expect(Buffer.from(da.buffer).equals(Buffer.from(db.buffer)), n).toBe(true);
    }
    // Stage 2 from stage 1.
    const s2 = new LrdifModel(e, cfg, 2, 33);
    const src = new Map([...ck.file.tensors].map(([k, v]) => [k, { data: v.data as Float32Array, shape: v.shape }]));
    const r = initFromCheckpoint(s2, src);
    expect(r.fresh.every((n) => n.startsWith('denoise.'))).toBe(true);
    expect(r.fresh.length).toBe(4);
    const w1 = ck.file.tensors.get('fpen_s1.mlp.0.weight')!;
    const w2 = (await [...s2.namedParameters()].find(([n]) => n === 'fpen_s2.mlp.0.weight')![1].read()) as Float32Array;
    const D = cfg.embedDim;
    for (let row = 0; row < cfg.eprDim; row += 7) for (let c = 0; c < D; c += 5) expect(w2[row * D + c]).toBe((w1.data as Float32Array)[row * 2 * D + D + c]);
    const enc1 = ck.file.tensors.get('fpen_s1.image_encoder.E1.weight')!.data as Float32Array;
    const enc2 = (await [...s2.namedParameters()].find(([n]) => n === 'fpen_s2.image_encoder.E1.weight')![1].read()) as Float32Array;
    expect(Buffer.from(enc2.buffer).equals(Buffer.from(enc1.buffer))).toBe(true);
    for (const m of [a, b, s2]) m.dispose();
  });

  it('a checkpoint with a wrong shape or a missing tensor is rejected, listing every problem', async () => {
    const e = await getEngine();
    const cfg = makeConfig('tiny', SCRATCH);
    const a = new LrdifModel(e, cfg, 1, 41);
    const ck = readCheckpoint(await saveCheckpoint(a, { config: cfg, stage: 1 }), 'good.safetensors');
    const tensors = new Map(ck.file.tensors);
    tensors.delete('fusion.head.bias');
    tensors.set('fusion.head.weight', { dtype: 'F32', shape: [8, 64], data: new Float32Array(8 * 64) });
    tensors.set('extra.tensor', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    const bad = readCheckpoint(encodeSafetensors(tensors, ck.file.metadata), 'bad.safetensors');
    let msg = '';
    try {
      loadIntoModel(a, bad.file, 'bad.safetensors');
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toMatch(/bad\.safetensors: checkpoint does not match the model/);
    expect(msg).toMatch(/missing tensor fusion\.head\.bias \[7\]/);
    expect(msg).toMatch(/fusion\.head\.weight: shape \[8,64\] in the file, the model has \[7,64\]/);
    expect(msg).toMatch(/unexpected tensor extra\.tensor/);
    expect(() => readCheckpoint(encodeSafetensors(new Map(), {}), 'plain.safetensors')).toThrow(/plain\.safetensors: not an LRDif checkpoint/);
    a.dispose();
  });
});
