// Who runs the rollback that keeps writes refused: the process holding the migration lock for a
// rollback. Its holder record names the pid and the command; the kernel says whether it still
// holds the lock (a rollback that stopped leaves rolling-back behind and holds nothing).
import { hostname } from 'node:os';
import { isLockHeld, readLockHolder } from '@deploystate/backend-json/lock';
import { commandLine } from '@deploystate/core';
import type { StateFiles } from './paths.js';

export interface RollbackRunner {
  pid: number;
  host: string;
  /** Its command line where this host can read it, else the command it runs (`deploystate rollback`). */
  command: string;
  /** When it took the migration lock. */
  since: string;
}

/** The rollback running now, or undefined when no process holds the migration lock for one. Only read for an error. */
export function rollbackRunner(files: Pick<StateFiles, 'migrationLock'>): RollbackRunner | undefined {
  try {
    if (!isLockHeld(files.migrationLock)) return undefined;
  } catch {
    return undefined;
  }
  const holder = readLockHolder(files.migrationLock);
  if (holder === null || holder.purpose?.startsWith('rollback') !== true) return undefined;
  const command = (holder.host === hostname() ? commandLine(holder.pid) : undefined) ?? `deploystate ${holder.purpose}`;
  return { pid: holder.pid, host: holder.host, command, since: holder.since };
}

/** The runner as a message names it. */
export function describeRunner(runner: RollbackRunner): string {
  return `pid ${runner.pid}${runner.host === hostname() ? '' : ` on ${runner.host}`} (${runner.command}), running since ${runner.since}`;
}
