// rollbackReadiness() runs every check a rollback refuses on, so ready means the rollback proceeds,
// and status() says the same. Before, readiness said ready (1) where the rollback then stopped with
// FOREIGN_OVERWRITE (records the store wrote after the cut-over, lost with their network file), and
// (2) a network file gone whole with no later writes was read as every record of its chain deleted:
// the rollback, an emergency one too, deleted them from LevelDB. Real files, real LevelDB.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Migration, type ReadinessReport } from '../src/index.js';
import { demoMigration, useTempDir, type DemoStage } from './helpers.js';

const tempDir = useTempDir('migrator-rollback-ready-');

/** Every key LevelDB in `dir` holds (opened read-only, closed again). */
async function leveldbKeys(dir: string): Promise<string[]> {
  const leveldb = new LevelDbStore({ path: join(dir, 'leveldb'), readOnly: true, idleCloseMs: 0 });
  await leveldb.open();
  try {
    const keys: string[] = [];
    for await (const { key } of leveldb.iterate()) keys.push(key);
    return keys;
  } finally {
    await leveldb.close();
  }
}

/** `count` records each on chains 56, 97 and 84532, written through the deploy scripts' store. */
async function writeAfterCutover(dir: string, count: number): Promise<void> {
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    const records = [];
    for (const [chainId, network] of [[56, 'bscmainnet'], [97, 'bsctestnet'], [84532, 'basesepolia']] as const)
      for (let i = 0; i < count; i++) records.push(sampleRecord(chainId, `AfterCutover${i}`, network, i + 1));
    await store.putMany(records);
  } finally {
    await store.close();
  }
}

const failing = (report: ReadinessReport): string[] => report.checks.filter((c) => !c.ok).map((c) => c.name);
const rollbackNext = async (migration: Migration) => (await migration.status()).next.find((n) => n.command === 'rollback');

describe('rollback readiness agrees with the rollback', () => {
  it('records the store wrote, dropped from their file by another program: not ready (files intact), and the rollback stops with FOREIGN_OVERWRITE', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    try {
      const file = join(dir, 'deployments', 'basesepolia.json');
      const before = await readFile(file, 'utf8');
      await writeAfterCutover(dir, 20);
      // A script that loaded the file before the writes writes its copy back: 20 journalled records gone.
      await writeFile(file, before);

      const ready = await migration.rollbackReadiness();
      expect(ready.ready).toBe(false);
      expect(failing(ready)).toEqual(['files intact']);
      expect(ready.checks.find((c) => c.name === 'files intact')?.detail).toMatch(/^FOREIGN_OVERWRITE: rollback refuses: 20 record/);
      await expect(migration.rollback({ dryRun: true })).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
      await expect(migration.rollback()).rejects.toMatchObject({ code: 'FOREIGN_OVERWRITE', file });
      expect(await rollbackNext(migration)).toMatchObject({ ready: false });
      expect((await migration.status()).phase).toBe('json-only');
    } finally {
      await migration.close();
    }
  });

  it('writes after the cut-over, then their network file deleted: not ready (both checks), the rollback refused naming the file, status agrees', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    try {
      await writeAfterCutover(dir, 50);
      const file = join(dir, 'deployments', 'basesepolia.json');
      await rm(file);

      const ready = await migration.rollbackReadiness();
      expect(ready.ready).toBe(false);
      expect(failing(ready)).toEqual(['network files present', 'files intact']);
      for (const attempt of [{ dryRun: true }, {}, { emergency: true }])
        await expect(migration.rollback(attempt), JSON.stringify(attempt)).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', file });
      const status = await migration.status();
      expect(status.phase).toBe('json-only');
      expect(status.missingNetworkFiles).toEqual([{ file, chainId: 84532, records: 3 }]);
      expect(status.foreignOverwrites).toHaveLength(50);
      expect(await rollbackNext(migration)).toMatchObject({ ready: false, blockedBy: expect.stringContaining('STORE_NOT_FOUND') });
    } finally {
      await migration.close();
    }
  });
});

