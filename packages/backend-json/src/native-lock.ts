// The OS advisory lock on one open descriptor (fs-native-extensions): loading it, one try, and refusing a lock that is not honoured.
import { closeSync, constants, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeLazyLoad, ErrorCodes, StateError, errnoCode, fileSystemError } from '@deploystate/core';
import type { LockMode } from './lock.js';

export interface NativeLocks {
  tryLock(fd: number, options?: { shared?: boolean }): boolean;
  unlock(fd: number): void;
}

export let native: NativeLocks | undefined;

/** Loaded on first use, so reading state files works where the native module cannot load. */
export function nativeLocks(file: string): NativeLocks {
  if (native) return native;
  try {
    beforeLazyLoad();
    const require = createRequire(import.meta.url);
    native = prebuiltLocks(require) ?? (require('fs-native-extensions') as NativeLocks);
    return native;
  } catch (cause) {
    throw new StateError(
      ErrorCodes.LOCK_UNAVAILABLE,
      `the operating system's file lock is not available here: fs-native-extensions did not load for ${process.platform}-${process.arch} (${messageOf(cause)})`,
      {
        file,
        cause,
        hint: 'prebuilt binaries exist for Linux, macOS and Windows on x64 and arm64; reinstall dependencies (pnpm install) on this machine. Nothing is written without the lock.',
      },
    );
  }
}

/** The version of fs-native-extensions whose binding prebuiltLocks calls, as that version's own index.js calls it. */
export const PREBUILT_LOCKS_VERSION = '1.5.1';

interface LockBinding {
  tryLock(fd: number, offset: number, length: number, exclusive: boolean): void;
  unlock(fd: number, offset: number, length: number): void;
}

/**
 * fs-native-extensions' prebuilt binary for this platform, loaded directly, with the two calls of
 * its index.js this package makes: its loader (require-addon and the resolver it brings) takes
 * 10-15 ms to load, most of a deploy script's first write, where the binary itself takes under
 * one. Undefined for any other version of the package (its binding may differ) or where no
 * prebuilt binary loads: the package is then loaded as usual.
 */
function prebuiltLocks(require: NodeRequire): NativeLocks | undefined {
  let binding: LockBinding;
  try {
    const root = dirname(require.resolve('fs-native-extensions'));
    if ((require(join(root, 'package.json')) as { version?: unknown }).version !== PREBUILT_LOCKS_VERSION) return undefined;
    binding = require(join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'fs-native-extensions.node')) as LockBinding;
    if (typeof binding.tryLock !== 'function' || typeof binding.unlock !== 'function') return undefined;
  } catch {
    return undefined;
  }
  return {
    tryLock(fd, options) {
      try {
        binding.tryLock(fd, 0, 0, options?.shared !== true);
      } catch (error) {
        if (errnoCode(error) === 'EAGAIN') return false;
        throw error;
      }
      return true;
    },
    unlock(fd) {
      binding.unlock(fd, 0, 0);
    },
  };
}

const NOT_HONOURED_HINT =
  'keep the deployments and state folders on a local disk (not a network or synced folder, nor a mount that ignores locks); nothing is written without the lock';

// What a refused non-blocking try reports: EAGAIN/EWOULDBLOCK (Linux, macOS), EACCES (POSIX
// allows it), EBUSY (libuv's name for Windows' ERROR_LOCK_VIOLATION).
const HELD_ELSEWHERE = new Set(['EAGAIN', 'EWOULDBLOCK', 'EACCES', 'EBUSY']);

/** One non-blocking try on an open descriptor: true when granted, false when another descriptor holds it. */
export function tryTake(locks: NativeLocks, fd: number, mode: LockMode, file: string): boolean {
  try {
    return locks.tryLock(fd, { shared: mode === 'shared' });
  } catch (error) {
    const code = errnoCode(error);
    if (code !== undefined && HELD_ELSEWHERE.has(code)) return false;
    throw new StateError(ErrorCodes.LOCK_UNAVAILABLE, `the file system refuses advisory locks on ${file} (${code ?? messageOf(error)})`, {
      file,
      cause: error,
      hint: NOT_HONOURED_HINT,
    });
  }
}

