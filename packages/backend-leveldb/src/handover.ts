// Taking turns on LevelDB's one-process lock: a store that finds the database held posts a
// request, and a holder that shares (idleCloseMs > 0) hands the database over as soon as its
// operations in flight finish, instead of only after it has been idle for a while. Without it a
// deploy script writing every few milliseconds is never idle and keeps a migration step out.
//
// The request is a small file in the OS temp folder named after the database's real path (never a
// file in the LevelDB folder, which teams commit). It holds the requester's pid and a per-store id;
// a holder ignores its own requests and those of dead processes. A lost or stale request costs only
// time: the requester still waits with bounded retries, as it did before.
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync, realpathSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isProcessAlive } from '@deploystate/core';

/** A request older than this (or stamped this far ahead) is ignored: its requester gave up or died without removing it. */
const REQUEST_TTL_MS = 20_000;

export class Handover {
  readonly file: string;
  private readonly id = `${process.pid}:${randomUUID()}`;
  private posted = false;
  /** Cache of the last request seen, so a busy holder stats rather than reads on every release. */
  private seen: { mtimeMs: number; size: number; foreign: boolean } | undefined;

  constructor(location: string) {
    let real: string;
    try {
      real = realpathSync(location);
    } catch {
      real = resolve(location);
    }
    this.file = join(tmpdir(), `deploystate-leveldb-${createHash('sha256').update(real).digest('hex').slice(0, 20)}.want`);
  }

  /** Asks whoever holds the database to hand it over. Called before each wait for the lock. */
  request(): void {
    try {
      writeFileSync(this.file, `${this.id}\n${Date.now()}\n`);
      this.posted = true;
    } catch {
      // No temp folder to write: the wait still ends, bounded, as before.
    }
  }

  /** Withdraws this store's request once it has the database (never another requester's). */
  withdraw(): void {
    if (!this.posted) return;
    this.posted = false;
    try {
      if (readFileSync(this.file, 'utf8').startsWith(`${this.id}\n`)) unlinkSync(this.file);
    } catch {
      // Already gone, or replaced by another requester's: theirs stays.
    }
  }

  /** Whether another live store is waiting for the database now. A stat when nothing changed. */
  pending(): boolean {
    let info;
    try {
      info = statSync(this.file, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    if (!info) {
      this.seen = undefined;
      return false;
    }
    // Stamped more than the TTL ahead of this clock (a clock stepped back since, or another machine's
    // clock on a shared temp folder) is as stale as one long behind it: it would never age out.
    if (Math.abs(Date.now() - info.mtimeMs) > REQUEST_TTL_MS) return false;
    if (this.seen && this.seen.mtimeMs === info.mtimeMs && this.seen.size === info.size) return this.seen.foreign;
    let foreign = false;
    try {
      const [id] = readFileSync(this.file, 'utf8').split('\n');
      const pid = Number(id?.split(':')[0]);
      foreign = id !== undefined && id !== this.id && Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
    } catch {
      foreign = false;
    }
    this.seen = { mtimeMs: info.mtimeMs, size: info.size, foreign };
    return foreign;
  }
}
