// The LevelDB folders this process has open. LevelDB's lock is a POSIX record lock, which belongs to
// the process, not to the handle: a second open of a folder the process already has open fails
// ("already held by process"), and on its way out closes a descriptor of the LOCK file, which drops
// the process's lock while the first handle still writes. Another process can then open the folder
// beside it, and the two corrupt it (a MANIFEST or table file goes missing). Two stores in one
// process are common (a deploy script that creates a store per call), so nothing here opens a
// folder this process holds: it waits for (or asks) the store that holds it, as for another process.
import { realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ErrorCodes, StateError } from '@deploystate/core';

/** A folder this process has open: whether another store of it asked for it, and who waits for its release. */
interface Hold {
  wanted: boolean;
  /** The holder's hand-over, called when another store of this process asks (it closes once its work in flight ends). */
  onWanted: (() => void) | undefined;
  released: Array<() => void>;
}

// One map per process, even when this package is loaded twice (`require()` and `import`).
const HELD = Symbol.for('@deploystate/backend-leveldb/held-folders');
const held: Map<string, Hold> = ((globalThis as Record<symbol, unknown>)[HELD] ??= new Map<string, Hold>()) as Map<string, Hold>;

/**
 * The folder's identity for the map: its parent's real path and its own name, the same before the
 * folder exists (a store that creates it) and after (a link in the parent path, such as macOS's
 * /var, resolved either way). The folder itself a link: its target's real path.
 */
export function folderKey(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Not there yet: the parent's real path, as the folder's own will start with once it is made.
  }
  try {
    return join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    return absolute;
  }
}

/** Marks the folder as open in this process; false when it already is (the caller must not open it). */
export function holdFolder(key: string): boolean {
  if (held.has(key)) return false;
  held.set(key, { wanted: false, onWanted: undefined, released: [] });
  return true;
}

export function releaseFolder(key: string): void {
  const hold = held.get(key);
  held.delete(key);
  for (const wake of hold?.released ?? []) wake();
}

/**
 * Asks the store of this process that holds the folder at `path` to hand it over, and resolves once
 * it has let go, or after `ms` (the caller tries again): no request file and no polling between two
 * stores of one process (a deploy script with a store per call took about 60 ms a put that way).
 */
export function wantFolder(path: string, ms: number): Promise<void> {
  const hold = held.get(folderKey(path));
  if (!hold) return Promise.resolve();
  hold.wanted = true;
  hold.onWanted?.();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    hold.released.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Whether another store of this process asked for the folder at `path` (the holder then hands it over). */
export function wantedInProcess(path: string): boolean {
  return held.get(folderKey(path))?.wanted ?? false;
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
 * the process has the folder open already. `onWanted`: how the holder hands over when another store
 * of this process asks for the folder (wantFolder).
 */
export async function openHeld<Db extends { open(): Promise<void>; once(event: 'closed', listener: () => void): unknown }>(
  path: string,
  make: () => Db,
  onWanted?: () => void,
): Promise<Db | undefined> {
  const key = folderKey(path);
  if (!holdFolder(key)) return undefined;
  try {
    const db = make();
    await db.open();
    db.once('closed', () => releaseFolder(key));
    const hold = held.get(key);
    if (hold) {
      hold.onWanted = onWanted;
      // Asked for while it opened: told now.
      if (hold.wanted) onWanted?.();
    }
    return db;
  } catch (error) {
    releaseFolder(key);
    throw error;
  }
}
