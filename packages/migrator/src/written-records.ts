// What a writer (the copy) put in each network file, each record's name, digest and timestamp,
// kept in a spill file on disk instead of in memory, so the co-owned files baseline taken after a
// copy of any size adopts the written files without parsing them again or holding the store.
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { isProcessAlive } from '@deploystate/core';
import { fileSignature } from './file-digests.js';

/** One record of a file: its contract name, canonicalDigest and timestamp (decimal). */
export type SpilledRecord = [name: string, entry: { digest: string; timestamp: string }];

// Text is written out once this much has gathered.
const CHUNK_CHARS = 64 * 1024;

/** Records appended one by one to a file, read back in the same order. */
export class RecordSpill {
  private pending = '';
  private handle: FileHandle | undefined;

  constructor(readonly path: string) {}

  /** One line per record: the name as a JSON string (any character), then the digest and timestamp. */
  async add(name: string, digest: string, timestamp: string): Promise<void> {
    this.pending += `${JSON.stringify(name)}\t${digest}\t${timestamp}\n`;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  async close(): Promise<void> {
    await this.flush();
    this.handle ??= await open(this.path, 'a');
    await this.handle.close();
    this.handle = undefined;
  }

  async *records(): AsyncGenerator<SpilledRecord> {
    const lines = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.length === 0) continue;
      const second = line.lastIndexOf('\t');
      const first = line.lastIndexOf('\t', second - 1);
      yield [JSON.parse(line.slice(0, first)) as string, { digest: line.slice(first + 1, second), timestamp: line.slice(second + 1) }];
    }
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    this.handle ??= await open(this.path, 'a');
    await this.handle.write(text);
  }
}

const SPILL_FOLDER = /^records-(\d+)-/;

/** Spill folders that processes no longer alive left behind (killed mid-copy). */
async function removeOrphans(parent: string): Promise<void> {
  for (const name of await readdir(parent)) {
    const pid = Number(SPILL_FOLDER.exec(name)?.[1] ?? Number.NaN);
    if (Number.isInteger(pid) && pid !== process.pid && !isProcessAlive(pid)) await rm(join(parent, name), { recursive: true, force: true });
  }
}

/** Spill files in a temp folder of their own (named with the process's pid), removed with it. */
export class SpillFolder {
  private folder: string | undefined;
  private count = 0;

  constructor(private readonly parent: string) {}

  async spill(): Promise<RecordSpill> {
    if (!this.folder) {
      await mkdir(this.parent, { recursive: true });
      await removeOrphans(this.parent);
      this.folder = await mkdtemp(join(this.parent, `records-${process.pid}-`));
    }
    return new RecordSpill(join(this.folder, `${this.count++}.tsv`));
  }

  async remove(): Promise<void> {
    if (this.folder) await rm(this.folder, { recursive: true, force: true });
    this.folder = undefined;
  }
}

/** One file the writer wrote: its records, and the file's signature right after the write. */
export interface WrittenFile {
  readonly spill: RecordSpill;
  /** Notes the file's signature as it is now: call right after the write, while its lock is held. */
  placed(): void;
}

/**
 * The files one command wrote, each with its records spilled to disk and the file's signature
 * right after its write. A file is taken from here only while it still has that signature (anyone
 * who changed it since is read from the file itself), and only once.
 */
export class WrittenRecords {
  private readonly files = new Map<string, { spill: RecordSpill; signature: string | undefined }>();
  private readonly folder: SpillFolder;

  /** `tmpDir`: where the spill files go (the state folder's temp folder). */
  constructor(tmpDir: string) {
    this.folder = new SpillFolder(tmpDir);
  }

  /** Starts recording `file`, whose records are then added to the spill in the file's order. */
  async begin(file: string): Promise<WrittenFile> {
    const entry = { spill: await this.folder.spill(), signature: undefined as string | undefined };
    this.files.set(file, entry);
    return {
      spill: entry.spill,
      placed: () => {
        entry.signature = fileSignature(file);
      },
    };
  }

  /** Forgets a file begun but not written after all. */
  drop(file: string): void {
    this.files.delete(file);
  }

  /** The records written to `file`, if it is still exactly as written; each file is taken once. */
  take(file: string): RecordSpill | undefined {
    const hit = this.files.get(file);
    this.files.delete(file);
    return hit && hit.signature !== undefined && fileSignature(file) === hit.signature ? hit.spill : undefined;
  }

  /** Removes every spill file. */
  async remove(): Promise<void> {
    this.files.clear();
    await this.folder.remove();
  }
}
