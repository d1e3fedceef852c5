// A LevelDB binding that cannot load (no prebuilt binary for the platform, a broken install) fails
// the first open with BACKEND_UNAVAILABLE naming the package, not with the loader's raw error.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeTempDir, removeTempDir } from '@deploystate/core/testing';
import { LevelDbStore } from '../src/index.js';

vi.mock('level', () => {
  throw new Error('No native build was found for platform=test');
});

let dir: string | undefined;
afterEach(async () => {
  if (dir) await removeTempDir(dir);
  dir = undefined;
});

describe('a LevelDB binding that cannot load', () => {
  it('fails the open with BACKEND_UNAVAILABLE, naming the package and the cause', async () => {
    dir = await makeTempDir('deploystate-level-unavailable-');
    const store = new LevelDbStore({ path: join(dir, 'leveldb'), create: true, idleCloseMs: 0 });
    const failure = await store.open().then(
      () => undefined,
      (error: unknown) => error as { code?: string; data?: { package?: string }; hint?: string; cause?: unknown },
    );
    expect(failure?.code).toBe('BACKEND_UNAVAILABLE');
    expect(failure?.data?.package).toBe('level');
    expect(failure?.cause).toBeInstanceOf(Error);
    expect(failure?.hint).toBeTruthy();
  });
});
