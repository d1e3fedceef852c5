// Cross-process locks the operating system keeps: an advisory lock (open-file-description locks on
// Linux, flock on macOS, LockFileEx on Windows, through fs-native-extensions) on a dedicated lock
// file that is never renamed or deleted. The kernel drops it when its holder dies and never hands it
// to anyone while the holder lives, so neither a paused process nor a clock can break it. Waits poll
// a non-blocking try with backoff and end in LOCKED; nothing blocks a thread-pool thread.
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ErrorCodes, StateError, errnoCode, isProcessAlive, isStateError, isStopped, lockHolders, noteWait, pausedHoldersHint, sleep } from '@deploystate/core';
import { STATE_DIR } from './atomic.js';
import { announceWaiting, hasWaiters, waitersOn, waitFileFor } from './lock-waiters.js';
import { native, namesSameFile, nativeLocks, tryAcquire, tryTake, type OpenedFile } from './native-lock.js';

export { hasWaiters };

/** `exclusive`: one holder. `shared`: any number of shared holders, and no exclusive one. */
export type LockMode = 'exclusive' | 'shared';

export interface LockOptions {
  /** How long to wait for the lock before LOCKED. 0 tries once. Default 10 000 ms. */
  timeoutMs?: number;
  /** Default `exclusive`. */
  mode?: LockMode;
  /** What the holder is doing, written for waiters' messages (exclusive holders only). */
  purpose?: string;
  /** Folder for lock files of targets (`withFileLock`, `LockLease`). Default `<dir of target>/.deploystate/locks`. */
  lockDir?: string;
}

/** Who last took a lock exclusively, as written in its lock file: a diagnostic, never a judge of ownership. */
export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  purpose?: string;
}

/** A lock this process holds. */
export interface HeldLock {
  /** The lock file. */
  readonly file: string;
  readonly mode: LockMode;
  /** False once released, or when the lock file was removed or replaced since it was taken. */
  isHeld(): boolean;
  /** Throws LOCK_UNAVAILABLE unless `isHeld()`: call it right before an irreversible step (a rename). */
  assertHeld(): void;
  /** Idempotent. */
  release(): Promise<void>;
  /** Whether taking it waited for another holder. */
  readonly waited?: boolean;
}

const DEFAULT_TIMEOUT_MS = 10_000;
// A waiter's tries are at most about this far apart (plus jitter), so a lock freed by a holder's
// death or release is taken within about this long, well inside a lease holder's hand-over window.
const MAX_POLL_MS = 10;
const HANDOVER_GRACE_MS = 150;
/** How often an idle lease looks whether another process waits for its lock. */
const IDLE_WAITER_POLL_MS = 5;
/** How long a lease keeps its lock from waiters after one let a whole handover grace go by (paused, or starved). */
const UNANSWERED_PAUSE_MS = 1_000;
/** A waiter that leaves the lock free this long (a live one looks every MAX_POLL_MS) is taken for paused. */
const FREE_UNTAKEN_MS = 5 * MAX_POLL_MS;
/**
 * How long a lease that met another process at its lock (one waited for it, or held it when this
 * one wanted it) lets go right after each use instead of keeping it idle. Two deploy scripts
 * writing one network file otherwise found it held by the other's idle lease at nearly every put
 * and paid the hand-over (the holder's idle look, then the waiter's poll): a put's p50 1.7 ms
 * alone, 15-16 ms for two back to back, 22 ms for two at a 10 ms pace.
 */
const CONTENDED_MS = 2_000;
const HOST = hostname();

/** Bytes of a holder record; JSON.parse reads past the trailing spaces. */
const HOLDER_WIDTH = 512;

function writeHolder(fd: number, purpose: string | undefined): void {
  const holder: LockHolder = { pid: process.pid, host: HOST, since: new Date().toISOString(), ...(purpose !== undefined && { purpose }) };
  try {
    // Padded to a fixed width and written over the old one: truncating first costs milliseconds of
    // blocked event loop on a busy disk (it waits for the file system's journal), on every take.
    const text = JSON.stringify(holder);
    if (Buffer.byteLength(text) > HOLDER_WIDTH) ftruncateSync(fd, 0);
    writeSync(fd, text.padEnd(HOLDER_WIDTH, ' '), 0);
  } catch {
    // Only a diagnostic for waiters' messages: the lock itself is the kernel's.
  }
}

