import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, errnoCode, fsErrorCode, isProcessAlive } from '../src/index.js';

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
