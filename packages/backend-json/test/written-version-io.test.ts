// lastWrittenVersion is a shortcut: a stat that fails (EIO from a failing disk) means "cannot be
// told", never an error, so a caller checking a file before a write falls back to its full check.
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { lastWrittenVersion } from '../src/written-version.js';
import { rec, storePerTest } from './helpers.js';

const failing = vi.hoisted(() => ({ path: undefined as string | undefined }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const lstatSync = ((path: string, options?: object) => {
    if (path === failing.path) throw Object.assign(new Error(`EIO: i/o error, lstat '${path}'`), { code: 'EIO' });
    return fs.lstatSync(path, options as never);
  }) as typeof fs.lstatSync;
  const shim = { ...fs, lstatSync };
  return { ...shim, default: shim };
});

const setup = storePerTest();

describe('lastWrittenVersion on a file whose stat fails', () => {
  it('cannot tell, and says so rather than throwing', async () => {
    const { dir, store } = await setup();
    const file = join(dir, 'bscmainnet.json');
    await store.put(rec(56, 'A'));
    expect(lastWrittenVersion(file)).toBeDefined();
    failing.path = file;
    try {
      expect(lastWrittenVersion(file)).toBeUndefined();
    } finally {
      failing.path = undefined;
    }
  });
});
