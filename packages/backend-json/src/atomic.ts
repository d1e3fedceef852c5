// Crash-safe file replacement, the one durable write of the toolkit (the JSON store, backups,
// restore and the migrator's own files; subpath `@deploystate/backend-json/atomic`): temp file,
// fsync, rename over the target, fsync the folder. A kill at any instant leaves the old file or the
// new one, never a mix; a failure leaves the old one.
// Small metadata calls (open, write of a few KB, link, rename) are synchronous: each takes
// microseconds, less than the thread-pool round trip of its async form; fsyncs stay asynchronous.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  linkSync,
  unlinkSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  write,
  writeSync,
} from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';

const writeAsync = promisify(write);
const fdatasyncAsync = promisify(fdatasync);
import { basename, dirname, join } from 'node:path';
import { StateError, fsErrorCode, errnoCode } from '@deploystate/core';

/** Where this package keeps what is not a state file: temp files, locks, backups. */
export const STATE_DIR = '.deploystate';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the folder after it. Default true. */
  durable?: boolean;
  /** Folder for the temp file; must be on the target's filesystem. Default `<dir>/.deploystate/tmp`. */
  tmpDir?: string;
  /** Called with the complete temp file's path before the rename (e.g. to link a backup). */
  beforeRename?: (tmp: string) => Promise<void>;
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
}

// Above this size the bytes are written asynchronously, so a large file does not hold the event loop.
const SYNC_WRITE_LIMIT = 256 * 1024;

/** The temp-file name: the writer's pid lets the next open tell a crashed writer's leftovers from a live one's. */
export function tempFileName(target: string): string {
  tempSequence = (tempSequence + 1) % 0x1000000;
  return `${basename(target)}.${process.pid}.${tempPrefix}${tempSequence.toString(16).padStart(6, '0')}.tmp`;
}

// Unique per process (pid) and per write (sequence); the random prefix tells apart a pid reused after a crash.
const tempPrefix = randomBytes(3).toString('hex');
let tempSequence = 0;

/** The pid a temp file name carries, if it is one of ours. */
export function tempFilePid(name: string): number | undefined {
  const match = /\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some filesystems refuse fsync on a folder; the rename itself is still atomic there.
    const code = errnoCode(error);
    if (code !== 'EINVAL' && code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
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

/** Takes `recycle` as the temp file when it is a file of its own (one link); else undefined. */
function takeRecyclable(recycle: string | undefined, tmp: string, mode: number): number | undefined {
  if (recycle === undefined) return undefined;
  try {
    renameSync(recycle, tmp);
  } catch {
    return undefined;
  }
  const fd = openSync(tmp, 'r+');
  const info = fstatSync(fd);
  if (info.nlink !== 1) {
    // Someone else links this inode: overwriting it would change their file. Let it go.
    closeSync(fd);
    unlinkSync(tmp);
    return undefined;
  }
  // The user may have changed the file's permissions since this copy was made.
  if ((info.mode & 0o777) !== mode) fchmodSync(fd, mode);
  return fd;
}

/**
 * Replaces `target` with `data` atomically. Throws StateError DISK_FULL, PERMISSION_DENIED or
 * WRITE_FAILED naming the file; the previous file is then intact and the temp file removed.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const durable = options.durable ?? true;
  const tmpDir = options.tmpDir ?? join(dirname(target), STATE_DIR, 'tmp');
  const tmp = join(tmpDir, tempFileName(target));
  let created = false;
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
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    let fd = takeRecyclable(options.recycle, tmp, mode);
    const recycled = fd !== undefined;
    if (fd === undefined) fd = createTemp(tmp, tmpDir, mode);
    created = true;
    try {
      let offset = 0;
      while (offset < bytes.byteLength) {
        const length = bytes.byteLength - offset;
        offset +=
          length <= SYNC_WRITE_LIMIT
            ? writeSync(fd, bytes, offset, length, offset)
            : (await writeAsync(fd, bytes, offset, length, offset)).bytesWritten;
      }
      // A reused file may be longer than the new bytes.
      if (recycled) ftruncateSync(fd, bytes.byteLength);
      // fdatasync: the bytes and the size that reads need, without the times a full fsync would also commit.
      if (durable) await fdatasyncAsync(fd);
    } finally {
      closeSync(fd);
    }
    await options.beforeRename?.(tmp);
    renameSync(tmp, target);
    created = false;
    if (durable) await fsyncDir(dirname(target));
  } catch (error) {
    if (created) await unlink(tmp).catch(() => undefined);
    if (error instanceof StateError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StateError(fsErrorCode(error), `could not write ${target}: ${reason}; the previous file is intact`, {
      file: target,
      cause: error,
    });
  }
}

/**
 * `writeFileAtomic` with the temp file beside the target (so it never needs a `.deploystate` folder
 * of its own there): for files that already live in a state folder, such as the migrator's state,
 * evidence and reports. Creates the target's folder when missing.
 */
export function writeFileDurable(target: string, data: string | Uint8Array): Promise<void> {
  return writeFileAtomic(target, data, { tmpDir: dirname(target) });
}
