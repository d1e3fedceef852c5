// A json-primary put that JSON took and LevelDB refused, whose undo failed too, on a disk too full
// for state.json to take a mark. Before (real full-disk failures, and a probe on a 2 MB tmpfs): the
// script got DIVERGED, and the mark stayed until the key was written again, which a deploy script
// that finds the contract in JSON never does; verify never cleared it. The write now stands in JSON
// (which deploy scripts read) and stays open in the journal, as a write cut off between the two sides:
// no mark to record, verify counts it pending, and the cut-over writes it to LevelDB first.
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, sampleRecord, StateError, type CheckedRecord, type DeploymentRecord } from '@deploystate/core';
import { createStateStore, Migration, type MigrationStateStore } from '../src/index.js';
import { acknowledgeAll, demoMigration, sidesDiffer, useTempDir } from './helpers.js';
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

/** The store's LevelDB puts of chain 56 fail on a full disk, and so does the undo of its JSON write. */
function failBothSidesOf56(store: MigrationStateStore): void {
  const { leveldb, json } = sidesOf(store);
  const putChecked = leveldb.putChecked.bind(leveldb);
  leveldb.putChecked = async (checked: CheckedRecord) => {
    if (checked.chainId !== 56) return putChecked(checked);
    throw new StateError(ErrorCodes.DISK_FULL, 'disk full writing LevelDB', { file: 'leveldb' });
  };
  const swap = json.swap.bind(json);
  json.swap = async (chainId: number, contractName: string, next: DeploymentRecord | null, options?: Parameters<typeof swap>[3]) => {
    if (chainId === 56) throw new StateError(ErrorCodes.DISK_FULL, 'disk full writing the undo');
    return swap(chainId, contractName, next, options);
  };
}

describe('a json-primary put left in JSON by a full disk', () => {
  it("is LevelDB's DISK_FULL saying where the write stands, pending for verify, never diverged, and the cut-over completes it", async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-primary')).close();
    const store = createStateStore({ cwd: dir, env: {} });
    failBothSidesOf56(store);
    stateFull.on = true;
    try {
      const error = await store.put(sampleRecord(56, 'Stuck', 'bscmainnet', 1)).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DISK_FULL', key: '56-Stuck', file: 'leveldb' });
      expect(String((error as Error).message)).toContain(
        'it stands in JSON, which deploy scripts read, and LevelDB gets it at the cut-over',
      );
      // A deploy script finds it, as it will find it from now on.
      expect(await store.getContract(56, 'Stuck')).toMatchObject({ contractName: 'Stuck' });
    } finally {
      stateFull.on = false;
      await store.close();
    }
    const migration = await Migration.open({ cwd: dir });
    try {
      const status = await migration.status();
      expect(status.diverged).toBe(false);
      expect(status.divergedUnrecorded).toBeUndefined();
      const verify = await migration.verify();
      expect(verify.clean).toBe(true);
      expect(verify.comparison.pending).toEqual(['56-Stuck']);
      const cut = await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
      expect(cut.completed).toEqual(['56-Stuck']);
      expect(await sidesDiffer(dir)).toEqual({ onlyLeft: [], onlyRight: [], differing: [] });
    } finally {
      await migration.close();
    }
  });
});
