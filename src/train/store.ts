/** Where a run keeps its files: the file system in the CLI, memory in the browser. */
export interface RunStore {
  write(name: string, data: Uint8Array | string): Promise<void>;
  read(name: string): Promise<Uint8Array | null>;
  exists(name: string): Promise<boolean>;
}

export class MemoryStore implements RunStore {
  readonly files = new Map<string, Uint8Array>();
  async write(name: string, data: Uint8Array | string): Promise<void> {
    this.files.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }
  async read(name: string): Promise<Uint8Array | null> {
    return this.files.get(name) ?? null;
  }
  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }
}
