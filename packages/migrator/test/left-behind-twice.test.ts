// A clone that joined the migration past dual-write enable carries back what a teammate's rollback
// left behind; it then deletes a record in leveldb-only, the team migrates again and the teammate
// rolls back again. The second carry-back starts after what the first one carried: the deleted
// record stays deleted, and what the clone wrote in the second migration is carried back. Proven
// on real git clones of one repository, with the state store a deploy script uses.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { acknowledgeAll, commitAll, demoMigration, putThroughStore, teamGit, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-left-behind-twice-');

/** The migration walked again from leveldb-only to json-only, as the teammate does it. */
async function migrateAgain(dir: string): Promise<void> {
  const migration = await Migration.open({ cwd: dir });
  try {
    await migration.enableDualWrite();
    await migration.migrate();
    expect((await migration.verify()).clean).toBe(true);
    await migration.promote();
    await migration.cutover({ acknowledge: await acknowledgeAll(migration) });
  } finally {
    await migration.close();
  }
}

async function rollBack(dir: string): Promise<Awaited<ReturnType<Migration['rollback']>>> {
  const migration = await Migration.open({ cwd: dir });
  try {
    return await migration.rollback();
  } finally {
    await migration.close();
  }
}

async function leftBehind(dir: string): Promise<string[] | undefined> {
  const migration = await Migration.open({ cwd: dir });
  try {
    return (await migration.status()).leftBehind?.carriedBack;
  } finally {
    await migration.close();
  }
}

async function contractNamesOn97(dir: string): Promise<string[]> {
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    return (await store.getAllContracts(97)).map((r) => r.contractName).sort();
  } finally {
    await store.close();
  }
}

describe('a joined clone that carried back once, then pulled a second rollback', () => {
  it('carries back only what it wrote since: a record it deleted in leveldb-only stays deleted', async () => {
    const team = join(tempDir(), 'team');
    const joined = join(tempDir(), 'joined');
    await mkdir(team);
    await (await demoMigration(team, 'json-only')).close();
    teamGit(team, 'init', '-q');
    commitAll(team, 'cut over to json-only');
    teamGit(tempDir(), 'clone', '-q', team, joined);

    // The joined clone deploys in json-only; the teammate rolls back before pulling that.
    await putThroughStore(joined, sampleRecord(97, 'Kept', 'bsctestnet', 1));
    await putThroughStore(joined, sampleRecord(97, 'Retired', 'bsctestnet', 2));
    commitAll(joined, 'deploy Kept and Retired');
    expect((await rollBack(team)).from).toBe('json-only');
    commitAll(team, 'roll back');
    teamGit(joined, 'pull', '-q', '--no-rebase', team, 'main');
    expect(await leftBehind(joined)).toEqual(['97-Kept', '97-Retired']);
    expect((await rollBack(joined)).leftBehind?.carriedBack).toEqual(['97-Kept', '97-Retired']);

    // In leveldb-only the clone's deploy script retires a contract (a delete LevelDB alone sees).
    const store = createStateStore({ cwd: joined, env: {} });
    expect(store.phase).toBe('leveldb-only');
    expect(await store.delete(97, 'Retired')).toBe(true);
    await store.close();
    commitAll(joined, 'retire Retired');
    teamGit(team, 'pull', '-q', '--no-rebase', joined, 'main');

    // The team migrates again; the clone pulls it and deploys once more in json-only; the teammate
    // rolls back again before pulling that.
    await migrateAgain(team);
    commitAll(team, 'migrate again');
    teamGit(joined, 'pull', '-q', '--no-rebase', team, 'main');
    expect(await contractNamesOn97(joined)).not.toContain('Retired');
    await putThroughStore(joined, sampleRecord(97, 'Second', 'bsctestnet', 3));
    commitAll(joined, 'deploy Second');
    expect((await rollBack(team)).from).toBe('json-only');
    commitAll(team, 'roll back again');
    teamGit(joined, 'pull', '-q', '--no-rebase', team, 'main');

    expect(await leftBehind(joined)).toEqual(['97-Second']);
    expect((await rollBack(joined)).leftBehind?.carriedBack).toEqual(['97-Second']);
    const names = await contractNamesOn97(joined);
    expect(names).toContain('Kept');
    expect(names).toContain('Second');
    expect(names).not.toContain('Retired');
  }, 120_000);

  it('after its own rollback, then a teammate-led migration rolled back by the teammate: a record it deleted in between stays deleted', async () => {
    const own = join(tempDir(), 'own');
    const teammate = join(tempDir(), 'teammate');
    await mkdir(own);
    await (await demoMigration(own, 'json-only')).close();
    await putThroughStore(own, sampleRecord(97, 'Retired', 'bsctestnet', 1));
    expect((await rollBack(own)).from).toBe('json-only');
    const store = createStateStore({ cwd: own, env: {} });
    expect(await store.delete(97, 'Retired')).toBe(true);
    await store.close();
    teamGit(own, 'init', '-q');
    commitAll(own, 'rolled back, Retired retired');

    // The teammate leads the next migration; this clone joins it, deploys, and pulls its rollback.
    teamGit(tempDir(), 'clone', '-q', own, teammate);
    await migrateAgain(teammate);
    commitAll(teammate, 'migrate again');
    teamGit(own, 'pull', '-q', '--no-rebase', teammate, 'main');
    await putThroughStore(own, sampleRecord(97, 'Second', 'bsctestnet', 2));
    commitAll(own, 'deploy Second');
    expect((await rollBack(teammate)).from).toBe('json-only');
    commitAll(teammate, 'roll back');
    teamGit(own, 'pull', '-q', '--no-rebase', teammate, 'main');

    expect(await leftBehind(own)).toEqual(['97-Second']);
    expect((await rollBack(own)).leftBehind?.carriedBack).toEqual(['97-Second']);
    const names = await contractNamesOn97(own);
    expect(names).toContain('Second');
    expect(names).not.toContain('Retired');
  }, 120_000);
});
