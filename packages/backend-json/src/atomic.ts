// Crash-safe file replacement, the one durable write of the toolkit (the JSON store, backups,
// restore and the migrator's own files; subpath `@deploystate/backend-json/atomic`): temp file,
// fsync, rename over the target, fsync the folder. A kill at any instant leaves the old file or the
// new one, never a mix; a failure leaves the old one.
// Small metadata calls (open, write of a few KB, link, rename) are synchronous: each takes
// microseconds, less than the thread-pool round trip of its async form; fsyncs stay asynchronous:
// a store's put does its checks and backup links beside them, and made synchronous (either or
// both) it measured no faster, interleaved at 28 and 500 records, while holding the event loop
// two to three times as long.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  unlinkSync,
  fdatasync,
  fstatSync,
  fsync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  write,
  writeSync,
  writev,
  writevSync,
} from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);
const fsyncAsync = promisify(fsync);
import { basename, dirname, join } from 'node:path';
import { StateError, fileSystemError, fsErrorCode, errnoCode, IdleRelease, leftByDeadProcess, removeOnInterrupt } from '@deploystate/core';
import { assertReplaceable } from './state-path.js';

/** Refuses a link or folder at a path about to be written (NOT_A_FILE): for a caller that writes several files as one step. */
export { assertReplaceable };

/** Where this package keeps what is not a state file: temp files, locks, backups. */
export const STATE_DIR = '.deploystate';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the folder after it. Default true. */
  durable?: boolean;
  /** Folder for the temp file; must be on the target's filesystem. Default `<dir>/.deploystate/tmp`. */
  tmpDir?: string;
  /**
   * Called with the complete temp file's path before the rename (e.g. to link a backup). Returning
   * or resolving `false` abandons the write: the temp file is removed and the target left as it is
   * (the caller knows it said so; the write resolves as usual). A step that returns no promise costs no turn.
   */
  beforeRename?: (tmp: string) => Promise<void | false> | void | false;
  /**
   * Called with the complete temp file's path while its data sync runs (before `beforeRename`):
   * synchronous work that needs the bytes written but not yet synced, such as linking a backup,
   * done in the sync's shadow. A throw abandons the write once the sync is over.
   */
  whileSyncing?: (tmp: string) => void;
  /**
   * Called right after the rename, while the folder's sync runs: bookkeeping that follows the
   * replacement (the file is in place from here on). A throw fails the write once the folder is synced.
   */
  afterRename?: () => void;
  /**
   * A file (on the same filesystem, e.g. a backup about to be pruned) this write may take as its
   * temp file instead of creating one: it is first renamed into tmpDir under a temp name, then
   * overwritten in place. Reusing its blocks spares the block allocation and, above all, the freeing
   * of the pruned file (a discard on filesystems mounted with `discard`). Skipped when it has other
   * links or cannot be moved.
   */
  recycle?: string;
  /** The target's permission bits when the caller knows them (spares a stat); default: the target's, else 0o666. */
  mode?: number;
  /**
   * The target's folder held open by the caller (a store writing the same folder again and again):
   * synced through it instead of opening the folder for each write.
   */
  folder?: FolderSync;
}

// Above this size the bytes are written asynchronously, so a large file does not hold the event loop.
const SYNC_WRITE_LIMIT = 256 * 1024;

/** The temp-file name: the writer's pid lets the next open tell a crashed writer's leftovers from a live one's. */
export function tempFileName(target: string): string {
  tempSequence = (tempSequence + 1) % 0x1000000;
  return `${basename(target)}.${process.pid}.${tempPrefix}${tempSequence.toString(16).padStart(6, '0')}.tmp`;
}

// Unique per process (pid) and per write (sequence); the random prefix keeps a process from ever
// naming a temp file as an earlier one with the same pid did (a store's open removes that one's by
// its time: deployments-folder.ts).
const tempPrefix = randomBytes(3).toString('hex');
let tempSequence = 0;

/** The pid a temp file name carries, if it is one of ours. */
export function tempFilePid(name: string): number | undefined {
  return tempFileOwner(name)?.pid;
}

