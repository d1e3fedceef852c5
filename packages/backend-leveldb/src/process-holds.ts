// The LevelDB folders this process has open. LevelDB's lock is a POSIX record lock, which belongs to
// the process, not to the handle: a second open of a folder the process already has open fails
// ("already held by process"), and on its way out closes a descriptor of the LOCK file, which drops
// the process's lock while the first handle still writes. Another process can then open the folder
// beside it, and the two corrupt it (a MANIFEST or table file goes missing). Two stores in one
// process are common (a deploy script that creates a store per call), so nothing here opens a
// folder this process holds: it waits for (or asks) the store that holds it, as for another process.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';

// One set per process, even when this package is loaded twice (`require()` and `import`).
const HELD = Symbol.for('@deploystate/backend-leveldb/held-folders');
const held: Set<string> = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Set<string>()) as Set<string>;

/** The folder's identity for the set: its real path (its resolved path while it does not exist). */
export function folderKey(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** Marks the folder as open in this process; false when it already is (the caller must not open it). */
export function holdFolder(key: string): boolean {
  if (held.has(key)) return false;
  held.add(key);
  return true;
}

export function releaseFolder(key: string): void {
  held.delete(key);
}

/** Whether a store of this process has the LevelDB folder at `path` open now. */
export function heldInThisProcess(path: string): boolean {
  return held.has(folderKey(path));
}

/** What opening a folder this process holds is refused with, when the caller cannot wait for it. */
export function heldHereError(path: string): StateError {
  return new StateError(ErrorCodes.LOCKED, `LevelDB store ${path} is open in this process already (another store holds it)`, {
    file: path,
    hint: 'close the other store first, or use the one store for both',
  });
}

/**
 * Makes and opens this process's one handle on the folder at `path` (`make` builds it unopened:
 * `level` opens a handle by itself on the next tick, so one is made only once the folder is
 * marked), released when the handle closes or its open fails. undefined, with nothing made, when
 * the process has the folder open already.
 */
export async function openHeld<Db extends { open(): Promise<void>; once(event: 'closed', listener: () => void): unknown }>(
  path: string,
  make: () => Db,
): Promise<Db | undefined> {
  const key = folderKey(path);
  if (!holdFolder(key)) return undefined;
  try {
    const db = make();
    await db.open();
    db.once('closed', () => releaseFolder(key));
    return db;
  } catch (error) {
    releaseFolder(key);
    throw error;
  }
}
