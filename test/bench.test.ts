/**
 * The benchmark harness: FLOP and minimum-byte counts against hand-computed values, the CPU peak
 * formula on a known cpuinfo, and a smoke run of every suite at tiny sizes that must write valid
 * JSON and an HTML report (no timing assertions: CPU adapters here are shared and noisy).
 */
import { describe, expect, test } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convCase, matmulCase, rowwiseCase } from '../bench/cases.ts';
import { channelAttentionCost } from '../bench/channel-attention.ts';
import { cpuPeakFromInfo } from '../bench/cpu.ts';
import { peerOps } from '../bench/peers.ts';
import { runBench, type BenchResult } from '../bench/suites.ts';
import { parseTrainConfigs } from '../bench/train.ts';
import { findTorch } from '../bench/torch-peer.ts';
import { getEngine } from './helpers.ts';

describe('bench FLOP and byte counts', () => {
  test('matmul 64×32 · 32×16: 2·M·N·K FLOPs, A + B + C bytes', () => {
    const c = matmulCase(64, 16, 32);
    expect(c.flops).toBe(2 * 64 * 16 * 32); // 65536
    expect(c.bytes).toBe(4 * (64 * 32 + 32 * 16 + 64 * 16)); // 14336
    expect(c.flopsFwdBwd).toBe(3 * 65536);
  });
  test('batched matmul counts every batch', () => {
    const c = matmulCase(8, 8, 8, 4);
    expect(c.flops).toBe(4096);
    expect(c.bytes).toBe(4 * 4 * 3 * 64);
  });
  test('depthwise 3×3 conv [2,6,5,5]: 2·N·C·H·W·9 FLOPs', () => {
    const c = convCase(2, 6, 6, 5, 3, 6);
    expect(c.name).toBe('conv depthwise');
    expect(c.flops).toBe(2 * 2 * 6 * 25 * 9); // 5400
    expect(c.bytes).toBe(4 * (2 * 6 * 25 + 6 * 9 + 2 * 6 * 25)); // 2616
  });
  test('1×1 conv 4 → 8 channels on 3×3: 2·N·Co·HW·Ci FLOPs', () => {
    const c = convCase(1, 4, 8, 3, 1, 1);
    expect(c.flops).toBe(2 * 8 * 9 * 4); // 576
    expect(c.bytes).toBe(4 * (36 + 32 + 72)); // 560
  });
  test('softmax and gelu read the input once and write the output once', () => {
    expect(rowwiseCase('softmax', [10, 7]).bytes).toBe(2 * 4 * 70);
    expect(rowwiseCase('softmax', [10, 7]).flops).toBe(5 * 70);
    expect(rowwiseCase('gelu', [100]).bytes).toBe(800);
  });
  test('transposed channel attention [1,4,2,2] with 2 heads', () => {
    // N = 16 elements, d = 2: 4·N·d + 4·N = 192 FLOPs; q, k, v in and out: 16·N + 4·heads bytes.
    const c = channelAttentionCost([1, 4, 2, 2], 2);
    expect(c.flops).toBe(192);
    expect(c.bytes).toBe(264);
  });
  test('the peer table covers the ops the issue names', () => {
    const names = new Set(peerOps('full').map((o) => o.name));
    for (const n of ['matmul', 'conv depthwise', 'conv 1×1', 'softmax', 'layerNorm', 'gelu', 'Restormer transposed attention', 'Adam step']) expect(names.has(n)).toBe(true);
    expect(peerOps('full').filter((o) => o.name === 'matmul').map((o) => o.shape)).toEqual(['512×512·512×512', '1024×1024·1024×1024', '64×(64×64·64×64)']);
  });
  test('train configurations parse from preset/stage/batch[/frozen] and bad ones name the entry', () => {
    expect(parseTrainConfigs('small/1/8, paper/2/4/frozen')).toEqual([{ preset: 'small', stage: 1, batch: 8 }, { preset: 'paper', stage: 2, batch: 4, frozen: true }]);
    for (const bad of ['small/3/8', 'small/1', 'small/1/0', 'tiny/1/8/cold', 'tiny/1/2.5']) expect(() => parseTrainConfigs(bad)).toThrow(`train configuration "${bad}"`);
  });
  test('a missing Python interpreter is reported with the reason, not thrown', () => {
    const t = findTorch(['/nonexistent/python3']);
    expect(t.version).toBeUndefined();
    expect(t.reason).toContain('/nonexistent/python3 not found');
  });
  test('CPU limit: cores × clock × lanes × FMA units × 2', () => {
    const info = [0, 1].map((i) => `processor\t: ${i}\nmodel name\t: Test CPU\ncpu MHz\t\t: 2500.000\nflags\t\t: fpu sse2 avx avx2 fma avx512f\n`).join('\n');
    const p = cpuPeakFromInfo(info);
    expect(p.cores).toBe(2);
    expect(p.lanes).toBe(16);
    expect(p.fmaUnits).toBe(2);
    expect(p.gflops).toBeCloseTo(2 * 2.5 * 16 * 2 * 2, 9); // 320
    expect(p.formula).toContain('= 320.0 GFLOP/s');
    expect(cpuPeakFromInfo(info.replace(/ avx512f/g, '')).gflops).toBeCloseTo(160, 9);
  });
});

