// What a writer (the copy) put in each network file, each record's key, digest and timestamp,
// kept in a spill file on disk instead of in memory, so the co-owned files baseline taken after a
// copy of any size adopts the written files without parsing them again or holding the store. The
// spill holds the entries as written.json prints them, so the baseline copies them as they are.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileSystemError, isProcessAlive, tempFolderRemovedOnInterrupt, type DeploymentRecord } from '@deploystate/core';
import type { WrittenEntry } from './coowned-baseline.js';
import { fileSignature } from './file-digests.js';
import { parseEntryLine, printedPut, printedRecordPut } from './written-file.js';

// Text is written out once this much has gathered, and read back in pieces of this size.
const CHUNK_CHARS = 64 * 1024;

/** One chain's records appended one by one to a file, read back in the same order. */
export class RecordSpill {
  private pending = '';
  private handle: FileHandle | undefined;
  // The last piece's write: one in flight, in order, while the next is printed (awaited by the next flush and by close).
  private writing: Promise<void> = Promise.resolve();

  /** `chainId`: the chain whose records (by contract name) this spill holds. */
  constructor(
    readonly path: string,
    private readonly chainId: number,
  ) {}

  /**
   * One record the product wrote itself (the baseline's `seq` 0): its entry as written.json prints
   * it (see printedEntry, printedPut), after the comma that separates it from the one before.
   */
  async add(name: string, digest: string, timestamp: string): Promise<void> {
    this.pending += `,${printedPut(`${this.chainId}-${name}`, digest, timestamp)}`;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  /** `add` of each record with its canonicalDigest (digests[i] is records[i]'s), with one wait for the lot. */
  async addRecords(records: readonly DeploymentRecord[], digests: readonly string[]): Promise<void> {
    for (let i = 0; i < records.length; i++) {
      const record = records[i] as DeploymentRecord;
      this.pending += `,${printedRecordPut(`${this.chainId}-${record.contractName}`, digests[i] as string, String(record.timestamp))}`;
      if (this.pending.length >= CHUNK_CHARS) await this.flush();
    }
  }

  async close(): Promise<void> {
    try {
      await this.flush();
      try {
        await this.writing;
      } finally {
        this.handle ??= await open(this.path, 'a');
        await this.handle.close();
        this.handle = undefined;
      }
    } catch (error) {
      throw fileSystemError(error, this.path, 'could not write the spill file');
    }
  }

  /** Each entry by key. */
  async *records(): AsyncGenerator<[string, WrittenEntry]> {
    const lines = createInterface({ input: createReadStream(this.path, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      // The comma before the first entry stands alone on the first line.
      if (line === ',' || line.length === 0) continue;
      const parsed = parseEntryLine(line);
      if (!parsed) throw new Error(`${this.path}: not a spilled entry: ${line.slice(0, 80)}`);
      yield parsed;
    }
  }

  /** The entries as printed, in pieces (BaselineWriter.addPrinted takes them as they come). */
  async *printed(): AsyncGenerator<string> {
    for await (const chunk of createReadStream(this.path, { encoding: 'utf8', highWaterMark: CHUNK_CHARS })) yield chunk as string;
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const text = this.pending;
    this.pending = '';
    try {
      await this.writing;
      this.handle ??= await open(this.path, 'a');
    } catch (error) {
      throw fileSystemError(error, this.path, 'could not write the spill file');
    }
    const writing = this.handle.write(text).then(() => undefined);
    // Awaited by the next flush or by close: never left unhandled.
    writing.catch(() => undefined);
    this.writing = writing;
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
  // Made once, whoever asks first (a chain's end and the next chain may ask at once).
  private folder: Promise<string> | undefined;
  private count = 0;

  constructor(private readonly parent: string) {}

  async spill(chainId: number): Promise<RecordSpill> {
    this.folder ??= this.create();
    const folder = await this.folder;
    return new RecordSpill(join(folder, `${this.count++}.spill`), chainId);
  }

  private async create(): Promise<string> {
    await mkdir(this.parent, { recursive: true });
    await removeOrphans(this.parent);
    const { path, drop } = tempFolderRemovedOnInterrupt(join(this.parent, `records-${process.pid}-`));
    this.dropCleanup = drop;
    return path;
  }

  // Removes the folder if a signal stops the process first (the CLI runs these cleanups).
  private dropCleanup: (() => void) | undefined;

  async remove(): Promise<void> {
    const folder = this.folder;
    this.folder = undefined;
    const path = await folder?.catch(() => undefined);
    if (path) await rm(path, { recursive: true, force: true });
    this.dropCleanup?.();
    this.dropCleanup = undefined;
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

  /** Starts recording `file`, chain `chainId`'s, whose records are then added to the spill in the file's order. */
  async begin(file: string, chainId: number): Promise<WrittenFile> {
    const entry = { spill: await this.folder.spill(chainId), signature: undefined as string | undefined };
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
