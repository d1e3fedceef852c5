// A dual-write drain that a full disk refused, on a disk too full for outbox-error.json as well.
// Before (1 of 1 runs on a full tmpfs): status showed the writes not yet in JSON but no failure, so
// an operator could not tell a stuck drain from one about to run; the journal held why all along.
import { describe, expect, it, vi } from 'vitest';
import { ErrorCodes, sampleRecord, StateError } from '@deploystate/core';
import { JsonFileStore } from '@deploystate/backend-json';
import { createStateStore } from '../src/index.js';
import { demoMigration, useTempDir } from './helpers.js';

// While `on`, the drain's record of its failure cannot be written, as on a full disk.
const full = vi.hoisted(() => ({ on: false }));
vi.mock('@deploystate/backend-json', async (importOriginal) => {
  const real = await importOriginal<typeof import('@deploystate/backend-json')>();
  return {
    ...real,
    writeFileAtomic: (target: string, ...rest: unknown[]) =>
      full.on && target.endsWith('outbox-error.json')
        ? Promise.reject(new StateError(ErrorCodes.DISK_FULL, `could not write ${target}: ENOSPC`))
        : (real.writeFileAtomic as (...args: unknown[]) => Promise<unknown>)(target, ...rest),
  };
});

const tempDir = useTempDir('migrator-outbox-failure-unrecorded-');

describe('a drain failure the state folder cannot record', () => {
  it('is shown by status from the journal while its entries stay, and goes once a drain succeeds', async () => {
    const migration = await demoMigration(tempDir(), 'dual-write');
    try {
      const putMany = vi
        .spyOn(JsonFileStore.prototype, 'putMany')
        .mockRejectedValue(new StateError(ErrorCodes.DISK_FULL, 'could not write bsctestnet.json: ENOSPC', { file: 'bsctestnet.json' }));
      full.on = true;
      const store = createStateStore({ cwd: tempDir(), env: {} });
      try {
        await store.put(sampleRecord(97, 'Waiting', 'bsctestnet', 1));
      } finally {
        await store.close();
        full.on = false;
        putMany.mockRestore();
      }
      const stuck = await migration.status();
      expect(stuck.outbox?.depth).toBe(1);
      expect(stuck.outbox?.lastError).toMatchObject({ key: '97-Waiting', code: ErrorCodes.DISK_FULL, pid: process.pid });

      // With room again, the next script's drain applies it with its own put: nothing left, no failure shown.
      const next = createStateStore({ cwd: tempDir(), env: {} });
      try {
        await next.put(sampleRecord(97, 'Next', 'bsctestnet', 2));
      } finally {
        await next.close();
      }
      const drained = await migration.status();
      expect(drained.outbox).toMatchObject({ depth: 0, lastError: null });
    } finally {
      await migration.close();
    }
  });
});
