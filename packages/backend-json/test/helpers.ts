import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { promisify } from 'node:util';
import { afterEach, vi } from 'vitest';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { JsonFileStore, type JsonFileStoreOptions } from '../src/index.js';

export function rec(chainId: number, contractName: string, overrides: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return { ...sampleRecord(chainId, contractName, chainId === 56 ? 'bscmainnet' : `chain-${chainId}`), ...overrides };
}

/** A fresh folder and an open store over it; `done` closes every store and removes the folder. */
export interface StoreContext {
  dir: string;
  store: JsonFileStore;
  /** Opens another store over the same folder (closed by `done`). */
  open(extra?: Partial<JsonFileStoreOptions>): Promise<JsonFileStore>;
  done(): Promise<void>;
}

export async function withStore(options: Partial<JsonFileStoreOptions> = {}): Promise<StoreContext> {
  const dir = await makeTempDir('deploystate-json-');
  const stores: JsonFileStore[] = [];
  const open = async (extra: Partial<JsonFileStoreOptions> = {}): Promise<JsonFileStore> => {
    const store = new JsonFileStore({ dir, ...options, ...extra });
    stores.push(store);
    await store.open();
    return store;
  };
  const store = await open();
  return {
    dir,
    store,
    open,
    async done() {
      for (const s of stores) await s.close();
      await removeTempDir(dir);
    },
  };
}

/**
 * Registers an afterEach that closes and removes whatever the test set up, and returns `setup`:
 * withStore, cleaned up after the test even when it fails.
 */
export function storePerTest(): (options?: Partial<JsonFileStoreOptions>) => Promise<StoreContext> {
  const pending: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const done of pending.splice(0)) await done();
  });
  return async (options = {}) => {
    const ctx = await withStore(options);
    pending.push(ctx.done);
    return ctx;
  };
}

/** A small seeded generator (mulberry32): a failure names its seed and replays exactly. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `work` with the clock 11 minutes ahead: the open's sweep removes a dead writer's temp file
 * only once it is that old (a pid that looks dead from here may be a live writer in another pid
 * namespace sharing the folder). The files' own times are left alone: a temp file a killed writer
 * had already linked among the backups shares its inode, and its mtime tells the backup intact.
 */
export async function withClockAhead<T>(work: () => Promise<T>): Promise<T> {
  const ahead = Date.now() + 11 * 60_000;
  const clock = vi.spyOn(Date, 'now').mockImplementation(() => ahead);
  try {
    return await work();
  } finally {
    clock.mockRestore();
  }
}

/**
 * Runs `work` while `dir` refuses new entries, as a read-only folder or a remount does: an
 * immutable folder for root (whom permission bits do not stop), else one without write permission.
 * Its subfolders (the temp files, locks and backups in `.deploystate/`) stay writable.
 */
export async function refusingEntries<T>(dir: string, work: () => Promise<T>): Promise<T> {
  const root = process.getuid?.() === 0;
  if (root) await promisify(execFile)('chattr', ['+i', dir]);
  else await chmod(dir, 0o555);
  try {
    return await work();
  } finally {
    if (root) await promisify(execFile)('chattr', ['-i', dir]);
    else await chmod(dir, 0o755);
  }
}
