// A JSON-primary write whose journal intent cannot be made durable never replaces the JSON file:
// the store awaits the intent's sync right before its rename, so a failed sync (here an injected
// EIO, reported late so the JSON side is ready to rename first) abandons the write.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { sampleRecord } from '@deploystate/core';
import { createStateStore, Journal } from '../src/index.js';
import { emptyProjectIn, useTempDir } from './helpers.js';

// `once`: only the next sync of the file fails, at once, as Linux reports a writeback error: to the
// first fdatasync after it, which a later one then does not report again (nor write what it lost).
const failing = vi.hoisted(() => ({ suffix: undefined as string | undefined, once: false }));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const pathOf = new Map<number, string>();
  const shim = {
    ...fs,
    openSync: (path: import('node:fs').PathLike, ...rest: unknown[]): number => {
      const fd = (fs.openSync as (...args: unknown[]) => number)(path, ...rest);
      pathOf.set(fd, String(path));
      return fd;
    },
    fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void): void => {
      const suffix = failing.suffix;
      if (suffix !== undefined && pathOf.get(fd)?.endsWith(suffix)) {
        const error = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', errno: -5, syscall: 'fdatasync' });
        if (failing.once) {
          failing.suffix = undefined;
          setImmediate(() => callback(error));
        } else setTimeout(() => callback(error), 50);
        return;
      }
      fs.fdatasync(fd, callback);
    },
  };
  return { ...shim, default: shim };
});

const tempDir = useTempDir('migrator-journal-sync-');

describe('a journal intent that cannot be synced', () => {
  it('abandons the json-only write: the JSON file stays as it was, the put fails, and the next one lands', async () => {
    const dir = tempDir();
    const { paths, files } = await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    const target = join(paths.deployments, 'bscmainnet.json');
    try {
      await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 1 });
      const before = await readFile(target);

      failing.suffix = 'journal.ndjson';
      const refused = await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 2 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      failing.suffix = undefined;
      expect(refused).toMatchObject({ file: files.journal });
      expect(await readFile(target)).toEqual(before);

      await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 3 });
      expect((await store.get(56, 'Token'))?.timestamp).toBe(3);
      // The failed write's intent is followed by its primary-failed outcome.
      const entries = (await new Journal(files.journal).read()).entries;
      const outcomes = entries.filter((e) => e.type === 'outcome').map((e) => e.type === 'outcome' && e.outcome);
      expect(outcomes).toEqual(['ok', 'primary-failed', 'ok']);
    } finally {
      await store.close();
    }
  });

  // The intent's sync starts beside the temp file's and fails first: a sync started again before
  // the rename succeeds without writing what the failed one lost, so it must not stand for it.
  it('abandons the json-only write when the sync its store started fails at once, even though the next sync succeeds', async () => {
    const dir = tempDir();
    const { paths, files } = await emptyProjectIn(dir, 'json-only');
    const store = createStateStore({ cwd: dir, env: {} });
    const target = join(paths.deployments, 'bscmainnet.json');
    try {
      await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 1 });
      const before = await readFile(target);

      failing.once = true;
      failing.suffix = 'journal.ndjson';
      const refused = await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 2 }).then(
        () => undefined,
        (error: unknown) => error,
      );
      failing.once = false;
      expect(failing.suffix).toBeUndefined();
      expect(refused).toMatchObject({ file: files.journal });
      expect(await readFile(target)).toEqual(before);

      await store.put({ ...sampleRecord(56, 'Token', 'bscmainnet'), timestamp: 3 });
      expect((await store.get(56, 'Token'))?.timestamp).toBe(3);
    } finally {
      failing.once = false;
      failing.suffix = undefined;
      await store.close();
    }
  });
});
