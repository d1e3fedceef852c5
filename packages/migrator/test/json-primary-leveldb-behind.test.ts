// In json-primary a crash that lost LevelDB's last writes, or a git merge that brought a record
// into a network file alone, leaves LevelDB differing from JSON. No command of the phase copies
// JSON to LevelDB, so verify failed and the cut-over's gate said "satisfy fresh clean verify first
// (see status)", which status could not help with. Verify and the gate now name the way out, and
// following it gives a clean verify.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { ErrorCodes, sampleRecord, type StateError } from '@deploystate/core';
import { COPY_NOT_COMPLETED, JSON_NOT_KEPT_IN_LEVELDB_ONLY, LEVELDB_BEHIND_JSON } from '../src/command-gates.js';
import { Migration } from '../src/index.js';
import { acknowledgeAll, demoMigration, runNode, seedLevelDb, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-json-primary-leveldb-behind-');

describe('json-primary with LevelDB behind JSON', () => {
  it('verify and the cut-over name the rollback that makes LevelDB equal JSON; followed, verify is clean', async () => {
    const dir = join(tempDir(), 'project');
    await (await demoMigration(dir, 'json-primary')).close();
    const leveldb = new LevelDbStore({ path: join(dir, 'leveldb') });
    await leveldb.open();
    const [lost] = await leveldb.list(97);
    await leveldb.delete(97, lost?.contractName as string);
    await leveldb.close();

    const migration = await Migration.open({ cwd: dir });
    try {
      const verify = await migration.verify();
      expect(verify.clean).toBe(false);
      expect(verify.next).toBe(LEVELDB_BEHIND_JSON);
      const refused = (await migration.cutover({ acknowledge: await acknowledgeAll(migration) }).catch((error: unknown) => error)) as StateError;
      expect(refused.code).toBe(ErrorCodes.GATE_FAILED);
      expect(refused.hint).toBe(LEVELDB_BEHIND_JSON);
      await migration.rollback();
      await migration.enableDualWrite();
      await migration.migrate();
      const again = await migration.verify();
      expect(again.clean).toBe(true);
      expect(again.next).toBeUndefined();
    } finally {
      await migration.close();
    }
  }, 60_000);

  // The rollback makes LevelDB equal JSON, deleting what only LevelDB holds: never advised then.
  it('names no rollback when LevelDB holds a record JSON lacks', async () => {
    const dir = join(tempDir(), 'leveldb-ahead');
    await (await demoMigration(dir, 'json-primary')).close();
    await seedLevelDb(dir, [sampleRecord(97, 'OnlyInLevelDb', 'bsctestnet')]);
    const migration = await Migration.open({ cwd: dir });
    try {
      const verify = await migration.verify();
      expect(verify.clean).toBe(false);
      expect(verify.next).toBeUndefined();
    } finally {
      await migration.close();
    }
  }, 60_000);
});

// After a rollback JSON is not kept equal to LevelDB, and in dual-write before the copy the copy's
// work shows as differences: verify said "not clean: 13 differences" and no more (a kill probe ran
// it after every rollback). It names the phase's reason and the way to a clean verify.
describe('verify where the phase explains the differences', () => {
  it('names, in leveldb-only after a rollback and in dual-write before the copy, the steps that make it clean; followed, it is', async () => {
    const dir = join(tempDir(), 'rolled-back');
    const migration = await demoMigration(dir, 'json-primary');
    try {
      await migration.rollback();
      expect((await migration.verify()).next).toBeUndefined();
      const put = await runNode('put-one.mjs', [dir, '97', 'AfterRollback', 'bsctestnet']).done;
      expect(put.code, put.stderr).toBe(0);
      const inLevelDbOnly = await migration.verify();
      expect(inLevelDbOnly.clean).toBe(false);
      expect(inLevelDbOnly.next).toBe(JSON_NOT_KEPT_IN_LEVELDB_ONLY);
      await migration.enableDualWrite();
      const beforeCopy = await migration.verify();
      expect(beforeCopy.clean).toBe(false);
      expect(beforeCopy.next).toBe(COPY_NOT_COMPLETED);
      await migration.migrate();
      const after = await migration.verify();
      expect(after.clean).toBe(true);
      expect(after.next).toBeUndefined();
    } finally {
      await migration.close();
    }
  }, 60_000);
});
