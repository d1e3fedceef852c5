// LevelDB on a file system that refuses writes for a reason other than full space or the files'
// owner (a small tmpfs, where this host lets the test mount one: root). Before: no free inodes said
// "disk full" (hint: free disk space), a read-only file system "access ... was denied" (hint: check
// its owner and mode); neither helps.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, NO_INODES_HINT, READ_ONLY_HINT } from '@deploystate/core';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { LevelDbStore } from '../src/index.js';
import { rec } from './helpers.js';

const disk = mountSmallTmpfs('8m,nr_inodes=64', 'deploystate-level-refusals-');

afterAll(() => {
  if (disk === undefined) return;
  execFileSync('mount', ['-o', 'remount,rw', disk], { stdio: 'ignore' });
  unmountTmpfs(disk);
});

async function storeWithRecord(path: string): Promise<void> {
  const store = new LevelDbStore({ path, create: true });
  await store.open();
  await store.put(rec(1, 'A'));
  await store.close();
}

/** What a put into the store at `path` fails with (its open included), the store closed after. */
async function putRefusal(path: string): Promise<unknown> {
  const store = new LevelDbStore({ path });
  const error = await store
    .open()
    .then(() => store.put(rec(1, 'B')))
    .catch((e: unknown) => e);
  await store.close().catch(() => undefined);
  return error;
}

describe('LevelDB on a file system that refuses writes', () => {
  it.skipIf(disk === undefined)('with no inode left (space free): DISK_FULL saying no free inodes, hinting to remove files', async () => {
    const path = join(disk as string, 'inodes', 'leveldb');
    await storeWithRecord(path);
    const filler = join(disk as string, 'filler');
    await mkdir(filler);
    for (let i = 0; ; i++) {
      const full = await writeFile(join(filler, `f${i}`), '').then(
        () => false,
        () => true,
      );
      if (full) break;
    }
    const error = await putRefusal(path);
    expect(error).toMatchObject({ code: ErrorCodes.DISK_FULL, file: path, hint: NO_INODES_HINT });
    expect((error as Error).message).toContain('no free inodes');
    execFileSync('rm', ['-rf', filler]);
  });

  it.skipIf(disk === undefined)('read-only: PERMISSION_DENIED saying the file system is read-only, hinting to remount it', async () => {
    const path = join(disk as string, 'read-only', 'leveldb');
    await storeWithRecord(path);
    execFileSync('mount', ['-o', 'remount,ro', disk as string]);
    try {
      const error = await putRefusal(path);
      expect(error).toMatchObject({ code: ErrorCodes.PERMISSION_DENIED, file: path, hint: READ_ONLY_HINT });
      expect((error as Error).message).toContain('read-only (EROFS)');
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', disk as string]);
    }
  });
});
