// A project's own store as the bench's data: its LevelDB and deployments folders are copied into a
// temp folder first (opening a LevelDB rewrites its files, so the originals are only ever read by
// the copy), the records are read from the copy, and every suite then measures those records.
import { existsSync } from 'node:fs';
import { cp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeploymentRecord, StateStore } from '@deploystate/core';
import { makeTempDir, removeTempDir } from './harness.js';
import { loadBackend, type BackendName } from './loaders.js';

/** The folders to measure (`--from-leveldb`, `--from-deployments`), as the project configures them. */
export interface ProjectFolders {
  leveldb?: string;
  deployments?: string;
}

export interface ProjectRecords {
  records: DeploymentRecord[];
  /** Which copy the records came from: the LevelDB while it holds any, else the JSON files. */
  source: BackendName;
  /** Entries that are not records (legacy junk): left out, counted. */
  invalid: number;
}

export interface ProjectCopy extends ProjectRecords {
  /** The temp folder holding `leveldb/` and `deployments/` copies. */
  root: string;
  dispose(): Promise<void>;
}

export class ProjectStoreError extends Error {}

async function hasFiles(dir: string): Promise<boolean> {
  return existsSync(dir) && (await readdir(dir)).length > 0;
}

async function readAll(store: StateStore): Promise<{ records: DeploymentRecord[]; invalid: number }> {
  const records: DeploymentRecord[] = [];
  let invalid = 0;
  await store.open();
  try {
    for await (const entry of store.iterate({ onInvalid: () => void invalid++ })) records.push(entry.record);
  } finally {
    await store.close();
  }
  return { records, invalid };
}

/**
 * Reads the records of a copy made by `copyProjectStore` (`<root>/leveldb`, `<root>/deployments`).
 * The memory worker calls it too, so a child process measures the same records.
 */
export async function readProjectRecords(root: string): Promise<ProjectRecords> {
  for (const name of ['leveldb', 'json'] as const) {
    const folder = join(root, name === 'leveldb' ? 'leveldb' : 'deployments');
    if (!(await hasFiles(folder))) continue;
    const backend = await loadBackend(name);
    if (!backend.ok) throw new ProjectStoreError(backend.reason);
    const { records, invalid } = await readAll(backend.value.create(root, false));
    if (records.length > 0) return { records, source: name, invalid };
  }
  throw new ProjectStoreError('no deployment records in the LevelDB or the deployments folder: nothing of yours to measure');
}

/** Copies the project's folders into a fresh temp folder and reads the records from the copy. */
export async function copyProjectStore(folders: ProjectFolders): Promise<ProjectCopy> {
  const given = Object.values(folders).filter((f): f is string => f !== undefined);
  if (!given.some((f) => existsSync(f))) throw new ProjectStoreError(`neither folder exists: ${given.join(', ')}`);
  const root = await makeTempDir('project');
  try {
    for (const [name, from] of [
      ['leveldb', folders.leveldb],
      ['deployments', folders.deployments],
    ] as const) {
      // The LevelDB LOCK file is copied as an empty file: the copy never waits on a running deploy script.
      if (from !== undefined && existsSync(from)) await cp(from, join(root, name), { recursive: true });
    }
    const read = await readProjectRecords(root);
    return { ...read, root, dispose: () => removeTempDir(root) };
  } catch (error) {
    await removeTempDir(root);
    throw error;
  }
}
