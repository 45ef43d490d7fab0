/**
 * The GPU check's summary (bench/gpu-check-summary.ts) over a made-up work folder: passed, failed
 * and unfinished test files, a timed-out phase, a missing bench JSON; and both shell scripts parse.
 * (The check itself runs on a GPU machine; `bench/gpu-check.sh --dry` runs it here by hand.)
 */
import { describe, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { summarise, summaryText } from '../bench/gpu-check-summary.ts';

const vitestJson = (name: string, results: [string, 'passed' | 'failed' | 'pending'][]) => ({
  numTotalTests: results.length,
  numPassedTests: results.filter((r) => r[1] === 'passed').length,
  numFailedTests: results.filter((r) => r[1] === 'failed').length,
  numPendingTests: results.filter((r) => r[1] === 'pending').length,
  testResults: [{ name, status: results.some((r) => r[1] === 'failed') ? 'failed' : 'passed', assertionResults: results.map(([fullName, status]) => ({ fullName, status, failureMessages: status === 'failed' ? [`AssertionError: expected 1 to be 2\n    at ${name}:10`] : [] })) }],
});

describe('GPU check summary', () => {
  test('counts tests per file, names failures and unfinished files, and notes timeouts and missing results', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrdif-gpu-check-'));
    mkdirSync(join(dir, 'tests'));
    writeFileSync(join(dir, 'phases.jsonl'), [
      { name: 'adapter', rc: 0, seconds: 1, limitSeconds: 60, timedOut: false },
      { name: 'tests', rc: 124, seconds: 270, limitSeconds: 270, timedOut: true },
      { name: 'bench', rc: 1, seconds: 20, limitSeconds: 150, timedOut: false },
    ].map((p) => JSON.stringify(p)).join('\n') + '\n');
    writeFileSync(join(dir, 'adapter.log'), 'warning: something\n{"description":"NVIDIA H100 (Vulkan)","kind":"hardware","software":false,"timestampQuery":true}\n');
    writeFileSync(join(dir, 'gpu.txt'), 'NVIDIA H100 80GB HBM3, 580.159.04, 81559 MiB\n');
    writeFileSync(join(dir, 'tests', 'planned.txt'), 'test/a.test.ts\ntest/b.test.ts\ntest/c.test.ts\n');
    writeFileSync(join(dir, 'tests', 'a.json'), JSON.stringify(vitestJson('test/a.test.ts', [['a one', 'passed'], ['a two', 'passed'], ['a three', 'pending']])));
    writeFileSync(join(dir, 'tests', 'b.json'), JSON.stringify(vitestJson('test/b.test.ts', [['b one', 'passed'], ['b two', 'failed']])));
    const s = summarise(dir, false);
    expect(s.adapter).toEqual({ description: 'NVIDIA H100 (Vulkan)', kind: 'hardware', software: false, timestampQuery: true });
    expect(s.gpu).toBe('NVIDIA H100 80GB HBM3, 580.159.04, 81559 MiB');
    expect(s.tests.files.map((f) => [f.file, f.status])).toEqual([['test/a.test.ts', 'passed'], ['test/b.test.ts', 'failed'], ['test/c.test.ts', 'not finished']]);
    expect(s.tests.totals).toEqual({ tests: 5, passed: 3, failed: 1, skipped: 1 });
    expect(s.tests.failures).toEqual([{ file: 'test/b.test.ts', test: 'b two', message: 'AssertionError: expected 1 to be 2' }]);
    expect(s.bench).toBeNull();
    expect(s.train).toEqual([]);
    expect(s.notes).toEqual([
      'phase tests reached its 270 s limit',
      '1 of 3 test files did not finish (time limit or crash: see tests/<file>.log)',
      'no bench JSON (the bench phase failed or timed out: bench.log)',
      'no training-step JSON (train.log)',
    ]);
    const text = summaryText(s);
    expect(text).toContain('tests: 3/5 passed, 1 failed, 1 skipped in 2/3 files');
    expect(text).toContain('FAIL test/b.test.ts: b two: AssertionError: expected 1 to be 2');
    expect(text).toContain('tests rc 124 in 270 s (TIMED OUT)');
    expect(text).not.toContain('DRY RUN');
  });

  test('a CPU rasteriser in a non-dry run is called out; no adapter means nothing ran on the GPU', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lrdif-gpu-check-'));
    writeFileSync(join(dir, 'adapter.log'), '{"description":"llvmpipe","kind":"llvmpipe","software":"llvmpipe","timestampQuery":false}\n');
    expect(summarise(dir, false).notes[0]).toBe('the adapter is a CPU rasteriser (llvmpipe), not the GPU');
    expect(summarise(dir, true).notes.some((n) => n.includes('rasteriser'))).toBe(false);
    expect(summaryText(summarise(dir, true))).toContain('DRY RUN on a CPU adapter');
    writeFileSync(join(dir, 'adapter.log'), 'Error: No usable WebGPU adapter\n');
    expect(summarise(dir, false).notes[0]).toBe('no WebGPU adapter: nothing ran on the GPU (adapter.log has the error)');
  });

  test('bench/gpu-check.sh and scripts/gpu-carry.sh parse', () => {
    for (const script of ['bench/gpu-check.sh', 'scripts/gpu-carry.sh']) {
      const r = spawnSync('bash', ['-n', script], { encoding: 'utf8' });
      expect(r.status, `${script}: ${r.stderr}`).toBe(0);
    }
  });
});
