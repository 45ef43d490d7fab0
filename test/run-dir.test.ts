/**
 * Run directories (openRunDir) and run checkpoints (run-checkpoint.ts) without training: the lock
 * (one writer; a dead writer's lock taken over; released at exit and on SIGTERM), no start over an
 * earlier run without --force, no resume without a checkpoint, leftover temporary files removed,
 * atomic writes, the one-file checkpoint's round trip and the refusal of an inconsistent old pair;
 * and the CLI's `train --resume` / lock errors before any work starts.
 */
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LOCK_FILE, openRunDir, writeFileAtomic } from '../src/train/store-fs.ts';
import { MemoryStore } from '../src/train/store.ts';
import { CHECKPOINT_FILE, decodeRunCheckpoint, encodeRunCheckpoint, readRunCheckpoint, type RunCheckpoint } from '../src/train/run-checkpoint.ts';
import { encodeSafetensors, type StTensor } from '../src/model/safetensors.ts';
import { freshSeed, rng } from './helpers.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(join(tmpdir(), 'lrdif-rundir-'));
});
afterEach(() => rmSync(tmp, { recursive: true, force: true }));

function notes(): { log: (l: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { log: (l) => lines.push(l), lines };
}

/** A process that is alive until killed (its pid holds a lock in the tests). */
function sleeper(): ChildProcess {
  return spawn('sleep', ['60'], { stdio: 'ignore' });
}

describe('openRunDir', () => {
  it('locks the directory with its pid; a second open is refused until release, which removes the lock', () => {
    const dir = join(tmp, 'run');
    const d = openRunDir(dir, { log: () => {} });
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    expect(() => openRunDir(dir, { log: () => {} })).toThrow(`${dir} is already open for a run in this process`);
    d.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    openRunDir(dir, { log: () => {} }).release();
  });

  it("refuses a directory locked by a live process and takes over a dead process's lock with a note", async () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    const other = sleeper();
    writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
    expect(() => openRunDir(dir, { log: () => {} })).toThrow(`${dir} is in use by process ${other.pid} (lock file ${join(dir, LOCK_FILE)})`);
    const exited = new Promise((r) => other.once('exit', r));
    other.kill('SIGKILL');
    await exited;
    const n = notes();
    const d = openRunDir(dir, n);
    expect(n.lines).toEqual([`${dir}: taking over the lock of process ${other.pid}, which is no longer running`]);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    d.release();
  });

  it('refuses a lock file that holds no process id', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, LOCK_FILE), 'hello');
    expect(() => openRunDir(dir, { log: () => {} })).toThrow(`${join(dir, LOCK_FILE)} holds "hello", not a process id`);
  });

  it('does not start over an earlier run without --force; --force removes its files; a failed open releases the lock', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    for (const f of ['model.safetensors', 'report.md', 'log.jsonl', 'curves.svg', 'notes.txt']) writeFileSync(join(dir, f), f);
    expect(() => openRunDir(dir, { log: () => {} })).toThrow(`${dir} already holds a run (model.safetensors, log.jsonl, report.md); pass --resume to continue it or --force to replace it`);
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    expect(readFileSync(join(dir, 'model.safetensors'), 'utf8')).toBe('model.safetensors');
    const n = notes();
    openRunDir(dir, { force: true, ...n }).release();
    expect(n.lines).toEqual([`${dir}: --force: removed the earlier run's files (model.safetensors, log.jsonl, report.md, curves.svg)`]);
    // Only the run's own files go: anything else the user put there stays.
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('--resume without a checkpoint is an error naming the directory and the missing file, and nothing is touched', () => {
    const dir = join(tmp, 'run');
    expect(() => openRunDir(dir, { resume: true })).toThrow(`${dir} does not exist: nothing to resume`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors'), 'trained weights');
    expect(() => openRunDir(dir, { resume: true, log: () => {} })).toThrow(
      `${dir}: --resume needs ${CHECKPOINT_FILE}, which is missing (the directory holds model.safetensors): the run never finished an epoch`,
    );
    expect(readFileSync(join(dir, 'model.safetensors'), 'utf8')).toBe('trained weights');
    expect(() => openRunDir(dir, { resume: true, force: true })).toThrow('pass one of them');
    writeFileSync(join(dir, CHECKPOINT_FILE), 'x');
    openRunDir(dir, { resume: true, log: () => {} }).release();
  });

  it('removes temporary files a killed writer left, on start and on resume', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'state.safetensors.tmp-4242'), 'half');
    writeFileSync(join(dir, 'run.lock.tmp-77'), '77');
    writeFileSync(join(dir, 'keep.tmp-notes'), 'not ours');
    const n = notes();
    openRunDir(dir, n).release();
    expect(readdirSync(dir).sort()).toEqual(['keep.tmp-notes']);
    expect(n.lines).toEqual([`${dir}: removed 2 temporary file(s) a stopped run left (run.lock.tmp-77, state.safetensors.tmp-4242)`]);
    writeFileSync(join(dir, CHECKPOINT_FILE), 'x');
    writeFileSync(join(dir, 'model.safetensors.tmp-99'), 'half');
    openRunDir(dir, { resume: true, log: () => {} }).release();
    expect(readdirSync(dir).sort()).toEqual([CHECKPOINT_FILE, 'keep.tmp-notes']);
  });

  it('writes replace the file whole and leave no temporary file', async () => {
    const dir = join(tmp, 'run');
    const d = openRunDir(dir, { log: () => {} });
    writeFileAtomic(join(dir, 'a.txt'), 'first');
    await d.write('a.txt', 'second, longer');
    await d.write('sub/b.bin', new Uint8Array([1, 2, 3]));
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('second, longer');
    expect([...readFileSync(join(dir, 'sub/b.bin'))]).toEqual([1, 2, 3]);
    expect(readdirSync(dir).sort()).toEqual(['a.txt', LOCK_FILE, 'sub']);
    d.release();
  });

  it('a process releases its lock at exit and when stopped by SIGTERM; SIGKILL leaves a lock the next run takes over', async () => {
    const script = join(tmp, 'hold.ts');
    const storeFs = join(ROOT, 'src/train/store-fs.ts');
    writeFileSync(script, `import { openRunDir } from ${JSON.stringify(storeFs)};\nopenRunDir(process.argv[2]!, { log: () => {} });\nconsole.log('locked');\nif (process.argv[3] === 'wait') setInterval(() => {}, 1000);\n`);
    const exitDir = join(tmp, 'exit');
    const r = spawnSync(process.execPath, [script, exitDir], { encoding: 'utf8' });
    expect(r.stdout, r.stderr).toBe('locked\n');
    expect(existsSync(join(exitDir, LOCK_FILE))).toBe(false);
    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      const dir = join(tmp, signal);
      const child = spawn(process.execPath, [script, dir, 'wait'], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((res) => child.stdout!.once('data', () => res()));
      expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(child.pid));
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
      child.kill(signal);
      const code = await exited;
      if (signal === 'SIGTERM') {
        expect(code).toBe(143);
        expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
      } else {
        expect(existsSync(join(dir, LOCK_FILE))).toBe(true);
        const n = notes();
        openRunDir(dir, n).release();
        expect(n.lines).toEqual([`${dir}: taking over the lock of process ${child.pid}, which is no longer running`]);
      }
    }
  });
});

