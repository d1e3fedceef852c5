// Rollback readiness on file systems that refuse writes for reasons free space does not show (a
// small tmpfs, where this host lets the test mount one: root). Before: with every inode used and
// 12 MiB free it said "disk space yes ... rollback is ready", and the rollback failed DISK_FULL; on
// a file system turned read-only it said "leveldb writable yes" (access(W_OK)) while writes failed EROFS.
import { execFileSync } from 'node:child_process';
import { access, constants, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mountSmallTmpfs, unmountTmpfs } from '@deploystate/core/testing';
import { Migration, stateFiles } from '../src/index.js';
import { demoMigration } from './helpers.js';

// Inodes enough for the demo project; the test uses up the rest.
const disk = mountSmallTmpfs('32m,nr_inodes=2000', 'deploystate-ready-fs-');

/**
 * A small ext4 file system on a loop device (root, Linux, mkfs.ext4): one the kernel can be told to
 * abort (`remount,abort`), after which access(W_OK) still passes and every write fails EROFS.
 */
function mountExt4(): { dir: string; image: string } | undefined {
  if (process.platform !== 'linux') return undefined;
  const dir = execFileSync('mktemp', ['-d', '/tmp/deploystate-ready-ext4-XXXXXX'], { encoding: 'utf8' }).trim();
  const image = `${dir}.img`;
  try {
    execFileSync('truncate', ['-s', '48M', image]);
    execFileSync('mkfs.ext4', ['-q', image], { stdio: 'ignore' });
    execFileSync('mount', ['-o', 'loop', image, dir], { stdio: 'ignore' });
    return { dir, image };
  } catch {
    execFileSync('rm', ['-rf', dir, image]);
    return undefined;
  }
}

const ext4 = mountExt4();

afterAll(() => {
  if (ext4 !== undefined) {
    execFileSync('umount', [ext4.dir]);
    execFileSync('rm', ['-rf', ext4.dir, ext4.image]);
  }
  if (disk === undefined) return;
  execFileSync('mount', ['-o', 'remount,rw', disk], { stdio: 'ignore' });
  unmountTmpfs(disk);
});

/** Creates empty files in `dir` until the file system has no inode left; returns how many. */
async function useUpInodes(dir: string): Promise<number> {
  let made = 0;
  for (;;) {
    try {
      await writeFile(join(dir, `f${made}`), '');
      made++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      return made;
    }
  }
}

const failing = (report: { checks: readonly { name: string; ok: boolean; detail: string }[] }): Record<string, string> =>
  Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));

describe('rollback readiness on a file system that refuses writes', () => {
  it.skipIf(disk === undefined)('is not ready with every inode used though space is free, and says no free inodes', async () => {
    const dir = join(disk as string, 'inodes');
    const migration = await demoMigration(dir, 'json-only');
    const filler = join(disk as string, 'filler');
    try {
      expect((await migration.rollbackReadiness()).ready).toBe(true);
      await mkdir(filler);
      expect(await useUpInodes(filler)).toBeGreaterThan(0);

      const full = await migration.rollbackReadiness();
      expect(full.ready).toBe(false);
      const failed = failing(full);
      expect(failed['disk space']).toMatch(/^DISK_FULL: 0 inodes free where LevelDB lives/);
      expect(failed['leveldb writable']).toMatch(/^DISK_FULL: .*no free inodes/);
      expect(failed['state folder writable']).toMatch(/^DISK_FULL: .*no free inodes/);
      // The write checks left nothing behind.
      expect(await readdir(join(stateFiles(migration.paths).stateDir, 'tmp'))).toEqual([]);
    } finally {
      await rm(filler, { recursive: true, force: true });
      await migration.close();
    }
    const again = await Migration.open({ cwd: dir });
    try {
      expect((await again.rollbackReadiness()).ready).toBe(true);
    } finally {
      await again.close();
    }
  });

  // The report's case: ext4 turned read-only after an error, where access(W_OK) said "leveldb writable yes".
  it.skipIf(ext4 === undefined)('is not ready on a file system the kernel aborted (access() still passes), naming EROFS', async () => {
    const dir = join((ext4 as { dir: string }).dir, 'aborted');
    await (await demoMigration(dir, 'json-only')).close();
    execFileSync('mount', ['-o', 'remount,abort', (ext4 as { dir: string }).dir]);
    const migration = await Migration.open({ cwd: dir });
    try {
      // What fooled the old check.
      await expect(access(migration.paths.leveldb, constants.W_OK)).resolves.toBeUndefined();
      const report = await migration.rollbackReadiness();
      expect(report.ready).toBe(false);
      const failed = failing(report);
      expect(failed['leveldb writable']).toMatch(/^PERMISSION_DENIED: .*read-only \(EROFS\)/);
      expect(failed['state folder writable']).toMatch(/^PERMISSION_DENIED: .*read-only \(EROFS\)/);
    } finally {
      await migration.close().catch(() => undefined);
    }
  });

  it.skipIf(disk === undefined)('is not ready on a file system mounted read-only, naming EROFS', async () => {
    const dir = join(disk as string, 'read-only');
    await (await demoMigration(dir, 'json-only')).close();
    execFileSync('mount', ['-o', 'remount,ro', disk as string]);
    try {
      const migration = await Migration.open({ cwd: dir });
      try {
        const report = await migration.rollbackReadiness();
        expect(report.ready).toBe(false);
        const failed = failing(report);
        expect(failed['leveldb writable']).toMatch(/^PERMISSION_DENIED: .*read-only \(EROFS\)/);
        expect(failed['leveldb writable']).toContain('remount it read-write');
        expect(failed['state folder writable']).toMatch(/^PERMISSION_DENIED: .*read-only \(EROFS\)/);
      } finally {
        await migration.close().catch(() => undefined);
      }
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', disk as string]);
    }
  });
});
