/**
 * Run directories on the file system. Every write goes to a temporary file that is then renamed, so a
 * kill never leaves a half-written file under a run's name. openRunDir guards a directory for one run:
 * a lock file (one writing process at a time), no silent overwrite of an earlier run, no resume without
 * a checkpoint, no leftover temporary files.
 */
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunStore } from './store.ts';
import { CHECKPOINT_FILE, LEGACY_STATE_FILE, MODEL_FILE } from './run-checkpoint.ts';

/** Holds the pid of the process writing into the directory. */
export const LOCK_FILE = 'run.lock';
/** Files whose presence means the directory holds a run. */
const RUN_MARKERS = [MODEL_FILE, CHECKPOINT_FILE, LEGACY_STATE_FILE, 'best.safetensors', 'log.jsonl', 'report.md'];
/** Everything a training run writes (removed by --force so that no file of the earlier run remains). */
const RUN_OUTPUTS = [...RUN_MARKERS, 'config.json', 'tuning.json', 'curves.svg', 'accuracy.svg', 'confusion.svg', 'samples.svg'];
const TEMP = /\.tmp-\d+$/;

export function tempPath(path: string): string {
  return `${path}.tmp-${process.pid}`;
}

/** Writes `data` to `path` through a temporary file, flushed, then renamed over it. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = tempPath(path);
  const fd = openSync(tmp, 'w');
  try {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export class FsStore implements RunStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  where(name: string): string {
    return this.path(name);
  }
  async write(name: string, data: Uint8Array | string): Promise<void> {
    const p = this.path(name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileAtomic(p, data);
  }
  async read(name: string): Promise<Uint8Array | null> {
    const p = this.path(name);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : null;
  }
  async exists(name: string): Promise<boolean> {
    return existsSync(this.path(name));
  }
}

/** An FsStore whose directory this process holds locked until release() or exit. */
export class RunDir extends FsStore {
  constructor(dir: string, readonly release: () => void) {
    super(dir);
  }
}

export interface OpenRunDirOptions {
  /** Continue the run in the directory from its checkpoint. */
  resume?: boolean;
  /** Replace a run already in the directory (its files are removed first). */
  force?: boolean;
  /** Notes: a stale lock taken over, temporary files or an earlier run's files removed. */
  log?: (line: string) => void;
}

/**
 * Opens a directory for a training run: locks it, removes temporary files a killed writer left, and
 * refuses to start over a run already there (without `force`) or to resume one that has no checkpoint.
 */
export function openRunDir(dir: string, opts: OpenRunDirOptions = {}): RunDir {
  const log = opts.log ?? ((line: string) => console.error(line));
  if (opts.resume && opts.force) throw new Error(`${dir}: --resume continues the run there and --force replaces it: pass one of them`);
  if (opts.resume && !existsSync(dir)) throw new Error(`${dir} does not exist: nothing to resume (--resume continues the run in its --out directory)`);
  mkdirSync(dir, { recursive: true });
  const release = lock(dir, log);
  try {
    const names = readdirSync(dir).sort();
    const temps = names.filter((n) => TEMP.test(n));
    for (const n of temps) rmSync(join(dir, n), { force: true });
    if (temps.length > 0) log(`${dir}: removed ${temps.length} temporary file(s) a stopped run left (${temps.join(', ')})`);
    const present = RUN_MARKERS.filter((n) => names.includes(n));
    if (opts.resume) {
      const legacy = names.includes(MODEL_FILE) && names.includes(LEGACY_STATE_FILE);
      if (!names.includes(CHECKPOINT_FILE) && !legacy) {
        throw new Error(
          `${dir}: --resume needs ${CHECKPOINT_FILE}, which is missing (the directory holds ${present.length ? present.join(', ') : 'no run files'}): ` +
            'the run never finished an epoch; start it afresh (with --force if files are there)',
        );
      }
    } else if (present.length > 0) {
      if (!opts.force) throw new Error(`${dir} already holds a run (${present.join(', ')}); pass --resume to continue it or --force to replace it`);
      const removed = RUN_OUTPUTS.filter((n) => names.includes(n));
      for (const n of removed) rmSync(join(dir, n), { force: true });
      log(`${dir}: --force: removed the earlier run's files (${removed.join(', ')})`);
    }
  } catch (err) {
    release();
    throw err;
  }
  return new RunDir(dir, release);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Directories this process holds locked, released at exit. */
const held = new Set<string>();
let exitHookInstalled = false;

/**
 * Creates `dir/run.lock` holding this pid. The pid is written to a temporary file first and then
 * hard-linked into place, which fails when a lock exists, so no reader ever sees an empty lock. A
 * lock whose process is gone is taken over with a note.
 */
function lock(dir: string, log: (line: string) => void): () => void {
  const path = join(dir, LOCK_FILE);
  const tmp = tempPath(path);
  writeFileAtomic(tmp, `${process.pid}\n`);
  try {
    while (!tryLink(tmp, path)) {
      let text: string;
      try {
        text = readFileSync(path, 'utf8').trim();
      } catch {
        continue; // released between the link and the read: try again
      }
      if (!/^\d+$/.test(text)) throw new Error(`${path} holds "${text.slice(0, 40)}", not a process id: remove it if no run uses ${dir}`);
      const pid = Number(text);
      if (pid === process.pid) throw new Error(`${dir} is already open for a run in this process`);
      if (alive(pid)) throw new Error(`${dir} is in use by process ${pid} (lock file ${path}); wait for that run to end or stop it`);
      log(`${dir}: taking over the lock of process ${pid}, which is no longer running`);
      rmSync(path, { force: true });
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  held.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => [...held].forEach(unlock));
    // A signal would end the process without 'exit': release, then exit as the signal would have.
    for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
      process.once(signal, () => process.exit(code));
    }
  }
  return () => unlock(path);
}

function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function unlock(path: string): void {
  if (!held.delete(path)) return;
  try {
    if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}
