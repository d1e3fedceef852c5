// The stores a command opens on one side directly, outside the migration's own context: export and
// import, restore, the read-only commands and the drills. Built here, beside backends.ts, so the
// CLI asks for a store by what it is for and never sets a backend's constructor options itself.
import { JsonFileStore } from '@deploystate/backend-json';
import { LevelDbStore, openSnapshot, type LevelDbStoreOptions, type LockWait } from '@deploystate/backend-leveldb';
import type { NetworkRegistry, StateStore } from '@deploystate/core';
import type { Side } from './routing.js';
import type { MigrationPaths } from './types.js';

export type StoreFolders = Pick<MigrationPaths, 'leveldb' | 'deployments'>;

export interface SideStoreOptions {
  registry: NetworkRegistry;
  /** Open for writing, creating the store when missing (import); default read-only (export). */
  write?: boolean;
  /** LevelDB only: how long to wait for another process's lock; default the backend's (about 10 s). */
  lockWait?: LevelDbStoreOptions['lockWait'];
}

/**
 * One side for a command that reads or writes it whole (export, import): LevelDB read-only unless
 * `write`, letting its lock go as soon as it is idle; the JSON files through the cached store.
 */
export function sideStore(folders: StoreFolders, side: Side, options: SideStoreOptions): StateStore {
  const write = options.write ?? false;
  if (side === 'leveldb') {
    return new LevelDbStore({
      path: folders.leveldb,
      readOnly: !write,
      create: write,
      // What a command writes to LevelDB (import) is synced, as the migration's own store is.
      sync: write,
      registry: options.registry,
      idleCloseMs: 0,
      ...(options.lockWait !== undefined && { lockWait: options.lockWait }),
    });
  }
  return new JsonFileStore({ dir: folders.deployments, create: write, registry: options.registry });
}

/** The deployments folder's own store, for what only files have: their paths, backups and restore. */
export function networkFilesStore(folders: Pick<StoreFolders, 'deployments'>, registry: NetworkRegistry): JsonFileStore {
  return new JsonFileStore({ dir: folders.deployments, registry });
}

/**
 * A JSON store over `dir` that reads the files on every call (no cache), for checks that damage
 * files or race other writers and must see the disk as it is (the drills and their child writer).
 * `lockWaitMs`: how long a write waits for another process's lock before LOCKED.
 */
export function uncachedJsonStore(dir: string, registry: NetworkRegistry, options: { lockWaitMs?: number } = {}): JsonFileStore {
  return new JsonFileStore({
    dir,
    cache: false,
    registry,
    ...(options.lockWaitMs !== undefined && { lockWait: { timeoutMs: options.lockWaitMs } }),
  });
}

/** A LevelDB store opened read-only that gives its lock back as soon as it is idle. */
export function readOnlyLevelDbStore(path: string, registry: NetworkRegistry): LevelDbStore {
  return new LevelDbStore({ path, readOnly: true, idleCloseMs: 0, registry });
}

export interface ReadOnlySide {
  /** Open, read-only. */
  store: StateStore;
  /** The user's folder it reads (the store itself may read a copy). */
  location: string;
  /** Closes the store and removes any copy. */
  dispose(): Promise<void>;
}

/**
 * One side opened for a command that must leave a committed store byte-identical: LevelDB through
 * a snapshot copy in a temp folder (opening the live folder rewrites its log and MANIFEST), the
 * deployments folder through a JSON store that creates and writes nothing.
 */
export async function openSideForReading(folders: StoreFolders, side: Side, registry: NetworkRegistry, lockWait?: LockWait): Promise<ReadOnlySide> {
  if (side === 'leveldb') {
    // `lockWait`: how long the snapshot waits for a restore's swap of the folder to finish.
    const snapshot = await openSnapshot(folders.leveldb, { registry, ...(lockWait !== undefined && { lockWait }) });
    return { store: snapshot.store, location: folders.leveldb, dispose: () => snapshot.dispose() };
  }
  const store = new JsonFileStore({ dir: folders.deployments, readOnly: true, registry });
  await store.open();
  return { store, location: folders.deployments, dispose: () => store.close() };
}