/** The target's file name and the writer's pid a temp file name carries, if it is one of ours. */
function tempFileOwner(name: string): { target: string; pid: number } | undefined {
  const match = /^(.*)\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
  return match ? { target: match[1] as string, pid: Number(match[2]) } : undefined;
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    if (!refusesFolderSync(error)) throw error;
  } finally {
    await handle.close();
  }
}

/** A folder is not synced where the file system refuses it; the rename itself is still atomic there. */
function refusesFolderSync(error: unknown): boolean {
  const code = errnoCode(error);
  return code === 'EINVAL' || code === 'EISDIR';
}

interface QueuedSync {
  fd: number;
  done: Promise<void>;
}

/**
 * One folder kept open for syncing after each replacement in it: a store's writes then cost one
 * thread-pool call for the folder's sync instead of three (open, sync, close). Before each sync (or
 * before its rename, see prepare) the folder's path is checked to still name the folder held (a
 * folder removed and made again is opened afresh), so the sync always reaches the folder the rename went to.
 */
export class FolderSync {
  private fd: number | undefined;
  private held: { dev: number; ino: number } | undefined;
  /** Syncs in flight per descriptor: one is closed only once none runs on it (its number could be reused). */
  private readonly running = new Map<number, number>();
  private readonly retired = new Set<number>();
  private refused = false;
  /** The descriptor prepare() checked, for the next sync. */
  private checked: number | undefined;
  /** The sync in flight (settled, never rejecting), and the one queued behind it that later callers share. */
  private syncing: Promise<void> | undefined;
  private next: QueuedSync | undefined;
  /** A store created per call and never closed keeps no folder open once it goes unused. */
  private readonly idle = new IdleRelease(() => this.releaseIdle());

  constructor(readonly dir: string) {}

  /** The folder the descriptor holds (device and inode), or undefined before the first sync. */
  get opened(): { dev: number; ino: number } | undefined {
    return this.held && { ...this.held };
  }

  /**
   * Checks now that the folder's path names the folder held (opened afresh if not), so the next
   * sync needs no check of its own: for a caller that checks while other I/O runs, before the
   * rename the sync follows (a rename whose temp file lives under the folder can only land in the
   * folder its path names when the rename runs: a folder swapped since has no such temp file).
   */
  prepare(): void {
    if (!this.refused) this.checked = this.current();
  }

  /** Forgets what prepare() checked, for a write given up before its sync. */
  unprepare(): void {
    this.checked = undefined;
  }

  /**
   * Syncs the folder: resolves once an fsync that started after this call is done. Calls made while
   * one runs share the next (a drain that replaces several files in the folder at once pays two
   * folder syncs, not one per file): one started before a caller's rename would not cover it.
   */
  sync(): Promise<void> {
    if (this.refused) return Promise.resolve();
    let fd: number;
    try {
      fd = this.checked ?? this.current();
    } catch (error) {
      // A rejection, never a throw: the caller has renamed by now and reports the file as replaced.
      return Promise.reject(error);
    } finally {
      this.checked = undefined;
    }
    const next = this.next;
    if (next?.fd === fd) return next.done;
    if (this.syncing === undefined) return this.syncNow(fd);
    // Counted as running from now: its descriptor is not closed before it starts.
    this.hold(fd);
    const done: Promise<void> = this.syncing
      .then(() => {
        if (this.next?.done === done) this.next = undefined;
        return this.syncNow(fd);
      })
      .finally(() => this.letGo(fd));
    this.next = { fd, done };
    return done;
  }

  private async syncNow(fd: number): Promise<void> {
    if (this.refused) return;
    this.hold(fd);
    const done = fsyncAsync(fd);
    // The next sync waits for this one to end, whatever its outcome (each caller sees its own sync's).
    const settled = done.then(
      () => undefined,
      () => undefined,
    );
    this.syncing = settled;
    try {
      await done;
    } catch (error) {
      if (!refusesFolderSync(error)) throw error;
      this.refused = true;
    } finally {
      if (this.syncing === settled) this.syncing = undefined;
      this.letGo(fd);
    }
  }

  private hold(fd: number): void {
    this.running.set(fd, (this.running.get(fd) ?? 0) + 1);
  }

