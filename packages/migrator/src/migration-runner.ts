// Who runs a migration command now: the process holding the migration lock. Its holder record names
// the pid and the command; the kernel says whether it still holds the lock (a rollback or a copy that
// stopped leaves its state behind, rolling-back or a copy not finished, and holds nothing).
import { hostname } from 'node:os';
import { isLockHeld, readLockHolder, type LockHolder } from '@deploystate/backend-json/lock';
import { commandLine } from '@deploystate/core';
import type { StateFiles } from './paths.js';

/** The purpose `migrate` takes the migration lock for (the copy runs under it). */
export const MIGRATE_LOCK_PURPOSE = 'migrate';

export interface MigrationRunner {
  pid: number;
  host: string;
  /** Its command line where this host can read it, else the command it runs (`deploystate rollback`). */
  command: string;
  /** When it took the migration lock. */
  since: string;
}

/**
 * The record of the process holding the migration lock now; null when one holds it and its record
 * cannot be read (being written, or on Windows unreadable while locked); undefined when none holds it.
 * Looks only when asked: a free lock is taken for an instant to tell (see isLockHeld).
 */
function migrationLockHolder(files: Pick<StateFiles, 'migrationLock'>): LockHolder | null | undefined {
  try {
    if (!isLockHeld(files.migrationLock)) return undefined;
  } catch {
    return undefined;
  }
  return readLockHolder(files.migrationLock);
}

/** The rollback running now, or undefined when no process holds the migration lock for one. Only read for an error. */
export function rollbackRunner(files: Pick<StateFiles, 'migrationLock'>): MigrationRunner | undefined {
  const holder = migrationLockHolder(files);
  if (holder?.purpose?.startsWith('rollback') !== true) return undefined;
  const command = (holder.host === hostname() ? commandLine(holder.pid) : undefined) ?? `deploystate ${holder.purpose}`;
  return { pid: holder.pid, host: holder.host, command, since: holder.since };
}

/**
 * Whether a `migrate` holds the migration lock now: it takes the lock before it records the copy's
 * start and lets it go after it records the end, so this answers before the copy's first progress
 * write too. A held lock whose record cannot be read counts: an unfinished copy is not called
 * stopped while something holds its lock.
 */
export function copyRunning(files: Pick<StateFiles, 'migrationLock'>): boolean {
  const holder = migrationLockHolder(files);
  return holder === null || holder?.purpose === MIGRATE_LOCK_PURPOSE;
}

/** The runner as a message names it. */
export function describeRunner(runner: MigrationRunner): string {
  return `pid ${runner.pid}${runner.host === hostname() ? '' : ` on ${runner.host}`} (${runner.command}), running since ${runner.since}`;
}
