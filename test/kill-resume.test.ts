/**
 * Kill anywhere, resume, end bitwise where an uninterrupted run ends. Child processes
 * (kill-resume-child.ts) train the micro run of kill-resume-run.ts: one uninterrupted (the reference,
 * in a child too, so that it runs in the same runtime as the others); the others are SIGKILLed, first
 * at the file writes of the run, torn (temporary file half written) and just after a write (between
 * two writes, e.g. between model.safetensors and the checkpoint), then at random moments (seeded, logged).
 * After every kill each file in the run directory must read back whole; every run, resumed to its
 * end, must hold bitwise the reference's weights and optimiser moments; leftover temporary files
 * and the dead process's lock are cleaned up by the next start.
 */
import { describe, it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeSafetensors, type StFile } from '../src/model/safetensors.ts';
import { CHECKPOINT_FILE, decodeRunCheckpoint } from '../src/train/run-checkpoint.ts';
import { LOCK_FILE } from '../src/train/store-fs.ts';
import { freshSeed, rng } from './helpers.ts';
import { MICRO_EPOCHS } from './kill-resume-run.ts';

const CHILD = fileURLToPath(new URL('./kill-resume-child.ts', import.meta.url));
const TEMP = /\.tmp-\d+$/;

interface ChildRun {
  pid: number;
  killed: boolean;
  /** The signal that ended it when that was not our SIGKILL (a crash of Bun or Dawn), else null. */
  crashed: string | null;
  code: number | null;
  stderr: string;
  ms: number;
}

/** Resumes when the directory holds a checkpoint, else starts afresh (what a user does after a kill). */
function runChild(dir: string, kill: { write: number; torn: boolean } | null, killAfterMs?: number): Promise<ChildRun> {
  const resume = existsSync(join(dir, CHECKPOINT_FILE));
  const t0 = performance.now();
  const child = spawn(process.execPath, [CHILD, JSON.stringify({ dir, resume, ...(kill ? { kill } : {}) })], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return new Promise((res) =>
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      // Dawn's Vulkan probe warns on every start; keep the lines that matter.
      const lines = stderr.split('\n').filter((l) => !/vkCreateInstance|VK_ERROR|CheckVkSuccess|^\s*$/.test(l));
      res({ pid: child.pid!, killed: signal === 'SIGKILL', crashed: signal && signal !== 'SIGKILL' ? signal : null, code, stderr: lines.join('\n'), ms: performance.now() - t0 });
    }),
  );
}

/** Every file in the directory reads back whole; returns the temporary files a torn write left. */
function checkReadable(dir: string): string[] {
  const temps: string[] = [];
  for (const name of readdirSync(dir)) {
    const bytes = new Uint8Array(readFileSync(join(dir, name)));
    if (TEMP.test(name)) temps.push(name);
    else if (name === CHECKPOINT_FILE) decodeRunCheckpoint(bytes, join(dir, name));
    else if (name.endsWith('.safetensors')) decodeSafetensors(bytes, join(dir, name));
    else if (name === 'log.jsonl') new TextDecoder().decode(bytes).trim().split('\n').forEach((l) => JSON.parse(l));
    else expect(name, `unexpected file in ${dir}`).toBe(LOCK_FILE);
  }
  return temps;
}

function epochOf(dir: string): number {
  const p = join(dir, CHECKPOINT_FILE);
  return existsSync(p) ? decodeRunCheckpoint(new Uint8Array(readFileSync(p)), p).epoch : 0;
}

/** The files whose every tensor must match the reference bit for bit. */
const COMPARED = [CHECKPOINT_FILE, 'model.safetensors', 'best.safetensors'];
/** Checkpoint metadata that must match too (the rest holds timings). */
const PROGRESS_KEYS = ['epoch', 'global_step', 'best_accuracy', 'opt.step', 'opt.steps', 'data_order'];

function differences(dir: string, reference: Map<string, StFile>): string[] {
  const out: string[] = [];
  for (const name of COMPARED) {
    const want = reference.get(name)!;
    const got = decodeSafetensors(new Uint8Array(readFileSync(join(dir, name))), join(dir, name));
    if (got.tensors.size !== want.tensors.size) out.push(`${name}: ${got.tensors.size} tensors, the reference has ${want.tensors.size}`);
    for (const [t, w] of want.tensors) {
      const g = got.tensors.get(t);
      if (!g || !Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength).equals(Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength))) out.push(`${name}: ${t}`);
    }
    if (name === CHECKPOINT_FILE) for (const k of PROGRESS_KEYS) if (got.metadata[k] !== want.metadata[k]) out.push(`${name}: metadata ${k} ${got.metadata[k]} ≠ ${want.metadata[k]}`);
  }
  return out;
}

