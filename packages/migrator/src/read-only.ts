// What read-only commands read: LevelDB through a consistent snapshot copy in a temp folder (opening
// the live folder rewrites its log and MANIFEST), and the deployments folder through a JSON store
// that creates and prepares nothing. A store committed to git stays byte-identical.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonFileStore } from '@deploystate/backend-json';
import { openSnapshot, type LevelDbStore, type LockWait, type OpenedSnapshot } from '@deploystate/backend-leveldb';
import type { NetworkRegistry } from '@deploystate/core';
import type { MigrationPaths } from './types.js';

export class ReadOnlySides {
  private snapshot: Promise<OpenedSnapshot> | undefined;
  private jsonStore: JsonFileStore | undefined;
  private emptyDir: string | undefined;

  /** `lockWait`: how long the snapshot waits for a restore's swap of the folder to finish (the migration's LevelDB lock wait). */
  constructor(
    private readonly paths: MigrationPaths,
    private readonly registry: NetworkRegistry,
    private readonly lockWait?: LockWait,
  ) {}

  /** A read-only store over a fresh snapshot of the LevelDB folder (taken once per command). */
  async leveldb(): Promise<LevelDbStore> {
    this.snapshot ??= openSnapshot(this.paths.leveldb, { registry: this.registry, ...(this.lockWait !== undefined && { lockWait: this.lockWait }) });
    const opened = await this.snapshot.catch((error: unknown) => {
      this.snapshot = undefined;
      throw error;
    });
    if (opened.store.status !== 'open') await opened.store.open();
    return opened.store;
  }

  /** A JSON store that never writes; a missing deployments folder reads as an empty one (a temp folder). */
  async json(): Promise<JsonFileStore> {
    if (!this.jsonStore) {
      let dir = this.paths.deployments;
      const exists = await stat(dir).then(
        (info) => info.isDirectory(),
        () => false,
      );
      if (!exists) dir = this.emptyDir = await mkdtemp(join(tmpdir(), 'deploystate-empty-deployments-'));
      this.jsonStore = new JsonFileStore({ dir, readOnly: true, cache: false, registry: this.registry });
    }
    if (this.jsonStore.status !== 'open') await this.jsonStore.open();
    return this.jsonStore;
  }

  /** Closes both stores and removes the snapshot and any temp folder. */
  async close(): Promise<void> {
    const snapshot = this.snapshot;
    this.snapshot = undefined;
    try {
      await this.jsonStore?.close();
      if (snapshot) await (await snapshot.catch(() => undefined))?.dispose();
    } finally {
      this.jsonStore = undefined;
      if (this.emptyDir) await rm(this.emptyDir, { recursive: true, force: true });
      this.emptyDir = undefined;
    }
  }
}
