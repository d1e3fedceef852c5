// What every migration step works with: the files, the registry, the journal and the two stores
// (opened on demand, closed at the end of each command so LevelDB's lock is given back).
import type { LevelDbStore, LockWait } from '@deploystate/backend-leveldb';
import type { JsonFileStore } from '@deploystate/backend-json';
import type { NetworkRegistry } from '@deploystate/core';
import type { Journal } from './journal.js';
import type { StateFiles } from './paths.js';

export interface MigrationContext {
  files: StateFiles;
  registry: NetworkRegistry;
  journal: Journal;
  now(): number;
  leveldb(): Promise<LevelDbStore>;
  json(): Promise<JsonFileStore>;
  /**
   * How long an open of the live LevelDB waits for another process's lock (default LEVELDB_LOCK_WAIT),
   * and a snapshot of it for a restore's swap of the folder to finish.
   */
  lockWait?: LockWait;
}

/** A snapshot's options for the migration's wait (snapshotWait(ctx) spread into openSnapshot's or snapshotLevelDb's). */
export function snapshotWait(ctx: Pick<MigrationContext, 'lockWait'>): { lockWait?: LockWait } {
  return ctx.lockWait === undefined ? {} : { lockWait: ctx.lockWait };
}

export const isoNow = (ctx: Pick<MigrationContext, 'now'>): string => new Date(ctx.now()).toISOString();
