// The JSON store's write path: per chain, a queue whose waiting operations go into one file write;
// each write runs under the file's cross-process lock (a lease), starts from the file as it is now
// (re-checked under the lock), prints only the records it changes, replaces the file and links the version written among the backups.
import { chmodSync, closeSync, fstatSync, lstatSync, openSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  canonicalEqual,
  ErrorCodes,
  GIT_WAIT_MAX_MS,
  StateError,
  fileStyleOf,
  fileSystemError,
  GIT_SETTLE_MS,
  gitBusy,
  restyleBytes,
  setOwnProperty,
  untilGitDone,
  type DeploymentRecord,
  type NetworkRegistry,
} from '@deploystate/core';
import { FolderSync, STATE_DIR, writeFileAtomic } from './atomic.js';
import { BackupShelf, linkWritten, planVersions, withdrawWritten, type PlannedVersions } from './backups.js';
import { inodeAt, signatureOf, stillVersion, type FileCache, type FileSignature, type LoadedFile } from './file-cache.js';
import { assertRewritable, emptyStateFile, type InvalidRecordEntry, type StateFileModel } from './file-format.js';
import { LockLease, type LockOptions } from './lock.js';
import { PrintRooms } from './print-room.js';
import { RecordsDraft } from './records-draft.js';
import { renderWithLayout, spliceInPieces, wholeText, type PendingText, type StateFileLayout } from './record-splice.js';

export interface WriteOutcome {
  file: string;
  backup?: string;
  changed: boolean;
  /** The file as the write left it: its stat right after the rename, or as read when nothing changed (undefined: no file). */
  leftAs: FileSignature | undefined;
}

/** The records of one file while a batch of operations is applied to it. */
export interface Working {
  file: string;
  chainId: number;
  records: Map<string, DeploymentRecord>;
  invalid: Set<string>;
  /** Names the batch set (their legacy entries follow them, and only they are printed again). */
  touched: Set<string>;
}

export type ApplyWrite = (work: Working) => unknown;

interface WriteOp {
  apply: ApplyWrite;
  resolve(result: { value: unknown; outcome: WriteOutcome }): void;
  reject(error: unknown): void;
}

interface ChainQueue {
  ops: WriteOp[];
  running: Promise<void> | undefined;
}

export interface WriteQueueOptions {
  location: string;
  registry: NetworkRegistry;
  cache: FileCache;
  durable: boolean;
  backupsKept: number;
  lockWait: Pick<LockOptions, 'timeoutMs'>;
  lockLeaseMs: number;
  /** The file a chain's writes go to (see JsonFileStore). */
  writeTargetFor(chainId: number): string;
  /** Awaited under the lock once the new version is complete (and synced), right before it replaces the file (see JsonFileStoreOptions). */
  beforeReplace?: ((file: string) => Promise<void> | void) | undefined;
  /** Called once the new version's data sync has started, before the store's own work beside it (see JsonFileStoreOptions). */
  whileSyncing?: ((file: string) => void) | undefined;
  /** Top-level fields each write gives its file (see JsonFileStoreOptions.fileFields). */
  fileFields?: (() => Readonly<Record<string, unknown>> | undefined) | undefined;
}

export class WriteQueue {
  private readonly queues = new Map<number, ChainQueue>();
  private readonly leases = new Map<string, LockLease>();
  private readonly shelves = new Map<string, BackupShelf>();
  private readonly rooms = new PrintRooms();
  /** The state files' folder, kept open for the sync after each replacement. */
  private readonly folder: FolderSync;
  private readonly tmpDir: string;

  constructor(private readonly options: WriteQueueOptions) {
    this.folder = new FolderSync(options.location);
    this.tmpDir = join(options.location, STATE_DIR, 'tmp');
  }

  enqueue(chainId: number, apply: ApplyWrite): Promise<{ value: unknown; outcome: WriteOutcome }> {
    return new Promise((resolve, reject) => {
      let queue = this.queues.get(chainId);
      if (!queue) this.queues.set(chainId, (queue = { ops: [], running: undefined }));
      queue.ops.push({ apply, resolve, reject });
      if (!queue.running) queue.running = this.drain(chainId, queue);
    });
  }

  /** Resolves when the chain's queued writes are done (whatever their outcome). */
  async settled(chainId: number): Promise<void> {
    await this.queues.get(chainId)?.running?.catch(() => undefined);
    // A write removes the backups it pushed out of the bound off its path: gone once settled.
    await Promise.all([...this.shelves.values()].map((shelf) => shelf.pruned()));
  }

