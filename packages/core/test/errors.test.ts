import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ErrorCodes,
  errnoCode,
  exitCodeOf,
  ExitCodes,
  FILE_SIZE_LIMIT_HINT,
  fileSystemError,
  fsErrorCode,
  isProcessAlive,
  NO_INODES_HINT,
  READ_ONLY_HINT,
  StateError,
} from '../src/index.js';
import { mountSmallTmpfs, unmountTmpfs } from '../src/testing/tmpfs.js';

describe('errnoCode', () => {
  it('gives the errno string of a real operating-system error', async () => {
    const error = await readFile('/nonexistent/deploystate/file').catch((e: unknown) => e);
    expect(errnoCode(error)).toBe('ENOENT');
    expect(fsErrorCode(error)).toBe(ErrorCodes.STORE_NOT_FOUND);
    // A folder where a file is read: what stands there is named as not a file, not as a failed write.
    expect(fsErrorCode(await readFile('/').catch((e: unknown) => e))).toBe(ErrorCodes.NOT_A_FILE);
  });

  it('gives undefined for anything that carries no string code', () => {
    for (const value of [null, undefined, 'ENOENT', 42, new Error('plain'), { code: 7 }]) expect(errnoCode(value)).toBeUndefined();
  });
});

describe('isProcessAlive', () => {
  it('is true for this process and false for a child that has exited', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    const child = spawnSync(process.execPath, ['-e', '0']);
    expect(child.pid).toBeGreaterThan(0);
    expect(isProcessAlive(child.pid)).toBe(false);
  });
});

describe('a write past the file-size limit (EFBIG)', () => {
  const efbig = (): Error => Object.assign(new Error('EFBIG: file too large, write'), { code: 'EFBIG' });

  // Before: WRITE_FAILED with the node message alone and no hint, so the CLI said "fix the cause above".
  it('is WRITE_FAILED naming the file, with the hint that names the limit (freeing disk space does not help)', () => {
    const error = fileSystemError(efbig(), '/x/state.json', 'cannot append to');
    expect(error).toMatchObject({ code: ErrorCodes.WRITE_FAILED, file: '/x/state.json', hint: FILE_SIZE_LIMIT_HINT });
    expect(error.message).toContain('/x/state.json');
  });

  it('gives that hint to any StateError it causes, unless the error gives its own', () => {
    expect(new StateError(fsErrorCode(efbig()), 'could not write f', { cause: efbig() }).hint).toBe(FILE_SIZE_LIMIT_HINT);
    expect(new StateError(ErrorCodes.WRITE_FAILED, 'could not write f', { cause: efbig(), hint: 'own' }).hint).toBe('own');
    expect(
      new StateError(ErrorCodes.WRITE_FAILED, 'could not write f', { cause: Object.assign(new Error('x'), { code: 'EIO' }) }).hint,
    ).toBeUndefined();
  });
});

// Real refusals on a small tmpfs (where this host lets the test mount one: root).
const disk = mountSmallTmpfs('1m,nr_inodes=16', 'deploystate-errors-fs-');

afterAll(() => {
  if (disk === undefined) return;
  execFileSync('mount', ['-o', 'remount,rw', disk], { stdio: 'ignore' });
  unmountTmpfs(disk);
});

/** What a write of `file` throws, as the toolkit words it. */
const refusalWriting = async (file: string): Promise<StateError> =>
  writeFile(file, 'x').then(
    () => {
      throw new Error(`${file} was written`);
    },
    (error: unknown) => fileSystemError(error, file, 'could not write'),
  );

describe('a file system that refuses writes for want of neither owner nor space', () => {
  // Before: PERMISSION_DENIED with "check its owner and mode, or run as its owner", which no chmod fixes.
  it.skipIf(disk === undefined)(
    'EROFS stays PERMISSION_DENIED (exit 6) and says the file system is read-only, with a hint to remount it',
    async () => {
      execFileSync('mount', ['-o', 'remount,ro', disk as string]);
      try {
        const error = await refusalWriting(join(disk as string, 'state.json'));
        expect(error.code).toBe(ErrorCodes.PERMISSION_DENIED);
        expect(exitCodeOf(error.code)).toBe(ExitCodes.ENVIRONMENT);
        expect(error.message).toMatch(/read-only \(EROFS\)/);
        expect(error.hint).toBe(READ_ONLY_HINT);
        // Any StateError an EROFS causes carries the hint.
        expect(new StateError(ErrorCodes.PERMISSION_DENIED, 'x', { cause: error.cause }).hint).toBe(READ_ONLY_HINT);
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', disk as string]);
      }
    },
  );

  // Before: DISK_FULL with "free disk space", on a file system with most of its space free.
  it.skipIf(disk === undefined)(
    'ENOSPC with space free but no inode left is DISK_FULL saying no free inodes, with a hint to remove files',
    async () => {
      const folder = join(disk as string, 'many');
      await mkdir(folder);
      let failed: StateError | undefined;
      for (let i = 0; failed === undefined && i < 64; i++) {
        failed = await refusalWriting(join(folder, `f${i}`)).catch(() => undefined);
      }
      expect(failed?.code).toBe(ErrorCodes.DISK_FULL);
      expect(failed?.message).toContain('no free inodes');
      expect(failed?.hint).toBe(NO_INODES_HINT);
      // A disk full of bytes keeps the code's own hint (free disk space).
      expect(
        new StateError(ErrorCodes.DISK_FULL, 'x', { file: '/', cause: Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }) }).hint,
      ).toBeUndefined();
    },
  );
});
