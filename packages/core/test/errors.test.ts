import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, errnoCode, FILE_SIZE_LIMIT_HINT, fileSystemError, fsErrorCode, isProcessAlive, StateError } from '../src/index.js';

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