  /** Waits for every queued write, then ends every lease. */
  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.running?.catch(() => undefined)));
    await Promise.all([...this.leases.values()].map((lease) => lease.release()));
    await Promise.all([...this.shelves.values()].map((shelf) => shelf.pruned()));
    this.leases.clear();
    this.shelves.clear();
    this.rooms.clear();
    this.folder.close();
  }

  /** Ends this store's lease on a file and forgets its backups (before another writer, such as restore, takes the lock). */
  async letGo(file: string): Promise<void> {
    await this.leases.get(file)?.release();
    this.shelves.get(file)?.reset();
    this.rooms.forget(file);
  }

  /** Writes queued operations, all that queued meanwhile in one file write. */
  private async drain(chainId: number, queue: ChainQueue): Promise<void> {
    try {
      while (queue.ops.length > 0) {
        const batch = queue.ops.splice(0);
        try {
          const fast = await this.writeOnLease(chainId, batch);
          // Under the lock of the file the chain is written to; again under the new one's when the
          // file turned out to have moved meanwhile (a rename the registry learnt of), never under another's.
          for (let attempt = 1; fast !== true; attempt++) {
            const locked = this.options.writeTargetFor(chainId);
            const moved = await this.leaseFor(locked).run(() => this.writeBatch(chainId, batch, fast === undefined, locked, attempt < MOVED_ATTEMPTS));
            if (!moved) break;
          }
        } catch (error) {
          for (const op of batch) op.reject(error);
        }
      }
    } finally {
      queue.running = undefined;
      if (queue.ops.length === 0 && this.queues.get(chainId) === queue) this.queues.delete(chainId);
    }
  }

  private leaseFor(file: string): LockLease {
    let lease = this.leases.get(file);
    if (!lease) this.leases.set(file, (lease = new LockLease(file, { ...this.options.lockWait, idleMs: this.options.lockLeaseMs })));
    return lease;
  }

  private shelfFor(file: string): BackupShelf {
    let shelf = this.shelves.get(file);
    if (!shelf) this.shelves.set(file, (shelf = new BackupShelf(this.options.location, basename(file), this.options.backupsKept)));
    return shelf;
  }

  /**
   * A put right after this store's own write of the file, while its lease still holds the lock:
   * printed at once from what the store last wrote (the racy entry), with the checks for a waiter,
   * of the lock file and the file's read left to the temp file's sync (see writeBatch).
   * Undefined when it does not apply; false when it was tried and the batch must take the usual path.
   */
  private async writeOnLease(chainId: number, batch: WriteOp[]): Promise<boolean | undefined> {
    const racy = this.options.cache.racyEntry(chainId);
    const lease = racy && this.leases.get(racy.file);
    if (!racy || !lease?.idleHeld) return undefined;
    // The racy entry is the chain's file under its registry name: read whole and unchanged, it is
    // the file writeTargetFor() names, so the lease is the one the usual path would take. A waiter
    // is let go first: seen while the temp file syncs, it abandons the write before its rename, and
    // the usual path hands the lock over before it writes again.
    const check = (): boolean => !lease.waitedFor() && lease.confirm() && this.options.cache.holdsBytes(chainId, racy);
    return lease.runUnchecked(() => this.tryWrite(chainId, batch, racy, check));
  }

  /** Writes the batch under `locked`'s lock; true, with nothing written, when the chain's file is another (moved: see drain) and `mayMove`. */
  private async writeBatch(chainId: number, batch: WriteOp[], speculate: boolean, locked: string, mayMove: boolean): Promise<boolean> {
    // Under the lock: the file as it is now (stat re-checked, re-read when it changed), so keys
    // other code wrote since this store last looked are the base of this write, never reverted.
    // A racy entry (as a rule this store's own write a moment ago) is printed from at once and
    // compared with the file while the temp file syncs: a file that changed abandons that write
    // before its rename, and the batch runs again from the file as it is now. Only a write is
    // trusted to that check: any other outcome (nothing to write, a refusal) waits for the read.
    const racy = speculate ? this.options.cache.racyEntry(chainId) : undefined;
    if (racy && racy.file === locked && (await this.tryWrite(chainId, batch, racy, () => this.options.cache.holdsBytes(chainId, racy)))) return false;
    // Again from the file as it is now while another program keeps changing it under the write
    // (replaceFile), a few times; then refused, nothing written.
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.options.cache.load(chainId);
      // Never written under another file's lock: moved again after MOVED_ATTEMPTS locks, refused.
      if (loaded.file !== locked) {
        if (mayMove) return true;
        throw changedUnderWrite(loaded.file, attempt);
      }
      if (await this.tryWrite(chainId, batch, loaded)) return false;
      if (attempt >= CHANGED_UNDER_WRITE_ATTEMPTS) throw changedUnderWrite(this.options.writeTargetFor(chainId), attempt);
    }
  }

  /**
   * Applies the batch to `loaded` and writes the result. With `check` (a racy base, see writeBatch),
   * false with nothing settled when the base is not trusted with the outcome or `check` fails; a
   * `check` that passes has read the file (FileCache.holdsBytes), so `loaded.signature` is its stat then.
   */
  private async tryWrite(chainId: number, batch: WriteOp[], loaded: LoadedFile, check?: () => boolean): Promise<boolean> {
    const racy = check !== undefined;
    // A chain's file keeps the name it was created under (a chain-<id>.json named before the
    // registry knew the chain included): a new list never renames a file; renaming is explicit.
    const target = loaded.file;
    if (loaded.model) {
      try {
        assertRewritable(loaded.model, target);
      } catch (error) {
        if (racy) return false;
        throw error;
      }
    }
    const model = loaded.model ?? emptyStateFile(chainId, this.options.registry.get(chainId).name);
    const work: Working = {
      file: target,
      chainId,
      records: new RecordsDraft(model.records),
      invalid: new Set(model.invalid.keys()),
      touched: new Set(),
    };
    const results: Array<{ op: WriteOp; value?: unknown; error?: unknown }> = [];
    for (const op of batch) {
      try {
        results.push({ op, value: op.apply(work) });
      } catch (error) {
        results.push({ op, error });
      }
    }
    if (results.every((r) => r.error !== undefined)) {
      if (racy) return false;
      // Nothing to write: every operation was refused, and the file stays exactly as it is.
      for (const { op, error } of results) op.reject(error);
      return true;
    }
    // Most files hold no entry that is not a record: no array made to find none.
    const remainingInvalid =
      model.invalid.size === 0 ? new Map<string, InvalidRecordEntry>() : new Map([...model.invalid].filter(([name]) => work.invalid.has(name)));
    const next: StateFileModel = { ...model, document: withFields(model.document, this.options.fileFields?.()), records: work.records, invalid: remainingInvalid };
    const printed = this.print(loaded, next, work.touched);
    if (!printed && racy) return false;
    const outcome: WriteOutcome = { file: target, changed: false, leftAs: loaded.signature };
    if (printed) {
      const { text } = printed;
      let remembered = false;
      // Right after the rename, while the folder's sync runs: the cache holds the file as written
      // (its records copied from the draft here, off the put's path), and the version it replaces
      // lends its buffer to the next write (print-room.ts).
      const remember = (writtenIno: bigint | undefined): void => {
        remembered = true;
        const signature = signatureOf(target);
        // Another program replaced the file in the instant after the rename: its version is not
        // this one, whatever the cache would say; the next write reads it.
        if (signature !== null && writtenIno !== undefined && signature.ino !== writtenIno) {
          this.options.cache.delete(chainId);
          this.retire(loaded);
          return;
        }
        outcome.leftAs = signature ?? undefined;
        const records = work.records instanceof RecordsDraft ? work.records.settle() : work.records;
        const written: LoadedFile = {
          file: target,
          model: { chainId, version: 1, document: printed.layout.document, records, invalid: remainingInvalid },
          // Joined while the temp file synced already (replaceFile); before retire() lets go of the bytes its pieces read.
          bytes: text.bytes(),
          readAt: Date.now(),
          layout: printed.layout,
          signature: signature ?? undefined,
          // A put into a work tree a git command left stopped part-way: the file's other records are still as git left them.
          ...(loaded.besideGit === true && { besideGit: true }),
        };
        this.options.cache.remember(chainId, written);
        this.retire(loaded);
      };
      let replaced: { backup: string | undefined } | false;
      try {
        replaced = await this.replaceFile(target, text, loaded, remember, check);
      } catch (error) {
        // The layout the splice changed in place no longer describes the file: read it afresh next time.
        if (printed.lent && !remembered) this.options.cache.delete(chainId);
        throw error;
      }
      if (replaced === false) {
        // Abandoned (the lease's lock or the file is not what the print assumed), or written and
        // then replaced by git or another program (replaceFile): the layout it changed in place is dropped with its
        // entry, so the usual path reads the file afresh.
        if (printed.lent) this.options.cache.delete(chainId);
        return false;
      }
      if (replaced.backup !== undefined) outcome.backup = replaced.backup;
      outcome.changed = true;
    }
    for (const { op, value, error } of results) {
      if (error !== undefined) op.reject(error);
      else op.resolve({ value, outcome });
    }
    return true;
  }

  /**
   * The new text, or undefined when the write changes nothing. A file this store printed (its
   * layout held beside its bytes) is spliced: only the touched records are printed and compared.
   * Any other file (first write after another writer's change, a legacy file) is rendered whole.
   * The layout is always in the store's own style; a file in its own indent or line ends
   * (file-style.ts) gets the text in them, and keeps them (its bytes are the file's, the layout's not).
   */
  private print(loaded: LoadedFile, next: StateFileModel, touched: Set<string>): { text: PendingText; layout: StateFileLayout; lent: boolean } | undefined {
    // No per-object text cache: the layout already holds every unchanged record's printed bytes.
    const options = { network: this.options.registry.get(next.chainId).name, mirror: touched };
    const style = fileStyleOf(loaded.bytes);
    if (loaded.layout) {
      // A splice that changes nothing changes nothing it was lent either.
      const spliced = spliceInPieces(loaded.layout, next, touched, options, this.rooms.roomFor(loaded.file));
      if (!spliced.changed) return undefined;
      return { text: style === undefined ? spliced.text : wholeText(restyleBytes(spliced.text.bytes(), style)), layout: spliced.layout, lent: true };
    }
    const full = renderWithLayout(next, options);
    const bytes = style === undefined ? full.bytes : restyleBytes(full.bytes, style);
    if (loaded.bytes !== undefined && loaded.bytes.equals(bytes)) return undefined;
    return { text: wholeText(bytes), layout: full.layout, lent: false };
  }

  /** The version just replaced lets go of its bytes (nothing reads them once the cache holds the new one), for the next print. */
  private retire(previous: LoadedFile): void {
    const bytes = previous.bytes;
    // Assigned, not deleted: a delete would turn these objects into slow dictionaries.
    previous.bytes = undefined;
    if (previous.layout) previous.layout.bytes = undefined;
    this.rooms.retire(previous.file, bytes);
  }

  /**
   * Replaces the file atomically, the version written hard-linked among the backups (and the file
   * replaced too, unless it is the version last written); returns the backup holding the replaced
   * version. `replaced` runs right after the rename, while the folder's sync runs. `check` runs
   * while the temp file syncs: false abandons the write before anything is linked or renamed.
   */
  private async replaceFile(
    target: string,
    text: PendingText,
    loaded: LoadedFile,
    replaced: (writtenIno: bigint | undefined) => void,
    check?: () => boolean,
  ): Promise<{ backup: string | undefined } | false> {
    // Backups are hard links (files are always replaced, never edited, so a link is a faithful
    // copy): to the version written here, and to the file replaced unless that is the version
    // last written; the backup pushed past the bound becomes the temp file (backups.ts).
    const shelf = this.options.backupsKept > 0 ? this.shelfFor(target) : undefined;
    const lease = this.leaseFor(target);
    let planned: ReturnType<BackupShelf['next']> | undefined;
    try {
      planned = shelf?.next(lease.takes);
    } catch (error) {
      shelf?.reset();
      throw fileSystemError(error, target, 'could not prepare the backup of');
    }
    // The permission bits the file had when it was read (the temp file is made with them).
    const mode = loaded.file === target ? loaded.signature?.mode : undefined;
    let plan: PlannedVersions | undefined;
    let kept: ReturnType<typeof linkWritten> | undefined;
    let stale = false;
    let renamed = false;
    // The inode renamed in: the file as written, as long as no other program replaced it since.
    let writtenIno: bigint | undefined;
    // With no backup linking the version written: a descriptor on it until the check after the
    // sync. Else git's unlink frees its inode, git's create may get the same number (ext4 hands a
    // freed inode out again at once), and that check takes git's file for this write's.
    let writtenHeld: number | undefined;
    const folder = dirname(target);
    // The put's two waits for git (before the rename, before it returns) share one bound: each its
    // own let one put hold the file's lock twice that long (a lock stamped just under the bound
    // ahead of the clock, a git at work longer), as long as another writer's wait for the lock.
    // Each waits for git's whole command, not for one hold of its lock: a merge that aborts on the
    // dirty file (`git pull` with local changes) stashes the file, then writes HEAD's version and
    // the stashed one over it, each step a process of its own holding index.lock, with gaps between
    // them. A wait that ended in such a gap let the put return before git's next steps put the file
    // back as the stash read it (the put lost); a rename in one went under `stash apply`, which then
    // refused or merged it away (the stashed records lost). So git counts as at work until its folder
    // has been quiet for GIT_SETTLE_MS too (gitBusy).
    let gitWaitEnds: number | undefined;
    const waitForGit = (): Promise<void> => {
      gitWaitEnds ??= Date.now() + GIT_WAIT_MAX_MS;
      return untilGitDone(folder, { maxWaitMs: gitWaitEnds - Date.now(), settleMs: GIT_SETTLE_MS });
    };
    const lastSteps = (tmp: string, gitWaited = false): false | undefined | Promise<false | undefined> => {
      // A git command rewriting the work tree (checkout, reset, stash, pull) unlinks each file it
      // updates and creates it again, exclusively: a rename in between failed git's command halfway
      // ("File exists") or went under git's version. Waited for, bounded as reads wait (a stat of
      // git's index.lock when git is not at work); the file as git left it then fails the check
      // below, and the batch runs again on top of it (writeBatch).
      if (!gitWaited && gitBusy(folder)) return waitForGit().then(() => lastSteps(tmp, true));
      // Never rename over the file without the lock (its lock file removed or replaced meanwhile).
      lease.assertHeld();
      // Other programs write the file without the lock (git checking out or merging it, a script
      // saving it itself): one that changed it since it was read, while this write printed and
      // synced, would lose its change to the rename. Abandoned; the batch runs again from the file
      // as it is now (writeBatch). Right before the rename, so the gap left is a few microseconds.
      if (changedSince(target, loaded.signature)) {
        stale = true;
        return false;
      }
      // The version written is linked once synced, so a backup named as written is always whole.
      if (plan) kept = backupStep(target, () => linkWritten(plan as PlannedVersions));
      if (kept) writtenIno = kept.writtenIno;
      else {
        try {
          writtenHeld = openSync(tmp, 'r');
          writtenIno = fstatSync(writtenHeld, { bigint: true }).ino;
        } catch {
          // A file not readable by its writer (mode): its inode number alone, as before.
          writtenIno = lstatSync(tmp, { bigint: true, throwIfNoEntry: false })?.ino;
        }
      }
      return undefined;
    };
    try {
      await writeFileAtomic(target, text.pieces, {
        durable: this.options.durable,
        tmpDir: this.tmpDir,
        folder: this.folder,
        recycle: planned?.recyclable,
        mode,
        // What the backups need costs no time of its own where it runs while the temp file's sync
        // does: the file replaced linked, the written version's backup named (backups.ts).
        whileSyncing: (tmp) => {
          this.options.whileSyncing?.(target);
          stale = check !== undefined && !check();
          if (stale) return;
          // The text the cache keeps, put together here rather than before the write (record-splice.ts).
          text.bytes();
          // A check that passed read the file in this same turn: its stat is the file as it is now.
          const now = check !== undefined ? loaded.signature : undefined;
          // A base printed from memory took the mode it had then: a chmod since is kept (never undone by the write).
          if (now !== undefined && mode !== undefined) keepModeNow(tmp, mode, now.mode);
          if (shelf && planned) plan = backupStep(target, () => planVersions(shelf.folder, target, tmp, planned?.lastWritten, now, planned?.newest));
        },
        beforeRename: (tmp) => {
          if (stale) return false;
          const replacing = this.options.beforeReplace?.(target);
          return replacing === undefined ? lastSteps(tmp) : Promise.resolve(replacing).then(() => lastSteps(tmp));
        },
        afterRename: () => {
          renamed = true;
          // While the folder's sync runs: the backups and the cache take note of the file written.
          if (kept) shelf?.added({ path: kept.written, ino: kept.writtenIno }, kept.replaced);
          replaced(writtenIno);
        },
      });
      // A git command that took its index.lock just before or after the rename, before this write
      // returns, may write its version over this one (a checkout of one file can be done and let go
      // of its lock within the folder's sync): the put is not acknowledged under it, but runs again
      // on top of git's result (writeBatch), as if it came a moment later. So is a rename made in a
      // gap between two steps of one git command (gitBusy: git's folder changed just now), where no
      // lock showed. Three stats when git is idle.
      if (!stale && writtenIno !== undefined) {
        if (gitBusy(folder)) await waitForGit();
        stale = !inodeAt(target, writtenIno);
      }
    } catch (error) {
      // Failed before its rename (the folder refused it, the disk went read-only): the version never
      // was the file, so no backup may say it was written.
      if (kept && !renamed) withdrawWritten(kept);
      shelf?.reset();
      throw error;
    } finally {
      if (writtenHeld !== undefined) closeSync(writtenHeld);
    }
    if (stale) {
      shelf?.reset();
      return false;
    }
    if (!kept) return { backup: undefined };
    // The replaced version's backup: the link just made, or the version last written, when it was
    // that; none when the bound pushed it out (`backups: 1` keeps only the version just written).
    const backup = loaded.model ? (kept.replaced ?? planned?.lastWritten?.path) : kept.replaced;
    return { backup: backup !== undefined && shelf?.keeps(backup) ? backup : undefined };
  }
}

