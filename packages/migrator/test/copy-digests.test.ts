// The copy's two store digests: the LevelDB digest it records (what it copied, exclusions left out)
// and its LevelDB backup's (everything the pass read). With nothing excluded one serves as both;
// with a key excluded they differ by exactly that key.
import { describe, expect, it } from 'vitest';
import { compareKeys, generateRecords, keyOf, StoreDigest, type DeploymentRecord } from '@deploystate/core';
import { Migration } from '../src/index.js';
import { readBackupDigest } from '../src/leveldb-backups.js';
import { seedLevelDb, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-copy-digests-');

function digestOf(records: readonly DeploymentRecord[]): string {
  const digest = new StoreDigest();
  for (const record of [...records].sort((a, b) => compareKeys(keyOf(a), keyOf(b)))) digest.add(keyOf(record), record);
  return digest.digest();
}

async function copied(exclude: string[]): Promise<{ records: DeploymentRecord[]; recorded: string; backup: string | undefined }> {
  const dir = tempDir();
  const records = generateRecords(60, [56, 97]);
  await seedLevelDb(dir, records);
  const migration = await Migration.open({ cwd: dir });
  try {
    await migration.enableDualWrite();
    const report = await migration.migrate({ exclude });
    const backup = report.backups.leveldb ? await readBackupDigest(report.backups.leveldb) : undefined;
    return { records, recorded: report.leveldbDigest, backup: backup?.digest };
  } finally {
    await migration.close?.();
  }
}

describe('the copy digests what it read', () => {
  it('with nothing excluded, the recorded digest and the backup digest are both the whole store', async () => {
    const { records, recorded, backup } = await copied([]);
    expect(recorded).toBe(digestOf(records));
    expect(backup).toBe(recorded);
  });

  it('with a key excluded, the recorded digest leaves it out and the backup digest keeps it', async () => {
    const excluded = '97-Contract000011';
    const { records, recorded, backup } = await copied([excluded]);
    expect(records.some((r) => keyOf(r) === excluded)).toBe(true);
    expect(recorded).toBe(digestOf(records.filter((r) => keyOf(r) !== excluded)));
    expect(backup).toBe(digestOf(records));
  });
});
