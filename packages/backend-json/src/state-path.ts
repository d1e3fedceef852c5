// What may stand at a state file's path. The one rule, on every path (get, iterate, verify, write,
// restore): a state file is a regular file in the deployments folder itself. A symbolic link there
// is never followed and never replaced: it is refused with NOT_A_FILE, as is a folder or any other
// non-file, naming the path. So no write goes through a link to a place outside the folder, and
// no link is silently turned into a regular file.
import { constants, type Stats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import { ErrorCodes, StateError, errnoCode, fileSystemError } from '@deploystate/core';

export function notAFile(file: string, what: string): StateError {
  return new StateError(ErrorCodes.NOT_A_FILE, `${file} is ${what}, not a regular state file; it is neither read nor replaced`, {
    file,
    hint: 'move it away (or, for a link, put the file it points to in its place), then run the command again',
  });
}

/** Describes a non-regular file for an error message. */
export function kindOf(stats: { isDirectory(): boolean; isSymbolicLink(): boolean; isFile(): boolean }): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return 'a folder';
  if (stats.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file (a socket, FIFO or device)';
}

/**
 * Opens a state file for reading without following a link. Null when nothing is there; NOT_A_FILE
 * for a link, a folder or any other non-file; the file-system code otherwise.
 */
export async function openStateFile(file: string): Promise<FileHandle | null> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO at the path opens at once (and is refused below) instead of waiting for a writer.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw notAFile(file, 'a symbolic link');
    throw fileSystemError(error, file, 'cannot read');
  }
  const kind = kindOf(await handle.stat());
  if (kind !== undefined) {
    await handle.close();
    throw notAFile(file, kind);
  }
  return handle;
}

/** A state file's bytes, read as openStateFile opens it (no link followed); undefined when nothing is there. */
export async function readStateFileBytes(file: string): Promise<Buffer | undefined> {
  const handle = await openStateFile(file);
  if (!handle) return undefined;
  try {
    return await handle.readFile();
  } catch (error) {
    throw fileSystemError(error, file, 'cannot read');
  } finally {
    await handle.close();
  }
}

/**
 * Refuses, before anything is written, what a write must never replace at a state file's path: a
 * link, a folder or any other non-file (NOT_A_FILE). Nothing there, or a regular file, passes.
 */
export async function assertReplaceable(file: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(file);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw fileSystemError(error, file, 'cannot read');
  }
  const kind = kindOf(stats);
  if (kind !== undefined) throw notAFile(file, kind);
}
