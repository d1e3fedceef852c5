// The waiters of a lock: a process waiting for a lock holds `<lock file>.wait` shared while it
// waits, so a holder that could keep the lock (a lease) sees it and lets the waiter go first.
import { closeSync, constants, openSync } from 'node:fs';
import { nativeLocks } from './native-lock.js';

/** The file a waiter holds shared while it waits, so a lease holder (LockLease) sees it and hands over. */
export function waitFileFor(file: string): string {
  return `${file}.wait`;
}

/** Holds the wait file shared; undefined when that is not possible right now (a courtesy only). */
export function announceWaiting(file: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(waitFileFor(file), constants.O_RDWR | constants.O_CREAT, 0o666);
    if (nativeLocks(file).tryLock(fd, { shared: true })) return fd;
  } catch {
    // A lease holder still hands over when its lease idles out.
  }
  if (fd !== undefined) closeSync(fd);
  return undefined;
}

/**
 * Whether some process waits for `file` (it holds `<file>.wait` shared while it waits): a holder that
 * could keep the lock, or take it again at once, lets that waiter go first.
 */
export function hasWaiters(file: string): boolean {
  let fd: number;
  try {
    fd = openSync(waitFileFor(file), constants.O_RDWR);
  } catch {
    return false;
  }
  try {
    return waitersOn(fd, file);
  } finally {
    closeSync(fd);
  }
}

/** `hasWaiters` on the wait file already open (a lease keeps it open while it holds the lock). */
export function waitersOn(waitFd: number, file: string): boolean {
  try {
    const locks = nativeLocks(file);
    if (!locks.tryLock(waitFd)) return true;
    locks.unlock(waitFd);
    return false;
  } catch {
    return false;
  }
}