/**
 * Who last took `file` exclusively, or null (never, unreadable, or being written). It may name a
 * holder that has since released it: only the kernel knows who holds the lock now.
 */
export function readLockHolder(file: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return {
      pid: parsed.pid,
      host: parsed.host,
      since: String(parsed.since ?? ''),
      ...(typeof parsed.purpose === 'string' && { purpose: parsed.purpose }),
    };
  } catch {
    // Absent, being written, or (on Windows) unreadable while locked.
    return null;
  }
}

// Why a lock file that exists cannot be opened for writing: another user's file, a read-only mount.
const READ_ONLY_HERE = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * Whether another descriptor (any process, this one included) holds `file` now, in either mode.
 * Where this process may only read the file (another user's lock file, a read-only mount), a shared
 * try is all it can make (Linux grants an exclusive lock only on a descriptor open for writing): an
 * exclusive holder is still seen, shared holders are not.
 */
export function isLockHeld(file: string): boolean {
  let fd: number;
  let mode: LockMode = 'exclusive';
  try {
    fd = openSync(file, constants.O_RDWR);
  } catch (error) {
    if (!READ_ONLY_HERE.has(errnoCode(error) ?? '')) return false;
    try {
      fd = openSync(file, constants.O_RDONLY);
      mode = 'shared';
    } catch {
      return false;
    }
  }
  try {
    const locks = nativeLocks(file);
    if (!tryTake(locks, fd, mode, file)) return true;
    locks.unlock(fd);
    return false;
  } finally {
    closeSync(fd);
  }
}

function lockedError(file: string, mode: LockMode, timeoutMs: number): StateError {
  const last = readLockHolder(file);
  // The file names the last exclusive holder; a dead one here means the current holders are others.
  const current = last !== null && !(last.host === HOST && !isProcessAlive(last.pid));
  // Shared holders leave no name in the file: the kernel knows them (Linux).
  const holders = current ? [] : lockHolders(file);
  const here = current ? (last.host === HOST ? [last.pid] : []) : holders.map((h) => h.pid).filter((pid) => pid !== process.pid);
  const paused = pausedHoldersHint(here);
  const named = holders
    .slice(0, 5)
    .map((h) => `pid ${h.pid} (${h.pid === process.pid ? 'this process' : h.command})${paused !== undefined && isStopped(h.pid) ? ' paused' : ''}`)
    .join(', ');
  const who = current
    ? `pid ${last.pid} on ${last.host}${last.purpose ? ` (${last.purpose})` : ''} since ${last.since}${paused !== undefined ? ', paused' : ''}`
    : holders.length > 0
      ? `${named}${holders.length > 5 ? ` and ${holders.length - 5} more` : ''}`
      : 'another process';
  return new StateError(
    ErrorCodes.LOCKED,
    `${file} is held by ${who}; waited ${timeoutMs} ms for ${mode === 'shared' ? 'a shared' : 'an exclusive'} lock`,
    {
      file,
      hint:
        paused ??
        'retry when that process has finished (one paused or busy keeps its lock until it goes on); the lock ends with its holder (the lock file itself stays and never needs removing)',
    },
  );
}

/**
 * Takes the lock on `file` (the lock file itself), waiting up to `timeoutMs`, then LOCKED.
 * LOCK_UNAVAILABLE where the operating system's lock cannot be used. `startedAt` (performance.now()):
 * when a caller that has waited already began, so the whole wait keeps to `timeoutMs` (tried at least once).
 */
export async function acquireLock(file: string, options: LockOptions = {}, startedAt?: number): Promise<HeldLock> {
  const mode = options.mode ?? 'exclusive';
  const timeoutMs = Math.max(0, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const started = startedAt ?? performance.now();
  let delay = 1;
  let waiting: number | undefined;
  try {
    for (;;) {
      const taken = tryAcquire(file, mode);
      if (taken !== undefined) {
        if (mode === 'exclusive') writeHolder(taken.fd, options.purpose);
        if (waiting !== undefined) noteWait('lock', started, basename(file));
        return heldLock(file, mode, taken.fd, taken.opened, waiting !== undefined);
      }
      const left = timeoutMs - (performance.now() - started);
      if (left <= 0) {
        noteWait('lock', started, basename(file));
        throw lockedError(file, mode, timeoutMs);
      }
      waiting ??= announceWaiting(file);
      await sleep(Math.min(left, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }
  } finally {
    if (waiting !== undefined) closeSync(waiting);
  }
}

function heldLock(file: string, mode: LockMode, fd: number, opened: OpenedFile, waited: boolean): HeldLock {
  let open = true;
  const isHeld = (): boolean => open && namesSameFile(opened, file);
  return {
    file,
    mode,
    waited,
    isHeld,
    assertHeld() {
      if (isHeld()) return;
      throw new StateError(
        ErrorCodes.LOCK_UNAVAILABLE,
        open ? `the lock file ${file} was removed or replaced while this process held it` : `the lock on ${file} was already released`,
        { file, hint: 'nothing was written; retry, and do not remove lock files while deploystate runs' },
      );
    },
    async release() {
      if (!open) return;
      open = false;
      try {
        // Closing alone ends it too, but Windows may release a closed handle's locks late.
        native?.unlock(fd);
      } catch {
        // Closing below ends it.
      }
      closeSync(fd);
    },
  };
}

/** Runs `fn` holding the lock on `file` (the lock file itself); released however `fn` ends. */
export async function withLock<T>(file: string, fn: (lock: HeldLock) => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireLock(file, options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** The lock file guarding `target` (a state file is replaced by rename, so it is never locked itself). */
export function lockFileFor(target: string, lockDir?: string): string {
  return join(lockDir ?? join(dirname(target), STATE_DIR, 'locks'), `${basename(target)}.lock`);
}

/** Runs `fn` holding the lock that guards `target` (see lockFileFor). Throws LOCKED (naming `target`) after `timeoutMs`. */
export async function withFileLock<T>(target: string, fn: (lock: HeldLock) => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquireFor(target, lockFileFor(target, options.lockDir), options);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

/** The lock guarding `target`: a LOCKED error names `target` itself, the file its user knows. */
async function acquireFor(target: string, file: string, options: LockOptions, startedAt?: number): Promise<HeldLock> {
  try {
    return await acquireLock(file, options, startedAt);
  } catch (error) {
    // A lock file that is its own target (the migrator's fence) is named as it is.
    if (!isStateError(error) || target === file) throw error;
    if (error.code === ErrorCodes.LOCKED) {
      throw new StateError(ErrorCodes.LOCKED, `${target} is being written by another process: ${error.message}`, {
        file: target,
        cause: error,
        ...(error.hint !== undefined && { hint: error.hint }),
      });
    }
    // The lock file refused (a read-only or full folder): the error names the file its user knows,
    // its message the lock file, with its code and hint kept.
    if (error.file !== file) throw error;
    throw new StateError(error.code, `${target}: ${error.message}`, { file: target, cause: error, ...(error.hint !== undefined && { hint: error.hint }) });
  }
}

/**
 * The lock guarding one file, kept for `idleMs` after each use so back-to-back writes of one process
 * do not take it each time. Other processes still get turns: the lease ends when idle, on
 * `release()`, and before the next use once a waiter shows itself (it holds `<lock>.wait` shared).
 * Uses may overlap (a shared lease, such as the migrator's write fence): a use that starts while
 * others run joins the lock they hold, and the idle time counts from the last one's end.
 */
export class LockLease {
  private lock: HeldLock | undefined;
  /** The wait file, open while the lease holds the lock: the check for waiters before each use is then two calls, not an open. */
  private waitFd: number | undefined;
  /** Armed once per idle spell, not per use: when it fires it releases, or waits out what is left since the last use's end. */
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private lastEnd = 0;
  private readonly file: string;
  private taken = 0;
  /** Uses running now; the lease idles out only once none does. */
  private running = 0;
  /** The take in progress, so overlapping uses take the lock once. */
  private taking: Promise<HeldLock> | undefined;
  /** Until when waiters are not handed the lock: the last handover's grace ran out with one still waiting. */
  private unansweredUntil = 0;
  /** Until when the lease lets go right after each use: another process met it at the lock (CONTENDED_MS). */
  private contendedUntil = 0;

  /** `lockFile`: the lock file itself, when `target` has none of its own (see lockFileFor). */
  constructor(
    private readonly target: string,
    private readonly options: LockOptions & { idleMs: number; lockFile?: string },
  ) {
    this.file = options.lockFile ?? lockFileFor(target, options.lockDir);
  }

  /** Whether this lease holds the lock right now. */
  get held(): boolean {
    return this.lock?.isHeld() ?? false;
  }

  /**
   * How many times this lease has taken the lock: unchanged between two uses means the lock was
   * held all along in between, so nothing that honours it changed what it guards.
   */
  get takes(): number {
    return this.taken;
  }

  /** Runs `fn` under the lock. */
  async run<T>(fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await fn(this.heldNow() ?? (await this.take()));
    } finally {
      await this.ended();
    }
  }

  /** Whether a use could start on the lock held now (see runUnchecked): a lock held, and no use running or taking one. */
  get idleHeld(): boolean {
    return this.lock !== undefined && this.running === 0 && this.taking === undefined;
  }

  /**
   * Runs `fn` on the lock the lease holds now (`idleHeld` must be true), leaving to `fn` run()'s
   * checks: `fn` calls waitedFor() (a waiter goes first, as run() lets it) and confirm() before
   * anything it cannot undo, and undoes what it did when either fails. For a use that can check
   * while it waits for other I/O.
   */
  async runUnchecked<T>(fn: (lock: HeldLock) => Promise<T>): Promise<T> {
    const lock = this.lock;
    if (!lock || !this.idleHeld)
      throw new StateError(ErrorCodes.LOCK_UNAVAILABLE, `no idle lock is held on ${this.file}`, { file: this.file });
    this.running++;
    try {
      return await fn(lock);
    } finally {
      await this.ended();
    }
  }

  /** Whether another process waits for the lock now (run() would hand it over first): two calls on the wait file. */
  waitedFor(): boolean {
    return this.hasWaiters();
  }

  /** run()'s other check, for a use runUnchecked started: the lock file is still the one held. */
  confirm(): boolean {
    return this.lock !== undefined && this.lock.isHeld();
  }

  /** A use ended: the lease idles out once none runs. */
  private async ended(): Promise<void> {
    if (--this.running === 0) {
      if (this.options.idleMs <= 0 || performance.now() < this.contendedUntil) await this.release();
      else {
        this.lastEnd = performance.now();
        this.idleTimer ??= this.armIdle(this.options.idleMs);
      }
    }
  }

  private armIdle(ms: number): ReturnType<typeof setTimeout> {
    // Idle, it looks for waiters too: a waiter otherwise waits out the whole idle time, and one
    // whose own turn this holder waits for (two writers taking the same two locks) makes every
    // use of both pay it.
    const look = Math.min(ms, IDLE_WAITER_POLL_MS);
    const timer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.running > 0) return; // a use running now arms it again when it ends
      const left = this.lastEnd + this.options.idleMs - performance.now();
      if (left > 1 && !this.hasWaiters()) this.idleTimer = this.armIdle(left);
      else void this.release();
    }, look);
    timer.unref();
    return timer;
  }

  /**
   * The lock for a use that runs alone, when the lease holds it still and nobody waits for it:
   * takeAfresh's checks, without its turns of the event loop (they are on every write's path).
   */
  private heldNow(): HeldLock | undefined {
    if (this.taking || !this.lock || this.running > 1) return undefined;
    return this.lock.isHeld() && !this.hasWaiters() ? this.lock : undefined;
  }

  /** The lock for one use: the one held when other uses run (they hold it), else checked or taken afresh. */
  private async take(): Promise<HeldLock> {
    // The use's wait counts from here, not from its own try: uses queued behind a take that fails (a
    // putMany's networks side by side) would otherwise each wait a whole timeout, one after another.
    const started = performance.now();
    // A take that failed is no answer for this use: it tries on its own, in what is left of its wait.
    while (this.taking) await this.taking.catch(() => undefined);
    if (this.lock && this.running > 1) return this.lock;
    const taking = this.takeAfresh(started);
    this.taking = taking;
    try {
      return await taking;
    } finally {
      if (this.taking === taking) this.taking = undefined;
    }
  }

  private async takeAfresh(started: number): Promise<HeldLock> {
    if (this.lock && !this.lock.isHeld()) await this.release();
    if (this.lock && this.hasWaiters()) {
      await this.release();
      await this.leaveRoomForWaiter();
    }
    // A lease new to the lock lets a waiter go first too: one process creating a lease per use (a
    // deploy script with a store per call) would otherwise take a shared lock before the last
    // lease's share idled out, again and again, and a gate waiting to take it exclusively never would.
    if (!this.lock && this.hasWaiters()) await this.letWaitersFirst();
    if (!this.lock) {
      this.lock = await acquireFor(this.target, this.file, this.options, started);
      this.taken++;
      if (this.lock.waited) this.contended();
    }
    return this.lock;
  }

  /** Throws LOCK_UNAVAILABLE unless this lease holds its lock (see HeldLock.assertHeld). */
  assertHeld(): void {
    if (this.lock) this.lock.assertHeld();
    else throw new StateError(ErrorCodes.LOCK_UNAVAILABLE, `no lock is held on ${this.file}`, { file: this.file });
  }

  /** Ends the lease now (the store calls it on close). */
  async release(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const lock = this.lock;
    this.lock = undefined;
    if (this.waitFd !== undefined) closeSync(this.waitFd);
    this.waitFd = undefined;
    await lock?.release();
  }

  private hasWaiters(): boolean {
    // A waiter that let the last handover go unanswered (a process paused with SIGSTOP, say) costs
    // no handover per use: the lease hands over again once the pause is over.
    if (performance.now() < this.unansweredUntil) return false;
    if (this.waitFd === undefined) {
      try {
        // Created if absent (as a waiter would): it is a lock file too, never removed.
        this.waitFd = openSync(waitFileFor(this.file), constants.O_RDWR | constants.O_CREAT, 0o666);
      } catch {
        return hasWaiters(this.file) && this.contended();
      }
    }
    return waitersOn(this.waitFd, this.file) && this.contended();
  }

  /** A waiter let a whole handover grace go by (paused): not answered for a while, nor let go for after each use. */
  private unanswered(): void {
    this.unansweredUntil = performance.now() + UNANSWERED_PAUSE_MS;
    this.contendedUntil = 0;
  }

  /** Another process met this lease at the lock: for a while each use lets go once it ends. Returns true. */
  private contended(): true {
    this.contendedUntil = performance.now() + CONTENDED_MS;
    return true;
  }

  /**
   * Before a lease takes a lock it does not hold: until nobody waits for it any more (the waiter has
   * it, or gave up) or the grace ends. The holders it waits for are other leases (of this process or
   * others) whose idle time runs out within the grace. One still waiting after the whole grace, the lock
   * free a while (paused), is answered no more for a while, as after a handover: else the idle lease,
   * which lets go when it sees a waiter, would hand it the lock again after every use.
   */
  private async letWaitersFirst(): Promise<void> {
    const until = performance.now() + HANDOVER_GRACE_MS;
    let waiting = true;
    // Since when the lock has stood free with the waiter still waiting: one that waits behind another
    // holder (a long write) is live, and is answered at this lease's next use, not paused for.
    let freeSince: number | undefined;
    while (performance.now() < until && (waiting = hasWaiters(this.file))) {
      if (isLockHeld(this.file)) freeSince = undefined;
      else freeSince ??= performance.now();
      await sleep(2);
    }
    if (waiting && freeSince !== undefined && performance.now() - freeSince >= FREE_UNTAKEN_MS) this.unanswered();
  }

  /** After handing over: until another process took the lock, nobody waits any more, or the grace ends. */
  private async leaveRoomForWaiter(): Promise<void> {
    const until = performance.now() + HANDOVER_GRACE_MS;
    let waiting = true;
    let taken = false;
    while (performance.now() < until && (waiting = hasWaiters(this.file)) && !(taken = isLockHeld(this.file))) await sleep(2);
    // A live waiter polls every few milliseconds: one still waiting after the whole grace cannot run.
    if (waiting && !taken) this.unanswered();
  }
}
