// migrate on a disk with room for the copy but not for written.json, the record of what the store
// wrote to each network file (a full disk; here its write refused the same way). Before: migrate
// failed DISK_FULL "could not write the new version of .../written.json" though the copy had taken
// effect, and a rerun said "Nothing to do ... copied 0": what was copied, overwritten and removed was never said.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, fileSystemError } from '@deploystate/core';
import { stateFiles } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

const refuse = vi.hoisted(() => ({ on: false }));

vi.mock('../src/coowned.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/coowned.js')>();
  return {
    ...actual,
    moveBaseline: async (...args: Parameters<typeof actual.moveBaseline>) => {
      if (!refuse.on) return actual.moveBaseline(...args);
      const file = join(args[0].stateDir, 'written.json');
      throw fileSystemError(
        Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
        file,
        'could not write the new version of',
      );
    },
  };
});

const tempDir = useTempDir('migrator-copy-record-failure-');

describe('migrate whose copy took effect and whose written.json could not be written', () => {
  it('says the copy took effect with what it did, that only written.json failed and what that costs; a rerun records it', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    refuse.on = true;
    let failed: unknown;
    try {
      failed = await migration.migrate().catch((error: unknown) => error);
    } finally {
      refuse.on = false;
    }
    const written = join(stateFiles(migration.paths).stateDir, 'written.json');
    expect(failed).toMatchObject({ code: ErrorCodes.DISK_FULL, file: written, data: { copyTookEffect: true } });
    const error = failed as { message: string; hint: string; data: { copied: number } };
    expect(error.data.copied).toBeGreaterThan(0);
    expect(error.message).toMatch(new RegExp(`^the copy took effect \\(${error.data.copied} copied, 0 overwritten, 0 removed`));
    expect(error.message).toContain('only');
    expect(error.hint).toContain('`deploystate migrate` run again then finds nothing to copy and records them');
    // The copy stands: status shows it completed, and the rerun has nothing to copy and succeeds.
    expect((await migration.status()).state.copy?.completedAt).toBeDefined();
    const again = await migration.migrate();
    expect(again.nothingToDo).toBe(true);
    await migration.close();
  });
});
