// Verify writes the co-owned files baseline (written.json) again only when its check changed it:
// a write folded from the journal, or a key moved out as changed elsewhere. A verify that changed
// nothing leaves the file as it was (at 100k records its rewrite is a large part of a verify).
import { stat, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';
import { writtenEntries, writtenPath } from './written-helpers.js';

const tempDir = useTempDir('migrator-verify-baseline-');

async function identity(file: string): Promise<string> {
  const s = await stat(file, { bigint: true });
  return `${s.ino}:${s.mtimeNs}:${s.ctimeNs}`;
}

describe('verify and the co-owned files baseline', () => {
  it('leaves written.json as it was when nothing was folded, and writes it when a journalled put is', async () => {
    const dir = tempDir();
    const migration = await demoMigration(dir, 'copied');
    try {
      expect((await migration.verify()).clean).toBe(true);
      const file = writtenPath(dir);
      const [before, text] = [await identity(file), await readFile(file, 'utf8')];
      expect((await migration.verify()).clean).toBe(true);
      expect(await identity(file)).toBe(before);
      expect(await readFile(file, 'utf8')).toBe(text);

      // A put through the factory is journalled: the next verify folds it into the baseline.
      const store = createStateStore({ cwd: dir, env: {} });
      try {
        await store.put(sampleRecord(56, 'AfterCopy', 'bscmainnet'));
      } finally {
        await store.close();
      }
      expect((await writtenEntries(dir))['56-AfterCopy']).toBeUndefined();
      expect((await migration.verify()).clean).toBe(true);
      expect(await identity(file)).not.toBe(before);
      expect((await writtenEntries(dir))['56-AfterCopy']?.seq).toBeGreaterThan(0);
    } finally {
      await migration.close();
    }
  });
});