describe('kill anywhere and resume', () => {
  it('runs SIGKILLed at every write and at random moments resume to bitwise the uninterrupted result', { timeout: 900_000 }, async () => {
    const root = mkdtempSync(join(tmpdir(), 'lrdif-kill-'));
    try {
      let kills = 0;
      const crashes: string[] = [];
      // Writes done before epoch k's first write (from the reference run): a child's write counter starts at its resume epoch.
      let writesBefore = [0];
      // The next start must clean up after a kill: take over the dead process's lock, remove the torn write's temporary file.
      let expectNext: { temps: string[]; pid: number } | null = null;
      const afterStart = (r: ChildRun, what: string) => {
        if (expectNext && !r.crashed) {
          expect(r.stderr, what).toContain(`taking over the lock of process ${expectNext.pid}, which is no longer running`);
          if (expectNext.temps.length > 0) expect(r.stderr, what).toContain(`removed ${expectNext.temps.length} temporary file(s) a stopped run left (${expectNext.temps.join(', ')})`);
        }
        expectNext = null;
        if (r.crashed) crashes.push(`${what}: ${r.crashed} after ${r.ms.toFixed(0)} ms`);
      };
      // Bun or Dawn itself now and then crashes at start-up on this machine: logged, and the child run again.
      const settled = async (dir: string, kill: { write: number; torn: boolean } | null, what: string, before?: () => void) => {
        let r: ChildRun;
        do {
          before?.();
          r = await runChild(dir, kill && { ...kill, write: kill.write - writesBefore[epochOf(dir)]! });
          afterStart(r, what);
        } while (r.crashed && crashes.length <= 3);
        return r;
      };

      // The uninterrupted reference: a child like the others (the same runtime), never killed; its
      // stderr names the run's sequence of writes.
      const refDir = join(root, 'reference');
      const ref = await settled(refDir, null, 'reference run', () => rmSync(refDir, { recursive: true, force: true }));
      expect(ref.code, ref.stderr).toBe(0);
      const writes = [...ref.stderr.matchAll(/^\[write\] (.+)$/gm)].map((m) => m[1]!);
      const reference = new Map(COMPARED.map((n) => [n, decodeSafetensors(new Uint8Array(readFileSync(join(refDir, n))), n)]));
      expect(writes.filter((w) => w === CHECKPOINT_FILE).length).toBe(MICRO_EPOCHS);
      writesBefore = [0, ...writes.flatMap((w, i) => (w === CHECKPOINT_FILE ? [i + 1] : []))];
      console.log(`reference run: writes ${writes.join(', ')}`);

      const finish = async (dir: string) => {
        const r = await settled(dir, null, `${dir}: resumed to the end`);
        expect(r.code, r.stderr).toBe(0);
        expect(checkReadable(dir), `${dir}: temporary files left`).toEqual([]);
        expect(existsSync(join(dir, LOCK_FILE)), `${dir}: lock left`).toBe(false);
        expect(differences(dir, reference), dir).toEqual([]);
      };

      // 1. At the writes: in the last epoch at each one, torn and just after it; before, just after
      // model.safetensors (no checkpoint yet: the next run starts afresh with --force) and after the checkpoint.
      const atWrites = join(root, 'at-writes');
      const epochOfWrite = (p: number) => writesBefore.filter((n) => n < p).length - 1;
      const points = writes.flatMap((name, i) => {
        const p = i + 1;
        if (epochOfWrite(p) === MICRO_EPOCHS - 1) return [{ p, torn: true }, { p, torn: false }];
        return name === 'model.safetensors' || name === CHECKPOINT_FILE ? [{ p, torn: false }] : [];
      });
      const durations: number[] = [];
      for (const { p, torn } of points) {
        const what = `kill ${torn ? 'torn in' : 'after'} write ${p} (${writes[p - 1]}, epoch ${epochOfWrite(p)})`;
        const r = await settled(atWrites, { write: p, torn }, what);
        durations.push(r.ms);
        expect(r.killed, `${what}: the child was not killed:\n${r.stderr}`).toBe(true);
        expect(r.stderr, what).toContain(`[kill] ${torn ? 'torn write of' : 'after writing'} ${writes[p - 1]}`);
        kills++;
        const temps = checkReadable(atWrites);
        expect(temps, what).toEqual(torn ? [`${writes[p - 1]}.tmp-${r.pid}`] : []);
        expect(readFileSync(join(atWrites, LOCK_FILE), 'utf8').trim(), what).toBe(String(r.pid));
        expectNext = { temps, pid: r.pid };
      }
      const atWriteKills = kills;
      await finish(atWrites);

      // 2. At random moments of a run (before the lock or the engine, while compiling or training, in a
      // write …), until there are 20 kills in all; a run that ends first is checked and another begun.
      const seed = freshSeed('kill-resume: random kill times');
      const random = rng(seed);
      const span = durations.sort((x, y) => x - y)[durations.length >> 1]! * 1.2;
      const times: number[] = [];
      let finished = 1;
      let dir = join(root, `random-${finished}`);
      const wanted = Math.max(8, 20 - atWriteKills);
      for (let attempt = 0; kills - atWriteKills < wanted && attempt < 40; attempt++) {
        const ms = Math.round(random() * span);
        times.push(ms);
        const r = await runChild(dir, null, ms);
        afterStart(r, `random kill at ${ms} ms`);
        if (r.killed) {
          kills++;
          if (existsSync(dir)) checkReadable(dir);
        } else if (!r.crashed) {
          expect(r.code, r.stderr).toBe(0);
          await finish(dir);
          dir = join(root, `random-${++finished}`);
        }
      }
      if (existsSync(dir)) {
        await finish(dir);
        finished++;
      }
      console.log(
        `kills: ${atWriteKills} at writes + ${kills - atWriteKills} at random times (seed ${seed}; times ${times.join(', ')} ms of a ${span.toFixed(0)} ms span); ` +
          `${finished} runs resumed to their end, each bitwise the uninterrupted reference${crashes.length ? `; child crashes (not kills), rerun: ${crashes.join('; ')}` : ''}`,
      );
      expect(kills - atWriteKills).toBe(wanted);
      expect(kills).toBeGreaterThanOrEqual(20);
      expect(crashes.length).toBeLessThanOrEqual(3);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
