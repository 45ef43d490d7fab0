/** Feature views persisted as files in a folder (Bun / Node): written atomically, unreadable files rebuilt. */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ViewPersistence } from './feature-cache.ts';

export class FsViewCache implements ViewPersistence {
  constructor(readonly dir: string) {}

  describe(key: string): string {
    return join(this.dir, `${key.replace(/[^A-Za-z0-9_.-]+/g, '_')}.safetensors`);
  }

  async load(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.describe(key)));
    } catch {
      return null;
    }
  }

  async save(key: string, bytes: Uint8Array): Promise<void> {
    const path = this.describe(key);
    await mkdir(this.dir, { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }
}