function openLockFile(file: string, create: boolean): number {
  const flags = constants.O_RDWR | (create ? constants.O_CREAT : 0);
  try {
    try {
      return openSync(file, flags, 0o666);
    } catch (error) {
      // The lock folder is made on first use only: every later take is one open.
      if (!create || errnoCode(error) !== 'ENOENT') throw error;
      mkdirSync(dirname(file), { recursive: true });
      return openSync(file, flags, 0o666);
    }
  } catch (error) {
    // A file where one of its folders goes (`deployments/.deploystate` a file): name that file, not the lock.
    const blocked = errnoCode(error) === 'ENOTDIR' || errnoCode(error) === 'EEXIST' ? fileOnPath(dirname(file)) : undefined;
    if (blocked !== undefined) {
      throw new StateError(ErrorCodes.WRITE_FAILED, `cannot take the lock ${file}: ${blocked} is a file where a folder goes`, {
        file: blocked,
        cause: error,
        hint: 'move that file away (it is no state file; the folder is made on the next write), then run the write again',
      });
    }
    throw fileSystemError(error, file, 'cannot open lock file');
  }
}

/** The nearest of a folder and its parents that exists and is not a folder. */
function fileOnPath(folder: string): string | undefined {
  for (let path = folder; dirname(path) !== path; path = dirname(path)) {
    try {
      if (!statSync(path).isDirectory()) return path;
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') return undefined;
    }
  }
  return undefined;
}

/** The file a descriptor has open: fixed while it is open, so it is read once per take. */
export interface OpenedFile {
  dev: bigint;
  ino: bigint;
}

function openedFile(fd: number): OpenedFile {
  const { dev, ino } = fstatSync(fd, { bigint: true });
  return { dev, ino };
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Whether `file` still names the inode held open (someone may have removed or replaced it). Asked
 * before every write: a plain stat where its numbers are exact (a bigint stat builds its dates
 * eagerly, several times the cost of the system call), a bigint one otherwise.
 */
export function namesSameFile(opened: OpenedFile, file: string): boolean {
  try {
    if (opened.dev <= SAFE && opened.ino <= SAFE) {
      const named = statSync(file, { throwIfNoEntry: false });
      return named !== undefined && Number(opened.dev) === named.dev && Number(opened.ino) === named.ino;
    }
    const named = statSync(file, { bigint: true, throwIfNoEntry: false });
    return named !== undefined && opened.dev === named.dev && opened.ino === named.ino;
  } catch {
    return false;
  }
}

// Lock files on which a second descriptor was seen to be refused: checked once per file per process.
const honoured = new Set<string>();

/** A file system that grants a second descriptor the same lock does not lock at all: refuse it. */
function checkHonoured(locks: NativeLocks, file: string): void {
  if (honoured.has(file)) return;
  const probe = openLockFile(file, false);
  try {
    if (tryTake(locks, probe, 'exclusive', file)) {
      locks.unlock(probe);
      throw new StateError(ErrorCodes.LOCK_UNAVAILABLE, `the file system does not honour advisory locks on ${file}: a second descriptor got the lock`, {
        file,
        hint: NOT_HONOURED_HINT,
      });
    }
  } finally {
    closeSync(probe);
  }
  honoured.add(file);
}

/** One try: the descriptor holding the lock, or undefined when another holder has it. */
export function tryAcquire(file: string, mode: LockMode): { fd: number; opened: OpenedFile } | undefined {
  const locks = nativeLocks(file);
  for (;;) {
    const fd = openLockFile(file, true);
    let kept = false;
    try {
      if (!tryTake(locks, fd, mode, file)) return undefined;
      // Replaced between our open and our lock: the lock others take is on the new file.
      const opened = openedFile(fd);
      if (!namesSameFile(opened, file)) continue;
      checkHonoured(locks, file);
      kept = true;
      return { fd, opened };
    } finally {
      if (!kept) closeSync(fd);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