describe('lrdif train: the run directory is checked before any work', () => {
  const train = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'src/cli.ts'), 'train', '--stage', '1', ...args], { encoding: 'utf8', cwd: ROOT });

  it('--resume without a checkpoint fails naming the directory and leaves the trained model as it was', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    writeFileSync(join(dir, 'model.safetensors'), 'trained weights');
    const r = train(['--out', dir, '--resume']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${dir}: --resume needs ${CHECKPOINT_FILE}, which is missing (the directory holds model.safetensors)`);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(readFileSync(join(dir, 'model.safetensors'), 'utf8')).toBe('trained weights');
  });

  it('a second process cannot write into a run directory in use', () => {
    const dir = join(tmp, 'run');
    mkdirSync(dir);
    const other = sleeper();
    try {
      writeFileSync(join(dir, LOCK_FILE), `${other.pid}\n`);
      const r = train(['--out', dir]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${dir} is in use by process ${other.pid}`);
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('run checkpoints', () => {
  const seed = freshSeed('run-checkpoint tensors');
  const r = rng(seed);
  const f32 = (n: number) => Float32Array.from({ length: n }, () => r() - 0.5);
  const sample = (): RunCheckpoint => ({
    weights: { tensors: new Map([['a.weight', { dtype: 'F32' as const, shape: [2, 3], data: f32(6) }], ['b.bias', { dtype: 'F32' as const, shape: [4], data: f32(4) }]]), metadata: { format: 'lrdif-webgpu', stage: '2', epoch: '3' } },
    optimisers: new Map([
      ['opt', { step: 12, steps: [12, 11], m: [f32(6), f32(4)], v: [f32(6), f32(4)] }],
      ['prior_opt', { step: 4, steps: [4], m: [f32(4)], v: [f32(4)] }],
    ]),
    epoch: 3, globalStep: 12, bestAccuracy: 0.5, history: '[{"epoch":0}]', options: '{"seed":3}', dataOrder: { seed: 3, batchSize: 4, trainImages: 16 },
  });

  it('holds weights, both optimisers, progress and data order in one file, bit for bit', () => {
    const ck = sample();
    const back = decodeRunCheckpoint(encodeRunCheckpoint(ck), 'ck');
    expect(back).toEqual(ck);
  });

  it('names what is wrong with a damaged checkpoint', () => {
    const bytes = encodeRunCheckpoint(sample());
    expect(() => decodeRunCheckpoint(bytes.subarray(0, bytes.length - 4), 'run/checkpoint.safetensors')).toThrow(/^run\/checkpoint\.safetensors: /);
    const noMoment = encodeSafetensors(new Map([['model/a', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]), { run_checkpoint: '1', model_metadata: '{}', epoch: '1', global_step: '2', 'opt.step': '2', 'opt.steps': '[2]' });
    expect(() => decodeRunCheckpoint(noMoment, 'ck')).toThrow('ck: missing tensor opt.m.0 (optimiser moments of parameter 0)');
    const weightsOnly = encodeSafetensors(new Map([['a', { dtype: 'F32', shape: [1], data: new Float32Array(1) }]]), { format: 'lrdif-webgpu' });
    expect(() => decodeRunCheckpoint(weightsOnly, 'model.safetensors')).toThrow('model.safetensors: not a run checkpoint (metadata run_checkpoint is missing, expected "1")');
  });

  it("resumes an earlier version's model + state pair only when both are from the same epoch", async () => {
    const ck = sample();
    const store = new MemoryStore('old-run');
    const opt = ck.optimisers.get('opt')!;
    const stateTensors = new Map<string, StTensor>();
    for (const kind of ['m', 'v'] as const) opt[kind].forEach((d, i) => stateTensors.set(`opt.${kind}.${i}`, { dtype: 'F32', shape: [d.length], data: d }));
    await store.write('state.safetensors', encodeSafetensors(stateTensors, { epoch: '3', global_step: '12', 'opt.step': '12', 'opt.steps': '[12,11]' }));
    await store.write('model.safetensors', encodeSafetensors(ck.weights.tensors, { ...ck.weights.metadata, epoch: '4' }));
    await expect(readRunCheckpoint(store)).rejects.toThrow(
      'old-run:state.safetensors is the optimiser state after epoch 3 but old-run:model.safetensors holds the weights after epoch 4: the run was stopped between the two writes',
    );
    await store.write('model.safetensors', encodeSafetensors(ck.weights.tensors, ck.weights.metadata));
    const back = (await readRunCheckpoint(store))!;
    expect(back.epoch).toBe(3);
    expect(back.weights.tensors).toEqual(ck.weights.tensors);
    expect(back.optimisers.get('opt')).toEqual(ck.optimisers.get('opt'));
    expect(await readRunCheckpoint(new MemoryStore())).toBeNull();
  });
});
