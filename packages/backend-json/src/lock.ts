// Cross-process exclusive lock on one file: an exclusive-create lock file holding pid, host and a
// nonce, kept fresh by a heartbeat (its mtime). A lock whose owner died on this host, or whose
// heartbeat stopped for staleMs, is broken, under a second short lock so two waiters never both do.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, open, readFile, stat, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCodes, StateError, fsErrorCode } from '@deploystate/core';
import { STATE_DIR } from './atomic.js';

export interface LockOptions {
  /** How long to wait for the lock before LOCKED. Default 10 000 ms. */
  timeoutMs?: number;
  /** A lock whose heartbeat is older than this is stale. Default 10 000 ms. */
  staleMs?: number;
  /** Folder for lock files. Default `<dir of target>/.deploystate/locks`. */
  lockDir?: string;
}

interface LockOwner {
  pid: number;
  host: string;
  nonce: string;
  acquiredAt: string;
}

const HOST = hostname();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

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
    if ((error as { code?: string }).code === 'EEXIST') return false;
    throw error;
  }
}

async function readOwner(path: string): Promise<{ owner: Partial<LockOwner>; mtimeMs: number } | null> {
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    let owner: Partial<LockOwner> = {};
    try {
      owner = JSON.parse(text) as Partial<LockOwner>;
    } catch {
      // A lock file cut short by a crash between create and write: judged by its age alone.
    }
    return { owner, mtimeMs: info.mtimeMs };
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

function isStale(found: { owner: Partial<LockOwner>; mtimeMs: number }, staleMs: number): boolean {
  const { owner } = found;
  if (owner.host === HOST && typeof owner.pid === 'number' && !isAlive(owner.pid)) return true;
  return Date.now() - found.mtimeMs > staleMs;
}

/** Removes a stale lock unless it changed hands meanwhile; only one breaker at a time. */
async function breakStale(path: string, judged: Partial<LockOwner>, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  const me: LockOwner = { pid: process.pid, host: HOST, nonce: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() };
  if (!(await tryCreate(breaker, me))) {
    const other = await readOwner(breaker);
    if (other && isStale(other, staleMs)) await unlink(breaker).catch(() => undefined);
    return;
  }
  try {
    const again = await readOwner(path);
    if (again && again.owner.nonce === judged.nonce && isStale(again, staleMs)) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/** The lock file guarding `target`. */
export function lockFileFor(target: string, lockDir?: string): string {
  return join(lockDir ?? join(dirname(target), STATE_DIR, 'locks'), `${basename(target)}.lock`);
}

/**
 * Runs `fn` while holding the cross-process lock on `target`. Throws StateError LOCKED when another
 * live holder keeps it past timeoutMs. The lock is released however `fn` ends.
 */
export async function withFileLock<T>(target: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 10_000;
  const path = lockFileFor(target, options.lockDir);
  const owner: LockOwner = { pid: process.pid, host: HOST, nonce: randomBytes(8).toString('hex'), acquiredAt: new Date().toISOString() };
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  try {
    await mkdir(dirname(path), { recursive: true });
    for (;;) {
      if (await tryCreate(path, owner)) break;
      const found = await readOwner(path);
      if (found && isStale(found, staleMs)) {
        await breakStale(path, found.owner, staleMs);
        continue;
      }
      if (Date.now() >= deadline) {
        const who = found?.owner.pid === undefined ? 'another process' : `pid ${found.owner.pid} on ${found.owner.host ?? 'an unknown host'}`;
        throw new StateError(ErrorCodes.LOCKED, `${target} is locked by ${who} (waited ${timeoutMs} ms)`, {
          file: target,
          hint: `if no deploystate process is running, remove ${path}`,
        });
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
  } catch (error) {
    if (error instanceof StateError) throw error;
    throw new StateError(fsErrorCode(error), `could not lock ${target}: ${error instanceof Error ? error.message : String(error)}`, { file: target, cause: error });
  }
  // The heartbeat keeps a long holder from being judged stale.
  const beat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, Math.max(50, Math.floor(staleMs / 3)));
  beat.unref();
  try {
    return await fn();
  } finally {
    clearInterval(beat);
    const current = await readOwner(path).catch(() => null);
    if (current?.owner.nonce === owner.nonce) await unlink(path).catch(() => undefined);
  }
}
