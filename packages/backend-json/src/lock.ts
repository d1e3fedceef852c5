// Cross-process exclusive lock on one file: an exclusive-create lock file holding pid, host and a
// nonce, kept fresh by a heartbeat (its mtime). A lock whose owner died on this host, or whose
// heartbeat stopped for staleMs, is broken, under a second short lock so two waiters never both do.
// A waiter announces itself in `<lock>.want`, so a holder keeping a lease (LockLease) hands over.
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, StateError, fsErrorCode, isProcessAlive, errnoCode } from '@deploystate/core';
import { STATE_DIR } from './atomic.js';

export interface LockOptions {
  /** How long to wait for the lock before LOCKED. Default 10 000 ms. */
  timeoutMs?: number;
  /** A lock whose heartbeat is older than this is stale. Default 10 000 ms. */
  staleMs?: number;
  /** Folder for lock files. Default `<dir of target>/.deploystate/locks`. */
  lockDir?: string;
  /** Test seam: called after the lock was judged stale and before breaking it starts. */
  onBeforeBreak?: (owner: { pid?: number; host?: string }) => Promise<void>;
}

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  acquiredAt: string;
}

const HOST = hostname();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  try {
    const handle = await open(path, 'wx');
    try {
      await handle.writeFile(JSON.stringify(owner));
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return false;
    throw error;
  }
}

/** A lock or breaker file as found: its exact bytes (its identity), the owner they name, and its heartbeat. */
interface FoundLock {
  text: string;
  owner: Partial<LockOwner>;
  mtimeMs: number;
}

async function readOwner(path: string): Promise<FoundLock | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(text) as Partial<LockOwner>;
    } catch {
      // A lock file cut short by a crash between create and write: judged by its age alone.
    }
    return { text, owner, mtimeMs: info.mtimeMs };
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return null;
    throw error;
  }
}

function isStale(found: FoundLock, staleMs: number): boolean {
  const { owner } = found;
  if (owner.host === HOST && typeof owner.pid === 'number' && !isProcessAlive(owner.pid)) return true;
  return Date.now() - found.mtimeMs > staleMs;
}

/** Unlinks `path` only if it still holds `text`, not a file someone created since it was read. */
async function unlinkIfUnchanged(path: string, text: string): Promise<void> {
  const now = await readOwner(path).catch(() => null);
  if (now?.text === text) await unlink(path).catch(() => undefined);
}

/**
 * Removes the lock judged stale (`judged`, as read) under the exclusive breaker `<lock>.break`, and
 * only if it still holds the same bytes: two waiters that judged the same owner stale must not both
 * remove (the slower would delete the lock the faster took). Returns false while another live
 * process is breaking, so the caller waits as for a holder instead of spinning.
 */
async function breakStale(path: string, judged: FoundLock, staleMs: number): Promise<boolean> {
  const breaker = `${path}.break`;
  const me: LockOwner = { pid: process.pid, host: HOST, nonce: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() };
  if (!(await tryCreate(breaker, me))) {
    const other = await readOwner(breaker);
    if (other === null) return true; // it just finished: look again
    if (isStale(other, staleMs)) {
      await unlinkIfUnchanged(breaker, other.text);
      return true;
    }
    return false;
  }
  try {
    const again = await readOwner(path);
    if (again && again.text === judged.text && isStale(again, staleMs)) await unlink(path).catch(() => undefined);
    return true;
  } finally {
    await unlinkIfUnchanged(breaker, JSON.stringify(me));
  }
}

/** The lock file guarding `target`. */
export function lockFileFor(target: string, lockDir?: string): string {
  return join(lockDir ?? join(dirname(target), STATE_DIR, 'locks'), `${basename(target)}.lock`);
}

/** The file a waiter writes to ask a lease holder for its turn. */
export function wantFileFor(lockPath: string): string {
  return `${lockPath}.want`;
}

function announceWaiter(lockPath: string): void {
  try {
    const fd = openSync(wantFileFor(lockPath), 'w');
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
  } catch {
    // Only a courtesy to a lease holder: its idle release still hands the lock over.
  }
}

/** A lock this process holds: its file, the bytes it wrote there, and its heartbeat. */
interface HeldLock {
  path: string;
  content: string;
  beat: ReturnType<typeof setInterval>;
}

const held = new Set<HeldLock>();
let exitHookInstalled = false;

/** Locks still held when the process exits normally are removed (a crash is handled by the dead-pid rule). */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const lock of held) {
      try {
        if (readFileSync(lock.path, 'utf8') === lock.content) unlinkSync(lock.path);
      } catch {
        // already gone
      }
    }
  });
}

