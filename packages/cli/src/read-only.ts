// Reads for commands that must leave a committed store byte-identical: one side through the
// migrator's read-only opening, or the whole project copied into a temp folder for a probe.
import { cp, mkdir, rm, stat } from 'node:fs/promises';
import { isStateError, parseKey, StateError, tempFolderRemovedOnInterrupt, type DeploymentRecord } from '@deploystate/core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LockWait } from '@deploystate/backend-leveldb';
import type { ReadOnlySide } from '@deploystate/migrator';
import type { Context } from './context.js';

/**
 * The wait every LevelDB store and snapshot a command opens itself uses (its migration's get it
 * through Context.migrationOptions): DEPLOYSTATE_LOCK_WAIT_MS, else the config's `lockWaitMs`, as
 * the migrator's schedule. The migrator loads only when a command gets here.
 */
export async function commandLockWait(ctx: Context): Promise<LockWait> {
  const { leveldbLockWait } = await import('@deploystate/migrator');
  return leveldbLockWait(ctx.lockWaitMs());
}

/** LevelDB through a snapshot copy, the deployments folder through a JSON store that writes nothing. */
export async function openSideForReading(ctx: Context, side: 'leveldb' | 'json'): Promise<ReadOnlySide> {
  const { openSideForReading: open } = await import('@deploystate/migrator');
  return open(ctx.paths, side, ctx.registry(), await commandLockWait(ctx));
}

/**
 * The records under `keys` as the JSON side holds them, else as LevelDB does (each side opened once,
 * read from copies: nothing changes); a key in neither is not in the map.
 */
export async function currentRecords(ctx: Context, keys: readonly string[]): Promise<Map<string, DeploymentRecord>> {
  const found = new Map<string, DeploymentRecord>();
  for (const side of ['json', 'leveldb'] as const) {
    const left = keys.filter((key) => !found.has(key));
    if (left.length === 0) break;
    const opened = await openSideForReading(ctx, side).catch(() => null);
    if (!opened) continue;
    try {
      for (const key of left) {
        const { chainId, contractName } = parseKey(key);
        const record = await opened.store.get(chainId, contractName);
        if (record) found.set(key, record);
      }
    } finally {
      await opened.dispose();
    }
  }
  return found;
}

/**
 * Names the user's files, not a copy's: a path into the copy (removed when the work ends) reads as
 * the original it was copied from, so a finding or an error points at the file to fix.
 */
export function namedAsOriginals(pairs: Array<[copy: string, original: string]>): (text: string) => string {
  return (text) => pairs.reduce((named, [copy, original]) => named.split(copy).join(original), text);
}

/** The same error, naming the originals (namedAsOriginals). */
export function withOriginals(error: unknown, names: (text: string) => string): unknown {
  if (!isStateError(error)) return error;
  return new StateError(error.code, names(error.message), {
    ...(error.file !== undefined && { file: names(error.file) }),
    ...(error.key !== undefined && { key: error.key }),
    ...(error.position !== undefined && { position: error.position }),
    ...(error.hint !== undefined && { hint: names(error.hint) }),
    ...(error.data !== undefined && { data: error.data }),
    cause: error,
  });
}

export interface ProjectCopy {
  /** Options for createStateStore over the copy, in the same phase as the project. */
  options: { leveldb: string; deployments: string; stateDir: string; registry: ReturnType<Context['registry']> };
  /** A text (a detail, an error's message) naming the project's files instead of the copy's. */
  names(text: string): string;
  dispose(): Promise<void>;
}

/**
 * The project's stores copied into a temp folder (LevelDB by snapshot, the deployments folder and
 * the migration state as files), so a probe can open the factory's store as deploy scripts would
 * without a byte of the project changing.
 */
export async function copyProject(ctx: Context, stateDir: string): Promise<ProjectCopy> {
  // A copy of the whole project: removed if a signal stops the process first.
  const { path: root, drop: dropCleanup } = tempFolderRemovedOnInterrupt(join(tmpdir(), 'deploystate-probe-copy-'));
  const remove = async (): Promise<void> => {
    await rm(root, { recursive: true, force: true });
    dropCleanup();
  };
  const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);
  try {
    const leveldb = join(root, 'leveldb');
    const deployments = join(root, 'deployments');
    const state = join(root, 'state');
    if (await exists(join(ctx.paths.leveldb, 'CURRENT'))) {
      const { snapshotLevelDb } = await import('@deploystate/backend-leveldb');
      await snapshotLevelDb(ctx.paths.leveldb, leveldb, { lockWait: await commandLockWait(ctx) });
    }
    if (await exists(ctx.paths.deployments))
      await cp(ctx.paths.deployments, deployments, { recursive: true, filter: (src) => src !== join(ctx.paths.deployments, '.deploystate') });
    else await mkdir(deployments);
    if (await exists(stateDir))
      await cp(stateDir, state, { recursive: true, filter: (src) => !/[\\/](backups|reports|tmp)$/.test(src) && !src.endsWith('.lock') });
    else await mkdir(state);
    return {
      options: { leveldb, deployments, stateDir: state, registry: ctx.registry() },
      names: namedAsOriginals([
        [deployments, ctx.paths.deployments],
        [leveldb, ctx.paths.leveldb],
        [state, stateDir],
      ]),
      dispose: remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}
