// The drill's scratch copy of the user's data: the deployments folder (without the JSON backend's
// own `.deploystate` working folder of locks, temp files and backups) and, when a scenario needs
// it, a consistent snapshot of the LevelDB folder. The originals are only ever read.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { LockWait } from '@deploystate/backend-leveldb';
import { dropRemovalOnInterrupt, ErrorCodes, removeOnInterrupt, StateError } from '@deploystate/core';

/** The JSON backend's working folder inside deployments/ (locks, temp files, backups). */
const BACKEND_DIR = '.deploystate';

export interface DrillSources {
  deployments: string;
  leveldb: string;
}

export interface Workspace {
  root: string;
  deployments: string;
  /** The LevelDB snapshot, when asked for and the original exists. */
  leveldb?: string;
  /** A migration state folder of the copy's own (the factory's json-only state lives here). */
  stateDir: string;
  /** Whether the user's deployments folder existed (a missing one is copied as an empty folder). */
  deploymentsExisted: boolean;
}

async function copyTree(from: string, to: string, top: boolean): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (top && entry.name === BACKEND_DIR) continue;
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory()) await copyTree(source, dest, false);
    else if (entry.isFile()) await copyFile(source, dest);
  }
}

/** Whether a `restore leveldb` is swapping its copy into `leveldb` (or was cut off doing so). */
async function restoreSwapping(leveldb: string): Promise<boolean> {
  const { swapMarkerOf } = await import('@deploystate/backend-leveldb');
  return existsSync(swapMarkerOf(leveldb));
}

/**
 * Copies the user's data into a fresh temp folder. STORE_NOT_FOUND when there is neither a
 * deployments folder nor (when `leveldb` is wanted) a LevelDB folder to drill on.
 */
export async function createWorkspace(
  sources: DrillSources,
  options: { leveldb: boolean; keep?: boolean; lockWait?: LockWait },
): Promise<Workspace> {
  const deploymentsExisted = existsSync(sources.deployments);
  // A folder a restore is swapping in (its marker beside it) is LevelDB all the same: the snapshot
  // waits for the swap, or says the restore is to be run again, never drills without it.
  const leveldbExists = existsSync(join(sources.leveldb, 'CURRENT')) || (options.leveldb && (await restoreSwapping(sources.leveldb)));
  if (!deploymentsExisted && !(options.leveldb && leveldbExists)) {
    throw new StateError(
      ErrorCodes.STORE_NOT_FOUND,
      `no deployments folder at ${sources.deployments}${options.leveldb ? ` and no LevelDB store at ${sources.leveldb}` : ''}`,
      {
        file: sources.deployments,
        hint: 'run it where ./deployments is, pass --deployments <path>, or try it on a sample: `deploystate demo` then `cd deploystate-demo`',
      },
    );
  }
  const root = await mkdtemp(join(tmpdir(), 'deploystate-drill-'));
  // A copy of the user's data: removed if a signal stops the drill first, unless it is to be kept
  // (a drill stopped mid-way is what one keeps a workspace to look at).
  if (!options.keep) removeOnInterrupt(root);
  try {
    const workspace: Workspace = { root, deployments: join(root, 'deployments'), stateDir: join(root, 'state'), deploymentsExisted };
    if (deploymentsExisted) await copyTree(sources.deployments, workspace.deployments, true);
    else await mkdir(workspace.deployments);
    await mkdir(workspace.stateDir);
    if (options.leveldb && leveldbExists) {
      const { snapshotLevelDb } = await import('@deploystate/backend-leveldb');
      workspace.leveldb = join(root, 'leveldb');
      await snapshotLevelDb(sources.leveldb, workspace.leveldb, { ...(options.lockWait !== undefined && { lockWait: options.lockWait }) });
    }
    return workspace;
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    dropRemovalOnInterrupt(root);
    throw error;
  }
}

export async function removeWorkspace(workspace: Workspace): Promise<void> {
  await rm(workspace.root, { recursive: true, force: true });
  dropRemovalOnInterrupt(workspace.root);
}

export const sha256 = (bytes: Buffer | string): string => createHash('sha256').update(bytes).digest('hex');

/** sha256 of every file under `dir` (outside the backend's working folder), by relative path. */
export async function folderDigests(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  const walk = async (folder: string, top: boolean): Promise<void> => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      if (top && entry.name === BACKEND_DIR) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path, false);
      else if (entry.isFile()) out.set(relative(dir, path), sha256(await readFile(path)));
    }
  };
  await walk(dir, true);
  return out;
}

/** Relative paths whose bytes differ (or exist on one side only) between two digest maps. */
export function changedFiles(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}
