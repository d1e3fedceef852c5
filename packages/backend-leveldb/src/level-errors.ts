// Translates `level` errors (LEVEL_* codes, often wrapped in LEVEL_DATABASE_NOT_OPEN with the real
// code in `cause`) into the toolkit's closed set, naming the store's folder.
import { join } from 'node:path';
import {
  ErrorCodes,
  FILE_SIZE_LIMIT_HINT,
  NO_INODES_HINT,
  NO_INODES_REASON,
  READ_ONLY_HINT,
  READ_ONLY_REASON,
  StateError,
  isStopped,
  lockHolders,
  outOfInodes,
  pausedHoldersHint,
} from '@deploystate/core';
import { corrupted } from './level-files.js';

interface CodedError {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
}

/** Every `code` along the cause chain, outermost first. */
export function levelCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as CodedError).code;
    if (typeof code === 'string') codes.push(code);
    current = (current as CodedError).cause;
  }
  return codes;
}

function messages(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const message = (current as CodedError).message;
    if (typeof message === 'string') parts.push(message);
    current = (current as CodedError).cause;
  }
  return parts.join(': ');
}

export function isLockedError(error: unknown): boolean {
  return levelCodes(error).includes('LEVEL_LOCKED');
}

/** LOCKED naming the holders, the tries made and, when it waited, for how long (`waitedMs`). */
export function lockedError(path: string, attempts: number, cause: unknown, waitedMs?: number): StateError {
  // LevelDB's LOCK names no holder; the kernel knows it (Linux), and a paused process is named too.
  const holders = lockHolders(join(path, 'LOCK')).filter((h) => h.pid !== process.pid);
  const paused = pausedHoldersHint(holders.map((h) => h.pid));
  const named = holders.map((h) => `pid ${h.pid} (${h.command})${paused !== undefined && isStopped(h.pid) ? ' paused' : ''}`).join(', ');
  return new StateError(
    ErrorCodes.LOCKED,
    `LevelDB store ${path} is held by ${named === '' ? 'another process' : named} (still locked after ${attempts} attempts${waitedMs === undefined ? '' : ` over ${(waitedMs / 1000).toFixed(1)} s`})`,
    {
      file: path,
      hint:
        paused ??
        'LevelDB admits one process at a time: wait for the other deploy script or command to finish (or stop it) and run this again, or read a snapshot with openSnapshot()',
      cause,
      ...(holders.length > 0 && { data: { holders } }),
    },
  );
}

/** The StateError for a failed LevelDB operation on the store at `path`. */
export function mapLevelError(error: unknown, path: string, key?: string): StateError {
  if (error instanceof StateError) return error;
  const codes = levelCodes(error);
  const text = messages(error);
  const where = { file: path, ...(key !== undefined && { key }), cause: error };
  if (codes.includes('LEVEL_LOCKED')) return lockedError(path, 1, error);
  if (/No space left|quota exceeded/i.test(text)) {
    // ENOSPC with space left: the file system's inodes are all used, and freeing bytes would not help.
    if (/No space left/i.test(text) && outOfInodes(path))
      return new StateError(ErrorCodes.DISK_FULL, `no free inodes writing LevelDB store ${path}: ${NO_INODES_REASON}`, {
        ...where,
        hint: NO_INODES_HINT,
      });
    return new StateError(ErrorCodes.DISK_FULL, `disk full writing LevelDB store ${path}`, where);
  }
  if (/Read-only file system/i.test(text))
    return new StateError(ErrorCodes.PERMISSION_DENIED, `LevelDB store ${path} cannot be written: ${READ_ONLY_REASON}`, {
      ...where,
      hint: READ_ONLY_HINT,
    });
  if (/Permission denied|Operation not permitted/i.test(text)) {
    return new StateError(ErrorCodes.PERMISSION_DENIED, `access to LevelDB store ${path} was denied: ${text}`, where);
  }
  // EFBIG, as LevelDB words it: a write (a put, or the table an open compacts its log into) hit the
  // process's file-size limit. Nothing is damaged: not CORRUPTED.
  if (/File too large/.test(text)) {
    return new StateError(
      ErrorCodes.WRITE_FAILED,
      `LevelDB store ${path} could not grow a file past this process's file-size limit (EFBIG, \`ulimit -f\`): ${text}`,
      {
        ...where,
        hint: FILE_SIZE_LIMIT_HINT,
      },
    );
  }
  if (codes.includes('LEVEL_CORRUPTION') || codes.includes('LEVEL_IO_ERROR')) {
    const err = corrupted(path, text, error);
    return key === undefined
      ? err
      : new StateError(err.code, `${err.message} (reading ${key})`, { ...where, ...(err.hint !== undefined && { hint: err.hint }) });
  }
  if (/does not exist \(create_if_missing is false\)/.test(text)) {
    return new StateError(ErrorCodes.STORE_NOT_FOUND, `no LevelDB store at ${path}`, {
      ...where,
      hint: 'check the path; only writing commands create a store',
    });
  }
  if (codes.includes('LEVEL_DATABASE_NOT_OPEN') && /closed|not open/i.test(text) && !/failed to open/i.test(text)) {
    return new StateError(ErrorCodes.STORE_CLOSED, `LevelDB store ${path} was closed during the operation`, where);
  }
  if (codes.includes('LEVEL_ITERATOR_NOT_OPEN'))
    return new StateError(ErrorCodes.STORE_CLOSED, `LevelDB store ${path} was closed during a scan`, where);
  return new StateError(ErrorCodes.BACKEND_UNAVAILABLE, `LevelDB store ${path} failed: ${text}`, where);
}
