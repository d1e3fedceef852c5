// A teammate's records written in json-only reach a clone through git; then git moves phase.json
// back to dual-write (a checkout of the older file, committed, as a revert of the promote and
// cut-over commits does) with no rollback. Deploy scripts read LevelDB again, which never received
// those records: they read as never deployed, and nothing said so. A phase that reads LevelDB is
// now refused while a network file holds json-only writes no rollback carried back; a rollback
// (from json-only, or an emergency one) ends that, and a later migration is followed as before.
// Proven on real git clones, with the store a deploy script uses.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, sampleRecord, type StateError } from '@deploystate/core';
import { createStateStore, Migration } from '../src/index.js';
import { acknowledgeAll, commitAll, demoMigration, putThroughStore, teamGit, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-phase-moved-back-');

async function migrationStep(dir: string, step: (migration: Migration) => Promise<unknown>): Promise<void> {
  const migration = await Migration.open({ cwd: dir });
  try {
    await step(migration);
  } finally {
    await migration.close();
  }
}

async function getThroughStore(dir: string, name: string): Promise<unknown> {
  const store = createStateStore({ cwd: dir, env: {} });
  try {
    return await store.get(97, name);
  } finally {
    await store.close();
  }
}

const PHASE_FILE = '.deploystate/phase.json';
const teammateRecord = { ...sampleRecord(97, 'TeammateVault', 'bsctestnet'), timestamp: Date.now() };

describe('a phase git moved back past json-only writes', () => {
  it('is refused by deploy scripts and commands, naming the file, until a rollback carries the writes back', async () => {
    const ours = join(tempDir(), 'ours');
    await (await demoMigration(ours)).close();
    teamGit(ours, 'init', '-q');
    commitAll(ours, 'leveldb-only');
    await migrationStep(ours, (m) => m.enableDualWrite());
    const dualWrite = commitAll(ours, 'dual-write');
    await migrationStep(ours, async (m) => {
      await m.migrate();
      await m.verify();
      await m.promote();
      await m.cutover({ acknowledge: await acknowledgeAll(m) });
    });
    const cutover = commitAll(ours, 'json-only');
    expect(JSON.parse(await readFile(join(ours, PHASE_FILE), 'utf8')).cutovers).toBe(1);

    // The teammate deploys in json-only and pushes; the file says which cut-over the write follows.
    const theirs = join(tempDir(), 'theirs');
    teamGit(tempDir(), 'clone', '-q', ours, theirs);
    await putThroughStore(theirs, teammateRecord);
    expect(await readFile(join(theirs, 'deployments', 'bsctestnet.json'), 'utf8')).toMatch(/^ {2}"jsonOnlyAfterCutover": 1,$/m);
    commitAll(theirs, 'teammate deploys');
    teamGit(ours, 'pull', '-q', '--no-rebase', '--no-edit', theirs, 'main');
    expect(await getThroughStore(ours, 'TeammateVault')).toMatchObject({ address: teammateRecord.address });

    // The phase file as the dual-write commit left it, committed: LevelDB never got the record.
    teamGit(ours, 'checkout', dualWrite, '--', PHASE_FILE);
    commitAll(ours, 'back to dual-write');
    const refused = (await getThroughStore(ours, 'TeammateVault').catch((error: unknown) => error)) as StateError;
    expect(refused.code).toBe(ErrorCodes.MIGRATION_STATE_INVALID);
    expect(refused.message).toContain(join(ours, 'deployments', 'bsctestnet.json'));
    expect(refused.message).toMatch(/after cut-over 1, which no rollback carried back/);
    expect(refused.hint).toMatch(/deploystate rollback/);
    expect((refused.data as { files: string[] }).files).toEqual([join(ours, 'deployments', 'bsctestnet.json')]);
    // A command refuses it too (never removes the record from JSON as "only in json").
    const status = await Migration.open({ cwd: ours })
      .then(async (m) => {
        try {
          return await m.status();
        } finally {
          await m.close();
        }
      })
      .catch((error: unknown) => error as StateError);
    expect((status as StateError).code).toBe(ErrorCodes.MIGRATION_STATE_INVALID);

    // The hint followed: the cut-over's phase file back, then a rollback carries the record to LevelDB.
    teamGit(ours, 'checkout', cutover, '--', PHASE_FILE);
    await migrationStep(ours, (m) => m.rollback());
    expect(JSON.parse(await readFile(join(ours, PHASE_FILE), 'utf8'))).toMatchObject({ phase: 'leveldb-only', cutovers: 1, cutoversRolledBack: 1 });
    expect(await getThroughStore(ours, 'TeammateVault')).toMatchObject({ address: teammateRecord.address });
    // The next cycle's dual-write reads LevelDB with the file still marked by the cut-over rolled back.
    await migrationStep(ours, (m) => m.enableDualWrite());
    expect(await getThroughStore(ours, 'TeammateVault')).toMatchObject({ address: teammateRecord.address });
  }, 60_000);

  // git revert of the cut-over's commit alone leaves phase.json in json-primary, which reads JSON:
  // the runbook's rollback from there carries the json-only writes back too, so it ends their mark
  // (it left them standing, and every later command and script was refused). A phase.json an older
  // release wrote last (no counts: a teammate's rollback by it) is followed, never refused.
  it('a rollback from the json-primary a revert left ends the marks; a phase file without counts is not judged by them', async () => {
    const dir = join(tempDir(), 'reverted');
    await (await demoMigration(dir, 'json-only')).close();
    await putThroughStore(dir, teammateRecord);
    const phaseFile = join(dir, PHASE_FILE);
    const jsonOnly = JSON.parse(await readFile(phaseFile, 'utf8')) as Record<string, unknown>;
    expect(jsonOnly).toMatchObject({ phase: 'json-only', cutovers: 1, cutoversRolledBack: 0 });
    await writeFile(phaseFile, `${JSON.stringify({ ...jsonOnly, phase: 'json-primary', cutoverLeveldb: null, cutovers: 0 }, null, 2)}\n`);
    await migrationStep(dir, (m) => m.rollback());
    expect(JSON.parse(await readFile(phaseFile, 'utf8'))).toMatchObject({ phase: 'leveldb-only', cutovers: 1, cutoversRolledBack: 1 });
    expect(await getThroughStore(dir, 'TeammateVault')).toMatchObject({ address: teammateRecord.address });

    const older = join(tempDir(), 'older-release');
    await (await demoMigration(older, 'json-only')).close();
    await putThroughStore(older, teammateRecord);
    const { cutovers: _c, cutoversRolledBack: _r, ...withoutCounts } = JSON.parse(await readFile(join(older, PHASE_FILE), 'utf8')) as Record<string, unknown>;
    await writeFile(join(older, PHASE_FILE), `${JSON.stringify({ ...withoutCounts, phase: 'leveldb-only', cutoverLeveldb: null }, null, 2)}\n`);
    expect(await getThroughStore(older, 'TeammateVault')).toBeNull();
  }, 60_000);

  // A project mid-migration when it takes this release: its committed phase.json has no counts,
  // and a command that changes nothing shared (verify) must not rewrite it (git status stays clean).
  it('leaves a phase file from before the counts byte for byte through verify', async () => {
    const dir = join(tempDir(), 'before-counts');
    await (await demoMigration(dir, 'copied')).close();
    const phaseFile = join(dir, PHASE_FILE);
    const { cutovers: _c, cutoversRolledBack: _r, ...older } = JSON.parse(await readFile(phaseFile, 'utf8')) as Record<string, unknown>;
    const text = `${JSON.stringify(older, null, 2)}\n`;
    await writeFile(phaseFile, text);
    await migrationStep(dir, (m) => m.verify());
    expect(await readFile(phaseFile, 'utf8')).toBe(text);
  }, 60_000);

  it('lets an emergency rollback end a cut-over too, and counts the next one', async () => {
    const dir = join(tempDir(), 'emergency');
    await (await demoMigration(dir, 'json-only')).close();
    await putThroughStore(dir, teammateRecord);
    await migrationStep(dir, (m) => m.rollback({ emergency: true }));
    await migrationStep(dir, (m) => m.enableDualWrite());
    expect(await getThroughStore(dir, 'TeammateVault')).not.toBeUndefined();
    await migrationStep(dir, async (m) => {
      await m.migrate();
      await m.verify();
      await m.promote();
      await m.cutover({ acknowledge: await acknowledgeAll(m) });
    });
    await putThroughStore(dir, { ...teammateRecord, address: `0x${'8'.repeat(40)}` });
    expect(await readFile(join(dir, 'deployments', 'bsctestnet.json'), 'utf8')).toMatch(/^ {2}"jsonOnlyAfterCutover": 2,$/m);
  }, 60_000);
});
