/**
 * A child of the kill-anywhere test: trains the micro run (kill-resume-run.ts) in a run directory
 * opened with openRunDir (resuming when asked, else starting afresh with --force), names each file
 * write on stderr, and optionally
 * SIGKILLs itself at its k-th file write — after the write (between two writes) or torn (the temporary
 * file half written, before the rename): the windows a kill at a random moment rarely hits.
 * Usage: bun test/kill-resume-child.ts '{"dir": …, "resume": bool, "kill": {"write": k, "torn": bool}}'
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Engine } from '../src/engine/engine.ts';
import { openRunDir, tempPath } from '../src/train/store-fs.ts';
import type { RunStore } from '../src/train/store.ts';
import { ENGINE_OPTIONS, trainMicro } from './kill-resume-run.ts';

const args = JSON.parse(process.argv[2]!) as { dir: string; resume: boolean; kill?: { write: number; torn: boolean } };
const dir = openRunDir(args.dir, { resume: args.resume, force: !args.resume, log: (l) => console.error(`[note] ${l}`) });
let writes = 0;
const store: RunStore = {
  read: (n) => dir.read(n),
  exists: (n) => dir.exists(n),
  where: (n) => dir.where(n),
  async write(name, data) {
    const kill = args.kill?.write === ++writes ? args.kill : null;
    console.error(`[write] ${name}`);
    if (kill?.torn) {
      // What a kill inside writeFileAtomic leaves: part of the new content under the temporary name.
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const fd = openSync(tempPath(dir.path(name)), 'w');
      writeSync(fd, bytes, 0, Math.ceil(bytes.length / 2));
      closeSync(fd);
      console.error(`[kill] torn write of ${name}`);
      process.kill(process.pid, 'SIGKILL');
    }
    await dir.write(name, data);
    if (kill) {
      console.error(`[kill] after writing ${name}`);
      process.kill(process.pid, 'SIGKILL');
    }
  },
};
// Dawn on this software adapter now and then reports garbage adapter limits at start-up (the device
// request then fails): a start-up fault, not the run's, so the child tries again.
let e: Engine | null = null;
for (let attempt = 1; !e; attempt++) {
  try {
    e = await Engine.create(ENGINE_OPTIONS);
  } catch (err) {
    if (attempt === 3) throw err;
    console.error(`[note] engine start failed (${(err as Error).message.split('\n')[0]}); trying again`);
  }
}
await trainMicro(e, store, args.resume, (l) => console.error(`[log] ${l}`));
process.exit(0);
