// Exclusive-create lock files naming their holder (pid, host, since). The migration lock fails
// fast with LOCKED naming the holder; short locks (journal sequence, state updates) wait briefly.
import { open, readFile, rm, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { ErrorCodes, StateError, fsErrorCode } from '@deploystate/core';

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  command?: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function readLockHolder(file: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.host !== 'string') return null;
    return {
      pid: parsed.pid,
      host: parsed.host,
      since: String(parsed.since ?? ''),
      ...(parsed.command !== undefined && { command: parsed.command }),
    };
  } catch {
    return null;
  }
}

/** A holder on this host whose process is gone left the lock behind when it died. */
function isStale(holder: LockHolder | null): boolean {
  return holder !== null && holder.host === hostname() && holder.pid !== process.pid && !alive(holder.pid);
}

async function tryCreate(file: string, command: string | undefined): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true });
  try {
    const handle = await open(file, 'wx');
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      ...(command !== undefined && { command }),
    };
    await handle.writeFile(JSON.stringify(holder));
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StateError(fsErrorCode(error), `cannot create lock ${file}: ${(error as Error).message}`, { file, cause: error });
  }
}

export interface LockOptions {
  /** How long to wait for the holder; 0 fails at once. */
  waitMs?: number;
  command?: string;
  /** Test seam: called after a stale holder was judged dead, before it is broken. */
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
    if (await tryCreate(file, options.command)) {
      let released = false;
      return {
        file,
        release: async () => {
          if (released) return;
          released = true;
          await rm(file, { force: true });
        },
      };
    }
    const holder = await readLockHolder(file);
    if (holder !== null && isStale(holder)) {
      await options.onBeforeBreak?.(holder);
      await rm(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      // A holder that has not finished writing its own name yet shows as null for a moment.
      if (holder === null && attempt < 5) {
        await new Promise((r) => setTimeout(r, 5));
        continue;
      }
      const who = holder
        ? `pid ${holder.pid} on ${holder.host} since ${holder.since}${holder.command ? ` (${holder.command})` : ''}`
        : 'an unknown holder';
      throw new StateError(ErrorCodes.LOCKED, `${file} is held by ${who}`, {
        file,
        hint: 'wait for that command to finish; remove the lock file only if that process is gone',
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