  private letGo(fd: number): void {
    const left = (this.running.get(fd) ?? 1) - 1;
    if (left > 0) this.running.set(fd, left);
    else {
      this.running.delete(fd);
      if (this.retired.delete(fd)) closeSync(fd);
    }
  }

  private current(): number {
    const named = statSync(this.dir);
    this.idle.touch();
    if (this.fd !== undefined && this.held?.dev === named.dev && this.held.ino === named.ino) return this.fd;
    this.retire();
    const fd = openSync(this.dir, 'r');
    const opened = fstatSync(fd);
    this.fd = fd;
    this.held = { dev: opened.dev, ino: opened.ino };
    return fd;
  }

  /** Lets the folder go when nothing is about to use or still uses it (else false: asked again later). */
  private releaseIdle(): boolean {
    if (this.checked !== undefined || this.running.size > 0) return false;
    this.close();
    return true;
  }

  /** Idempotent; a later sync opens the folder again. */
  close(): void {
    this.idle.cancel();
    this.retire();
  }

  /** Lets the descriptor go (once no sync runs on it). */
  private retire(): void {
    const fd = this.fd;
    this.fd = undefined;
    this.checked = undefined;
    this.held = undefined;
    if (fd === undefined) return;
    if (this.running.has(fd)) this.retired.add(fd);
    else closeSync(fd);
  }
}

function createTemp(tmp: string, tmpDir: string, mode: number): number {
  try {
    return openSync(tmp, 'wx', mode);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
    mkdirSync(tmpDir, { recursive: true });
    return openSync(tmp, 'wx', mode);
  }
}

/** Takes `recycle` as the temp file when it is a file of its own (one link): its descriptor and size; else undefined. */
function takeRecyclable(recycle: string | undefined, tmp: string, mode: number): { fd: number; size: number } | undefined {
  if (recycle === undefined) return undefined;
  try {
    renameSync(recycle, tmp);
  } catch {
    return undefined;
  }
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'r+');
    const info = fstatSync(fd);
    // Someone else links this inode: overwriting it would change their file. Let it go.
    if (info.nlink !== 1) throw new Error('linked elsewhere');
    // The user may have changed the file's permissions since this copy was made.
    if ((info.mode & 0o777) !== mode) fchmodSync(fd, mode);
    return { fd, size: info.size };
  } catch {
    // Not reusable (linked elsewhere, or not writable: a read-only state file's backups are
    // read-only too): it goes, and a fresh temp file is made instead.
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone: nothing to leave behind.
    }
    return undefined;
  }
}

/**
 * The durable steps every replacement ends with, once the temp file holds the complete new bytes:
 * fdatasync it (`whileSyncing` meanwhile), close it, `beforeRename`, rename it over the target,
 * fsync the folder (`afterRename` meanwhile). Only synchronous work runs beside a sync, so the
 * steps it overlaps cost no event-loop turn of their own. Closes `fd` whatever happens; the caller
 * removes the temp file if this throws before the rename.
 */
async function placeTemp(fd: number, tmp: string, target: string, options: AtomicWriteOptions): Promise<boolean> {
  const durable = options.durable ?? true;
  const folder = durable && options.folder?.dir === dirname(target) ? options.folder : undefined;
  let folderSynced: Promise<void> | undefined;
  try {
    try {
      // fdatasync: the bytes and the size that reads need, without the times a full fsync would also commit.
      const synced = durable ? fdatasyncAsync(fd) : undefined;
      try {
        folder?.prepare();
        options.whileSyncing?.(tmp);
      } finally {
        // Never closed while its sync runs (the descriptor's number could be reused); a sync's failure comes first.
        await synced;
      }
    } finally {
      closeSync(fd);
    }
    const before = options.beforeRename?.(tmp);
    if ((before === undefined || before === false ? before : await before) === false) return false;
    renameSync(tmp, target);
    folderSynced = durable ? (folder ? folder.sync() : fsyncDir(dirname(target))) : undefined;
  } finally {
    // A write given up before its rename leaves no checked descriptor waiting for a sync that never comes.
    if (folderSynced === undefined) folder?.unprepare();
  }
  try {
    try {
      options.afterRename?.();
    } finally {
      await folderSynced;
    }
  } catch (error) {
    throw error instanceof StateError ? error : replacedNotSynced(target, error);
  }
  return true;
}

