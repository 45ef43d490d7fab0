/**
 * The kernel tuner's decisions on disk (Bun / Node), shared by every command, script and benchmark
 * on this machine: one JSON file keyed by adapter, replaced whole through a temporary file.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { enableAutotune, type Engine, type TuningStore } from '../engine/index.ts';
import { writeFileAtomic } from './store-fs.ts';

/** $LRDIF_TUNING_CACHE, else $XDG_CACHE_HOME/lrdif/tunings.json, else ~/.cache/lrdif/tunings.json. */
export function tuningCachePath(env: Record<string, string | undefined> = process.env): string {
  if (env.LRDIF_TUNING_CACHE) return env.LRDIF_TUNING_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lrdif', 'tunings.json');
}

export function fileTuningStore(path: string): TuningStore {
  return {
    where: path,
    async read() {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    },
    async write(text: string) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileAtomic(path, text);
    },
  };
}

/** Turns tuning on for the engine with the machine's tuning file (tuningCachePath); messages go to stderr. */
export function useTuningCache(e: Engine, path = tuningCachePath()): Promise<void> {
  return enableAutotune(e, { store: fileTuningStore(path), log: (line) => console.error(line) });
}
