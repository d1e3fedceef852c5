// A LevelDB binding that cannot load (no prebuilt binary for the platform, a broken install) fails
// the first open with BACKEND_UNAVAILABLE naming the package, not with the loader's raw error.
import { describe, expect, it, vi } from 'vitest';
import { LevelDbStore } from '../src/index.js';
import { storeFolderPerTest } from './helpers.js';

vi.mock('level', () => {
  throw new Error('No native build was found for platform=test');
});

const folder = storeFolderPerTest('level-unavailable');

describe('a LevelDB binding that cannot load', () => {
  it('fails the open with BACKEND_UNAVAILABLE, naming the package and the cause', async () => {
    const store = new LevelDbStore({ path: folder.path, create: true, idleCloseMs: 0 });
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
