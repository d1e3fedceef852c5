// A restore swaps its checked copy into a LevelDB folder by two renames (the live folder aside, then
// the copy in), with a marker beside the folder meanwhile. The marker, and the wait for the swap
// that a store's open and a snapshot share: a folder missing for that moment is not a missing store.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, StateError, isProcessAlive, sleep } from '@deploystate/core';
import { backoff, type LockWait } from './leveldb-options.js';

/**
 * The file beside a LevelDB folder (`<folder>.swapping`) while the restore swaps its copy in: a
 * folder missing meanwhile is back in a moment, unless the restore was killed between the renames.
 */
export function swapMarkerOf(path: string): string {
  return `${path}.swapping`;
}

/** The marker's text: the checked copy's path, then the restore's process (a reader tells a running restore from a stopped one). */
export function swapMarkerText(copy: string): string {
  return `${copy}\n${JSON.stringify({ pid: process.pid, host: hostname() })}\n`;
}

export interface SwapUnderWay {
  /** The checked copy being renamed into place. */
  copy: string;
  /** The restore's process, when its marker names one. */
  pid?: number;
  /** Whether that process still runs: undefined when the marker names none, or one on another host. */
  running: boolean | undefined;
}

/** The swap under way at `path` (its marker stands beside it), or undefined. */
export function swapUnderWay(path: string): SwapUnderWay | undefined {
  let lines: string[];
  try {
    lines = readFileSync(swapMarkerOf(path), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const copy = lines[0]?.trim();
  if (!copy) return undefined;
  let owner: { pid?: unknown; host?: unknown } | undefined;
  try {
    owner = JSON.parse(lines[1] ?? '') as typeof owner;
  } catch {
    // A marker of an earlier version (the copy alone), or cut short: who swaps is unknown.
  }
  if (typeof owner?.pid !== 'number') return { copy, running: undefined };
  return { copy, pid: owner.pid, running: owner.host === hostname() ? isProcessAlive(owner.pid) : undefined };
}

/** The checked copy a restore is swapping in at `path`, or undefined. */
export function copyBeingSwappedIn(path: string): string | undefined {
  return swapUnderWay(path)?.copy;
}

/**
 * The folder at `path` was found missing, or holding only what an open that raced the restore's
 * first rename left (LOCK, LOG). Returns true when it is to be looked at again: while a swap's
 * marker stands and the wait lasts (after one turn of the lock wait's backoff), or at once when
 * the marker is gone and the store is back (the swap ended between the look and the marker's
 * read). Never cut short for a restore whose process looks gone: a pid can look dead from here and
 * run in another pid namespace sharing the folder.
 */
export async function waitedForSwap(path: string, lockWait: LockWait, attempt: number, deadline: number): Promise<boolean> {
  if (swapUnderWay(path) === undefined) return existsSync(join(path, 'CURRENT'));
  if (Date.now() >= deadline) return false;
  await sleep(Math.min(backoff(lockWait, attempt), Math.max(1, deadline - Date.now())));
  return true;
}

/**
 * STORE_NOT_FOUND for the folder at `path` after the wait, while a swap's marker still stands
 * (undefined when none does): the hint tells a restore still running from one that stopped.
 */
export function swapNotFinished(path: string, message: string): StateError | undefined {
  const swap = swapUnderWay(path);
  if (swap === undefined) return undefined;
  const byHand = `rename that copy to ${path} and remove ${swapMarkerOf(path)}`;
  const hint =
    swap.running === true
      ? `a restore (pid ${swap.pid}) is still swapping its checked copy ${swap.copy} into place and did not finish within the wait: retry once it ends`
      : swap.running === false
        ? `a restore stopped between its two renames (its process ${swap.pid} is gone): its checked copy is at ${swap.copy}; run the restore again (or ${byHand})`
        : `a restore is swapping its checked copy ${swap.copy} into place and did not finish within the wait: retry once it ends; if it was stopped, run the restore again (or ${byHand})`;
  return new StateError(ErrorCodes.STORE_NOT_FOUND, message, {
    file: path,
    hint,
    data: { copy: swap.copy, restore: { ...(swap.pid !== undefined && { pid: swap.pid }), running: swap.running ?? null } },
  });
}