/** Waits for the lock on `target` (LOCKED after timeoutMs), then starts its heartbeat. */
async function acquire(target: string, options: LockOptions): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 10_000;
  const path = lockFileFor(target, options.lockDir);
  const owner: LockOwner = { pid: process.pid, host: HOST, nonce: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() };
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  let waited = false;
  try {
    await mkdir(dirname(path), { recursive: true });
    for (;;) {
      if (await tryCreate(path, owner)) break;
      const found = await readOwner(path);
      if (found && isStale(found, staleMs)) {
        await options.onBeforeBreak?.(found.owner);
        if (await breakStale(path, found, staleMs)) continue;
      }
      if (Date.now() >= deadline) {
        // Withdraw the request, so the holder does not hand over to nobody (another waiter asks again on its next try).
        if (waited) await unlink(wantFileFor(path)).catch(() => undefined);
        const who =
          found?.owner.pid === undefined ? 'another process' : `pid ${found.owner.pid} on ${found.owner.host ?? 'an unknown host'}`;
        throw new StateError(ErrorCodes.LOCKED, `${target} is locked by ${who} (waited ${timeoutMs} ms)`, {
          file: target,
          hint: `if no deploystate process is running, remove ${path}`,
        });
      }
      announceWaiter(path);
      waited = true;
      await sleep(delay + Math.random() * delay);
      // Capped low so a waiter retries within the window a lease holder leaves it (WANT_GRACE_MS).
      delay = Math.min(delay * 2, 25);
    }
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError(fsErrorCode(error), `could not lock ${target}: ${error instanceof Error ? error.message : String(error)}`, {
      file: target,
      cause: error,
    });
  }
  if (waited) await unlink(wantFileFor(path)).catch(() => undefined);
  // The heartbeat keeps a long holder from being judged stale.
  const beat = setInterval(
    () => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined);
    },
    Math.max(50, Math.floor(staleMs / 3)),
  );
  beat.unref();
  const lock: HeldLock = { path, content: JSON.stringify(owner), beat };
  held.add(lock);
  installExitHook();
  return lock;
}

/** Still ours? (A holder whose heartbeat stalled past staleMs may have been broken by a waiter.) */
function stillHeld(lock: HeldLock): boolean {
  try {
    return readFileSync(lock.path, 'utf8') === lock.content;
  } catch {
    return false;
  }
}

async function release(lock: HeldLock): Promise<void> {
  clearInterval(lock.beat);
  held.delete(lock);
  const current = await readFile(lock.path, 'utf8').catch(() => null);
  if (current === lock.content) await unlink(lock.path).catch(() => undefined);
}

/**
 * Runs `fn` while holding the cross-process lock on `target`. Throws StateError LOCKED when another
 * live holder keeps it past timeoutMs. The lock is released however `fn` ends.
 */
export async function withFileLock<T>(target: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const lock = await acquire(target, options);
  try {
    return await fn();
  } finally {
    await release(lock);
  }
}

// How long a lease holder that saw a waiter leaves the lock free before it competes again.
const WANT_GRACE_MS = 150;

/**
 * The lock on one file, kept for `idleMs` after each use so back-to-back writes of one process do
 * not pay a lock create and unlink each. Other processes still get turns: the lease ends when idle,
 * on `release()`, at process exit, and before the next use once a waiter has written `.want`.
 * Each use checks the lock file still holds this lease's owner (a stalled holder may have been
 * judged stale and broken); if not, the lock is taken again from scratch.
 */
export class LockLease {
  private lock: HeldLock | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly path: string;

  constructor(
    private readonly target: string,
    private readonly options: LockOptions & { idleMs: number },
  ) {
    this.path = lockFileFor(target, options.lockDir);
  }

  /** Whether this process holds the lock right now (for tests and health). */
  get held(): boolean {
    return this.lock !== undefined;
  }

  /** Runs `fn` under the lock; calls must not overlap (the store's per-file queue serialises them). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    this.cancelIdle();
    if (this.lock && (existsSync(wantFileFor(this.path)) || !stillHeld(this.lock))) {
      const handOver = existsSync(wantFileFor(this.path));
      await this.release();
      if (handOver) await this.leaveRoomForWaiter();
    }
    const lock = this.lock ?? (await acquire(this.target, this.options));
    this.lock = lock;
    try {
      return await fn();
    } finally {
      if (this.options.idleMs <= 0) await this.release();
      else {
        this.idleTimer = setTimeout(() => void this.release(), this.options.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  /** Ends the lease now (the store calls it on close). */
  async release(): Promise<void> {
    this.cancelIdle();
    const lock = this.lock;
    this.lock = undefined;
    if (lock) await release(lock);
  }

  /** After handing over, wait until a waiter took the lock (it removes `.want`), within a bound. */
  private async leaveRoomForWaiter(): Promise<void> {
    const want = wantFileFor(this.path);
    const until = Date.now() + WANT_GRACE_MS;
    while (existsSync(want) && Date.now() < until) await sleep(2);
    // Nobody came (a waiter that gave up or died): clear it so the next write does not wait again.
    if (existsSync(want) && !existsSync(this.path)) await unlink(want).catch(() => undefined);
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
