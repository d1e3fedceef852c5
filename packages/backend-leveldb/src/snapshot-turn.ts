// A snapshot's copy taken in LevelDB's turn. A copy counts only when the MANIFEST is unchanged
// across it (snapshot.ts), and every open of the store writes a new one: a deploy script with a
// store per put reopens LevelDB every few milliseconds, and on a loaded machine every copy met one
// (a cut-over beside such a script failed with LOCKED after its five copies). After a copy that met
// a change, the next one waits for LevelDB's own lock as an open would (the holders asked to hand
// it over, as an open asks) and copies while it holds it, so no open can come between; it opens
// nothing and changes no byte of the folder.
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { beforeLazyLoad, isStopped, lockHolders, sleep } from '@deploystate/core';
import { Handover } from './handover.js';
import { folderKey, holdFolder, releaseFolder } from './process-holds.js';

/** How often the lock is tried while the holders hand it over. */
const TURN_POLL_MS = 5;
/** Every so many tries the request is posted again (every 20 ms, as an open waiting for the lock posts it). */
const REQUEST_EVERY = 4;
/** Every so many tries the holders are looked up (a walk of /proc): a paused one never hands over. */
const HOLDERS_EVERY = 20;

interface Locks {
  tryLock(fd: number): boolean;
  unlock(fd: number): void;
}

let locks: Locks | null | undefined;

/** The OS advisory lock (fs-native-extensions: an open file description's lock on Linux, which LevelDB's own lock conflicts with); null where it cannot load. */
function nativeLocks(): Locks | null {
  if (locks !== undefined) return locks;
  try {
    beforeLazyLoad();
    locks = createRequire(import.meta.url)('fs-native-extensions') as Locks;
  } catch {
    locks = null;
  }
  return locks;
}

/** Whether LevelDB's lock is held only by paused processes (SIGSTOP, a debugger), which cannot hand it over. */
function allPaused(lockFile: string): boolean {
  const holders = lockHolders(lockFile).filter((h) => h.pid !== process.pid);
  return holders.length > 0 && holders.every((h) => isStopped(h.pid));
}

/**
 * Runs `copy` while this process holds LevelDB's lock on `source`, taken once the holders let it
 * go (asked to, as an open asks) and before `deadline`; its result, in a one-element array, when it
 * ran so. undefined, with nothing run, where the turn cannot be had: the folder open in this process (its LOCK must not be opened
 * here: closing it would drop that store's lock), no LOCK file (one is never created), no lock
 * available, every holder paused (it changes nothing, so a plain copy holds), or the deadline.
 * Another store of this process waits for the turn as for a store that holds the folder.
 */
export async function copyInTurn<T>(source: string, copy: () => Promise<T>, deadline: number): Promise<[T] | undefined> {
  const native = nativeLocks();
  if (native === null) return undefined;
  const key = folderKey(source);
  if (!holdFolder(key)) return undefined;
  const lockFile = join(source, 'LOCK');
  const handover = new Handover(source);
  let fd: number | undefined;
  let locked = false;
  try {
    try {
      // Read and write without creating: a lock for writing needs a descriptor that may write.
      fd = openSync(lockFile, constants.O_RDWR);
      for (let tries = 0; !(locked = native.tryLock(fd)); tries++) {
        if (Date.now() >= deadline || (tries % HOLDERS_EVERY === 0 && allPaused(lockFile))) return undefined;
        if (tries % REQUEST_EVERY === 0) handover.request();
        await sleep(TURN_POLL_MS);
      }
    } catch {
      // No LOCK file, or no way to open it or take its lock: the plain copy, as before.
      return undefined;
    }
    // The copy's own failures are the caller's (a full disk is reported, never copied again).
    return [await copy()];
  } finally {
    if (fd !== undefined) {
      if (locked) native.unlock(fd);
      closeSync(fd);
    }
    handover.withdraw();
    releaseFolder(key);
  }
}