describe('a deployments path that is a file, not a folder (a wrong --deployments)', () => {
  it('status says rollback is not ready, as rollback --ready does, and the rollback is refused', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'json-only')).close();
    const migration = await Migration.open({ cwd: dir, deployments: join(dir, 'leveldb', 'CURRENT') });
    try {
      expect((await migration.rollbackReadiness()).ready).toBe(false);
      const status = await migration.status();
      expect(status.missingNetworkFiles?.length).toBeGreaterThan(0);
      expect(await rollbackNext(migration)).toMatchObject({ ready: false, blockedBy: expect.stringContaining('STORE_NOT_FOUND') });
      await expect(migration.rollback()).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
    } finally {
      await migration.close();
    }
  });
});

describe('a network file gone whole while LevelDB holds its chain, no writes since', () => {
  it.each<[DemoStage]>([['json-only'], ['json-primary']])(
    'from %s: not ready, and every rollback (dry run, real, emergency) is refused naming the file, LevelDB untouched',
    async (phase) => {
      const dir = tempDir();
      const migration = await demoMigration(dir, phase);
      try {
        const before = await leveldbKeys(dir);
        expect(before.filter((k) => k.startsWith('84532-'))).toHaveLength(3);
        const file = join(dir, 'deployments', 'basesepolia.json');
        await rm(file);

        const ready = await migration.rollbackReadiness();
        expect(ready.ready).toBe(false);
        expect(failing(ready)).toEqual(['network files present']);
        expect(ready.checks.find((c) => c.name === 'network files present')?.detail).toMatch(/^STORE_NOT_FOUND: .*basesepolia\.json/);
        for (const attempt of [{ dryRun: true }, {}, { emergency: true }, { emergency: true, dryRun: true }]) {
          await expect(migration.rollback(attempt), JSON.stringify(attempt)).rejects.toMatchObject({
            code: 'STORE_NOT_FOUND',
            file,
            data: { missingFiles: [{ file, chainId: 84532, records: 3 }] },
          });
        }
        expect((await migration.status()).phase).toBe(phase);
        expect(await rollbackNext(migration)).toMatchObject({ ready: false });
        expect(await leveldbKeys(dir)).toEqual(before);
      } finally {
        await migration.close();
      }
    },
  );

  it('acknowledged gone on purpose (by file name, or chain id): ready, and the rollback deletes that chain\'s records and says so', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    try {
      const before = await leveldbKeys(dir);
      const file = join(dir, 'deployments', 'basesepolia.json');
      await rm(file);

      const ready = await migration.rollbackReadiness({ acknowledge: ['basesepolia.json'] });
      expect(failing(ready)).toEqual([]);
      expect(ready.ready).toBe(true);
      const dry = await migration.rollback({ dryRun: true, acknowledge: ['basesepolia.json'] });
      expect(dry.deletedKeys).toEqual(before.filter((k) => k.startsWith('84532-')));
      expect(dry.acknowledgedGone).toEqual([{ file, chainId: 84532, records: 3 }]);
      // Another file's acknowledgement is not this one's.
      await expect(migration.rollback({ acknowledge: ['bsctestnet.json'] })).rejects.toMatchObject({ code: 'STORE_NOT_FOUND', file });
      const report = await migration.rollback({ acknowledge: ['84532'] });
      expect(report.deletes).toBe(3);
      expect(report.acknowledgedGone).toEqual([{ file, chainId: 84532, records: 3 }]);
      expect((await migration.status()).phase).toBe('leveldb-only');
      expect(await leveldbKeys(dir)).toEqual(before.filter((k) => !k.startsWith('84532-')));
    } finally {
      await migration.close();
    }
  });

  it('an acknowledgement that names no network file or chain id is INVALID_ARGUMENT before anything runs', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'json-only');
    try {
      await rm(join(dir, 'deployments', 'basesepolia.json'));
      await expect(migration.rollbackReadiness({ acknowledge: ['basesepolia'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(migration.rollback({ emergency: true, acknowledge: ['basesepolia'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect((await migration.status()).phase).toBe('json-only');
    } finally {
      await migration.close();
    }
  });
});
