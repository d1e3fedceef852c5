// A chain's new state file written record by record: the bytes of a whole-file render
// (renderStateFile of the chain's new file holding those records, tested byte for byte), printed a
// few records at a time in chunks to a temp file, so the writer never holds the file's text, its
// entries or more than a batch of its records. Committed under the file's lock only while no file is there, through the one durable
// write (atomic.ts: fdatasync, rename, folder fsync), so a kill at any instant leaves no file or the
// complete one. Like a write through the store, the version written is linked among the file's
// backups before the rename.
import { lstatSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { compareKeys, ErrorCodes, StateError, fileSystemError, type DeploymentRecord } from '@deploystate/core';
import { AtomicFileWriter } from './atomic.js';
import { BackupShelf, linkVersions, withdrawWritten } from './backups.js';
import { emptyStateFile, printRecordEntries, renderSkeleton } from './file-format.js';
import { withFileLock, type LockOptions } from './lock.js';

// recordsBlock's punctuation (file-format.ts): 2-space indent, `records` at depth 1.
const OPEN = Buffer.from('{\n    ');
const BETWEEN = Buffer.from(',\n    ');
const CLOSE = '\n  }';
const EMPTY = '{}';
// Printed text is written out once this much has gathered. Larger pieces save round trips to the
// thread pool (written while the next is printed, they cost little) but raise the copy's peak RSS
// well beyond their size (1 MiB pieces: about 1.5x at 100k records), which is bounded by its aim.
const CHUNK_BYTES = 64 * 1024;
// Records are printed this many at a time, in one print (printRecordEntries): a print per record
// costs about twice as much. Each waits in `held` until its batch is printed.
const PRINT_BATCH = 128;

/**
 * A new state file for one chain, written record by record in contractName order (compareKeys),
 * each name once. `commit()` puts it in place; `abort()` (or a failed commit) removes the temp file.
 */
export class NewChainFile {
  // Printed bytes not yet written, in order.
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private held: DeploymentRecord[] = [];
  // The last piece's write: one in flight at a time, in order, while the next piece is printed.
  private writing: Promise<void> = Promise.resolve();
  private count = 0;
  private lastName: string | undefined;

  private constructor(
    readonly target: string,
    readonly chainId: number,
    private readonly file: AtomicFileWriter,
    private readonly tail: string,
    private readonly backupsKept: number,
  ) {}

  /**
   * Starts the file `target` (a state file path) for `chainId`, whose registry name is `network`.
   * `backups`: how many backups the file keeps, as the store's option of that name (default 10; 0 keeps none).
   */
  static async create(target: string, chainId: number, network: string, options: { backups?: number } = {}): Promise<NewChainFile> {
    let writer: AtomicFileWriter;
    try {
      writer = AtomicFileWriter.create(target);
    } catch (error) {
      throw writeError(target, error);
    }
    const skeleton = renderSkeleton(emptyStateFile(chainId, network), { network });
    const file = new NewChainFile(target, chainId, writer, skeleton.tail, Math.max(0, options.backups ?? 10));
    file.push(Buffer.from(skeleton.head));
    return file;
  }

  /**
   * Appends one record of this chain, printed as the whole-file render prints it. It is printed with
   * the next few, so it must not change until `commit()`.
   */
  async add(record: DeploymentRecord): Promise<void> {
    this.accept(record);
    if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
  }

  /** `add` of each record in turn, with one wait for the lot (a copy hands over a scan's batch at once). */
  async addAll(records: readonly DeploymentRecord[]): Promise<void> {
    for (const record of records) {
      this.accept(record);
      if (this.pendingBytes >= CHUNK_BYTES) await this.flush();
    }
  }

  /** Takes the next record (checked), printing the held ones once a batch has gathered. */
  private accept(record: DeploymentRecord): void {
    const name = record.contractName;
    if (record.chainId !== this.chainId) {
      throw new StateError(ErrorCodes.CHAIN_MISMATCH, `${record.chainId}-${name} belongs to chain ${record.chainId}, not ${this.chainId}`, {
        key: `${record.chainId}-${name}`,
      });
    }
    if (this.lastName !== undefined && compareKeys(this.lastName, name) >= 0) {
      throw new StateError(ErrorCodes.INVALID_ARGUMENT, `records must come in name order, each once: ${JSON.stringify(name)} after ${JSON.stringify(this.lastName)}`, {
        key: `${this.chainId}-${name}`,
      });
    }
    this.lastName = name;
    this.count++;
    this.held.push(record);
    if (this.held.length >= PRINT_BATCH) this.printHeld();
  }

  /** Prints the records held, after those printed before them. */
  private printHeld(): void {
    if (this.held.length === 0) return;
    const first = this.count === this.held.length;
    const held = this.held;
    this.held = [];
    this.push(first ? OPEN : BETWEEN);
    // Bytes at once: the printed text (and the print it was taken from) is garbage before the piece is written.
    this.push(Buffer.from(printRecordEntries(held)));
  }

  private push(bytes: Uint8Array): void {
    this.pending.push(bytes);
    this.pendingBytes += bytes.byteLength;
  }

  /** Records added so far. */
  get size(): number {
    return this.count;
  }

  /**
   * Finishes the file and puts it in place at `target`, under the target's lock, when no file is
   * there; false (and the temp file removed) when one is, so the caller writes through the store.
   * `onPlaced` runs under the lock once the file is in place (to note the file's signature as written).
   */
  async commit(lockOptions: LockOptions = {}, onPlaced?: () => void): Promise<boolean> {
    try {
      this.printHeld();
      this.push(Buffer.from((this.count === 0 ? EMPTY : CLOSE) + this.tail));
      await this.flush();
      await this.writing;
      const placed = await withFileLock(
        this.target,
        async () => {
          // Anything at the path (a file, a link, a folder) is left alone: the store decides what it is.
          if (lstatSync(this.target, { throwIfNoEntry: false }) !== undefined) return false;
          const shelf = this.backupsKept > 0 ? new BackupShelf(dirname(this.target), basename(this.target), this.backupsKept) : undefined;
          const planned = shelf?.next();
          // The oldest backup one more pushes past the bound goes (the store would reuse it as its temp file).
          if (planned?.recyclable !== undefined) await unlink(planned.recyclable).catch(() => undefined);
          let kept: ReturnType<typeof linkVersions> | undefined;
          let renamed = false;
          try {
            await this.file.replace({
              beforeRename: async (tmp) => {
                if (shelf) kept = linkVersions(shelf.folder, this.target, tmp, planned?.lastWritten, planned?.newest);
              },
              afterRename: () => {
                renamed = true;
              },
            });
          } catch (error) {
            if (kept && !renamed) withdrawWritten(kept);
            throw error;
          }
          if (kept) shelf?.added({ path: kept.written, ino: kept.writtenIno }, kept.replaced);
          onPlaced?.();
          return true;
        },
        lockOptions,
      );
      if (!placed) {
        await this.abort();
        return false;
      }
      return true;
    } catch (error) {
      await this.abort();
      throw error instanceof StateError ? error : writeError(this.target, error);
    }
  }

  /** Drops the file: nothing is written at `target`. */
  async abort(): Promise<void> {
    // The write in flight ends before its file is closed and removed (its error is this abort's reason, or moot).
    await this.writing.catch(() => undefined);
    await this.file.discard().catch((error: unknown) => {
      throw writeError(this.target, error);
    });
  }

  /** Starts writing what has gathered once the write before it is done; a failed write is thrown here or by commit. */
  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const chunk = this.pending.length === 1 ? (this.pending[0] as Uint8Array) : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    await this.writing;
    const writing = this.file.append(chunk).catch((error: unknown) => {
      throw writeError(this.target, error);
    });
    // Awaited by the next flush, commit or abort: never left unhandled.
    writing.catch(() => undefined);
    this.writing = writing;
  }
}

function writeError(target: string, error: unknown): StateError {
  return fileSystemError(error, target, 'could not write');
}
