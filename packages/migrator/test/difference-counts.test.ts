// compare and verify count every difference of each kind, however many there are: only the lists
// of them are capped (maxDetails, memory bounded), and a capped result says so (`truncated`).
// Before, the counts were the lists' lengths, so a store with more differences than the cap
// reported the cap (verify's evidence said 1000 differences where there were 4012).
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord, type DeploymentRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { DEFAULT_MAX_DETAILS, Migration, type SideComparison } from '../src/index.js';
import { demoMigration, putThroughStore, seedLevelDb, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-difference-counts-');

const listedCount = (c: SideComparison): number => c.onlyLeft.length + c.onlyRight.length + c.differing.length;

describe('difference counts past the cap', () => {
  it('compare counts every record the copy has still to make, with a cap of 5 listing 5 and saying so', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const capped = await migration.compare({ maxDetails: 5 });
    expect(capped.left.count).toBeGreaterThan(5);
    expect(capped.counts).toEqual({ onlyLeft: capped.left.count, onlyRight: 0, differing: 0 });
    expect(capped.onlyLeft).toHaveLength(5);
    expect(capped.truncated).toBe(true);
    const whole = await migration.compare();
    expect(whole.counts).toEqual(capped.counts);
    expect(whole.onlyLeft).toHaveLength(whole.left.count);
    expect(whole.truncated).toBe(false);
    await migration.close();
  });

  it('compare counts each kind exactly after the copy: a network file gone, a record changed, one only in JSON', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    await rm(join(migration.paths.deployments, 'bsctestnet.json'));
    await migration.close();
    // Behind the store's back, in LevelDB alone: one bscmainnet record changed, another deleted (only in JSON now).
    const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), idleCloseMs: 0 });
    await leveldb.open();
    const [changed, deleted] = await leveldb.list(56);
    await leveldb.put({ ...(changed as DeploymentRecord), address: `0x${'ab'.repeat(20)}` });
    await leveldb.delete(56, (deleted as DeploymentRecord).contractName);
    const gone = (await leveldb.list(97)).length;
    await leveldb.close();

    const reopened = await Migration.open({ cwd: dir });
    const whole = await reopened.compare();
    expect(gone).toBeGreaterThan(3);
    expect(whole.counts).toEqual({ onlyLeft: gone, onlyRight: 1, differing: 1 });
    expect(whole.truncated).toBe(false);
    const capped = await reopened.compare({ maxDetails: 3 });
    expect(capped.counts).toEqual(whole.counts);
    expect(capped.truncated).toBe(true);
    expect(listedCount(capped)).toBe(3);
    expect(capped.equal).toBe(false);
    await reopened.close();
  });

  it('json-only: writes since the cut-over come off the counts as they come off the lists; one past the cap stays counted', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    for (const name of ['AfterA', 'AfterB', 'AfterC']) await putThroughStore(dir, sampleRecord(97, name, 'bsctestnet', 7));
    const whole = await migration.compare();
    expect(whole.writtenSinceCutover).toEqual(['97-AfterA', '97-AfterB', '97-AfterC']);
    expect(whole.counts).toEqual({ onlyLeft: 0, onlyRight: 0, differing: 0 });
    expect(whole.equal).toBe(true);
    // Listed, a difference is checked against the journal; past the cap it cannot be, and is still counted.
    const capped = await migration.compare({ maxDetails: 1 });
    expect(capped.writtenSinceCutover).toEqual(['97-AfterA']);
    expect(capped.counts).toEqual({ onlyLeft: 0, onlyRight: 2, differing: 0 });
    expect(capped.truncated).toBe(true);
    expect(capped.equal).toBe(false);
    await migration.close();
  });

  it(`verify counts all ${DEFAULT_MAX_DETAILS + 150} records only in LevelDB in its evidence, past the ${DEFAULT_MAX_DETAILS} it lists`, async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    await migration.close();
    // Records LevelDB got behind the store's back after the copy: only in LevelDB.
    const extra: DeploymentRecord[] = [];
    for (let i = 0; i < DEFAULT_MAX_DETAILS + 150; i++) extra.push(sampleRecord(56, `Extra${i}`, 'bscmainnet', i));
    await seedLevelDb(dir, extra);
    const reopened = await Migration.open({ cwd: dir });
    const verify = await reopened.verify();
    expect(verify.clean).toBe(false);
    expect(verify.comparison.counts).toEqual({ onlyLeft: DEFAULT_MAX_DETAILS + 150, onlyRight: 0, differing: 0 });
    expect(verify.comparison.truncated).toBe(true);
    expect(verify.comparison.onlyLeft).toHaveLength(DEFAULT_MAX_DETAILS);
    expect(verify.evidence.differences).toBe(DEFAULT_MAX_DETAILS + 150);
    await reopened.close();
  });
});
