// The copy's LevelDB backup is put in place whole. It used to be copied straight into its place, so
// a copy stopped during it (Ctrl-C) left a folder without CURRENT that the resume took for the
// backup: `migrate --resume` then failed with CORRUPTED on every run, and restore listed it.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateFiles } from '../src/index.js';
import { updateState } from '../src/state.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('migrator-copy-backup-resume-');

describe('the copy\'s LevelDB backup', () => {
  it('a backup left half-made is taken again by the resume, which completes', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const files = stateFiles(migration.paths);
    // A copy that started and was stopped while it backed LevelDB up: one table file, no CURRENT.
    const startedAt = '2026-12-01T10:00:00.000Z';
    await updateState(files, (s) => {
      s.copy = { startedAt, snapshotSeq: 0, chainsDone: [] };
    });
    const backup = join(files.backups, `copy-${startedAt.replace(/[:.]/g, '-')}`, 'leveldb');
    await mkdir(backup, { recursive: true });
    await writeFile(join(backup, '000005.ldb'), 'half');

    const report = await migration.migrate();
    expect(report.backups.leveldb).toBe(backup);
    expect(existsSync(join(backup, 'CURRENT'))).toBe(true);
    // Nothing half-made is left beside it.
    expect((await readdir(join(backup, '..'))).sort()).toEqual(['deployments', 'leveldb', 'leveldb.digest.json']);
    expect((await migration.verify()).clean).toBe(true);
    await migration.close();
  });

  it('a copy leaves only the finished backup, nothing made on the way', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    const report = await migration.migrate();
    const root = join(report.backups.leveldb as string, '..');
    expect((await readdir(root)).sort()).toEqual(['deployments', 'leveldb', 'leveldb.digest.json']);
    expect(existsSync(join(root, 'leveldb', 'CURRENT'))).toBe(true);
    await migration.close();
  });
});
