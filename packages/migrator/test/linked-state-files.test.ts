// A phase.json (or state.json) that is a link, to share it from elsewhere: every read follows it, and
// the next phase change replaced the link with a file of its own, leaving the file it pointed to on
// the old phase. A write of a state file refuses a link or folder at its path (NOT_A_FILE), as a
// network file's does, and changes nothing.
import { readFile, rename, symlink, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Migration, resolvePaths, sharedStateFile, stateFiles } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const tempDir = useTempDir('deploystate-linked-state-');

describe('a state file that is a link', () => {
  it('is read through, and a phase change refuses to replace it (NOT_A_FILE), changing nothing', async () => {
    const dir = tempDir();
    await (await demoMigration(dir, 'dual-write')).close();
    const files = stateFiles(resolvePaths({ cwd: dir }));
    for (const file of [sharedStateFile(files.stateDir), files.state]) {
      const elsewhere = join(tempDir(), 'shared.json');
      await rename(file, elsewhere);
      await symlink(elsewhere, file);
      const before = await readFile(elsewhere, 'utf8');
      const migration = await Migration.open({ cwd: dir });
      try {
        expect((await migration.status()).phase).toBe('dual-write');
        await expect(migration.disableDualWrite()).rejects.toMatchObject({ code: 'NOT_A_FILE', file });
        expect((await migration.status()).phase).toBe('dual-write');
      } finally {
        await migration.close();
      }
      expect((await lstat(file)).isSymbolicLink()).toBe(true);
      expect(await readFile(elsewhere, 'utf8')).toBe(before);
      // Put back as a file for the next round.
      await rename(elsewhere, file);
    }
  });
});