/** How many locks a batch takes in turn while its chain's file keeps moving (renamed, each time the registry learns it). */
const MOVED_ATTEMPTS = 3;

/** How many times a write starts again from the file while another program keeps changing it under the write. */
const CHANGED_UNDER_WRITE_ATTEMPTS = 5;

/**
 * Whether the file at `target` is no longer the version with signature `base` (undefined: none was
 * there): another inode, size or modification time. Its change time alone is not a change: this
 * store's own links of the version (its backups) move it.
 */
export function changedSince(target: string, base: FileSignature | undefined): boolean {
  const same = base === undefined ? undefined : stillVersion(target, base);
  if (same !== undefined) return !same;
  const now = signatureOf(target);
  if (now === null || base === undefined) return (now === null) !== (base === undefined);
  return now.ino !== base.ino || now.dev !== base.dev || now.size !== base.size || now.mtimeNs !== base.mtimeNs;
}

function changedUnderWrite(target: string, attempts: number): StateError {
  return new StateError(ErrorCodes.WRITE_FAILED, `${target} kept changing while this write was made (${attempts} times): another program writes it; nothing was written`, {
    file: target,
    hint: 'let the other program (a git operation, a script saving the file) finish, then retry the write',
  });
}

/** Gives the temp file the target's permission bits as they are now (`now`), when they are no longer `mode`. */
function keepModeNow(tmp: string, mode: number, now: number): void {
  if (now !== mode) chmodSync(tmp, now);
}

