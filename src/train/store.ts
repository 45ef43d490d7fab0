/** Where a run keeps its files: the file system in the CLI, memory in the browser. */
export interface RunStore {
  /** Replaces the file whole: a reader sees the old or the new content, never a mix. */
  write(name: string, data: Uint8Array | string): Promise<void>;
  read(name: string): Promise<Uint8Array | null>;
  exists(name: string): Promise<boolean>;
  /** Where a file lives, for messages (a path, or a name within the memory store). */
  where(name: string): string;
}

export class MemoryStore implements RunStore {
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly label = 'memory') {}
  async write(name: string, data: Uint8Array | string): Promise<void> {
    this.files.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }
  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name) ?? null;
  }
  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }
  where(name: string): string {
    return `${this.label}:${name}`;
  }
}
