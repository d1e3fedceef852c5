// Crash-safe file replacement: temp file, fsync, rename over the target, fsync the folder. A kill
// at any instant leaves the old file or the new one, never a mix; a failure leaves the old one.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StateError, fsErrorCode } from '@deploystate/core';

/** Where this package keeps what is not a state file: temp files, locks, backups. */
export const STATE_DIR = '.deploystate';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the folder after it. Default true. */
  durable?: boolean;
  /** Folder for the temp file; must be on the target's filesystem. Default `<dir>/.deploystate/tmp`. */
  tmpDir?: string;
  /** Called after the temp file is complete and before the rename (e.g. to link a backup). */
  beforeRename?: () => Promise<void>;
}

/** The temp-file name: the writer's pid lets the next open tell a crashed writer's leftovers from a live one's. */
export function tempFileName(target: string): string {
  return `${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

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
    if ((error as { code?: string }).code !== 'EINVAL' && (error as { code?: string }).code !== 'EISDIR') throw error;
  } finally {
    await handle.close();
  }
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
    await mkdir(tmpDir, { recursive: true });
    // Keep the permissions the user gave the file.
    const mode = await stat(target).then((s) => s.mode & 0o777, () => 0o666);
    const handle = await open(tmp, 'wx', mode);
    created = true;
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await options.beforeRename?.();
    await rename(tmp, target);
    created = false;
    if (durable) await fsyncDir(dirname(target));
  } catch (error) {
    if (created) await unlink(tmp).catch(() => undefined);
    if (error instanceof StateError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new StateError(fsErrorCode(error), `could not write ${target}: ${reason}; the previous file is intact`, { file: target, cause: error });
  }
}

/** Hard-links `from` as `to` (no copy: writes always replace files, never edit them in place). */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV' && code !== 'EMLINK') throw error;
    const { copyFile } = await import('node:fs/promises');
    await copyFile(from, to);
  }
}
