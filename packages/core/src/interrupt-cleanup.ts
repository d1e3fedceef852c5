// What a process must undo if a signal stops it mid-work: temp files and folders it made (a
// snapshot is a copy of a whole LevelDB folder) and child processes it started. Each piece of
// work registers its cleanup while it holds the thing and drops it when done. The library never
// installs a signal handler itself (that would change its host's behaviour); a program that
// handles SIGINT or SIGTERM, as the CLI does, calls runInterruptCleanups() before it exits
// (`@deploystate/core/interrupt-cleanup` loads this alone).

import { mkdtempSync, rmSync } from 'node:fs';

// One registry per process, even when the package is loaded twice (by require() and by import):
// whichever copy registers, the program's handler runs them all.
function perProcess<T>(name: string, make: () => T): T {
  const key = Symbol.for(`@deploystate/core/${name}`);
  const slot = globalThis as Record<symbol, unknown>;
  slot[key] ??= make();
  return slot[key] as T;
}
const cleanups = perProcess('interrupt-cleanups', () => new Set<() => void>());
// The paths removeOnInterrupt holds, each with the function that drops its removal.
const removals = perProcess('interrupt-removals', () => new Map<string, () => void>());

/** The signals that stop a program's work, with the exit code each ends it with (128 + its number). */
export const STOPPING_SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * Registers a synchronous cleanup (rmSync, unlinkSync, child.kill) to run if the process is
 * stopped by a signal; returns the function that drops it once the work has cleaned up itself.
 */
export function registerInterruptCleanup(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}

/** Runs every registered cleanup once (newest first), each on its own: one that throws stops none of the others. */
export function runInterruptCleanups(): number {
  const pending = [...cleanups].reverse();
  cleanups.clear();
  for (const cleanup of pending) {
    try {
      cleanup();
    } catch {
      // Best effort: the process is stopping.
    }
  }
  return pending.length;
}

/**
 * Removes `path` (a temp file or folder) if a signal stops the process first; returns the function
 * that drops this once the work has removed it or kept it (as `dropRemovalOnInterrupt(path)` does,
 * for code that removes the path elsewhere than it made it). A process still writing into the
 * folder for a moment (a child being killed) is waited out by a few retries.
 */
export function removeOnInterrupt(path: string): () => void {
  const drop = registerInterruptCleanup(() => rmSync(path, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 }));
  removals.set(path, drop);
  return () => dropRemovalOnInterrupt(path);
}

/** The paths removeOnInterrupt holds right now (a program that removes them once more before it exits asks here first). */
export function pathsRemovedOnInterrupt(): string[] {
  return [...removals.keys()];
}

/**
 * Whether this process holds `path` as work in progress (registered with removeOnInterrupt and not
 * dropped): a sweep of leftovers never takes it, whatever its timestamps say.
 */
export function inProgressHere(path: string): boolean {
  return removals.has(path);
}

/**
 * A new temp folder (`mkdtemp(prefix)`: `join(tmpdir(), 'deploystate-x-')`), removed if a signal
 * stops the process first. Made and registered in one synchronous step: a signal handled between
 * an asynchronous mkdtemp's completion and the registration would leave it. Returns its path and
 * the function that drops the registration once the work has removed it or kept it.
 */
export function tempFolderRemovedOnInterrupt(prefix: string): { path: string; drop: () => void } {
  const path = mkdtempSync(prefix);
  return { path, drop: removeOnInterrupt(path) };
}

/** Drops the removal `removeOnInterrupt(path)` registered: the path is removed already, or kept. */
export function dropRemovalOnInterrupt(path: string): void {
  removals.get(path)?.();
  removals.delete(path);
}
