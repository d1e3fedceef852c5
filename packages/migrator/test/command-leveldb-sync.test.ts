// What a command writes to LevelDB (a rollback's carry-back above all) is synced before the phase
// switches to read it: unsynced, a power cut right after a rollback could take carried-back
// records from LevelDB while phase.json already sends deploy scripts there (disk probe).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LevelDbStore } from '@deploystate/backend-leveldb';
import type { MigrationContext } from '../src/context.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-command-leveldb-sync-');

describe("a command's LevelDB store", () => {
  it('syncs every write', async () => {
    const migration = await demoMigration(join(tempDir(), 'project'), 'dual-write');
    try {
      const leveldb = (await (migration as unknown as { ctx: MigrationContext }).ctx.leveldb()) as LevelDbStore;
      expect(leveldb.sync).toBe(true);
    } finally {
      await migration.close();
    }
  });
});
