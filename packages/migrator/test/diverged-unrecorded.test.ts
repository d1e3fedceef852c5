// A json-primary write that diverged (LevelDB refused it and the JSON write could not be undone) on a
// disk too full for state.json to record the mark. Before (1 of 1 runs, real full-disk failures
// injected with strace and a rename that fails): the script got state.json's DISK_FULL, "the previous
// file is intact", though its record was in JSON and not in LevelDB, and status showed no divergence.
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, sampleRecord, StateError, type CheckedRecord } from '@deploystate/core';
import { createStateStore, Migration, type MigrationStateStore } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';
import { sidesOf } from './put-many-helpers.js';

// While `on`, every write of state.json fails as a full disk fails it.
const stateFull = vi.hoisted(() => ({ on: false }));
vi.mock('../src/state.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/state.js')>();
  return {
    ...real,
    updateState: (...args: Parameters<typeof real.updateState>) => {
      if (stateFull.on) return Promise.reject(new StateError(ErrorCodes.DISK_FULL, 'could not write state.json: ENOSPC'));
      return real.updateState(...args);
    },
  };
});

const tempDir = useTempDir('migrator-diverged-unrecorded-');

/** The store's LevelDB batches of chain 56 fail, and so does the undo of its JSON write. */
function failBothSidesOf56(store: MigrationStateStore): void {
  const { leveldb, json } = sidesOf(store);
  const putMany = leveldb.putManyChecked.bind(leveldb);
  leveldb.putManyChecked = async (checked: readonly CheckedRecord[]) => {
    if (checked[0]?.chainId !== 56) return putMany(checked);
    throw new StateError(ErrorCodes.DISK_FULL, 'disk full writing LevelDB');
  };
  const swapMany = json.swapMany.bind(json);
  json.swapMany = async (...args) => {
    if (args[0] === 56) throw new StateError(ErrorCodes.DISK_FULL, 'disk full writing the undo');
    return swapMany(...args);
  };
}

describe('a divergence state.json cannot record', () => {
  it('is DIVERGED to the script and shown by status, until a clean verify', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-primary')).close();
    const store = createStateStore({ cwd: dir, env: {} });
    failBothSidesOf56(store);
    stateFull.on = true;
    try {
      // Its hint gives the way out that works: verify alone never clears it, a write of the key again does.
      await expect(store.putMany([sampleRecord(56, 'Stuck', 'bscmainnet', 1)])).rejects.toMatchObject({
        code: 'DIVERGED',
        key: '56-Stuck',
        hint: expect.stringContaining('write the key again through the store'),
      });
    } finally {
      stateFull.on = false;
      await store.close();
    }
    const migration = await Migration.open({ cwd: dir });
    try {
      const status = await migration.status();
      expect(status.state.diverged).toBe(false);
      expect(status.diverged).toBe(true);
      expect(status.divergedUnrecorded).toMatchObject({ key: '56-Stuck' });
      expect(status.next.find((n) => n.command === 'cutover')).toMatchObject({ ready: false });
      // The script run again with room: both sides hold the record, and a clean verify clears it.
      const again = createStateStore({ cwd: dir, env: {} });
      try {
        await again.putMany([sampleRecord(56, 'Stuck', 'bscmainnet', 1)]);
      } finally {
        await again.close();
      }
      expect((await migration.verify()).clean).toBe(true);
      expect((await migration.status()).diverged).toBe(false);
    } finally {
      await migration.close();
    }
  });
});