/**
 * A failure once the rename is done (the folder's sync): the file holds the new version, which a
 * power cut before the folder reaches the disk could still undo. Never "the previous file is
 * intact": `data.replaced` says so to code.
 */
function replacedNotSynced(target: string, error: unknown): StateError {
  const reason = error instanceof Error ? error.message : String(error);
  return new StateError(
    fsErrorCode(error),
    `${target} holds the new version, but its folder could not be synced (${reason}): a power cut now may bring back the previous one`,
    { file: target, cause: error, data: { replaced: true }, hint: 'check the disk, then write again to make the change durable' },
  );
}

/**
 * writeFileAtomic for bytes that arrive in pieces (a file too large to hold as one string): the
 * temp file is created at once, `append` adds to it, and `replace` ends with the same durable steps
 * as every write here. `discard` removes the temp file instead. Errors are the file system's: the
 * caller names the file.
 */
export class AtomicFileWriter {
  private offset = 0;
  private open = true;

  // Removes the temp file if a signal stops the process first (the CLI runs these cleanups).
  private readonly dropCleanup: () => void;

  private constructor(
    readonly target: string,
    private readonly tmp: string,
    private readonly fd: number,
  ) {
    this.dropCleanup = removeOnInterrupt(tmp);
  }

  /** Creates the temp file for `target` (in `tmpDir`, default `<dir>/.deploystate/tmp`). */
  static create(target: string, options: Pick<AtomicWriteOptions, 'tmpDir' | 'mode'> = {}): AtomicFileWriter {
    const tmpDir = options.tmpDir ?? join(dirname(target), STATE_DIR, 'tmp');
    const tmp = join(tmpDir, tempFileName(target));
    let fd: number;
    try {
      fd = createTemp(tmp, tmpDir, options.mode ?? 0o666);
    } catch (error) {
      // Named for the file it was to become (the temp file's path stays in the detail): that is the file the user knows.
      const failed = fileSystemError(error, target, 'could not write the new version of');
      throw new StateError(failed.code, failed.message, { file: target, cause: error, data: { tempFile: tmp } });
    }
    return new AtomicFileWriter(target, tmp, fd);
  }

  /** Adds to the temp file; a failure (a full disk) is a StateError naming the target, which is intact. */
  async append(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    try {
      for (let at = 0; at < bytes.byteLength;) {
        const { bytesWritten } = await writeAsync(this.fd, bytes, at, bytes.byteLength - at, this.offset);
        at += bytesWritten;
        this.offset += bytesWritten;
      }
    } catch (error) {
      throw fileSystemError(error, this.target, 'could not write the new version of');
    }
  }

  /** Puts the file in place: fdatasync, `beforeRename`, rename over the target (`afterRename`), fsync the folder. */
  async replace(options: Pick<AtomicWriteOptions, 'durable' | 'beforeRename' | 'afterRename' | 'folder'> = {}): Promise<void> {
    this.open = false;
    let placed: boolean;
    try {
      placed = await placeTemp(this.fd, this.tmp, this.target, options);
    } catch (error) {
      // Given up before the rename (its sync or the rename refused: a full disk), the temp file goes,
      // or it keeps the room a full disk needs until a sweep long after; after the rename it is gone.
      await this.discard().catch(() => undefined);
      throw fileSystemError(error, this.target, 'could not replace');
    }
    if (!placed) await this.discard();
    else this.dropCleanup();
  }

  /** Drops the temp file: nothing is written at the target. */
  async discard(): Promise<void> {
    if (this.open) {
      this.open = false;
      closeSync(this.fd);
    }
    await unlink(this.tmp).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT') throw error;
    });
    this.dropCleanup();
  }
}

function isPieces(data: Uint8Array | readonly Uint8Array[]): data is readonly Uint8Array[] {
  return Array.isArray(data);
}

/** What is left of `pieces` past their first `offset` bytes (after a short write). */
function piecesFrom(pieces: readonly Uint8Array[], offset: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = offset;
  for (const piece of pieces) {
    if (skip >= piece.byteLength) skip -= piece.byteLength;
    else {
      rest.push(skip > 0 ? piece.subarray(skip) : piece);
      skip = 0;
    }
  }
  return rest;
}