/** A step of the backups: a file system error names the state file. */
function backupStep<T>(target: string, step: () => T): T {
  try {
    return step();
  } catch (error) {
    throw fileSystemError(error, target, 'could not back up');
  }
}

/** A write to a file that holds entries which are not records is refused unless it replaces them all. */
export function refuseInvalidRemaining(work: Working, names: readonly string[]): void {
  const covered = new Set(names);
  const blocking = [...work.invalid].filter((name) => !covered.has(name));
  if (blocking.length === 0) return;
  const first = blocking[0] as string;
  throw new StateError(
    ErrorCodes.CORRUPTED,
    `${work.file}: records[${JSON.stringify(first)}]${blocking.length > 1 ? ` and ${blocking.length - 1} more` : ''} are not deployment records; refusing to rewrite the file`,
    {
      file: work.file,
      key: `${work.chainId}-${first}`,
      hint: 'fix the entries by hand, or restore a backup (`deploystate restore <network>`; from code, JsonFileStore.restore or replaceChain)',
    },
  );
}

/**
 * The document with `fields` set, placed after `chainId` (first where it has none); the same object
 * when it holds each already, so a write that changes only records still splices them in place.
 */
export function withFields(document: Record<string, unknown>, fields: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> {
  if (fields === undefined || Object.entries(fields).every(([key, value]) => Object.hasOwn(document, key) && canonicalEqual(document[key], value))) return document;
  const out: Record<string, unknown> = {};
  const place = (): void => {
    for (const [key, value] of Object.entries(fields)) setOwnProperty(out, key, value);
  };
  if (!Object.hasOwn(document, 'chainId')) place();
  for (const [key, value] of Object.entries(document)) {
    if (Object.hasOwn(fields, key)) continue;
    setOwnProperty(out, key, value);
    if (key === 'chainId') place();
  }
  return out;
}
