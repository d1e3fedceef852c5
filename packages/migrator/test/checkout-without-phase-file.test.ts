// A clone that went through the migration keeps its own state.json (ignored by git), and phase.json
// (committed) carries the phase. Checking out a commit from before the migration removes phase.json
// but leaves state.json: the store used to take state.json's phase (json-only) there, and a deploy
// script read the legacy JSON files, which hold no records: getContract answered null for a
// contract LevelDB holds at that commit. The checkout's phase is now the commit's (none: leveldb-only,
// as a fresh clone of it reads), said once as a warning; a phase.json deleted by hand while git still
// tracks it, or never committed and cleaned away, is refused naming the file rather than guessed.
import { execFileSync } from 'node:child_process';
import { cp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { LevelDbStore } from '@deploystate/backend-leveldb';
import { createStateStore, Migration, sharedStateFile, stateFiles, resolvePaths } from '../src/index.js';
import { collectWarnings, countGitRuns, demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-checkout-phase-');

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', '-c', 'init.defaultBranch=main', ...args], { cwd: dir, stdio: 'pipe' });
}

const inLevelDbOnly = sampleRecord(56, 'OnlyInLevelDb', 'bscmainnet', 9);

/** A json-only project in git: commit `before` without phase.json (LevelDB holds a record JSON lacks), then `after` adding it. */
async function repository(dir: string): Promise<string> {
  const migration = await demoMigration(dir, 'json-only');
  await migration.close();
  const leveldb = new LevelDbStore({ path: resolvePaths({ cwd: dir }).leveldb, idleCloseMs: 0 });
  await leveldb.open();
  await leveldb.put(inLevelDbOnly);
  await leveldb.close();
  const phaseFile = sharedStateFile(stateFiles(resolvePaths({ cwd: dir })).stateDir);
  git(dir, 'init', '-q');
  git(dir, 'add', '-A');
  git(dir, 'rm', '-q', '--cached', phaseFile);
  git(dir, 'commit', '-qm', 'before');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'after');
  return phaseFile;
}

describe('a checkout without phase.json in a clone whose own state says json-only', () => {
  it('of a commit from before the migration follows that commit (leveldb-only), warning once, and reads what LevelDB holds there', async () => {
    const dir = tempDir();
    const phaseFile = await repository(dir);
    git(dir, 'checkout', '-q', 'HEAD~1');
    const { value: read, warnings } = await collectWarnings(async () => {
      const store = createStateStore({ cwd: dir, env: {} });
      try {
        return { phase: (await store.open(), store.phase), record: await store.getContract(56, 'OnlyInLevelDb') };
      } finally {
        await store.close();
      }
    });
    expect(read.phase).toBe('leveldb-only');
    expect(read.record?.address).toBe(inLevelDbOnly.address);
    const said = warnings.filter((w) => w.file === phaseFile);
    expect(said).toHaveLength(1);
    expect(said[0]?.message).toContain('json-only');
    const migration = await Migration.open({ cwd: dir });
    expect((await migration.status()).phase).toBe('leveldb-only');
    await migration.close();
    // Back on the commit with phase.json, the migration's phase again.
    git(dir, 'checkout', '-q', 'main');
    const store = createStateStore({ cwd: dir, env: {} });
    await store.open();
    expect(store.phase).toBe('json-only');
    await store.close();
  });

  it('asks git once while the index stays as it was, and again when it changes', async () => {
    const dir = tempDir();
    await repository(dir);
    git(dir, 'checkout', '-q', 'HEAD~1');
    const runs = await countGitRuns(tempDir());
    const store = createStateStore({ cwd: dir, env: {} });
    try {
      await store.open();
      expect(await runs()).toEqual(['ls-files', 'log']);
      for (let i = 0; i < 3; i++) {
        expect((await store.getContract(56, 'OnlyInLevelDb'))?.address).toBe(inLevelDbOnly.address);
        expect(store.phase).toBe('leveldb-only');
      }
      const migration = await Migration.open({ cwd: dir });
      expect((await migration.status()).phase).toBe('leveldb-only');
      await migration.close();
      expect(await runs()).toEqual([]);
      // A change of the index (here a file added) is asked about again.
      await writeFile(join(dir, 'notes.txt'), 'x');
      git(dir, 'add', 'notes.txt');
      await runs();
      const again = await Migration.open({ cwd: dir });
      expect((await again.status()).phase).toBe('leveldb-only');
      await again.close();
      expect(await runs()).toEqual(['ls-files', 'log']);
    } finally {
      await store.close();
    }
  });

  it('deleted by hand while git tracks it, or never committed and cleaned away, is MIGRATION_STATE_INVALID naming phase.json; outside git state.json stands', async () => {
    const dir = tempDir();
    const phaseFile = await repository(dir);
    await rm(phaseFile);
    const store = createStateStore({ cwd: dir, env: {} });
    await expect(store.getContract(56, 'OnlyInLevelDb')).rejects.toMatchObject({
      code: 'MIGRATION_STATE_INVALID',
      file: phaseFile,
      hint: `restore it: git checkout -- ${phaseFile}`,
    });
    await store.close();
    await expect(Migration.open({ cwd: dir })).rejects.toMatchObject({ code: 'MIGRATION_STATE_INVALID', file: phaseFile });

    // A repository where phase.json was never committed, and `git clean` removed it.
    const uncommitted = `${dir}-uncommitted`;
    await cp(dir, uncommitted, { recursive: true });
    try {
      await rm(join(uncommitted, '.git'), { recursive: true });
      git(uncommitted, 'init', '-q');
      git(uncommitted, 'add', '-A');
      git(uncommitted, 'commit', '-qm', 'without phase.json');
      const cleaned = createStateStore({ cwd: uncommitted, env: {} });
      const refused = await cleaned.getContract(56, 'OnlyInLevelDb').catch((e: unknown) => e);
      await cleaned.close();
      expect(refused).toMatchObject({
        code: 'MIGRATION_STATE_INVALID',
        file: sharedStateFile(stateFiles(resolvePaths({ cwd: uncommitted })).stateDir),
      });
      expect(String((refused as Error).message)).toContain('no commit holds it');

      // Outside git no other clone shares this one's phase: state.json's stands.
      await rm(join(uncommitted, '.git'), { recursive: true });
      const outside = createStateStore({ cwd: uncommitted, env: {} });
      await outside.open();
      expect(outside.phase).toBe('json-only');
      await outside.close();
    } finally {
      await rm(uncommitted, { recursive: true, force: true });
    }
  });
});