describe('bench smoke run', () => {
  test('every suite at tiny sizes completes and writes valid JSON and a report', async () => {
    const e = await getEngine();
    const dir = mkdtempSync(join(tmpdir(), 'lrdif-bench-'));
    const { jsonPath, reportPath } = await runBench(e, { suites: ['kernels', 'fused', 'peers', 'train'], size: 'smoke', runs: 2, out: join(dir, 'smoke.json'), reportDir: dir, print: false, log: () => {} });
    const r = JSON.parse(readFileSync(jsonPath, 'utf8')) as BenchResult;
    expect(r.suites).toEqual(['kernels', 'fused', 'peers', 'train']);
    // Wall and CPU time are both recorded, finite and positive; CPU adapters compare by CPU time.
    const positive = (v: number | undefined, what: string) => expect(Number.isFinite(v) && v! > 0, `${what} = ${v}`).toBe(true);
    expect(r.ratioBasis).toBe(e.info.software === false ? 'wall' : 'cpu');
    for (const [k, v] of Object.entries(r.peaks!)) if (typeof v === 'number') positive(v, `peaks.${k}`);
    expect(r.kernels.length).toBeGreaterThanOrEqual(7);
    for (const row of [...r.kernels, ...r.fused.flatMap((f) => [f.fused, f.composed])]) {
      const what = `${row.name} ${row.shape} ${row.mode}`;
      positive(row.medianMs, `${what} medianMs`);
      positive(row.cpuMs, `${what} cpuMs`);
      if (row.gflops > 0) positive(row.gflopsPerCpuSecond, `${what} gflopsPerCpuSecond`);
      positive(row.gbpsPerCpuSecond, `${what} gbpsPerCpuSecond`);
      positive(row.rooflineFraction, `${what} rooflineFraction`);
      expect(Number.isFinite(row.gflops)).toBe(true);
      expect(row.basis).toBe(r.ratioBasis);
      expect(Number.isFinite(row.load.loadAverage1) && row.load.loadAverage1 >= 0, `${what} loadAverage1`).toBe(true);
      expect(row.load.otherBusyCpus === null || (Number.isFinite(row.load.otherBusyCpus) && row.load.otherBusyCpus >= 0)).toBe(true);
    }
    expect(r.kernels.some((k) => k.mode === 'fwd+bwd')).toBe(true);
    expect(new Set(r.fused.map((f) => f.fused.name))).toEqual(new Set(['transposedChannelAttention', 'gatedDepthwiseConv', 'modulatedLayerNorm', 'scaledDotProductAttention']));
    // Peers: each either ran every op, or is reported with the reason it did not run.
    const peers = r.peers!;
    expect(peers.peers.map((p) => p.name)).toEqual(expect.arrayContaining(['tfjs-webgpu', 'jax-webgpu']));
    for (const p of peers.peers) {
      if (!p.ok) {
        expect(p.reason?.length).toBeGreaterThan(10);
        expect(r.notes.some((n) => n.includes(p.name) && n.includes(p.reason!))).toBe(true);
        continue;
      }
      for (const row of peers.rows) {
        const res = row.peers[p.name];
        expect(res, `${p.name} ${row.op} ${row.mode}`).toBeDefined();
        expect(res!.ms !== undefined || (res!.error?.length ?? 0) > 0).toBe(true);
        positive(row.oursCpuMs, `ours ${row.op} ${row.mode} CPU ms`);
        if (res!.ms !== undefined) {
          positive(res!.cpuMs, `${p.name} ${row.op} ${row.mode} CPU ms`);
          // The speed-up is the ratio on the row's basis.
          const [peer, ours] = row.basis === 'cpu' ? [res!.cpuMs!, row.oursCpuMs] : [res!.ms, row.oursMs];
          expect(res!.speedup).toBeCloseTo(peer / ours, 9);
        }
      }
      expect(peers.geomean[p.name]!.value).toBeGreaterThan(0);
    }
    expect(r.train.map((t) => `${t.preset}/${t.stage}`)).toEqual(['tiny/1', 'tiny/2']);
    for (const t of r.train) {
      expect(t.dispatchesPerStep).toBeGreaterThan(100);
      expect(t.submitsPerStep).toBeGreaterThanOrEqual(1);
      expect(t.peakPoolBytes).toBeGreaterThan(0);
      expect(t.topKernels.length).toBeGreaterThan(0);
      positive(t.msPerStep, 'train msPerStep');
      positive(t.cpuMsPerStep, 'train cpuMsPerStep');
      expect(t.cpuMsPerImage).toBeCloseTo(t.cpuMsPerStep / t.batch, 9);
      expect(t.load.otherBusyCpus === null || t.load.otherBusyCpus >= 0).toBe(true);
    }
    expect(r.torch).toBeNull(); // --torch not asked for
    const html = readFileSync(reportPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('Peers on the same adapter');
    expect(html).toContain('CPU ms/image');
    expect(html).toContain(`GFLOP ${r.ratioBasis === 'cpu' ? 'per CPU-second' : 'per second'}`);
  }, 120_000);
});