/**
 * Replaces `target` with `data` (an array: pieces written one after another) atomically. Throws
 * StateError DISK_FULL, PERMISSION_DENIED or WRITE_FAILED naming the file: before the rename, the
 * previous file is then intact and the temp file removed (`data.replaced: false`); a failed sync of
 * the folder after it leaves the new version in place, not yet durable (`data.replaced: true`).
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array | readonly Uint8Array[], options: AtomicWriteOptions = {}): Promise<void> {
  const tmpDir = options.tmpDir ?? join(dirname(target), STATE_DIR, 'tmp');
  const tmp = join(tmpDir, tempFileName(target));
  let created = false;
  let dropCleanup: (() => void) | undefined;
  try {
    // Keep the permissions the user gave the file.
    let mode = options.mode;
    if (mode === undefined) {
      try {
        mode = statSync(target).mode & 0o777;
      } catch {
        mode = 0o666;
      }
    }
    // The new text whole, or in pieces written as they are (one pwritev, no copy of them put together first).
    const pieces = typeof data === 'string' ? [Buffer.from(data)] : isPieces(data) ? data : [data];
    let size = 0;
    for (const piece of pieces) size += piece.byteLength;
    const recycled = takeRecyclable(options.recycle, tmp, mode);
    const fd = recycled?.fd ?? createTemp(tmp, tmpDir, mode);
    created = true;
    dropCleanup = removeOnInterrupt(tmp);
    try {
      let offset = 0;
      while (offset < size) {
        const rest = offset === 0 ? pieces : piecesFrom(pieces, offset);
        offset += size - offset <= SYNC_WRITE_LIMIT ? writevSync(fd, rest, offset) : (await writevAsync(fd, rest, offset)).bytesWritten;
      }
      // A reused file may be longer than the new bytes. Only then truncated: a file that keeps its
      // size and blocks needs no metadata committed by placeTemp's data sync, only its bytes.
      if (recycled && recycled.size > size) ftruncateSync(fd, size);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    const placed = await placeTemp(fd, tmp, target, options);
    // Abandoned: nothing was replaced, and the temp file goes.
    if (!placed) await unlink(tmp);
    created = false;
    dropCleanup?.();
  } catch (error) {
    if (created) await unlink(tmp).catch(() => undefined);
    dropCleanup?.();
    if (error instanceof StateError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    const before = existsSync(target) ? 'the previous file is intact' : 'no file was created';
    throw new StateError(fsErrorCode(error), `could not write ${target}: ${reason}; ${before}`, {
      file: target,
      cause: error,
      data: { replaced: false },
    });
  }
}

/**
 * `writeFileAtomic` with the temp file beside the target (so it never needs a `.deploystate` folder
 * of its own there): for files that already live in a state folder, such as the migrator's state,
 * evidence and reports. Creates the target's folder when missing.
 */
export async function writeFileDurable(target: string, data: string | Uint8Array, options: Pick<AtomicWriteOptions, 'beforeRename'> = {}): Promise<void> {
  // A link (phase.json shared from elsewhere, a linked config) or folder at the path is refused
  // (NOT_A_FILE), as at a network file: the rename would turn a link into a file of its own.
  await assertReplaceable(target);
  sweepDeadTemps(dirname(target), basename(target));
  return writeFileAtomic(target, data, { ...options, tmpDir: dirname(target) });
}

/**
 * Removes the temp files a writer killed mid-write left in `folder` (only `target`'s, when named):
 * ours by name, carrying a pid no process has any more, and older than LEFTOVER_MIN_AGE_MS. Best
 * effort: returns how many went.
 */
export function sweepDeadTemps(folder: string, target?: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return 0;
  }
  const now = Date.now();
  for (const name of names) {
    const owner = tempFileOwner(name);
    if (owner === undefined || (target !== undefined && owner.target !== target)) continue;
    const path = join(folder, name);
    try {
      if (!leftByDeadProcess(owner.pid, statSync(path).mtimeMs, now)) continue;
      rmSync(path, { force: true });
      removed++;
    } catch {
      // Gone meanwhile, or not ours to remove after all.
    }
  }
  return removed;
}
