// A snapshot that the machine refuses says so: a full temp folder is DISK_FULL naming where it ran
// out, a missing one names the temp folder, never "reinstall the packages" (BACKEND_UNAVAILABLE).
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openSnapshot, snapshotLevelDb } from '../src/index.js';
import { storeFolderPerTest } from './helpers.js';

const full = vi.hoisted(() => ({ on: false, owner: false }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    copyFile: async (from: string, to: string, mode?: number) => {
      if (full.on) throw Object.assign(new Error(`ENOSPC: no space left on device, copyfile '${from}' -> '${to}'`), { code: 'ENOSPC', path: from, dest: to });
      return real.copyFile(from, to, mode);
    },
    // As Node reports a write() that found no room: no path.
    writeFile: async (...args: Parameters<typeof real.writeFile>) => {
      if (full.owner && String(args[0]).endsWith('owner.json')) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return real.writeFile(...args);
    },
  };
});

const folder = storeFolderPerTest('snapshot-errors', { seed: true });

describe('a snapshot the machine refuses', () => {
  it('a full disk is DISK_FULL, not a broken install', async () => {
    full.on = true;
    try {
      const dest = join(folder.dir, 'copy');
      // Named where it ran out (the copy's destination), not the source file copyFile's error calls `path`:
      // before, `file` named a file of the store being copied, on a disk with room (1 of 1 runs, a full tmpfs).
      await expect(snapshotLevelDb(folder.path, dest)).rejects.toMatchObject({
        code: 'DISK_FULL',
        message: expect.stringContaining(dest),
        file: expect.stringContaining(`${dest}/`),
      });
    } finally {
      full.on = false;
    }
  });

  // Before: `DISK_FULL: ENOSPC: no space left on device, write`, naming no file (verify and compare on a
  // disk whose temp folder filled, 1 of 1 runs; status said LevelDB "cannot be opened: UNKNOWN").
  it('a temp folder too full for the owner file names that file', async () => {
    const root = join(folder.dir, 'tmp');
    await mkdir(root);
    full.owner = true;
    try {
      await expect(openSnapshot(folder.path, { tmpRoot: root })).rejects.toMatchObject({
        name: 'StateError',
        code: 'DISK_FULL',
        file: expect.stringMatching(/owner\.json$/),
      });
    } finally {
      full.owner = false;
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('a missing temp folder names it', async () => {
    const root = join(folder.dir, 'no-such-tmp');
    await expect(openSnapshot(folder.path, { tmpRoot: root })).rejects.toMatchObject({ code: 'WRITE_FAILED', file: root });
  });
});
