/** RunStore on the file system: every write goes to a temporary file that is then renamed, so a crash never leaves a half-written checkpoint. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { RunStore } from './store.ts';

export class FsStore implements RunStore {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  path(name: string): string {
    return join(this.dir, name);
  }
  async write(name: string, data: Uint8Array | string): Promise<void> {
    const p = this.path(name);
    mkdirSync(dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    writeFileSync(tmp, data);
    renameSync(tmp, p);
  }
  async read(name: string): Promise<Uint8Array | null> {
    const p = this.path(name);
    return existsSync(p) ? new Uint8Array(readFileSync(p)) : null;
  }
  async exists(name: string): Promise<boolean> {
    return existsSync(this.path(name));
  }
}
