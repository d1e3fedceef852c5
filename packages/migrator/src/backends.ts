// The one place that constructs the two backends, so the rest of the migrator speaks only
// StateStore. LevelDB is opened with a short idle close: deploy scripts, the CLI and analysis
// take turns on its single-process lock.
import { LevelDbStore, type LockWait } from '@deploystate/backend-leveldb';
import { JsonFileStore } from '@deploystate/backend-json';
import { lockWaitRefused, projectLockWaitMs, type DeploymentRecord, type NetworkRegistry, type StateStore } from '@deploystate/core';
import type { MigrationPaths } from './types.js';

/**
 * How long an idle LevelDB handle stays open. Another store that asks for the database gets it
 * within about 20 ms whatever this is (the holder looks for requests while idle), so it only
 * spares a deploy script that writes every few hundred ms a reopen per put; code that opens
 * LevelDB without asking (the legacy `level` state module) waits up to this long.
 */
export const LEVELDB_IDLE_CLOSE_MS = 1_000;

export interface BackendOptions {
  registry: NetworkRegistry;
  readOnly?: boolean;
  create?: boolean;
  /** JSON only: awaited before each file replacement (see JsonFileStoreOptions.beforeReplace). */
  beforeReplace?: (file: string) => Promise<void>;
  /** JSON only: called once a replacement's data sync has started (see JsonFileStoreOptions.whileSyncing). */
  whileSyncing?: (file: string) => void;
  /** LevelDB only: sync every put, delete and batch (LevelDbStoreOptions.sync). */
  sync?: boolean;
  /** JSON only: see JsonFileStoreOptions.fileFields. */
  fileFields?: () => Readonly<Record<string, unknown>> | undefined;
  /** JSON only: see JsonFileStoreOptions.chainRenamed. */
  chainRenamed?: (chainId?: number) => boolean;
  /** LevelDB only: how long an open waits for another process's lock (default LEVELDB_LOCK_WAIT). */
  lockWait?: LockWait;
}

/** Deploy scripts and the migrator queue for LevelDB's lock; about 15 s before LOCKED (rollback readiness waits as long). */
export const LEVELDB_LOCK_WAIT = { attempts: 80, minDelayMs: 5, maxDelayMs: 200 } as const;

/**
 * The lock wait for `lockWaitMs` (the option, else DEPLOYSTATE_LOCK_WAIT_MS in `env`; a caller that
 * reads deploystate.config.json passes its `lockWaitMs` as the option when neither is set, see
 * withProjectConfig): the default back-off, with as many tries as it takes to wait at least that
 * long (0: one try, no wait). Unset: LEVELDB_LOCK_WAIT. Not a whole number of milliseconds:
 * INVALID_ARGUMENT naming it.
 */
export function leveldbLockWait(lockWaitMs: number | undefined, env: NodeJS.ProcessEnv = {}): LockWait {
  const ms = projectLockWaitMs(lockWaitMs, env, undefined);
  if (ms === undefined) return LEVELDB_LOCK_WAIT;
  if (!Number.isSafeInteger(ms) || ms < 0) throw lockWaitRefused('lockWaitMs', String(lockWaitMs));
  // The back-off doubles up to maxDelayMs, then tries every maxDelayMs: count the ramp, then divide.
  let attempts = 1;
  let waited = 0;
  for (let delay = LEVELDB_LOCK_WAIT.minDelayMs; waited < ms && delay < LEVELDB_LOCK_WAIT.maxDelayMs; delay *= 2) {
    waited += delay;
    attempts++;
  }
  if (waited < ms) attempts += Math.ceil((ms - waited) / LEVELDB_LOCK_WAIT.maxDelayMs);
  return { ...LEVELDB_LOCK_WAIT, attempts };
}

export function levelDbStore(paths: MigrationPaths, options: BackendOptions): LevelDbStore {
  return new LevelDbStore({
    path: paths.leveldb,
    create: options.create ?? false,
    readOnly: options.readOnly ?? false,
    idleCloseMs: LEVELDB_IDLE_CLOSE_MS,
    lockWait: options.lockWait ?? LEVELDB_LOCK_WAIT,
    registry: options.registry,
    ...(options.sync === true && { sync: true }),
  });
}

export function jsonStore(paths: MigrationPaths, options: BackendOptions): JsonFileStore {
  return new JsonFileStore({
    dir: paths.deployments,
    create: options.create ?? false,
    // Other processes write these files too: the cache re-checks each file's stat before every
    // read and the bytes when the stat is racy, so their completed writes are always seen (proven
    // across processes in backend-json's cache test); a read costs a stat, not a parse.
    cache: true,
    registry: options.registry,
    ...(options.beforeReplace && { beforeReplace: options.beforeReplace }),
    ...(options.whileSyncing && { whileSyncing: options.whileSyncing }),
    ...(options.chainRenamed && { chainRenamed: options.chainRenamed }),
    ...(options.fileFields && { fileFields: options.fileFields }),
  });
}

/**
 * Whether a read from this store right now touches only what this process already holds: a
 * LevelDB store only while its handle is open (else the read would reopen it and may wait for,
 * or take, another process's lock); a file or memory store always.
 */
export function readsWithoutOpening(store: StateStore): boolean {
  return store instanceof LevelDbStore ? store.holdsLock : store.status === 'open';
}

/** Whether the JSON store read the chain's file (with no chain: any file) beside git (JsonFileStore.loadedBesideGit). */
export function loadedBesideGit(store: StateStore, chainId?: number): boolean {
  return store instanceof JsonFileStore && store.loadedBesideGit(chainId);
}

/**
 * A read this store can answer from memory right now, synchronously: a JSON store's cached file
 * that one stat shows unchanged (the record, or null when absent). undefined when only its get()
 * can answer: another kind of store, a file not cached or changed, or an entry that get() reports
 * as an error (so the error comes from get(), on a route the caller has confirmed).
 */
export function readFromMemory(store: StateStore, chainId: number, contractName: string): DeploymentRecord | null | undefined {
  if (!(store instanceof JsonFileStore)) return undefined;
  try {
    return store.getCached(chainId, contractName);
  } catch {
    return undefined;
  }
}
