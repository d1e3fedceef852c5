// Exclusive-create lock files naming their holder (pid, host, since, nonce). The migration lock fails
// fast with LOCKED naming the holder; short locks (journal sequence, state updates) wait briefly.
// A lock whose holder died on this host is broken only under a second exclusive file, `<lock>.break`,
// and only if it still holds the very bytes judged stale: two waiters that saw the same dead holder
// must not both break it (the slower one would delete the lock the faster one just took).
import { randomBytes } from 'node:crypto';
import { open, readFile, rm, mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { ErrorCodes, StateError, errnoCode, fsErrorCode, isProcessAlive } from '@deploystate/core';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command?: string;
  /** Unique per acquisition, so a new lock by the same pid is never mistaken for an old one. */
  nonce?: string;
}

/** A breaker file this old belongs to a breaker that stalled or died mid-break (breaking takes milliseconds). */
const BREAKER_STALE_MS = 5_000;

/** The lock file as found: its exact bytes (the identity a breaker re-checks) and the holder they name. */
interface FoundLock {
  text: string;
  holder: LockHolder | null;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const parsed = JSON.parse(text) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return {
      pid: parsed.pid,
      host: parsed.host,
      since: String(parsed.since ?? ''),
      ...(parsed.command !== undefined && { command: parsed.command }),
      ...(typeof parsed.nonce === 'string' && { nonce: parsed.nonce }),
    };
  } catch {
    return null;
  }
}

async function readLock(file: string): Promise<FoundLock | null> {
  try {
    const text = await readFile(file, 'utf8');
    return { text, holder: parseHolder(text) };
  } catch {
    return null;
  }
}

export async function readLockHolder(file: string): Promise<LockHolder | null> {
  return (await readLock(file))?.holder ?? null;
}

/** A holder on this host whose process is gone left the lock behind when it died. */
function isStale(holder: LockHolder | null): holder is LockHolder {
  return holder !== null && holder.host === hostname() && holder.pid !== process.pid && !isProcessAlive(holder.pid);
}

function newHolder(command: string | undefined): LockHolder {
  return {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    nonce: randomBytes(8).toString('hex'),
    ...(command !== undefined && { command }),
  };
}

/** Creates `file` only if absent; returns the bytes written, or null when it exists. */
async function tryCreate(file: string, holder: LockHolder): Promise<string | null> {
  await mkdir(dirname(file), { recursive: true });
  try {
    const handle = await open(file, 'wx');
    const text = JSON.stringify(holder);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return text;
  } catch (error) {
    if (errnoCode(error) === 'EEXIST') return null;
    throw new StateError(fsErrorCode(error), `cannot create lock ${file}: ${(error as Error).message}`, { file, cause: error });
  }
}

/** Removes `file` only if it still holds `text` (not a lock someone created since it was read). */
async function removeIfUnchanged(file: string, text: string): Promise<void> {
  if ((await readLock(file))?.text === text) await rm(file, { force: true });
}

/** A breaker whose holder died here, or that is older than BREAKER_STALE_MS, will never finish. */
async function breakerIsStale(breaker: string, found: FoundLock): Promise<boolean> {
  if (isStale(found.holder)) return true;
  try {
    return Date.now() - (await stat(breaker)).mtimeMs > BREAKER_STALE_MS;
  } catch {
    return false;
  }
}

/**
 * Removes the lock judged stale (`judged`, its bytes when read) under the exclusive breaker file.
 * Returns false when another live process is breaking it right now (the caller waits as for a holder).
 */
async function breakStale(file: string, judged: string): Promise<boolean> {
  const breaker = `${file}.break`;
  const mine = await tryCreate(breaker, newHolder('breaking a stale lock'));
  if (mine === null) {
    const other = await readLock(breaker);
    if (other === null) return true; // it just finished: look again
    if (await breakerIsStale(breaker, other)) {
      await removeIfUnchanged(breaker, other.text);
      return true;
    }
    return false;
  }
  try {
    // Re-read under the breaker: only the same dead holder's bytes may go, never a lock taken since.
    const again = await readLock(file);
    if (again !== null && again.text === judged && isStale(again.holder)) await rm(file, { force: true });
    return true;
  } finally {
    await removeIfUnchanged(breaker, mine);
  }
}

export interface LockOptions {
  /** How long to wait for the holder; 0 fails at once. */
  waitMs?: number;
  command?: string;
  /** Test seam: called after a holder was judged dead and before breaking its lock starts. */
  onBeforeBreak?: (holder: LockHolder) => Promise<void>;
}

export interface HeldLock {
  file: string;
  release(): Promise<void>;
}

export async function acquireLock(file: string, options: LockOptions = {}): Promise<HeldLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  let delay = 2;
  for (let attempt = 0; ; attempt++) {
    const holding = newHolder(options.command);
    const written = await tryCreate(file, holding);
    if (written !== null) {
      let released = false;
      return {
        file,
        release: async () => {
          if (released) return;
          released = true;
          // Only our own bytes: never a lock another process holds.
          await removeIfUnchanged(file, written);
        },
      };
    }
    const found = await readLock(file);
    const holder = found?.holder ?? null;
    let breakingElsewhere = false;
    if (found !== null && isStale(holder)) {
      await options.onBeforeBreak?.(holder);
      if (await breakStale(file, found.text)) continue;
      breakingElsewhere = true;
    }
    if (Date.now() >= deadline) {
      // A holder that has not finished writing its own name yet shows as null for a moment, and a
      // breaker at work ends within milliseconds: give both a few short looks before LOCKED.
      if ((holder === null || breakingElsewhere) && attempt < 5) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const who = holder
        ? `pid ${holder.pid} on ${holder.host} since ${holder.since}${holder.command ? ` (${holder.command})` : ''}`
        : 'an unknown holder';
      throw new StateError(ErrorCodes.LOCKED, `${file} is held by ${who}`, {
        file,
        hint: breakingElsewhere
          ? `that process is gone and another is breaking its lock; if this persists, remove ${file}.break`
          : 'wait for that command to finish; remove the lock file only if that process is gone',
      });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 50);
  }
}

export async function withLock<T>(file: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(file, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
