// The LevelDB store's options, their defaults, and the lock wait it uses while another process holds LevelDB.
import type { BaseStoreOptions } from '@deploystate/core';

export interface LockWait {
  /**
   * The wait's length while another process holds the LOCK, counted in tries: the wait lasts as long
   * as the pauses between this many tries add up to at full length (lockWaitBudgetMs); the pauses
   * are jittered shorter, so more tries may fit.
   */
  attempts: number;
  /** First delay between attempts; doubles up to maxDelayMs (with jitter). */
  minDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_LOCK_WAIT: LockWait = { attempts: 30, minDelayMs: 20, maxDelayMs: 500 };
export const DEFAULT_IDLE_CLOSE_MS = 250;
export const DEFAULT_CLOSE_WAIT_MS = 2_000;

export interface LevelDbStoreOptions extends BaseStoreOptions {
  /** The LevelDB folder (the legacy default is `./leveldb`). */
  path: string;
  /** Create the store when the folder is missing or empty. Default false: only writing commands pass true. */
  create?: boolean;
  /** Refuse every write with WRITES_REFUSED. */
  readOnly?: boolean;
  /** Close the LevelDB handle after this much idle time so other processes get their turn. 0 keeps it open. */
  idleCloseMs?: number;
  /** Bounded backoff while another process holds the lock; then LOCKED. */
  lockWait?: Partial<LockWait>;
  /** fsync every write (LevelDB `sync: true`). Default false: the write is in the OS, not yet on disk. */
  sync?: boolean;
  /**
   * How long close() waits for work in flight, above all an iterator whose consumer stopped
   * pulling. Then such an iterator is ended (its next step fails with STORE_CLOSED) and the
   * store closes, releasing the lock. Default 2000 ms.
   */
  closeWaitMs?: number;
  /**
   * Skip re-reading files that this process verified before and that are unchanged since (a log
   * that only grew is checked from its last whole record). Default true; false reads every file
   * on every open.
   */
  reuseVerifiedFiles?: boolean;
}

/** The whole lock wait: as long as the backoff schedule of `lockWait.attempts` adds up to. */
export function lockWaitBudgetMs(lockWait: LockWait): number {
  const { attempts, minDelayMs, maxDelayMs } = lockWait;
  let total = 0;
  // The pauses double for at most 20 steps and are the same from then on: a wait set in hours
  // (billions of tries, DEPLOYSTATE_LOCK_WAIT_MS) is added up in as many steps as one of seconds.
  const ramp = Math.min(attempts - 1, 20);
  for (let attempt = 1; attempt <= ramp; attempt++) total += Math.min(maxDelayMs, minDelayMs * 2 ** (attempt - 1));
  if (attempts - 1 > ramp) total += (attempts - 1 - ramp) * Math.min(maxDelayMs, minDelayMs * 2 ** 20);
  return total;
}

/** The pause before the next try of a wait: doubling up to maxDelayMs, with jitter. */
export function backoff(lockWait: LockWait, attempt: number): number {
  const { minDelayMs, maxDelayMs } = lockWait;
  const ceiling = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt - 1, 20));
  // Jitter keeps two waiting processes from retrying in lockstep.
  return Math.max(minDelayMs, Math.round(ceiling * (0.5 + Math.random() / 2)));
}
