// A LevelDB binding that cannot load (no prebuilt binary for the platform, a broken install) fails
// the first open with BACKEND_UNAVAILABLE naming the package, not with the loader's raw error; the
// package itself still imports (it loads level only when a store opens).
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
      (error: unknown) => error as { code?: string; message?: string; hint?: string; cause?: unknown },
    );
    expect(failure?.code).toBe('BACKEND_UNAVAILABLE');
    // The loader's own message follows (vitest wraps the mocked module's throw in one of its own).
    expect(failure?.message).toMatch(/^cannot load LevelDB \(the level package\): \S/);
    expect(failure?.cause).toBeInstanceOf(Error);
    expect(failure?.hint).toMatch(/reinstall/);
  });
});
